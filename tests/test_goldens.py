"""The golden copies' numbers are compared within measured tolerances (lib/study/goldens.py), and
that comparison still fails where it must: a number moved beyond its tolerance, a changed word or
count, a real change of a result."""
import itertools
import json
import re
import subprocess
import sys

import nbformat
import pytest

from lib.study import goldens, paths, pipeline

GOLDEN = goldens.GOLDEN
MACHINES = GOLDEN / "machines"  # the checked outputs of the golden copies as other machines executed them
TOLERANCES = goldens.Tolerances.load()
SANITIZE = goldens.sanitizer()


def golden(name):
    """The checked cells of a committed golden copy: (nbval's cell number, code, outputs)."""
    return goldens.read_checked(str(GOLDEN), name, SANITIZE)[1]


def moved(text, index, new):
    """``text`` with its ``index``-th decimal number replaced by ``new``."""
    match = list(goldens.DECIMAL.finditer(text))[index]
    return text[:match.start()] + new + text[match.end():]


def test_numbers_words_and_integers_are_told_apart():
    text, numbers = goldens.split("YOLOv5-CBAM  -1.33 (-18.33 to 15.67)   2 seeds, 0-70 %, torch 2.14.1, 0.5.")
    assert numbers == ["-1.33", "-18.33", "15.67", "0.5"]
    assert text == "YOLOv5-CBAM \0 (\0 to \0) 2 seeds, 0-70 %, torch 2.14.1, \0."
    assert goldens.unit("-1.33") == pytest.approx(0.01) and goldens.unit("1.5e-4") == pytest.approx(1e-5)
    assert goldens.unit("3.") == 1.0


def test_a_tolerance_is_absolute_plus_relative_plus_one_printed_unit():
    tol = goldens.Tolerance(rtol=0.1, atol=0.01)
    assert tol.allows("1.00", "1.12")  # 0.01 + 0.1 * 1.12 + 0.01 = 0.132
    assert not tol.allows("1.00", "1.15")
    assert goldens.Tolerance().allows("0.485", "0.486")  # neighbouring last digits
    assert not goldens.Tolerance().allows("0.485", "0.487")
    assert goldens.Tolerance().allows("nan", "NaN") and not goldens.Tolerance(atol=9).allows("nan", "0.0")


@pytest.mark.parametrize("name", goldens.golden_names())
def test_each_tolerance_names_one_checked_cell(name):
    assert not TOLERANCES.check_against(name.removesuffix(".ipynb"), [s for _, s, _ in golden(name)])


def test_every_tolerance_entry_belongs_to_a_golden_copy():
    stems = {n.removesuffix(".ipynb") for n in goldens.golden_names()}
    assert {c.notebook for c in TOLERANCES.cells} <= stems


RECORDS = [(record, stem) for record in sorted(MACHINES.glob("*.json")) for stem in json.loads(record.read_text())["notebooks"]]


@pytest.mark.parametrize("record, stem", RECORDS, ids=[f"{r.stem}-{s[:2]}" for r, s in RECORDS])
def test_other_machines_outputs_are_accepted(record, stem):
    """The golden copies as executed on each kind of processor recorded in tests/golden/machines/
    pass against the committed ones: the tolerances cover the spread they were derived from."""
    name = f"{stem}.ipynb"
    code, cells = goldens.read_checked(str(record), name)
    if code != goldens.executed_code_digest(nbformat.read(GOLDEN / name, 4)):
        pytest.skip(f"{record.name} holds {stem} executed from other code; record it again on that machine "
                    "(python -m lib.study.goldens record --help)")
    table = goldens.spread(golden(name), cells, stem, TOLERANCES)
    assert table.accepted.all(), table[~table.accepted].to_string()


def test_the_recorded_machines_accept_each_other():
    """Each recorded machine's outputs as the golden copies and another's as the new run, both ways."""
    records = sorted(MACHINES.glob("*.json"))
    assert len(records) >= 2, "the tolerances need the outputs of two kinds of machine"
    for a, b in itertools.permutations(records, 2):
        shared = json.loads(a.read_text())["notebooks"].keys() & json.loads(b.read_text())["notebooks"].keys()
        for stem in sorted(shared):
            (code_a, cells_a), (code_b, cells_b) = (goldens.read_checked(str(r), f"{stem}.ipynb") for r in (a, b))
            if code_a == code_b:
                table = goldens.spread(cells_a, cells_b, stem, TOLERANCES)
                assert table.accepted.all(), f"{a.stem} against {b.stem}:\n" + table[~table.accepted].to_string()


