"""Execute the study's notebooks headlessly with papermill (what ``run_all.sh`` calls).

``python -m lib.study.pipeline --profile quick --only 01,03 --force``

* Notebooks ``notebooks/NN_*.ipynb`` run in order; a new notebook joins by existing.
* Figures and tables are written to a staging folder and published into
  ``figures/<profile>/`` only when every selected notebook succeeded, so a failed or killed
  run leaves the previous results untouched. Cached artifacts built before the failure stay,
  and the next run resumes from them.
* Executed copies go to ``data/runs/<profile>/``; those of the reference profile also replace
  the notebooks in ``notebooks/``, so that a reader opening them sees the reference results.
* A notebook whose inputs are unchanged since its last successful run (its cells, the
  parameters, the code of ``lib``, the pinned requirements, the data and the machine) and whose
  published files are still as it wrote them is not executed again (:func:`notebook_stamp`):
  a rerun with nothing changed takes seconds. ``--rerun`` executes it anyway, ``--force`` too.
  A notebook that summarises the others' tables (the claims ledger) runs again when any of them changed.
* ``--update-golden`` executes the notebooks as stored (their default, ``smoke``) into
  ``tests/golden/``, the copies that nbval checks in CI, under the pinned numerical setup of
  ``tests/run.sh`` (:mod:`lib.study.numerics`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import numerics, paths
from .cache import atomic_write_text, code_fingerprint, dataset_identity
from .precision import CHOICES
from .profiles import PROFILES, get_profile

REFERENCE_PROFILE = "quick"
KERNEL = "microvision-study"
RUN_NOTE_TAG = "run-note"  # marks the markdown cell that records a reference run's parameters
# How a committed notebook whose code changed after the last reference run says that it carries no
# outputs until the next one (in its run-note cell, which that run replaces).
AWAITING_RUN = "*No outputs yet:"
STAMPS = "stamps.json"  # in the executed copies' folder: each notebook's stamp and the files it wrote
UNSTAMPED_ENV = ("STUDY_FIGURES_DIR", "STUDY_FORCE_SINCE")  # where results are staged says nothing of them


class PipelineError(RuntimeError):
    """A failure with a message meant for the user, printed without a traceback."""


def discover(notebooks_dir: Path | None = None) -> list[Path]:
    return sorted((notebooks_dir or paths.NOTEBOOKS_DIR).glob("[0-9][0-9]_*.ipynb"))


def select(available: list[Path], only: str | None) -> list[Path]:
    """Notebooks picked by ``--only``: comma-separated numbers (``01,3``) or names (``01_dataset_prep``)."""
    if not only:
        return available
    chosen = []
    for token in (t.strip() for t in only.split(",") if t.strip()):
        hits = [p for p in available if p.stem == token or (token.isdigit() and int(p.stem[:2]) == int(token))]
        if not hits:
            names = ", ".join(p.stem for p in available)
            raise PipelineError(f"unknown notebook {token!r}; the study has: {names}")
        chosen += [h for h in hits if h not in chosen]
    return sorted(chosen)


_TERMINAL = re.compile(r"(\r|\n|\x1b\[[0-9;]*[A-Za-z])")  # what moves a terminal's cursor, and the text between


def terminal_text(text: str) -> str:
    """What a terminal shows once ``text`` is written to it: a progress bar's last state instead of
    every redraw (carriage returns, tqdm's cursor-up moves between nested bars), without the lines
    a finished bar cleared."""
    lines, row, fresh = [""], 0, True
    for token in _TERMINAL.split(text):
        if token == "\n":
            row += 1
            lines += [""] * (row + 1 - len(lines))
            fresh = True
        elif token == "\r":
            fresh = True
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
        elif token:
            lines[row] = token if fresh else lines[row] + token
            fresh = False
    shown = [line.rstrip() for line in lines if line.strip()]
    return "\n".join(shown) + "\n" if shown else ""


def quiet_streams(cell: nbformat.NotebookNode) -> None:
    """Each run of consecutive stderr outputs of ``cell`` as one output of its :func:`terminal_text`
    (dropped where nothing stays on the screen)."""
    outputs = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stderr" and outputs and outputs[-1].output_type == "stream" \
                and outputs[-1].name == "stderr":
            outputs[-1].text += out.text
        else:
            outputs.append(out)
    for out in outputs:
        if out.output_type == "stream" and out.name == "stderr":
            out.text = terminal_text(out.text)
    cell.outputs = [o for o in outputs if not (o.output_type == "stream" and o.name == "stderr" and not o.text)]


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-to-run noise (papermill timings, execution stamps) so committed copies diff cleanly,
    and keep of each progress bar its last state (:func:`quiet_streams`)."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            quiet_streams(cell)
    return nb


def drop_images(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Golden copies keep text only: nbval never compares images, and git need not carry them."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for mime in [m for m in out.get("data", {}) if m.startswith("image/")]:
                del out.data[mime]
    return nb


def strip_run_note(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove the note a previous reference run left, so that papermill sees the notebook's own cells."""
    nb.cells = [c for c in nb.cells if RUN_NOTE_TAG not in c.metadata.get("tags", [])]
    return nb


def awaits_reference_run(nb: nbformat.NotebookNode) -> bool:
    """Whether the notebook's run note says that it awaits the next reference run (:data:`AWAITING_RUN`)."""
    return any(RUN_NOTE_TAG in c.metadata.get("tags", []) and c.source.startswith(AWAITING_RUN) for c in nb.cells)


def as_reference_copy(nb: nbformat.NotebookNode, parameters: dict) -> nbformat.NotebookNode:
    """Turn papermill's injected-parameters cell into a markdown note.

    The executed outputs are kept, but "Run All" in JupyterLab again uses the parameters cell's
    defaults (``smoke``) instead of the reference run's injected values.
    """
    for i, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            values = ", ".join(f"`{k} = {v!r}`" for k, v in parameters.items())
            note = nbformat.v4.new_markdown_cell(
                f"*The outputs below come from `run_all.sh`, which ran this notebook with {values}. "
                "Run All in JupyterLab uses the defaults of the cell above.*"
            )
            note.metadata["tags"] = [RUN_NOTE_TAG]
            note.id = RUN_NOTE_TAG  # a fixed id, so reruns do not churn the committed notebook
            nb.cells[i] = note
    return nb


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reads_results(src: Path) -> bool:
    """Whether a notebook summarises the other notebooks' saved tables (metadata ``study.reads_results``)."""
    return bool(nbformat.read(src, as_version=4).metadata.get("study", {}).get("reads_results"))


def results_digest(results_dir: Path, staging: Path, exclude=()) -> str:
    """One digest of every result file as it stands mid-run: those written by this run (staged)
    over those published before, less ``exclude`` (the reading notebook's own files)."""
    current = {str(f.relative_to(d)): f for d in (results_dir, staging) if d.is_dir() for f in d.rglob("*") if f.is_file()}
    return hashlib.sha256(json.dumps({k: file_digest(f) for k, f in sorted(current.items()) if k not in exclude}).encode()).hexdigest()


def notebook_stamp(src: Path, parameters: dict, env: dict[str, str], data_root: str | None, results: str | None = None) -> str:
    """What a notebook's results are a function of: its cells, the parameters and the kernel's
    numerical setup, what the code of ``lib`` does (:func:`.cache.code_fingerprint`: docstrings and
    comments do not count), the pinned requirements the environment is built from, the real data
    when there is some, and the machine. Everything else the notebooks read (datasets, models) is
    built from these, except the other notebooks' tables that a summarising notebook reads: for it,
    ``results`` (:func:`results_digest`)."""
    cells = [[c.cell_type, c.source] for c in strip_run_note(nbformat.read(src, as_version=4)).cells]
    code = {str(p.relative_to(paths.REPO_ROOT)): code_fingerprint(p.read_text())
            for p in sorted((paths.REPO_ROOT / "lib").rglob("*.py"))}
    parts = {"cells": cells, "parameters": parameters, "env": {k: v for k, v in env.items() if k not in UNSTAMPED_ENV},
             "code": code, "requirements": (paths.REPO_ROOT / "requirements.txt").read_text(),
             "data": dataset_identity(data_root) if data_root else None,
             "machine": [numerics.cpu_model(), os.cpu_count()], "results": results}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def read_stamps(runs_dir: Path) -> dict:
    path = runs_dir / STAMPS
    return json.loads(path.read_text()) if path.is_file() else {}


def unchanged(name: str, stamp: str, stamps: dict, runs_dir: Path, results_dir: Path) -> bool:
    """Whether notebook ``name`` last ran with ``stamp`` and everything it wrote is still there as written."""
    last = stamps.get(name)
    if not last or last["stamp"] != stamp or not (runs_dir / f"{name}.ipynb").is_file():
        return False
    return all((results_dir / f).is_file() and file_digest(results_dir / f) == digest for f, digest in last["files"].items())


def staged_files(staging: Path) -> set[Path]:
    return {f for f in staging.rglob("*") if f.is_file()}


@dataclass
class Failure:
    notebook: str
    cell: str
    error: str
    executed_copy: Path


def execute(src: Path, dst: Path, parameters: dict | None, env: dict[str, str]) -> Failure | None:
    """Run one notebook with papermill into ``dst``; a failure is returned, not raised."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = strip_run_note(nbformat.read(src, as_version=4))
    staged_src = dst.with_name(f".{dst.stem}.input.ipynb")
    nbformat.write(nb, staged_src)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        papermill.execute_notebook(
            str(staged_src), str(dst), parameters=parameters or None, kernel_name=KERNEL,
            cwd=str(src.parent), progress_bar=False, log_output=False,
        )
        return None
    except PapermillExecutionError as e:
        # papermill's cell index counts its injected cells; name the cell by its first line instead
        cells = nbformat.read(dst, as_version=4).cells
        source = next((c.source for c in cells if c.get("execution_count") == e.exec_count), "").strip().splitlines()
        first = next((line for line in source if not line.startswith("#")), source[0] if source else "")
        cell = f"the cell starting `{first[:80]}` (execution count {e.exec_count})"
        return Failure(src.stem, cell, f"{e.ename}: {e.evalue}", dst)
    except Exception as e:  # the kernel died or never started: no cell raised
        return Failure(src.stem, "no cell (the kernel died or could not start)", f"{type(e).__name__}: {e}", dst)
    finally:
        staged_src.unlink(missing_ok=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def writable_dir(path: Path) -> None:
    """Create ``path`` if needed and check that files can be written there."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise PipelineError(f"cannot write to {path}: {e.strerror}") from None


def publish(staging: Path, dest: Path) -> int:
    """Move every file from ``staging`` into ``dest`` (one rename each); return how many."""
    dest.mkdir(parents=True, exist_ok=True)
    moved = 0
    for f in sorted(staging.rglob("*")):
        if f.is_file():
            target = dest / f.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, target)
            moved += 1
    shutil.rmtree(staging)
    return moved


