"""Checks a real dataset against the study's layout (see :mod:`lib.datasets`) and reports every
problem with its file, not only the first."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import yaml

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DatasetError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the dataset:\n" + "\n".join(f"  - {p}" for p in problems))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def find_image(folder: Path, stem: str) -> Path | None:
    for suffix in sorted(IMAGE_SUFFIXES):
        if (folder / f"{stem}{suffix}").exists():
            return folder / f"{stem}{suffix}"
    return None


def _decode(path: Path) -> tuple[int, int] | None:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return None if img is None else img.shape[:2]


def detection_names(root: Path) -> list[str]:
    names = yaml.safe_load((root / "data.yaml").read_text())["names"]
    return [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)


def _unexpected(folder: Path, allowed, what: str) -> list[Problem]:
    return [Problem(p, f"unexpected folder; {what} must be one of: {', '.join(allowed)}")
            for p in sorted(folder.iterdir()) if p.is_dir() and p.name not in allowed]


def validate_detection(root: Path, class_names) -> list[Problem]:
    problems: list[Problem] = []
    if not root.is_dir():
        return [Problem(root, "dataset folder missing")]
    yaml_path = root / "data.yaml"
    nc = len(class_names)
    if not yaml_path.exists():
        problems.append(Problem(yaml_path, "missing (needs 'names' with the feature classes)"))
    else:
        try:
            nc = len(detection_names(root))
        except (yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
            problems.append(Problem(yaml_path, f"unreadable or without 'names' ({type(e).__name__})"))
    for sub in ("images", "labels"):
        if (root / sub).is_dir():
            problems += _unexpected(root / sub, SPLITS, "splits")
    for split in SPLITS:
        img_dir, lab_dir = root / "images" / split, root / "labels" / split
        if not img_dir.is_dir():
            problems.append(Problem(img_dir, "split folder missing"))
            continue
        images = _images(img_dir)
        if not images:
            problems.append(Problem(img_dir, "split is empty"))
        stems = {p.stem for p in images}
        for img in images:
            shape = _decode(img)
            if shape is None:
                problems.append(Problem(img, "image cannot be decoded"))
            label = lab_dir / f"{img.stem}.txt"
            if not label.exists():
                problems.append(Problem(label, "label file missing for this image"))
                continue
            for n, line in enumerate(label.read_text().splitlines(), 1):
                if line.strip():
                    problems += [Problem(label, f"line {n}: {m}") for m in _check_label_line(line, nc)]
            mask = root / "masks" / split / f"{img.stem}.png"
            if mask.exists() and shape is not None and _decode(mask) != shape:
                problems.append(Problem(mask, "mask size differs from its image"))
        if lab_dir.is_dir():
            problems += [Problem(p, "label file without an image") for p in sorted(lab_dir.glob("*.txt")) if p.stem not in stems]
    return problems


def _check_label_line(line: str, nc: int) -> list[str]:
    fields = line.split()
    if len(fields) != 5:
        return [f"expected 'class xc yc w h', got {len(fields)} fields"]
    try:
        cls = int(fields[0])
        xc, yc, w, h = map(float, fields[1:])
    except ValueError:
        return ["not numbers (class must be an integer)"]
    out = []
    if not 0 <= cls < nc:
        out.append(f"class id {cls} out of range 0..{nc - 1}")
    if w <= 0 or h <= 0:
        out.append("box has no area")
    eps = 1e-6
    if xc - w / 2 < -eps or yc - h / 2 < -eps or xc + w / 2 > 1 + eps or yc + h / 2 > 1 + eps:
        out.append("box extends outside the image")
    return out


def validate_classification(root: Path, class_names) -> list[Problem]:
    problems: list[Problem] = []
    if not root.is_dir():
        return [Problem(root, "dataset folder missing")]
    problems += _unexpected(root, (*SPLITS, "masks"), "top-level folders")
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            problems.append(Problem(split_dir, "split folder missing"))
            continue
        problems += _unexpected(split_dir, class_names, "class folders")
        count = 0
        for cname in class_names:
            cdir = split_dir / cname
            if not cdir.is_dir():
                problems.append(Problem(cdir, "class folder missing"))
                continue
            for f in sorted(cdir.iterdir()):
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    problems.append(Problem(f, "not an image file"))
                elif _decode(f) is None:
                    problems.append(Problem(f, "image cannot be decoded"))
                else:
                    count += 1
        if count == 0:
            problems.append(Problem(split_dir, "split is empty"))
    return problems


def validate(root: str | Path, kind: str, class_names) -> list[Problem]:
    """Every problem of dataset ``root``; ``kind`` is ``microparts`` (detection) or a classification set."""
    root = Path(root)
    if kind == "microparts":
        return validate_detection(root, class_names)
    return validate_classification(root, class_names)
