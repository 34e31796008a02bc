"""Shapes and sizes of the hiragana models, and the piecewise-constant schedules."""

import pytest
import torch

from neta.errors import NetaError
from neta.hiragana.model import HiraganaCNN, SoftmaxRegression, count_parameters
from neta.hiragana.schedules import keep_prob_schedule, learning_rate_schedule, piecewise_constant
from neta.settings import validate_config

ORIGINAL_LR = [[0, 1e-3], [1000, 1e-4], [3000, 1e-5], [7000, 1e-6], [10000, 1e-7], [14000, 1e-8], [19000, 1e-9]]
ORIGINAL_KEEP = [[0, 1.0], [3000, 0.3], [10000, 0.1], [15000, 0.05], [19000, 0.8]]
TUTORIAL = {"n_classes": 71, "size": 28, "init_std": 0.1, "bias_init": 0.1}


def test_cnn_layers_match_the_tutorial_architecture():
    model = HiraganaCNN(**TUTORIAL)
    assert tuple(model.conv1.weight.shape) == (32, 1, 5, 5)
    assert tuple(model.conv2.weight.shape) == (64, 32, 5, 5)
    assert model.flat_features == 7 * 7 * 64 == 3136
    assert tuple(model.fc1.weight.shape) == (1024, 3136)
    assert tuple(model.fc2.weight.shape) == (71, 1024)
    expected = (32 * 25 + 32) + (64 * 32 * 25 + 64) + (3136 * 1024 + 1024) + (1024 * 71 + 71)
    assert count_parameters(model) == expected == 3_337_159


def test_cnn_forward_gives_logits_per_class():
    model = HiraganaCNN(**TUTORIAL).eval()
    out = model(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 71)
    assert torch.isfinite(out).all()


def test_cnn_init_is_truncated_normal_with_constant_bias():
    torch.manual_seed(0)
    model = HiraganaCNN(**TUTORIAL)
    w = model.fc1.weight.detach()
    assert w.abs().max() <= 0.2 + 1e-6  # cut at two standard deviations
    # A normal truncated at +-2 sigma has std ~0.88 sigma.
    assert 0.080 < float(w.std()) < 0.096
    assert torch.all(model.fc1.bias == 0.1) and torch.all(model.conv1.bias == 0.1)


def test_dropout_only_in_training_and_only_when_asked():
    torch.manual_seed(0)
    model = HiraganaCNN(**TUTORIAL)
    x = torch.rand(4, 1, 28, 28)
    model.train()
    assert torch.equal(model(x, drop_p=0.0), model(x, drop_p=0.0))  # keep_prob 1.0: no dropout
    assert not torch.equal(model(x, drop_p=0.7), model(x, drop_p=0.7))
    model.eval()
    assert torch.equal(model(x, drop_p=0.7), model(x, drop_p=0.0))


def test_first_layer_returns_filters_and_activations():
    model = HiraganaCNN(**TUTORIAL)
    filters, activations = model.first_layer(torch.rand(28, 28))
    assert filters.shape == (32, 5, 5)
    assert activations.shape == (32, 28, 28)  # SAME padding keeps the size
    assert float(activations.min()) >= 0.0  # after ReLU


def test_softmax_regression_shape_and_zero_start():
    model = SoftmaxRegression(n_inputs=784, n_classes=71)
    assert count_parameters(model) == 784 * 71 + 71
    out = model(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 71)
    assert torch.all(out == 0)  # zero-initialised, as the tutorial


def test_original_lr_schedule_at_boundaries():
    lr = learning_rate_schedule(ORIGINAL_LR)
    assert lr(0) == 1e-3
    assert lr(999) == 1e-3
    assert lr(1000) == 1e-4
    assert lr(2999) == 1e-4
    assert lr(3000) == 1e-5
    assert lr(19000) == 1e-9
    assert lr(10**9) == 1e-9


def test_original_keep_prob_schedule_at_boundaries():
    keep = keep_prob_schedule(ORIGINAL_KEEP)
    assert [keep(s) for s in (0, 2999, 3000, 9999, 10000, 14999, 15000, 18999, 19000, 25000)] == [
        1.0, 1.0, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05, 0.8, 0.8,
    ]
    assert keep.to_list() == ORIGINAL_KEEP


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        ([[100, 1e-3]], "step 0"),
        ([[0, 1e-3], [0, 1e-4]], "increase strictly"),
        ([[0, 1e-3], [2000, 1e-4], [1000, 1e-5]], "increase strictly"),
        ([[-1, 1e-3]], "non-negative integer"),
        ([[1.5, 1e-3]], "non-negative integer"),
        ([[0, 1e-3], [float("inf"), 1e-4]], "non-negative integer"),
        ([[0, float("nan")]], "finite number"),
        ([[0, float("inf")]], "finite number"),
        ([[0, 0.0]], "> 0.0"),
        ([[0, -1e-3]], "> 0.0"),
    ],
)
def test_lr_schedule_errors_name_the_key(points, fragment):
    with pytest.raises(NetaError) as info:
        learning_rate_schedule(points, key="hiragana.train.lr_schedule")
    message = str(info.value)
    assert message.startswith("hiragana.train.lr_schedule")
    assert fragment in message


