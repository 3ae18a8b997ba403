"""The study's classification models as the notebooks use them: the classifier of a dataset at
the study's profile, liu2023's models (attention heads on its frozen backbone, then whole models
trained from it, :mod:`.heads`), and their training records.

Everything is trained once and then fetched from the cache (:mod:`.training`, :mod:`.heads`);
nothing here is part of a cache key.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from torch import nn
from tqdm import tqdm

from ..data import datasets
from ..data.read import CLASS_NAMES
from ..study.profiles import LEARNED
from ..study.reporting import Study
from .dropkey import HeadConfig, load_head_model
from .heads import finetune_model, train_head_model
from .resnet import ClassifierConfig, load_classifier
from .training import train_classifier

# liu2023's names for the four models it compares, by attention head ("plain": no head).
LIU2023_MODELS = {"ResNet50": "plain", "ResNet50+Dropout": "dropout", "ResNet50+DropKey": "dropkey", "ResNet50+attention": "none"}
LIU2023_NAME = {head: name for name, head in LIU2023_MODELS.items()}


def liu2023_fig5_entries(methods) -> list[tuple[str, str]]:
    """liu2023 Fig. 5's panels as (model, CAM method): Grad-CAM and its variants (``methods``) on
    the plain ResNet50, then Dropout's and DropKey's Grad-CAM."""
    return [(LIU2023_NAME["plain"], m) for m in methods] + [(LIU2023_NAME[h], "gradcam") for h in ("dropout", "dropkey")]


def study_classifier(study: Study, dataset: str, weights: str | None = None, seed: int | None = None,
                     epochs: int | None = None) -> tuple[Path, ClassifierConfig, Path]:
    """The dataset's folder, the classifier's configuration at the study's profile and its trained
    artifact (from the cache when it was trained before). ``seed`` is the training seed (the
    study's by default), ``epochs`` the schedule's length (the profile's by default); the data is
    always the study's."""
    folder = datasets.prepare(study.profile.data, study.seed, study.data_root, names=[dataset])[dataset]
    config = ClassifierConfig.from_profile(study.profile, dataset, CLASS_NAMES[dataset], study.seed if seed is None else seed,
                                           weights, precision=study.precision.name)
    config = config if epochs is None else dataclasses.replace(config, epochs=epochs)
    return folder, config, train_classifier(folder, config, study.device)


def best_validation(artifact: Path) -> float:
    """The best validation accuracy of a trained classifier or head model (its kept epoch's)."""
    return float(training_history(artifact)["val_acc"].max())


def learned_classifier(study: Study, dataset: str, weights: str | None = None, seed: int | None = None
                       ) -> tuple[Path, ClassifierConfig, Path]:
    """:func:`study_classifier`, trained again for ``classifier.longer`` times the epochs where its
    best validation accuracy falls short of :data:`LEARNED` (a from-scratch ResNet50 whose
    training seed starts slowly is still climbing when the profile's schedule ends)."""
    folder, config, artifact = study_classifier(study, dataset, weights, seed)
    if best_validation(artifact) >= LEARNED:
        return folder, config, artifact
    return study_classifier(study, dataset, weights, seed, epochs=study.profile.classifier.longer * config.epochs)


def head_configs(study: Study, rate: float, mask_ratios) -> dict:
    """The heads liu2023 compares, keyed ``"none"``, ``"dropout"`` and each DropKey mask ratio
    (``rate`` and every ratio of the mask-ratio sweep)."""
    heads = {"none": HeadConfig.from_profile(study.profile, "none", rate),
             "dropout": HeadConfig.from_profile(study.profile, "dropout", rate)}
    heads.update({r: HeadConfig.from_profile(study.profile, "dropkey", r) for r in dict.fromkeys([*mask_ratios, rate])})
    return heads


def study_heads(study: Study, folder: Path, base: Path, rate: float, mask_ratios) -> dict:
    """Each head of :func:`head_configs` trained on the classifier ``base`` (or fetched), by key."""
    return {key: train_head_model(folder, head, base, study.device) for key, head in head_configs(study, rate, mask_ratios).items()}


def liu2023_models(folder: Path, base: Path, heads: dict, rate: float, epochs: int, lr: float, device: str = "cpu"
                   ) -> tuple[dict[str, nn.Module], dict, dict[str, Path]]:
    """liu2023's four models by its names, each trained whole for ``epochs`` (peak rate ``lr``)
    from the classifier ``base`` (the attention models from their head at ``heads``' keys "none",
    "dropout" and ``rate``); every loaded head model (frozen backbone) by its key in ``heads``;
    and the whole models' artifacts by name."""
    loaded = {key: load_head_model(a, device)[0] for key, a in heads.items()}
    starts = {"plain": base, "none": heads["none"], "dropout": heads["dropout"], "dropkey": heads[rate]}
    artifacts = {name: finetune_model(folder, starts[head], epochs, lr, device) for name, head in LIU2023_MODELS.items()}
    models = {name: (load_classifier(a, device)[0] if LIU2023_MODELS[name] == "plain" else load_head_model(a, device)[0])
              for name, a in artifacts.items()}
    return models, loaded, artifacts


def liu2023_replicas(study: Study, rate: float, mask_ratios, weights: str | None = None
                     ) -> tuple[Path, dict[int, dict[str, nn.Module]], dict[int, dict], dict[int, dict[str, Path]]]:
    """liu2023's experiment once per training seed (:attr:`Study.seeds`): the droplet classifier
    trained with that seed (:func:`learned_classifier`: longer where it fell short), every head
    trained on its frozen backbone, and the four whole models trained from them
    (:func:`liu2023_models`, the profile's ``finetune_epochs`` and ``finetune_lr``). Returns the
    droplet folder, the four models by seed, every loaded head model by seed and key, and the
    artifacts by seed and name: the whole models' and the classifier's ("classifier")."""
    models, loaded, artifacts = {}, {}, {}
    for seed in tqdm(study.seeds, desc="liu2023 models", unit="seed"):
        folder, _, base = learned_classifier(study, "droplets", weights, seed)
        spec = study.profile.classifier
        models[seed], loaded[seed], artifacts[seed] = liu2023_models(
            folder, base, study_heads(study, folder, base, rate, mask_ratios), rate, spec.finetune_epochs, spec.finetune_lr,
            study.device)
        artifacts[seed]["classifier"] = base
    return folder, models, loaded, artifacts


def classifier_schedules(artifacts: dict[int, dict[str, Path]], profile_epochs: int) -> pd.DataFrame:
    """Per training seed, the epochs its droplet classifier trained (``profile_epochs`` or a longer
    schedule, :func:`learned_classifier`) and its best validation accuracy."""
    rows = []
    for seed, found in artifacts.items():
        history = training_history(found["classifier"])
        rows.append({"seed": seed, "epochs": len(history), "longer schedule": len(history) > profile_epochs,
                     "best validation accuracy": best_validation(found["classifier"])})
    return pd.DataFrame(rows).set_index("seed")


# -- training records -------------------------------------------------------------------------------
def training_history(artifact: str | Path) -> pd.DataFrame:
    """One row per epoch of a classifier or attention-head model: training and validation loss and
    accuracy, whether the epoch was kept, images/s."""
    return pd.read_csv(Path(artifact) / "history.csv")


def test_predictions(artifact: Path) -> pd.DataFrame:
    """The kept model's predictions on the test split: file, label, pred and one probability per class."""
    return pd.read_csv(Path(artifact) / "predictions.csv")
