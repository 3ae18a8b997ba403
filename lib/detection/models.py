"""The study's detectors as the notebooks use them: every variant of a profile trained on the
study's detection set (once, then fetched from the cache by :mod:`.training`), and read back.
Nothing here is part of a cache key."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data import datasets
from ..study.reporting import Study
from . import detectors
from .training import DetectorConfig, train_detector


def study_detectors(study: Study, variants) -> tuple[Path, dict[str, Path]]:
    """The study's detection set and each of ``variants`` trained on it at the study's profile,
    by display name (``YOLOv5``, ``YOLOv5-CBAM`` ...)."""
    folder = datasets.prepare(study.profile.data, study.seed, study.data_root, names=["microparts"])["microparts"]
    return folder, {detectors.display_name(v): train_detector(folder, DetectorConfig.from_profile(study.profile, v, study.seed), study.device)
                    for v in variants}


def detector_history(artifact: Path) -> pd.DataFrame:
    """One row per epoch: losses on train and val, and P, R, mAP on the validation split."""
    return pd.read_csv(Path(artifact) / "history.csv")


def load_detector(artifact: str | Path):
    """The trained detector as an ultralytics ``YOLO`` (its attention module registered first)."""
    from ultralytics import YOLO

    detectors.register()
    return YOLO(str(Path(artifact) / "weights.pt"), task="detect")
