"""How fast a detector trains on this machine: a YOLOv5 training pass (forward and backward) in
fp32 and in bf16 autocast with channels_last, side by side. ultralytics' trainer runs fp32 on a
CPU (its AMP check is for CUDA), so the detectors train in fp32; this benchmark measures what bf16
would give on the machine at hand. Run it from notebook 02 or as
``python -m lib.detection.throughput [profile]``; read the ratio, not the absolute rates.
"""
from __future__ import annotations

import copy
import tempfile

import pandas as pd
import torch

from ..study import benchmark, precision
from . import detectors
from .evaluation import training_pass


def yolo_throughput(scale: str, nc: int, *, imgsz: int, batch: int, rounds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Images per second of a baseline YOLOv5 training pass at ``scale`` and ``imgsz`` in fp32 and
    in bf16, and the ratio of each to fp32."""
    torch.manual_seed(seed)
    x = torch.rand(batch, 3, imgsz, imgsz)
    with tempfile.TemporaryDirectory() as tmp:
        model = detectors.build_detector("baseline", scale, nc, tmp).model.train()
    policies = {name: precision.Precision(name, "benchmark") for name in ("fp32", "bf16")}

    def step(policy: precision.Precision):
        own = copy.deepcopy(model).to(memory_format=policy.memory_format())
        inputs = x.contiguous(memory_format=policy.memory_format())

        def run() -> None:
            with policy.autocast("cpu"):
                training_pass(own, inputs)
        return run

    seconds = benchmark.interleaved_seconds({name: step(p) for name, p in policies.items()}, rounds)
    table = pd.DataFrame({"img_per_s": {name: batch / s for name, s in seconds.items()}}).rename_axis("precision")
    table["ratio_to_fp32"] = table.img_per_s / table.img_per_s["fp32"]
    table.attrs["labels"] = {"img_per_s": "images/s", "ratio_to_fp32": "ratio to fp32"}
    return table


if __name__ == "__main__":  # python -m lib.detection.throughput [profile]
    import sys

    from ..data.read import CLASS_NAMES
    from ..study.profiles import get_profile
    from ..study.reporting import displayed

    spec = get_profile(sys.argv[1] if len(sys.argv) > 1 else "quick").detector
    print(f"YOLOv5{spec.scale}, {spec.imgsz} px, batch {spec.batch}, {torch.get_num_threads()} threads")
    print(displayed(yolo_throughput(spec.scale, len(CLASS_NAMES["microparts"]), imgsz=spec.imgsz, batch=spec.batch)).round(3).to_string())
