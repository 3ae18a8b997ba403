"""Golden copies compared number by number, within tolerances measured between machines.

nbval compares a checked cell's outputs as text. Two x86-64 processors of different makes, under
the same pinned numerical setup (:mod:`lib.study.numerics`), still sum some products in another
order; the smoke detectors amplify that into the second decimal of their heatmap scores. So a
checked output is read as text with numbers in it: the text, with every run of white space made
one space (pandas pads columns to the widest number), must match exactly, and so must every
integer (counts, sizes, seeds, layer indices) and word (column names, row labels, verdicts).
Only the decimal numbers may differ, each within its cell's :class:`Tolerance`.

The tolerances are written once, in ``tests/golden/tolerances.toml``, each with the spread it
comes from. That spread is measured by :func:`spread` between the same golden copy executed on
two machines (``python -m lib.study.goldens spread REV_A REV_B``, two git revisions or folders),
so a new kind of machine is measured the same way. ``tests/conftest.py`` hands nbval's cells to
:func:`tolerate_numbers`, which keeps nbval's exact comparison and falls back to this one only
when the exact one fails.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import paths, pipeline
from .cache import atomic_write_text

GOLDEN = paths.REPO_ROOT / "tests" / "golden"  # the golden copies nbval checks
TOLERANCES = GOLDEN / "tolerances.toml"
SANITIZE = paths.REPO_ROOT / "tests" / "nbval_sanitize.cfg"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
# what nbval leaves out of its comparison (IPyNbFile.skip_compare, images included)
NOT_COMPARED = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")

# A decimal number standing alone: not part of a name ("YOLOv5", "P3"), a version ("2.14.1") or a
# range's second end ("0-70" is two integers). Integers are deliberately not matched: they stay in
# the text and are compared exactly.
DECIMAL = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?!\w|\.\d)")
SLOT = "\x00"  # where a decimal number stood in the text


@dataclass(frozen=True)
class Tolerance:
    """``|a - b| <= atol + rtol * max(|a|, |b|) + one unit of the last printed decimal``.

    The unit is always allowed: a printed number stands for an interval of that width, and two
    values a hair apart can round to neighbouring last digits."""

    rtol: float = 0.0
    atol: float = 0.0

    def allows(self, expected: str, actual: str) -> bool:
        a, b = float(expected), float(actual)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= self.atol + self.rtol * max(abs(a), abs(b)) + max(unit(expected), unit(actual)) * (1 + 1e-9)


def unit(number: str) -> float:
    """One unit of the last printed decimal of ``number`` (0.01 for ``-1.33``, 1e-5 for ``1.5e-4``)."""
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def split(text: str) -> tuple[str, list[str]]:
    """The text with its white space runs made one space and its decimal numbers taken out."""
    numbers = DECIMAL.findall(text)
    return " ".join(DECIMAL.sub(SLOT, text).split()), numbers


def compare(expected: str, actual: str, tolerance: Tolerance) -> list[str]:
    """Why ``actual`` does not match ``expected`` (empty when it does)."""
    (text_e, numbers_e), (text_a, numbers_a) = split(expected), split(actual)
    if text_e != text_a:
        at = next((i for i, (x, y) in enumerate(zip(text_e, text_a)) if x != y), min(len(text_e), len(text_a)))
        show = lambda t: t[max(0, at - 40):at + 40].replace(SLOT, "<number>")  # noqa: E731
        return [f"the text differs, not only its numbers: expected ...{show(text_e)}... got ...{show(text_a)}..."]
    return [f"{e} became {a}, outside {tolerance}" for e, a in zip(numbers_e, numbers_a) if not tolerance.allows(e, a)]


# -- where the tolerances come from: tests/golden/tolerances.toml --
@dataclass(frozen=True)
class CellTolerance:
    notebook: str  # file stem, e.g. "04_heatmap_iou"
    contains: str  # a piece of the checked cell's code that names it
    tolerance: Tolerance


@dataclass(frozen=True)
class Tolerances:
    default: Tolerance
    cells: tuple[CellTolerance, ...]

    @classmethod
    def load(cls, path: Path = TOLERANCES) -> "Tolerances":
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        tol = lambda d: Tolerance(rtol=float(d.get("rtol", 0.0)), atol=float(d.get("atol", 0.0)))  # noqa: E731
        cells = tuple(CellTolerance(c["notebook"], c["contains"], tol(c)) for c in raw.get("cell", []))
        return cls(tol(raw.get("default", {})), cells)

    def of(self, notebook: str, source: str) -> Tolerance:
        """The tolerance of the checked cell with code ``source`` in ``notebook`` (a file stem)."""
        found = [c.tolerance for c in self.cells if c.notebook == notebook and c.contains in source]
        if len(found) > 1:
            raise ValueError(f"{TOLERANCES.name}: several entries of {notebook} name the cell\n{source}")
        return found[0] if found else self.default

    def check_against(self, notebook: str, sources: list[str]) -> list[str]:
        """Entries of ``notebook`` that name no checked cell, or more than one (the file went stale)."""
        counts = {c.contains: sum(c.contains in s for s in sources) for c in self.cells if c.notebook == notebook}
        return [f"{TOLERANCES.name}: the entry of {notebook} for {piece!r} names {n} checked cells, not 1"
                for piece, n in counts.items() if n != 1]


# -- outputs as nbval sees them --
def sanitizer(path: Path = SANITIZE):
    """nbval's own reading of ``--nbval-sanitize-with`` (regex, replacement pairs)."""
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(path.read_text())

    def sanitize(s):
        if not isinstance(s, str):
            return s
        for regex, replace in patterns:
            s = re.sub(regex, replace, s)
        return s
    return sanitize


