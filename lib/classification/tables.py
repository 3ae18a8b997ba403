"""The tables of notebooks 05-07, assembled from a split's saved maps (:mod:`.maps`) and from the
noise sweeps (:mod:`.robustness`), with the papers' values in columns named as the paper's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.read import load_mask
from ..explain import heatmaps
from ..explain.cams import RESNET_STAGES
from ..study import papers

COORDINATES = ["mean_x", "mean_y", "std_x", "std_y"]
# The maps of a split compared by region in notebook 05: the table's name for each, its key in maps.npz.
DROPLET_MAPS = {"Grad-CAM": "cam_layer4", "Guided Grad-CAM": "guided"}


def split_masks(folder: Path, maps) -> list[np.ndarray | None]:
    """The object mask of every image of a split's saved maps (None where an image has none)."""
    return [load_mask(folder, str(f)) for f in maps["files"]]


def xu2024_table3(maps, classes, threshold: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """xu2024 Table 3: each class's highlight coordinates (Guided Grad-CAM at or above ``threshold``
    of its peak), the same weighted by the map, and the paper's values; also the thresholded
    table alone (for the ellipse figure)."""
    thresholded = heatmaps.class_coordinate_table(maps["guided"], maps["labels"], classes, threshold)
    weighted = heatmaps.class_coordinate_table(maps["guided"], maps["labels"], classes, weighted=True)
    table = (thresholded[["images", *COORDINATES]]
             .join(weighted[COORDINATES].add_suffix("_weighted"))
             .join(papers.XU2024_TABLE3.add_suffix("_xu2024")))
    return table, thresholded


def droplet_regions(folder: Path, maps, classes, threshold: float) -> pd.DataFrame:
    """Highlight, energy and area share of the droplet's edge band, interior and background, per
    map kind and class (no rows when the set has no masks)."""
    masks = split_masks(folder, maps)
    return pd.concat({name: heatmaps.region_share_table(maps[key], masks, maps["labels"], classes, threshold)
                      for name, key in DROPLET_MAPS.items()}, names=["map"])


def layer_localisation(folder: Path, maps, classes, target_class: str, threshold: float) -> pd.DataFrame:
    """How well each ResNet stage's Grad-CAM covers the mask of the ``target_class`` images (no rows
    when the set has no masks)."""
    chosen = maps["labels"] == classes.index(target_class)
    masks = [load_mask(folder, str(f)) for f in maps["files"][chosen]]
    return heatmaps.localisation_table({s: maps[f"cam_{s}"][chosen] for s in RESNET_STAGES}, masks, threshold)


def mask_ratio_table(summary: pd.DataFrame) -> pd.DataFrame:
    """liu2023 Fig. 8 as a table: each DropKey mask ratio's predicted-class confidence at every
    noise variance and its clean accuracy, per seed where ``summary`` (from
    :func:`.robustness.sweep_summary`) has seeds. Columns: the noise variances, then ``clean_accuracy``."""
    confidence = summary["p_pred"].unstack("variance")
    table = confidence.join(summary["accuracy"].unstack("variance")[[0.0]].rename(columns={0.0: "clean_accuracy"}))
    table.attrs["labels"] = {v: f"confidence at {v}" for v in confidence.columns}
    return table
