import os
import time

import pytest

from lib.study import cache, paths


def test_artifact_is_built_once_and_reused(isolated):
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "x.txt").write_text("built")

    a = cache.cached_artifact("thing", {"n": 1}, build)
    b = cache.cached_artifact("thing", {"n": 1}, build)
    assert a == b and len(calls) == 1 and (a / "x.txt").read_text() == "built"
    assert cache.read_manifest(a)["config"] == {"n": 1}
    c = cache.cached_artifact("thing", {"n": 2}, build)
    assert c != a and len(calls) == 2


def test_key_follows_config_code_and_packages(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text("x = 1\n")
    k1 = cache.artifact_key({"a": 1}, [src])
    assert k1 == cache.artifact_key({"a": 1}, [src])
    assert k1 != cache.artifact_key({"a": 2}, [src])
    src.write_text("x = 2\n")
    assert k1 != cache.artifact_key({"a": 1}, [src])
    assert cache.artifact_key({}, packages=["numpy"]) != cache.artifact_key({})


def test_artifacts_built_under_the_pinned_numerics_are_kept_apart(monkeypatch):
    monkeypatch.setenv("STUDY_NUMERICS", "pinned")
    pinned = cache.artifact_key({"a": 1})
    monkeypatch.delenv("STUDY_NUMERICS")
    assert cache.artifact_key({"a": 1}) != pinned


def test_killed_build_leaves_nothing_final_and_resumes(isolated):
    done = []

    def build(folder, fail_after=None):
        for i in range(4):
            if (folder / f"{i}.txt").exists():
                continue
            if fail_after is not None and i == fail_after:
                raise KeyboardInterrupt
            cache.atomic_write_text(folder / f"{i}.txt", str(i))
            done.append(i)

    with pytest.raises(KeyboardInterrupt):
        cache.cached_artifact("items", {}, lambda f: build(f, fail_after=2))
    assert not list((isolated / "data" / "cache").glob("items-*"))  # no finished artifact
    out = cache.cached_artifact("items", {}, build)
    assert done == [0, 1, 2, 3]  # items 0 and 1 were not redone
    assert sorted(p.name for p in out.glob("*.txt")) == ["0.txt", "1.txt", "2.txt", "3.txt"]


def test_force_since_rebuilds_older_artifacts_once(isolated, monkeypatch):
    n = []
    build = lambda f: n.append(1)  # noqa: E731
    cache.cached_artifact("f", {}, build)
    monkeypatch.setenv("STUDY_FORCE_SINCE", repr(time.time() + 1e-3))
    time.sleep(0.01)
    cache.cached_artifact("f", {}, build)
    cache.cached_artifact("f", {}, build)  # built during this forced run: reused
    assert len(n) == 2


def test_atomic_path_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with cache.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["table.csv"]
    cache.atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_dataset_identity_of_a_generated_set_is_its_cache_key(tmp_path):
    folder = cache.cached_artifact("set", {"n": 1}, lambda out: (out / "a.txt").write_text("x"), root=tmp_path)
    assert cache.dataset_identity(folder) == "generated:" + cache.read_manifest(folder)["key"]


def test_dataset_identity_of_real_data_follows_its_files_but_not_label_caches(tmp_path):
    (tmp_path / "labels").mkdir()
    label = tmp_path / "labels" / "a.txt"
    label.write_text("0 0.5 0.5 0.1 0.1\n")
    first = cache.dataset_identity(tmp_path)
    assert first.startswith("files:")
    (tmp_path / "labels" / "train.cache").write_bytes(b"ultralytics")
    assert cache.dataset_identity(tmp_path) == first
    label.write_text("1 0.5 0.5 0.1 0.1\n")  # same size, other content
    assert cache.dataset_identity(tmp_path) != first


def test_key_follows_what_the_code_does_not_how_it_is_written(tmp_path):
    module = tmp_path / "builder.py"

    def key(source):
        module.write_text(source)
        return cache.artifact_key({"n": 1}, [module])

    base = key('"""Builds things."""\nX = 1  # a comment\n\n\ndef build(x):\n    """Doc."""\n    return x + X\n')
    assert key('"""Builds things, reworded."""\nX = 1\n\n\ndef build(x):\n    # a new comment\n    """Other doc."""\n\n    return x + X\n') == base
    assert key('"""Builds things."""\nX = 2  # a comment\n\n\ndef build(x):\n    """Doc."""\n    return x + X\n') != base  # a constant
    assert key('"""Builds things."""\nX = 1  # a comment\n\n\ndef build(x):\n    """Doc."""\n    return x - X\n') != base  # a statement
    assert key('"""Builds things."""\nX = 1  # a comment\n\n\ndef build(x):\n    return x + X\n') == base  # a docstring removed


def test_a_docstring_edit_in_the_dataset_builder_keeps_every_dataset(tmp_path):
    source = (paths.REPO_ROOT / "lib" / "data" / "datasets.py").read_text()
    edited = tmp_path / "datasets.py"

    def key(text):
        edited.write_text(text)
        return cache.artifact_key({"dataset": "droplets"}, [edited])

    base = key(source)
    assert key(source.replace('"""The study\'s three datasets', '"""The three datasets of the study', 1)) == base
    assert key(source.replace("VERSION = 1", "VERSION = 2", 1)) != base
