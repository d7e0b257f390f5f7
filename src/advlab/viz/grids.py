"""Image grids drawn with Pillow: no torchvision needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [-1, 1] -> (N, H, W, C) uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def grid_image(images: torch.Tensor, ncol: int, pad: int = 2, scale: int = 2) -> Image.Image:
    """Tile N images row by row into one picture, `ncol` per row, on a white background."""
    tiles = to_uint8(images)
    n, h, w, c = tiles.shape
    nrow = -(-n // ncol)
    canvas = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, col = divmod(i, ncol)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = tile
    im = Image.fromarray(canvas[..., 0] if c == 1 else canvas)
    return im.resize((im.width * scale, im.height * scale), Image.NEAREST) if scale > 1 else im


def save_grid(images: torch.Tensor, ncol: int, path: str | Path) -> Path:
    path = Path(path)
    grid_image(images, ncol).save(path)
    return path
