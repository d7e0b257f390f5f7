"""Augmentations of uint8 image batches, seeded, on the batch's own device.

Two kinds:

- `augment(images, kind, seed, step)`: the run's `--augment` of labelled training images
  (`none`, `invert`), seeded by (seed, step) so a resumed run draws the same;
- `weak(images, generator)` and `strong(images, generator)`: the views that consistency
  methods (mean teacher, FixMatch, AdaMatch) compare, drawn from the generator a method's
  `views` hook receives.

Every random number is drawn on the CPU from the given generator and only then moved to
the images' device, so a batch gets the same views on any device and after a resume. The
images stay uint8 in and out (the model's input stage normalises them).

Written on torch alone rather than on kornia: kornia 0.9 (PyPI, maintained, GPU-ready) draws
its parameters from torch's global generator, not from a generator one passes, so its views
would depend on whatever else used that generator in the step; and it works on float images.
benchmarks/augment_speed.py measures both on the same batches (results/augment_speed.md): on
2 cores, 64 images, the weak view here takes 1.4 ms (kornia 2.4 ms), the strong one 9.3 ms
(kornia 4.1 ms) when this module computed every candidate operation for every image and
selected; it now applies to each image only the operation it drew, the same numbers two to
three times faster (tests/data/test_views.py checks them against the old way).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from advlab.runs.sampling import step_generator

AUGMENTATIONS = ("none", "invert")

# weak views, after French, Mackiewicz & Fisher 2018 (Britefury/self-ensemble-visual-domain-adapt:
# --xlat_range 2, --affine_std 0.1, --gaussian_noise_std 0.1 on standardised images, which is about
# 0.03 of the [0, 1] range for digit images)
WEAK_TRANSLATE = 2.0  # pixels, uniform in [-2, 2]
WEAK_AFFINE_STD = 0.1  # std of a normal perturbation of the 2 x 2 linear part
WEAK_NOISE_STD = 0.03  # of the [0, 1] range
# strong views, after FixMatch's RandAugment (Sohn et al. 2020, appendix, table 12): two
# operations per image at random magnitudes, then a cutout of up to half the image's side
STRONG_OPS = 2
CUTOUT_MAX = 0.5


def augment(images: torch.Tensor, kind: str, seed: int, step: int) -> torch.Tensor:
    """`invert` replaces a random half of the uint8 images by their negative (255 - x).

    Digits that are darker than their background are then no surprise to the classifier;
    in MNIST-M a stroke is |background - 255|, so it is darker wherever the background
    is bright. It is label-preserving and uses nothing of the target domain.
    """
    if kind == "none":
        return images
    if kind == "invert":
        flip = (torch.rand(len(images), generator=step_generator(seed, step)) < 0.5).to(images.device).view(-1, 1, 1, 1)
        return torch.where(flip, 255 - images, images)
    raise ValueError(f"unknown augmentation {kind!r}")


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def _warp(x: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Float images (N, C, H, W) under per-image 2 x 3 affine maps in pixel units about the
    image centre (output pixel -> input pixel), bilinear, black outside."""
    n, _, h, w = x.shape
    theta = matrices.clone()
    # pixel units about the centre -> the [-1, 1] units of affine_grid
    theta[:, 0, 1] *= h / w
    theta[:, 1, 0] *= w / h
    theta[:, 0, 2] *= 2 / w
    theta[:, 1, 2] *= 2 / h
    grid = F.affine_grid(theta.to(x.device, x.dtype), [n, x.shape[1], h, w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.mul(255).round_().clamp_(0, 255).to(torch.uint8)


def weak(
    images: torch.Tensor,
    generator: torch.Generator,
    translate: float = WEAK_TRANSLATE,
    affine_std: float = WEAK_AFFINE_STD,
    noise_std: float = WEAK_NOISE_STD,
) -> torch.Tensor:
    """A small random affine map per image (translation in [-translate, translate] pixels, the
    linear part the identity plus N(0, affine_std^2) noise) and Gaussian pixel noise."""
    n = len(images)
    matrices = torch.zeros(n, 2, 3)
    matrices[:, 0, 0] = matrices[:, 1, 1] = 1.0
    matrices[:, :, :2] += affine_std * torch.randn(n, 2, 2, generator=generator)
    matrices[:, :, 2] = _uniform(2 * n, -translate, translate, generator).view(n, 2)
    noise = noise_std * torch.randn(images.shape, generator=generator)
    x = _warp(images.float() / 255, matrices)
    return _to_uint8(x + noise.to(x.device))


def _affine(n: int, rotate: torch.Tensor, shear: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """2 x 3 maps: rotation (radians), shear along x, translation (pixels)."""
    cos, sin = torch.cos(rotate), torch.sin(rotate)
    matrices = torch.zeros(n, 2, 3)
    matrices[:, 0, 0], matrices[:, 0, 1] = cos, -sin + shear * cos
    matrices[:, 1, 0], matrices[:, 1, 1] = sin, cos + shear * sin
    matrices[:, :, 2] = shift
    return matrices


def _grey(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ImageEnhance: b + factor (a - b), per image."""
    return (b + factor.view(-1, 1, 1, 1) * (a - b)).clamp(0, 1)


def _autocontrast(x: torch.Tensor) -> torch.Tensor:
    low = x.amin(dim=(2, 3), keepdim=True)
    high = x.amax(dim=(2, 3), keepdim=True)
    return torch.where(high > low, (x - low) / (high - low).clamp_min(1e-6), x)


def _posterize(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Keep 4 + floor(4 m) of the 8 bits of each pixel (8 at m = 1)."""
    step = 2.0 ** (4 - (4 * m).floor().clamp(max=4))  # 16 .. 1 levels of 255 merged into one
    step = step.view(-1, 1, 1, 1).to(x.device)
    return torch.floor(x * 255 / step) * step / 255


STRONG_OP_NAMES = (
    "identity",
    "autocontrast",
    "brightness",
    "contrast",
    "colour",
    "posterize",
    "solarize",
    "rotate",
    "shear",
    "translate_x",
    "translate_y",
)


def strong_op(name: str, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """One of STRONG_OP_NAMES on float images in [0, 1] at per-image magnitudes m in [0, 1]
    (on the CPU; as FixMatch's RandAugment, each magnitude uniform over the operation's
    range). Each image's result depends on that image and its magnitude alone."""
    n, _, h, w = x.shape
    zero = torch.zeros(n)
    signed = 2 * m - 1  # [-1, 1]
    factor = ((0.05 + 0.9 * m) * 2).to(x.device)  # PIL enhance factors 0.1 .. 1.9, 1 being the image itself
    if name == "identity":
        return x
    if name == "autocontrast":
        return _autocontrast(x)
    if name == "brightness":
        return _blend(x, torch.zeros_like(x), factor)
    if name == "contrast":
        return _blend(x, _grey(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), factor)
    if name == "colour":  # saturation
        return _blend(x, _grey(x), factor)
    if name == "posterize":
        return _posterize(x, m)
    if name == "solarize":  # above a threshold
        return torch.where(x >= m.view(-1, 1, 1, 1).to(x.device), 1 - x, x)
    if name == "rotate":  # +-30 degrees
        return _warp(x, _affine(n, math.radians(30) * signed, zero, torch.zeros(n, 2)))
    if name == "shear":  # +-0.3
        return _warp(x, _affine(n, zero, 0.3 * signed, torch.zeros(n, 2)))
    if name == "translate_x":  # +-30 %
        return _warp(x, _affine(n, zero, zero, torch.stack([0.3 * w * signed, zero], 1)))
    if name == "translate_y":
        return _warp(x, _affine(n, zero, zero, torch.stack([zero, 0.3 * h * signed], 1)))
    raise ValueError(f"no strong operation {name!r}")


def strong(images: torch.Tensor, generator: torch.Generator, ops: int = STRONG_OPS) -> torch.Tensor:
    """RandAugment-like: `ops` operations per image, each chosen uniformly from
    STRONG_OP_NAMES at a uniform random magnitude, then a cutout (a black square of a random
    side up to half the image's, at a random place)."""
    n, _, h, w = images.shape
    x = images.float() / 255
    for _ in range(ops):
        choice = torch.randint(len(STRONG_OP_NAMES), (n,), generator=generator)
        m = torch.rand(n, generator=generator)
        out = torch.empty_like(x)
        for k in choice.unique().tolist():  # each operation on the images that chose it, and on no other
            chose = (choice == k).nonzero().squeeze(1)
            here = chose.to(x.device)  # one copy to the images' device per operation, not two
            out[here] = strong_op(STRONG_OP_NAMES[k], x[here], m[chose])
        x = out
    side = (CUTOUT_MAX * torch.rand(n, generator=generator) * min(h, w)).round()
    top = (torch.rand(n, generator=generator) * (h - side + 1)).floor()
    left = (torch.rand(n, generator=generator) * (w - side + 1)).floor()
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    in_rows = (rows >= top.view(-1, 1, 1)) & (rows < (top + side).view(-1, 1, 1))
    inside = in_rows & (cols >= left.view(-1, 1, 1)) & (cols < (left + side).view(-1, 1, 1))
    x = x.masked_fill(inside.unsqueeze(1).to(x.device), 0.0)
    return _to_uint8(x)
