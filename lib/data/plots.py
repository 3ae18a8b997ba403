"""Figures of the datasets: example images with their boxes, masks and classes; object statistics."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from PIL import Image

from ..study.plots import CLASS_COLOURS, box
from .read import load_mask, load_rgb, read_image
from .synthetic import occlusion


def _draw_boxes(ax, rows: pd.DataFrame, names) -> None:
    for _, r in rows.iterrows():
        occ = r.get("occluded_fraction", np.nan)
        tag = names[int(r.class_id)] + (f" ({occ:.0%} occluded)" if occ == occ and occ > 0 else "")
        box(ax, r, CLASS_COLOURS[int(r.class_id)], tag, lw=1.2)


def detection_grid(folder: Path, objects: pd.DataFrame, names, images: list[str], cols: int = 4) -> plt.Figure:
    """Example images with their labelled boxes and, where present, mask outlines (xu2024 Fig. 5)."""
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False)
    for ax, stem in zip(axes.flat, images):
        split = objects.loc[objects.image == stem, "split"].iloc[0]
        ax.imshow(load_rgb(next((folder / "images" / split).glob(f"{stem}.*"))))
        mask_path = folder / "masks" / split / f"{stem}.png"
        if mask_path.exists():
            ax.contour(read_image(mask_path) > 0, levels=[0.5], colors="yellow", linewidths=0.5)
        _draw_boxes(ax, objects[objects.image == stem], names)
        ax.set_title(stem, fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig


def class_grid(folder: Path, images: pd.DataFrame, class_names, per_class: int, seed: int, with_masks: bool = True,
               size: int | None = None) -> plt.Figure:
    """``per_class`` random test images per class, one row per class (xu2024 Fig. 6 and 7); with
    ``size``, each image as a classifier of that input size sees it (bilinear, antialiased: PIL's
    resize, which torchvision's ``Resize`` calls on the decoded splits) and without masks."""
    fig, axes = plt.subplots(len(class_names), per_class, figsize=(1.9 * per_class, 2.0 * len(class_names)), squeeze=False)
    for row, cname in zip(axes, class_names):
        pool = images[images["class"] == cname]
        picks = pool.sample(min(per_class, len(pool)), random_state=seed) if len(pool) else pool
        for ax, (_, r) in zip(row, picks.iterrows()):
            rgb = load_rgb(folder / r.file)
            ax.imshow(rgb if size is None else np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR)))
            mask = load_mask(folder, r.file) if with_masks and size is None else None
            if mask is not None:
                ax.contour(mask, levels=[0.5], colors="cyan", linewidths=0.4)
        row[0].set_ylabel(cname, fontsize=9)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def object_distributions(objects: pd.DataFrame) -> plt.Figure:
    """Box size (share of the image side) and occluded fraction per class."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    order = sorted(objects["class"].unique())  # one colour per class in both panels
    sns.histplot(objects, x="box_side_share", hue="class", hue_order=order, element="step", bins=20, ax=axes[0])
    axes[0].set_xlabel("box size: sqrt(box area / image area)")
    occluded = objects[objects.occluded_fraction > 0]
    if len(occluded):
        sns.histplot(occluded, x="occluded_fraction", hue="class", hue_order=order, element="step",
                     bins=np.linspace(0, 1, 21), ax=axes[1])
    axes[1].set_xlabel("occluded fraction of the box (occluded features only)")
    axes[1].set_title(f"{(objects.occluded_fraction > 0).mean():.0%} of features partly occluded", fontsize=9)
    fig.tight_layout()
    return fig


def occlusion_examples(image: np.ndarray, boxes: np.ndarray, fractions, seed: int, kinds=occlusion.OCCLUDERS) -> plt.Figure:
    """One image with every box occluded by each kind of occluder at each fraction, the cover
    measured on the boxes in each title (xu2024 Fig. 11a)."""
    panels, titles = [image], ["original"]
    for kind in kinds:
        for fraction in fractions:
            out, measured = occlusion.occlude(image, boxes, fraction, kind=kind, seed=seed)
            panels.append(out)
            titles.append(f"{kind} {fraction:.0%} (measured {measured.mean():.1%})")
    cols = len(fractions) + 2
    fig, axes = plt.subplots(-(-len(panels) // cols), cols, figsize=(3 * cols, 2.3 * -(-len(panels) // cols)), squeeze=False)
    for ax, img, title in zip(axes.flat, panels, titles):
        ax.imshow(img)
        ax.set_title(title, fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig
