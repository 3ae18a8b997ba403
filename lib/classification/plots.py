"""Figures of the classifiers and attention heads: training curves, confusion, the examples
shown beside their maps, and scores against noise (xu2024 §4.2-4.3, liu2023)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..data.read import load_mask, load_rgb
from ..explain.cams import RESNET_STAGES
from ..explain.heatmaps import normalise
from ..explain.plots import outline, overlay
from ..study.plots import CLASS_COLOURS, panel_grid


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


def pick_examples(labels: np.ndarray, preds: np.ndarray, n_classes: int, per_class: int = 1) -> list[int]:
    """Indices of ``per_class`` examples of each class, correctly classified ones first."""
    picks = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        ranked = sorted(idx, key=lambda i: (preds[i] != labels[i], i))
        picks += ranked[:per_class]
    return picks


def curves_with_bands(summary: pd.DataFrame, value: str, ylabel: str, paper: pd.DataFrame | None = None,
                      extra: str | None = None, extra_label: str = "", chance: float | None = None) -> plt.Figure:
    """``value`` (with ``<value>_low``/``<value>_high`` bands, from :func:`lib.study.seeds.across_seeds`)
    against noise variance, one line per model (index model, variance); the paper's points (index
    variance, a column per model) as open markers; optionally a second panel with the column
    ``extra``, and the ``chance`` level as a dashed line on both. The variance axis is logarithmic
    above the smallest variance swept."""
    models = list(dict.fromkeys(summary.index.get_level_values(0)))
    fig, axes = plt.subplots(1, 2 if extra else 1, figsize=(10 if extra else 5.2, 3.4), squeeze=False)
    ax = axes[0, 0]
    for k, model in enumerate(models):
        s = summary.loc[model]
        ax.plot(s.index, s[value], "o-", ms=3, color=CLASS_COLOURS[k], label=model)
        ax.fill_between(s.index, s[f"{value}_low"], s[f"{value}_high"], color=CLASS_COLOURS[k], alpha=0.15)
        if paper is not None and model in paper.columns:
            ax.plot(paper.index, paper[model], "D", ms=7, mfc="none", color=CLASS_COLOURS[k], label=f"{model} (liu2023)")
        if extra:
            axes[0, 1].plot(s.index, s[extra], "o-", ms=3, color=CLASS_COLOURS[k], label=model)
    ax.set_xlabel("noise variance"), ax.set_ylabel(ylabel)
    if extra:
        axes[0, 1].set_xlabel("noise variance"), axes[0, 1].set_ylabel(extra_label or extra)
    variances = summary.index.get_level_values(1)
    for a in axes[0]:  # linear up to the smallest noise swept, logarithmic beyond: small and large variances both readable
        a.set_xscale("symlog", linthresh=float(variances[variances > 0].min()), linscale=0.5)
    if chance is not None:
        for a in axes[0]:
            a.axhline(chance, ls="--", lw=0.8, color="grey", label="chance")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=4, frameon=False)
    fig.tight_layout()
    return fig


def score_curves(summary: pd.DataFrame, scores: dict[str, str]) -> plt.Figure:
    """Each score (column -> axis label) against noise variance, one line per model and method
    (index model, method, variance)."""
    keys = list(dict.fromkeys((m, meth) for m, meth, _ in summary.index))  # in the table's order
    summary = summary.sort_index()  # a sorted index: lookups by (model, method) without pandas' PerformanceWarning
    fig, axes = plt.subplots(1, len(scores), figsize=(4.2 * len(scores), 3.3), squeeze=False)
    for ax, (col, label) in zip(axes[0], scores.items()):
        for k, (model, method) in enumerate(keys):
            s = summary.loc[(model, method)]
            ax.plot(s.index, s[col], "o-", ms=3, color=CLASS_COLOURS[k % len(CLASS_COLOURS)], label=f"{model}, {method}")
        ax.set_xlabel("noise variance"), ax.set_ylabel(label)
    axes[0, -1].legend(fontsize=6)
    fig.tight_layout()
    return fig


def entry_intervals(across: pd.DataFrame, scores: dict[str, str]) -> plt.Figure:
    """Each entry of ``across`` (index: model, method; from ``seeds.across_seeds``) as its mean
    across seeds with the 95 % t-interval, one panel per score (column -> axis label), entries top
    to bottom in the table's order (liu2023 Fig. 5 scored)."""
    labels = [f"{model}, {method}" for model, method in across.index]
    y = np.arange(len(labels))
    fig, axes = plt.subplots(1, len(scores), figsize=(3.4 * len(scores) + 1.8, 0.32 * len(labels) + 1.2), sharey=True,
                             squeeze=False)
    for ax, (col, label) in zip(axes[0], scores.items()):
        mean = across[col].to_numpy(float)
        low, high = across[f"{col}_low"].fillna(across[col]), across[f"{col}_high"].fillna(across[col])  # one seed: no bar
        ax.errorbar(mean, y, xerr=[mean - low.to_numpy(float), high.to_numpy(float) - mean], fmt="o", ms=4, capsize=2, color="0.25")
        ax.set_xlabel(label)
    axes[0, 0].set_yticks(y, labels, fontsize=7)
    axes[0, 0].invert_yaxis()
    fig.tight_layout()
    return fig


def example_label(maps, classes, i: int) -> str:
    """Row label of example ``i``: its class over the predicted one, on two lines so that the
    longest ("contaminated / predicted contaminated") fits beside a panel."""
    return f"{classes[maps['labels'][i]]}\n(predicted {classes[maps['preds'][i]]})"


def droplet_examples(folder: Path, maps, picks: list[int], classes) -> plt.Figure:
    """Each picked image, its Grad-CAM at layer4 and its Guided Grad-CAM (xu2024 Fig. 12)."""
    rows = []
    for i in picks:
        image = load_rgb(folder / str(maps["files"][i]))
        rows.append([image, overlay(image, maps["cam_layer4"][i]), normalise(maps["guided"][i])])
    return panel_grid(rows, [example_label(maps, classes, i) for i in picks], ["image", "Grad-CAM (layer4)", "Guided Grad-CAM"], cmap="gray")


def layer_examples(folder: Path, maps, picks: list[int], classes) -> plt.Figure:
    """Each picked image with its mask outlined, and its Grad-CAM at every ResNet stage (xu2024 Fig. 13)."""
    rows = []
    for i in picks:
        file = str(maps["files"][i])
        image = load_rgb(folder / file)
        rows.append([outline(image, load_mask(folder, file))] + [overlay(image, maps[f"cam_{s}"][i]) for s in RESNET_STAGES])
    return panel_grid(rows, [example_label(maps, classes, i) for i in picks], ["image", *RESNET_STAGES])


def class_mean_maps(maps, classes) -> plt.Figure:
    """The mean Grad-CAM and mean Guided Grad-CAM of each class present in the split."""
    labels = maps["labels"]
    present = [c for c in range(len(classes)) if (labels == c).any()]
    rows = [[maps["cam_layer4"][labels == c].mean(0), maps["guided"][labels == c].mean(0)] for c in present]
    return panel_grid(rows, [classes[c] for c in present], ["mean Grad-CAM", "mean Guided Grad-CAM"])
