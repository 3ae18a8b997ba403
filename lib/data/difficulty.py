"""Is a generated classification set too easy? A shortcut detector on global image statistics.

If a linear model on per-image statistics (channel means and stds, a grey-level histogram,
percentiles) separates the classes almost perfectly, a CNN's accuracy and its heatmaps would
say nothing about droplet shape or contamination. The check reports that model's
cross-validated accuracy beside the majority-class rate.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..study.cache import MANIFEST, cached_json, read_manifest
from .read import classification_images, load_rgb

NEAR_PERFECT = 0.95
# Bump to rebuild every shortcut check on purpose (a change outside the keyed code that alters it).
VERSION = 1


def global_statistics(rgb: np.ndarray, bins: int = 16) -> np.ndarray:
    """Per-image features: channel means and stds, grey histogram and grey percentiles."""
    x = rgb.astype(np.float32) / 255.0
    gray = x.mean(axis=2)
    hist = np.histogram(gray, bins=bins, range=(0, 1))[0] / gray.size
    return np.concatenate([x.mean((0, 1)), x.std((0, 1)), hist, np.percentile(gray, [1, 5, 25, 50, 75, 95, 99])])


def shortcut_accuracy(files: list[Path], labels: list[str], seed: int = 0, folds: int = 5) -> dict[str, float]:
    """Cross-validated accuracy of logistic regression on :func:`global_statistics`."""
    X = np.stack([global_statistics(load_rgb(f)) for f in files])
    y = np.asarray(labels)
    folds = max(2, min(folds, pd.Series(y).value_counts().min()))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    scores = cross_val_score(model, X, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    majority = pd.Series(y).value_counts(normalize=True).iloc[0]
    return {"accuracy": float(scores.mean()), "accuracy_std": float(scores.std()), "majority_rate": float(majority),
            "images": len(y), "folds": folds}


def dataset_shortcut_accuracy(folder: Path, name: str, seed: int = 0) -> dict[str, float]:
    """:func:`shortcut_accuracy` over every image of a classification dataset, cached per dataset.

    A finished cache artifact never changes, so its key stands for its content; real data
    folders (not artifacts) may change and are rechecked on every run.
    """
    images = classification_images(folder, name)
    compute = lambda: shortcut_accuracy([folder / f for f in images.file], list(images["class"]), seed=seed)  # noqa: E731
    if not (folder / MANIFEST).is_file():
        return compute()
    key = read_manifest(folder)["key"]
    return cached_json(f"difficulty-{name}", {"dataset": key, "seed": seed, "version": VERSION}, compute, code=[__file__])
