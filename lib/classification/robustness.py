"""How the droplet classifiers and their maps respond to perturbed inputs (liu2023 Fig. 2-8).

Images are the decoded splits of training (:mod:`.splits`: PIL, bilinear with
antialiasing), *then* perturbed, then normalised: noise of variance v is therefore v at the
network's input (in the chosen space, :mod:`.perturbations`), not blurred away by a later
resize. All models see the same noisy images (one generator per variance and draw), so their
curves are paired. Maps explain the image's true class, so that they can be scored against the
droplet's mask; confidence is the softmax probability of the true class.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from scipy import stats
from tqdm import tqdm

from ..data.read import load_mask
from ..explain import cams, heatmaps
from ..study.seeds import SEED
from . import perturbations
from .resnet import imagenet_normalise, load_split


def stratified(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a seeded sample of ``n`` items with every class in its share of ``labels``
    (largest remainders; all items when ``n`` is at least their number), in their order."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * n / len(labels)
    take = np.floor(quota).astype(int)
    take[np.argsort(take - quota)[: n - take.sum()]] += 1  # the largest remainders get the rest
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked))


def split_inputs(folder: Path, classes, imgsz: int, split: str = "test", sample: int | None = None, seed: int = 0):
    """Images (N, S, S, 3) float in [0, 1] at the input size, labels (N,), masks (bool (S, S) or
    None) and files of one split, in the classifier's order; with ``sample``, a stratified seeded
    sample of that many images (:func:`stratified`)."""
    data = load_split(folder, classes, imgsz, split)
    labels = data.labels.numpy()
    keep = stratified(labels, len(labels) if sample is None else sample, seed)
    masks = []
    for f in (data.files[i] for i in keep):
        m = load_mask(folder, f)
        masks.append(None if m is None else np.asarray(Image.fromarray(m).resize((imgsz, imgsz), Image.NEAREST)))
    return data.floats()[keep], labels[keep], masks, [data.files[i] for i in keep]


def normalised_batch(images: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) in [0, 1] -> normalised (N, 3, S, S)."""
    return imagenet_normalise(torch.from_numpy(np.ascontiguousarray(images, np.float32)).permute(0, 3, 1, 2))


