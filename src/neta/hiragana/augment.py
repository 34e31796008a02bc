"""On-the-fly augmentation of hiragana training batches, on tensors, seeded, never at evaluation.

The synthetic writers cover only the styles the generator knows; real handwriting (and held-out
styles) shifts position, slant, size, stroke width, ink darkness and sharpness beyond them. Each
training batch is therefore redrawn with a random affine warp plus a smooth elastic field (one
``grid_sample`` for both), stroke thickening or thinning (3 x 3 max-pooling), lighter ink, blur and
sensor noise. On a batch of 50 images of 28 x 28 this costs well under a millisecond next to the
CNN's step, so it runs in the training loop instead of a separate loader.

Every magnitude comes from ``hiragana.augment`` (:class:`~neta.hiragana.config.HiraganaAugment`), whose
ranges the config schema checks; nothing here has a default.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from neta.hiragana.config import HiraganaAugment


def _uniform(n: int, half_width: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=gen) * 2.0 - 1.0) * half_width


def _pick(n: int, p: float, active: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Indices of the active images that also win a draw with probability ``p``."""
    return torch.nonzero((torch.rand(n, generator=gen) < p) & active).flatten()


def _dilate(x: torch.Tensor) -> torch.Tensor:
    """3 x 3 grey dilation as two 3-tap maxima: ~10x faster than ``max_pool2d(x, 3, 1, 1)`` on CPU."""
    p = F.pad(x, (1, 1, 1, 1))
    rows = torch.maximum(torch.maximum(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def _interp_matrix(size: int, knots: int) -> torch.Tensor:
    """(size, knots) linear interpolation weights from ``knots`` evenly spaced control points."""
    pos = torch.linspace(0.0, knots - 1.0, size)
    lo = pos.floor().clamp(max=knots - 2).long()
    frac = pos - lo
    m = torch.zeros(size, knots)
    m[torch.arange(size), lo] = 1.0 - frac
    m[torch.arange(size), lo + 1] = frac
    return m


def _base_grid(height: int, width: int) -> torch.Tensor:
    """(H*W, 3) homogeneous pixel-centre coordinates in affine_grid's normalised units."""
    ys = (torch.arange(height) * 2.0 + 1.0) / height - 1.0
    xs = (torch.arange(width) * 2.0 + 1.0) / width - 1.0
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten(), torch.ones(height * width)], 1)


