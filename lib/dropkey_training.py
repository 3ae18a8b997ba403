"""Training the liu2023 attention-head classifiers (:mod:`lib.dropkey`) on the droplet set, cached.

The plain model of liu2023 ("ResNet50") is the study's droplet classifier (notebook 05, the same
configuration, from the cache). The attention models take its trained backbone (conv1 .. layer4),
frozen, and train only their head, for ``epochs`` (the profile's ``head_epochs``) with the
classifier's batch, learning-rate schedule, augmentation and seed: so the heads ("none",
"dropout", "dropkey" at any rate) differ in nothing but the regulariser, and a CPU can afford the
mask-ratio sweep. ``freeze_backbone=False`` trains the whole network from the same start instead.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from . import cache, classifiers, dropkey
from .profiles import Profile
from .seeding import seed_everything


@dataclass(frozen=True)
class HeadConfig:
    """Everything that determines an attention-head classifier besides the base classifier."""

    regulariser: str = "dropkey"  # none | dropout | dropkey
    rate: float = 0.1  # DropKey mask ratio, or Dropout probability
    epochs: int = 80
    dim: int = 256  # width of Q, K, V
    freeze_backbone: bool = True

    def __post_init__(self):
        dropkey.check_regulariser(self.regulariser, self.rate)

    @classmethod
    def from_profile(cls, profile: Profile, regulariser: str, rate: float = 0.1) -> "HeadConfig":
        return cls(regulariser, rate, profile.classifier.head_epochs)

    @property
    def label(self) -> str:
        """The model's name in tables, as liu2023 names them: ``ResNet50+DropKey``, ``ResNet50+Dropout``
        (the head without a regulariser: ``ResNet50+attention``)."""
        return "ResNet50+" + {"none": "attention", "dropout": "Dropout", "dropkey": "DropKey"}[self.regulariser]


def build(head: HeadConfig, base: classifiers.ClassifierConfig) -> dropkey.ResNet50Attention:
    return dropkey.ResNet50Attention(len(base.classes), head.regulariser, head.rate, head.dim,
                                     freeze_backbone=head.freeze_backbone)


def train_head_model(folder: str | Path, head: HeadConfig, base_artifact: str | Path, device: str = "cpu", *,
                     force: bool = False) -> Path:
    """Train (or fetch from the cache) ``head`` on top of the droplet classifier ``base_artifact``."""
    folder, base_artifact = Path(folder), Path(base_artifact)
    base_model, base = classifiers.load_classifier(base_artifact, device)
    key = {**dataclasses.asdict(head), "base": base_artifact.name, "data": cache.dataset_identity(folder)}

    def build_artifact(out: Path) -> None:
        seed_everything(base.seed)
        model = build(head, base)
        model.load_backbone(base_model)
        budget = dataclasses.replace(base, epochs=head.epochs)
        history = classifiers.fit(model, classifiers.loader(folder, "train", budget, train=True),
                                  classifiers.loader(folder, "val", budget), budget, device, out / "model.pt")
        cache.atomic_write_text(out / "head.json", json.dumps(dataclasses.asdict(head)))
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))

    return cache.cached_artifact(f"attention-{base.dataset}-{head.regulariser}", key, build_artifact,
                                 code=[Path(__file__), Path(dropkey.__file__), Path(classifiers.__file__)],
                                 packages=["torch", "torchvision"], force=force)


def load_head_model(artifact: str | Path, device: str = "cpu", keep_at_inference: bool = False):
    """The best checkpoint of an attention-head model in eval mode, its head and base configurations.

    ``keep_at_inference`` leaves the regulariser on at inference (each call draws new masks)."""
    artifact = Path(artifact)
    state = torch.load(artifact / "model.pt", map_location=device, weights_only=False)
    raw = state["config"]
    base = classifiers.ClassifierConfig(**{**raw, "classes": tuple(raw["classes"])})
    head = HeadConfig(**json.loads((artifact / "head.json").read_text()))
    model = build(head, base)
    model.load_state_dict(state["state_dict"])
    model.head.attend.keep_at_inference = keep_at_inference
    model.requires_grad_(True)  # the freeze served training; CAMs need gradients at layer4
    return model.to(device).eval(), head, base


def history(artifact: str | Path) -> pd.DataFrame:
    return pd.read_csv(Path(artifact) / "history.csv")
