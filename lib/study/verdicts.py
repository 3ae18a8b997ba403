"""Verdicts on the papers' claims, computed from saved tables by stated rules (the claims ledger,
:mod:`.claims`, and the notebooks that print a reading of their own tables).

A rule is a small callable, as a CAM target is in pytorch-grad-cam: given a way to read saved
tables by name, it returns :class:`Evidence` (value, interval, verdict, reason), and its ``text``
says how it decides. Verdicts (:data:`.evidence.VERDICTS`):

* **reproduced**: the study's value meets the paper's by the rule;
* **direction only**: the effect the paper reports is there, smaller than the paper's;
* **inconclusive**: the interval holds both the paper's effect (or level) and no effect; where a
  rule reads a value against a tolerance or a level, an interval that straddles it;
* **contradicted**: the interval excludes the paper's effect or level, on the other side (a
  reading of maps whose control fails, an ordering the other way);
* **untestable here**: the study cannot decide, with the reason (a property of the real
  photographs, a person's judgement, a missing table, what the synthetic data's generator decides,
  or a comparison of trained models that has one training seed: its interval must come from the
  spread across seeds, which one seed lacks).

:class:`Readings` reads a claim under each plausible reading of what the paper left open, and the
evidence it returns says whether the verdict survives them all (:attr:`.Evidence.robust`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from .evidence import Evidence, rises_with_depth
from .seeds import CONFIDENCE, SEED, is_bounded, t_interval

ReadTable = Callable[[str], pd.DataFrame]  # a saved table by name; raises MissingTable when there is none


class MissingTable(LookupError):
    pass


def rows(table: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The rows of ``table`` whose columns equal ``where``'s values (numbers compared as numbers)."""
    keep = np.ones(len(table), bool)
    for column, value in where.items():
        col = table[column]
        keep &= np.isclose(col.astype(float), value) if isinstance(value, float) else (col.astype(str) == str(value)).to_numpy()
    found = table[keep]
    if found.empty:
        raise MissingTable(f"no row with {where}")
    return found


def one_seed(table: pd.DataFrame) -> bool:
    return SEED not in table or table[SEED].nunique() < 2


def _fmt(x: float) -> str:
    return f"{x:.3g}"


# -- rules ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Accuracy:
    """A test accuracy against the paper's, with its Wilson interval over the test images."""

    table: str
    paper: float

    @property
    def text(self) -> str:
        return ("reproduced if the 95 % Wilson interval of the test accuracy reaches the paper's value; direction "
                "only if the accuracy is above the majority-class rate (binomial p < 0.05) but short of it")

    def __call__(self, tables: ReadTable) -> Evidence:
        t = tables(self.table).iloc[0]
        n, acc, majority = int(t["test images"]), float(t["accuracy"]), float(t["majority-class rate"])
        test = stats.binomtest(round(acc * n), n, majority, alternative="greater")
        ci = stats.binomtest(round(acc * n), n).proportion_ci(CONFIDENCE, method="wilson")  # two-sided
        if ci.high >= self.paper:
            verdict, reason = "reproduced", f"interval reaches {_fmt(self.paper)}"
        elif test.pvalue < 1 - CONFIDENCE:
            verdict, reason = "direction only", f"above the majority rate {majority:.3f} (p = {test.pvalue:.2g}), short of the paper"
        else:
            verdict, reason = "contradicted", f"not above the majority rate {majority:.3f} (p = {test.pvalue:.2g}): the model has not learned"
        return Evidence(verdict, reason + f"; {n} test images", acc, ci.low, ci.high)


@dataclass(frozen=True)
class Level:
    """A value the paper reports for one model, against the paper's within ``tolerance``."""

    table: str
    where: dict
    column: str
    paper: float
    tolerance: float

    @property
    def text(self) -> str:
        return (f"the floor is the paper's value less {self.tolerance:g}: {AT_LEAST_TEXT}, across training seeds where there "
                "are several")

    def __call__(self, tables: ReadTable) -> Evidence:
        found = rows(tables(self.table), self.where)
        if one_seed(found):
            value, low, high = float(found[self.column].iloc[0]), None, None
        else:
            value, low, high = t_interval(found[self.column], bounded=is_bounded(self.column))
        return _against_floor(value, low, high, self.paper - self.tolerance,
                              f"the paper's {_fmt(self.paper)} less {self.tolerance:g}")


