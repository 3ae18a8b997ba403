"""Test sets with the manipulator's occlusion added at a fixed rate (xu2024 §4.2, Table 2, Fig. 11a).

Every labelled box of every image of one split gets an occluder covering the requested share
of the box (:func:`lib.data.synthetic.occlusion.occlude`), on top of whatever the image already shows.
Each image has its own seed, derived from the study seed, its name, the occluder kind and the
rate: the same images as notebook 01's occlusion check (:func:`lib.data.cards.occlusion_check`).

An occluded set is a cached artifact in the detection layout holding only that split:
``images/<split>``, ``labels/<split>`` (unchanged: an occluded feature is still there and
still labelled, as in the paper), ``objects.csv`` with the cover measured on each box, and a
``data.yaml`` whose every split names that one (ultralytics' validator wants all three).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from ..study import cache
from ..study.seeding import derive_seed
from . import read
from .read import detection_objects, load_rgb
from .synthetic import occlusion

# Bump to rebuild every occluded set on purpose (a change outside the keyed code that alters them).
VERSION = 1


def image_seed(seed: int, stem: str, kind: str, fraction: float) -> int:
    """The seed of one image's occluder: the study seed, the image, the kind and the rate."""
    return derive_seed(seed, stem, kind, fraction)


def painted_mask(boxes, shape: tuple[int, int], fraction: float, *, stem: str, kind: str = "gripper",
                  seed: int = 0) -> np.ndarray:
    """Boolean (H, W) mask of the occluder :func:`occluded_split` painted on image ``stem`` (its
    ``boxes`` in pixels); the images are kept, the masks are drawn again from the same seed."""
    masks = occlusion.occlusion_masks(boxes, fraction, shape, kind=kind, seed=image_seed(seed, stem, kind, fraction))
    return np.logical_or.reduce(masks) if masks else np.zeros(shape, bool)


def occluded_split(folder: str | Path, fraction: float, *, split: str = "test", kind: str = "gripper",
                   seed: int = 0) -> Path:
    """The ``split`` of the detection set in ``folder`` with every box ``fraction`` occluded."""
    folder = Path(folder)
    occlusion.occlusion_masks([], fraction, (1, 1), kind=kind)  # a bad rate or kind fails here, not mid-build
    objects = detection_objects(folder)
    objects = objects[objects.split == split]
    config = {"data": cache.dataset_identity(folder), "split": split, "fraction": fraction, "kind": kind, "seed": seed}

    def build(out: Path) -> None:
        rows = []
        stems = sorted({p.stem for p in (folder / "labels" / split).glob("*.txt")})
        for stem in tqdm(stems, desc=f"occluding {split} at {fraction:.0%}", leave=False):
            source = read.find_image(folder / "images" / split, stem)
            target = out / "images" / split / f"{stem}.png"
            group = objects[objects.image == stem]
            boxes = group[["x1", "y1", "x2", "y2"]].to_numpy(float)
            image, measured = occlusion.occlude(load_rgb(source), boxes, fraction, kind=kind,
                                                seed=image_seed(seed, stem, kind, fraction))
            if not target.exists():  # resuming a killed build
                target.parent.mkdir(parents=True, exist_ok=True)
                with cache.atomic_path(target) as tmp:
                    if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
                        raise OSError(f"could not write {target}")
            label = out / "labels" / split / f"{stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / "labels" / split / f"{stem}.txt", label)
            rows.append(group.assign(added_cover=measured))
        table = pd.concat(rows, ignore_index=True) if rows else objects.assign(added_cover=[])
        with cache.atomic_path(out / "objects.csv") as tmp:
            table.to_csv(tmp, index=False)
        data = {**{s: f"images/{split}" for s in read.SPLITS},
                "names": dict(enumerate(read.detection_names(folder)))}
        cache.atomic_write_text(out / "data.yaml", yaml.safe_dump(data, sort_keys=False))

    config["version"] = VERSION
    return cache.cached_artifact("dataset-occluded", config, build, code=[Path(__file__), occlusion],
                                 packages=["numpy", "opencv-python"])


def occluded_sets(folder: str | Path, rates, *, kind: str = "gripper", seed: int = 0) -> dict[float, Path]:
    """The test split at each occlusion rate; rate 0 is the set in ``folder`` as it is."""
    return {float(r): Path(folder) if r == 0 else occluded_split(folder, float(r), kind=kind, seed=seed) for r in rates}
