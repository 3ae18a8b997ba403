"""Results over several training seeds.

A comparison between trained models is decided on the spread across training seeds, not on the
images or features of one trained model. So a table that compares trained models keeps one row
per seed (a ``seed`` column) in its CSV, which the claims ledger reads, and shows the reader the
mean across seeds with its t-interval (:func:`across_seeds`).

A quantity that lives in [0, 1] (an accuracy, a confidence, an IoU, a share, a mAP) gets its
interval on the logit scale, mapped back (:func:`t_interval` with ``bounded``): a t-interval of
three seeds' accuracies of 0.95, 0.86 and 0.84 would otherwise pass 1. Which columns are such
quantities is said once, in :data:`BOUNDED`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

SEED = "seed"  # the column that, where a table has it, holds one row per training seed
CONFIDENCE = 0.95  # of every interval across seeds
# Columns of quantities in [0, 1], whose intervals stay in [0, 1]: by name, and where a table's
# columns are the noise variances of confidences (liu2023 Fig. 8), by being numbers.
BOUNDED = frozenset({"accuracy", "clean_accuracy", "p_pred", "p_true", "retained", "iou", "energy_share",
                     "energy_share_trained", "energy_share_randomised", "precision", "recall", "map50", "map50_95",
                     "map50_unoccluded", "map50_95_unoccluded", "val_map50_95_kept"})
LOGIT_EDGE = 1e-4  # values are clipped to [edge, 1 - edge] before the logit, so that 0 and 1 stay finite


def is_bounded(column) -> bool:
    """Whether ``column`` holds a quantity in [0, 1] (:data:`BOUNDED`)."""
    return isinstance(column, (int, float)) or column in BOUNDED


def t_interval(values: Sequence[float], level: float = CONFIDENCE, bounded: bool = False) -> tuple[float, float, float]:
    """Mean and its t-interval over independent units: seeds here, images elsewhere (NaN bounds
    for fewer than two). ``bounded``: a quantity in [0, 1], whose interval is the t-interval of its
    logits mapped back, widened where needed to hold the mean."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return float(v.mean()), math.nan, math.nan
    t = stats.t.ppf((1 + level) / 2, len(v) - 1)
    if not bounded:
        half = t * v.std(ddof=1) / math.sqrt(len(v))
        return float(v.mean()), float(v.mean() - half), float(v.mean() + half)
    logits = special.logit(np.clip(v, LOGIT_EDGE, 1 - LOGIT_EDGE))
    half = t * logits.std(ddof=1) / math.sqrt(len(v))
    low, high = special.expit(logits.mean() - half), special.expit(logits.mean() + half)
    mean = float(v.mean())
    return mean, float(min(low, mean)), float(max(high, mean))


def by_seed(frames: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """One table from the same table computed per seed: ``seed`` becomes the first column (a
    frame's index is kept as columns, unless it is an unnamed row count)."""
    parts = [f.reset_index(drop=f.index.name is None and isinstance(f.index, pd.RangeIndex)).assign(**{SEED: s})
             for s, f in frames.items()]
    out = pd.concat(parts, ignore_index=True)
    out.attrs = next(iter(frames.values())).attrs
    return out[[SEED, *(c for c in out.columns if c != SEED)]]


def across_seeds(per_seed: pd.DataFrame, keys: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """Per ``keys``: each of ``values`` as its mean across seeds, with ``<value>_low`` and
    ``<value>_high`` (the t-interval across seeds, on the logit scale for :func:`is_bounded`
    columns), and the number of seeds. Columns that are
    constant within a group (a paper's value) are kept."""
    rows = []
    for key, g in per_seed.groupby(list(keys), sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for v in values:
            row[v], row[f"{v}_low"], row[f"{v}_high"] = t_interval(g[v], bounded=is_bounded(v))
        row["seeds"] = g[SEED].nunique()
        row.update({c: g[c].iloc[0] for c in g.columns if c not in {*keys, *values, SEED} and g[c].nunique(dropna=False) == 1})
        rows.append(row)
    out = pd.DataFrame(rows).set_index(list(keys))
    out.attrs = per_seed.attrs
    return out


def readable(summary: pd.DataFrame, values: Sequence[str], decimals: int = 3) -> pd.DataFrame:
    """:func:`across_seeds`' table for a reader: each of ``values`` as "mean (low to high)", the
    95 % t-interval across seeds (the mean alone where there is one seed, nothing where it is missing)."""
    out = summary.drop(columns=[c for v in values for c in (f"{v}_low", f"{v}_high")])
    for v in values:
        m, lo, hi = summary[v], summary[f"{v}_low"], summary[f"{v}_high"]
        out[v] = ["" if np.isnan(a) else f"{a:.{decimals}f}" + ("" if np.isnan(b) else f" ({b:.{decimals}f} to {c:.{decimals}f})")
                  for a, b, c in zip(m, lo, hi)]
    out.attrs = summary.attrs
    return out
