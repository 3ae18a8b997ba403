"""Training the liu2023 attention-head classifiers (:mod:`.dropkey`) on the droplet set, cached.

The plain model of liu2023 ("ResNet50") is the study's droplet classifier (notebook 05, the same
configuration, from the cache). The attention models take its trained backbone (conv1 .. layer4),
frozen, and train only their head, for ``epochs`` (the profile's ``head_epochs``) with the
classifier's batch, learning-rate schedule, precision and seed: so the heads ("none", "dropout",
"dropkey" at any rate) differ in nothing but the regulariser. A frozen backbone in eval mode maps
an image to the same layer4 features every time, so they are computed once per split
(:func:`backbone_features`) and the heads train on them, without augmentation: a head then costs
seconds, which makes the mask-ratio sweep and several seeds affordable. ``freeze_backbone=False``
trains the whole network from the same start, on augmented images, instead.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from tqdm import tqdm

from ..study import cache
from ..study.seeding import seed_everything
from . import dropkey, resnet, splits, training
from .dropkey import HeadConfig, ResNet50Attention, build_head_model
from .resnet import Batches, ClassifierConfig, SplitTensors, load_classifier

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
        if head.freeze_backbone:
            features = {split: backbone_features(model, resnet.load_split(folder, base.classes, base.imgsz, split), device)
                        for split in ("train", "val")}
            history = training.fit(model.head, feature_batches(features["train"], budget, train=True),
                                   feature_batches(features["val"], budget), budget, device, out / "model.pt")
            model.head.load_state_dict(torch.load(out / "model.pt", weights_only=False)["state_dict"])
            resnet.save_checkpoint(model, budget, out / "model.pt", int(history.epoch[history.best].iloc[-1]))
        else:
            history = training.fit(model, resnet.batches(folder, "train", budget, train=True),
                                   resnet.batches(folder, "val", budget), budget, device, out / "model.pt")
        cache.atomic_write_text(out / "head.json", json.dumps(dataclasses.asdict(head)))
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))

    return cache.cached_artifact(f"attention-{base.dataset}-{head.regulariser}", key, build_artifact,
                                 code=[Path(__file__), dropkey, training, resnet, splits],
                                 packages=["torch", "torchvision"], force=force)


def backbone_features(model: ResNet50Attention, split: SplitTensors, device: str = "cpu", batch: int = 64) -> SplitTensors:
    """The frozen backbone's layer4 features of every image of ``split`` (fp32, eval mode), as a
    split whose ``images`` are features (N, 2048, h, w)."""
    model.to(device).eval()
    with torch.no_grad():
        features = [model.backbone(x.to(device)).cpu() for x, _ in tqdm(Batches(split, batch), desc="layer4 features", leave=False)]
    return SplitTensors(torch.cat(features), split.labels, split.files)


def feature_batches(features: SplitTensors, config: ClassifierConfig, train: bool = False) -> Batches:
    """Batches of cached features, shuffled per epoch in training, as the images would be."""
    return Batches(features, config.batch, train=train, seed=config.seed, prepare=lambda x, train, generator: x)
