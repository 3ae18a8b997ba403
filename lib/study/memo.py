"""Expensive calls cached under the values they are given (what notebooks 04 and 07 recompute).

``cached_call(fn, *args, **kwargs)`` returns ``fn(*args, **kwargs)``, computed once and then read
back from an artifact of :mod:`.cache`. Unlike the builders, whose configuration names their
inputs, these steps receive models, images and tables, so the key hashes the values themselves
(:func:`fingerprint`): arrays and tensors by their bytes, a model by its class, settings and
weights, a cached artifact's folder by its key, a table by its contents. The code in the key is
what ``fn``'s module imports from ``lib``, followed through every import (:func:`lib_modules`),
with the modules of the models it is given; the machine's numerics are in the key too, so a
result computed under other kernels or another thread count is not reused, nor is a timing.

Results are pickled: they are this study's own (frames of scores, lists of maps), read back by
the same code that wrote them.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import numerics
from .cache import MANIFEST, atomic_path, cached_artifact, dataset_identity, lib_modules, read_manifest

PACKAGES = ("numpy", "pandas", "scipy", "torch", "torchvision", "ultralytics", "grad-cam", "opencv-python")
VERSION = 1  # bump when something outside the hashed code changes what a cached call returns
_PLAIN = (type(None), bool, int, float, str)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p + b"\0")
    return h.hexdigest()


def _module_settings(module: nn.Module) -> list:
    """Each submodule's class and plain attributes (a DropKey rate, a keep-at-inference switch)."""
    return [(name, type(m).__module__, type(m).__qualname__, m.training,
             sorted((k, v) for k, v in vars(m).items() if not k.startswith("_") and isinstance(v, _PLAIN + (tuple,))))
            for name, m in module.named_modules()]


def fingerprint(value) -> object:
    """A JSON-able stand-in for ``value`` that changes whenever the value does.

    Raises ``TypeError`` for a type it cannot see into, rather than key a result by its ``repr``."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [fingerprint(v) for v in value]
    if isinstance(value, Mapping):
        return {"mapping": [[fingerprint(k), fingerprint(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        return {"array": _digest(str(a.dtype).encode(), str(a.shape).encode(), a.tobytes())}
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        return {"tensor": _digest(str(t.dtype).encode(), str(tuple(t.shape)).encode(), t.flatten().view(torch.uint8).numpy().tobytes())}
    if isinstance(value, nn.Module):
        weights = {k: fingerprint(v) for k, v in value.state_dict().items()}
        return {"module": _digest(repr(_module_settings(value)).encode(), repr(sorted(weights.items())).encode())}
    if isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        rows = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
        return {"frame": _digest(repr(list(frame.columns)).encode(), repr(list(frame.dtypes.astype(str))).encode(), rows)}
    if isinstance(value, Path):
        if (value / MANIFEST).is_file():  # a cached artifact: its key says what it holds
            return {"artifact": read_manifest(value)["key"]}
        if value.is_dir():
            return {"folder": dataset_identity(value)}
        return {"file": _digest(value.read_bytes())}
    raise TypeError(f"cannot fingerprint a {type(value).__name__}; pass arrays, tensors, models, frames, paths or plain values")


def _model_modules(value) -> set[str]:
    """The modules defining the classes of every model inside ``value``."""
    if isinstance(value, nn.Module):
        return {type(m).__module__ for m in value.modules()}
    if isinstance(value, Mapping):
        return set().union(*map(_model_modules, value.values()), set())
    if isinstance(value, (list, tuple)):
        return set().union(*map(_model_modules, value), set())
    return set()


def machine() -> dict[str, object]:
    """What a result computed here depends on besides its inputs and code: the CPU and its kernels."""
    return {"cpu": numerics.cpu_model(), "kernels": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def cached_call(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, computed once per distinct inputs, code and machine (see the module)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    config = {"call": name, "version": VERSION, "args": fingerprint(list(args)), "kwargs": fingerprint(kwargs),
              "machine": machine()}
    code = lib_modules(fn.__module__, *_model_modules([args, kwargs]))

    def build(folder: Path) -> None:
        with atomic_path(folder / "result.pkl") as tmp:
            tmp.write_bytes(pickle.dumps(fn(*args, **kwargs), protocol=pickle.HIGHEST_PROTOCOL))

    artifact = cached_artifact(f"call-{fn.__qualname__}", config, build, code=code, packages=PACKAGES)
    return pickle.loads((artifact / "result.pkl").read_bytes())
