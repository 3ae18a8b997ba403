"""What a verdict on a claim is (:class:`Evidence`, :data:`VERDICTS`), and the one rule that a
notebook also prints (:func:`rises_with_depth`, notebook 06). Kept apart from the rules of
:mod:`.verdicts` so that the modules computing maps do not depend on how claims are judged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

VERDICTS = ("reproduced", "direction only", "not reproduced", "untestable here")


@dataclass(frozen=True)
class Evidence:
    verdict: str
    reason: str
    value: float | None = None
    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; one of {VERDICTS}")


def rises_with_depth(scores: pd.Series) -> Evidence:
    """Whether scores in layer order rise with depth: *reproduced* if every step rises, *direction only*
    if the last is above the first, *not reproduced* otherwise; the value is last minus first."""
    steps = np.diff(scores.to_numpy(float))
    rising, gain = int((steps > 0).sum()), float(scores.iloc[-1] - scores.iloc[0])
    reason = f"rises at {rising} of {len(steps)} steps; {scores.index[-1]} {'above' if gain > 0 else 'not above'} {scores.index[0]}"
    verdict = "reproduced" if rising == len(steps) else "direction only" if gain > 0 else "not reproduced"
    return Evidence(verdict, reason, gain)
