"""run_all.sh's engine, on small notebooks of its own in a temporary tree (real papermill runs)."""
import nbformat
import pytest

from lib.study import paths, pipeline

PARAMS = 'profile = "smoke"\nseed = None\ndata_root = None\ndevice = None'


def notebook(path, *sources):
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, *(nbformat.v4.new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {"name": pipeline.KERNEL, "display_name": "study", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


WRITES = 'import pandas as pd\nfrom lib.study.reporting import Study\nStudy.start(profile).save_table(pd.DataFrame({"v": [len(profile)]}), "t")'


def test_select_by_number_or_name_and_reject_unknown(isolated):
    for name in ("01_a", "02_b", "03_c"):
        notebook(isolated / "notebooks" / f"{name}.ipynb", "1")
    found = pipeline.discover()
    assert [p.stem for p in pipeline.select(found, "3,01_a")] == ["01_a", "03_c"]
    with pytest.raises(pipeline.PipelineError, match="unknown notebook '9'; the study has: 01_a, 02_b, 03_c"):
        pipeline.select(found, "9")


def test_unknown_profile_fails_before_running(isolated):
    with pytest.raises(ValueError, match="unknown profile 'fastest'"):
        pipeline.run("fastest")


def test_unwritable_output_folder_fails_clearly(isolated):
    notebook(isolated / "notebooks" / "01_a.ipynb", "1")
    (isolated / "figures").mkdir()
    (isolated / "figures" / "smoke").write_text("a file where the results folder should be")
    with pytest.raises(pipeline.PipelineError, match="cannot write to .*figures/smoke"):
        pipeline.run("smoke")


def test_failing_notebook_names_the_cell_and_leaves_results_untouched(isolated):
    nbs = isolated / "notebooks"
    notebook(nbs / "01_writes.ipynb", WRITES)
    notebook(nbs / "02_fails.ipynb", "x = 1", "raise RuntimeError('boom')")
    results = isolated / "figures" / "quick"
    results.mkdir(parents=True)
    (results / "old.csv").write_text("previous")
    with pytest.raises(pipeline.PipelineError) as err:
        pipeline.run("quick")
    msg = str(err.value)
    assert "02_fails failed in the cell starting `raise RuntimeError('boom')`" in msg and "RuntimeError: boom" in msg
    assert str(isolated / "data" / "runs" / "quick" / "02_fails.ipynb") in msg
    assert sorted(p.name for p in results.iterdir()) == ["old.csv"]  # nothing new published
    assert not list((isolated / "figures").glob(".staging-*"))
    assert nbformat.read(nbs / "01_writes.ipynb", 4).cells[1].outputs == []  # reference copy not replaced


def test_reference_run_publishes_results_and_keeps_smoke_defaults(isolated):
    nbs = isolated / "notebooks"
    notebook(nbs / "01_writes.ipynb", WRITES)
    pipeline.run("quick")
    assert (isolated / "figures" / "quick" / "t.csv").read_text().splitlines()[1] == "0,5"
    nb = nbformat.read(nbs / "01_writes.ipynb", 4)
    assert "parameters" in nb.cells[0].metadata.tags and nb.cells[0].source == PARAMS
    note = nb.cells[1]
    assert note.cell_type == "markdown" and "`profile = 'quick'`" in note.source
    assert "papermill" not in nb.metadata
    pipeline.run("quick")  # a second run replaces the note instead of stacking another one
    assert sum(c.cell_type == "markdown" for c in nbformat.read(nbs / "01_writes.ipynb", 4).cells) == 1
    pipeline.run("smoke")  # other profiles never overwrite the reference notebooks
    assert "'quick'" in nbformat.read(nbs / "01_writes.ipynb", 4).cells[1].source


def test_main_reports_errors_without_traceback(isolated, capsys):
    assert pipeline.main(["--profile", "nope"]) == 1
    assert "ERROR: unknown profile 'nope'" in capsys.readouterr().err


def test_golden_copies_run_at_defaults_without_images(isolated, monkeypatch):

    monkeypatch.setattr(paths, "REPO_ROOT", isolated)
    notebook(isolated / "notebooks" / "01_plot.ipynb", "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()\nprint(profile)")
    pipeline.run("smoke", golden=True)
    gold = nbformat.read(isolated / "tests" / "golden" / "01_plot.ipynb", 4)
    outputs = gold.cells[1].outputs
    assert not any(m.startswith("image/") for o in outputs for m in o.get("data", {}))
    assert any(o.get("text") == "smoke\n" for o in outputs)  # no injected parameters: the default ran


def test_a_dead_kernel_is_reported_as_a_failure(isolated):
    notebook(isolated / "notebooks" / "01_dies.ipynb", "import os\nos._exit(1)")
    with pytest.raises(pipeline.PipelineError, match="01_dies failed in no cell .*DeadKernelError"):
        pipeline.run("smoke")


def test_an_unchanged_notebook_is_not_executed_again(isolated):
    runs = isolated / "ran.txt"
    nb = isolated / "notebooks" / "01_writes.ipynb"
    notebook(nb, WRITES, f"open({str(runs)!r}, 'a').write('x')")
    results = isolated / "figures" / "quick"
    pipeline.run("quick")
    pipeline.run("quick")
    assert runs.read_text() == "x"  # the second run found nothing changed
    stamps = pipeline.read_stamps(isolated / "data" / "runs" / "quick")
    assert sorted(stamps["01_writes"]["files"]) == ["t.csv", "t.md"]
    pipeline.run("quick", rerun=True)
    assert runs.read_text() == "xx"
    (results / "t.csv").write_text("edited by hand")  # a published file no longer as the notebook wrote it
    pipeline.run("quick")
    assert runs.read_text() == "xxx" and (results / "t.csv").read_text().splitlines()[1] == "0,5"
    pipeline.run("quick", seed=3)  # other parameters
    assert runs.read_text() == "xxxx"
    notebook(nb, WRITES, f"open({str(runs)!r}, 'a').write('y')")  # another cell
    pipeline.run("quick")
    assert runs.read_text() == "xxxxy"


def test_a_notebook_stamp_follows_what_lib_does_not_how_it_is_written(isolated, monkeypatch):
    monkeypatch.setattr(paths, "REPO_ROOT", isolated)
    (isolated / "requirements.txt").write_text("torch==1\n")
    module = isolated / "lib" / "m.py"
    module.parent.mkdir()
    module.write_text("def f():\n    return 1\n")
    nb = isolated / "notebooks" / "01_a.ipynb"
    notebook(nb, "1")
    stamp = lambda: pipeline.notebook_stamp(nb, {"profile": "quick"}, {}, None)  # noqa: E731
    first = stamp()
    module.write_text('def f():\n    """Docstring."""\n    return 1  # a comment\n')
    assert stamp() == first
    module.write_text("def f():\n    return 2\n")
    assert stamp() != first
    module.write_text("def f():\n    return 1\n")
    (isolated / "requirements.txt").write_text("torch==2\n")
    assert stamp() != first


def test_a_summarising_notebook_runs_again_when_a_table_it_reads_changed(isolated):
    runs, value = isolated / "ran.txt", isolated / "value.txt"
    value.write_text("1")
    nbs = isolated / "notebooks"
    notebook(nbs / "01_writes.ipynb", WRITES.replace("[len(profile)]", f"[open({str(value)!r}).read()]"))
    notebook(nbs / "02_reads.ipynb", f"open({str(runs)!r}, 'a').write('x')")
    reader = nbformat.read(nbs / "02_reads.ipynb", 4)
    reader.metadata["study"] = {"reads_results": True}
    nbformat.write(reader, nbs / "02_reads.ipynb")
    pipeline.run("quick")
    pipeline.run("quick")
    assert runs.read_text() == "x"  # nothing it reads changed
    value.write_text("2")
    pipeline.run("quick", only="01", rerun=True)  # another table, the reader not selected
    pipeline.run("quick")
    assert runs.read_text() == "xx"


def test_a_progress_bar_keeps_its_last_state_and_cleared_bars_vanish():
    redraws = "\rtrain:   0%|  | 0/3\rtrain:  33%|# | 1/3\rtrain: 100%|##| 3/3\n"
    assert pipeline.terminal_text(redraws) == "train: 100%|##| 3/3\n"
    # a nested bar (leave=False) drawn one line below with tqdm's cursor-up, then cleared
    nested = "outer:   0%| | 0/2\n\rinner:  50%\x1b[A\n\rinner: 100%\x1b[A\n\r      \r\x1b[A\router:  50%| | 1/2"
    assert pipeline.terminal_text(nested) == "outer:  50%| | 1/2\n"
    assert pipeline.terminal_text("\r   \r") == ""
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="\rbar 1/2"),
                    nbformat.v4.new_output("stream", name="stderr", text="\rbar 2/2\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="printed\n\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="\r    \r")]
    pipeline.quiet_streams(cell)
    assert [(o.name, o.text) for o in cell.outputs] == [("stderr", "bar 2/2\n"), ("stdout", "printed\n\n")]


def test_golden_copies_draw_no_progress_bars(tmp_path):
    assert pipeline.kernel_env(tmp_path, pinned=True, force=False, bars=False)["TQDM_DISABLE"] == "1"
    assert "TQDM_DISABLE" not in pipeline.kernel_env(tmp_path, pinned=False, force=False)
