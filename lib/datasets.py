"""The study's three datasets on disk: generating the synthetic ones (cached) or using real ones.

Layouts (the same for synthetic and real data, so ``data_root`` can point at either):

* ``microparts/`` (detection, ultralytics YOLO layout): ``data.yaml``; ``images/<split>/*.png``;
  ``labels/<split>/*.txt`` (``class xc yc w h``, normalised); optional ``masks/<split>/<stem>.png``
  (0 = background, i = the i-th label line's feature); ``objects.csv`` (one row per feature).
* ``droplets/`` and ``surfaces/`` (torchvision ImageFolder): ``<split>/<class>/*.png``; optional
  ``masks/<split>/<class>/<stem>.png`` (droplet / contamination mask); ``images.csv``.

Splits are ``train``, ``val``, ``test``. Every image has its own seed, derived from the study
seed, so the bytes written do not depend on the number of worker processes.
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

from . import validate
from .cache import atomic_path, atomic_write_text, cached_artifact
from .datagen import droplets, microparts, occlusion, optics, surfaces
from .profiles import DataSpec
from .seeding import derive_seed

SPLITS = ("train", "val", "test")
DATASETS = ("microparts", "droplets", "surfaces")
CLASS_NAMES = {"microparts": microparts.CLASSES, "droplets": droplets.CLASSES, "surfaces": surfaces.CLASSES}
PAPER_COUNTS = {
    "microparts": {"train": 1123, "val": 230, "test": 185},
    "droplets": dict(zip(droplets.CLASSES, droplets.PAPER_COUNTS)),
    "surfaces": dict(zip(surfaces.CLASSES, surfaces.PAPER_COUNTS)),
}
GENERATOR_CODE = [optics, occlusion, microparts, droplets, surfaces]


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


# -- detection ------------------------------------------------------------------------------------
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


# -- classification -------------------------------------------------------------------------------
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


# -- entry points ---------------------------------------------------------------------------------
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
    code = [*GENERATOR_CODE, Path(__file__)]
    return cached_artifact(f"dataset-{name}", {"dataset": name, "seed": seed, **config},
                           build, code=code, packages=["numpy", "opencv-python"])


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


# -- reading ---------------------------------------------------------------------------------------
def detection_objects(folder: Path) -> pd.DataFrame:
    """One row per labelled feature: split, image, class, pixel box, occluded fraction (if known)."""
    if (folder / "objects.csv").exists():
        return _with_size_share(pd.read_csv(folder / "objects.csv"))
    names = validate.detection_names(folder)
    rows = []
    for split in SPLITS:
        for label in sorted((folder / "labels" / split).glob("*.txt")):
            image = validate.find_image(folder / "images" / split, label.stem)
            h, w = cv2.imread(str(image), cv2.IMREAD_UNCHANGED).shape[:2]
            for i, line in enumerate(label.read_text().split("\n")):
                if not line.strip():
                    continue
                c, xc, yc, bw, bh = line.split()
                xc, yc, bw, bh = float(xc) * w, float(yc) * h, float(bw) * w, float(bh) * h
                rows.append({"split": split, "image": label.stem, "object": i, "class_id": int(c), "class": names[int(c)],
                             "x1": xc - bw / 2, "y1": yc - bh / 2, "x2": xc + bw / 2, "y2": yc + bh / 2,
                             "image_w": w, "image_h": h, "box_area_px": bw * bh, "occluded_fraction": np.nan})
    return _with_size_share(pd.DataFrame(rows))


def _with_size_share(objects: pd.DataFrame) -> pd.DataFrame:
    """Add ``box_side_share``: sqrt(box area / image area), a resolution-free object size."""
    return objects.assign(box_side_share=np.sqrt(objects.box_area_px / (objects.image_w * objects.image_h)))


def classification_images(folder: Path, name: str) -> pd.DataFrame:
    """One row per image: split, class, file (relative to ``folder``)."""
    if (folder / "images.csv").exists():
        return pd.read_csv(folder / "images.csv")
    folders = validate.class_folders(folder, CLASS_NAMES[name])  # a real set may name them its own way
    rows = [{"split": s, "class": c, "file": str(p.relative_to(folder))}
            for s in SPLITS for c in CLASS_NAMES[name] for p in sorted((folder / s / folders[c]).glob("*"))
            if p.suffix.lower() in validate.IMAGE_SUFFIXES]
    return pd.DataFrame(rows)


def load_mask(folder: Path, file: str) -> np.ndarray | None:
    """The object mask of a classification image (``masks/<split>/<class>/<stem>.png``) as bool,
    or None when the image has none (a clean surface, or real data without masks)."""
    path = Path(folder) / "masks" / Path(file).with_suffix(".png")
    if not path.exists():
        return None
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise OSError(f"cannot decode mask {path}")
    return mask > 127


def load_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot decode image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# -- dataset cards ---------------------------------------------------------------------------------
def detection_card(folder: Path) -> pd.DataFrame:
    """Images and features per split and class, beside the paper's image counts; a class that the
    dataset names its own way (``class_names.yaml``) shows that name too."""
    objects = detection_objects(folder)
    images = {s: len([p for p in (folder / "images" / s).iterdir() if p.suffix.lower() in validate.IMAGE_SUFFIXES]) for s in SPLITS}
    per_class = objects.pivot_table(index="split", columns="class", values="object", aggfunc="count", fill_value=0)
    own = {study: f" (data: {name})" for name, study in validate.class_map(folder).items()}  # a real set's own names
    per_class = per_class.rename(columns=lambda c: f"features: {c}{own.get(c, '')}")
    card = pd.DataFrame({"images": images}).join(per_class).reindex(SPLITS).fillna(0).astype(int)
    card.loc["total"] = card.sum()
    card["images (paper)"] = [*PAPER_COUNTS["microparts"].values(), sum(PAPER_COUNTS["microparts"].values())]
    card.index.name = "split"
    return card


def classification_card(folder: Path, name: str) -> pd.DataFrame:
    """Images per class and split, the class share, the paper's count and share per class, and the
    folder that holds the class (its own name in a real set with a ``class_names.yaml``)."""
    images = classification_images(folder, name)
    card = images.pivot_table(index="class", columns="split", values="file", aggfunc="count", fill_value=0)
    card = card.reindex(index=list(CLASS_NAMES[name]), columns=list(SPLITS)).fillna(0).astype(int)
    card["total"] = card.sum(axis=1)
    card["share"] = card.total / card.total.sum()
    paper = pd.Series(PAPER_COUNTS[name])
    card["total (paper)"] = paper
    card["share (paper)"] = paper / paper.sum()
    card["folder in the data"] = pd.Series(validate.class_folders(folder, CLASS_NAMES[name]))  # a real set's own names
    return card


def occlusion_check(folder: Path, objects: pd.DataFrame, fractions, kinds=occlusion.OCCLUDERS, *,
                    split: str = "test", seed: int = 0) -> pd.DataFrame:
    """Occlude every box of the ``split`` images at each fraction and kind; requested vs measured cover."""
    rows = []
    for stem, group in objects[objects.split == split].groupby("image", sort=True):
        image = load_rgb(validate.find_image(folder / "images" / split, stem))
        boxes = group[["x1", "y1", "x2", "y2"]].to_numpy(float)
        for kind in kinds:
            for fraction in fractions:
                _, measured = occlusion.occlude(image, boxes, fraction, kind=kind, seed=derive_seed(seed, stem, kind, fraction))
                rows += [{"image": stem, "object": o, "occluder": kind, "requested": fraction, "measured": m}
                         for o, m in zip(group.object, measured)]
    return pd.DataFrame(rows)


def generation_benchmark(profiles, n: int = 4, workers: int | None = None) -> pd.DataFrame:
    """Projected build time of each profile's datasets from single-process render times of ``n``
    images per dataset at that profile's image sizes (a benchmark: timings vary between runs)."""
    import time

    workers = workers or os.cpu_count() or 1
    rows = []
    for p in profiles:
        spec = p.data
        t0 = time.perf_counter()
        for i in range(n):
            microparts.render(derive_seed("benchmark", i), *spec.detection_image)
        det = (time.perf_counter() - t0) / n
        per = {}
        for name, render in RENDERERS.items():
            t0 = time.perf_counter()
            for i in range(n):
                render(i % len(CLASS_NAMES[name]), derive_seed("benchmark", name, i), spec.classification_image)
            per[name] = (time.perf_counter() - t0) / n
        total = spec.detection_images * det + spec.droplet_images * per["droplets"] + spec.surface_images * per["surfaces"]
        rows.append({"profile": p.name, "images": spec.detection_images + spec.droplet_images + spec.surface_images,
                     "s/image microparts": det, "s/image droplets": per["droplets"], "s/image surfaces": per["surfaces"],
                     f"projected build s ({workers} workers)": total / workers})
    return pd.DataFrame(rows).set_index("profile")