AT_LEAST_TEXT = ("reproduced if the 95 % interval is at or above it, contradicted if below it, inconclusive if it straddles "
                 "it (without an interval, the value decides)")


def _against_floor(value: float, low: float | None, high: float | None, floor: float, named: str) -> Evidence:
    """A value with interval (low, high) against a level it should reach (:data:`AT_LEAST_TEXT`)."""
    interval = low is not None and not np.isnan(low)
    lo, hi = (low, high) if interval else (value, value)
    if lo >= floor:
        verdict, where = "reproduced", "at or above"
    elif hi < floor:
        verdict, where = "contradicted", "below"
    else:
        verdict, where = "inconclusive", "straddles"
    return Evidence(verdict, f"{'interval' if interval else 'value'} {where} {_fmt(floor)} ({named})", value, low, high)


def _signed(value: float, low: float, high: float, paper: float | None, basis: str, sign: int = 1) -> Evidence:
    """The verdict on an effect of the paper's size ``paper`` (or, where the paper gives none, of
    sign ``sign``) with interval (low, high)."""
    sign = sign if paper is None else (1 if paper >= 0 else -1)
    lo, hi = sorted((sign * low, sign * high))
    size = f" and reaches {_fmt(paper)}" if paper is not None else ""
    if lo > 0 and (paper is None or hi >= abs(paper)):
        return Evidence("reproduced", f"interval beyond 0{size} ({basis})", value, low, high)
    if lo > 0:
        return Evidence("direction only", f"interval beyond 0, short of {_fmt(paper)} ({basis})", value, low, high)
    if hi <= 0:
        where = "on the other side of 0" if hi < 0 else "at 0, no further"
        return Evidence("contradicted", f"interval {where} ({basis})", value, low, high)
    if paper is not None and hi < abs(paper):
        return Evidence("contradicted", f"interval covers 0 and stops short of the paper's {_fmt(paper)} ({basis})", value, low, high)
    both = f"0 and the paper's {_fmt(paper)}" if paper is not None else "0"
    return Evidence("inconclusive", f"interval holds {both} ({basis})", value, low, high)


SIGNED_TEXT = ("reproduced if the interval is beyond 0 in the paper's direction and reaches the paper's difference "
               "(where it gives one), direction only if beyond 0 but short of it, inconclusive if it holds both 0 and the "
               "paper's difference, contradicted if it lies on the other side of 0 or covers 0 but not the paper's difference")


@dataclass(frozen=True)
class Difference:
    """Model ``b`` minus model ``a`` in ``column``: rows picked by ``where`` and by the model's name
    in column ``by``; ``paper`` the difference the paper reports (None: it reports only that ``b``
    is better, or worse where ``sign`` is -1)."""

    table: str
    by: str
    a: str
    b: str
    column: str
    paper: float | None
    where: dict = field(default_factory=dict)
    sign: int = 1

    @property
    def text(self) -> str:
        return f"{self.b} minus {self.a}, 95 % t-interval across training seeds: {SIGNED_TEXT}; untestable with one seed"

    def __call__(self, tables: ReadTable) -> Evidence:
        t = tables(self.table)
        a, b = rows(t, {**self.where, self.by: self.a}), rows(t, {**self.where, self.by: self.b})
        if one_seed(a) or one_seed(b):
            value = float(b[self.column].iloc[0] - a[self.column].iloc[0])
            return Evidence("untestable here", "one training seed: no interval across seeds", value)
        per_seed = (b.set_index(SEED)[self.column] - a.set_index(SEED)[self.column]).dropna()
        return _signed(*t_interval(per_seed), self.paper, f"{len(per_seed)} seeds", self.sign)


