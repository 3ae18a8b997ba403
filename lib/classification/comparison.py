"""Whether liu2023's models are different networks, whether each learned its task, and how they
compare where noise has taken the same share of the plain model's accuracy.

* :func:`accuracy_on_test_split`: each model's accuracy on the whole test split (the gate every seed passes);
* :func:`model_differences`: per pair of models, how far apart their layer4 features are
  (1 - linear CKA, Kornblith et al. 2019: 0 for features that are a rotation and scaling of each
  other, as the heads on one frozen backbone have) and their Grad-CAM maps (mean absolute
  difference), beside their accuracy;
* :func:`matched_variance` and :func:`matched_scores`: the noise variance where the plain model's
  accuracy is halfway from its clean value to chance, and the models' confidence, accuracy and
  maps there. liu2023's variances have no stated scale or noise space; a point
  defined by the plain model's own fall is one that exists for any data and noise space.
"""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..study.memo import cached_call
from ..study.seeds import SEED
from .robustness import localisation_sweep, maps, noise_sweep, normalised_batch, probabilities, split_inputs, sweep_summary
from .sanity import faithfulness_summary, faithfulness_under_noise

# What matched_scores reports per model.
MATCHED_COLUMNS = ("model", "variance", "p_pred", "p_true", "accuracy", "iou", "energy_share", "road", "vs_random")


def accuracy_on_test_split(models: dict[str, nn.Module], folder: Path, classes, imgsz: int) -> pd.DataFrame:
    """Per model: test images, correct predictions, accuracy and the majority-class rate, on the
    whole test split of ``folder``."""
    images, labels, _, _ = split_inputs(folder, classes, imgsz)
    majority = np.bincount(labels).max() / len(labels)
    rows = [{"model": name, "test images": len(labels), "correct": int((probabilities(m, images).argmax(1) == labels).sum())}
            for name, m in models.items()]
    out = pd.DataFrame(rows).assign(majority_class_rate=majority)
    return out.assign(accuracy=out.correct / out["test images"]).rename(columns={"majority_class_rate": "majority-class rate"})


def layer4_features(model: nn.Module, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """The model's layer4 activations (N, C*h*w) as float64, read by a forward hook (eval mode)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    handle = model.get_submodule("layer4").register_forward_hook(lambda module, inputs, output: out.append(output.flatten(1).cpu()))
    try:
        with torch.no_grad():
            for i in range(0, len(images), batch):
                model(normalised_batch(images[i:i + batch]).to(device))
    finally:
        handle.remove()
    return torch.cat(out).double().numpy()


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment of two representations of the same N items, (N, p) and
    (N, q): 1 where one is an orthogonal transform and scaling of the other, 0 where unrelated.
    Computed on the N x N Gram matrices, so that wide features (2048 channels x positions) cost N^2."""
    if len(x) != len(y):
        raise ValueError(f"the representations have {len(x)} and {len(y)} items; CKA compares the same items")
    k, l = (a - a.mean(0) for a in (x, y))
    k, l = k @ k.T, l @ l.T
    denominator = np.sqrt((k * k).sum() * (l * l).sum())
    return float((k * l).sum() / denominator) if denominator > 0 else float("nan")


def model_differences(models: dict[str, nn.Module], images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per pair of models: their layer4 feature distance (1 - linear CKA), the mean
    absolute difference of their Grad-CAM maps of the true class (maps in [0, 1]), and each one's
    accuracy on ``images``."""
    features = {name: layer4_features(m, images) for name, m in models.items()}
    heat = {name: maps(m, images, labels) for name, m in models.items()}
    accuracy = {name: float((probabilities(m, images).argmax(1) == labels).mean()) for name, m in models.items()}
    rows = [{"model_a": a, "model_b": b, "feature_distance": 1 - linear_cka(features[a], features[b]),
             "map_difference": float(np.abs(heat[a] - heat[b]).mean()), "accuracy_a": accuracy[a], "accuracy_b": accuracy[b]}
            for a, b in combinations(models, 2)]
    return pd.DataFrame(rows)


def matched_variance(curve: pd.Series, chance: float, share: float = 0.5) -> float:
    """The variance at which accuracy (``curve``: index variance, the clean value at 0) has fallen
    ``share`` of the way from its clean value to ``chance``, linearly interpolated between the two
    swept variances around the first crossing; NaN if the model starts at chance or never falls
    that far."""
    curve = curve.sort_index()
    clean = float(curve.loc[0.0])
    if clean <= chance:
        return float("nan")
    target = clean - share * (clean - chance)
    below = np.flatnonzero(curve.to_numpy() <= target)
    if not len(below):
        return float("nan")
    i = below[0]  # > 0: the clean value is above the target
    (v0, a0), (v1, a1) = (curve.index[i - 1], curve.iloc[i - 1]), (curve.index[i], curve.iloc[i])
    return float(v0 + (a0 - target) / (a0 - a1) * (v1 - v0))


def matched_scores(models: dict[str, nn.Module], variance: float, images: np.ndarray, labels: np.ndarray, map_images: np.ndarray,
                   map_labels: np.ndarray, map_masks, *, draws: int = 2, seed: int = 0, space: str = "normalised") -> pd.DataFrame:
    """Per model at noise ``variance``: predicted-class confidence, true-class probability and
    accuracy over ``images`` (``draws`` draws), and on ``map_images`` the Grad-CAM's highlight IoU
    and energy share on the object (``draws`` draws) and its ROAD score (one draw)."""
    confidence = sweep_summary(noise_sweep(models, images, labels, [variance], draws=draws, seed=seed, space=space))
    local = localisation_sweep(models, map_images, map_labels, map_masks, [variance], ["gradcam"], draws=draws, seed=seed, space=space)
    local = local.groupby(["model", "image"], sort=False)[["iou", "energy_share"]].mean().groupby("model", sort=False).mean()
    road = faithfulness_summary(faithfulness_under_noise(models, map_images, map_labels, [variance], seed=seed, space=space))
    road = road.xs("gradcam", level="method").droplevel("variance")[["road", "vs_random"]]
    out = confidence.droplevel("variance").drop(columns="images").join(local).join(road)
    return out.reset_index().assign(variance=variance)[list(MATCHED_COLUMNS)]


def matched_comparison(models: dict[int, dict[str, nn.Module]], summary: pd.DataFrame, chance: float, images: np.ndarray,
                       labels: np.ndarray, map_images: np.ndarray, map_labels: np.ndarray, map_masks, *, reference: str,
                       draws: int = 2, seed: int = 0, space: str = "normalised") -> pd.DataFrame:
    """For each training seed of ``models``: the variance at which ``reference``'s accuracy in
    ``summary`` (:func:`.robustness.sweep_summary` of that seed's sweep in ``space``) is halfway
    from clean to ``chance`` (:func:`matched_variance`), and every model's :func:`matched_scores`
    there (memoised). A seed whose reference never falls that far keeps its rows, with NaN scores."""
    rows = []
    for s, named in models.items():
        curve = summary.xs((s, reference), level=(SEED, "model"))["accuracy"]
        variance = matched_variance(curve, chance)
        if np.isnan(variance):
            scores = pd.DataFrame({"model": list(named), "variance": variance}).reindex(columns=list(MATCHED_COLUMNS))
        else:
            scores = cached_call(matched_scores, named, variance, images, labels, map_images, map_labels, map_masks, draws=draws,
                                 seed=seed, space=space)
        rows.append(scores.assign(**{SEED: s, "space": space}))
    out = pd.concat(rows, ignore_index=True)
    return out[[SEED, "space", *(c for c in out.columns if c not in (SEED, "space"))]]
