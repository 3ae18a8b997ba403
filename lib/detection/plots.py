"""Figures of the detectors: training curves, metrics against occlusion, predicted boxes, and
their heatmap scores against the threshold, the baseline and the detection confidence (xu2024)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..study.plots import CLASS_COLOURS, box
from ..study import reporting
from ..study.seeds import SEED
from .evaluation import METRICS


def detector_curves(histories: dict[str, pd.DataFrame]) -> plt.Figure:
    """Loss (box + cls + dfl, training and validation) and validation mAP per epoch, one line per
    detector (xu2024 Fig. 8)."""
    panels = [("training loss", lambda h: h.train_box_loss + h.train_cls_loss + h.train_dfl_loss),
              ("validation loss", lambda h: h.val_box_loss + h.val_cls_loss + h.val_dfl_loss),
              ("validation mAP@0.5", lambda h: h.map50), ("validation mAP@0.5:0.95", lambda h: h.map50_95)]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.3))
    for ax, (label, value) in zip(axes, panels):
        for i, (name, h) in enumerate(histories.items()):
            ax.plot(h.epoch, value(h), "-", marker="o", ms=2.5, lw=1.2, color=CLASS_COLOURS[i], label=name)
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=9)
    # ultralytics' YOLOv5u head is anchor-free: its loss terms are not those of the paper's YOLOv5
    axes[0].set_ylabel("box + cls + dfl loss\n(YOLOv5u: not the paper's scale)", fontsize=8)
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), fontsize=7, frameon=False)
    return fig


def metrics_vs_occlusion(results: pd.DataFrame, paper: pd.DataFrame | None = None) -> plt.Figure:
    """Each detection metric against the occlusion rate, one line per model: the mean over
    training seeds with a band from the lowest to the highest seed where ``results`` has a
    ``seed`` column. The paper's values (same columns) dashed, where given."""
    fig, axes = plt.subplots(1, len(METRICS), figsize=(15, 3.3), sharey=True)
    models = list(dict.fromkeys(results.model))
    for ax, metric in zip(axes, METRICS):
        for i, model in enumerate(models):
            r = results[results.model == model].groupby("occlusion")[metric].agg(["mean", "min", "max", "size"])
            seeds = f", {results.loc[results.model == model, SEED].nunique()} seeds" if SEED in results else ""
            ax.plot(100 * r.index, r["mean"], "o-", ms=3.5, color=CLASS_COLOURS[i], label=f"{model} (ours{seeds})")
            if (r["size"] > 1).any():
                ax.fill_between(100 * r.index, r["min"], r["max"], color=CLASS_COLOURS[i], alpha=0.2, lw=0)
            if paper is not None and model in set(paper.model):
                p = paper[paper.model == model]
                ax.plot(100 * p.occlusion, p[metric], "s--", ms=3.5, color=CLASS_COLOURS[i], alpha=0.6,
                        label=f"{model} (xu2024)")
        ax.set_xlabel("occlusion of each box (%)")
        ax.set_title(reporting.label(metric), fontsize=9)
        ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 4), fontsize=7, frameon=False,
               title="bands: lowest to highest training seed" if SEED in results else None, title_fontsize=7)
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
                    box(ax, t, "white", lw=0.6, ls="--")
            for _, b in detections[(row, stem, model)].iterrows():
                box(ax, b, CLASS_COLOURS[int(b.class_id)], f"{names[int(b.class_id)]} {b.conf:.2f}", fontsize=5.5, lw=1.1)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{stem}\n{model}", fontsize=7)
        axes[r, 0].set_ylabel(row_label(row), fontsize=8)
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
