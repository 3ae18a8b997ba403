"""What every notebook shows and writes: the provenance header, figures and tables.

A notebook starts with ``study = Study.start(profile, seed, data_root, device)``: it seeds
everything, fixes where results go (``figures/<profile>/``) and prints the header that says
which profile, seed, commit and machine produced the results and that the data is synthetic. Figures
and tables then go through ``study.save_figure`` / ``study.save_table``, which stamp that
provenance on them and write atomically.

Tables are computed with plain identifiers as column names (``map50_95``, ``kept_epoch``) and
read under the names a reader expects (``mAP50-95``, ``kept epoch``) only once saved or shown:
:func:`label` and :func:`displayed` do that renaming, in one place.
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
from .precision import Precision, resolve as resolve_precision
from .profiles import Profile, get_profile
from .seeding import seed_everything

#: How identifier columns read in a saved table, where a reader expects a symbol, a unit or the
#: papers' spelling. Every other column is saved under its own name.
LABELS = {
    "map50": "mAP50", "map50_95": "mAP50-95", "gflops": "GFLOPs",
    "map50_unoccluded": "mAP50 (unoccluded images)", "map50_95_unoccluded": "mAP50-95 (unoccluded images)",
    "val_map50_95_kept": "val mAP50-95 (kept epoch)", "kept_epoch": "kept epoch",
    "val_map50_last_quarter_gain": "val mAP50 gain, last quarter of epochs",
    "train_s_per_epoch": "train s/epoch", "inference_ms_per_image": "inference ms/image",
    "step_s_median": "step_s (median)", "ratio_to_baseline": "ratio to baseline",
    "vs_baseline_points": "vs baseline (points)", "vs_other_attention_points": "vs other attention variants (points)",
    "paper_choice": "paper's choice", "improvement_points": "improvement (points)",
    "empty_maps": "empty maps", "empty_map_share": "empty maps (share)",
    "spearman_rho": "spearman rho", "wilcoxon_p": "wilcoxon p",
    "test_images": "test images", "majority_class_rate": "majority-class rate",
    "p_above_majority": "p (accuracy > majority)", "clean_accuracy": "clean accuracy",
    "p_pred": "confidence (predicted class)", "p_true": "probability of the true class",
    "folder_in_data": "folder in the data", "measured_mean": "measured mean", "measured_median": "measured median",
    "measured_min": "measured min", "measured_max": "measured max",
}

#: Where a value comes from, as an identifier's last word: ``accuracy_xu2024`` reads ``accuracy (xu2024)``.
SOURCES = ("xu2024", "liu2023", "paper", "weighted")
# Figures shown in a notebook at screen resolution (the notebooks stay light); the files in
# figures/ at print resolution.
INLINE_DPI = 72
FIGURE_DPI = 120


def label(name, own: dict | None = None):
    """How the column or index name ``name`` reads in a saved table: the table's ``own`` labels
    first (names that depend on its content, such as a model's name), then :data:`LABELS`, with a
    trailing source word in parentheses. Names that are not strings (a noise variance) pass through."""
    own = own or {}
    if name in own:
        return own[name]
    if not isinstance(name, str):
        return name
    for source in SOURCES:
        if name.endswith(f"_{source}"):
            return f"{label(name[: -len(source) - 1], own)} ({source})"
    return LABELS.get(name, name)


def displayed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its columns and index names as a reader sees them (:func:`label`, with the
    table's own labels from ``df.attrs["labels"]``, set by the function that built it)."""
    own = df.attrs.get("labels", {})
    out = df.rename(columns=lambda c: label(c, own))
    out.index = out.index.set_names([label(n, own) if n is not None else None for n in out.index.names])
    out.attrs = {}
    return out


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
    precision: Precision  # what models train at (lib.study.precision)

    @classmethod
    def start(cls, profile: str = "smoke", seed: int | None = None, data_root: str | None = None,
              device: str | None = None, precision: str = "auto") -> "Study":
        prof = get_profile(profile)
        seed = prof.seed if seed is None else int(seed)
        seed_everything(seed)
        numerics.configure()
        import matplotlib

        matplotlib.rcParams["figure.dpi"] = INLINE_DPI
        root = Path(data_root).expanduser().resolve() if data_root else None
        if root is not None and not root.is_dir():
            raise FileNotFoundError(f"data_root {root} is not a folder")
        # Ultralytics must never reach for the network or write to the user's home.
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_CONFIG_DIR", str(paths.DATA_DIR / ".config"))
        device = prof.resolve_device(device)
        return cls(prof, seed, device, root, resolve_precision(precision, device))

    @property
    def seeds(self) -> list[int]:
        """The training seeds of the classifiers that enter a comparison between trained models:
        the study's seed and the next ``classifier.seeds - 1``."""
        return [self.seed + i for i in range(self.profile.classifier.seeds)]

    @property
    def detector_seeds(self) -> list[int]:
        """The training seeds of the detectors xu2024 compares: the study's seed and the next
        ``detector.seeds - 1``."""
        return [self.seed + i for i in range(self.profile.detector.seeds)]

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
            f"training: classifiers in {self.precision.describe()}; detectors in fp32 (ultralytics' CPU trainer)",
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
            fig.savefig(tmp, dpi=FIGURE_DPI, bbox_inches="tight", metadata={"Software": None})
        with atomic_path(self.out_dir / f"{name}.pdf") as tmp:
            fig.savefig(tmp, dpi=FIGURE_DPI, bbox_inches="tight", metadata={"CreationDate": None, "Creator": None,
                                                                           "Producer": None})
        return png

    def save_skipped(self, name: str, reason: str) -> pd.DataFrame:
        """Write table ``name`` as a one-line note that it was not computed and why (for example, a
        real dataset without the masks a measure needs), so that no stale table stands in its place."""
        print(f"{name}: skipped: {reason}")
        return self.save_table(pd.DataFrame({"skipped": [reason]}), name, index=False)

    def save_table(self, df: pd.DataFrame, name: str, *, decimals: int = 4, index: bool = True,
                   markdown: pd.DataFrame | None = None) -> pd.DataFrame:
        """Write ``df`` rounded to ``decimals`` and :func:`displayed` as ``<name>.csv`` and
        ``<name>.md``; return the frame as written. ``markdown``, when given, is what the Markdown
        shows instead, its index as columns (the summary across seeds of a CSV that holds one row per seed)."""
        rounded = displayed(df).round(decimals)
        buf = io.StringIO()
        rounded.to_csv(buf, index=index, float_format=f"%.{decimals}f")
        atomic_write_text(self.out_dir / f"{name}.csv", buf.getvalue())
        shown, md_index = (rounded, index) if markdown is None else (displayed(markdown).round(decimals).reset_index(), False)
        # tabulate receives rows upcast to float: integer columns need a format of their own
        formats = [f".{decimals}f" if pd.api.types.is_float_dtype(t) else ".0f" for t in shown.dtypes]
        md = shown.to_markdown(index=md_index, floatfmt=tuple(([""] if md_index else []) + formats))
        atomic_write_text(self.out_dir / f"{name}.md", f"{md}\n\n_{self.data_label}._\n")
        return rounded


def settings_table(config, skip=()) -> pd.DataFrame:
    """A configuration dataclass as a one-column table of its settings (``skip`` left out)."""
    return pd.Series({k: str(v) for k, v in vars(config).items() if k not in skip}, name="setting").to_frame()
