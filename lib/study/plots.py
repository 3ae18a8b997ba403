"""Figure helpers every part of the study uses: the colour of each class or model, a grid of
labelled image panels, a pixel box, means with their intervals. Each figure function returns a matplotlib figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

CLASS_COLOURS = sns.color_palette("Set1", 8)


def box(ax, r, colour, text: str | None = None, fontsize: float = 6, **style) -> None:
    """One pixel box (``r.x1``, ``r.y1``, ``r.x2``, ``r.y2``) outlined, with an optional label above it."""
    ax.add_patch(plt.Rectangle((r.x1, r.y1), r.x2 - r.x1, r.y2 - r.y1, fill=False, ec=colour, **style))
    if text:
        ax.text(r.x1, r.y1 - 2, text, color=colour, fontsize=fontsize, va="bottom")


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
