"""A small real-layout dataset drawn here, not by the study's generator: what a user's own
photographs look like on disk. No ``masks/`` folders (most real sets have none), and, with
``own_names``, class folders and ``data.yaml`` names of its own (in another order than the
study's), mapped to the study's classes by a ``class_names.yaml`` beside each dataset.

``python tests/handmade.py DIR [--study-names]`` writes one for ``./run_all.sh --data-root DIR``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import yaml

SPLITS = {"train": 8, "val": 4, "test": 4}  # images per split (detection) or per class and split
# the set's own names -> the study's classes
DETECTION_NAMES = {"slot": "rectangular", "half-disc": "semicircular", "bump": "raised"}
DROPLET_NAMES = {"round": "circular", "serrated": "jagged", "gourd": "gourd", "irregular": "irregular"}
SURFACE_NAMES = {"ok": "clean", "dirty": "contaminated"}


def _background(rng, h, w) -> np.ndarray:
    """Uneven grey illumination with sensor noise."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = 110 + 40 * np.cos(xx / w * np.pi * rng.uniform(0.5, 1.5)) * np.sin(yy / h * np.pi)
    img = base[..., None] + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_feature(img, kind: str, box) -> None:
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    if kind == "rectangular":
        cv2.rectangle(img, (x1, y1), (x2, y2), (35, 35, 40), -1)
    elif kind == "semicircular":
        cv2.ellipse(img, (cx, y2), ((x2 - x1) // 2, y2 - y1), 0, 180, 360, (225, 220, 210), -1)
    else:  # raised: a bright boss with a shadow on one side
        cv2.rectangle(img, (x1 + 2, y1 + 2), (x2 + 2, y2 + 2), (60, 60, 60), -1)
        cv2.rectangle(img, (x1, y1), (x2, y2), (200, 205, 215), -1)


def write_detection(root: Path, rng, own_names: bool, size=(160, 120)) -> None:
    w, h = size
    names = list(DETECTION_NAMES) if own_names else list(DETECTION_NAMES.values())
    classes = list(DETECTION_NAMES.values())  # the study's class of each of the set's ids
    for split, n in SPLITS.items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = _background(rng, h, w)
            lines = []
            for cid, cx in zip(rng.permutation(3), (w // 6, w // 2, 5 * w // 6)):
                bw, bh = rng.integers(18, 30), rng.integers(14, 24)
                x1, y1 = int(cx - bw // 2), int(rng.integers(8, h - bh - 8))
                box = (x1, y1, x1 + int(bw), y1 + int(bh))
                _draw_feature(img, classes[cid], box)
                lines.append(f"{cid} {(box[0] + box[2]) / 2 / w:.6f} {(box[1] + box[3]) / 2 / h:.6f} {bw / w:.6f} {bh / h:.6f}")
            cv2.imwrite(str(root / "images" / split / f"part{i:03d}.jpg"), img)
            (root / "labels" / split / f"part{i:03d}.txt").write_text("\n".join(lines) + "\n")
    data = {"train": "images/train", "val": "images/val", "test": "images/test", "nc": 3, "names": dict(enumerate(names))}
    (root / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    if own_names:
        (root / "class_names.yaml").write_text(yaml.safe_dump(DETECTION_NAMES, sort_keys=False))


def _droplet(img, cls: str, rng) -> None:
    s = img.shape[0]
    c = np.array([s / 2, s / 2]) + rng.normal(0, 3, 2)
    r = s * rng.uniform(0.22, 0.3)
    colour = (70, 80, 95)
    if cls == "circular":
        cv2.circle(img, tuple(int(v) for v in c), int(r), colour, -1)
        return
    if cls == "gourd":
        for sign in (-1, 1):
            cv2.circle(img, (int(c[0]), int(c[1] + sign * r * 0.55)), int(r * (0.75 if sign < 0 else 0.6)), colour, -1)
        return
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    if cls == "jagged":
        radius = r * (1 + 0.25 * (np.arange(48) % 2))
    else:  # irregular: a lumpy blob
        radius = r * (1 + 0.3 * np.sin(3 * t + rng.uniform(0, 6)) * rng.uniform(0.5, 1, 48))
    pts = np.stack([c[0] + radius * np.cos(t), c[1] + radius * np.sin(t)], 1).astype(np.int32)
    cv2.fillPoly(img, [pts], colour)


def _surface(img, cls: str, rng) -> None:
    s = img.shape[0]
    for _ in range(4):  # machining marks on every surface
        y = int(rng.integers(0, s))
        cv2.line(img, (0, y), (s, y + int(rng.integers(-5, 5))), (150, 150, 150), 1)
    if cls == "contaminated":
        for _ in range(int(rng.integers(2, 5))):
            cv2.circle(img, tuple(int(v) for v in rng.integers(10, s - 10, 2)), int(rng.integers(3, 7)), (20, 20, 20), -1)


def write_classification(root: Path, names: dict[str, str], draw, rng, own_names: bool, size: int = 96) -> None:
    for split, n in SPLITS.items():
        for own, study in names.items():
            folder = root / split / (own if own_names else study)
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n // 2):
                img = _background(rng, size, size)
                draw(img, study, rng)
                cv2.imwrite(str(folder / f"{own}{i:03d}.png"), img)
    if own_names:
        (root / "class_names.yaml").write_text(yaml.safe_dump(names, sort_keys=False))


def write(root: str | Path, own_names: bool = True, seed: int = 0) -> Path:
    """``root/{microparts,droplets,surfaces}`` in the study's layout, without masks."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    write_detection(root / "microparts", rng, own_names)
    write_classification(root / "droplets", DROPLET_NAMES, _droplet, rng, own_names)
    write_classification(root / "surfaces", SURFACE_NAMES, _surface, rng, own_names)
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root")
    parser.add_argument("--study-names", action="store_true", help="name classes as the study does (no class_names.yaml)")
    args = parser.parse_args()
    print(write(args.root, own_names=not args.study_names))
