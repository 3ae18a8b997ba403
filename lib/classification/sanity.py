"""Can the classifiers' maps be trusted? Two checks a reviewer of an explanation study expects.

* **Model randomisation** (Adebayo et al., "Sanity checks for saliency maps", 2018): the top
  layers of a trained model are re-initialised and the same maps computed again. A reading of the
  maps ("they fall on the droplet's edges and centres") says something about the trained model
  only where its maps score better than its randomised copy's; Guided Backpropagation, for one,
  draws edges even in an untrained network.
* **Faithfulness by ROAD** (Rong et al., "A consistent and efficient evaluation strategy for
  attribution methods", 2022), as the grad-cam package implements it (``ROADCombined``): the
  pixels a map ranks most relevant, and separately the least relevant, are removed and filled by
  noisy linear imputation, and the change in the probability of the explained class is measured
  at several percentiles. The score is half the least-relevant-first change minus the
  most-relevant-first change: above 0, removing what the map points at hurts the model more than
  removing what it ignores. A smooth random map is the baseline every method must beat.

Maps, targets and probabilities follow :mod:`.robustness`: maps explain the true class, images are
decoded (N, S, S, 3) arrays in [0, 1]. Besides the CAM methods of :data:`..explain.cams.METHODS`,
:data:`GUIDED` names Guided Grad-CAM, the map xu2024 reads the droplets' edges from.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from pytorch_grad_cam.metrics.road import ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from scipy import stats
from torch import nn

from ..explain import cams
from ..study.papers import GUIDED
from ..study.seeding import seed_everything
from ..study.seeds import SEED, t_interval
from .robustness import maps, min_max, noisy, normalised_batch, score_maps

ROAD_PERCENTILES = (20, 40, 60, 80)  # shares of pixels removed; the package's default is 10 to 90 in steps of 10
RANDOM_MAP = "random"  # the name of the baseline in the faithfulness table


def method_maps(model: nn.Module, images: np.ndarray, labels: np.ndarray, method: str = "gradcam") -> np.ndarray:
    """Maps (N, S, S) in [0, 1] of the true class at ``layer4`` by a CAM method, or by Guided
    Grad-CAM (:data:`GUIDED`: Grad-CAM times the guided gradient's magnitude, scaled per map)."""
    if method != GUIDED:
        return maps(model, images, labels, method)
    guided = cams.guided_backprop(model, normalised_batch(images), labels)
    return min_max(cams.guided_gradcam(maps(model, images, labels, "gradcam"), guided))


def top_layers(model: nn.Module) -> tuple[str, str]:
    """The layers a randomisation re-initialises, from the top as Adebayo et al.'s cascade starts:
    ``layer4`` and the classifier over it (torchvision's ``fc``, or the attention ``head``)."""
    return ("layer4", "head" if hasattr(model, "head") else "fc")


def randomised(model: nn.Module, layers=None, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose ``layers`` (top-level names; default :func:`top_layers`) are
    re-initialised with their own ``reset_parameters`` (PyTorch's default initialisation),
    deterministic in ``seed``; the model itself is left as it was."""
    layers = top_layers(model) if layers is None else layers
    copied = copy.deepcopy(model).eval()
    torch.manual_seed(seed)
    for name in layers:
        reset = [m for m in cams.layer(copied, name).modules() if hasattr(m, "reset_parameters")]
        if not reset:
            raise ValueError(f"layer {name!r} has no parameters to re-initialise")
        for m in reset:
            m.reset_parameters()
    return copied


def random_maps(n: int, size: int, seed: int = 0, cells: int = 4) -> np.ndarray:
    """(n, size, size) smooth random maps in [0, 1]: uniform noise on a ``cells`` x ``cells``
    grid, upsampled bilinearly, so that the baseline has blobs like a CAM, not pixel noise."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((n, 1, cells, cells), dtype=np.float32))
    return min_max(torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy())


def randomisation_table(model: nn.Module, images: np.ndarray, labels: np.ndarray, masks, *, methods=("gradcam",),
                        layers=None, seed: int = 0) -> pd.DataFrame:
    """One row per (method, model state, image): the map's highlight IoU and energy share on the
    object's mask, for the trained model and its copy with ``layers`` re-initialised
    (:func:`randomised`), and the Spearman rank correlation between the two maps of the same image
    (1: the map does not depend on what those layers learned)."""
    seed_everything(seed)
    control = randomised(model, layers, seed)
    rows = []
    for method in methods:
        trained = method_maps(model, images, labels, method)
        shuffled = method_maps(control, images, labels, method)
        for state, heat in (("trained", trained), ("randomised", shuffled)):
            table = score_maps(heat, masks, trained if state == "randomised" else None)
            rows.append(table.assign(method=method, state=state))
    out = pd.concat(rows, ignore_index=True)
    return out[["method", "state", "image", *[c for c in out.columns if c not in ("method", "state", "image")]]]


def control_grid(model: nn.Module, images: np.ndarray, labels: np.ndarray, methods=("gradcam",), layers=None,
                 seed: int = 0):
    """A few images' maps from the trained model and from its randomised copy, side by side for each
    of ``methods``, laid out for :func:`..explain.plots.overlay_grid`: (images, maps, column titles),
    one row per image."""
    control = randomised(model, layers, seed)
    columns = [(m, s) for m in methods for s in ("trained", "randomised")]
    heat = {(m, s): method_maps(model if s == "trained" else control, images, labels, m) for m, s in columns}
    return ([[img] * len(columns) for img in images], [[heat[c][i] for c in columns] for i in range(len(images))],
            [f"{m}, {s}" for m, s in columns])


def randomisation_under_noise(models: dict[str, nn.Module], images: np.ndarray, labels: np.ndarray, masks, variances, *,
                              methods=("gradcam",), seed: int = 0, space: str = "normalised") -> pd.DataFrame:
    """:func:`randomisation_table` of each model on the images with noise of each of ``variances``
    (one draw, the noise of :func:`.robustness.noisy`), with ``model`` and ``variance`` columns."""
    rows = []
    for v in variances:
        x = images if v == 0 else noisy(images, v, 0, seed, space)
        rows += [randomisation_table(model, x, labels, masks, methods=methods, seed=seed).assign(model=name, variance=v)
                 for name, model in models.items()]
    out = pd.concat(rows, ignore_index=True)
    return out[["model", "variance", *[c for c in out.columns if c not in ("model", "variance")]]]


def randomisation_summary(table: pd.DataFrame, values=("iou", "energy_share")) -> pd.DataFrame:
    """Per method (and model, seed or variance, where ``table`` has such columns): the mean of
    each of ``values`` for the trained model and its randomised copy over the images where both
    maps can be scored (``<value>_images``), the paired difference (trained minus randomised) with
    its 95 % t-interval over those images and the Wilcoxon p-value, and the mean rank correlation
    between the two maps."""
    keys = [k for k in (SEED, "model", "variance", "method") if k in table]
    rows = []
    for key, g in table.groupby(keys, sort=False):
        wide = {s: g[g.state == s].set_index("image") for s in ("trained", "randomised")}
        row = {**dict(zip(keys, key)), "images": len(wide["trained"]),
               "rank_correlation": wide["randomised"]["rank_correlation"].mean()}
        for v in values:
            # the images where both maps can be scored (a flat map has no energy share; none without object masks)
            pair = pd.concat({"trained": wide["trained"][v], "randomised": wide["randomised"][v]}, axis=1).dropna()
            diff = pair.trained - pair.randomised
            mean, low, high = t_interval(diff) if len(diff) else (np.nan, np.nan, np.nan)
            row.update({f"{v}_images": len(pair), f"{v}_trained": pair.trained.mean(), f"{v}_randomised": pair.randomised.mean(),
                        f"{v}_difference": mean, f"{v}_difference_low": low, f"{v}_difference_high": high,
                        f"{v}_wilcoxon_p": stats.wilcoxon(diff).pvalue if np.any(diff != 0) else np.nan})
        rows.append(row)
    return pd.DataFrame(rows).set_index(keys)


def road_scores(model: nn.Module, images: np.ndarray, labels: np.ndarray, heat: np.ndarray,
                percentiles=ROAD_PERCENTILES, batch: int = 16, seed: int = 0) -> np.ndarray:
    """ROAD score (grad-cam's ``ROADCombined``) of each map ``heat[i]`` for the true class of
    image ``i``, on the softmax probability: (N,) values in [-1, 1], higher is more faithful. The
    imputer's noise is drawn from torch's generator, seeded with ``seed`` for this call alone."""
    if len(heat) != len(images) or len(labels) != len(images):
        raise ValueError(f"{len(images)} images, {len(labels)} labels and {len(heat)} maps: one each per image")
    model.eval()
    metric = ROADCombined(percentiles=list(percentiles))
    device = next(model.parameters()).device
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(images), batch):
            x = normalised_batch(images[i:i + batch]).to(device)
            targets = [ClassifierOutputSoftmaxTarget(int(t)) for t in labels[i:i + batch]]
            out.append(np.asarray(metric(x, heat[i:i + batch], targets, model), np.float32).reshape(-1))
    return np.concatenate(out)


def faithfulness_table(models: dict[str, nn.Module], images: np.ndarray, labels: np.ndarray, *, methods=("gradcam",),
                       percentiles=ROAD_PERCENTILES, seed: int = 0) -> pd.DataFrame:
    """One row per (model, method, image): the ROAD score of the model's map, for each of
    ``methods`` and for the smooth random map of :func:`random_maps` (method ``"random"``, the
    same random maps for every model)."""
    baseline = random_maps(len(images), images.shape[1], seed)
    rows = []
    for name, model in models.items():
        for method in [*methods, RANDOM_MAP]:
            heat = baseline if method == RANDOM_MAP else method_maps(model, images, labels, method)
            rows.append(pd.DataFrame({"model": name, "method": method, "image": np.arange(len(images)),
                                      "road": road_scores(model, images, labels, heat, percentiles, seed=seed)}))
    return pd.concat(rows, ignore_index=True)


def faithfulness_under_noise(models: dict[str, nn.Module], images: np.ndarray, labels: np.ndarray, variances, *,
                             methods=("gradcam",), percentiles=ROAD_PERCENTILES, seed: int = 0,
                             space: str = "normalised") -> pd.DataFrame:
    """:func:`faithfulness_table` on the images with noise of each of ``variances`` (one draw, the
    noise of :func:`.robustness.noisy`), with a ``variance`` column."""
    rows = [faithfulness_table(models, images if v == 0 else noisy(images, v, 0, seed, space), labels, methods=methods,
                               percentiles=percentiles, seed=seed).assign(variance=v) for v in variances]
    out = pd.concat(rows, ignore_index=True)
    return out[["model", "variance", *[c for c in out.columns if c not in ("model", "variance")]]]


def faithfulness_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and method (and seed or variance, where ``table`` has such columns): the mean ROAD
    score, and its paired difference from the random-map baseline's on the same images with the
    95 % t-interval over images (above 0: the method beats a random map)."""
    keys = [k for k in (SEED, "model", "variance") if k in table]
    rows = []
    for key, g in table.groupby(keys, sort=False):
        wide = g.pivot(index="image", columns="method", values="road")
        for method in [m for m in g.method.unique() if m != RANDOM_MAP]:
            mean, low, high = t_interval(wide[method] - wide[RANDOM_MAP])
            rows.append({**dict(zip(keys, key)), "method": method, "images": len(wide), "road": wide[method].mean(),
                         "road_random": wide[RANDOM_MAP].mean(), "vs_random": mean, "vs_random_low": low,
                         "vs_random_high": high})
    return pd.DataFrame(rows).set_index([*keys, "method"])
