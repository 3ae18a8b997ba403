"""Training the YOLOv5 variants through ultralytics (xu2024 §3.3).

ultralytics' own trainer does the work: its augmentation, loss, optimiser, schedule and
validation are those of the detector family the paper used, and a hand-written loop would only
drift from them. This module fixes what the study needs around them: a seed, the
profile's settings, no network and no plots, one process on a CPU, and a cache.

A trained detector is a cached artifact ``detector-<variant>-<key>/`` keyed by its
configuration, the dataset's identity and the source of this module, :mod:`.variants` and
:mod:`.attention`. It holds ``weights.pt`` (ultralytics' best checkpoint: highest fitness on
the validation split), ``history.csv`` (ultralytics' per-epoch ``results.csv``) and the model
yaml it was built from.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..data import read
from ..study import cache
from ..study.profiles import Profile
from . import attention, detectors

# Bump to rebuild every detector on purpose (a change outside the keyed code that alters training).
VERSION = 1

# Columns of ultralytics' results.csv, under the study's names.
HISTORY_COLUMNS = {
    "epoch": "epoch", "time": "elapsed_s",
    "train/box_loss": "train_box_loss", "train/cls_loss": "train_cls_loss", "train/dfl_loss": "train_dfl_loss",
    "val/box_loss": "val_box_loss", "val/cls_loss": "val_cls_loss", "val/dfl_loss": "val_dfl_loss",
    "metrics/precision(B)": "precision", "metrics/recall(B)": "recall",
    "metrics/mAP50(B)": "map50", "metrics/mAP50-95(B)": "map50_95",
}


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that determines a trained detector (besides the data)."""

    variant: str  # "baseline" or an attention module of lib.detection.attention
    scale: str  # YOLOv5 width/depth scale
    imgsz: int
    epochs: int
    batch: int
    optimizer: str = "auto"  # ultralytics' optimiser settings (see DetectorSpec)
    lr0: float = 0.01
    warmup_epochs: float = 3.0
    nbs: int = 64
    seed: int = 0

    def __post_init__(self):
        detectors.check_variant(self.variant)

    @classmethod
    def from_profile(cls, profile: Profile, variant: str, seed: int) -> "DetectorConfig":
        spec = dataclasses.asdict(profile.detector)
        del spec["seeds"]  # how many detectors to train, not how to train one
        return cls(variant, **spec, seed=seed)


def ultralytics_device(device: str) -> str:
    """ultralytics names CUDA devices by index: ``cuda`` -> ``0``, ``cuda:1`` -> ``1``."""
    if device == "cuda":
        return "0"
    return device.split(":", 1)[1] if device.startswith("cuda:") else device


def data_yaml(folder: str | Path, out: str | Path) -> Path:
    """An ultralytics data yaml for the detection set in ``folder`` with absolute paths, written
    to ``out`` (a real set's own yaml may hold paths relative to somewhere else). A set holding
    one split only (an occluded test set) names it for every split."""
    folder = Path(folder).resolve()
    present = [s for s in read.SPLITS if (folder / "images" / s).is_dir()]
    if not present:
        raise FileNotFoundError(f"{folder} has no images/<split> folder; expected some of: {', '.join(read.SPLITS)}")
    data = {"path": str(folder), **{s: f"images/{s if s in present else present[-1]}" for s in read.SPLITS},
            "names": dict(enumerate(read.detection_names(folder)))}
    out = Path(out)
    cache.atomic_write_text(out, yaml.safe_dump(data, sort_keys=False))
    return out


def train_detector(folder: str | Path, config: DetectorConfig, device: str = "cpu", *, force: bool = False) -> Path:
    """Train (or fetch from the cache) the detector ``config`` on the detection set in ``folder``."""
    folder = Path(folder)
    for split in ("train", "val"):
        images = folder / "images" / split
        if not images.is_dir() or not any(p.suffix.lower() in read.IMAGE_SUFFIXES for p in images.iterdir()):
            raise FileNotFoundError(f"cannot train on {folder}: {images} is missing or holds no images")
    nc = len(read.detection_names(folder))
    key = {**dataclasses.asdict(config), "data": cache.dataset_identity(folder), "version": VERSION}

    def build(out: Path) -> None:
        model = detectors.build_detector(config.variant, config.scale, nc, out)
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            model.train(
                data=str(data_yaml(folder, Path(tmp) / "data.yaml")), epochs=config.epochs, imgsz=config.imgsz,
                batch=config.batch, optimizer=config.optimizer, lr0=config.lr0, warmup_epochs=config.warmup_epochs,
                nbs=config.nbs, seed=config.seed, deterministic=True, device=ultralytics_device(device), workers=0,
                pretrained=False, amp=False, plots=False, verbose=False, exist_ok=True, project=tmp, name="run",
            )
            run = Path(tmp) / "run"
            shutil.copyfile(run / "weights" / "best.pt", out / "weights.pt")
            history = pd.read_csv(run / "results.csv").rename(columns=lambda c: c.strip())
        history = history[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS)
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))

    code = [Path(__file__), detectors, attention]
    return cache.cached_artifact(f"detector-{config.variant.lower()}", key, build, code=code,
                                 packages=["torch", "ultralytics"], force=force)
