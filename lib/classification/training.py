"""Training the ResNet50 classifiers, cached.

torchvision gives no trainer, so the loop here is the plain supervised one: AdamW with a
one-cycle learning rate, cross-entropy, and the checkpoint of the epoch with the best validation
accuracy (xu2024 §3.3 keeps the best checkpoint too).

A trained classifier is a cached artifact ``classifier-<dataset>-<key>/`` keyed by its
configuration, the dataset's identity and the code of this module and :mod:`.resnet`. It holds
``model.pt`` (weights, classes, configuration), ``history.csv`` (one row per epoch) and
``predictions.csv`` (test set); :mod:`.models` reads them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from ..study import cache, precision
from ..study.seeding import seed_everything
from . import resnet, splits
from .resnet import Batches, ClassifierConfig, batches, build_resnet50, load_classifier, predict, save_checkpoint

# Bump to rebuild every classifier on purpose (a change outside the keyed code that alters training).
VERSION = 1


def training_step(model: nn.Module, opt: torch.optim.Optimizer, policy: precision.Precision, x: torch.Tensor,
                  y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a batch: the forward pass at ``policy``'s precision, cross-entropy in
    fp32, backward and update. Returns the logits and the loss."""
    with policy.autocast(x.device.type):
        logits = model(x).float()
    loss = nn.functional.cross_entropy(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return logits, loss


def fit(model: nn.Module, train_dl: Batches, val_dl: Batches, config: ClassifierConfig, device: str,
        checkpoint: Path) -> pd.DataFrame:
    """Train for ``config.epochs`` at ``config.precision``; save the best-on-validation weights to
    ``checkpoint``; return the history."""
    policy = precision.resolve(config.precision, device)
    model.to(device, memory_format=policy.memory_format())
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * len(train_dl),
                                                pct_start=config.warmup)
    history, best = [], (-1.0, np.inf)
    bar = tqdm(total=config.epochs * len(train_dl), desc=f"training {config.dataset}", unit="batch")
    for epoch in range(1, config.epochs + 1):
        model.train()
        t0, seen, correct, total_loss = time.perf_counter(), 0, 0, 0.0
        for x, y in train_dl:
            x, y = x.to(device), y.to(device)
            logits, loss = training_step(model, opt, policy, x, y)
            sched.step()
            seen += len(y)
            correct += (logits.argmax(1) == y).sum().item()
            total_loss += loss.item() * len(y)
            bar.update()
        train_s = time.perf_counter() - t0
        probs, labels, val_loss = predict(model, val_dl, device, policy)
        val_acc = float((probs.argmax(1) == labels).mean())
        improved = (val_acc, -val_loss) > (best[0], -best[1])
        if improved:
            best = (val_acc, val_loss)
            save_checkpoint(model, config, checkpoint, epoch)
        history.append({"epoch": epoch, "train_loss": total_loss / seen, "train_acc": correct / seen,
                        "val_loss": val_loss, "val_acc": val_acc, "best": improved, "train_s": train_s,
                        "img_per_s": seen / train_s})
        bar.set_postfix(epoch=epoch, val_acc=f"{val_acc:.3f}", refresh=False)  # redrawn at the bar's own interval
    bar.close()
    return pd.DataFrame(history)


def train_classifier(folder: str | Path, config: ClassifierConfig, device: str = "cpu", *, force: bool = False) -> Path:
    """Train (or fetch from the cache) the classifier ``config`` on the dataset in ``folder``."""
    folder = Path(folder)
    splits.decoded_splits(folder, config.classes, config.imgsz)  # checks every split before minutes of training
    key = {**dataclasses.asdict(config), "data": cache.dataset_identity(folder), "version": VERSION}
    if config.weights:  # the file's content, not its name, identifies the weights
        key["weights"] = hashlib.sha256(Path(config.weights).expanduser().read_bytes()).hexdigest()[:16]

    def build(out: Path) -> None:
        seed_everything(config.seed)
        model = build_resnet50(len(config.classes), config.weights)
        history = fit(model, batches(folder, "train", config, train=True), batches(folder, "val", config),
                      config, device, out / "model.pt")
        cache.atomic_write_text(out / "history.csv", history.to_csv(index=False))
        best, _ = load_classifier(out, device)
        test = batches(folder, "test", dataclasses.replace(config, precision="fp32"))  # scored in fp32
        probs, labels, _ = predict(best, test, device)
        table = pd.DataFrame({"file": test.split.files, "label": labels, "pred": probs.argmax(1)})
        for i, c in enumerate(config.classes):
            table[f"p_{c}"] = probs[:, i]
        cache.atomic_write_text(out / "predictions.csv", table.to_csv(index=False))

    return cache.cached_artifact(f"classifier-{config.dataset}", key, build, code=[Path(__file__), resnet, splits],
                                 packages=["torch", "torchvision"], force=force)