def flatten(outputs, sanitize=lambda s: s) -> dict[str, list[str]]:
    """A cell's outputs keyed as nbval compares them: each MIME type of the data, each stream by its
    name, each other field of an output (an error's name and value), less what nbval skips."""
    from nbval.plugin import transform_streams_for_comparison

    out: dict[str, list[str]] = {}
    for o in transform_streams_for_comparison(outputs):
        fields = [*o.get("data", {}).items(), *((k, v) for k, v in o.items() if k != "data")]
        for key, value in fields:
            if key not in NOT_COMPARED:
                out.setdefault(key, []).append(sanitize(value if isinstance(value, str) else "".join(value)))
    return out


def compare_outputs(expected: dict[str, list[str]], actual: dict[str, list[str]], tolerance: Tolerance) -> list[str]:
    if set(expected) != set(actual):
        return [f"the outputs hold {sorted(actual)}, the golden copy {sorted(expected)}"]
    problems = []
    for key in expected:
        if len(expected[key]) != len(actual[key]):
            problems.append(f"{key}: {len(actual[key])} outputs, the golden copy has {len(expected[key])}")
            continue
        for e, a in zip(expected[key], actual[key]):
            problems += [f"{key}: {p}" for p in compare(e, a, tolerance)]
    return problems


# -- the nbval hook --
def tolerate_numbers(items, tolerances: Tolerances | None = None) -> None:
    """Let each nbval cell of ``items`` accept numbers within its tolerance.

    nbval's own comparison runs first; only when it fails is the cell compared here, with the
    same outputs (sanitised, streams merged), and this comparison's reasons replace nbval's."""
    from nbval.plugin import IPyNbCell

    tolerances = tolerances or Tolerances.load()
    for item in items:
        if not isinstance(item, IPyNbCell):
            continue
        tolerance = tolerances.of(Path(str(item.fspath)).stem, item.cell.source)
        exact = item.compare_outputs

        def within(test, ref, skip_compare=None, item=item, exact=exact, tolerance=tolerance):
            if exact(test, ref, skip_compare):
                return True
            problems = compare_outputs(flatten(ref, item.sanitize), flatten(test, item.sanitize), tolerance)
            if problems:
                item.comparison_traceback = [f"numbers compared within {tolerance} (tests/golden/tolerances.toml):",
                                             *problems[:20], *([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])]
            return not problems
        item.compare_outputs = within


# -- the spread between two executions of the same golden copy --
Checked = list[tuple[int, str, dict[str, list[str]]]]  # each checked cell's number, code and flattened outputs


def code_cells(nb) -> list:
    """A notebook's code cells as nbval numbers them, papermill's injected parameters left out."""
    return [c for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]


def checked(nb, sanitize=lambda s: s) -> Checked:
    """The cells nbval checks under ``--nbval-lax``: nbval's cell number, code and outputs."""
    return [(i, c.source, flatten(c.outputs, sanitize)) for i, c in enumerate(code_cells(nb)) if c.source.startswith(CHECK_MARKER)]


def executed_code_digest(nb) -> str:
    """What a notebook's outputs follow from: the code of all its cells. Two executions are
    compared only where this agrees."""
    return hashlib.sha256(json.dumps([c.source for c in code_cells(nb)]).encode()).hexdigest()[:16]


def read_notebook(where: str, name: str):
    """Golden copy ``name`` (a file name) as stored in ``where``: a folder of executed copies or a
    git revision's ``tests/golden/``."""
    if Path(where).is_dir():
        return nbformat.read(Path(where) / name, 4)
    text = subprocess.run(["git", "show", f"{where}:tests/golden/{name}"], cwd=paths.REPO_ROOT,
                          capture_output=True, text=True, check=True).stdout
    return nbformat.reads(text, 4)


def read_checked(where: str, name: str, sanitize=lambda s: s) -> tuple[str, Checked]:
    """The code fingerprint and checked cells of golden copy ``name`` in ``where``: a folder, a git
    revision (:func:`read_notebook`) or a record written by :func:`record` (``.json``)."""
    if where.endswith(".json"):
        entry = json.loads(Path(where).read_text())["notebooks"][Path(name).stem]
        return entry["code"], [(c["cell"], c["source"], c["outputs"]) for c in entry["cells"]]
    nb = read_notebook(where, name)
    return executed_code_digest(nb), checked(nb, sanitize)


