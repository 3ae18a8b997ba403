"""Figures shared by the notebooks (example grids, distributions). Each returns a matplotlib figure."""
from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .datasets import load_mask, load_rgb

CLASS_COLOURS = sns.color_palette("Set1", 8)


def _box(ax, r, colour, text: str | None = None, fontsize: float = 6, **style) -> None:
    """One pixel box (``r.x1``, ``r.y1``, ``r.x2``, ``r.y2``) outlined, with an optional label above it."""
    ax.add_patch(plt.Rectangle((r.x1, r.y1), r.x2 - r.x1, r.y2 - r.y1, fill=False, ec=colour, **style))
    if text:
        ax.text(r.x1, r.y1 - 2, text, color=colour, fontsize=fontsize, va="bottom")


def _draw_boxes(ax, rows: pd.DataFrame, names) -> None:
    for _, r in rows.iterrows():
        occ = r.get("occluded_fraction", np.nan)
        tag = names[int(r.class_id)] + (f" ({occ:.0%} occluded)" if occ == occ and occ > 0 else "")
        _box(ax, r, CLASS_COLOURS[int(r.class_id)], tag, lw=1.2)


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
            mask = load_mask(folder, r.file) if with_masks else None
            if mask is not None:
                ax.contour(mask, levels=[0.5], colors="cyan", linewidths=0.4)
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


