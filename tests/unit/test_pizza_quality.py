"""The latent and sample metrics of the pizza evaluation on hand-made cases: a collapsed posterior, a code
that is the pose, a set of images against itself."""

import numpy as np
import pytest
import torch
from pizza_fixtures import write_pizza_data

from neta.features.backbones import build_extractor, fused_for_inference
from neta.pizza.dataset import load_pizza_data
from neta.pizza.evaluate import latent_metrics, mean_images
from neta.pizza.models import build_pizza_model
from neta.pizza.quality import active_dims, image_features, kid, pose_r2


def views(angles_per_group=36, groups=3, seed=0):
    rng = np.random.default_rng(seed)
    angles = np.tile(np.arange(0, 360, 360 // angles_per_group), groups)
    group = np.repeat([f"g{i}" for i in range(groups)], angles_per_group)
    # each group's angles start somewhere else: a pose code need not share an origin across pizzas
    offset = {g: rng.uniform(0, 2 * np.pi) for g in np.unique(group)}
    turned = np.deg2rad(angles) + np.array([offset[g] for g in group])
    return angles, group, turned


def test_a_code_that_is_the_pose_scores_one_and_noise_scores_nothing():
    angles, group, turned = views()
    rng = np.random.default_rng(1)
    pose = np.stack([np.cos(turned), np.sin(turned), rng.normal(size=turned.size)], axis=1)  # plus a nuisance
    fit, test = np.arange(angles.size) % 4 != 0, np.arange(angles.size) % 4 == 0
    assert pose_r2(pose[fit], angles[fit], group[fit], pose[test], angles[test], group[test]) > 0.97
    noise = rng.normal(size=(angles.size, 8))
    assert pose_r2(noise[fit], angles[fit], group[fit], noise[test], angles[test], group[test]) < 0.1
    constant = np.zeros((angles.size, 8))  # a collapsed posterior: every code the prior's mean
    assert pose_r2(constant[fit], angles[fit], group[fit], constant[test], angles[test], group[test]) == \
        pytest.approx(0.0, abs=0.05)
    # nor does a code that holds the pose a thousand times below the prior's scale, as a collapsed
    # posterior's mean wobbling with the image does: no decoder reads that
    whisper = 1e-3 * pose
    assert pose_r2(whisper[fit], angles[fit], group[fit], whisper[test], angles[test], group[test]) < 0.05
    with pytest.raises(ValueError, match="no views to fit on"):
        pose_r2(pose[:36], angles[:36], group[:36], pose[36:], angles[36:], group[36:])


def test_active_dims_count_the_codes_that_vary():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(size=(500, 3)), 0.01 * rng.normal(size=(500, 5))], axis=1)
    assert active_dims(codes) == 3
    assert active_dims(np.zeros((10, 4))) == 0


def test_kid_of_a_set_against_itself_is_about_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(1000, 16))
    same = real[rng.permutation(1000)]
    mean, std = kid(real, same, seed=0)
    assert abs(mean) < 2 * std + 1e-3 and std > 0
    other_draw = rng.normal(size=(1000, 16))  # the same distribution, other samples
    assert abs(kid(real, other_draw, seed=0)[0]) < 0.05
    shifted = kid(real, rng.normal(loc=1.0, size=(1000, 16)), seed=0)
    assert shifted[0] > 10 * max(shifted[1] / 10, abs(mean), 1e-3) and shifted[0] > 0.5