def spread(a: Checked, b: Checked, notebook: str, tolerances: Tolerances | None = None):
    """Per checked cell of two executions ``a`` and ``b`` of one notebook: how many decimal numbers
    it shows, how many differ, the largest absolute and relative difference beyond the printed
    unit, and whether the tolerance in force accepts the pair. A cell whose text differs beyond
    its numbers has ``text_equal`` False: no tolerance accepts it."""
    import pandas as pd

    tolerances = tolerances or Tolerances.load()
    if [s for _, s, _ in a] != [s for _, s, _ in b]:
        raise ValueError(f"{notebook}: the two copies' checked cells differ in code; their outputs cannot be compared")
    rows = []
    for (number, source, fa), (_, _, fb) in zip(a, b):
        pairs, text_equal = [], set(fa) == set(fb)
        for key in fa if text_equal else ():
            text_equal &= len(fa[key]) == len(fb[key])
            for x, y in zip(fa[key], fb[key]):
                (tx, nx), (ty, ny) = split(x), split(y)
                text_equal &= tx == ty
                pairs += list(zip(nx, ny))
        beyond = [(abs(float(x) - float(y)) - max(unit(x), unit(y)), max(abs(float(x)), abs(float(y))))
                  for x, y in pairs if x != y]
        tolerance = tolerances.of(notebook, source)
        rows.append({
            "notebook": notebook, "cell": number, "code": (source.splitlines()[1:] or [""])[0][:40],
            "numbers": len(pairs), "differ": sum(x != y for x, y in pairs),
            "max_abs": max((max(d, 0.0) for d, _ in beyond), default=0.0),
            "max_rel": max((max(d, 0.0) / m for d, m in beyond if m > 0), default=0.0),
            "text_equal": text_equal,
            "accepted": text_equal and not compare_outputs(fa, fb, tolerance),
            "tolerance": f"rtol={tolerance.rtol:g}, atol={tolerance.atol:g}",
        })
    return pd.DataFrame(rows)


def record(where: str, out: Path, machine: str, names: list[str]) -> None:
    """Keep the checked outputs of the golden copies in ``where``, executed on ``machine``, in a
    small JSON file: the other machine's side of :func:`spread` once the copies are regenerated."""
    sanitize = sanitizer()
    notebooks = {}
    for name in names:
        code, cells = read_checked(where, name, sanitize)
        notebooks[Path(name).stem] = {"code": code, "cells": [{"cell": i, "source": s, "outputs": o} for i, s, o in cells]}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"machine": machine, "from": where, "notebooks": notebooks}, indent=1) + "\n")


def golden_names() -> list[str]:
    return [p.name for p in pipeline.discover(GOLDEN)]


def command_line(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.study.goldens", description=__doc__.split("\n\n")[0])
    where = "a git revision (its tests/golden/), a folder of executed golden copies, or a record (.json)"
    commands = parser.add_subparsers(dest="command", required=True)
    measure = commands.add_parser("spread", help="how far two executions of the golden copies are apart, cell by cell")
    measure.add_argument("a", help=where)
    measure.add_argument("b", help=f"the same, executed on another machine: {where}")
    keep = commands.add_parser("record", help="keep the checked outputs of executed golden copies in a JSON file")
    keep.add_argument("a", help=where)
    keep.add_argument("out", type=Path, help="the JSON file to write")
    keep.add_argument("--machine", required=True, help="the processor and setup that executed them, in words")
    for command in (measure, keep):
        command.add_argument("--notebooks", nargs="*", default=None, help="file names (default: every golden copy)")
    args = parser.parse_args(argv)
    names = args.notebooks or golden_names()
    try:
        return _run(args, names)
    except subprocess.CalledProcessError as e:
        parser.error(f"git could not read {e.cmd[-1]}: {e.stderr.strip()}")
    except (OSError, KeyError, ValueError) as e:
        parser.error(f"{type(e).__name__}: {e}")


def _run(args, names: list[str]) -> int:
    if args.command == "record":
        record(args.a, args.out, args.machine, names)
        return 0

    import pandas as pd

    sanitize = sanitizer()
    tables = []
    for n in names:
        try:
            (code_a, a), (code_b, b) = read_checked(args.a, n, sanitize), read_checked(args.b, n, sanitize)
        except KeyError:
            print(f"{n}: not in both records; not compared", file=sys.stderr)
            continue
        if code_a != code_b:
            print(f"{n}: executed from different code on the two sides; not compared", file=sys.stderr)
            continue
        tables.append(spread(a, b, Path(n).stem))
    table = pd.concat(tables, ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    rejected = table[~table.accepted]
    print(f"\n{len(rejected)} of {len(table)} checked cells fall outside their tolerance" if len(rejected) else
          f"\nevery checked cell of {len(tables)} notebook(s) is within its tolerance")
    return 1 if len(rejected) else 0


if __name__ == "__main__":
    sys.exit(command_line())
