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
decoded (N, S, S, 3) arrays in [0, 1].
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
from ..study.seeding import seed_everything
from ..study.seeds import t_interval
from .robustness import maps, min_max, normalised_batch, score_maps

RANDOMISED = ("layer4", "fc")  # re-initialised from the top, as Adebayo et al.'s cascade starts
ROAD_PERCENTILES = (20, 40, 60, 80)  # shares of pixels removed; the package's default is 10 to 90 in steps of 10
RANDOM_MAP = "random"  # the name of the baseline in the faithfulness table


def randomised(model: nn.Module, layers=RANDOMISED, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose ``layers`` (top-level names) are re-initialised with their own
    ``reset_parameters`` (PyTorch's default initialisation), deterministic in ``seed``; the
    model itself is left as it was."""
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
                        layers=RANDOMISED, seed: int = 0) -> pd.DataFrame:
    """One row per (method, model state, image): the map's highlight IoU and energy share on the
    object's mask, for the trained model and its copy with ``layers`` re-initialised, and the
    Spearman rank correlation between the two maps of the same image (1: the map does not depend
    on what those layers learned)."""
    seed_everything(seed)
    control = randomised(model, layers, seed)
    rows = []
    for method in methods:
        trained = maps(model, images, labels, method)
        shuffled = maps(control, images, labels, method)
        for state, heat in (("trained", trained), ("randomised", shuffled)):
            table = score_maps(heat, masks, trained if state == "randomised" else None)
            rows.append(table.assign(method=method, state=state))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["randomised"] = ", ".join(layers)
    return out[["method", "state", "image", *[c for c in out.columns if c not in ("method", "state", "image")]]]


def randomisation_summary(table: pd.DataFrame, values=("iou", "energy_share")) -> pd.DataFrame:
    """Per method: the mean of each of ``values`` for the trained model and its randomised copy,
    the paired difference (trained minus randomised) with its 95 % t-interval over images and the
    Wilcoxon p-value, and the mean rank correlation between the two maps."""
    rows = []
    for method, g in table.groupby("method", sort=False):
        wide = {s: g[g.state == s].set_index("image") for s in ("trained", "randomised")}
        row = {"method": method, "images": len(wide["trained"]),
               "rank_correlation": wide["randomised"]["rank_correlation"].mean()}
        for v in values:
            diff = (wide["trained"][v] - wide["randomised"][v]).dropna()
            mean, low, high = t_interval(diff)
            row.update({f"{v}_trained": wide["trained"][v].mean(), f"{v}_randomised": wide["randomised"][v].mean(),
                        f"{v}_difference": mean, f"{v}_difference_low": low, f"{v}_difference_high": high,
                        f"{v}_wilcoxon_p": stats.wilcoxon(diff).pvalue if np.any(diff != 0) else np.nan})
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


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
            heat = baseline if method == RANDOM_MAP else maps(model, images, labels, method)
            rows.append(pd.DataFrame({"model": name, "method": method, "image": np.arange(len(images)),
                                      "road": road_scores(model, images, labels, heat, percentiles, seed=seed)}))
    return pd.concat(rows, ignore_index=True)
