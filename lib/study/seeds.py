"""Results over several training seeds.

A comparison between trained models is decided on the spread across training seeds, not on the
images or features of one trained model. So a table that compares trained models keeps one row
per seed (a ``seed`` column) in its CSV, which the claims ledger reads, and shows the reader the
mean across seeds with its t-interval (:func:`across_seeds`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

SEED = "seed"  # the column that, where a table has it, holds one row per training seed
CONFIDENCE = 0.95  # of every interval across seeds


def t_interval(values: Sequence[float], level: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and its t-interval over independent units: seeds here, images elsewhere (NaN bounds
    for fewer than two)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return float(v.mean()), math.nan, math.nan
    half = stats.t.ppf((1 + level) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


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
    ``<value>_high`` (the t-interval across seeds), and the number of seeds. Columns that are
    constant within a group (a paper's value) are kept."""
    rows = []
    for key, g in per_seed.groupby(list(keys), sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for v in values:
            row[v], row[f"{v}_low"], row[f"{v}_high"] = t_interval(g[v])
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
