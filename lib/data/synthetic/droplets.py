"""Adhesive droplets on a micropart surface, four classes (xu2024 §3.2, Fig. 6, Table 3).

A droplet is a star-shaped outline r(theta) whose area is drawn from the same distribution for
every class, so that size is no class cue:

* ``circular``: round, nearly smooth (good spreading);
* ``jagged``: serrated edge, teeth of uneven height (incompletely cleaned surface);
* ``gourd``: two lobes of unequal size with a waist;
* ``irregular``: lumpy outline with bubbles and particles.

It is rendered as a glossy, tinted, transparent dome: the surface seen through it, a dark rim
where light leaves at a grazing angle, and specular highlights on the side of the light.
Every class can carry stray dust on the surface, and a few circular droplets a bubble, so that
specks alone do not give the class away.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import optics

CLASSES = ("circular", "jagged", "gourd", "irregular")
PAPER_COUNTS = (817, 740, 544, 361)
N_ANGLES = 720


def _radii(cls: int, rng: np.random.Generator) -> np.ndarray:
    """Relative outline r(theta) (mean about 1) for a class."""
    t = np.linspace(0, 2 * np.pi, N_ANGLES, endpoint=False)
    phi = rng.uniform(0, 2 * np.pi)
    r = 1 + rng.uniform(0, 0.07) * np.cos(2 * (t - phi))  # slight ellipticity, any class
    if cls == 0:
        for k in (3, 4, 5):
            r += rng.uniform(0, 0.012) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    elif cls == 1:
        teeth = int(rng.integers(14, 34))
        heights = rng.uniform(0.4, 1.0, teeth)
        saw = (t * teeth / (2 * np.pi)) % 1.0
        r += rng.uniform(0.05, 0.12) * heights[(t * teeth / (2 * np.pi)).astype(int) % teeth] * (np.abs(saw - 0.5) * 2 - 0.5)
        r += rng.uniform(0, 0.03) * np.cos(3 * t + rng.uniform(0, 2 * np.pi))
    elif cls == 2:
        r += rng.uniform(0.3, 0.45) * np.cos(2 * (t - phi)) + rng.uniform(0.08, 0.2) * np.cos(t - phi)
    else:
        for k in range(2, 7):
            r += rng.uniform(0.02, 0.09) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    return np.clip(r, 0.25, None)


def _specks(rng, h, w, where: np.ndarray, n: int, radius: tuple[float, float], value: float, img: np.ndarray):
    """Small dark particles (drawn into ``img`` in place) at random points of ``where``."""
    ys, xs = np.nonzero(where)
    if len(xs) == 0:
        return
    for i in rng.integers(0, len(xs), n):
        r = rng.uniform(*radius)
        cv2.circle(img, (int(xs[i]), int(ys[i])), max(1, int(round(r))), value, -1, lineType=cv2.LINE_AA)


def render(cls: int, seed: int, size: int = 225) -> tuple[np.ndarray, np.ndarray]:
    """One droplet image: uint8 (size, size, 3) and its bool droplet mask."""
    rng = np.random.default_rng(seed)
    h = w = size
    light = rng.uniform(0, 360)

    # Surface: brushed metal of varied brightness and colour temperature.
    level = rng.uniform(0.35, 0.75)
    surface = level * (1 + rng.uniform(0.04, 0.12) * optics.machined_texture(rng, h, w, rng.uniform(5, 25), rng.uniform(0, 180)))

    # Outline with a class-independent area (radius of the equal-area disc: 20-34 % of the image).
    radii = _radii(cls, rng)
    area = 0.5 * np.sum(radii ** 2) * (2 * np.pi / N_ANGLES)
    r_eq = size * rng.uniform(0.20, 0.34)
    radii *= r_eq / np.sqrt(area / np.pi)
    extent = radii.max()
    centre = np.array([w / 2, h / 2]) + rng.uniform(-0.12, 0.12, 2) * size
    centre = np.clip(centre, extent + 2, size - extent - 2) if extent < size / 2 - 2 else np.array([w / 2, h / 2])
    mask = optics.polygon_mask(h, w, optics.radial_polygon(tuple(centre), radii, rng.uniform(0, 2 * np.pi))).astype(bool)
    m = mask.astype(np.float32)

    # Glossy transparent dome: tinted view of the surface, dark grazing rim, highlights.
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    rim = np.exp(-dist / rng.uniform(2.5, 7.0)) * m
    tint = np.array([1.0, rng.uniform(0.88, 0.98), rng.uniform(0.65, 0.85)])  # amber adhesive
    seen = cv2.GaussianBlur(surface, (0, 0), rng.uniform(1.0, 3.0)) * rng.uniform(0.75, 1.0)
    gray = surface * (1 - m) + seen * m
    gray = gray * (1 - rng.uniform(0.45, 0.8) * rim) + 0.12 * optics.bevel_shading(m, light, 3.0) * m
    img = optics.colorize(gray, np.ones(3)) * (1 - m[..., None]) + optics.colorize(gray, tint) * m[..., None]

    lx, ly = np.cos(np.deg2rad(light)), np.sin(np.deg2rad(light))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    for _ in range(rng.integers(1, 3)):
        off = rng.uniform(0.25, 0.5) * r_eq
        hx, hy = cx + lx * off + rng.normal(0, 3), cy + ly * off + rng.normal(0, 3)
        sx, sy = rng.uniform(2, 7), rng.uniform(2, 7)
        spot = np.exp(-(((xx - hx) / sx) ** 2 + ((yy - hy) / sy) ** 2)) * m
        img += rng.uniform(0.4, 0.9) * spot[..., None]
    ring_d = rng.uniform(3, 8)
    facing = np.clip((xx - cx) * lx + (yy - cy) * ly, 0, None) / (r_eq + 1e-6)
    img += (rng.uniform(0.1, 0.35) * np.exp(-((dist - ring_d) / 1.5) ** 2) * facing * m)[..., None]

    # Bubbles and particles: the irregular class's cue, with stray ones elsewhere.
    inner = dist > 4
    n_bubbles = int(rng.integers(2, 9)) if cls == 3 else int(rng.random() < 0.12)
    for _ in range(n_bubbles):
        ys_, xs_ = np.nonzero(inner)
        if len(xs_) == 0:
            break
        i = rng.integers(len(xs_))
        rad = rng.uniform(1.5, 0.12 * r_eq)
        cv2.circle(img, (int(xs_[i]), int(ys_[i])), int(round(rad)), (0.15, 0.13, 0.1), 1, lineType=cv2.LINE_AA)
        cv2.circle(img, (int(xs_[i] - lx * rad / 3), int(ys_[i] - ly * rad / 3)), max(1, int(rad / 4)), (0.9, 0.9, 0.85), -1, lineType=cv2.LINE_AA)
    if cls == 3:
        band = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        _specks(rng, h, w, band, int(rng.integers(3, 13)), (0.8, 2.5), 0.08, img)
    if rng.random() < 0.35:
        _specks(rng, h, w, ~mask, int(rng.integers(1, 8)), (0.6, 2.0), 0.1, img)

    img = img * optics.illumination(rng, h, w, rng.uniform(0.2, 0.8))[..., None] * rng.uniform(0.85, 1.15)
    img = optics.defocus(img, rng.uniform(0.3, 1.2))
    img = optics.sensor_noise(rng, img, shot=rng.uniform(0.0005, 0.003), read=rng.uniform(0.005, 0.02))
    return optics.to_uint8(img), mask