def test_a_decoder_that_ignores_z_has_no_kl_no_active_dimension_and_no_pose(tmp_path):
    data = load_pizza_data(write_pizza_data(tmp_path, angles=24)["augmented_h5"], holdout_every=4,
                           holdout_pizzas=1, seed=0)
    torch.manual_seed(0)
    model = build_pizza_model("cvae_a", image_size=data.size, slots=data.slots, classes=data.classes, latent=4,
                              width=4, embedding=4, pixel_sigma=0.1).eval()
    for layer in (model.mu, model.logvar):  # the collapsed posterior: q(z | x) = N(0, I) whatever the image
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    collapsed = latent_metrics(model, data, mean_images(data), device=torch.device("cpu"))
    assert collapsed["kl"] == pytest.approx(0.0, abs=1e-6) and collapsed["active_dims"] == 0
    assert collapsed["pose_r2"] == pytest.approx(0.0, abs=0.05)
    # an encoder whose code is the pose (read off the data's own angles) is found by the same fit
    angles = torch.from_numpy(np.deg2rad(data.angles.astype(np.float64))).float()

    def pose_code(images, recipes):
        # the rows arrive in the order latent_metrics asks for them: look each image up by its bytes
        rows = [index[bytes(image)] for image in (images * 255).round().to(torch.uint8).numpy()]
        theta = angles[rows]
        return torch.stack([torch.cos(theta), torch.sin(theta), torch.zeros_like(theta),
                            torch.zeros_like(theta)], dim=1) * 2, torch.full((len(rows), 4), -6.0)

    index = {bytes(image): row for row, image in enumerate(data.images)}
    unflipped = ~data.flipped
    assert len(index) > unflipped.sum()  # the images are distinct enough to look up
    model.encode = pose_code
    posed = latent_metrics(model, data, mean_images(data), device=torch.device("cpu"))
    assert posed["pose_r2"] > 0.95 and posed["active_dims"] == 2 and posed["kl"] > 5


def test_64_pixel_pizzas_train_and_evaluate_end_to_end(tmp_path):
    # pizza.augment.size: 64 is an option: the compact CVAE adds a stride-2 stage, the judge and KID follow
    from neta.pizza.config import TrainingSettings
    from neta.pizza.evaluate import evaluate_pizza
    from neta.pizza.judge import train_ingredient_classifier
    from neta.pizza.train import train_pizza_model

    data = write_pizza_data(tmp_path, size=64, angles=12)
    common = {"holdout_every": 4, "seed": 0, "device": "cpu", "threads": 1}
    judge = tmp_path / "classifier.pt"
    train_ingredient_classifier(data["augmented_h5"], model_out=judge,
                                training=TrainingSettings(epochs=1, batch_size=32, lr=1e-3), **common)
    model = tmp_path / "cvae_a.pt"
    summary = train_pizza_model("cvae_a", data["augmented_h5"], data["recipes_json"], model_out=model,
                                log_csv=tmp_path / "log.csv", loss_png=tmp_path / "loss.png",
                                progress_gif=tmp_path / "progress.gif",
                                architecture={"latent": 4, "width": 4, "embedding": 4, "pixel_sigma": 0.1},
                                training=TrainingSettings(epochs=1, batch_size=32, lr=1e-3), holdout_pizzas=1,
                                kl_warmup_epochs=1, progress_every=1, precision="fp32", **common)
    assert summary["image_size"] == 64
    metrics = evaluate_pizza({"cvae_a": model}, judge, data["augmented_h5"], data["recipes_json"],
                             metrics_out=tmp_path / "metrics.json", samples_dir=tmp_path / "samples", holdout_pizzas=1,
                             samples_per_recipe=2, kid_images=50, **{**common, "threads": 2})
    assert metrics["kid_images"] == min(50, metrics["n_val"])
    entry = metrics["models"]["cvae_a"]
    assert metrics["image_size"] == 64 and entry["kl"] >= 0 and entry["kid_std"] >= 0
    assert entry["unseen_fidelity_f1"] is not None


def test_the_kid_network_with_its_batch_norms_folded_gives_the_same_features():
    """The report's MobileNetV2 has each batch norm folded into its convolution (for speed): none is left,
    and the features and the KID are those of the network as built, to float rounding."""
    built = build_extractor("mobilenet_v2", "pooled", weights_file=None)[0]
    fused = fused_for_inference(build_extractor("mobilenet_v2", "pooled", weights_file=None)[0])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in built.modules())
    images = np.random.default_rng(0).integers(0, 256, (40, 3, 32, 32), dtype=np.uint8)
    cpu = torch.device("cpu")
    expected = image_features(built.to(memory_format=torch.channels_last), images, device=cpu)
    got = image_features(fused.to(memory_format=torch.channels_last), images, device=cpu)
    assert got.shape == expected.shape == (40, 1280)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert kid(got[:20], got[20:]) == pytest.approx(kid(expected[:20], expected[20:]), abs=1e-5)
