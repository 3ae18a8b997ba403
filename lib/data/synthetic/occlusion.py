"""Occluding a given fraction of each ground-truth box (xu2024 Fig. 11a).

The paper does not say what its occluder looked like; its Fig. 11a shows the gripper. The default
here is gripper-like: a dark metal jaw with a rounded tip that enters the box from its freest side
at a slight tilt and runs back to the frame edge, as a manipulator's arm does; a flat black patch
and a texture patch (a strip of another machined surface) are the alternatives.

Exactness: every pixel p of the box gets a depth score s(p) (how far the jaw must advance to
cover it). Covering exactly ``round(fraction * box_area)`` pixels means taking that many pixels
with the smallest scores, so the covered share equals the request to within one pixel, whatever
the box size; the same threshold on s extends the jaw outside the box. Coverage is measured on
the result and returned.
"""
from __future__ import annotations

import numpy as np

from . import optics

OCCLUDERS = ("gripper", "black", "texture")


def _check(fraction: float, kind: str) -> None:
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"occlusion fraction must be in [0, 1), got {fraction}")
    if kind not in OCCLUDERS:
        raise ValueError(f"unknown occluder {kind!r}; choose one of: {', '.join(OCCLUDERS)}")


def box_pixels(box, shape: tuple[int, int]) -> tuple[slice, slice]:
    """Pixel region (rows, cols) of a box (x1, y1, x2, y2) in pixels, clipped to the image."""
    h, w = shape
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, x2 = max(0, min(x1, w)), max(0, min(x2, w))
    y1, y2 = max(0, min(y1, h)), max(0, min(y2, h))
    return slice(y1, y2), slice(x1, x2)


def covered_fraction(mask: np.ndarray, box) -> float:
    rows, cols = box_pixels(box, mask.shape)
    region = mask[rows, cols]
    return float(region.mean()) if region.size else 0.0


def _entry_side(box, others: list, shape: tuple[int, int], rng: np.random.Generator) -> int:
    """Side (0 left, 1 top, 2 right, 3 bottom) the jaw comes from: the one facing away from other
    boxes, any side when there are none."""
    if not others:
        return int(rng.integers(4))
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    outward = np.array([[-1, 0], [0, -1], [1, 0], [0, 1]], float)
    score = np.zeros(4)
    for o in others:
        d = np.array([(o[0] + o[2]) / 2 - cx, (o[1] + o[3]) / 2 - cy])
        score += outward @ d / (np.linalg.norm(d) + 1e-6) / (1 + np.linalg.norm(d) / max(shape))
    return int(np.argmin(score))


def occluder_mask(box, fraction: float, shape: tuple[int, int], *, side: int, tilt_deg: float,
                  tip: float, spill: bool) -> np.ndarray:
    """Boolean (H, W) occluder covering exactly ``round(fraction * area)`` pixels of ``box``.

    ``side``: where the occluder enters; ``tilt_deg``: its tilt; ``tip``: depth of the rounded
    tip as a share of the box size along the entry direction (0 = straight edge); ``spill``:
    whether it extends outside the box. A jaw does, back to the frame edge, as the arm of a
    manipulator that reaches into the field of view; a patch does not.
    """
    h, w = shape
    rows, cols = box_pixels(box, shape)
    bh, bw = rows.stop - rows.start, cols.stop - cols.start
    area = bh * bw
    k = int(round(fraction * area))
    out = np.zeros(shape, bool)
    if k == 0 or area == 0:
        return out
    inward = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], float)[side]
    t = np.deg2rad(tilt_deg)
    u = np.array([inward[0] * np.cos(t) - inward[1] * np.sin(t), inward[0] * np.sin(t) + inward[1] * np.cos(t)])
    v = np.array([-u[1], u[0]])
    cx, cy = (cols.start + cols.stop) / 2, (rows.start + rows.stop) / 2
    depth = abs(inward[0]) * bw + abs(inward[1]) * bh  # box size along the entry direction
    half = 0.5 * np.hypot(bw, bh)  # jaw half-width: wide enough to cover the whole box

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    along = (xx - cx) * u[0] + (yy - cy) * u[1]
    lateral = (xx - cx) * v[0] + (yy - cy) * v[1]
    score = along + tip * depth * (lateral / half) ** 2

    inside = score[rows, cols].ravel()
    order = np.argsort(inside, kind="stable")
    chosen = np.zeros(area, bool)
    chosen[order[:k]] = True
    threshold = inside[order[k - 1]]
    if spill:  # outside the box, the same level set: a jaw of finite width that runs back to the frame edge
        out = (score <= threshold) & (np.abs(lateral) <= half)
    out[rows, cols] = chosen.reshape(bh, bw)
    return out