def numbered_cell(name):
    """A checked cell of golden copy ``name`` that shows decimal numbers, one with a tolerance of its
    own where there is one, and that tolerance."""
    stem = name.removesuffix(".ipynb")
    cells = [(s, o) for _, s, o in golden(name) if goldens.split(o.get("text/plain", [""])[0])[1]]
    source, outputs = next(((s, o) for s, o in cells if TOLERANCES.of(stem, s) != TOLERANCES.default), cells[0])
    return outputs, TOLERANCES.of(stem, source)


# 03: an exact cell (Table 2); 04 and 08: cells with tolerances measured between processors
@pytest.mark.parametrize("name", ["03_occlusion_study.ipynb", "04_heatmap_iou.ipynb", "08_claims.ipynb"])
def test_a_number_moved_beyond_its_tolerance_fails_and_within_it_passes(name):
    outputs, tol = numbered_cell(name)
    text = outputs["text/plain"][0]
    value = goldens.split(text)[1][0]
    allowed = tol.atol + tol.rtol * abs(float(value)) + goldens.unit(value)  # at the least
    decimals = len(value.partition(".")[2])
    # upwards by d, the bound grows with the new value: d must exceed (atol + rtol |a| + unit) / (1 - rtol)
    for delta, passes in ((0.5 * allowed, True), (2 * allowed / (1 - tol.rtol), False)):
        changed = dict(outputs, **{"text/plain": [moved(text, 0, f"{float(value) + delta:.{decimals}f}")]})
        assert (not goldens.compare_outputs(outputs, changed, tol)) == passes, (value, delta, tol)


@pytest.mark.parametrize("name", ["03_occlusion_study.ipynb", "04_heatmap_iou.ipynb", "08_claims.ipynb"])
def test_a_changed_word_or_count_fails_whatever_the_tolerance(name):
    outputs, _ = numbered_cell(name)
    wide = goldens.Tolerance(rtol=10, atol=10)
    text = outputs["text/plain"][0]
    word = next(w for w in text.split() if w.isalpha() and len(w) > 3)
    integer = next(m for m in re.finditer(r"(?<![\w.])\d+(?![\w.])", text))
    for changed in (text.replace(word, word.upper(), 1), text[:integer.start()] + str(int(integer[0]) + 1) + text[integer.end():]):
        assert goldens.compare_outputs(outputs, dict(outputs, **{"text/plain": [changed]}), wide)
    assert goldens.compare_outputs(outputs, dict(outputs, **{"text/plain": [text, text]}), wide)
    assert not goldens.compare_outputs(outputs, dict(outputs, **{"text/plain": [text.replace("  ", "   ")]}), goldens.Tolerance())


@pytest.mark.slow
def test_a_moved_highlight_threshold_fails_golden_04(tmp_path):
    """A real change of a result still fails within the tolerances: notebook 04 executed under the
    pin with the highlight at 60 % of the peak instead of 50 %, against its golden copy."""
    name = "04_heatmap_iou.ipynb"
    env = pipeline.kernel_env(tmp_path / "staging", pinned=True, force=False)
    failure = pipeline.execute(paths.REPO_ROOT / "notebooks" / name, tmp_path / name, {"highlight_threshold": 0.6}, env)
    assert failure is None, failure
    code, cells = goldens.read_checked(str(tmp_path), name, SANITIZE)
    assert code == goldens.executed_code_digest(nbformat.read(GOLDEN / name, 4))
    table = goldens.spread(golden(name), cells, "04_heatmap_iou", TOLERANCES)
    # numbers alone catch it: cells whose words and counts are unchanged still fail their tolerance
    assert not table[table.text_equal].accepted.all()


def test_nbval_accepts_a_number_within_its_tolerance_and_fails_the_rest(tmp_path):
    """The hook in tests/conftest.py, through nbval itself: stored output 0.125, three executions."""
    for name, printed in (("within", "score 0.130 of 3"), ("beyond", "score 0.200 of 3"), ("word", "SCORE 0.125 of 3"),
                          ("count", "score 0.125 of 4")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            f"# NBVAL_CHECK_OUTPUT\nprint({printed!r})", execution_count=1,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="score 0.125 of 3\n")])])
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    (tmp_path / "conftest.py").write_text(
        "from lib.study import goldens\n\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    goldens.tolerate_numbers(items, goldens.Tolerances(goldens.Tolerance(atol=0.01), ()))\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
                          "-rA", "-q", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    report = run.stdout
    assert "PASSED within.ipynb::Cell 0" in report, report
    for name in ("beyond", "word", "count"):
        assert f"FAILED {name}.ipynb::Cell 0" in report, report
    assert "0.125 became 0.200, outside Tolerance(rtol=0.0, atol=0.01)" in report
