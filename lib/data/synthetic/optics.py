"""Image-formation pieces shared by the generators: machined metal, illumination, blur, noise.

Images are float32 in [0, 1] with shape (H, W, 3) until :func:`to_uint8`; fields and masks are
(H, W). No off-the-shelf library renders microscope images, so these are written here, each a
small physical stand-in: brushed texture (anisotropic noise), vignetting and an off-axis light
(multiplicative field), defocus (Gaussian blur) and Poisson-Gaussian sensor noise.
"""
from __future__ import annotations

import cv2
import numpy as np

cv2.setNumThreads(1)  # deterministic and friendly to worker processes


def smooth_field(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Zero-mean, unit-std random field varying on the scale of ``max(h, w) / cells`` pixels."""
    gh, gw = max(2, int(np.ceil(cells * h / max(h, w))) + 1), max(2, int(np.ceil(cells * w / max(h, w))) + 1)
    field = cv2.resize(rng.standard_normal((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return (field - field.mean()) / (field.std() + 1e-6)


def machined_texture(rng: np.random.Generator, h: int, w: int, streak: float, angle_deg: float) -> np.ndarray:
    """Brushed-metal texture: noise smeared along ``angle_deg`` over ~``streak`` px, plus fine grain.

    Returns a zero-mean, unit-std (H, W) field.
    """
    pad = int(np.hypot(h, w)) + 8
    noise = rng.standard_normal((pad, pad)).astype(np.float32)
    brushed = cv2.GaussianBlur(noise, (0, 0), sigmaX=max(streak, 0.5), sigmaY=0.6)
    rot = cv2.getRotationMatrix2D((pad / 2, pad / 2), angle_deg, 1.0)
    brushed = cv2.warpAffine(brushed, rot, (pad, pad), flags=cv2.INTER_LINEAR)
    y0, x0 = (pad - h) // 2, (pad - w) // 2
    brushed = brushed[y0:y0 + h, x0:x0 + w]
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.7)
    tex = brushed / (brushed.std() + 1e-6) + 0.5 * grain / (grain.std() + 1e-6)
    return (tex - tex.mean()) / (tex.std() + 1e-6)


def illumination(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    """Multiplicative light field: off-centre vignetting, a linear falloff and slow blotches."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7)
    r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (0.25 * (h * h + w * w))
    vignette = 1.0 - strength * rng.uniform(0.3, 0.7) * r2
    theta = rng.uniform(0, 2 * np.pi)
    ramp = 1.0 + strength * rng.uniform(0.0, 0.35) * ((xx / w - 0.5) * np.cos(theta) + (yy / h - 0.5) * np.sin(theta))
    blotch = 1.0 + strength * 0.06 * smooth_field(rng, h, w, cells=3)
    return np.clip(vignette * ramp * blotch, 0.2, 1.5)


def bevel_shading(mask: np.ndarray, light_deg: float, width: float) -> np.ndarray:
    """Directional relief of a (soft) mask: >0 on edges facing the light, <0 on the far side.

    Used for raised (add) and recessed (subtract) features, droplet domes and gripper edges.
    """
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(width, 0.5))
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    lx, ly = np.cos(np.deg2rad(light_deg)), np.sin(np.deg2rad(light_deg))
    relief = -(gx * lx + gy * ly)  # the edge whose outward normal points at the light is lit
    return relief / (np.abs(relief).max() + 1e-6)


def defocus(img: np.ndarray, sigma: float) -> np.ndarray:
    return img if sigma < 0.3 else cv2.GaussianBlur(img, (0, 0), sigma)


def sensor_noise(rng: np.random.Generator, img: np.ndarray, shot: float, read: float) -> np.ndarray:
    """Poisson-like shot noise (variance proportional to the signal) plus Gaussian read noise."""
    sigma = np.sqrt(np.clip(img, 0, 1) * shot + read ** 2)
    return img + sigma * rng.standard_normal(img.shape).astype(np.float32)


def colorize(gray: np.ndarray, tint: np.ndarray) -> np.ndarray:
    """(H, W) intensity times a per-channel (R, G, B) tint -> (H, W, 3)."""
    return gray[..., None] * tint[None, None, :].astype(np.float32)


def to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def polygon_mask(h: int, w: int, points: np.ndarray) -> np.ndarray:
    """Binary (H, W) uint8 mask of a polygon given as (N, 2) float (x, y) points, at 1/16 px precision."""
    mask = np.zeros((h, w), np.uint8)
    pts = np.round(np.asarray(points) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return mask


def radial_polygon(center: tuple[float, float], radii: np.ndarray, rotation: float = 0.0) -> np.ndarray:
    """Star-shaped outline: ``radii[i]`` at angle ``2*pi*i/len(radii) + rotation`` -> (N, 2) points."""
    t = np.linspace(0, 2 * np.pi, len(radii), endpoint=False) + rotation
    return np.stack([center[0] + radii * np.cos(t), center[1] + radii * np.sin(t)], axis=1)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Tight pixel bounds (x1, y1, x2, y2) of a binary mask, x2/y2 exclusive."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
