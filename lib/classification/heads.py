"""Training the liu2023 attention-head classifiers (:mod:`.dropkey`) on the droplet set, cached.

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
from pathlib import Path

from ..study import cache
from ..study.seeding import seed_everything
from . import dropkey, resnet, training
from .dropkey import HeadConfig, build_head_model
from .resnet import load_classifier

# Bump to rebuild every attention head on purpose (a change outside the keyed code that alters training).
VERSION = 1


def train_head_model(folder: str | Path, head: HeadConfig, base_artifact: str | Path, device: str = "cpu", *,
                     force: bool = False) -> Path:
    """Train (or fetch from the cache) ``head`` on top of the droplet classifier ``base_artifact``."""
    folder, base_artifact = Path(folder), Path(base_artifact)
    base_model, base = load_classifier(base_artifact, device)
    key = {**dataclasses.asdict(head), "base": base_artifact.name, "data": cache.dataset_identity(folder), "version": VERSION}

    def build_artifact(out: Path) -> None:
        seed_everything(base.seed)
        model = build_head_model(head, base)
        model.load_backbone(base_model)
        budget = dataclasses.replace(base, epochs=head.epochs)
        history = training.fit(model, resnet.loader(folder, "train", budget, train=True),
                               resnet.loader(folder, "val", budget), budget, device, out / "model.pt")
        cache.atomic_write_text(out / "head.json", json.dumps(dataclasses.asdict(head)))
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))

    return cache.cached_artifact(f"attention-{base.dataset}-{head.regulariser}", key, build_artifact,
                                 code=[Path(__file__), dropkey, training, resnet],
                                 packages=["torch", "torchvision"], force=force)
