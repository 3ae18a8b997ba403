"""YOLOv5 detectors with an attention module in the neck (xu2024 §2.1), built by ultralytics.

A variant is ultralytics' own ``yolov5.yaml`` with one attention module inserted after each of the
three neck C3 blocks whose outputs feed Detect (layers 17, 20, 23: P3, P4, P5). The attended
maps then feed both Detect and the rest of the top-down / bottom-up path, so the module sees
every scale the detector predicts at. The modules (:mod:`.attention`) are registered with
ultralytics' model parser under ``Attn<name>`` (ultralytics has its own, different, ``CBAM``)
without touching its source.

ultralytics takes the model scale from the yaml *file name*, and passes a module it does not
know its yaml arguments unchanged, so each variant is written as ``yolov5<scale>-<variant>.yaml``
with the scaled channel count of its level as the module's argument.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import yaml

from . import attention

VARIANTS = ("baseline", *attention.ATTENTION)
NECK_OUTPUTS = (17, 20, 23)  # C3 blocks of yolov5.yaml's head that feed Detect (P3, P4, P5)
SCALES = ("n", "s", "m", "l", "x")


def check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown detector variant {variant!r}; choose one of: {', '.join(VARIANTS)}")


def choose_variants(spec: str = "all") -> list[str]:
    """Variants named by a notebook parameter: ``"all"`` or a comma-separated list of modules;
    the baseline always comes first, as every comparison is made against it."""
    names = list(attention.ATTENTION) if spec.strip() == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    for name in names:
        check_variant(name)
    return list(dict.fromkeys(["baseline", *names]))


def display_name(variant: str) -> str:
    """The paper's name of a variant: ``YOLOv5`` for the baseline, ``YOLOv5-CBAM`` and so on."""
    check_variant(variant)
    return "YOLOv5" if variant == "baseline" else f"YOLOv5-{variant}"


def register() -> None:
    """Make the attention modules known to ultralytics' ``parse_model`` (idempotent)."""
    from ultralytics.nn import tasks

    for name, cls in attention.ATTENTION.items():
        setattr(tasks, f"Attn{name}", cls)


def _base_config() -> dict:
    import ultralytics

    path = Path(ultralytics.__file__).parent / "cfg" / "models" / "v5" / "yolov5.yaml"
    return yaml.safe_load(path.read_text())


def scaled_channels(channels: int, scale: str, config: dict | None = None) -> int:
    """Output channels of a layer declared with ``channels`` at ``scale`` (ultralytics' rule)."""
    if scale not in SCALES:
        raise ValueError(f"unknown YOLOv5 scale {scale!r}; choose one of: {', '.join(SCALES)}")
    _, width, max_channels = (config or _base_config())["scales"][scale]
    return int(math.ceil(min(channels, max_channels) * width / 8) * 8)


def variant_config(variant: str, scale: str, nc: int) -> dict:
    """The yolov5 model dict of ``variant`` for ``nc`` classes at ``scale``."""
    check_variant(variant)
    base = _base_config()
    config = copy.deepcopy(base)
    config["nc"] = nc
    if variant == "baseline":
        return config
    n_backbone = len(base["backbone"])
    head, new_index, inserted = [], {}, []
    for i, row in enumerate(base["head"][:-1], start=n_backbone):  # every head row but Detect
        new_index[i] = i + len(inserted)
        head.append(_remap(row, new_index))
        if i in NECK_OUTPUTS:
            channels = scaled_channels(row[3][0], scale, base)
            head.append([-1, 1, f"Attn{variant}", [channels]])
            inserted.append(i + len(inserted) + 1)
    f, n, m, args = base["head"][-1]
    head.append([inserted, n, m, args])  # Detect reads the attended P3, P4, P5
    config["head"] = head
    return config


def _remap(row: list, new_index: dict[int, int]) -> list:
    """A yaml row with its absolute 'from' indices moved past the inserted layers."""
    f, n, m, args = row
    move = lambda j: new_index.get(j, j) if j >= 0 else j  # noqa: E731
    return [[move(j) for j in f] if isinstance(f, list) else move(f), n, m, list(args)]


def variant_yaml(variant: str, scale: str, nc: int, folder: str | Path) -> Path:
    """Write ``yolov5<scale>-<variant>.yaml`` (the file name carries the scale) into ``folder``."""
    from ..study.cache import atomic_write_text

    path = Path(folder) / f"yolov5{scale}-{variant.lower()}.yaml"
    atomic_write_text(path, yaml.safe_dump(variant_config(variant, scale, nc), sort_keys=False))
    return path


def build_detector(variant: str, scale: str, nc: int, folder: str | Path):
    """An untrained ultralytics ``YOLO`` of ``variant`` (its yaml written to ``folder``)."""
    from ultralytics import YOLO

    register()
    return YOLO(str(variant_yaml(variant, scale, nc, folder)), task="detect")
