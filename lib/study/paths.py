"""Where the study keeps things, resolved from this file so that notebooks work from any cwd."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
DATA_DIR = Path(os.environ.get("STUDY_DATA_DIR", REPO_ROOT / "data"))
CACHE_DIR = DATA_DIR / "cache"
FIGURES_DIR = REPO_ROOT / "figures"


def figures_dir(profile: str) -> Path:
    """Folder that receives a profile's figures and tables.

    ``run_all.sh`` points ``STUDY_FIGURES_DIR`` at a staging folder and publishes it only when
    every notebook succeeded, so a failed run leaves the previous results untouched.
    """
    staged = os.environ.get("STUDY_FIGURES_DIR")
    return Path(staged) if staged else FIGURES_DIR / profile
