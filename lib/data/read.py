"""The study's dataset layout and how it is read, the same for generated and real data.

Layouts (so that ``--data-root`` can point at either):

* ``microparts/`` (detection, ultralytics YOLO layout): ``data.yaml``; ``images/<split>/*.png``;
  ``labels/<split>/*.txt`` (``class xc yc w h``, normalised); optional ``masks/<split>/<stem>.png``
  (0 = background, i = the i-th label line's feature); ``objects.csv`` (one row per feature).
* ``droplets/`` and ``surfaces/`` (torchvision ImageFolder): ``<split>/<class>/*.png``; optional
  ``masks/<split>/<class>/<stem>.png`` (droplet / contamination mask); ``images.csv``.

Splits are ``train``, ``val``, ``test``. A real dataset may name its classes in its own way
(class folders, ``data.yaml`` names). A ``class_names.yaml`` in the dataset's folder maps them to
the study's classes without renaming a file, one ``own name: study class`` line per name that
differs, e.g. ``serrated: jagged``. The readers below apply it, so the rest of the study sees
only the study's class names.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
import yaml
from torchvision.ops import box_convert

from .synthetic import droplets, microparts, surfaces

SPLITS = ("train", "val", "test")
DATASETS = ("microparts", "droplets", "surfaces")
CLASS_NAMES = {"microparts": microparts.CLASSES, "droplets": droplets.CLASSES, "surfaces": surfaces.CLASSES}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
CLASS_MAP = "class_names.yaml"


def find_image(folder: Path, stem: str) -> Path | None:
    for suffix in sorted(IMAGE_SUFFIXES):
        if (folder / f"{stem}{suffix}").exists():
            return folder / f"{stem}{suffix}"
    return None


READ_MODES = {"unchanged": cv2.IMREAD_UNCHANGED, "rgb": cv2.IMREAD_COLOR, "grey": cv2.IMREAD_GRAYSCALE}


def read_image(path: Path, mode: str = "unchanged") -> np.ndarray | None:
    """The one place the study reads an image file: ``mode`` "rgb" (converted from OpenCV's BGR),
    "grey", or "unchanged" (masks and label images as stored). None when the file cannot be
    decoded; OpenCV's own complaint on a broken file is silenced, since the caller's report says it."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        img = cv2.imread(str(path), READ_MODES[mode])
    finally:
        cv2.utils.logging.setLogLevel(level)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img is not None and mode == "rgb" else img


def decoded_shape(path: Path) -> tuple[int, int] | None:
    """Height and width of an image file, or None when it cannot be decoded."""
    img = read_image(path)
    return None if img is None else img.shape[:2]


def load_rgb(path: Path) -> np.ndarray:
    """An image as RGB uint8 (H, W, 3); an undecodable file is an error."""
    img = read_image(path, "rgb")
    if img is None:
        raise OSError(f"cannot decode image {path}")
    return img


def load_mask(folder: Path, file: str) -> np.ndarray | None:
    """The object mask of a classification image (``masks/<split>/<class>/<stem>.png``) as bool,
    or None when the image has none (a clean surface, or real data without masks)."""
    path = Path(folder) / "masks" / Path(file).with_suffix(".png")
    if not path.exists():
        return None
    mask = read_image(path, "grey")
    if mask is None:
        raise OSError(f"cannot decode mask {path}")
    return mask > 127


def class_map(root: Path) -> dict[str, str]:
    """The dataset's own class names mapped to the study's (``class_names.yaml``; empty when absent)."""
    path = Path(root) / CLASS_MAP
    return {str(k): str(v) for k, v in yaml.safe_load(path.read_text()).items()} if path.is_file() else {}


def class_folders(root: Path, study_classes) -> dict[str, str]:
    """The folder that holds each study class (its own name, or the name mapped to it)."""
    folders = {study: own for own, study in class_map(root).items()}
    return {c: folders.get(c, c) for c in study_classes}


def raw_detection_names(root: Path) -> list[str]:
    """The class names of ``data.yaml`` in class-id order, as the dataset writes them."""
    names = yaml.safe_load((root / "data.yaml").read_text())["names"]
    return [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)


def detection_names(root: Path) -> list[str]:
    """The study's class name of each class id (``data.yaml``'s names through ``class_names.yaml``).
    Class ids keep the dataset's own order, so its label files stay as they are."""
    mapping = class_map(root)
    return [mapping.get(n, n) for n in raw_detection_names(root)]


def detection_objects(folder: Path) -> pd.DataFrame:
    """One row per labelled feature: split, image, class, pixel box, occluded fraction (if known)."""
    if (folder / "objects.csv").exists():
        return _with_size_share(pd.read_csv(folder / "objects.csv"))
    names = detection_names(folder)
    rows = []
    for split in SPLITS:
        for label in sorted((folder / "labels" / split).glob("*.txt")):
            image = find_image(folder / "images" / split, label.stem)
            h, w = decoded_shape(image)
            lines = [(i, line.split()) for i, line in enumerate(label.read_text().split("\n")) if line.strip()]
            if not lines:
                continue
            # normalised (xc, yc, w, h) in pixels, then corners; float64, as the labels are written
            cxcywh = torch.tensor([[float(v) for v in f[1:]] for _, f in lines], dtype=torch.float64) * torch.tensor([w, h, w, h], dtype=torch.float64)
            for (i, f), (x1, y1, x2, y2), (bw, bh) in zip(lines, box_convert(cxcywh, "cxcywh", "xyxy").tolist(), cxcywh[:, 2:].tolist()):
                rows.append({"split": split, "image": label.stem, "object": i, "class_id": int(f[0]), "class": names[int(f[0])],
                             "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                             "image_w": w, "image_h": h, "box_area_px": bw * bh, "occluded_fraction": np.nan})
    return _with_size_share(pd.DataFrame(rows))


def _with_size_share(objects: pd.DataFrame) -> pd.DataFrame:
    """Add ``box_side_share``: sqrt(box area / image area), a resolution-free object size."""
    return objects.assign(box_side_share=np.sqrt(objects.box_area_px / (objects.image_w * objects.image_h)))


def classification_images(folder: Path, name: str) -> pd.DataFrame:
    """One row per image: split, class, file (relative to ``folder``)."""
    if (folder / "images.csv").exists():
        return pd.read_csv(folder / "images.csv")
    folders = class_folders(folder, CLASS_NAMES[name])  # a real set may name them its own way
    rows = [{"split": s, "class": c, "file": str(p.relative_to(folder))}
            for s in SPLITS for c in CLASS_NAMES[name] for p in sorted((folder / s / folders[c]).glob("*"))
            if p.suffix.lower() in IMAGE_SUFFIXES]
    return pd.DataFrame(rows)
