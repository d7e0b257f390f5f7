"""Decoding image files and bringing images to the square grid a backbone takes."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from advlab.errors import DataError

GEOMETRIES = ("crop", "resize", "pad")


def decode_image(data: bytes, name: str, mode: str = "RGB") -> np.ndarray:
    """Decode PNG/JPEG bytes to an (H, W, C) uint8 array."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a few hundred KB must not become GBs
            with Image.open(io.BytesIO(data)) as im:
                return np.asarray(im.convert(mode)).reshape(im.height, im.width, -1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(
            f"cannot decode image {name}: too many pixels for an image data set (a decompression bomb?)"
        ) from None
    except UnidentifiedImageError:
        raise DataError(f"cannot decode image {name}: not an image file Pillow can read") from None
    except (OSError, ValueError) as e:
        raise DataError(
            f"cannot decode image {name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None


def to_size(images: torch.Tensor, size: int, geometry: str) -> torch.Tensor:
    """Bring (N, C, H, W) uint8 images to size x size.

    `crop` takes the centre (MNIST-M's 32 x 32 images are 28 x 28 MNIST digits on a
    larger background, so a centre crop keeps the digit at MNIST's scale); a smaller image
    is resized. `resize` interpolates bilinearly with antialiasing. `pad` centres a smaller
    image on black (MNIST's 28 x 28 digits reach a 32 x 32 network at the scale MNIST-M
    shows them); a side longer than `size` is centre-cropped. Only `resize` changes scale.
    """
    if geometry not in GEOMETRIES:
        raise DataError(f"unknown geometry {geometry!r}; choose from {', '.join(GEOMETRIES)}")
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    if geometry == "pad":
        # a negative pad crops; a longer side loses the pixels a crop would
        top, left = ((size - n) // 2 if n <= size else -((n - size) // 2) for n in (h, w))
        return F.pad(images, (left, size - w - left, top, size - h - top)).contiguous()
    if geometry == "crop" and h >= size and w >= size:
        top, left = (h - size) // 2, (w - size) // 2
        return images[..., top : top + size, left : left + size].contiguous()
    out = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8)
