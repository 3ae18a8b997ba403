"""Microscope images of MEMS microparts with the three feature classes of xu2024 (§3.2, Fig. 5).

A scene is a machined metal part on an out-of-focus substrate, lit from one side, carrying one
to three features:

* ``semicircular``: a half-disc recess (darker, its rim lit on one side and shaded on the other);
* ``raised``: a raised rounded pad (brighter, smoother top, lit edge and a cast shadow);
* ``rectangular``: a rectangular slot (dark interior, one lit inner wall).

Each feature's full (amodal) pixel mask is kept; its label box is the tight bound of that mask.
About 30 % of scenes also show a gripper jaw covering part of one feature (see
:mod:`.occlusion`); every feature's covered fraction is measured on the jaw's mask.

The occlusion in the training images is the generator setting ``GRIPPER_SHARE`` and
``GRIPPER_COVER``. xu2024 §3.2 says that about 30 % of its images show features partly occluded
by the manipulator, to varying degrees, and gives no distribution of the covered fraction. The
default draws it uniformly from 10 % to 80 %: "varying degrees" without a preferred one, over a
range that holds every rate the occlusion study tests (up to 70 %), so that no test rate lies
outside what training showed.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import optics
from .occlusion import covered_fraction, jaw_mask, render_occluder

CLASSES = ("semicircular", "raised", "rectangular")
GRIPPER_SHARE = 0.30  # share of scenes with the gripper over part of a feature (xu2024 §3.2)
GRIPPER_COVER = (0.1, 0.8)  # the covered fraction of that feature's box, drawn uniformly


@dataclass
class Feature:
    cls: int
    mask: np.ndarray  # (H, W) bool, the whole feature including any occluded part
    box: tuple[int, int, int, int]  # tight mask bounds, x2/y2 exclusive
    occluded: float = 0.0  # share of the box covered by the gripper


def _outline(cls: int, rng: np.random.Generator, size: float) -> np.ndarray:
    """Feature outline centred on (0, 0) as (N, 2) points, unrotated."""
    if cls == 0:  # half disc, flat side on the x axis
        t = np.linspace(0, np.pi, 64)
        r = size / 2
        return np.stack([r * np.cos(t), -r * np.sin(t) + r / 3], axis=1)
    # rounded (raised) or sharp (slot) rectangle
    aspect = rng.uniform(1.4, 2.8) if cls == 1 else rng.uniform(1.0, 2.2)
    a, b = size / 2, size / 2 / aspect
    rad = min(a, b) * (rng.uniform(0.35, 0.8) if cls == 1 else rng.uniform(0.0, 0.12))
    pts = []
    for cx, cy, start in ((a - rad, b - rad, 0), (-a + rad, b - rad, 90), (-a + rad, -b + rad, 180), (a - rad, -b + rad, 270)):
        t = np.deg2rad(np.linspace(start, start + 90, 8))
        pts.append(np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], axis=1))
    return np.concatenate(pts)


def _place(rng, h, w, outline, taken: np.ndarray, part: np.ndarray):
    """Rotate and move ``outline`` to a free spot on the part; None if no spot was found."""
    for _ in range(40):
        ang = rng.uniform(0, 2 * np.pi)
        rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        pts = outline @ rot.T
        lo, hi = pts.min(0), pts.max(0)
        if np.any(hi - lo >= [w - 8, h - 8]):
            continue
        c = rng.uniform([4 - lo[0], 4 - lo[1]], [w - 4 - hi[0], h - 4 - hi[1]])
        mask = optics.polygon_mask(h, w, pts + c).astype(bool)
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        if mask.sum() > 30 and not (grown & taken).any() and part[mask].mean() > 0.97:
            return mask
    return None


def render(seed: int, width: int, height: int) -> tuple[np.ndarray, list[Feature]]:
    """One scene: uint8 (H, W, 3) image and its features."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    light = rng.uniform(0, 360)

    # Substrate, out of focus, and the part: a large rotated plate whose edge may be in view.
    substrate = 0.15 + 0.05 * optics.smooth_field(rng, h, w, 3)
    ang = rng.uniform(-25, 25)
    half = np.array([w * rng.uniform(0.55, 0.9), h * rng.uniform(0.6, 1.0)])
    centre = np.array([w / 2, h / 2]) + rng.uniform(-0.25, 0.25, 2) * [w, h]
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    rot = np.array([[np.cos(np.deg2rad(ang)), -np.sin(np.deg2rad(ang))], [np.sin(np.deg2rad(ang)), np.cos(np.deg2rad(ang))]])
    part = optics.polygon_mask(h, w, corners @ rot.T + centre).astype(np.float32)
    base = rng.uniform(0.4, 0.72)
    metal = base * (1 + rng.uniform(0.05, 0.14) * optics.machined_texture(rng, h, w, rng.uniform(6, 30), rng.uniform(0, 180)))
    gray = substrate * (1 - part) + metal * part + 0.18 * optics.bevel_shading(part, light, 1.5)

    # Features.
    feats: list[Feature] = []
    taken = np.zeros((h, w), bool)
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.integers(0, 3))
        size = min(h, w) * rng.uniform(0.18, 0.42)
        mask = _place(rng, h, w, _outline(cls, rng, size), taken, part)
        if mask is None:
            continue
        taken |= mask
        m = mask.astype(np.float32)
        relief = optics.bevel_shading(m, light, rng.uniform(0.8, 1.8))
        if cls == 0:  # recess: darker floor, rim shaded inversely to a bump
            floor = rng.uniform(0.55, 0.8)
            gray = gray * (1 - m * (1 - floor)) - 0.22 * relief
        elif cls == 1:  # raised pad: brighter, smoother top, lit edge and a cast shadow
            top = base * rng.uniform(1.1, 1.35) * (1 + 0.03 * optics.smooth_field(rng, h, w, 6))
            dx, dy = -np.cos(np.deg2rad(light)) * 3, -np.sin(np.deg2rad(light)) * 3
            shadow = cv2.warpAffine(m, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h))
            gray = gray * (1 - 0.35 * shadow * (1 - m)) * (1 - m) + top * m + 0.3 * relief
        else:  # slot: dark interior with one lit inner wall
            floor = rng.uniform(0.12, 0.35)
            wall = np.clip(-optics.bevel_shading(m, light, 2.5), 0, None) * m
            gray = gray * (1 - m) + floor * m + 0.35 * wall - 0.1 * relief
        feats.append(Feature(cls, mask, optics.mask_box(mask)))

    # Stains on the part, which are not features.
    if rng.random() < 0.3:
        stain = np.clip(optics.smooth_field(rng, h, w, 5) - rng.uniform(1.0, 1.8), 0, None)
        gray = gray * (1 - rng.uniform(0.2, 0.5) * np.clip(stain, 0, 1) * part)

    tint = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.05, 0.05, 3)
    img = optics.colorize(gray, tint)

    # The gripper, before the optics: it is part of the scene.
    if feats and rng.random() < GRIPPER_SHARE:
        target = feats[int(rng.integers(len(feats)))]
        jaw = jaw_mask(target.box, rng.uniform(*GRIPPER_COVER), (h, w), rng, [f.box for f in feats if f is not target])
        img = render_occluder(img, jaw, "gripper", rng)
        for f in feats:
            f.occluded = covered_fraction(jaw, f.box)

    contrast = rng.uniform(0.75, 1.2)
    img = (img - img.mean()) * contrast + img.mean()
    img = img * optics.illumination(rng, h, w, rng.uniform(0.3, 1.0))[..., None]
    img = optics.defocus(img, rng.uniform(0.3, 1.3) * min(h, w) / 214)
    img = optics.sensor_noise(rng, img, shot=rng.uniform(0.0005, 0.003), read=rng.uniform(0.005, 0.02))
    return optics.to_uint8(img), feats
