"""The image splits of a classification set, decoded once.

:class:`ImageSplit` reads ``<root>/<split>/<class>/*.png`` with torchvision's ``ImageFolder``.
:func:`decoded_splits` reads every image of every split once, resizes it to the classifier's
input size (torchvision's antialiased ``Resize`` of the PIL image) and stores each split as one
uint8 tensor in a cached artifact ``decoded-<dataset>-<size>-<key>/<split>.pt``. Training epochs,
predictions, maps and noise sweeps then start from those tensors and never decode or resize a PNG
again (notebook 05's throughput benchmark measures what the remaining data path costs).
:func:`.resnet.load_split` reads a split back.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torchvision import transforms as T
from torchvision.transforms import functional as TF
from tqdm import tqdm

from ..data import read
from ..study import cache

# Bump to decode every split again on purpose (a change outside the keyed code that alters them).
VERSION = 1


class ImageSplit(torchvision.datasets.ImageFolder):
    """One split (``<root>/<split>/<class>/*.png``) with classes in the study's order, not
    alphabetical (ImageFolder's default), so that label ``i`` is ``classes[i]`` everywhere. A real
    set's own folder names are read through its ``class_names.yaml`` (see :mod:`lib.data.read`)."""

    def __init__(self, root: str | Path, split: str, classes):
        self.study_classes = tuple(classes)
        self.folders = tuple(read.class_folders(Path(root), self.study_classes).values())
        folder = Path(root) / split
        check_split(folder, self.folders)
        super().__init__(str(folder))

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


def decoded_splits(folder: str | Path, classes, imgsz: int) -> Path:
    """The cached artifact holding ``<split>.pt`` for every split of the set in ``folder``: a dict
    with ``images`` (N, 3, imgsz, imgsz) uint8, ``labels`` (N,) int64 and ``files`` (N paths
    relative to the dataset root), in :class:`ImageSplit`'s order."""
    folder = Path(folder)
    for split in read.SPLITS:  # every split checked before any is decoded
        check_split(folder / split, read.class_folders(folder, tuple(classes)).values())
    config = {"data": cache.dataset_identity(folder), "classes": list(classes), "imgsz": imgsz, "version": VERSION}

    def build(out: Path) -> None:
        resize = T.Resize((imgsz, imgsz), antialias=True)
        for split in read.SPLITS:
            ds = ImageSplit(folder, split, classes)
            images = [TF.pil_to_tensor(resize(ds.loader(path))) for path, _ in
                      tqdm(ds.samples, desc=f"decoding {folder.name}/{split}", unit="image", leave=False)]
            with cache.atomic_path(out / f"{split}.pt") as tmp:
                torch.save({"images": torch.stack(images), "labels": torch.tensor(ds.targets), "files": ds.files}, tmp)

    return cache.cached_artifact(f"decoded-{folder.name}-{imgsz}", config, build, code=[Path(__file__)],
                                 packages=["torch", "torchvision", "pillow"])
