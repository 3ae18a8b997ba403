"""Content-addressed artifact cache and atomic writes.

An artifact (a generated dataset, a trained model, a batch of CAMs) is a folder under
``data/cache/`` named ``<name>-<key>``, where the key hashes its configuration, what the code
that builds it does and the versions of the packages whose output it depends on. Change any of
them and the artifact is rebuilt; change nothing and every notebook and rerun reuses it.

"What the code does" is each keyed module's syntax tree without its docstrings (comments never
reach the tree), so rewording a docstring, a comment or the layout of a line rebuilds nothing,
while any changed statement, name or constant does. Keyed modules hold builders only; readers
of finished artifacts live elsewhere. Each builder also puts a ``VERSION`` constant in its
configuration, to bump when something outside its keyed code changes what it builds (as
ultralytics does with ``DATASET_CACHE_VERSION``).

Crash safety: a builder writes into ``.partial-<name>-<key>/`` and the folder is renamed into
place only when the builder returns, so a finished artifact is never half-written. The partial
folder survives a kill, and builders that write one file per item (atomically, see
:func:`atomic_path`) skip the items already there, so the next run resumes where it stopped.
"""
from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType

from . import numerics, paths

MANIFEST = "manifest.json"


def code_fingerprint(source: str) -> str:
    """What Python ``source`` does, not how it is written: its syntax tree without docstrings,
    comments or positions."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def artifact_key(config: Mapping, code: Iterable[ModuleType | str | Path] = (), packages: Iterable[str] = ()) -> str:
    """Hex digest of a configuration, what the modules or files ``code`` do (:func:`code_fingerprint`
    for Python, the bytes for anything else), the ``packages``' versions and, under the pinned
    numerical setup of the tests and golden copies (:mod:`.numerics`), that setup: an artifact built
    on the machine's own kernels is never reused where the golden copies expect the pinned bits."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for item in code:
        file = Path(item.__file__) if isinstance(item, ModuleType) else Path(item)
        text = code_fingerprint(file.read_text()).encode() if file.suffix == ".py" else file.read_bytes()
        h.update(text + b"\0")
    for pkg in sorted(packages):
        h.update(f"{pkg}=={importlib.metadata.version(pkg)}".encode())
    if numerics.pinned():  # other kernels and thread counts than the machine's own: other bits in every trained weight
        h.update(b"numerics=pinned")
    return h.hexdigest()


def _force_since() -> float | None:
    """``run_all.sh --force`` sets ``STUDY_FORCE_SINCE`` to its start time: artifacts older than
    that are rebuilt once, and those built during the same run are reused by later notebooks."""
    value = os.environ.get("STUDY_FORCE_SINCE")
    return float(value) if value else None


def cached_artifact(
    name: str,
    config: Mapping,
    build: Callable[[Path], None],
    *,
    code: Iterable[ModuleType | str | Path] = (),
    packages: Iterable[str] = (),
    force: bool = False,
    root: Path | None = None,
) -> Path:
    """Return the folder of artifact ``name`` for ``config``, building it with ``build(folder)`` if needed.

    ``build`` receives an existing (possibly partly filled) folder and must fill it; it may skip
    items that are already present. Concurrent callers for the same artifact wait on a lock.
    """
    root = Path(root) if root is not None else paths.CACHE_DIR
    root.mkdir(parents=True, exist_ok=True)
    key = artifact_key(config, code, packages)[:16]
    final = root / f"{name}-{key}"
    since = _force_since()

    def fresh() -> bool:
        if not (final / MANIFEST).is_file():
            return False
        if force:
            return False
        return since is None or json.loads((final / MANIFEST).read_text())["created"] >= since

    with open(root / f".lock-{name}-{key}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if fresh():
            return final
        partial = root / f".partial-{name}-{key}"
        if force or (since is not None and final.exists()):
            shutil.rmtree(partial, ignore_errors=True)  # a forced rebuild starts from nothing
        partial.mkdir(exist_ok=True)
        build(partial)
        manifest = {"name": name, "key": key, "created": time.time(), "config": config}
        with atomic_path(partial / MANIFEST) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        if final.exists():  # replacing a stale artifact: move it aside first, then swap
            trash = root / f".trash-{name}-{key}-{os.getpid()}"
            os.rename(final, trash)
            os.rename(partial, final)
            shutil.rmtree(trash)
        else:
            os.rename(partial, final)
    return final


def cached_json(name: str, config: Mapping, compute: Callable[[], object], **kwargs) -> object:
    """A small JSON-able result (a metric table, a check) cached like any artifact."""
    def build(folder: Path) -> None:
        atomic_write_text(folder / "result.json", json.dumps(compute(), sort_keys=True))

    return json.loads((cached_artifact(name, config, build, **kwargs) / "result.json").read_text())


def dataset_identity(folder: str | Path) -> str:
    """What identifies a dataset in a cache key: a generated one's own cache key, or, for real
    data, a hash of every file's relative path and its size (images) or content (label and other
    small files, whose edits often keep the size). ultralytics' label caches (``*.cache``, written
    beside the labels on first use) are left out, so that using a set does not change its identity."""
    folder = Path(folder)
    if (folder / MANIFEST).is_file():
        return "generated:" + read_manifest(folder)["key"]
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix != ".cache":
            size = p.stat().st_size
            h.update(f"{p.relative_to(folder)}:{size}\n".encode())
            if size < 65536:
                h.update(p.read_bytes())
    return "files:" + h.hexdigest()[:16]


def read_manifest(artifact: Path) -> dict:
    return json.loads((Path(artifact) / MANIFEST).read_text())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    A crash inside the block leaves ``path`` as it was (absent or the previous version). The
    temporary name keeps the suffix, so libraries that pick a format by extension still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def _module_file(name: str) -> Path | None:
    base = paths.REPO_ROOT / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def lib_modules(*names: str) -> list[Path]:
    """The files of the named ``lib`` modules and of every ``lib`` module they import, directly or
    through others (found in their syntax trees, so imports inside functions count)."""
    package = __name__.split(".")[0]
    seen: dict[str, Path] = {}
    todo = [n for n in names if n.split(".")[0] == package]
    while todo:
        name = todo.pop()
        file = _module_file(name)
        if name in seen or file is None:
            continue
        seen[name] = file
        current = name if file.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.split(".")[0] == package]
            elif isinstance(node, ast.ImportFrom):
                parts = current.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else [])) if node.level else node.module
                if base and base.split(".")[0] == package:
                    todo += [base] + [f"{base}.{a.name}" for a in node.names]
    return [seen[n] for n in sorted(seen)]
