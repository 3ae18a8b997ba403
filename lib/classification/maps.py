"""The maps of a whole split of a classifier's dataset, cached, so that the notebooks' tables
are recomputed from saved maps rather than from the model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..explain import cams
from ..study import cache
from .resnet import Batches, load_classifier, load_split

# Bump to rebuild every batch of maps on purpose (a change outside the keyed code that alters them).
VERSION = 1


def split_maps(artifact: Path, dataset_folder: Path, split: str = "test", layers=("layer4",), guided: bool = True,
               target: str = "true", size: int = 225, device: str = "cpu", batch: int = 16) -> Path:
    """Cached ``maps.npz`` for every image of ``split``: ``cam_<layer>`` (N, size, size), ``guided``
    (Guided Grad-CAM at the last of ``layers``), ``labels``, ``preds``, ``targets`` and ``files``.

    ``target``: ``"true"`` explains the true class (where the model finds evidence for what the
    image is), ``"predicted"`` the predicted one.
    """
    if target not in ("true", "predicted"):
        raise ValueError(f"target must be 'true' or 'predicted', got {target!r}")
    config = {"classifier": Path(artifact).name, "split": split, "layers": list(layers), "guided": guided,
              "target": target, "size": size, "version": VERSION}

    def build(out: Path) -> None:
        model, cfg = load_classifier(artifact, device)
        data = load_split(dataset_folder, cfg.classes, cfg.imgsz, split)
        arrays = {f"cam_{name}": [] for name in layers}
        arrays.update(guided=[], labels=[], preds=[], targets=[])
        for x, y in tqdm(Batches(data, batch), desc=f"CAMs {cfg.dataset}/{split}"):
            x, labels = x.to(device), y.numpy()
            with torch.no_grad():
                preds = model(x).argmax(1).cpu().numpy()
            tgt = labels if target == "true" else preds
            maps = {name: cams.cam(model, x, tgt, name, batch=batch) for name in layers}
            for name, m in maps.items():
                arrays[f"cam_{name}"].append(cams.resize_maps(m, size))
            if guided:
                gg = cams.guided_gradcam(maps[layers[-1]], cams.guided_backprop(model, x, tgt))
                arrays["guided"].append(cams.resize_maps(gg, size))
            arrays["labels"].append(labels), arrays["preds"].append(preds), arrays["targets"].append(tgt)
        saved = {k: np.concatenate(v) for k, v in arrays.items() if v}
        with cache.atomic_path(out / "maps.npz") as tmp:
            np.savez_compressed(tmp, files=np.array(data.files), classes=np.array(cfg.classes), **saved)

    return cache.cached_artifact(f"cams-{Path(artifact).name}", config, build, code=[Path(__file__), cams],
                                 packages=["torch", "grad-cam"]) / "maps.npz"