def augment_batch(x: torch.Tensor, cfg: HiraganaAugment, gen: torch.Generator, *, pixel_scale: float) -> torch.Tensor:
    """A randomly distorted copy of ``x`` ``(N, 1, S, S)`` in [0, 1], ink high.

    ``cfg``'s elastic displacement and blur are in pixels of a ``hiragana.size`` image; ``pixel_scale``
    is ``S`` over that size, so a model reading finer images gets the same distortion of the character.
    (The stroke-width change stays one pixel: on a finer image, a gentler change.)
    All random numbers come from ``gen`` (a CPU generator), so a seed fixes the result on any device.
    Each distortion is computed on the images it picks only: on a CPU the cost is per pixel.
    """
    if not cfg.enabled or x.shape[0] == 0:
        return x
    n, _, height, width = x.shape
    dev = x.device
    x = x.clone()
    active = torch.rand(n, generator=gen) < cfg.probability

    # lighter ink: a pencil, a dry pen, a faint scan
    ink = 1.0 - torch.rand(n, generator=gen) * (1.0 - cfg.ink_min)
    sel = _pick(n, cfg.ink_p, active, gen)
    if sel.numel():
        x[sel.to(dev)] *= ink[sel].to(dev, x.dtype).view(-1, 1, 1, 1)

    # stroke width: dilation thickens, erosion thins, blended in part so the change is graded
    amount = 0.4 + 0.6 * torch.rand(n, generator=gen)
    morph = _pick(n, cfg.morph_p, active, gen)
    if morph.numel():
        grow = torch.rand(morph.numel(), generator=gen) < 0.5
        part = x[morph.to(dev)]
        changed = torch.where(grow.to(dev).view(-1, 1, 1, 1), _dilate(part), -_dilate(-part))
        w = amount[morph].to(dev, x.dtype).view(-1, 1, 1, 1)
        x[morph.to(dev)] = part + w * (changed - part)

    # affine warp and elastic field in one resampling of the active images
    warp = torch.nonzero(active).flatten()
    k = warp.numel()
    if k:
        angle = _uniform(k, math.radians(cfg.rotation_deg), gen)
        shear = _uniform(k, cfg.shear, gen)
        scale = 1.0 + _uniform(k, cfg.scale, gen)
        aspect = 1.0 + _uniform(k, cfg.aspect, gen)
        sx, sy = scale * aspect.sqrt(), scale / aspect.sqrt()
        cos, sin = angle.cos(), angle.sin()
        # grid_sample reads, for each output pixel, an input location, so the warp is inverted:
        # (R @ Shear @ D)^-1 = D^-1 @ Shear^-1 @ R^T
        shear_inv = torch.eye(2).repeat(k, 1, 1)
        shear_inv[:, 0, 1] = -shear
        rot_t = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
        d_inv = torch.diag_embed(torch.stack([1.0 / sx, 1.0 / sy], 1))
        shift = torch.stack([_uniform(k, 2.0 * cfg.translate, gen), _uniform(k, 2.0 * cfg.translate, gen)], 1)
        theta = torch.cat([d_inv @ shear_inv @ rot_t, shift[:, :, None]], 2)  # (k, 2, 3)
        # affine_grid by hand: one small matmul, measured 4x cheaper than F.affine_grid on a CPU
        grid = (_base_grid(height, width) @ theta.transpose(1, 2)).view(k, height, width, 2)
        g = cfg.elastic_grid
        elastic = torch.rand(k, generator=gen) < cfg.elastic_p
        knots = torch.randn(k, 2, g, g, generator=gen) * (2.0 * cfg.elastic_px * pixel_scale / max(height, width))
        knots = knots * elastic.view(k, 1, 1, 1)
        # smooth field: control points bilinearly spread over the image, as two small matrix products
        field = torch.einsum("hg,ncgf,wf->nhwc", _interp_matrix(height, g), knots, _interp_matrix(width, g))
        grid = (grid + field).to(dev, x.dtype)
        x[warp.to(dev)] = F.grid_sample(
            x[warp.to(dev)], grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )

    # blur: a Gaussian of random sigma, a separable kernel per image (a grouped convolution)
    blur = _pick(n, cfg.blur_p, active, gen)
    if cfg.blur_sigma > 0 and blur.numel():
        b = blur.numel()
        sigma = (0.3 + torch.rand(b, generator=gen) * max(cfg.blur_sigma - 0.3, 0.0)) * pixel_scale
        reach = max(2, math.ceil(2 * pixel_scale))  # 5 taps at the reference size, wider as sigma grows
        taps = torch.arange(-reach, reach + 1, dtype=torch.float32)
        kernel = torch.exp(-(taps[None, :] ** 2) / (2 * sigma[:, None] ** 2))
        kernel = (kernel / kernel.sum(1, keepdim=True)).to(dev, x.dtype)
        flat = x[blur.to(dev)].view(1, b, height, width)
        width_taps = 2 * reach + 1
        flat = F.conv2d(F.pad(flat, (reach, reach, 0, 0)), kernel.view(b, 1, 1, width_taps), groups=b)
        flat = F.conv2d(F.pad(flat, (0, 0, reach, reach)), kernel.view(b, 1, width_taps, 1), groups=b)
        x[blur.to(dev)] = flat.view(b, 1, height, width)

    # sensor noise
    noisy = _pick(n, cfg.noise_p, active, gen)
    if noisy.numel():
        std = torch.rand(noisy.numel(), generator=gen).view(-1, 1, 1, 1) * cfg.noise_std
        noise = torch.randn(noisy.numel(), 1, height, width, generator=gen) * std
        x[noisy.to(dev)] += noise.to(dev, x.dtype)

    # dust: a speck on a scan is ink to the crop, which then takes it in at the edge of its box, so a
    # lone dot lies in the frame's outer band, where a voicing mark would also be: one or two round
    # dots there, which the label does not change
    dusty = _pick(n, cfg.dust_p, active, gen)
    if dusty.numel():
        k, dots = dusty.numel(), 2
        side = torch.randint(0, 4, (k, dots), generator=gen)
        along = torch.rand(k, dots, generator=gen)
        depth = 0.04 + 0.1 * torch.rand(k, dots, generator=gen)  # from the edge, a share of the side
        radius = (0.6 + 0.8 * torch.rand(k, dots, generator=gen)) * pixel_scale
        level = (0.6 + 0.4 * torch.rand(k, dots, generator=gen)) * (torch.rand(k, dots, generator=gen) < 0.5)
        level[:, 0] = level[:, 0].clamp(min=0.6)  # the first dot always, the second half the time
        y = torch.where(side == 0, depth * height, torch.where(side == 1, (1 - depth) * height, along * height))
        x_pos = torch.where(side == 2, depth * width, torch.where(side == 3, (1 - depth) * width, along * width))
        rows = torch.arange(height, dtype=torch.float32).view(1, 1, height, 1) + 0.5
        cols = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width) + 0.5
        distance = ((rows - y.view(k, dots, 1, 1)) ** 2 + (cols - x_pos.view(k, dots, 1, 1)) ** 2).sqrt()
        specks = (level.view(k, dots, 1, 1) * (radius.view(k, dots, 1, 1) + 0.5 - distance).clamp(0, 1)).amax(1)
        x[dusty.to(dev)] = torch.maximum(x[dusty.to(dev)], specks.unsqueeze(1).to(dev, x.dtype))
    return x.clamp_(0.0, 1.0)
