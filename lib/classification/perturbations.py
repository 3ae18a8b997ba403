"""Image perturbations of liu2023: Gaussian noise, rotation, stretching, low contrast, small objects.

Every function takes an RGB float image in [0, 1] of shape (H, W, 3) and returns one of the same
shape and dtype in [0, 1]; the geometric ones return ``(image, mask)``, the object mask moved the
same way (None when none is given), so that localisation can still be scored. The small objects
are the generated droplets shrunk in the frame (:func:`small_object`), not a new rendering: the
generator's code keys every cached dataset, and a change to it would regenerate them all.

**Noise space.** liu2023 gives noise variances up to 2.0 without saying in which space. Added to
[0, 1] pixels, a variance of 2.0 (standard deviation 1.41) erases the image; added to the
network's normalised input (ImageNet mean and std per channel), it is a standard deviation of
about 0.32 in pixel units. Both are available: ``space="normalised"`` (the default: the space the
network sees) or ``space="pixels"``. In either case the image is clipped to the valid pixel range
afterwards, as the paper says.
"""
from __future__ import annotations

import cv2
import numpy as np

from .resnet import STD

NOISE_SPACES = ("normalised", "pixels")


def _check(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"expected an RGB float image (H, W, 3) in [0, 1], got {image.dtype} {image.shape}")
    return image


def noise(shape: tuple[int, int, int], variance: float, rng: np.random.Generator, space: str = "normalised") -> np.ndarray:
    """Zero-mean Gaussian noise in pixel units whose variance is ``variance`` in ``space``."""
    if space not in NOISE_SPACES:
        raise ValueError(f"unknown noise space {space!r}; choose one of: {', '.join(NOISE_SPACES)}")
    if variance < 0:
        raise ValueError(f"noise variance must be >= 0, got {variance}")
    scale = np.asarray(STD) if space == "normalised" else np.ones(3)  # a normalised unit is STD pixels
    return rng.standard_normal(shape) * np.sqrt(variance) * scale


def gaussian_noise(image: np.ndarray, variance: float, rng: np.random.Generator, space: str = "normalised") -> np.ndarray:
    """``image`` plus :func:`noise`, clipped to [0, 1]."""
    image = _check(image)
    return np.clip(image + noise(image.shape, variance, rng, space), 0, 1).astype(image.dtype)


def low_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Contrast scaled by ``factor`` (0 < factor <= 1) about the image's mean grey level."""
    image = _check(image)
    if not 0 < factor <= 1:
        raise ValueError(f"contrast factor must be in (0, 1], got {factor}")
    mean = image.mean()
    return np.clip(mean + factor * (image - mean), 0, 1).astype(image.dtype)


def _warp(image: np.ndarray, mask: np.ndarray | None, matrix: np.ndarray, fill: np.ndarray | None = None):
    """Affine warp; uncovered pixels reflect the image, or take the colour ``fill``."""
    h, w = image.shape[:2]
    border = dict(borderMode=cv2.BORDER_REFLECT_101) if fill is None else \
        dict(borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(v) for v in fill))
    out = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, **border)
    moved = None if mask is None else cv2.warpAffine(mask.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST,
                                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    return np.clip(out, 0, 1).astype(image.dtype), moved


def rotate(image: np.ndarray, degrees: float, mask: np.ndarray | None = None):
    """Rotation about the image centre (counter-clockwise); the uncovered corners reflect the image."""
    image = _check(image)
    h, w = image.shape[:2]
    return _warp(image, mask, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0))


def _scale(image: np.ndarray, sx: float, sy: float, mask: np.ndarray | None, fill: np.ndarray | None = None):
    h, w = image.shape[:2]
    matrix = np.array([[sx, 0, (1 - sx) * w / 2], [0, sy, (1 - sy) * h / 2]], np.float64)
    return _warp(image, mask, matrix, fill)


def stretch(image: np.ndarray, sx: float, sy: float = 1.0, mask: np.ndarray | None = None):
    """Scaling by ``sx`` along x and ``sy`` along y about the image centre (an aspect change)."""
    image = _check(image)
    if sx <= 0 or sy <= 0:
        raise ValueError(f"stretch factors must be positive, got {sx}, {sy}")
    return _scale(image, sx, sy, mask)


def small_object(image: np.ndarray, scale: float, mask: np.ndarray | None = None):
    """The whole scene shrunk by ``scale`` about the centre: the same object, smaller in the frame.

    The uncovered border takes the median colour of the image's outer frame (the surface around
    the object): reflecting the scene there would add mirrored copies of the object."""
    image = _check(image)
    if not 0 < scale <= 1:
        raise ValueError(f"small-object scale must be in (0, 1], got {scale}")
    h, w = image.shape[:2]
    b = max(1, min(h, w) // 20)
    frame = np.concatenate([image[:b].reshape(-1, 3), image[-b:].reshape(-1, 3), image[:, :b].reshape(-1, 3),
                            image[:, -b:].reshape(-1, 3)])
    return _scale(image, scale, scale, mask, fill=np.median(frame, axis=0))
