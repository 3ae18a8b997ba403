"""How fast a classifier trains on this machine: a ResNet50 training step (forward, backward,
AdamW) on a batch already in memory, in fp32 and in bf16 autocast with channels_last, beside the
training loop's own data path (decoded split, batched augmentation, :class:`.resnet.Batches`).

A benchmark: every path runs in the same process, interleaved round by round, so that a drift in
machine load hits them alike; the ratios are what to read, the absolute rates vary between runs.
Run it from notebook 05 or as ``python -m lib.classification.throughput [profile]``.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..study import precision
from ..study.numerics import clock
from .resnet import Batches, SplitTensors, build_resnet50


def _step(model: nn.Module, opt: torch.optim.Optimizer, policy: precision.Precision, x: torch.Tensor, y: torch.Tensor) -> None:
    with policy.autocast("cpu"):
        loss = nn.functional.cross_entropy(model(x).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def resnet_throughput(split: SplitTensors, classes: int, batch: int, chosen: precision.Precision, *, steps: int = 4,
                      rounds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Images per second of a ResNet50 training step on ``split``'s images: in memory in fp32, in
    memory in bf16 + channels_last, and through the training loop's data path at ``chosen``
    precision. Rows carry the rate, its ratio to the fp32 in-memory step and, for the data path,
    its ratio to the in-memory step at the same precision (the cost of reading the data)."""
    policies = {"fp32": precision.Precision("fp32", "benchmark"), "bf16": precision.Precision("bf16", "benchmark")}
    torch.manual_seed(seed)
    x = Batches(split, batch)
    fixed_x, fixed_y = next(iter(x))
    paths = {f"in memory, {name}": (policy, itertools.repeat((fixed_x.contiguous(memory_format=policy.memory_format()), fixed_y)))
             for name, policy in policies.items()}
    loop = Batches(split, batch, train=True, seed=seed, memory_format=chosen.memory_format())
    paths[f"data path, {chosen.name}"] = (policies[chosen.name], itertools.chain.from_iterable(itertools.repeat(loop)))
    models = {}
    for name, (policy, _) in paths.items():
        torch.manual_seed(seed)
        model = build_resnet50(classes).to(memory_format=policy.memory_format()).train()
        models[name] = (model, torch.optim.AdamW(model.parameters(), lr=1e-4))
    rates = {name: [] for name in paths}
    for r in range(rounds + 1):  # round 0 warms up the allocator and the kernel choice
        for name, (policy, data) in paths.items():
            model, opt = models[name]
            t0 = clock()
            for _ in range(steps):
                xb, yb = next(data)
                _step(model, opt, policy, xb, yb)
            if r:
                rates[name].append(steps * batch / (clock() - t0))
    median = {name: float(np.median(v)) for name, v in rates.items()}
    table = pd.DataFrame({"img_per_s": median}).rename_axis("path")
    table["ratio_to_fp32_in_memory"] = table.img_per_s / median["in memory, fp32"]
    table["ratio_to_in_memory"] = np.nan
    table.loc[f"data path, {chosen.name}", "ratio_to_in_memory"] = median[f"data path, {chosen.name}"] / median[f"in memory, {chosen.name}"]
    table.attrs["labels"] = {"img_per_s": "images/s", "ratio_to_fp32_in_memory": "ratio to fp32 in memory",
                             "ratio_to_in_memory": "ratio to in memory (same precision)"}
    return table


if __name__ == "__main__":  # python -m lib.classification.throughput [profile]
    import sys

    from ..data import datasets
    from ..data.read import CLASS_NAMES
    from ..study.profiles import get_profile
    from ..study.reporting import displayed
    from .resnet import load_split

    profile = get_profile(sys.argv[1] if len(sys.argv) > 1 else "quick")
    folder = datasets.prepare(profile.data, profile.seed, names=["droplets"])["droplets"]
    spec = profile.classifier
    split = load_split(folder, CLASS_NAMES["droplets"], spec.imgsz, "train")
    chosen = precision.resolve("auto", "cpu")
    print(f"profile {profile.name}: {spec.imgsz} px, batch {spec.batch}; chosen precision {chosen.describe()}")
    print(displayed(resnet_throughput(split, len(CLASS_NAMES["droplets"]), spec.batch, chosen)).round(3).to_string())
