"""The ResNet50 classifiers of the droplet and surface images (xu2024 §4.3, §4.4): the model, its
configuration, the image folders it reads and its checkpoint file.

torchvision gives the model and the image folders. Models are trained from scratch unless a
local ImageNet state dict is given: nothing is downloaded.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms as T

from ..data import read
from ..study import cache
from ..study.profiles import Profile

# ImageNet statistics, so that optional ImageNet weights see the inputs they were trained with.

MEAN = (0.485, 0.456, 0.406)


STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that determines a trained classifier (besides the data)."""

    dataset: str  # "droplets" | "surfaces"
    classes: tuple[str, ...]
    imgsz: int  # network input side in px (source images are resized to it)
    epochs: int
    batch: int
    seed: int = 0
    lr: float = 2e-3  # peak of the one-cycle schedule
    weight_decay: float = 0.05
    weights: str | None = None  # local torchvision ImageNet state dict; None: from scratch

    @classmethod
    def from_profile(cls, profile: Profile, dataset: str, classes, seed: int, weights: str | None = None) -> "ClassifierConfig":
        spec = profile.classifier
        return cls(dataset, tuple(classes), spec.imgsz, spec.epochs, spec.batch, seed, weights=weights)


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


def image_transform(imgsz: int, train: bool) -> T.Compose:
    """Resize and normalise; in training, augmentations that keep what a microscope image means:
    the 8 flips and right-angle turns (no canonical orientation under the microscope) and small
    changes of illumination."""
    steps = [T.Resize((imgsz, imgsz), antialias=True)]
    if train:
        steps += [T.RandomHorizontalFlip(), T.RandomVerticalFlip(), T.RandomApply([_Transpose()], p=0.5),
                  T.ColorJitter(brightness=0.15, contrast=0.15)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(MEAN, STD)])


class _Transpose(nn.Module):
    """Swap x and y; with the two flips it gives all 8 symmetries of the square."""

    def forward(self, img):
        from PIL import Image

        return img.transpose(Image.Transpose.TRANSPOSE)


class ImageSplit(torchvision.datasets.ImageFolder):
    """One split (``<root>/<split>/<class>/*.png``) with classes in the study's order, not
    alphabetical (ImageFolder's default), so that label ``i`` is ``classes[i]`` everywhere. A real
    set's own folder names are read through its ``class_names.yaml`` (see :mod:`lib.data.read`)."""

    def __init__(self, root: str | Path, split: str, classes, transform=None):
        self.study_classes = tuple(classes)
        self.folders = tuple(read.class_folders(Path(root), self.study_classes).values())
        folder = Path(root) / split
        check_split(folder, self.folders)
        super().__init__(str(folder), transform=transform)

    def find_classes(self, directory):
        return list(self.folders), {f: i for i, f in enumerate(self.folders)}

    @property
    def files(self) -> list[str]:
        """Image paths relative to the dataset root (as in ``images.csv``)."""
        root = Path(self.root).parent
        return [str(Path(p).relative_to(root)) for p, _ in self.samples]


def check_split(folder: Path, classes) -> None:
    """Fail clearly when a split is missing, empty, or has other class folders than ``classes``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"split folder {folder} does not exist")
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if sorted(classes) != found:
        raise ValueError(f"{folder} has {len(found)} class folder(s) {found}, but the classifier expects "
                         f"the {len(classes)} classes {list(classes)}")
    if not any(p.suffix.lower() in read.IMAGE_SUFFIXES for c in classes for p in (folder / c).iterdir()):
        raise ValueError(f"split {folder} is empty: no images in any class folder")


def loader(folder: Path, split: str, config: ClassifierConfig, train: bool = False) -> DataLoader:
    """Batches of one split; training batches are shuffled by a generator seeded from the config.
    One process: on 2 cores, workers would only compete with the model for them."""
    ds = ImageSplit(folder, split, config.classes, image_transform(config.imgsz, train))
    gen = torch.Generator().manual_seed(config.seed)
    return DataLoader(ds, batch_size=config.batch, shuffle=train, generator=gen if train else None,
                      drop_last=train and len(ds) > config.batch, num_workers=0)


def predict(model: nn.Module, dl: DataLoader, device: str = "cpu") -> tuple[np.ndarray, np.ndarray, float]:
    """Softmax probabilities (N, classes), labels (N,) and mean cross-entropy over a loader."""
    model.eval()
    probs, labels, loss = [], [], 0.0
    with torch.no_grad():
        for x, y in dl:
            logits = model(x.to(device))
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
