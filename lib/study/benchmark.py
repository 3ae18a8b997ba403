"""Timing several ways of doing the same work, side by side in one process.

Every step runs in turn, round by round, after one warm-up round (allocator, kernel choice), so
that a drift in machine load hits all of them alike and cancels in their ratios. Benchmarks
report those ratios; absolute times vary between runs and machines.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .numerics import clock


def interleaved_seconds(steps: dict[str, Callable[[], None]], rounds: int, calls: int = 1) -> dict[str, float]:
    """Median seconds per call of each step over ``rounds`` rounds of ``calls`` calls each."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(rounds + 1):
        for name, step in steps.items():
            t0 = clock()
            for _ in range(calls):
                step()
            if r:  # round 0 warms up
                times[name].append((clock() - t0) / calls)
    return {name: float(np.median(t)) for name, t in times.items()}