# The shape of a schedule is the config schema's to check (the schedule module no longer does), naming the key.
@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        ([], "should be non-empty"),
        ("0:1e-3", "is not of type 'array'"),
        ([[0, 1e-3, 5]], "is too long"),
        ([[0]], "is too short"),
        ([[0, "fast"]], "'fast' is not of type 'number'"),
        ([[0, True]], "True is not of type 'number'"),
    ],
)
@pytest.mark.parametrize("key", ["lr_schedule", "keep_prob_schedule"])
def test_config_validation_rejects_malformed_schedules_naming_the_key(key, points, fragment):
    with pytest.raises(NetaError) as info:
        validate_config({"hiragana": {"train": {key: points}}})
    message = str(info.value)
    assert message.startswith(f"config key hiragana.train.{key}") and fragment in message


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.2])
def test_keep_prob_must_be_in_0_1(bad):
    with pytest.raises(NetaError, match=r"keep_prob_schedule\[1\]"):
        keep_prob_schedule([[0, 1.0], [10, bad]])


def test_keep_prob_of_one_is_allowed_and_integer_like_floats_are_steps():
    schedule = piecewise_constant([[0.0, 1], [10.0, 0.5]], key="k", low=0.0, high=1.0)
    assert schedule.steps == (0, 10) and schedule(9) == 1.0 and schedule(10) == 0.5



def test_bn_cnn_averages_its_last_features_over_a_grid():
    """pool 2: the last layer sees each channel's mean over the four (overlapping) quarters of the 7x7
    map, so where a feature is survives; pool 1: its mean over the whole map."""
    import torch

    from neta.hiragana.model import BatchNormCNN

    x = torch.rand(3, 1, 28, 28)
    for pool in (1, 2):
        torch.manual_seed(0)
        net = BatchNormCNN(n_classes=5, size=28, stride=1, widths=[4, 4, 8], pool=pool, dropout=0.0).eval()
        assert net.head.in_features == 8 * pool * pool and net.arch["pool"] == pool
        seen = []
        net.head.register_forward_pre_hook(lambda _module, args, seen=seen: seen.append(args[0]))
        assert net(x).shape == (3, 5)
        maps = net.body(x)
        assert maps.shape[-2:] == (7, 7)
        if pool == 1:
            want = maps.mean(dim=(2, 3))
        else:  # adaptive pooling of 7 into 2 bins: rows and columns 0..3 and 3..6
            want = torch.stack([maps[..., r, c].mean(dim=(2, 3)) for r in (slice(0, 4), slice(3, 7))
                                for c in (slice(0, 4), slice(3, 7))], dim=2).flatten(1)
        assert torch.allclose(seen[0], want, atol=1e-6), pool


def test_bn_cnn_with_a_stride_two_start_reads_a_fine_image_at_the_cost_of_a_coarse_one():
    """hiragana.bn_cnn.stride 2: a 56-pixel image, and every layer after the first works on 28 x 28
    and less, as a 28-pixel network with stride 1 does; a size the stride and poolings do not divide
    is refused."""
    import pytest
    import torch

    from neta.hiragana.model import BatchNormCNN

    fine = BatchNormCNN(n_classes=5, size=56, stride=2, widths=[4, 4, 8], pool=2, dropout=0.0).eval()
    coarse = BatchNormCNN(n_classes=5, size=28, stride=1, widths=[4, 4, 8], pool=2, dropout=0.0).eval()
    assert fine.body[0].stride == (2, 2) and all(m.stride == (1, 1) for m in fine.body[1:]
                                                 if isinstance(m, torch.nn.Conv2d))
    assert fine.body(torch.rand(2, 1, 56, 56)).shape == coarse.body(torch.rand(2, 1, 28, 28)).shape == (2, 8, 7, 7)
    assert sum(p.numel() for p in fine.parameters()) == sum(p.numel() for p in coarse.parameters())
    assert fine(torch.rand(2, 1, 56, 56)).shape == (2, 5)
    with pytest.raises(ValueError, match="size must be a multiple of 8"):
        BatchNormCNN(n_classes=5, size=52, stride=2, widths=[4, 4, 8], pool=2, dropout=0.0)
