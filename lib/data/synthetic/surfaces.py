"""Micropart surfaces, clean or contaminated (xu2024 §3.2, Fig. 7).

Both classes show the same machined surface with the same benign structure (part edges, drilled
holes, machining scratches), so dark or bright pixels alone do not mean dirt. Contaminated
surfaces add one to four contaminants of four kinds, whose union is the contamination mask:

* stain: a lobed blotch of dried residue with a darker rim;
* black spot: a small, ragged, matte and nearly black blot (a hole is larger, round and bevelled);
* smudge: a smear drawn out along one direction;
* particles: a cluster of dark specks.

Contaminants lie on the part's face, never on the dark background beyond a part edge (where an
operator could not see them either), are sized to stay visible at the classifiers' input size
(128 px in ``quick``) and take the surface's own hue, so that neither colour nor a grey-level
histogram gives the class away (notebook 01's difficulty check): a classifier has to find them,
as an operator does.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import optics

CLASSES = ("clean", "contaminated")
PAPER_COUNTS = (631, 655)
KINDS = ("stain", "black_spot", "smudge", "particles")


def _benign_structure(rng, h, w, gray, light):
    """Edges, holes and scratches that any surface may show. Returns the grey image and the part's
    face (1 on the part, 0 beyond a part edge, on the dark background where dirt cannot be seen)."""
    face = np.ones((h, w), np.float32)
    if rng.random() < 0.4:  # a part edge with a bevel
        ang = rng.uniform(0, np.pi)
        off = rng.uniform(-0.4, 0.4) * w
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        side = ((xx - w / 2) * np.cos(ang) + (yy - h / 2) * np.sin(ang) > off).astype(np.float32)
        gray = gray * (1 - side) + rng.uniform(0.08, 0.25) * side + 0.15 * optics.bevel_shading(1 - side, light, 1.5)
        face = 1 - side
    if rng.random() < 0.3:  # a drilled hole
        hole = np.zeros((h, w), np.float32)
        cv2.circle(hole, (int(rng.uniform(0.15, 0.85) * w), int(rng.uniform(0.15, 0.85) * h)), int(rng.uniform(10, 22)), 1.0, -1, cv2.LINE_AA)
        gray = gray * (1 - hole) + rng.uniform(0.05, 0.2) * hole - 0.15 * optics.bevel_shading(hole, light, 1.5)
    for _ in range(rng.integers(0, 4)):  # machining scratches
        p0 = rng.uniform(0, 1, 2) * [w, h]
        d = rng.uniform(20, 120) * np.array([np.cos(a := rng.uniform(0, np.pi)), np.sin(a)])
        scratch = np.zeros((h, w), np.float32)
        cv2.line(scratch, tuple(map(int, p0)), tuple(map(int, p0 + d)), 1.0, 1, cv2.LINE_AA)
        gray = gray + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15) * scratch
    return gray, face


def _centre_on(face: np.ndarray, rng) -> np.ndarray:
    """A contaminant's centre (x, y), uniform over the part's face away from the image border."""
    h, w = face.shape
    while True:  # the face covers at least a tenth of the image, so this ends quickly
        c = rng.uniform(0.12, 0.88, 2) * [w, h]
        if face[int(c[1]), int(c[0])] > 0:
            return c


def _contaminant(kind: str, rng, c, h, w) -> tuple[np.ndarray, float]:
    """(alpha map in [0, 1], darkness) of one contaminant centred at c, sized to stay visible when
    the image is shrunk to the classifier's input (a black spot is at least 3 px across at 128 px)."""
    alpha = np.zeros((h, w), np.float32)
    if kind == "stain":  # dried residue: a tinted blotch whose rim is darker (the coffee-ring edge)
        r = rng.uniform(12, 32)
        theta = np.linspace(0, 2 * np.pi, 48, endpoint=False)  # a lobed outline, never a disc like a hole
        radii = r * (1 + sum(rng.uniform(0.08, 0.2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)))
        blotch = optics.polygon_mask(h, w, optics.radial_polygon(tuple(c), radii)).astype(np.float32)
        rim = blotch - cv2.erode(blotch, np.ones((5, 5), np.uint8))
        alpha = cv2.GaussianBlur(np.maximum(blotch * rng.uniform(0.45, 0.7), rim * 0.95), (0, 0), rng.uniform(0.8, 1.6))
        return alpha, rng.uniform(0.55, 0.8)
    if kind == "black_spot":  # matte, ragged and nearly black; unlike a drilled hole, no bevel
        r = rng.uniform(4, 9)
        radii = np.clip(r * (1 + rng.normal(0, 0.18, 16)), r / 2, None)
        alpha = optics.polygon_mask(h, w, optics.radial_polygon(tuple(c), radii, rng.uniform(0, 2 * np.pi)))
        return cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), 0.7), rng.uniform(0.85, 0.97)
    if kind == "smudge":  # a smear drawn out along one direction
        ang = rng.uniform(0, 180)
        cv2.ellipse(alpha, tuple(map(int, c)), (int(rng.uniform(18, 45)), int(rng.uniform(4, 10))), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
        return cv2.GaussianBlur(alpha, (0, 0), rng.uniform(1.5, 3)) * rng.uniform(0.5, 0.75), rng.uniform(0.5, 0.7)
    for _ in range(rng.integers(6, 20)):  # particles: a cluster of dark specks
        p = c + rng.normal(0, rng.uniform(5, 14), 2)
        cv2.circle(alpha, tuple(map(int, p)), int(rng.uniform(1.5, 3.5)), 1.0, -1, cv2.LINE_AA)
    return alpha * rng.uniform(0.75, 0.95), rng.uniform(0.7, 0.9)


def render(cls: int, seed: int, size: int = 225) -> tuple[np.ndarray, np.ndarray | None]:
    """One surface image: uint8 (size, size, 3) and the bool contamination mask (None when clean)."""
    rng = np.random.default_rng(seed)
    h = w = size
    light = rng.uniform(0, 360)
    level = rng.uniform(0.4, 0.75)
    gray = level * (1 + rng.uniform(0.05, 0.14) * optics.machined_texture(rng, h, w, rng.uniform(5, 30), rng.uniform(0, 180)))
    gray, face = _benign_structure(rng, h, w, gray, light)
    tint = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.04, 0.04, 3)
    img = optics.colorize(gray, tint)

    mask = None
    if cls == 1:
        total = np.zeros((h, w), np.float32)
        for _ in range(rng.integers(1, 5)):
            kind = KINDS[rng.integers(len(KINDS))]
            alpha, dark = _contaminant(kind, rng, _centre_on(face, rng), h, w)
            alpha = alpha * face  # what reaches beyond the part's edge would lie unseen on the background
            colour = 0.3 * tint * rng.uniform(0.3, 1.2)  # dark residue in the surface's hue: colour is no cue
            img = img * (1 - (alpha * dark)[..., None]) + (alpha * dark)[..., None] * colour * level
            total = np.maximum(total, alpha)
        mask = total > 0.1

    img = img * optics.illumination(rng, h, w, rng.uniform(0.2, 0.8))[..., None] * rng.uniform(0.85, 1.15)
    img = optics.defocus(img, rng.uniform(0.3, 1.0))
    img = optics.sensor_noise(rng, img, shot=rng.uniform(0.0005, 0.003), read=rng.uniform(0.005, 0.02))
    return optics.to_uint8(img), mask
