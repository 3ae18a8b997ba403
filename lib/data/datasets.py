"""The study's three datasets: generating the synthetic ones in the layout of :mod:`.read`
(cached), or checking real ones.

Every image has its own seed, derived from the study seed, so the bytes written do not depend
on the number of worker processes. A generated set is a cached artifact keyed by its
configuration and the code of this module and of the generators (:mod:`.synthetic`).
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from ..study.cache import atomic_path, atomic_write_text, cached_artifact, lib_modules
from ..study.profiles import DataSpec
from ..study.seeding import derive_seed
from . import validate
from .read import CLASS_NAMES, DATASETS, SPLITS
from .synthetic import droplets, microparts, surfaces

PAPER_COUNTS = {
    "microparts": {"train": 1123, "val": 230, "test": 185},
    "droplets": dict(zip(droplets.CLASSES, droplets.PAPER_COUNTS)),
    "surfaces": dict(zip(surfaces.CLASSES, surfaces.PAPER_COUNTS)),
}


def generator_code(name: str) -> list[Path]:
    """The files whose code keys the dataset ``name``: its generator and the modules that one
    imports, so that editing one set's generator rebuilds that set only (and what was trained on
    it), not the others."""
    return [*lib_modules(f"{__package__}.synthetic.{name}"), Path(__file__)]


# Bump to rebuild every synthetic set on purpose (a change outside the keyed code that alters them).
VERSION = 1


def proportional_counts(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; sums exactly to ``total``)."""
    w = np.asarray(weights, float) / np.sum(weights)
    raw = total * w
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Images of one class per split: proportional, but at least one in every split when ``n`` allows,
    so that no split lacks a class folder (torchvision's ImageFolder needs them all)."""
    counts = proportional_counts(n, fractions)
    for i in range(len(counts)):
        if counts[i] == 0 and n >= len(counts):
            counts[int(np.argmax(counts))] -= 1
            counts[i] = 1
    return counts


def _write_png(path: Path, rgb_or_gray: np.ndarray) -> None:
    img = cv2.cvtColor(rgb_or_gray, cv2.COLOR_RGB2BGR) if rgb_or_gray.ndim == 3 else rgb_or_gray
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise OSError(f"could not encode {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def _run_items(items: list, work: Callable, desc: str, workers: int) -> list:
    """Apply ``work`` to every item, in worker processes when there are several cores."""
    if workers <= 1 or len(items) < 8:
        return [work(i) for i in tqdm(items, desc=desc)]
    with ProcessPoolExecutor(workers) as pool:
        return list(tqdm(pool.map(work, items, chunksize=4), total=len(items), desc=desc))


def _micropart_item(item: tuple[str, int, int], folder: Path, seed: int, size: tuple[int, int]) -> dict:
    split, index, _ = item
    stem = f"{split}_{index:05d}"
    meta_path = folder / "meta" / f"{stem}.json"
    if meta_path.exists():  # resuming: this item was finished (its record is written last)
        return json.loads(meta_path.read_text())
    img, feats = microparts.render(derive_seed(seed, "microparts", split, index), *size)
    w, h = size
    lines, objects = [], []
    instances = np.zeros((h, w), np.uint8)
    for i, f in enumerate(feats):
        x1, y1, x2, y2 = f.box
        lines.append(f"{f.cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
        instances[f.mask] = i + 1
        objects.append({"split": split, "image": stem, "object": i, "class_id": f.cls, "class": microparts.CLASSES[f.cls],
                        "x1": x1, "y1": y1, "x2": x2, "y2": y2, "image_w": w, "image_h": h, "box_area_px": (x2 - x1) * (y2 - y1),
                        "mask_area_px": int(f.mask.sum()), "occluded_fraction": round(f.occluded, 4)})
    atomic_write_text(folder / "labels" / split / f"{stem}.txt", "\n".join(lines) + ("\n" if lines else ""))
    _write_png(folder / "masks" / split / f"{stem}.png", instances)
    _write_png(folder / "images" / split / f"{stem}.png", img)
    record = {"objects": objects, "n_objects": len(objects)}
    atomic_write_text(meta_path, json.dumps(record))
    return record


def build_microparts(folder: Path, spec: DataSpec, seed: int, workers: int) -> None:
    items = [(s, i, 0) for s, n in zip(SPLITS, spec.detection_split) for i in range(n)]
    work = partial(_micropart_item, folder=folder, seed=seed, size=spec.detection_image)
    records = _run_items(items, work, "microparts", workers)
    objects = pd.DataFrame([o for r in records for o in r["objects"]])
    with atomic_path(folder / "objects.csv") as tmp:
        objects.to_csv(tmp, index=False)
    data = {"train": "images/train", "val": "images/val", "test": "images/test",
            "nc": len(microparts.CLASSES), "names": dict(enumerate(microparts.CLASSES))}
    atomic_write_text(folder / "data.yaml", yaml.safe_dump(data, sort_keys=False))
    shutil.rmtree(folder / "meta")  # per-item records only serve resuming a killed build


RENDERERS = {"droplets": droplets.render, "surfaces": surfaces.render}


def _classification_item(item: tuple[str, int, int], folder: Path, name: str, seed: int, size: int) -> dict:
    split, cls, index = item
    cname = CLASS_NAMES[name][cls]
    stem = f"{cname}_{index:05d}"
    meta_path = folder / "meta" / f"{split}_{stem}.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    img, mask = RENDERERS[name](cls, derive_seed(seed, name, cls, index), size)
    if mask is not None:
        _write_png(folder / "masks" / split / cname / f"{stem}.png", mask.astype(np.uint8) * 255)
    _write_png(folder / split / cname / f"{stem}.png", img)
    record = {"split": split, "class": cname, "file": f"{split}/{cname}/{stem}.png",
              "mask_area_px": int(mask.sum()) if mask is not None else 0}
    atomic_write_text(meta_path, json.dumps(record))
    return record


def build_classification(folder: Path, name: str, total: int, spec: DataSpec, seed: int, workers: int) -> None:
    weights = [PAPER_COUNTS[name][c] for c in CLASS_NAMES[name]]
    items = []
    for cls, n in enumerate(proportional_counts(total, weights)):
        index = 0
        for split, k in zip(SPLITS, split_counts(n, spec.classification_split)):
            items += [(split, cls, index + j) for j in range(k)]
            index += k
    work = partial(_classification_item, folder=folder, name=name, seed=seed, size=spec.classification_image)
    records = _run_items(items, work, name, workers)
    with atomic_path(folder / "images.csv") as tmp:
        pd.DataFrame(records).to_csv(tmp, index=False)
    shutil.rmtree(folder / "meta")


def synthetic(name: str, spec: DataSpec, seed: int, *, workers: int | None = None) -> Path:
    """Folder of the generated dataset ``name`` for ``spec`` and ``seed`` (built once, then cached)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    workers = workers or os.cpu_count() or 1
    if name == "microparts":
        config = {"split": spec.detection_split, "image": spec.detection_image}
        build = partial(build_microparts, spec=spec, seed=seed, workers=workers)
    else:
        total = spec.droplet_images if name == "droplets" else spec.surface_images
        config = {"total": total, "image": spec.classification_image, "split": spec.classification_split}
        build = partial(build_classification, name=name, total=total, spec=spec, seed=seed, workers=workers)
    return cached_artifact(f"dataset-{name}", {"dataset": name, "seed": seed, "version": VERSION, **config},
                           build, code=generator_code(name), packages=["numpy", "opencv-python"])


def prepare(spec: DataSpec, seed: int, data_root: str | Path | None = None, names: Sequence[str] = DATASETS) -> dict[str, Path]:
    """The datasets ``names``: generated (``data_root`` None) or real ones checked by the validator."""
    if data_root is None:
        return {name: synthetic(name, spec, seed) for name in names}
    root = Path(data_root)
    folders = {name: root / name for name in names}
    problems = []
    for name, folder in folders.items():
        problems += validate.validate(folder, name, CLASS_NAMES[name])
    if problems:
        raise validate.DatasetError(problems)
    return folders

