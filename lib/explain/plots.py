"""Figures of maps: a map laid over its image, a region's outline, grids of maps, where the
highlights of each class lie, and how a map's energy divides between regions and layers."""
from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Patch
import numpy as np
import pandas as pd
import seaborn as sns

from ..study.plots import CLASS_COLOURS, panel_grid
from .heatmaps import highlight, pixel_iou


CAM_COLOURMAP = "jet"  # what pytorch-grad-cam's show_cam_on_image lays over the image (cv2.COLORMAP_JET)
HIGHLIGHT_COLOURS = {"ground truth only": (60, 110, 255), "highlight only": (230, 50, 40), "both": (255, 220, 0)}


def cam_colourbar(fig: plt.Figure, label: str = "map value (each map scaled to [0, 1])") -> plt.Figure:
    """One colour bar beside a whole grid of maps laid over images by :func:`overlay`."""
    fig.colorbar(ScalarMappable(Normalize(0, 1), cmap=CAM_COLOURMAP), ax=fig.axes, shrink=0.7, pad=0.01, label=label)
    return fig


def overlay(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """A heatmap in [0, 1] laid over an RGB uint8 image (resized to the map), as the papers show them."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    h, w = heatmap.shape
    img = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if image.shape[:2] != (h, w) else image
    return show_cam_on_image(img.astype(np.float32) / 255, np.clip(heatmap, 0, 1).astype(np.float32), use_rgb=True)


def outline(image: np.ndarray, mask: np.ndarray | None, colour=(0, 255, 255)) -> np.ndarray:
    """``image`` with the outline of ``mask`` drawn on it (unchanged when there is no mask)."""
    if mask is None:
        return image
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return cv2.drawContours(image.copy(), contours, -1, colour, 1)


def overlay_grid(images: list[list[np.ndarray]], maps: list[list[np.ndarray]], row_labels: list[str], col_titles: list[str],
                 size: float = 1.9) -> plt.Figure:
    """Maps laid over their images (as the papers show them), one labelled row per model or input."""
    rows = [[overlay((np.clip(img, 0, 1) * 255).astype(np.uint8) if img.dtype != np.uint8 else img, m) for img, m in zip(ri, rm)]
            for ri, rm in zip(images, maps)]
    return cam_colourbar(panel_grid(rows, row_labels, col_titles, size=size))


def feature_heatmaps(images: list[np.ndarray], regions: list[np.ndarray], maps: dict[str, list[np.ndarray]], picks: list[int],
                     row_labels: list[str]) -> plt.Figure:
    """Each model's map of the same features over their images, the feature's ground-truth region
    outlined in white (xu2024 Fig. 9); the first column shows the image and region alone."""
    rows = [[outline(images[i], regions[i], (255, 255, 255))]
            + [outline(overlay(images[i], model_maps[i]), regions[i], (255, 255, 255)) for model_maps in maps.values()]
            for i in picks]
    return cam_colourbar(panel_grid(rows, row_labels, ["image, ground truth"] + list(maps), size=2.3))


def highlight_vs_truth(images: list[np.ndarray], regions: list[np.ndarray], maps: dict[str, list[np.ndarray]], picks: list[int],
                       row_labels: list[str], threshold: float, size: float = 2.3) -> plt.Figure:
    """The highlight region of each map against the ground-truth region, with their pixel IoU
    (xu2024 Fig. 10): ground truth only blue, highlight only red, both yellow, on the grey image."""
    names = list(maps)
    fig, axes = plt.subplots(len(picks), len(names), figsize=(size * len(names), size * 0.75 * len(picks) + 0.4), squeeze=False)
    for r, i in enumerate(picks):
        grey = cv2.cvtColor(cv2.cvtColor(images[i], cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB) // 2
        for c, name in enumerate(names):
            lit, truth = highlight(maps[name][i], threshold=threshold), regions[i]
            panel = grey.copy()
            panel[truth & ~lit] = HIGHLIGHT_COLOURS["ground truth only"]
            panel[lit & ~truth] = HIGHLIGHT_COLOURS["highlight only"]
            panel[lit & truth] = HIGHLIGHT_COLOURS["both"]
            ax = axes[r, c]
            ax.imshow(panel)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{name}: IoU {pixel_iou(lit, truth):.1%}" if r == 0 else f"IoU {pixel_iou(lit, truth):.1%}", fontsize=7)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    fig.tight_layout()
    fig.legend(handles=[Patch(color=np.array(c) / 255, label=k) for k, c in HIGHLIGHT_COLOURS.items()],
               loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(HIGHLIGHT_COLOURS), fontsize=7, frameon=False)
    return fig


def centroid_ellipses(tables: dict[str, pd.DataFrame], size: int = 225) -> plt.Figure:
    """Each class's highlight mean (dot) and one-standard-deviation ellipse on the image frame;
    one panel per source (e.g. this study and the paper), classes in the same colours."""
    from matplotlib.patches import Ellipse

    fig, axes = plt.subplots(1, len(tables), figsize=(3.4 * len(tables), 3.4), squeeze=False)
    for ax, (source, table) in zip(axes[0], tables.items()):
        for k, (cls, r) in enumerate(table.iterrows()):
            if not np.isfinite(r.get("mean_x", np.nan)):
                continue
            colour = CLASS_COLOURS[k]
            ax.add_patch(Ellipse((r.mean_x, r.mean_y), 2 * r.std_x, 2 * r.std_y, fill=False, ec=colour, lw=1.5))
            ax.plot(r.mean_x, r.mean_y, "o", color=colour, ms=4, label=cls)
        ax.set_xlim(0, size), ax.set_ylim(size, 0)
        ax.set_aspect("equal")
        ax.axhline(size / 2, color="0.85", lw=0.6), ax.axvline(size / 2, color="0.85", lw=0.6)
        ax.set_title(source, fontsize=9)
        ax.set_xlabel("x (px)")
    axes[0, 0].set_ylabel("y (px)")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.subplots_adjust(bottom=0.17)  # room for the provenance stamp under the axis labels
    return fig


def region_share_bars(regions: pd.DataFrame) -> plt.Figure:
    """Highlight, energy and area share of each region (rows of ``heatmaps.region_share_table``,
    indexed by map and class), one panel per map and class."""
    long = regions.reset_index().melt(id_vars=["map", "class"], var_name="measure", value_name="share")
    long[["region", "of"]] = long.measure.str.rsplit("_", n=1, expand=True)
    grid = sns.catplot(long, x="region", y="share", hue="of", col="map", row="class", kind="bar", height=1.9, aspect=1.6,
                       hue_order=["highlight", "energy", "area"], palette="Set2")
    grid.set_titles("{col_name} · {row_name}", size=8)
    return grid.figure


def localisation_by_layer(localisation: pd.DataFrame) -> plt.Figure:
    """IoU, energy share and pointing-game rate per layer (``heatmaps.localisation_table``), with
    the region's share of the image as the chance level."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for column, label in (("iou", "IoU of the highlight"), ("energy_share", "energy share on the mask"), ("pointing_hit", "pointing-game hit rate")):
        ax.plot(localisation.index, localisation[column], "o-", label=label)
    ax.plot(localisation.index, localisation.region_area, "k:", label="mask share of the image (chance)")
    ax.set_ylim(0, 1), ax.set_ylabel("mean over contaminated test images"), ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def road_bars(table: pd.DataFrame, title: str) -> plt.Figure:
    """ROAD score of each method's maps (rows of ``classification.sanity.faithfulness_table``, the
    random-map baseline among them): the mean over images with its 95 % bootstrap interval, one
    colour per model where there are several, one panel per noise variance where there is one."""
    several = table.model.nunique() > 1
    grid = sns.catplot(table, x="method", y="road", hue="model" if several else None,
                       col="variance" if "variance" in table else None, kind="point", errorbar=("ci", 95), seed=0,
                       linestyle="none", dodge=0.4 if several else False, height=3, aspect=1.3)
    for ax in grid.axes.flat:
        ax.axhline(0, color="k", lw=0.8, ls=":")  # above: removing what the map points at hurts more than the rest
        ax.tick_params(axis="x", rotation=30)
    grid.set_axis_labels("", "ROAD score (higher: more faithful)")
    grid.figure.suptitle(title, fontsize=9, y=1.03)
    return grid.figure
