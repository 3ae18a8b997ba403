"""The ResNet50 classifiers of the droplet and surface images (xu2024 §4.3, §4.4): the model, its
configuration, the batches it reads (from the decoded splits of :mod:`.splits`) and its
checkpoint file.

torchvision gives the model. Models are trained from scratch unless a local ImageNet state dict
is given: nothing is downloaded.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision import transforms as T
from torchvision.transforms import functional as TF

from ..study import cache, precision
from ..study.profiles import Profile
from . import splits

# ImageNet statistics, so that optional ImageNet weights see the inputs they were trained with.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
JITTER = 0.15  # largest relative change of brightness and of contrast in training


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that determines a trained classifier (besides the data)."""

    dataset: str  # "droplets" | "surfaces"
    classes: tuple[str, ...]
    imgsz: int  # network input side in px (source images are resized to it)
    epochs: int
    batch: int
    seed: int = 0
    lr: float = 1e-3  # peak of the one-cycle schedule
    warmup: float = 0.15  # share of the steps spent rising to the peak
    weight_decay: float = 0.05
    weights: str | None = None  # local torchvision ImageNet state dict; None: from scratch
    precision: str = "fp32"  # what it trains at, "fp32" or "bf16" (lib.study.precision)

    @classmethod
    def from_profile(cls, profile: Profile, dataset: str, classes, seed: int, weights: str | None = None,
                     precision: str = "fp32") -> "ClassifierConfig":
        spec = profile.classifier
        return cls(dataset, tuple(classes), spec.imgsz, spec.epochs_for(dataset), spec.batch, seed, weights=weights,
                   precision=precision)


def build_resnet50(num_classes: int, weights: str | Path | None = None) -> nn.Module:
    """torchvision ResNet50 with a ``num_classes`` head; ImageNet weights from a local file if given."""
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    if weights is None:
        # Zero-initialised last BatchNorm of each residual block: every block starts as the
        # identity, which makes a from-scratch ResNet50 learn in far fewer steps (Goyal et al. 2017).
        return torchvision.models.resnet50(weights=None, num_classes=num_classes, zero_init_residual=True)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ImageNet weights {path} not found (nothing is downloaded; pass a local file or None)")
    model = torchvision.models.resnet50(weights=None)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


@dataclass(frozen=True)
class SplitTensors:
    """One decoded split (:func:`.splits.decoded_splits`)."""

    images: torch.Tensor  # (N, 3, S, S) uint8
    labels: torch.Tensor  # (N,) int64
    files: tuple[str, ...]  # relative to the dataset root

    def __len__(self) -> int:
        return len(self.labels)

    def floats(self) -> np.ndarray:
        """The images as (N, S, S, 3) float32 in [0, 1], for perturbations and figures."""
        return self.images.permute(0, 2, 3, 1).float().div(255).numpy()


def load_split(folder: str | Path, classes, imgsz: int, split: str) -> SplitTensors:
    """``split`` of the classification set in ``folder`` at ``imgsz`` px, decoded once and cached."""
    saved = torch.load(splits.decoded_splits(folder, classes, imgsz) / f"{split}.pt", weights_only=True)
    return SplitTensors(saved["images"], saved["labels"], tuple(saved["files"]))


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    """float (N, 3, S, S) in [0, 1] -> the network's input (ImageNet mean and std)."""
    return T.Normalize(MEAN, STD)(images)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """uint8 (B, 3, S, S) -> float in [0, 1], each image changed in ways that keep what a microscope
    image means: one of the 8 symmetries of the square (horizontal flip, vertical flip and
    transpose, each with probability 1/2; there is no canonical orientation under the microscope)
    and brightness and contrast scaled by factors within ``1 ± JITTER`` (torchvision's
    ``ColorJitter`` definitions: brightness multiplies, contrast blends with the mean grey).
    Batched, so that augmentation costs a few tensor operations per batch."""
    x = images.float().div(255)
    b = len(x)
    flip = torch.rand(3, b, 1, 1, 1, generator=generator) < 0.5
    x = torch.where(flip[0], x.flip(-1), x)
    x = torch.where(flip[1], x.flip(-2), x)
    x = torch.where(flip[2], x.transpose(-1, -2), x)
    brightness, contrast = 1 + JITTER * (2 * torch.rand(2, b, 1, 1, 1, generator=generator) - 1)
    x = (x * brightness).clamp(0, 1)
    grey = TF.rgb_to_grayscale(x).mean((-3, -2, -1), keepdim=True)
    return (contrast * x + (1 - contrast) * grey).clamp(0, 1)


