import pytest

from lib import paths


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Point the study's data, cache, figures and notebooks folders at a temporary tree."""
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "data" / "cache")
    monkeypatch.setattr(paths, "FIGURES_DIR", tmp_path / "figures")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", tmp_path / "notebooks")
    monkeypatch.delenv("STUDY_FIGURES_DIR", raising=False)
    monkeypatch.delenv("STUDY_FORCE_SINCE", raising=False)
    return tmp_path


def build_datasets(cache_root, spec, seed, workers=1):
    """All three synthetic datasets for ``spec``, generated into their own cache folder."""
    from lib import datasets

    old, paths.CACHE_DIR = paths.CACHE_DIR, cache_root
    try:
        return {n: datasets.synthetic(n, spec, seed=seed, workers=workers) for n in datasets.DATASETS}
    finally:
        paths.CACHE_DIR = old
