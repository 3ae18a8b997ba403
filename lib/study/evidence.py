"""What a verdict on a claim is (:class:`Evidence`, :data:`VERDICTS`), and the one rule that a
notebook also prints (:func:`rises_with_depth`, notebook 06). Kept apart from the rules of
:mod:`.verdicts` so that the modules computing maps do not depend on how claims are judged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# *inconclusive*: the interval holds both the paper's effect (or level) and none; *contradicted*: it
# excludes the paper's effect or level, on the other side. :mod:`.verdicts` states each rule.
VERDICTS = ("reproduced", "direction only", "inconclusive", "contradicted", "untestable here")
ONE_READING = "one reading"  # :attr:`Evidence.robust` of a claim read one way only


@dataclass(frozen=True)
class Evidence:
    """A verdict with its reason, the value it read and that value's interval; ``readings`` the
    verdict under each plausible reading of the paper, ``(name, verdict)``, the favoured first."""

    verdict: str
    reason: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    readings: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; one of {VERDICTS}")

    @property
    def robust(self) -> str:
        """"yes" where every reading gives the verdict, "no: ..." with the readings that do not, and
        :data:`ONE_READING` where there was one."""
        if len(self.readings) < 2:
            return ONE_READING
        differ = [f"{name}: {verdict}" for name, verdict in self.readings if verdict != self.verdict]
        return f"no ({'; '.join(differ)})" if differ else "yes"


def rises_with_depth(scores: pd.Series) -> Evidence:
    """Whether scores in layer order rise with depth: *reproduced* if every step rises, *direction only*
    if the last is above the first, *contradicted* otherwise; the value is last minus first."""
    steps = np.diff(scores.to_numpy(float))
    rising, gain = int((steps > 0).sum()), float(scores.iloc[-1] - scores.iloc[0])
    reason = f"rises at {rising} of {len(steps)} steps; {scores.index[-1]} {'above' if gain > 0 else 'not above'} {scores.index[0]}"
    verdict = "reproduced" if rising == len(steps) else "direction only" if gain > 0 else "contradicted"
    return Evidence(verdict, reason, gain)