def kernel_env(staging: Path, pinned: bool, force: bool, bars: bool = True) -> dict[str, str]:
    """Environment of the notebook kernels: results staged, and when ``pinned`` (golden copies,
    ``--pinned``) the numerical setup that nbval re-executes the golden copies under
    (``tests/run.sh``, :mod:`lib.study.numerics`). Without ``bars`` (the golden copies, whose
    every output is compared) no progress bar is drawn."""
    env = {"STUDY_FIGURES_DIR": str(staging), "TQDM_MININTERVAL": "30"}
    if not bars:
        env["TQDM_DISABLE"] = "1"
    if pinned:
        env |= numerics.PINNED_ENV
    if force:
        env["STUDY_FORCE_SINCE"] = repr(time.time())
    return env


def run(profile: str, only: str | None = None, force: bool = False, seed: int | None = None,
        data_root: str | None = None, device: str | None = None, golden: bool = False, precision: str | None = None,
        pinned: bool = False, rerun: bool = False) -> None:
    get_profile(profile)  # unknown profile: one clear error before anything runs
    notebooks = select(discover(), only)
    if not notebooks:
        raise PipelineError(f"no notebooks found in {paths.NOTEBOOKS_DIR}")
    if data_root and not Path(data_root).is_dir():
        raise PipelineError(f"data_root {data_root} is not a folder")
    results_dir = paths.FIGURES_DIR / profile
    writable_dir(paths.FIGURES_DIR)
    writable_dir(results_dir)
    runs_dir = paths.REPO_ROOT / "tests" / "golden" if golden else paths.DATA_DIR / "runs" / profile
    writable_dir(runs_dir)
    writable_dir(paths.CACHE_DIR)

    staging = paths.FIGURES_DIR / f".staging-{profile}-{os.getpid()}"
    staging.mkdir()
    env = kernel_env(staging, golden or pinned, force, bars=not golden)
    parameters = {} if golden else {"profile": profile}
    parameters |= {k: v for k, v in (("seed", seed), ("data_root", data_root), ("device", device),
                                     ("precision", precision)) if v is not None}

    what = "golden copies (notebook defaults)" if golden else f"profile '{profile}'"
    print(f"study: {len(notebooks)} notebook(s), {what}{', ignoring caches' if force else ''}")
    executed: list[Path] = []
    stamps, new_stamps = read_stamps(runs_dir), {}
    start = time.time()
    try:
        for src in notebooks:
            t0 = time.time()
            print(f"  {src.stem} ...", end="", flush=True)
            dst = runs_dir / src.name
            stamp = None
            if not golden:
                own = stamps.get(src.stem, {}).get("files", {})
                stamp = notebook_stamp(src, parameters, env, data_root,
                                       results_digest(results_dir, staging, own) if reads_results(src) else None)
            if stamp and not (force or rerun) and unchanged(src.stem, stamp, stamps, runs_dir, results_dir):
                print(f" unchanged since its last run ({len(stamps[src.stem]['files'])} files in figures/{profile}/), not executed")
                continue
            before = staged_files(staging)
            failure = execute(src, dst, parameters, env)
            if failure:
                print(" FAILED")
                raise PipelineError(
                    f"notebook {failure.notebook} failed in {failure.cell}: {failure.error}\n"
                    f"  executed copy with the traceback: {failure.executed_copy}\n"
                    f"  figures/{profile}/ was left as it was; finished cached artifacts are kept for the next run"
                )
            nb = clean_notebook(nbformat.read(dst, as_version=4))
            nbformat.write(drop_images(nb) if golden else nb, dst)
            executed.append(dst)
            if stamp:
                new_stamps[src.stem] = {"stamp": stamp, "files": {str(f.relative_to(staging)): file_digest(f)
                                                                  for f in sorted(staged_files(staging) - before)}}
            print(f" done in {time.time() - t0:.0f} s")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # nothing of a failed run is published
        raise

    moved = publish(staging, results_dir)
    if new_stamps:  # written only once the results they vouch for are published
        atomic_write_text(runs_dir / STAMPS, json.dumps(stamps | new_stamps, indent=1, sort_keys=True))
    if profile == REFERENCE_PROFILE and not golden:
        from .claims import update_readme  # the README shows the reference run's ledger, never a typed copy

        if (results_dir / "claims.csv").is_file() and update_readme(paths.REPO_ROOT / "README.md", results_dir / "claims.csv"):
            print(f"study: the README's claims ledger now reads figures/{profile}/claims.csv")
        for dst in executed:
            nb = as_reference_copy(nbformat.read(dst, as_version=4), parameters)
            nbformat.write(nb, paths.NOTEBOOKS_DIR / dst.name)
        print(f"  reference run: executed notebooks copied into {paths.NOTEBOOKS_DIR}")
    print(f"study: {moved} figure/table files in figures/{profile}/; executed notebooks in {runs_dir}")
    print(f"study: total wall time {time.time() - start:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_all.sh", description="Rebuild the study's figures and tables.")
    parser.add_argument("--profile", default=REFERENCE_PROFILE, help=f"one of {', '.join(PROFILES)} (default {REFERENCE_PROFILE})")
    parser.add_argument("--only", help="comma-separated notebooks to run, by number or name, e.g. 01,03")
    parser.add_argument("--force", action="store_true", help="rebuild cached artifacts instead of reusing them")
    parser.add_argument("--rerun", action="store_true",
                        help="execute every selected notebook, also those unchanged since their last run (caches are still used)")
    parser.add_argument("--seed", type=int, help="override the profile's seed")
    parser.add_argument("--data-root", help="folder holding real datasets in the study's layout")
    parser.add_argument("--device", help="torch device, e.g. cuda or cpu (default: cuda when available)")
    parser.add_argument("--precision", choices=CHOICES,
                        help="what models train at (default auto: bf16 where the hardware runs it natively, else fp32)")
    parser.add_argument("--pinned", action="store_true",
                        help="run on the tests' pinned fp32 setup (lib/study/numerics.py): slower, the same results on every x86-64 machine")
    parser.add_argument("--update-golden", action="store_true",
                        help="re-execute the notebooks at their defaults (smoke) into tests/golden/ for nbval")
    args = parser.parse_args(argv)
    try:
        run("smoke" if args.update_golden else args.profile, args.only, args.force, args.seed,
            args.data_root, args.device, golden=args.update_golden, precision=args.precision, pinned=args.pinned,
            rerun=args.rerun)
    except (PipelineError, ValueError) as e:
        print(f"\nERROR: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nERROR: interrupted; figures were left as they were, finished cached artifacts are kept", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
