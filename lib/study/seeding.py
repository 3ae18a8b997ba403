"""One seed fixes data, training and CAMs."""
from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch, and ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from a root seed and names, e.g. ``derive_seed(0, "droplets", 17)``.

    Each generated image gets its own seed, so the output does not depend on how many worker
    processes generate it or in which order.
    """
    import hashlib

    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
