"""The golden copies that nbval re-executes must be the notebooks' own code, at their defaults."""
import nbformat
import pytest

from lib.study import goldens, paths, pipeline

GOLDEN = goldens.GOLDEN
NOTEBOOKS = pipeline.discover(paths.REPO_ROOT / "notebooks")


def code_cells(nb):
    return [c.source for c in goldens.code_cells(pipeline.strip_run_note(nb))]


def test_the_study_has_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_golden_copy_matches_its_notebook(nb_path):
    golden = GOLDEN / nb_path.name
    regenerate = "regenerate with ./run_all.sh --update-golden"
    assert golden.exists(), f"{golden} missing; {regenerate}"
    gold = nbformat.read(golden, 4)
    assert code_cells(gold) == code_cells(nbformat.read(nb_path, 4)), f"{golden.name} is out of date; {regenerate}"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in gold.cells), "golden copies run at the defaults"
    assert any(c.source.startswith("# NBVAL_CHECK_OUTPUT") and c.outputs for c in gold.cells if c.cell_type == "code")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_parameterised_and_carries_results(nb_path):
    nb = nbformat.read(nb_path, 4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'profile = "smoke"' in params[0].source
    carries = any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert carries != pipeline.awaits_reference_run(nb), "committed without the reference outputs, or with them and a note that it has none"
    assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
