"""The study's detectors as the notebooks use them: every variant of a profile trained on the
study's detection set (once, then fetched from the cache by :mod:`.training`), and read back.
Nothing here is part of a cache key."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data import datasets
from ..study import papers
from ..study.reporting import Study
from . import detectors
from .training import DetectorConfig, train_detector


COMPARED = (papers.XU2024_BASELINE, papers.XU2024_SELECTED)  # the detectors xu2024 compares, trained with every seed


def study_detectors(study: Study, variants) -> tuple[Path, dict[int, dict[str, Path]]]:
    """The study's detection set and the detectors trained on it at the study's profile, by
    training seed and display name (``YOLOv5``, ``YOLOv5-CBAM`` ...): each of ``variants`` with
    the study's seed, and those of them in :data:`COMPARED` with each further seed of
    ``detector.seeds``. The first seed's entry holds every variant."""
    folder = datasets.prepare(study.profile.data, study.seed, study.data_root, names=["microparts"])["microparts"]
    runs = {}
    for seed in study.detector_seeds:
        names = {detectors.display_name(v): v for v in variants}
        if seed != study.seed:
            names = {n: v for n, v in names.items() if n in COMPARED}
        runs[seed] = {n: train_detector(folder, DetectorConfig.from_profile(study.profile, v, seed), study.device)
                      for n, v in names.items()}
    return folder, runs


def detector_history(artifact: Path) -> pd.DataFrame:
    """One row per epoch: losses on train and val, and P, R, mAP on the validation split."""
    return pd.read_csv(Path(artifact) / "history.csv")


def load_detector(artifact: str | Path):
    """The trained detector as an ultralytics ``YOLO`` (its attention module registered first)."""
    from ultralytics import YOLO

    detectors.register()
    return YOLO(str(Path(artifact) / "weights.pt"), task="detect")
