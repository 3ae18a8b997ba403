"""Micropart surfaces, clean or contaminated (xu2024 §3.2, Fig. 7).

Both classes show the same machined surface with the same benign structure (part edges, holes,
machining scratches), so dark or bright pixels alone do not mean dirt. Contaminated surfaces add
one to four contaminants of four kinds, whose union is the contamination mask:

* stain: a soft, tinted, irregular blotch;
* black spot: a small, nearly black disc;
* smudge: an elongated faint smear;
* particles: a cluster of tiny specks with a bright side.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import optics

CLASSES = ("clean", "contaminated")
PAPER_COUNTS = (631, 655)
KINDS = ("stain", "black_spot", "smudge", "particles")


def _benign_structure(rng, h, w, gray, light):
    """Edges, holes and scratches that any surface may show."""
    if rng.random() < 0.4:  # a part edge with a bevel
        ang = rng.uniform(0, np.pi)
        off = rng.uniform(-0.4, 0.4) * w
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        side = ((xx - w / 2) * np.cos(ang) + (yy - h / 2) * np.sin(ang) > off).astype(np.float32)
        gray = gray * (1 - side) + rng.uniform(0.08, 0.25) * side + 0.15 * optics.bevel_shading(1 - side, light, 1.5)
    if rng.random() < 0.3:  # a drilled hole
        hole = np.zeros((h, w), np.float32)
        cv2.circle(hole, (int(rng.uniform(0.15, 0.85) * w), int(rng.uniform(0.15, 0.85) * h)), int(rng.uniform(6, 22)), 1.0, -1, cv2.LINE_AA)
        gray = gray * (1 - hole) + rng.uniform(0.05, 0.2) * hole - 0.15 * optics.bevel_shading(hole, light, 1.5)
    for _ in range(rng.integers(0, 4)):  # machining scratches
        p0 = rng.uniform(0, 1, 2) * [w, h]
        d = rng.uniform(20, 120) * np.array([np.cos(a := rng.uniform(0, np.pi)), np.sin(a)])
        scratch = np.zeros((h, w), np.float32)
        cv2.line(scratch, tuple(map(int, p0)), tuple(map(int, p0 + d)), 1.0, 1, cv2.LINE_AA)
        gray = gray + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15) * scratch
    return gray


def _contaminant(kind: str, rng, h, w) -> tuple[np.ndarray, float]:
    """(alpha map in [0, 1], darkness) of one contaminant."""
    alpha = np.zeros((h, w), np.float32)
    c = rng.uniform(0.1, 0.9, 2) * [w, h]
    if kind == "stain":
        r = rng.uniform(8, 30)
        radii = r * (1 + 0.25 * np.cumsum(rng.normal(0, 0.15, 48)) / 4)
        alpha = optics.polygon_mask(h, w, optics.radial_polygon(tuple(c), np.clip(radii, r / 3, None))).astype(np.float32)
        alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(1.5, 4)) * rng.uniform(0.25, 0.6)
        return alpha, rng.uniform(0.3, 0.6)
    if kind == "black_spot":
        cv2.circle(alpha, tuple(map(int, c)), int(rng.uniform(2, 6)), 1.0, -1, cv2.LINE_AA)
        return cv2.GaussianBlur(alpha, (0, 0), 0.8) * rng.uniform(0.6, 0.95), rng.uniform(0.75, 0.95)
    if kind == "smudge":
        ang = rng.uniform(0, 180)
        cv2.ellipse(alpha, tuple(map(int, c)), (int(rng.uniform(15, 45)), int(rng.uniform(3, 9))), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
        return cv2.GaussianBlur(alpha, (0, 0), rng.uniform(2, 5)) * rng.uniform(0.2, 0.45), rng.uniform(0.25, 0.5)
    for _ in range(rng.integers(3, 15)):  # particles
        p = c + rng.normal(0, rng.uniform(4, 15), 2)
        cv2.circle(alpha, tuple(map(int, p)), int(rng.uniform(1, 3)), 1.0, -1, cv2.LINE_AA)
    return alpha * rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.85)


def render(cls: int, seed: int, size: int = 225) -> tuple[np.ndarray, np.ndarray | None]:
    """One surface image: uint8 (size, size, 3) and the bool contamination mask (None when clean)."""
    rng = np.random.default_rng(seed)
    h = w = size
    light = rng.uniform(0, 360)
    level = rng.uniform(0.4, 0.75)
    gray = level * (1 + rng.uniform(0.05, 0.14) * optics.machined_texture(rng, h, w, rng.uniform(5, 30), rng.uniform(0, 180)))
    gray = _benign_structure(rng, h, w, gray, light)
    img = optics.colorize(gray, np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.04, 0.04, 3))

    mask = None
    if cls == 1:
        total = np.zeros((h, w), np.float32)
        for _ in range(rng.integers(1, 5)):
            kind = KINDS[rng.integers(len(KINDS))]
            alpha, dark = _contaminant(kind, rng, h, w)
            colour = np.array([0.35, 0.3, 0.22]) * rng.uniform(0.3, 1.2)  # brownish residue
            img = img * (1 - (alpha * dark)[..., None]) + (alpha * dark)[..., None] * colour * level
            total = np.maximum(total, alpha)
        mask = total > 0.1

    img = img * optics.illumination(rng, h, w, rng.uniform(0.2, 0.8))[..., None] * rng.uniform(0.85, 1.15)
    img = optics.defocus(img, rng.uniform(0.3, 1.0))
    img = optics.sensor_noise(rng, img, shot=rng.uniform(0.0005, 0.003), read=rng.uniform(0.005, 0.02))
    return optics.to_uint8(img), mask
