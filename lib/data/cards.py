"""What a dataset holds, beside the papers' counts (xu2024 §3.2, Table 2); the occluder's check
and the cover of the occluded test sets, which the occlusion study relies on."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..study.seeding import derive_seed
from .datasets import PAPER_COUNTS
from .difficulty import NEAR_PERFECT, dataset_shortcut_accuracy
from .read import CLASS_NAMES, IMAGE_SUFFIXES, SPLITS, class_folders, class_map, classification_images, detection_objects, find_image, load_rgb
from .synthetic import occlusion


def detection_card(folder: Path) -> pd.DataFrame:
    """Images and features per split and class, beside the paper's image counts; a class that the
    dataset names its own way (``class_names.yaml``) shows that name too."""
    objects = detection_objects(folder)
    images = {s: len([p for p in (folder / "images" / s).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]) for s in SPLITS}
    per_class = objects.pivot_table(index="split", columns="class", values="object", aggfunc="count", fill_value=0)
    per_class.columns.name = None
    card = pd.DataFrame({"images": images}).join(per_class).reindex(SPLITS).fillna(0).astype(int)
    card.loc["total"] = card.sum()
    card["images_paper"] = [*PAPER_COUNTS["microparts"].values(), sum(PAPER_COUNTS["microparts"].values())]
    card.index.name = "split"
    own = {study: f" (data: {name})" for name, study in class_map(folder).items()}  # a real set's own names
    card.attrs["labels"] = {c: f"features: {c}{own.get(c, '')}" for c in per_class.columns}
    return card


def classification_card(folder: Path, name: str) -> pd.DataFrame:
    """Images per class and split, the class share, the paper's count and share per class, and the
    folder that holds the class (its own name in a real set with a ``class_names.yaml``)."""
    images = classification_images(folder, name)
    card = images.pivot_table(index="class", columns="split", values="file", aggfunc="count", fill_value=0)
    card = card.reindex(index=list(CLASS_NAMES[name]), columns=list(SPLITS)).fillna(0).astype(int)
    card["total"] = card.sum(axis=1)
    card["share"] = card.total / card.total.sum()
    paper = pd.Series(PAPER_COUNTS[name])
    card["total_paper"] = paper
    card["share_paper"] = paper / paper.sum()
    card["folder_in_data"] = pd.Series(class_folders(folder, CLASS_NAMES[name]))  # a real set's own names
    return card


def dataset_cards(folders: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """The card of each dataset in ``folders`` (detection or classification, by its name)."""
    return {name: detection_card(folder) if name == "microparts" else classification_card(folder, name)
            for name, folder in folders.items()}


def occlusion_check(folder: Path, objects: pd.DataFrame, fractions, kinds=occlusion.OCCLUDERS, *,
                    split: str = "test", seed: int = 0) -> pd.DataFrame:
    """Occlude every box of the ``split`` images at each fraction and kind; requested vs measured cover."""
    rows = []
    for stem, group in objects[objects.split == split].groupby("image", sort=True):
        image = load_rgb(find_image(folder / "images" / split, stem))
        boxes = group[["x1", "y1", "x2", "y2"]].to_numpy(float)
        for kind in kinds:
            for fraction in fractions:
                _, measured = occlusion.occlude(image, boxes, fraction, kind=kind, seed=derive_seed(seed, stem, kind, fraction))
                rows += [{"image": stem, "object": o, "occluder": kind, "requested": fraction, "measured": m}
                         for o, m in zip(group.object, measured)]
    return pd.DataFrame(rows)


def cover_summary(sets: dict[float, Path]) -> pd.DataFrame:
    """Requested against measured added cover of the boxes of each occluded set."""
    rows = []
    for rate, folder in sets.items():
        if rate == 0:
            continue
        cover = pd.read_csv(Path(folder) / "objects.csv").added_cover
        rows.append({"requested": rate, "boxes": len(cover), "measured_mean": cover.mean(),
                     "measured_median": cover.median(), "measured_min": cover.min(), "measured_max": cover.max()})
    return pd.DataFrame(rows).set_index("requested")


def training_exposure(objects: pd.DataFrame, rates, split: str = "train") -> pd.DataFrame:
    """How often the detector saw features at least this occluded while training: the share of
    the ``split`` features whose occluded fraction reaches each rate (NaN when the set does not
    record occlusion, as real data may not)."""
    features = objects[objects.split == split]
    covered = features.get("occluded_fraction", pd.Series(float("nan"), index=features.index))
    rows = [{"rate": float(r), "share_at_least": (covered >= r).mean() if covered.notna().any() else float("nan")}
            for r in rates if r > 0]
    table = pd.DataFrame(rows).set_index("rate")
    table.attrs["labels"] = {"share_at_least": f"{split} features at least this occluded"}
    return table


def difficulty_table(folders: dict[str, Path], seed: int = 0) -> pd.DataFrame:
    """The shortcut check (:func:`.difficulty.dataset_shortcut_accuracy`) of each classification set,
    one row per set: images, folds, majority-class rate, accuracy and its spread over the folds."""
    rows = {name: dataset_shortcut_accuracy(folder, name, seed=seed) for name, folder in folders.items()}
    return pd.DataFrame(rows).T[["images", "folds", "majority_rate", "accuracy", "accuracy_std"]].astype({"images": int, "folds": int})


def difficulty_verdicts(table: pd.DataFrame) -> list[str]:
    """One line per set: too easy (a global-statistics model reaches :data:`.difficulty.NEAR_PERFECT`),
    or no global shortcut."""
    return [f"{name}: global-statistics accuracy {r.accuracy:.3f} vs majority {r.majority_rate:.3f} -> "
            + ("TOO EASY: fix the generator" if r.accuracy >= NEAR_PERFECT else "no global shortcut")
            for name, r in table.iterrows()]