@dataclass(frozen=True)
class SavedDifference:
    """A comparison of two trained models that its notebook saved as a difference (``column``),
    maybe with an interval over features or images (``low``/``high``): shown, but a comparison of
    trained models is decided on the spread across training seeds."""

    table: str
    where: dict
    column: str
    paper: float | None
    sign: int = 1

    @property
    def text(self) -> str:
        return f"the saved difference, 95 % t-interval across training seeds: {SIGNED_TEXT}; untestable with one seed"

    def __call__(self, tables: ReadTable) -> Evidence:
        found = rows(tables(self.table), self.where)
        if one_seed(found):
            r = found.iloc[0]
            shown = (float(r["low"]), float(r["high"])) if {"low", "high"} <= set(found.columns) else ()
            return Evidence("untestable here", "one training seed" + (": the interval shown is over features, not seeds"
                                                                      if shown else ""), float(r[self.column]), *shown)
        return _signed(*t_interval(found[self.column]), self.paper, f"{found[SEED].nunique()} seeds", self.sign)


@dataclass(frozen=True)
class Beyond:
    """A difference its notebook saved against a control that is not another trained model (the
    model's randomised copy, a random map), with its 95 % interval over images (``low``/``high``):
    above 0 or not. Where the table has several training seeds, the interval is across them."""

    table: str
    where: dict
    column: str
    low: str
    high: str

    @property
    def text(self) -> str:
        return (f"{self.column}: reproduced if its 95 % interval (over images; across training seeds where there are "
                "several) is above 0, contradicted if below, inconclusive if it covers 0")

    def __call__(self, tables: ReadTable) -> Evidence:
        found = rows(tables(self.table), self.where)
        if one_seed(found):
            r = found.iloc[0]
            value, low, high, basis = float(r[self.column]), float(r[self.low]), float(r[self.high]), "over images"
        else:
            (value, low, high), basis = t_interval(found[self.column]), f"across {found[SEED].nunique()} seeds"
        if np.isnan(value):
            return Evidence("untestable here", f"no {self.column} to read: the maps could not be scored (no object masks?)")
        verdict, where = ("reproduced", "above") if low > 0 else ("contradicted", "below") if high < 0 else ("inconclusive", "covers")
        return Evidence(verdict, f"interval {where} 0 ({basis})", value, low, high)


@dataclass(frozen=True)
class Survives:
    """``rule``, decided only where ``control`` is reproduced: a reading of maps says something about
    the trained model only where its maps beat a control's (Adebayo et al. 2018). Otherwise the claim
    takes the control's verdict (contradicted where the maps are worse than the control's,
    inconclusive where the two cannot be told apart), whatever the maps look like."""

    control: Beyond
    rule: Callable

    @property
    def table(self) -> str:
        return self.rule.table

    @property
    def text(self) -> str:
        return f"the control's verdict unless it holds ({self.control.table}: {self.control.text}); then {self.rule.text}"

    def __call__(self, tables: ReadTable) -> Evidence:
        check = self.control(tables)
        if check.verdict != "reproduced":
            if check.value is None or np.isnan(check.value):
                return check
            return Evidence(check.verdict, f"the maps do not beat the control ({self.control.table}, {self.control.column} "
                                           f"{check.value:.3g}, interval {check.low:.3g} to {check.high:.3g})")
        found = self.rule(tables)
        return replace(found, reason=f"{found.reason}; control holds ({self.control.column} {check.value:.3g})")


@dataclass(frozen=True)
class Extreme:
    """Whether ``item`` has the largest (or smallest) value of ``columns`` (their mean when several)
    among the rows of ``table``, a property of one model's maps that the paper reads off a table."""

    table: str
    key: str
    item: str
    columns: tuple[str, ...]
    largest: bool

    @property
    def text(self) -> str:
        what = " and ".join(self.columns)
        return (f"reproduced if {self.item} has the {'largest' if self.largest else 'smallest'} {what} of all {self.key} values, "
                "contradicted otherwise (an ordering of means, without an interval)")

    def __call__(self, tables: ReadTable) -> Evidence:
        t = tables(self.table).set_index(self.key)
        score = t[list(self.columns)].astype(float).mean(axis=1)
        top = score.idxmax() if self.largest else score.idxmin()
        ok = top == self.item
        return Evidence("reproduced" if ok else "contradicted",
                        f"{'largest' if self.largest else 'smallest'}: {top}", float(score[self.item]))