def probabilities(model: torch.nn.Module, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Softmax probabilities (N, classes)."""
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return np.concatenate([torch.softmax(model(normalised_batch(images[i:i + batch]).to(device)), 1).cpu().numpy()
                               for i in range(0, len(images), batch)])


def noisy(images: np.ndarray, variance: float, draw: int, seed: int, space: str = "normalised") -> np.ndarray:
    """The images with Gaussian noise of ``variance``; the same (variance, draw, seed) gives the same noise."""
    rng = np.random.default_rng([seed, draw, int(round(variance * 1e6))])
    return np.stack([perturbations.gaussian_noise(img, variance, rng, space) for img in images])


def noise_sweep(models: dict[str, torch.nn.Module], images: np.ndarray, labels: np.ndarray, variances, *, draws: int = 2,
                seed: int = 0, space: str = "normalised") -> pd.DataFrame:
    """One row per (model, variance, draw, image): the confidence of the predicted class (what
    liu2023 Fig. 3 plots), the probability of the true class, and whether the prediction is right."""
    rows = []
    for v in tqdm(list(variances), desc="noise sweep", unit="variance"):
        for d in range(draws if v > 0 else 1):
            x = noisy(images, v, d, seed, space)
            for name, model in models.items():
                p = probabilities(model, x)
                rows.append(pd.DataFrame({"model": name, "variance": v, "draw": d, "image": np.arange(len(images)),
                                          "p_pred": p.max(1), "p_true": p[np.arange(len(labels)), labels],
                                          "correct": p.argmax(1) == labels}))
    return pd.concat(rows, ignore_index=True)


def sweep_summary(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per model and variance (and seed, where ``sweep`` has a ``seed`` column): the mean
    predicted-class confidence, true-class probability and accuracy over images (draws averaged
    per image first), ``retained``: the share of the images the model classifies correctly when
    clean that it still classifies correctly (NaN without a clean row), and the number of images."""
    keys = [k for k in (SEED, "model", "variance") if k in sweep]
    per_image = sweep.groupby([*keys, "image"], sort=False)[["p_pred", "p_true", "correct"]].mean()
    summary = per_image.groupby(keys, sort=False).agg(p_pred=("p_pred", "mean"), p_true=("p_true", "mean"),
                                                     accuracy=("correct", "mean"), images=("p_true", "size"))
    flat = per_image.reset_index()
    clean = flat[flat.variance == 0].drop(columns=["variance", "p_pred", "p_true"]).rename(columns={"correct": "clean"})
    flat = flat.merge(clean, on=[k for k in (*keys, "image") if k != "variance"], how="left")
    retained = flat[flat.clean == 1].groupby(keys, sort=False)["correct"].mean().rename("retained")
    return summary.join(retained)[["p_pred", "p_true", "accuracy", "retained", "images"]]


def confidence_beside_paper(summary: pd.DataFrame, paper: pd.DataFrame, label: str = "liu2023") -> pd.DataFrame:
    """Per seed, the mean predicted-class confidence (the paper's quantity) and true-class
    probability at the paper's variances, beside the paper's value (``paper``: index variance, a
    column per model, named as ours). ``summary`` from :func:`sweep_summary` of a per-seed sweep."""
    long = paper.rename_axis("variance").reset_index().melt("variance", var_name="model", value_name=f"confidence_{label}")
    table = summary.reset_index().merge(long, on=["model", "variance"])[[SEED, "model", "variance", "p_pred", "p_true",
                                                                         f"confidence_{label}"]]
    return table.sort_values([SEED, "model", "variance"], kind="stable").reset_index(drop=True)


def maps(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, method: str = "gradcam") -> np.ndarray:
    """Maps (N, S, S) of the true class at ``layer4``."""
    return cams.cam(model, normalised_batch(images), labels, "layer4", method)


def score_maps(heat: np.ndarray, masks, clean: np.ndarray | None = None) -> pd.DataFrame:
    """Per image: highlight IoU and energy share on the droplet mask, and (given the clean maps)
    Spearman's rank correlation between the clean and this map (stability). NaN without a mask."""
    rows = []
    for i, (h, m) in enumerate(zip(heat, masks)):
        row = {"image": i, "iou": np.nan, "energy_share": np.nan}
        if m is not None and m.any():
            row.update(iou=heatmaps.pixel_iou(heatmaps.highlight(h), m), energy_share=heatmaps.energy_share(h, m))
        if clean is not None:
            row["rank_correlation"] = stats.spearmanr(clean[i].ravel(), h.ravel())[0] if np.ptp(h) > 0 and np.ptp(clean[i]) > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def localisation_sweep(models: dict[str, torch.nn.Module], images: np.ndarray, labels: np.ndarray, masks, variances, methods,
                       *, draws: int = 2, seed: int = 0, space: str = "normalised") -> pd.DataFrame:
    """One row per (model, method, variance, draw, image): IoU, energy share and rank correlation
    with the clean map of the same model and method."""
    rows = []
    for name, model in tqdm(models.items(), desc="localisation", unit="model"):
        for method in methods:
            clean = maps(model, images, labels, method)
            for v in variances:
                for d in range(draws if v > 0 else 1):
                    heat = clean if v == 0 else maps(model, noisy(images, v, d, seed, space), labels, method)
                    rows.append(score_maps(heat, masks, clean).assign(model=name, method=method, variance=v, draw=d))
    return pd.concat(rows, ignore_index=True)


def localisation_summary(sweep: pd.DataFrame, values=("iou", "energy_share", "rank_correlation"),
                         by=("model", "method", "variance")) -> pd.DataFrame:
    """Mean of each score per model, method and variance (or the columns ``by``), and seed where
    ``sweep`` has a ``seed`` column (draws, where there are several, averaged per image first)."""
    keys = [k for k in (SEED, *by) if k in sweep]
    per_image = sweep.groupby([*keys, "image"], sort=False)[list(values)].mean()
    return per_image.groupby(keys, sort=False).mean()


def perturbed_sets(images: np.ndarray, masks, *, rotation: float, stretch: tuple[float, float], contrast: float,
                   small: float) -> dict[str, tuple[np.ndarray, list]]:
    """The test images under each of liu2023's other perturbations, masks moved along."""
    def geometric(fn):
        out = [fn(img, m) for img, m in zip(images, masks)]
        return np.stack([o[0] for o in out]), [o[1] for o in out]

    return {f"rotated {rotation:g}°": geometric(lambda img, m: perturbations.rotate(img, rotation, m)),
            f"stretched x{stretch[0]:g}, y{stretch[1]:g}": geometric(lambda img, m: perturbations.stretch(img, *stretch, mask=m)),
            f"low contrast x{contrast:g}": (np.stack([perturbations.low_contrast(img, contrast) for img in images]), list(masks)),
            f"small object x{small:g}": geometric(lambda img, m: perturbations.small_object(img, small, m))}


LIU2023_PERTURBATION_FIGURES = {  # file: (title, the perturbations shown, by how their names in perturbed_sets start)
    "liu2023_fig04_rotation_stretching": ("liu2023 Fig. 4: rotated and stretched", ("rotated", "stretched")),
    "liu2023_fig06_low_contrast": ("liu2023 Fig. 6: low contrast", ("low contrast",)),
    "liu2023_fig07_small_objects": ("liu2023 Fig. 7: small objects", ("small object",)),
}


def figure_inputs(images: np.ndarray, sets: dict, example: int) -> dict[str, dict[str, np.ndarray]]:
    """For each of liu2023's perturbation figures (:data:`LIU2023_PERTURBATION_FIGURES`), image
    ``example`` clean and under that figure's perturbations of ``sets`` (:func:`perturbed_sets`)."""
    return {name: {"clean": images[example], **{k: x[example] for k, (x, _) in sets.items() if k.startswith(kinds)}}
            for name, (_, kinds) in LIU2023_PERTURBATION_FIGURES.items()}


def perturbation_table(models: dict[str, torch.nn.Module], sets: dict, labels: np.ndarray, method: str = "gradcam") -> pd.DataFrame:
    """Per perturbation and model: accuracy, mean probability of the true class, and the map's IoU
    and energy share."""
    rows = []
    for kind, (x, masks) in sets.items():
        for name, model in models.items():
            p = probabilities(model, x)
            scores = score_maps(maps(model, x, labels, method), masks)
            rows.append({"perturbation": kind, "model": name, "accuracy": (p.argmax(1) == labels).mean(),
                         "p_true": p[np.arange(len(labels)), labels].mean(), "iou": scores.iou.mean(),
                         "energy_share": scores.energy_share.mean()})
    return pd.DataFrame(rows).set_index(["perturbation", "model"])


def map_grid(models: dict[str, torch.nn.Module], inputs: dict[str, np.ndarray], label: int, method: str = "gradcam"):
    """Each model's map of ``label`` on each input image: (images, maps), rows = models, columns = inputs."""
    x = np.stack(list(inputs.values()))
    rows = {name: maps(model, x, np.full(len(x), label), method) for name, model in models.items()}
    return [list(x) for _ in models], [list(m) for m in rows.values()]


def entry_maps(models: dict[str, torch.nn.Module], image: np.ndarray, label: int, entries) -> list[np.ndarray]:
    """One image's map for each ``(model name, CAM method)`` of ``entries`` (liu2023 Fig. 5)."""
    return [maps(models[name], image[None], np.array([label]), method)[0] for name, method in entries]


def method_table(models: dict[str, torch.nn.Module], images: np.ndarray, labels: np.ndarray, masks, entries, *,
                 variance: float, draw: int = 0, seed: int = 0, space: str = "normalised") -> pd.DataFrame:
    """liu2023 Fig. 5 scored over a sample: one row per (model, method, image) for each
    ``(model name, CAM method)`` of ``entries``, all on the same noisy images (``variance``, one
    draw): highlight IoU and energy share on the object's mask."""
    x = images if variance == 0 else noisy(images, variance, draw, seed, space)
    rows = [score_maps(maps(models[name], x, labels, method), masks).assign(model=name, method=method) for name, method in entries]
    return pd.concat(rows, ignore_index=True).assign(variance=variance)[["variance", "model", "method", "image", "iou", "energy_share"]]


def versus_best(summary: pd.DataFrame, entry: tuple[str, str], column: str = "iou") -> pd.DataFrame:
    """Per seed (and variance) of a :func:`method_table`'s summary (:func:`localisation_summary`): ``entry``'s (model, method) ``column``
    against the best of the other entries, and the difference (above 0: ``entry`` beats every other)."""
    flat = summary.reset_index()
    keys = [k for k in (SEED, "variance") if k in flat]
    rows = []
    for key, g in flat.groupby(keys, sort=False):
        mine = g[(g.model == entry[0]) & (g.method == entry[1])]
        if mine.empty:
            raise ValueError(f"no {entry} in the summary")
        others = g.drop(mine.index).dropna(subset=[column])  # none scored without object masks
        best = others.loc[others[column].idxmax()] if len(others) else pd.Series({"model": "", "method": "", column: np.nan})
        rows.append({**dict(zip(keys, key)), "entry": f"{entry[0]} {entry[1]}", column: float(mine[column].iloc[0]),
                     "best other": f"{best.model} {best.method}".strip(), f"best other {column}": float(best[column]),
                     "difference": float(mine[column].iloc[0] - best[column])})
    return pd.DataFrame(rows)


@contextmanager
def regulariser_on(model: torch.nn.Module):
    """Within the block, the DropKey or Dropout of ``model``'s attention acts at inference too
    (liu2023's "randomness during Grad-CAM" reading); each forward pass draws new masks."""
    modules = [m for m in model.modules() if hasattr(m, "keep_at_inference")]
    if not modules:
        raise ValueError("the model has no attention regulariser to keep on at inference")
    before = [m.keep_at_inference for m in modules]
    for m in modules:
        m.keep_at_inference = True
    try:
        yield model
    finally:
        for m, b in zip(modules, before):
            m.keep_at_inference = b


REGULARISER_OFF, REGULARISER_ON = "regulariser off", "regulariser on"  # the two kinds of map of sampling_table


def sampled_maps(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, draws: int, seed: int = 0,
                 method: str = "gradcam") -> np.ndarray:
    """Maps (N, S, S) with the regulariser on at inference, averaged over ``draws`` mask draws
    (torch's generator seeded with ``seed`` for this call alone) and scaled to [0, 1] per map."""
    with regulariser_on(model), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean = sum(maps(model, images, labels, method) for _ in range(draws)) / draws
    return min_max(mean)


def min_max(stack: np.ndarray) -> np.ndarray:
    """Each map of an (N, H, W) stack scaled to [0, 1] (a flat map becomes 0), as float32."""
    low, high = stack.min(axis=(1, 2), keepdims=True), stack.max(axis=(1, 2), keepdims=True)
    return ((stack - low) / np.maximum(high - low, 1e-8)).astype(np.float32)


def sampling_table(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, masks, variances, *, draws: int = 8,
                   seed: int = 0, space: str = "normalised", method: str = "gradcam") -> pd.DataFrame:
    """Per variance and image, the model's usual map (``maps`` "regulariser off") against the map
    averaged over ``draws`` with it on ("regulariser on"): IoU and energy share of each, and the
    rank correlation of the averaged map with the usual one (1: the randomness changes nothing)."""
    rows = []
    for v in variances:
        x = images if v == 0 else noisy(images, v, 0, seed, space)
        usual = maps(model, x, labels, method)
        rows += [score_maps(usual, masks).assign(maps=REGULARISER_OFF, variance=v, draws=0),
                 score_maps(sampled_maps(model, x, labels, draws, seed, method), masks, usual)
                 .assign(maps=REGULARISER_ON, variance=v, draws=draws)]
    out = pd.concat(rows, ignore_index=True)
    return out[["variance", "maps", "draws", "image", *[c for c in out.columns if c not in ("variance", "maps", "draws", "image")]]]


def sampling_grid(model: torch.nn.Module, inputs: dict[str, np.ndarray], label: int, draws: int, seed: int = 0,
                  method: str = "gradcam"):
    """The usual map of ``label`` on each input image and the map averaged over ``draws`` with the
    regulariser on: (images, maps), rows = the two kinds of map, columns = inputs."""
    x = np.stack(list(inputs.values()))
    labels = np.full(len(x), label)
    return [list(x), list(x)], [list(maps(model, x, labels, method)), list(sampled_maps(model, x, labels, draws, seed, method))]
