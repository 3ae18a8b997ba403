"""Training liu2023's models on the droplet set, cached, in two stages.

1. **Heads** (:func:`train_head_model`): an attention head (:mod:`.dropkey`) on the frozen
   backbone (conv1 .. layer4) of the seed's droplet classifier, for the profile's
   ``head_epochs`` with the classifier's batch, schedule, precision and seed. A frozen backbone
   in eval mode maps an image to the same layer4 features every time, so they are computed once
   per split (:func:`backbone_features`) and the head trains on them without augmentation, in
   seconds: affordable for the mask-ratio sweep. Heads on one frozen backbone share its layer4
   features, so their Grad-CAM maps differ only by the head's gradient weighting: they are a
   cheap variant, not liu2023's models.
2. **Whole models** (:func:`finetune_model`): liu2023's "ResNet50", "ResNet50+Dropout" and
   "ResNet50+DropKey" are each one network trained with its regulariser. Each starts from the
   seed's classifier (ResNet50: as it is; the others: its backbone with their trained head, so
   that no randomly initialised head sends large gradients into the shared backbone) and trains
   every layer for the profile's ``finetune_epochs`` more, on augmented images, with a one-cycle
   schedule peaking at the profile's ``finetune_lr``, at the classifier's batch and seed: one
   shared start, the same further budget, the same batches.
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
from .dropkey import HeadConfig, ResNet50Attention, build_head_model, load_head_model
from .resnet import Batches, ClassifierConfig, SplitTensors, load_classifier

# Bump to rebuild every attention head on purpose (a change outside the keyed code that alters training).
VERSION = 1


def train_head_model(folder: str | Path, head: HeadConfig, base_artifact: str | Path, device: str = "cpu", *,
                     force: bool = False) -> Path:
    """Train (or fetch from the cache) ``head`` on top of the droplet classifier ``base_artifact``."""
    if not head.freeze_backbone:
        raise ValueError("a head trains on a frozen backbone; train the whole model with finetune_model")
    folder, base_artifact = Path(folder), Path(base_artifact)
    base_model, base = load_classifier(base_artifact, device)
    key = {**dataclasses.asdict(head), "base": base_artifact.name, "data": cache.dataset_identity(folder), "version": VERSION}

    def build_artifact(out: Path) -> None:
        seed_everything(base.seed)
        model = build_head_model(head, base)
        model.load_backbone(base_model)
        budget = dataclasses.replace(base, epochs=head.epochs)
        features = {split: backbone_features(model, resnet.load_split(folder, base.classes, base.imgsz, split), device)
                    for split in ("train", "val")}
        history = training.fit(model.head, feature_batches(features["train"], budget, train=True),
                               feature_batches(features["val"], budget), budget, device, out / "model.pt")
        model.head.load_state_dict(torch.load(out / "model.pt", weights_only=False)["state_dict"])
        resnet.save_checkpoint(model, budget, out / "model.pt", int(history.epoch[history.best].iloc[-1]))
        cache.atomic_write_text(out / "head.json", json.dumps(dataclasses.asdict(head)))
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))

    return cache.cached_artifact(f"attention-{base.dataset}-{head.regulariser}", key, build_artifact,
                                 code=[Path(__file__), dropkey, training, resnet, splits],
                                 packages=["torch", "torchvision"], force=force)


def finetune_model(folder: str | Path, start: str | Path, epochs: int, lr: float, device: str = "cpu", *,
                   force: bool = False) -> Path:
    """Train every layer of the cached model ``start`` (a classifier, or an attention-head model of
    :func:`train_head_model`) for ``epochs`` more on augmented images, with a one-cycle schedule
    peaking at ``lr`` and its classifier's warm-up, batch, precision and seed (or fetch it from
    the cache).
    The artifact loads as ``start`` does: :func:`.resnet.load_classifier` for a classifier,
    :func:`.dropkey.load_head_model` for an attention model (then with a trainable backbone)."""
    folder, start = Path(folder), Path(start)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    head = HeadConfig(**json.loads((start / "head.json").read_text())) if (start / "head.json").is_file() else None
    key = {"start": start.name, "epochs": epochs, "lr": lr, "data": cache.dataset_identity(folder), "version": VERSION}

    def build_artifact(out: Path) -> None:
        if head is None:
            model, base = load_classifier(start, device)
        else:
            model, _, base = load_head_model(start, device)
            model.freeze_backbone = False
        seed_everything(base.seed)
        budget = dataclasses.replace(base, epochs=epochs, lr=lr)
        history = training.fit(model, resnet.batches(folder, "train", budget, train=True),
                               resnet.batches(folder, "val", budget), budget, device, out / "model.pt")
        if head is not None:
            cache.atomic_write_text(out / "head.json", json.dumps(dataclasses.asdict(dataclasses.replace(head, freeze_backbone=False))))
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))

    name = "plain" if head is None else head.regulariser
    return cache.cached_artifact(f"liu2023-{name}", key, build_artifact, code=[Path(__file__), dropkey, training, resnet, splits],
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