def prepare_images(images: torch.Tensor, train: bool, generator: torch.Generator) -> torch.Tensor:
    """uint8 images -> the network's input, augmented in training."""
    return imagenet_normalise(augment(images, generator) if train else images.float().div(255))


class Batches:
    """Mini-batches ``(x, y)`` of a decoded split: x = ``prepare(images, train, generator)``
    (:func:`prepare_images` by default: normalised float (B, 3, S, S)) in ``memory_format``, y (B,)
    int64. Training batches are reshuffled every epoch by a generator seeded from ``seed``, and the
    last partial batch is dropped."""

    def __init__(self, split: SplitTensors, batch: int, *, train: bool = False, seed: int = 0,
                 memory_format=torch.contiguous_format, prepare=prepare_images):
        self.split, self.batch, self.train, self.memory_format, self.prepare = split, batch, train, memory_format, prepare
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.split)
        return n // self.batch if self.train and n > self.batch else -(-n // self.batch)

    def __iter__(self):
        n = len(self.split)
        order = torch.randperm(n, generator=self.generator) if self.train else torch.arange(n)
        for i in range(len(self)):
            idx = order[i * self.batch:(i + 1) * self.batch]
            x = self.prepare(self.split.images[idx], self.train, self.generator)
            yield x.contiguous(memory_format=self.memory_format), self.split.labels[idx]


def batches(folder: Path, split: str, config: ClassifierConfig, train: bool = False) -> Batches:
    """Batches of one split of ``folder`` at the configuration's input size, batch, seed and precision."""
    return Batches(load_split(folder, config.classes, config.imgsz, split), config.batch, train=train, seed=config.seed,
                   memory_format=precision.resolve(config.precision, "cpu").memory_format())


def predict(model: nn.Module, batches, device: str = "cpu", policy: precision.Precision | None = None
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """Softmax probabilities (N, classes), labels (N,) and mean cross-entropy over ``batches``; in
    fp32 unless a training-time ``policy`` is given (validation during training)."""
    model.eval()
    probs, labels, loss = [], [], 0.0
    with torch.no_grad():
        for x, y in batches:
            with policy.autocast(device) if policy else contextlib.nullcontext():
                logits = model(x.to(device)).float()
            loss += nn.functional.cross_entropy(logits, y.to(device), reduction="sum").item()
            probs.append(torch.softmax(logits, 1).cpu().numpy())
            labels.append(y.numpy())
    labels = np.concatenate(labels)
    return np.concatenate(probs), labels, loss / max(len(labels), 1)


# -- checkpoints -----------------------------------------------------------------------------------
def save_checkpoint(model: nn.Module, config: ClassifierConfig, path: Path, epoch: int) -> None:
    state = {"state_dict": model.state_dict(), "config": dataclasses.asdict(config), "epoch": epoch}
    with cache.atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_classifier(artifact: str | Path, device: str = "cpu") -> tuple[nn.Module, ClassifierConfig]:
    """The best checkpoint of a trained classifier, in eval mode, and its configuration."""
    state = torch.load(Path(artifact) / "model.pt", map_location=device, weights_only=False)
    raw = state["config"]
    config = ClassifierConfig(**{**raw, "classes": tuple(raw["classes"])})
    model = build_resnet50(len(config.classes))
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), config
