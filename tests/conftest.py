import cv2
import matplotlib
import numpy as np
import pytest

from lib.classification import resnet, training as classifier_training
from lib.data import datasets, read
from lib.detection import training as detector_training
from lib.study import goldens, paths
from lib.study.profiles import DataSpec

matplotlib.use("Agg")  # figures are drawn, never shown


def pytest_collection_modifyitems(items):
    """nbval compares the golden copies' numbers within tests/golden/tolerances.toml (lib/study/goldens.py)."""
    goldens.tolerate_numbers(items)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Point the study's data, cache, figures and notebooks folders at a temporary tree."""
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "data" / "cache")
    monkeypatch.setattr(paths, "FIGURES_DIR", tmp_path / "figures")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", tmp_path / "notebooks")
    monkeypatch.delenv("STUDY_FIGURES_DIR", raising=False)
    monkeypatch.delenv("STUDY_FORCE_SINCE", raising=False)
    return tmp_path


def build_datasets(cache_root, spec, seed, workers=1):
    """All three synthetic datasets for ``spec``, generated into their own cache folder."""

    old, paths.CACHE_DIR = paths.CACHE_DIR, cache_root
    try:
        return {n: datasets.synthetic(n, spec, seed=seed, workers=workers) for n in read.DATASETS}
    finally:
        paths.CACHE_DIR = old


# -- a toy classification dataset and a classifier trained on it (shared by the CAM tests) --
CLASSES = ("disc", "bar")


def write_toy_dataset(root, per_split=(12, 4, 4), size=48, seed=0):
    """Two easy classes (a bright disc or a bright bar on noise), ``<split>/<class>/*.png``, with masks."""
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "val", "test"), per_split):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            (root / "masks" / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = rng.uniform(0, 60, (size, size, 3)).astype(np.uint8)
                mask = np.zeros((size, size), np.uint8)
                cx, cy = rng.integers(14, size - 14, 2)
                if c == 0:
                    cv2.circle(mask, (int(cx), int(cy)), 9, 255, -1)
                else:
                    cv2.rectangle(mask, (int(cx) - 12, int(cy) - 3), (int(cx) + 12, int(cy) + 3), 255, -1)
                img[mask > 0] = 220
                cv2.imwrite(str(root / split / name / f"{name}_{i:03d}.png"), img)
                cv2.imwrite(str(root / "masks" / split / name / f"{name}_{i:03d}.png"), mask)
    return root


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def trained(toy, tmp_path_factory):
    """A toy classifier trained once through the cache (its own cache folder)."""

    old, paths.CACHE_DIR = paths.CACHE_DIR, tmp_path_factory.mktemp("cache")
    try:
        config = resnet.ClassifierConfig("toy", CLASSES, imgsz=32, epochs=10, batch=8, seed=0, lr=3e-3)
        return classifier_training.train_classifier(toy, config), config
    finally:
        paths.CACHE_DIR = old


# -- a tiny detection set and a detector trained on it (shared by the detection tests) --
@pytest.fixture(scope="session")
def micro(tmp_path_factory):
    """A generated micropart set of 8/4/4 images at 128x96, in its own cache folder."""
    from lib.study.profiles import DataSpec

    spec = DataSpec(detection_split=(8, 4, 4), detection_image=(128, 96), droplet_images=8, surface_images=8)
    old, paths.CACHE_DIR = paths.CACHE_DIR, tmp_path_factory.mktemp("micro-cache")
    try:
        return datasets.synthetic("microparts", spec, seed=0, workers=1)
    finally:
        paths.CACHE_DIR = old


@pytest.fixture(scope="session")
def detector(micro, tmp_path_factory):
    """A YOLOv5n-CBAM trained for 2 epochs on ``micro`` through the cache (its own cache folder)."""

    old, paths.CACHE_DIR = paths.CACHE_DIR, tmp_path_factory.mktemp("detector-cache")
    try:
        config = detector_training.DetectorConfig("CBAM", "n", imgsz=64, epochs=2, batch=4, nbs=4, warmup_epochs=0)
        return detector_training.train_detector(micro, config), config
    finally:
        paths.CACHE_DIR = old


# -- small generated sets (shared by the plotting and notebook-step tests) --
TINY = DataSpec(detection_split=(4, 2, 2), detection_image=(96, 64), droplet_images=24, surface_images=8)


@pytest.fixture(scope="session")
def tiny_sets(tmp_path_factory):
    """All three generated datasets at :data:`TINY`, in their own cache folder."""
    return build_datasets(tmp_path_factory.mktemp("tiny-cache"), TINY, seed=2)
