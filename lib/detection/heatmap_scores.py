"""The detectors' heatmaps scored against each labelled feature (xu2024 §4.1, Table 1, and beyond).

One map per (detector, test feature), from :mod:`.yolo_cams`: the target is the feature's
class at its labelled box. The feature's ground-truth region is its pixel mask (value k + 1 in
``masks/<split>/<stem>.png`` for the feature on label line k, as the generator writes them) or,
for a set without masks, its box; every score row says which in ``region``. A map is scored by
the pixel IoU of its highlight region with that region (xu2024 Eq. 8, half-maximum highlight by
default, Otsu and top 10 % beside it), by the threshold-free energy share and pointing game, and
paired with the detector's own confidence on the feature.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from tqdm import tqdm

from ..data.read import find_image, load_rgb, read_image
from ..explain import heatmaps
from ..study import papers
from . import yolo_cams
from .evaluation import detect

THRESHOLDS = np.round(np.arange(0.1, 0.95, 0.05), 2)  # the IoU-against-threshold curve
TOP_PERCENT = 10.0
MATCH_IOU = 0.5  # a prediction "finds" a feature at this box IoU, as mAP@0.5 counts it


def features(objects: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """The labelled features of one split, in a fixed order (image, label line), indexed 0..n-1."""
    picked = objects[objects.split == split].sort_values(["image", "object"])
    if picked.empty:
        raise ValueError(f"no labelled features in split {split!r}")
    return picked.reset_index(drop=True)


def images_of(folder: Path, feats: pd.DataFrame) -> list[np.ndarray]:
    """The RGB image of every feature (each file read once)."""
    cache = {}
    for split, stem in zip(feats.split, feats.image):
        if stem not in cache:
            cache[stem] = load_rgb(find_image(Path(folder) / "images" / split, stem))
    return [cache[stem] for stem in feats.image]


def regions_of(folder: Path, feats: pd.DataFrame) -> tuple[list[np.ndarray], list[str]]:
    """Each feature's ground-truth region (bool, image pixels) and its source, ``mask`` or ``box``.

    The box is used where the image has no mask file or the mask does not hold the feature."""
    regions, sources, instances = [], [], {}
    for r in feats.itertuples():
        if r.image not in instances:
            path = Path(folder) / "masks" / r.split / f"{r.image}.png"
            instances[r.image] = read_image(path) if path.exists() else None
        inst = instances[r.image]
        region = inst == r.object + 1 if inst is not None else None
        if region is not None and region.shape != (r.image_h, r.image_w):
            raise ValueError(f"mask of {r.image} is {region.shape}, its image ({r.image_h}, {r.image_w})")
        if region is None or not region.any():
            region = np.zeros((r.image_h, r.image_w), bool)
            region[int(np.floor(r.y1)):int(np.ceil(r.y2)), int(np.floor(r.x1)):int(np.ceil(r.x2))] = True
            sources.append("box")
        else:
            sources.append("mask")
        regions.append(region)
    return regions, sources


def feature_summary(feats: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    """Features, images and mean box area (px) per class and region source."""
    return (feats.assign(region=sources).sort_values("class_id", kind="stable")
            .groupby(["class", "region"], sort=False)
            .agg(features=("image", "size"), images=("image", "nunique"), mean_box_px=("box_area_px", "mean")))


def feature_maps(artifacts: dict[str, Path], images: list[np.ndarray], feats: pd.DataFrame, *, imgsz: int,
                 device: str = "cpu", method: str = "gradcam", batch: int = 8) -> dict[str, list[np.ndarray]]:
    """Each detector's map of every feature (class at its labelled box), in image pixels."""
    targets = [(r.class_id, (r.x1, r.y1, r.x2, r.y2)) for r in feats.itertuples()]
    out = {}
    for name, artifact in tqdm(artifacts.items(), desc=f"{method} maps", unit="detector"):
        model = yolo_cams.prepare_model(artifact, device)
        out[name] = yolo_cams.detector_cams(model, images, targets, imgsz=imgsz, method=method, batch=batch)
    return out


def target_layer_table(artifacts: dict[str, Path]) -> pd.DataFrame:
    """Which layers each detector's maps come from: Detect's inputs, their indices and module types."""
    rows = {}
    for name, artifact in artifacts.items():
        model = yolo_cams.prepare_model(artifact)
        idx = list(model.model[-1].f)
        kinds = list(dict.fromkeys(type(model.model[i]).__name__ for i in idx))
        rows[name] = {"layers": ", ".join(map(str, idx)), "modules": ", ".join(kinds),
                      "strides": ", ".join(str(int(s)) for s in model.stride)}
    table = pd.DataFrame(rows).T
    table.index.name = "model"
    return table


