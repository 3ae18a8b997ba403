"""Measurements on heatmaps: the highlight region, pixel IoU (xu2024 Eq. 8), energy share,
pointing game, highlight coordinate statistics (xu2024 Eq. 9-10) and where a map's weight falls
relative to an object's mask (edge band, interior, background).

A heatmap is a 2-D array of non-negative values (a CAM, or a Guided Grad-CAM magnitude).
``normalise`` divides it by its peak. The papers do not say which threshold makes the
"highlight region"; the study's default is the half-maximum region (``HIGHLIGHT_THRESHOLD``
= 0.5 of the peak), with Otsu's threshold and the top-k % of pixels as alternatives, and the
threshold-free scores beside them. Coordinates are 0-based pixel indices, x = column, y = row.
"""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from ..study.evidence import rises_with_depth

HIGHLIGHT_THRESHOLD = 0.5
HIGHLIGHT_METHODS = ("threshold", "otsu", "top")
EDGE_BAND_PX = 8  # half-width of a mask's edge band on a 225 px image (scaled with the image)


def normalise(heatmap: np.ndarray) -> np.ndarray:
    """``heatmap`` clipped at 0 and divided by its peak; an all-zero map stays all zero."""
    h = np.clip(np.asarray(heatmap, np.float64), 0, None)
    peak = h.max() if h.size else 0.0
    return h / peak if peak > 0 else h


def highlight(heatmap: np.ndarray, method: str = "threshold", threshold: float = HIGHLIGHT_THRESHOLD,
              top_percent: float = 10.0) -> np.ndarray:
    """Boolean highlight region of one map (xu2024 Fig. 10).

    ``threshold``: pixels at or above ``threshold`` x peak; ``otsu``: Otsu's threshold on the
    normalised map; ``top``: the ``top_percent`` % highest pixels. Zero pixels are never highlighted.
    """
    h = normalise(heatmap)
    if method == "threshold":
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        cut = threshold
    elif method == "otsu":
        cut, _ = cv2.threshold(np.round(h * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        cut = (cut + 1) / 255  # cv2 keeps values strictly above its threshold
    elif method == "top":
        if not 0 < top_percent <= 100:
            raise ValueError(f"top_percent must be in (0, 100], got {top_percent}")
        cut = np.quantile(h, 1 - top_percent / 100)
    else:
        raise ValueError(f"unknown highlight method {method!r}; choose one of: {', '.join(HIGHLIGHT_METHODS)}")
    return (h >= cut) & (h > 0)


def pixel_iou(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two boolean masks (xu2024 Eq. 8, as a fraction); NaN when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} vs {b.shape}")
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else float("nan")


def energy_share(heatmap: np.ndarray, region: np.ndarray) -> float:
    """Share of the map's total weight inside ``region`` (threshold-free); NaN for an all-zero map."""
    h = np.clip(np.asarray(heatmap, np.float64), 0, None)
    total = h.sum()
    return float(h[np.asarray(region, bool)].sum() / total) if total > 0 else float("nan")


def pointing_hit(heatmap: np.ndarray, region: np.ndarray) -> bool:
    """Pointing game: whether the map's peak lies inside ``region``."""
    return bool(np.asarray(region, bool).flat[int(np.argmax(heatmap))])


def coordinate_stats(heatmaps: np.ndarray, threshold: float = HIGHLIGHT_THRESHOLD, weighted: bool = False) -> dict[str, float]:
    """Mean and population standard deviation of highlight coordinates pooled over maps (xu2024 Eq. 9-10).

    ``heatmaps`` is (N, H, W). Unweighted: every pixel of every map's highlight region counts once
    (the paper's reading). Weighted: every pixel counts with its normalised intensity, no threshold.
    """
    maps = np.asarray(heatmaps, np.float64)
    if maps.ndim != 3 or len(maps) == 0:
        raise ValueError(f"expected a non-empty (N, H, W) stack of maps, got shape {maps.shape}")
    ys, xs = np.mgrid[0:maps.shape[1], 0:maps.shape[2]]
    weights = np.stack([normalise(m) if weighted else highlight(m, threshold=threshold) for m in maps]).astype(np.float64)
    w = weights.sum()
    if w == 0:
        return {"mean_x": np.nan, "mean_y": np.nan, "std_x": np.nan, "std_y": np.nan, "pixels": 0.0}
    wx, wy = (weights * xs).sum() / w, (weights * ys).sum() / w
    sx = np.sqrt((weights * (xs - wx) ** 2).sum() / w)
    sy = np.sqrt((weights * (ys - wy) ** 2).sum() / w)
    return {"mean_x": float(wx), "mean_y": float(wy), "std_x": float(sx), "std_y": float(sy), "pixels": float(w)}


def region_bands(mask: np.ndarray, half_width: int | None = None) -> dict[str, np.ndarray]:
    """Split an image by an object mask into ``edge`` (within ``half_width`` px of the outline, on
    either side), ``interior`` (the rest of the object) and ``background`` (the rest of the image)."""
    m = np.asarray(mask, bool)
    if half_width is None:
        half_width = max(1, round(EDGE_BAND_PX * m.shape[0] / 225))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * half_width + 1, 2 * half_width + 1))
    grown = cv2.dilate(m.astype(np.uint8), kernel).astype(bool)
    shrunk = cv2.erode(m.astype(np.uint8), kernel, borderValue=1).astype(bool)
    edge = grown & ~shrunk
    return {"edge": edge, "interior": m & ~edge, "background": ~grown}