# -- classifiers and their maps ---------------------------------------------------------------------
def training_curves(history: pd.DataFrame, title: str) -> plt.Figure:
    """Loss and accuracy per epoch for training and validation; the kept (best) epoch is marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, metric in zip(axes, ("loss", "acc")):
        ax.plot(history.epoch, history[f"train_{metric}"], "o-", ms=3, label="train")
        ax.plot(history.epoch, history[f"val_{metric}"], "s-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy" if metric == "loss" else "accuracy")
    kept = history[history.best].epoch.iloc[-1]
    for ax in axes:
        ax.axvline(kept, color="0.5", ls=":", lw=1)
    axes[1].text(kept, 0.02, f" kept: epoch {kept}", fontsize=7, color="0.3", transform=axes[1].get_xaxis_transform())
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def confusion_heatmap(confusion: pd.DataFrame, title: str) -> plt.Figure:
    """Confusion counts with each row's share of its true class as the colour."""
    fig, ax = plt.subplots(figsize=(1.1 * len(confusion) + 2.2, 0.9 * len(confusion) + 1.4))
    shares = confusion.div(confusion.sum(axis=1).clip(lower=1), axis=0)
    sns.heatmap(shares, annot=confusion, fmt="d", cmap="Blues", vmin=0, vmax=1, cbar_kws={"label": "share of the true class"}, ax=ax)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def overlay(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """A heatmap in [0, 1] laid over an RGB uint8 image (resized to the map), as the papers show them."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    h, w = heatmap.shape
    img = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if image.shape[:2] != (h, w) else image
    return show_cam_on_image(img.astype(np.float32) / 255, np.clip(heatmap, 0, 1).astype(np.float32), use_rgb=True)


def panel_grid(rows: list[list[np.ndarray]], row_labels: list[str], col_titles: list[str], cmap: str = "magma",
               size: float = 2.0) -> plt.Figure:
    """A grid of RGB images and 2-D maps (maps drawn with ``cmap``), one labelled row per example."""
    fig, axes = plt.subplots(len(rows), len(col_titles), figsize=(size * len(col_titles), size * len(rows) + 0.3), squeeze=False)
    for r, (row, label) in enumerate(zip(rows, row_labels)):
        for c, panel in enumerate(row):
            ax = axes[r, c]
            ax.imshow(panel, cmap=cmap if panel.ndim == 2 else None, vmin=0 if panel.ndim == 2 else None)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(col_titles[c], fontsize=8)
        axes[r, 0].set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig


def pick_examples(labels: np.ndarray, preds: np.ndarray, n_classes: int, per_class: int = 1) -> list[int]:
    """Indices of ``per_class`` examples of each class, correctly classified ones first."""
    picks = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        ranked = sorted(idx, key=lambda i: (preds[i] != labels[i], i))
        picks += ranked[:per_class]
    return picks


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


def outline(image: np.ndarray, mask: np.ndarray | None, colour=(0, 255, 255)) -> np.ndarray:
    """``image`` with the outline of ``mask`` drawn on it (unchanged when there is no mask)."""
    if mask is None:
        return image
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return cv2.drawContours(image.copy(), contours, -1, colour, 1)


# -- detectors ----------------------------------------------------------------------------------------
def detector_curves(histories: dict[str, pd.DataFrame]) -> plt.Figure:
    """Loss (box + cls + dfl, training and validation) and validation mAP per epoch, one line per
    detector (xu2024 Fig. 8)."""
    panels = [("training loss", lambda h: h.train_box_loss + h.train_cls_loss + h.train_dfl_loss),
              ("validation loss", lambda h: h.val_box_loss + h.val_cls_loss + h.val_dfl_loss),
              ("validation mAP@0.5", lambda h: h["mAP50"]), ("validation mAP@0.5:0.95", lambda h: h["mAP50-95"])]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.3))
    for ax, (label, value) in zip(axes, panels):
        for i, (name, h) in enumerate(histories.items()):
            ax.plot(h.epoch, value(h), "-", marker="o", ms=2.5, lw=1.2, color=CLASS_COLOURS[i], label=name)
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=9)
    axes[0].set_ylabel("box + cls + dfl loss")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def metrics_vs_occlusion(results: pd.DataFrame, paper: pd.DataFrame | None = None) -> plt.Figure:
    """Each detection metric against the occlusion rate, one line per model; the paper's values
    (same columns) dashed, where given."""
    metrics = ["precision", "recall", "mAP50", "mAP50-95"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(15, 3.3), sharey=True)
    models = list(dict.fromkeys(results.model))
    for ax, metric in zip(axes, metrics):
        for i, model in enumerate(models):
            r = results[results.model == model]
            ax.plot(100 * r.occlusion, r[metric], "o-", ms=3.5, color=CLASS_COLOURS[i], label=f"{model} (ours)")
            if paper is not None and model in set(paper.model):
                p = paper[paper.model == model]
                ax.plot(100 * p.occlusion, p[metric], "s--", ms=3.5, color=CLASS_COLOURS[i], alpha=0.6,
                        label=f"{model} (xu2024)")
        ax.set_xlabel("occlusion of each box (%)")
        ax.set_title(metric, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def prediction_grid(images: dict, detections: dict, rows: list, stems: list[str], models: list[str], names,
                    row_label=str, truth: pd.DataFrame | None = None, size: float = 2.6) -> plt.Figure:
    """Predicted boxes and confidences of several models on the same images (xu2024 Fig. 11).

    ``images[(row, stem)]`` is an RGB image, ``detections[(row, stem, model)]`` its boxes
    (x1, y1, x2, y2, conf, class_id); one grid row per ``row`` (e.g. an occlusion rate), one
    column per (image, model). ``truth`` (rows with ``image`` and a pixel box) adds the labelled
    boxes as thin dashed white outlines.
    """
    cols = [(stem, model) for stem in stems for model in models]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(size * len(cols), size * 0.72 * len(rows) + 0.4), squeeze=False)
    for r, row in enumerate(rows):
        for c, (stem, model) in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(images[(row, stem)])
            if truth is not None:
                for _, t in truth[truth.image == stem].iterrows():
                    _box(ax, t, "white", lw=0.6, ls="--")
            for _, b in detections[(row, stem, model)].iterrows():
                _box(ax, b, CLASS_COLOURS[int(b.class_id)], f"{names[int(b.class_id)]} {b.conf:.2f}", fontsize=5.5, lw=1.1)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{stem}\n{model}", fontsize=7)
        axes[r, 0].set_ylabel(row_label(row), fontsize=8)
    fig.tight_layout()
    return fig


# -- detector heatmaps --------------------------------------------------------------------------------
def feature_heatmaps(images: list[np.ndarray], regions: list[np.ndarray], maps: dict[str, list[np.ndarray]], picks: list[int],
                     row_labels: list[str]) -> plt.Figure:
    """Each model's map of the same features over their images, the feature's ground-truth region
    outlined in white (xu2024 Fig. 9); the first column shows the image and region alone."""
    rows = [[outline(images[i], regions[i], (255, 255, 255))]
            + [outline(overlay(images[i], model_maps[i]), regions[i], (255, 255, 255)) for model_maps in maps.values()]
            for i in picks]
    return panel_grid(rows, row_labels, ["image, ground truth"] + list(maps), size=2.3)


def highlight_vs_truth(images: list[np.ndarray], regions: list[np.ndarray], maps: dict[str, list[np.ndarray]], picks: list[int],
                       row_labels: list[str], threshold: float, size: float = 2.3) -> plt.Figure:
    """The highlight region of each map against the ground-truth region, with their pixel IoU
    (xu2024 Fig. 10): ground truth only blue, highlight only red, both yellow, on the grey image."""
    from .heatmaps import highlight, pixel_iou

    names = list(maps)
    fig, axes = plt.subplots(len(picks), len(names), figsize=(size * len(names), size * 0.75 * len(picks) + 0.4), squeeze=False)
    for r, i in enumerate(picks):
        grey = cv2.cvtColor(cv2.cvtColor(images[i], cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB) // 2
        for c, name in enumerate(names):
            lit, truth = highlight(maps[name][i], threshold=threshold), regions[i]
            panel = grey.copy()
            panel[truth & ~lit] = (60, 110, 255)
            panel[lit & ~truth] = (230, 50, 40)
            panel[lit & truth] = (255, 220, 0)
            ax = axes[r, c]
            ax.imshow(panel)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{name}: IoU {pixel_iou(lit, truth):.1%}" if r == 0 else f"IoU {pixel_iou(lit, truth):.1%}", fontsize=7)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    fig.tight_layout()
    return fig


def iou_threshold_curves(curve: pd.DataFrame, default: float, emphasised=()) -> plt.Figure:
    """Mean highlight IoU against the highlight threshold, one panel per class, one line per model
    (``emphasised`` models drawn thicker); the default threshold marked."""
    classes = list(dict.fromkeys(curve["class"]))
    models = list(dict.fromkeys(curve.model))
    fig, axes = plt.subplots(1, len(classes), figsize=(3.6 * len(classes), 3.1), sharey=True, squeeze=False)
    for ax, cls in zip(axes[0], classes):
        for k, model in enumerate(models):
            c = curve[(curve["class"] == cls) & (curve.model == model)]
            ax.plot(c.threshold, 100 * c.iou, color=CLASS_COLOURS[k], lw=2.2 if model in emphasised else 0.9, label=model)
        ax.axvline(default, color="grey", ls=":", lw=1)
        ax.set_title(cls, fontsize=9)
        ax.set_xlabel("highlight threshold (share of the peak)")
    axes[0, 0].set_ylabel("mean pixel IoU (%)")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def interval_plot(intervals: pd.DataFrame, ylabel: str, scale: float = 100) -> plt.Figure:
    """Means with their intervals (``mean``, ``low``, ``high`` indexed by model and class), classes
    along x, models side by side."""
    models = list(dict.fromkeys(intervals.index.get_level_values(0)))
    classes = list(dict.fromkeys(intervals.index.get_level_values(1)))
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(classes), 3.2))
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        r = intervals.loc[model].reindex(classes)
        x = np.arange(len(classes)) + (k - (len(models) - 1) / 2) * width
        ax.errorbar(x, scale * r["mean"], yerr=[scale * (r["mean"] - r.low), scale * (r.high - r["mean"])], fmt="o", ms=4,
                    capsize=2, color=CLASS_COLOURS[k], label=model)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def paired_scores(scores: pd.DataFrame, baseline: str, other: str, metric: str = "iou") -> plt.Figure:
    """Each feature's score under ``other`` against ``baseline``, coloured by class; above the
    diagonal ``other`` scores higher."""
    wide = scores.pivot_table(index=["class", "feature"], columns="model", values=metric, sort=False)
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    for k, cls in enumerate(dict.fromkeys(wide.index.get_level_values(0))):
        w = wide.loc[cls]
        ax.scatter(100 * w[baseline], 100 * w[other], s=14, color=CLASS_COLOURS[k], label=cls)
    top = 100 * max(wide[[baseline, other]].max().max(), 0.05) * 1.05
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    ax.set_xlim(0, top), ax.set_ylim(0, top)
    ax.set_xlabel(f"{baseline} {metric} (%)"), ax.set_ylabel(f"{other} {metric} (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def score_vs_confidence(scores: pd.DataFrame, metric: str = "iou", found_at: float = 0.25) -> plt.Figure:
    """Each feature's heatmap score against the detector's confidence on it, one panel per model."""
    models = list(dict.fromkeys(scores.model))
    classes = list(dict.fromkeys(scores["class"]))
    cols = min(3, len(models))
    rows = -(-len(models) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.7 * rows), sharex=True, sharey=True, squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax, model in zip(axes.flat, models):
        s = scores[scores.model == model]
        for k, cls in enumerate(classes):
            c = s[s["class"] == cls]
            ax.scatter(c.confidence, 100 * c[metric], s=10, color=CLASS_COLOURS[k], label=cls)
        ax.axvline(found_at, color="grey", ls=":", lw=1)
        ax.set_title(model, fontsize=8)
        ax.set_xlim(-0.02, 1.02)
    for ax in axes[-1]:
        ax.set_xlabel("detection confidence")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{metric} (%)")
    axes[0, cols - 1].legend(fontsize=6)
    fig.tight_layout()
    return fig


# -- liu2023 robustness -------------------------------------------------------------------------------
def overlay_grid(images: list[list[np.ndarray]], maps: list[list[np.ndarray]], row_labels: list[str], col_titles: list[str],
                 size: float = 1.9) -> plt.Figure:
    """Maps laid over their images (as the papers show them), one labelled row per model or input."""
    rows = [[overlay((np.clip(img, 0, 1) * 255).astype(np.uint8) if img.dtype != np.uint8 else img, m) for img, m in zip(ri, rm)]
            for ri, rm in zip(images, maps)]
    return panel_grid(rows, row_labels, col_titles, size=size)


def curves_with_bands(summary: pd.DataFrame, value: str, ylabel: str, paper: pd.DataFrame | None = None,
                      extra: str | None = None, extra_label: str = "") -> plt.Figure:
    """``value`` (with ``low``/``high`` bands) against noise variance, one line per model (index
    model, variance); the paper's points (index variance, a column per model) as open markers;
    optionally a second panel with the column ``extra``."""
    models = list(dict.fromkeys(summary.index.get_level_values(0)))
    fig, axes = plt.subplots(1, 2 if extra else 1, figsize=(10 if extra else 5.2, 3.4), squeeze=False)
    ax = axes[0, 0]
    for k, model in enumerate(models):
        s = summary.loc[model]
        ax.plot(s.index, s[value], "o-", ms=3, color=CLASS_COLOURS[k], label=model)
        ax.fill_between(s.index, s["low"], s["high"], color=CLASS_COLOURS[k], alpha=0.15)
        if paper is not None and model in paper.columns:
            ax.plot(paper.index, paper[model], "D", ms=7, mfc="none", color=CLASS_COLOURS[k], label=f"{model} (liu2023)")
        if extra:
            axes[0, 1].plot(s.index, s[extra], "o-", ms=3, color=CLASS_COLOURS[k], label=model)
    ax.set_xlabel("noise variance"), ax.set_ylabel(ylabel)
    ax.legend(fontsize=6)
    if extra:
        axes[0, 1].set_xlabel("noise variance"), axes[0, 1].set_ylabel(extra_label or extra)
    fig.tight_layout()
    return fig


def score_curves(summary: pd.DataFrame, scores: dict[str, str]) -> plt.Figure:
    """Each score (column -> axis label) against noise variance, one line per model and method
    (index model, method, variance)."""
    keys = list(dict.fromkeys((m, meth) for m, meth, _ in summary.index))
    fig, axes = plt.subplots(1, len(scores), figsize=(4.2 * len(scores), 3.3), squeeze=False)
    for ax, (col, label) in zip(axes[0], scores.items()):
        for k, (model, method) in enumerate(keys):
            s = summary.loc[(model, method)]
            ax.plot(s.index, s[col], "o-", ms=3, color=CLASS_COLOURS[k % len(CLASS_COLOURS)], label=f"{model}, {method}")
        ax.set_xlabel("noise variance"), ax.set_ylabel(label)
    axes[0, -1].legend(fontsize=6)
    fig.tight_layout()
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