def box_iou(box, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x1, y1, x2, y2) box with each row of ``boxes`` (N, 4) (ultralytics' ``box_iou``)."""
    from ultralytics.utils.metrics import box_iou as iou

    boxes = torch.as_tensor(np.asarray(boxes, float).reshape(-1, 4))
    return iou(torch.as_tensor([box], dtype=boxes.dtype), boxes)[0].numpy()


def match_confidence(feats: pd.DataFrame, detections: list[pd.DataFrame]) -> np.ndarray:
    """Per feature, the highest confidence of a same-class detection overlapping its box at
    IoU >= ``MATCH_IOU`` in its image (0 when none does). ``detections[i]`` belongs to feature i's image."""
    out = np.zeros(len(feats))
    for i, (r, found) in enumerate(zip(feats.itertuples(), detections)):
        same = found[found.class_id == r.class_id]
        if len(same):
            hit = box_iou((r.x1, r.y1, r.x2, r.y2), same[["x1", "y1", "x2", "y2"]].to_numpy()) >= MATCH_IOU
            out[i] = same.conf.to_numpy()[hit].max(initial=0.0)
    return out


def detection_confidences(artifacts: dict[str, Path], images: list[np.ndarray], feats: pd.DataFrame, *, imgsz: int,
                          device: str = "cpu") -> dict[str, np.ndarray]:
    """Each detector's :func:`match_confidence` on every feature, from detections down to conf 0.001
    (ultralytics' validation threshold), so that weak detections still count."""
    first = ~feats.image.duplicated().to_numpy()
    unique = [img for img, keep in zip(images, first) if keep]
    where = {stem: k for k, stem in enumerate(feats.image[first])}
    out = {}
    for name, artifact in artifacts.items():
        found = detect(artifact, unique, imgsz=imgsz, conf=0.001, device=device)
        out[name] = match_confidence(feats, [found[where[s]] for s in feats.image])
    return out


def score_map(heatmap: np.ndarray, region: np.ndarray, threshold: float = heatmaps.HIGHLIGHT_THRESHOLD) -> dict[str, float]:
    """IoU of the highlight (threshold, Otsu, top 10 %) with ``region``, energy share and pointing
    game. An all-zero map highlights nothing (IoU 0); its energy share and pointing hit are NaN."""
    empty = not np.asarray(heatmap).max() > 0
    scores = heatmaps.localisation(heatmap, region, threshold)
    return {"iou": scores["iou"],
            "iou_otsu": heatmaps.pixel_iou(heatmaps.highlight(heatmap, "otsu"), region),
            "iou_top10": heatmaps.pixel_iou(heatmaps.highlight(heatmap, "top", top_percent=TOP_PERCENT), region),
            "energy_share": scores["energy_share"],
            "pointing_hit": np.nan if empty else scores["pointing_hit"],
            "highlight_area": float(heatmaps.highlight(heatmap, threshold=threshold).mean()),
            "region_area": scores["region_area"], "empty_map": float(empty)}


def score_features(maps: dict[str, list[np.ndarray]], regions: list[np.ndarray], sources: list[str], feats: pd.DataFrame,
                   confidences: dict[str, np.ndarray] | None = None, threshold: float = heatmaps.HIGHLIGHT_THRESHOLD) -> pd.DataFrame:
    """One row per (model, feature): the feature's identity, its region source and :func:`score_map`."""
    rows = []
    order = feats.sort_values("class_id", kind="stable").index  # classes in the dataset's order
    for name, model_maps in maps.items():
        for i in order:
            m, region, r = model_maps[i], regions[i], feats.iloc[i]
            row = {"model": name, "feature": i, "image": r.image, "object": r.object, "class": r["class"], "region": sources[i],
                   **score_map(m, region, threshold)}
            if confidences is not None:
                row["confidence"] = float(confidences[name][i])
            rows.append(row)
    return pd.DataFrame(rows)


def iou_vs_threshold(maps: dict[str, list[np.ndarray]], regions: list[np.ndarray], feats: pd.DataFrame,
                     thresholds=THRESHOLDS) -> pd.DataFrame:
    """Mean highlight IoU per model, class and highlight threshold (the threshold the paper leaves open)."""
    rows = []
    order = feats.sort_values("class_id", kind="stable").index
    for name, model_maps in maps.items():
        for i in order:
            m, region, cls = model_maps[i], regions[i], feats["class"].iloc[i]
            rows += [{"model": name, "class": cls, "threshold": t,
                      "iou": heatmaps.pixel_iou(heatmaps.highlight(m, threshold=t), region)} for t in thresholds]
    return pd.DataFrame(rows).groupby(["model", "class", "threshold"], sort=False).iou.mean().reset_index()


def class_means(scores: pd.DataFrame, metrics=("iou", "iou_otsu", "iou_top10", "energy_share", "pointing_hit")) -> pd.DataFrame:
    """Mean of each score per model and class (classes in order of appearance), with the feature
    count, the number of all-zero maps and the region source."""
    grouped = scores.groupby(["model", "class"], sort=False)
    table = grouped[list(metrics)].mean()
    table["features"] = grouped.size()
    table["empty_maps"] = grouped.empty_map.sum().astype(int)
    table["region"] = grouped.region.agg(lambda s: "+".join(sorted(set(s))))
    return table


def table1(scores: pd.DataFrame, paper: pd.DataFrame, *, baseline: str = papers.XU2024_BASELINE, attention: str = papers.XU2024_SELECTED,
           label: str = "xu2024") -> pd.DataFrame:
    """xu2024 Table 1: mean highlight IoU (%) per class for two detectors, the improvement in
    points, each beside the paper's value, and the mean improvement over the classes."""
    means = scores[scores.model.isin([baseline, attention])].pivot_table(index="class", columns="model", values="iou", sort=False) * 100
    order = [c for c in paper.index if c in means.index] + [c for c in means.index if c not in paper.index]
    means = means.reindex(order)
    table = pd.DataFrame(index=pd.Index(order, name="class"))
    for name, ours, theirs in (("baseline_iou", means[baseline], paper[baseline]),
                               ("attention_iou", means[attention], paper[attention]),
                               ("improvement_points", means[attention] - means[baseline], paper["improvement"])):
        table[name] = ours
        table[f"{name}_{label}"] = theirs.reindex(order)
    table.loc["mean improvement"] = np.nan
    table.loc["mean improvement", "improvement_points"] = table.improvement_points.iloc[:-1].mean()
    table.loc["mean improvement", f"improvement_points_{label}"] = paper["improvement"].mean()
    counts = scores[scores.model == baseline].groupby("class").size()
    table["features"] = counts.reindex(table.index).astype("Int64")
    regions = scores[scores.model == baseline].groupby("class").region.agg(lambda s: "+".join(sorted(set(s))))
    table["region"] = regions.reindex(table.index)
    table.attrs["labels"] = {"baseline_iou": f"{baseline} IoU %", "attention_iou": f"{attention} IoU %"}
    return table


def bootstrap_interval(values: np.ndarray, n_boot: int, level: float, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (``scipy.stats.bootstrap``); a single value is its
    own interval (scipy needs two)."""
    if len(values) < 2:
        return float(values.mean()), float(values.mean())
    ci = stats.bootstrap((values,), np.mean, n_resamples=n_boot, confidence_level=level, method="percentile", rng=rng).confidence_interval
    return float(ci.low), float(ci.high)


def bootstrap_means(scores: pd.DataFrame, metric: str = "iou", *, n_boot: int = 2000, level: float = 0.95,
                    seed: int = 0) -> pd.DataFrame:
    """Mean of ``metric`` per model and class with a percentile bootstrap interval over features
    (features resampled with replacement; NaN scores left out)."""
    rng = np.random.default_rng(seed)
    rows = []
    for (model, cls), group in scores.groupby(["model", "class"], sort=False):
        values = group[metric].dropna().to_numpy()
        if len(values) == 0:
            rows.append({"model": model, "class": cls, "mean": np.nan, "low": np.nan, "high": np.nan, "n": 0})
            continue
        low, high = bootstrap_interval(values, n_boot, level, rng)
        rows.append({"model": model, "class": cls, "mean": values.mean(), "low": low, "high": high, "n": len(values)})
    return pd.DataFrame(rows).set_index(["model", "class"])


def paired_comparison(scores: pd.DataFrame, metric: str = "iou", *, baseline: str = papers.XU2024_BASELINE, other: str = papers.XU2024_SELECTED,
                      n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """``other`` against ``baseline`` on the same features, per class and over all: the mean
    difference with a bootstrap interval (features resampled in pairs), the share of features where
    ``other`` scores higher, and the two-sided Wilcoxon signed-rank p-value (zero differences dropped)."""
    wide = scores.pivot_table(index=["class", "feature"], columns="model", values=metric, sort=False)[[baseline, other]].dropna()
    rng = np.random.default_rng(seed)
    rows = []
    for cls, diff in [*((c, g[other] - g[baseline]) for c, g in wide.groupby(level="class", sort=False)), ("all", wide[other] - wide[baseline])]:
        d = diff.to_numpy()
        low, high = bootstrap_interval(d, n_boot, level, rng)
        p = stats.wilcoxon(d).pvalue if np.any(d != 0) else np.nan
        rows.append({"class": cls, "features": len(d), "baseline_mean": wide.loc[diff.index, baseline].mean(),
                     "other_mean": wide.loc[diff.index, other].mean(), "difference": d.mean(), "low": low, "high": high,
                     "share_other_higher": float(np.mean(d > 0)), "wilcoxon_p": p})
    table = pd.DataFrame(rows).set_index("class")
    table.attrs["labels"] = {"baseline_mean": baseline, "other_mean": other, "share_other_higher": f"share {other} higher"}
    return table


def quality_vs_confidence(scores: pd.DataFrame, metric: str = "iou", found_at: float = 0.25) -> pd.DataFrame:
    """Per model: Spearman's rank correlation between a feature's heatmap score and the detector's
    confidence on it, and the mean score of features it finds (confidence >= ``found_at``,
    ultralytics' default display threshold) and misses."""
    rows = []
    for model, g in scores.groupby("model", sort=False):
        g = g.dropna(subset=[metric])
        rho, p = stats.spearmanr(g.confidence, g[metric]) if g.confidence.nunique() > 1 and g[metric].nunique() > 1 else (np.nan, np.nan)
        found = g.confidence >= found_at
        rows.append({"model": model, "features": len(g), "spearman_rho": rho, "p": p, "found": int(found.sum()),
                     "score_found": g[metric][found].mean(), "score_missed": g[metric][~found].mean()})
    table = pd.DataFrame(rows).set_index("model")
    table.attrs["labels"] = {"score_found": f"{metric} found", "score_missed": f"{metric} missed"}
    return table


def examples(feats: pd.DataFrame, per_class: int = 1) -> list[int]:
    """Feature indices to show: the ``per_class`` largest boxes of each class (chosen from the
    labels alone, never from the results)."""
    order = feats.assign(area=feats.box_area_px).sort_values(["class_id", "area"], ascending=[True, False], kind="stable")
    return order.groupby("class_id", sort=True).head(per_class).index.tolist()


def method_comparison(artifacts: dict[str, Path], images: list[np.ndarray], feats: pd.DataFrame, regions: list[np.ndarray],
                      sources: list[str], methods, *, imgsz: int, device: str = "cpu",
                      threshold: float = heatmaps.HIGHLIGHT_THRESHOLD) -> pd.DataFrame:
    """Mean scores over all features of each CAM method for each detector (rows: method, model)."""
    rows = {}
    for method in methods:
        scores = score_features(feature_maps(artifacts, images, feats, imgsz=imgsz, device=device, method=method),
                                regions, sources, feats, threshold=threshold)
        for model, g in scores.groupby("model", sort=False):
            rows[(method, model)] = g[["iou", "iou_otsu", "energy_share", "pointing_hit", "empty_map"]].mean()
    table = pd.DataFrame(rows).T.rename(columns={"empty_map": "empty_map_share"})
    table.index.names = ["method", "model"]
    return table


def time_ratios(artifacts: dict[str, Path], images: list[np.ndarray], feats: pd.DataFrame, *, imgsz: int, device: str = "cpu",
                batch: int = 8, rounds: int = 3) -> pd.DataFrame:
    """:func:`.yolo_cams.gradcam_time_ratio` of each detector on the same features."""
    targets = [(r.class_id, (r.x1, r.y1, r.x2, r.y2)) for r in feats.itertuples()]
    rows = {name: yolo_cams.gradcam_time_ratio(yolo_cams.prepare_model(artifact, device), images, targets, imgsz=imgsz,
                                               batch=batch, rounds=rounds)
            for name, artifact in tqdm(artifacts.items(), desc="Grad-CAM timing", unit="detector")}
    table = pd.DataFrame(rows).T.astype({"images": int, "batch": int, "rounds": int})
    table.index.name = "model"
    return table