def region_shares(heatmap: np.ndarray, mask: np.ndarray, threshold: float = HIGHLIGHT_THRESHOLD,
                  half_width: int | None = None) -> dict[str, float]:
    """For each region of :func:`region_bands`: its share of the highlight pixels, of the map's
    energy, and of the image area (what a uniform map would give)."""
    bands = region_bands(mask, half_width)
    lit = highlight(heatmap, threshold=threshold)
    n_lit = lit.sum()
    out = {}
    for name, region in bands.items():
        out[f"{name}_highlight"] = float((lit & region).sum() / n_lit) if n_lit else float("nan")
        out[f"{name}_energy"] = energy_share(heatmap, region)
        out[f"{name}_area"] = float(region.mean())
    return out


def localisation(heatmap: np.ndarray, region: np.ndarray, threshold: float = HIGHLIGHT_THRESHOLD) -> dict[str, float]:
    """How well one map points at ``region``: IoU of its highlight, energy share, pointing game,
    and the region's share of the image (the energy share of a uniform map)."""
    return {"iou": pixel_iou(highlight(heatmap, threshold=threshold), region), "energy_share": energy_share(heatmap, region),
            "pointing_hit": float(pointing_hit(heatmap, region)), "region_area": float(np.asarray(region, bool).mean())}


# -- over a split: one row per class ------------------------------------------------------------------
def class_coordinate_table(maps: np.ndarray, labels: np.ndarray, classes, threshold: float = HIGHLIGHT_THRESHOLD,
                           weighted: bool = False) -> pd.DataFrame:
    """:func:`coordinate_stats` of the maps of each class (xu2024 Table 3 layout)."""
    rows = {}
    for i, c in enumerate(classes):
        picked = maps[np.asarray(labels) == i]
        rows[c] = {**coordinate_stats(picked, threshold, weighted), "images": len(picked)} if len(picked) else {"images": 0}
    table = pd.DataFrame(rows).T.astype({"images": int})
    table.index.name = "class"
    return table


def region_share_table(maps: np.ndarray, masks, labels: np.ndarray, classes, threshold: float = HIGHLIGHT_THRESHOLD) -> pd.DataFrame:
    """Mean :func:`region_shares` per class over the images that have a mask."""
    rows = [{"class": classes[int(y)], **region_shares(m, mask, threshold)}
            for m, mask, y in zip(maps, masks, labels) if mask is not None]
    if not rows:  # real data without masks
        return pd.DataFrame(columns=[f"{r}_{k}" for r in REGIONS for k in ("highlight", "energy", "area")],
                            index=pd.Index([], name="class"), dtype=float)
    table = pd.DataFrame(rows).groupby("class").mean()
    return table.reindex([c for c in classes if c in table.index])


def localisation_table(maps_by_layer: dict[str, np.ndarray], masks, threshold: float = HIGHLIGHT_THRESHOLD) -> pd.DataFrame:
    """Mean :func:`localisation` per layer over the images that have a non-empty mask (no rows
    when none has: real data without masks)."""
    keep = [i for i, m in enumerate(masks) if m is not None and m.any()]
    if not keep:
        return pd.DataFrame(index=pd.Index([], name="layer"))
    rows = {name: pd.DataFrame([localisation(maps[i], masks[i], threshold) for i in keep]).mean() for name, maps in maps_by_layer.items()}
    table = pd.DataFrame(rows).T.assign(images=len(keep))
    table.index.name = "layer"
    return table


REGIONS = ("edge", "interior", "background")


def region_enrichment(regions: pd.DataFrame) -> pd.DataFrame:
    """Each region's energy share over its area share (1 = what a map blind to the object gives)."""
    return pd.DataFrame({r: regions[f"{r}_energy"] / regions[f"{r}_area"] for r in REGIONS})


def enrichment_summary(enrichment: pd.DataFrame) -> list[str]:
    """One line per map: the mean enrichment of each region over the classes, and the most attended region."""
    lines = []
    for name in enrichment.index.get_level_values("map").unique():
        e = enrichment.loc[name]
        lines.append(f"{name}: edge band x{e.edge.mean():.2f}, interior x{e.interior.mean():.2f}, background x{e.background.mean():.2f} "
                     f"of its area share (mean over classes); the most attended region is the {e.mean().idxmax()}")
    return lines


def depth_trend(scores: pd.Series, name: str = "IoU") -> str:
    """Whether a score per network stage (in stage order) rises with depth: the values, and the
    verdict and reason of the claims ledger's rule (:func:`lib.study.evidence.rises_with_depth`), so
    that the notebook and the ledger cannot read the same numbers differently."""
    trend = rises_with_depth(scores)
    first, last = scores.index[0], scores.index[-1]
    return (f"{name} by stage: {', '.join(f'{k} {v:.3f}' for k, v in scores.items())}\n"
            f"sharpens with depth: {trend.verdict} ({trend.reason}) | {last} vs {first}: {trend.value:+.3f} | "
            f"best stage: {scores.idxmax()}")
