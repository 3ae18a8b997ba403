"""How fast a classifier trains on this machine: the training loop's own ResNet50 step
(:func:`.training.training_step`: forward, backward, AdamW) on a batch already in memory, in fp32 and in bf16 autocast with channels_last, beside the
training loop's own data path (decoded split, batched augmentation, :class:`.resnet.Batches`).

A benchmark (:func:`lib.study.benchmark.interleaved_seconds`): the ratios are what to read, the
absolute rates vary between runs.
Run it from notebook 05 or as ``python -m lib.classification.throughput [profile]``.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch

from ..study import benchmark, precision
from .resnet import Batches, SplitTensors, build_resnet50
from .training import training_step


def resnet_throughput(split: SplitTensors, classes: int, batch: int, chosen: precision.Precision, *, steps: int = 4,
                      rounds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Images per second of a ResNet50 training step on ``split``'s images: in memory in fp32, in
    memory in bf16 + channels_last, and through the training loop's data path at ``chosen``
    precision. Rows carry the rate, its ratio to the fp32 in-memory step and, for the data path,
    its ratio to the in-memory step at the same precision (the cost of reading the data)."""
    policies = {"fp32": precision.Precision("fp32", "benchmark"), "bf16": precision.Precision("bf16", "benchmark")}
    fixed_x, fixed_y = next(iter(Batches(split, batch)))
    loop = Batches(split, batch, train=True, seed=seed, memory_format=chosen.memory_format())
    sources = {f"in memory, {name}": (policy, itertools.repeat((fixed_x.contiguous(memory_format=policy.memory_format()), fixed_y)))
               for name, policy in policies.items()}
    sources[f"data path, {chosen.name}"] = (policies[chosen.name], itertools.chain.from_iterable(itertools.repeat(loop)))

    def timed_step(policy, data):
        torch.manual_seed(seed)
        model = build_resnet50(classes).to(memory_format=policy.memory_format()).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        return lambda: training_step(model, opt, policy, *next(data))

    seconds = benchmark.interleaved_seconds({name: timed_step(*source) for name, source in sources.items()}, rounds, steps)
    rates = {name: batch / s for name, s in seconds.items()}
    table = pd.DataFrame({"img_per_s": rates}).rename_axis("path")
    table["ratio_to_fp32_in_memory"] = table.img_per_s / rates["in memory, fp32"]
    table["ratio_to_in_memory"] = np.nan
    table.loc[f"data path, {chosen.name}", "ratio_to_in_memory"] = rates[f"data path, {chosen.name}"] / rates[f"in memory, {chosen.name}"]
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
