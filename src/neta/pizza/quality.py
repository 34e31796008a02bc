"""What a generator's latent and samples are worth: KL and active dimensions, pose in z, KID.

Pure functions of arrays (numpy, and torch only for the feature network) so each can be checked on
hand-made cases: a decoder that ignores z has no KL, no active dimension and no pose; a set of
images has a KID of about 0 against itself.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

ACTIVE_VARIANCE = 0.01  # a latent dimension is active when its mean code varies more than this over the data
KID_SUBSETS, KID_SUBSET_SIZE = 100, 100
# The 32 or 64 px pizzas are enlarged to 96 px, not to the weights' own 224: at 224 the 7,000 images of
# an evaluation took 4 minutes on 2 cores, at 96 about 45 s.
FEATURE_SIZE = 96
FEATURE_BATCH = 100


def active_dims(codes: np.ndarray) -> int:
    """Latent dimensions whose mean code ``(N, L)`` varies by more than :data:`ACTIVE_VARIANCE` over the data."""
    return int((np.asarray(codes, dtype=np.float64).var(axis=0) > ACTIVE_VARIANCE).sum())


def pose_r2(fit_codes: np.ndarray, fit_angles: np.ndarray, fit_groups: np.ndarray, test_codes: np.ndarray,
            test_angles: np.ndarray, test_groups: np.ndarray, *, ridge: float = 1.0) -> float:
    """R^2 of a linear map from the codes to (cos theta, sin theta), fitted on one set of views and scored
    on another, one map a group.

    A group is one pizza in one mirror state: angle 0 is the orientation its photo happened to have, so
    the angles of two pizzas (or of a view and its mirror image, which turns the other way) share no
    origin and no direction a single map could find. The codes are taken as they are, in units of the
    prior's standard deviation, and the fit is ridge regression with penalty ``ridge``: a code that moves
    by a thousandth of the prior's scale (a collapsed posterior's mean still wobbles with the image) is
    no pose a decoder can read, and standardising it would make it one. The ridge also keeps a 512-wide
    latent from fitting its training views by heart. The score pools the groups:
    1 - (sum of squared errors) / (sum of squares about each group's mean on the test views).
    """
    fit_codes, test_codes = np.asarray(fit_codes, dtype=np.float64), np.asarray(test_codes, dtype=np.float64)
    sse = sst = 0.0
    for group in np.unique(test_groups):
        fit, test = np.asarray(fit_groups) == group, np.asarray(test_groups) == group
        if not fit.any():
            raise ValueError(f"pose_r2: group {group!r} has test views but no views to fit on")
        x, y = fit_codes[fit], _circle(np.asarray(fit_angles)[fit])
        mean = x.mean(axis=0)
        xc = x - mean
        weights = np.linalg.solve(xc.T @ xc + ridge * np.eye(xc.shape[1]), xc.T @ (y - y.mean(axis=0)))
        truth = _circle(np.asarray(test_angles)[test])
        predicted = (test_codes[test] - mean) @ weights + y.mean(axis=0)
        sse += float(((predicted - truth) ** 2).sum())
        sst += float(((truth - truth.mean(axis=0)) ** 2).sum())
    return 1.0 - sse / sst if sst > 0 else 0.0


def _circle(angles_degrees: np.ndarray) -> np.ndarray:
    theta = np.deg2rad(np.asarray(angles_degrees, dtype=np.float64))
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


def kid(real: np.ndarray, fake: np.ndarray, *, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
        seed: int = 0) -> tuple[float, float]:
    """Kernel inception distance (mean, std) between two feature sets ``(N, D)``: the unbiased MMD^2 with
    the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3 over ``subsets`` random subsets of
    ``subset_size`` a side (Binkowski et al. 2018)."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError("KID needs at least two feature vectors a side")
    rng = np.random.default_rng(seed)
    dim = real.shape[1]
    values = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / dim + 1) ** 3, (y @ y.T / dim + 1) ** 3, (x @ y.T / dim + 1) ** 3)
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(off - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


@torch.no_grad()
def image_features(network: torch.nn.Module, images_uint8: np.ndarray, *, device: torch.device) -> np.ndarray:
    """Pooled features ``(N, D)`` of uint8 images ``(N, 3, S, S)``, enlarged (bilinear) to the network's
    :data:`FEATURE_SIZE`; ``network`` takes uint8 batches (:func:`neta.features.backbones.build_extractor`)."""
    parts = []
    for start in range(0, len(images_uint8), FEATURE_BATCH):
        batch = torch.from_numpy(np.ascontiguousarray(images_uint8[start : start + FEATURE_BATCH])).to(device)
        big = F.interpolate(batch.float(), size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear", align_corners=False)
        big = big.round().clamp(0, 255).to(torch.uint8).contiguous(memory_format=torch.channels_last)
        parts.append(network(big).float().cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
