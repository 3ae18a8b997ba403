"""Figures shared by the notebooks (example grids, distributions). Each returns a matplotlib figure."""
from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .datasets import load_rgb

CLASS_COLOURS = sns.color_palette("Set1", 8)


def _draw_boxes(ax, rows: pd.DataFrame, names) -> None:
    for _, r in rows.iterrows():
        colour = CLASS_COLOURS[int(r.class_id)]
        ax.add_patch(plt.Rectangle((r.x1, r.y1), r.x2 - r.x1, r.y2 - r.y1, fill=False, lw=1.2, ec=colour))
        occ = r.get("occluded_fraction", np.nan)
        tag = names[int(r.class_id)] + (f" ({occ:.0%} occluded)" if occ == occ and occ > 0 else "")
        ax.text(r.x1, r.y1 - 2, tag, color=colour, fontsize=6, va="bottom")


def detection_grid(folder: Path, objects: pd.DataFrame, names, images: list[str], cols: int = 4) -> plt.Figure:
    """Example images with their labelled boxes and, where present, mask outlines (xu2024 Fig. 5)."""
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False)
    for ax, stem in zip(axes.flat, images):
        split = objects.loc[objects.image == stem, "split"].iloc[0]
        ax.imshow(load_rgb(next((folder / "images" / split).glob(f"{stem}.*"))))
        mask_path = folder / "masks" / split / f"{stem}.png"
        if mask_path.exists():
            ax.contour(cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED) > 0, levels=[0.5], colors="yellow", linewidths=0.5)
        _draw_boxes(ax, objects[objects.image == stem], names)
        ax.set_title(stem, fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig


def class_grid(folder: Path, images: pd.DataFrame, class_names, per_class: int, seed: int, with_masks: bool = True) -> plt.Figure:
    """``per_class`` random test images per class, one row per class (xu2024 Fig. 6 and 7)."""
    fig, axes = plt.subplots(len(class_names), per_class, figsize=(1.9 * per_class, 2.0 * len(class_names)), squeeze=False)
    for row, cname in zip(axes, class_names):
        pool = images[images["class"] == cname]
        picks = pool.sample(min(per_class, len(pool)), random_state=seed) if len(pool) else pool
        for ax, (_, r) in zip(row, picks.iterrows()):
            ax.imshow(load_rgb(folder / r.file))
            mask_path = folder / "masks" / r.file
            if with_masks and mask_path.exists():
                ax.contour(cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127, levels=[0.5], colors="cyan", linewidths=0.4)
        row[0].set_ylabel(cname, fontsize=9)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def image_row(images: list[np.ndarray], titles: list[str]) -> plt.Figure:
    fig, axes = plt.subplots(1, len(images), figsize=(3.0 * len(images), 2.3), squeeze=False)
    for ax, img, title in zip(axes[0], images, titles):
        ax.imshow(img)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def object_distributions(objects: pd.DataFrame) -> plt.Figure:
    """Box size (share of the image side) and occluded fraction per class."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    sns.histplot(objects, x="box_side_share", hue="class", element="step", bins=20, ax=axes[0])
    axes[0].set_xlabel("box size: sqrt(box area / image area)")
    occluded = objects[objects.occluded_fraction > 0]
    if len(occluded):
        sns.histplot(occluded, x="occluded_fraction", hue="class", element="step", bins=np.linspace(0, 1, 21), ax=axes[1])
    axes[1].set_xlabel("occluded fraction of the box (occluded features only)")
    axes[1].set_title(f"{(objects.occluded_fraction > 0).mean():.0%} of features partly occluded", fontsize=9)
    fig.tight_layout()
    return fig