@dataclass(frozen=True)
class RisesWithDepth:
    """Whether a score rises from each layer to the next (``order``), as read off a figure."""

    table: str
    key: str
    order: tuple[str, ...]
    column: str

    @property
    def text(self) -> str:
        return (f"reproduced if {self.column} rises at every step {' < '.join(self.order)}; direction only if the last "
                "is above the first but not every step rises; contradicted otherwise; the value is last minus first")

    def __call__(self, tables: ReadTable) -> Evidence:
        return rises_with_depth(tables(self.table).set_index(self.key)[self.column].loc[list(self.order)])


@dataclass(frozen=True)
class Concentrated:
    """Whether maps fall on the object: for every class, the map's share on the object (edge band +
    interior) over the object's share of the image (1: no better than chance). ``measure`` is
    "highlight" (the share of the half-maximum highlight's pixels) or "energy" (of the map's sum)."""

    table: str
    where: dict
    parts: tuple[str, ...] = ("edge", "interior")
    strong: float = 2.0
    measure: str = "highlight"

    @property
    def text(self) -> str:
        return (f"enrichment = {self.measure} share on {' + '.join(self.parts)} / their area share, per class: reproduced if "
                f"at least {self.strong:g} for every class, direction only if above 1 for every class, contradicted otherwise; "
                "the value is the smallest enrichment")

    def __call__(self, tables: ReadTable) -> Evidence:
        t = rows(tables(self.table), self.where)
        share = sum(t[f"{p}_{self.measure}"] for p in self.parts) / sum(t[f"{p}_area"] for p in self.parts)
        low = float(share.min())
        verdict = "reproduced" if low >= self.strong else "direction only" if low > 1 else "contradicted"
        return Evidence(verdict, f"smallest enrichment {low:.2f} ({t['class'].iloc[int(share.argmin())]})", low)


@dataclass(frozen=True)
class Given:
    """``rule``, decided only where ``precondition`` (:class:`Accuracy` or :class:`EveryModelLearned`)
    is reproduced: the paper reads its maps off a model that learned its task, and the maps of one
    that has not say nothing about the claim."""

    precondition: Callable
    rule: Callable

    @property
    def table(self) -> str:
        return self.rule.table

    @property
    def text(self) -> str:
        return f"untestable unless the model's accuracy ({self.precondition.table}) is reproduced; then {self.rule.text}"

    def __call__(self, tables: ReadTable) -> Evidence:
        first = self.precondition(tables)
        if first.verdict != "reproduced":
            return Evidence("untestable here", f"the model has not learned its task as the paper's did (accuracy "
                                               f"{first.value:.3f}: {first.verdict}; {first.reason})")
        return self.rule(tables)


@dataclass(frozen=True)
class EveryModelLearned:
    """Every model of every training seed reached ``level`` test accuracy (``table``: one row per
    seed and model): the comparison of several trained models holds only if none of them failed
    to learn. The value is the lowest accuracy."""

    table: str
    level: float

    @property
    def text(self) -> str:
        return f"reproduced if every model of every training seed reaches {self.level:g} test accuracy"

    def __call__(self, tables: ReadTable) -> Evidence:
        t = tables(self.table)
        failed = t[t["accuracy"] < self.level]
        worst = t.loc[t["accuracy"].idxmin()]
        if len(failed):
            names = ", ".join(f"seed {r[SEED]} {r.model} {r.accuracy:.3f}" for _, r in failed.iterrows())
            return Evidence("contradicted", f"below {self.level:g}: {names}", float(worst.accuracy))
        return Evidence("reproduced", f"every model of {t[SEED].nunique()} seeds at or above {self.level:g} (lowest: seed "
                                      f"{worst[SEED]} {worst.model})", float(worst.accuracy))


def _where(where: dict) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in where.items())


