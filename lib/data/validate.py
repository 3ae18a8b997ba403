"""Checks a real dataset against the study's layout (:mod:`.read`), its ``class_names.yaml``
included, and reports every problem with its file, not only the first."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .read import (CLASS_MAP, CLASS_NAMES, IMAGE_SUFFIXES, SPLITS, class_folders, decoded_shape, detection_names,
                   raw_detection_names)


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


def _class_map_problems(root: Path, study_classes, own_names) -> list[Problem]:
    """What is wrong with ``class_names.yaml``, given the names the dataset uses."""
    path = root / CLASS_MAP
    if not path.is_file():
        return []
    try:
        mapping = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        return [Problem(path, f"not valid YAML ({type(e).__name__})")]
    if not isinstance(mapping, dict) or not mapping:
        return [Problem(path, "must map each of the dataset's own class names to a study class, e.g. 'serrated: jagged'")]
    out = []
    for own, study in mapping.items():
        if str(study) not in study_classes:
            out.append(Problem(path, f"'{own}: {study}': {study!r} is not a study class ({', '.join(study_classes)})"))
        if str(own) not in own_names:
            out.append(Problem(path, f"'{own}: {study}': the dataset has no class named {own!r}"))
    targets = [str(v) for v in mapping.values()]
    out += [Problem(path, f"two names are mapped to {t!r}") for t in sorted({t for t in targets if targets.count(t) > 1})]
    return out


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
            own = raw_detection_names(root)
        except (yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
            problems.append(Problem(yaml_path, f"unreadable or without 'names' ({type(e).__name__})"))
        else:
            nc = len(own)
            map_problems = _class_map_problems(root, class_names, own)
            problems += map_problems
            if not map_problems and sorted(detection_names(root)) != sorted(class_names):
                problems.append(Problem(yaml_path, f"names {own} are not the study's classes ({', '.join(class_names)}); "
                                                   f"map them in {CLASS_MAP}, one 'own name: study class' line each"))
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
            shape = decoded_shape(img)
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
            if mask.exists() and shape is not None and decoded_shape(mask) != shape:
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
    own_names = {p.name for s in SPLITS if (root / s).is_dir() for p in (root / s).iterdir() if p.is_dir()}
    map_problems = _class_map_problems(root, class_names, own_names)
    problems += map_problems
    folders = list(class_names if map_problems else class_folders(root, class_names).values())
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            problems.append(Problem(split_dir, "split folder missing"))
            continue
        problems += _unexpected(split_dir, folders, f"class folders (other names can be mapped in {CLASS_MAP})")
        count = 0
        for cname in folders:
            cdir = split_dir / cname
            if not cdir.is_dir():
                problems.append(Problem(cdir, "class folder missing"))
                continue
            for f in sorted(cdir.iterdir()):
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    problems.append(Problem(f, "not an image file"))
                elif decoded_shape(f) is None:
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


def layout_report(folders: dict[str, Path]) -> str:
    """Each dataset's count of layout problems, with the first ten of each listed."""
    lines = []
    for name, folder in folders.items():
        found = validate(folder, name, CLASS_NAMES[name])
        lines += [f"{name}: {len(found)} layout problem(s)", *[f"  - {p}" for p in found[:10]]]
    return "\n".join(lines)