def jaw_mask(box, fraction: float, shape: tuple[int, int], rng: np.random.Generator, others=()) -> np.ndarray:
    """Boolean (H, W) gripper jaw over exactly ``fraction`` of ``box``, entering from the side that
    faces away from the ``others`` boxes, at a random tilt and tip (see :func:`occluder_mask`)."""
    side = _entry_side(box, list(others), shape, rng)
    return occluder_mask(box, fraction, shape, side=side, tilt_deg=rng.uniform(-20, 20), tip=rng.uniform(0.15, 0.35), spill=True)


def render_occluder(img: np.ndarray, mask: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Paint the occluder on a float (H, W, 3) image; returns a new image."""
    h, w = mask.shape
    m = mask.astype(np.float32)
    if kind == "black":
        fill = np.zeros_like(img)
    elif kind == "texture":
        level = rng.uniform(0.25, 0.6)
        tex = level * (1 + 0.12 * optics.machined_texture(rng, h, w, rng.uniform(4, 12), rng.uniform(0, 180)))
        fill = optics.colorize(tex, np.array([1.0, 1.0, 1.0]))
    else:  # gripper: dark polished steel with a specular streak and a lit edge
        level = rng.uniform(0.08, 0.2)
        relief = optics.bevel_shading(m, rng.uniform(0, 360), 2.0)
        sheen = 0.15 * np.clip(optics.smooth_field(rng, h, w, cells=4), 0, None)
        tex = level + sheen + 0.25 * np.clip(relief, 0, None) * m
        fill = optics.colorize(tex, np.array([0.95, 0.97, 1.0]))
        shadow = optics.defocus(m, 3.0)  # a soft shadow around the jaw; coverage counts the jaw only
        img = img * (1 - 0.45 * shadow * (1 - m))[..., None]
    return img * (1 - m[..., None]) + fill * m[..., None]


def occlusion_masks(boxes, fraction: float, shape: tuple[int, int], *, kind: str = "gripper",
                    seed: int = 0) -> list[np.ndarray]:
    """One occluder mask per box, deterministic in ``seed`` (see :func:`occluder_mask`)."""
    _check(fraction, kind)
    rng = np.random.default_rng(seed)
    boxes = [tuple(map(float, b)) for b in boxes]
    regions = []
    for box in boxes:
        region = np.zeros(shape, bool)
        region[box_pixels(box, shape)] = True
        regions.append(region)
    masks = []
    for i, box in enumerate(boxes):
        others = boxes[:i] + boxes[i + 1:]
        if kind == "gripper":
            mask = jaw_mask(box, fraction, shape, rng, others)
        else:
            mask = occluder_mask(box, fraction, shape, side=_entry_side(box, others, shape, rng), tilt_deg=0.0, tip=0.0, spill=False)
        # A jaw stops at other boxes, so that each box's covered share is its own request.
        for j, other in enumerate(regions):
            if j != i:
                mask &= ~(other & ~regions[i])
        masks.append(mask)
    return masks


def occlude(image: np.ndarray, boxes, fraction: float, *, kind: str = "gripper", seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Cover ``fraction`` of every box of a uint8 (H, W, 3) image.

    ``boxes``: (N, 4) pixel boxes (x1, y1, x2, y2). Returns the occluded uint8 image and the
    covered fraction of each box measured on the result (a jaw stops at other boxes, so only
    boxes that overlap each other can end up above their request).
    """
    _check(fraction, kind)
    shape = image.shape[:2]
    masks = occlusion_masks(boxes, fraction, shape, kind=kind, seed=seed)
    union = np.zeros(shape, bool)
    for m in masks:
        union |= m
    rng = np.random.default_rng(seed + 1)
    out = render_occluder(image.astype(np.float32) / 255.0, union, kind, rng) if union.any() else image / 255.0
    measured = np.array([covered_fraction(union, b) for b in boxes])
    return optics.to_uint8(out), measured