@dataclass(frozen=True)
class Classifies:
    """``rule``, read only where at least one of the compared ``models`` still classifies above
    ``chance`` in ``table``'s rows ``where`` (the lower end of its accuracy's interval across seeds
    above chance): a comparison of models that all guess, or a confidence of a model that guesses,
    describes a regime the paper never shows."""

    rule: Callable
    table: str
    where: dict
    models: tuple[str, ...]
    chance: float

    @property
    def text(self) -> str:
        return (f"untestable where every compared model is at chance ({self.chance:g}) in {self.table} at {_where(self.where)}; "
                f"then {self.rule.text}")

    def __call__(self, tables: ReadTable) -> Evidence:
        t = tables(self.table)
        accuracy = {m: t_interval(rows(t, {**self.where, "model": m})["accuracy"], bounded=True) for m in self.models}
        above = [m for m, (mean, low, _) in accuracy.items() if (mean if np.isnan(low) else low) > self.chance]
        shown = ", ".join(f"{m} {mean:.3f}" for m, (mean, _, _) in accuracy.items())
        if not above:
            return Evidence("untestable here", f"at {_where(self.where)} every compared model is at chance ({shown}; chance "
                                               f"{self.chance:g}): a regime the paper never shows")
        found = self.rule(tables)
        return replace(found, reason=f"{found.reason}; read at {_where(self.where)}, accuracy {shown}")


@dataclass(frozen=True)
class AtVariance:
    """``rule``, read at a noise variance chosen per training seed (``table``'s ``variance`` column
    in rows ``where``): its reason says which."""

    rule: Callable
    where: dict

    @property
    def table(self) -> str:
        return self.rule.table

    @property
    def text(self) -> str:
        return f"{self.rule.text}; read at each seed's own variance"

    def __call__(self, tables: ReadTable) -> Evidence:
        variances = rows(tables(self.table), self.where).groupby(SEED)["variance"].first()
        found = self.rule(tables)
        if variances.isna().any():
            return Evidence("untestable here", f"no matched variance for seed {', '.join(map(str, variances[variances.isna()].index))}: "
                                               "the plain model never falls halfway to chance in the sweep")
        shown = ", ".join(f"{v:.3g}" for v in variances)
        return replace(found, reason=f"{found.reason}; read at variance {shown} (seeds {', '.join(map(str, variances.index))})")


@dataclass(frozen=True)
class AtLeast:
    """A share the paper's statement implies, against a stated ``level`` (:data:`AT_LEAST_TEXT`,
    the interval across training seeds)."""

    table: str
    where: dict
    column: str
    level: float

    @property
    def text(self) -> str:
        return f"{self.column} against {self.level:g}: {AT_LEAST_TEXT}"

    def __call__(self, tables: ReadTable) -> Evidence:
        value, low, high = t_interval(rows(tables(self.table), self.where)[self.column], bounded=is_bounded(self.column))
        return _against_floor(value, low, high, self.level, "the stated level")


@dataclass(frozen=True)
class Readings:
    """One claim read under each plausible reading of what the paper left open, ``(name, rule)``
    pairs, the first the one the paper's words favour: its value and verdict, with every reading's
    verdict (whether the verdict survives them all: :attr:`.Evidence.robust`)."""

    readings: tuple[tuple[str, Callable], ...]

    @property
    def table(self) -> str:
        return self.readings[0][1].table

    @property
    def text(self) -> str:
        first, *others = self.readings
        return (f"{first[1].text}; read {first[0]}, and also {', '.join(n for n, _ in others)}: the verdict is robust "
                "where every reading gives it")

    def __call__(self, tables: ReadTable) -> Evidence:
        found = [(name, rule(tables)) for name, rule in self.readings]
        name, first = found[0]
        return replace(first, reason=f"{name}: {first.reason}", readings=tuple((n, e.verdict) for n, e in found))


@dataclass(frozen=True)
class Untestable:
    """A claim the study cannot decide, for the reason given."""

    reason: str
    table: str = ""
    text: str = "none: the study cannot decide it"

    def __call__(self, tables: ReadTable) -> Evidence:
        return Evidence("untestable here", self.reason)


Rule = Callable[[ReadTable], Evidence]  # with a ``text`` saying how it decides and the ``table`` it reads
