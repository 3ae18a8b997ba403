"""What every notebook shows and writes: the provenance header, figures and tables.

A notebook starts with ``study = Study.start(profile, seed, data_root, device)``: it seeds
everything, fixes where results go (``figures/<profile>/``) and prints the header that says
which profile, seed, commit and machine produced the results and that the data is synthetic. Figures
and tables then go through ``study.save_figure`` / ``study.save_table``, which stamp that
provenance on them and write atomically.
"""
from __future__ import annotations

import io
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import numerics, paths
from .cache import atomic_path, atomic_write_text
from .profiles import Profile, get_profile
from .seeding import seed_everything


def git_commit() -> str:
    """Short commit of the repository, with ``+dirty`` when tracked files have uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=paths.REPO_ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short=10", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "lib", "notebooks")
    return commit + ("+dirty" if dirty else "")


@dataclass
class Study:
    profile: Profile
    seed: int
    device: str
    data_root: Path | None  # None: the synthetic stand-ins

    @classmethod
    def start(cls, profile: str = "smoke", seed: int | None = None, data_root: str | None = None,
              device: str | None = None) -> "Study":
        prof = get_profile(profile)
        seed = prof.seed if seed is None else int(seed)
        seed_everything(seed)
        numerics.configure()
        root = Path(data_root).expanduser().resolve() if data_root else None
        if root is not None and not root.is_dir():
            raise FileNotFoundError(f"data_root {root} is not a folder")
        # Ultralytics must never reach for the network or write to the user's home.
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_CONFIG_DIR", str(paths.DATA_DIR / ".config"))
        return cls(prof, seed, prof.resolve_device(device), root)

    # -- provenance -------------------------------------------------------------------------
    @property
    def data_label(self) -> str:
        if self.data_root is None:
            return f"SYNTHETIC data (generated stand-ins), profile '{self.profile.name}', seed {self.seed}"
        return f"REAL data from {self.data_root}, profile '{self.profile.name}', seed {self.seed}"

    def header(self) -> str:
        """Provenance block printed at the top of every notebook."""
        lines = [
            f"profile : {self.profile.name} ({self.profile.purpose})",
            f"seed    : {self.seed}",
            f"device  : {self.device}",
            *(f"{k:<8}: {v}" for k, v in numerics.describe(self.device).items()),
            f"commit  : {git_commit()}",
            f"data    : {self.data_label}",
            f"results : figures/{self.profile.name}/",  # where they land, also when run_all.sh stages them
        ]
        reductions = self.profile.reductions()
        if reductions:
            lines.append("reduced from the papers' settings:")
            lines += [f"  - {r}" for r in reductions]
        return "\n".join(lines)

    @property
    def out_dir(self) -> Path:
        return paths.figures_dir(self.profile.name)

    # -- results ----------------------------------------------------------------------------
    def save_figure(self, fig, name: str, *, stamp: bool = True) -> Path:
        """Write ``fig`` as ``<name>.png`` and ``<name>.pdf``, stamped with the data provenance."""
        if stamp:
            fig.text(0.995, 0.003, self.data_label, ha="right", va="bottom", fontsize=6, color="0.35")
        png = self.out_dir / f"{name}.png"
        with atomic_path(png) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", metadata={"Software": None})
        with atomic_path(self.out_dir / f"{name}.pdf") as tmp:
            fig.savefig(tmp, bbox_inches="tight", metadata={"CreationDate": None, "Creator": None, "Producer": None})
        return png

    def save_skipped(self, name: str, reason: str) -> pd.DataFrame:
        """Write table ``name`` as a one-line note that it was not computed and why (for example, a
        real dataset without the masks a measure needs), so that no stale table stands in its place."""
        print(f"{name}: skipped: {reason}")
        return self.save_table(pd.DataFrame({"skipped": [reason]}), name, index=False)

    def save_table(self, df: pd.DataFrame, name: str, *, decimals: int = 4, index: bool = True) -> pd.DataFrame:
        """Write ``df`` rounded to ``decimals`` as ``<name>.csv`` and ``<name>.md``; return the rounded frame."""
        rounded = df.round(decimals)
        buf = io.StringIO()
        rounded.to_csv(buf, index=index, float_format=f"%.{decimals}f")
        atomic_write_text(self.out_dir / f"{name}.csv", buf.getvalue())
        # tabulate receives rows upcast to float: integer columns need a format of their own
        formats = [f".{decimals}f" if pd.api.types.is_float_dtype(t) else ".0f" for t in rounded.dtypes]
        md = rounded.to_markdown(index=index, floatfmt=tuple(([""] if index else []) + formats))
        atomic_write_text(self.out_dir / f"{name}.md", f"{md}\n\n_{self.data_label}._\n")
        return rounded


def settings_table(config, skip=()) -> pd.DataFrame:
    """A configuration dataclass as a one-column table of its settings (``skip`` left out)."""
    return pd.Series({k: str(v) for k, v in vars(config).items() if k not in skip}, name="setting").to_frame()
