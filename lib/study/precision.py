"""The precision models train at: bf16 autocast with channels_last where the hardware runs bf16
natively, fp32 elsewhere.

On a CPU with AVX512-BF16 or AMX, a ResNet50 training step under bf16 autocast with channels_last
was measured at 1.7-2.2 times its fp32 rate (AMD EPYC, 64-128 px); on a CPU without them,
autocast emulates bf16 and is far slower than fp32 (0.12 times on an AVX2-only AMD EPYC, README;
PyTorch's autocast documentation warns of it). So ``auto`` looks at the hardware, and a
notebook parameter overrides it. Only training and its validation passes use the policy: CAMs,
statistics and everything scored run in fp32. Under the pinned setup of the tests
(:mod:`.numerics`) ``auto`` is fp32, so the golden copies do not depend on the processor.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from . import numerics

CHOICES = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class Precision:
    """A resolved choice: ``name`` is ``"fp32"`` or ``"bf16"``; ``reason`` says why, for the header."""

    name: str
    reason: str

    @property
    def bf16(self) -> bool:
        return self.name == "bf16"

    def autocast(self, device: str):
        """The context a training forward pass runs in (a no-op in fp32)."""
        if not self.bf16:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)

    def memory_format(self):
        """channels_last with bf16 (oneDNN's fast layout for bf16 convolutions), contiguous otherwise."""
        import torch

        return torch.channels_last if self.bf16 else torch.contiguous_format

    def describe(self) -> str:
        return f"{'bf16 autocast + channels_last' if self.bf16 else 'fp32'} ({self.reason})"


def native_bf16(device: str) -> tuple[bool, str]:
    """Whether ``device`` computes in bf16 natively, and what was found."""
    import torch

    if device.startswith("cuda"):
        ok = torch.cuda.is_bf16_supported()
        return ok, f"{torch.cuda.get_device_name(device)} {'supports' if ok else 'lacks'} bf16"
    found = [name for name, check in (("AVX512-BF16", torch.cpu._is_avx512_bf16_supported),
                                      ("AMX", torch.cpu._is_amx_tile_supported)) if check()]
    if found:
        return True, f"this CPU has {' and '.join(found)}"
    return False, "this CPU has neither AVX512-BF16 nor AMX, where bf16 would be emulated and slower"


def resolve(choice: str, device: str) -> Precision:
    """``choice`` (one of :data:`CHOICES`) on ``device``, as a :class:`Precision`."""
    if choice not in CHOICES:
        raise ValueError(f"precision must be one of {CHOICES}, got {choice!r}")
    if choice != "auto":
        return Precision(choice, "chosen by the precision parameter")
    if numerics.pinned():
        return Precision("fp32", "auto under the pinned setup of the tests and golden copies")
    native, why = native_bf16(device)
    return Precision("bf16" if native else "fp32", f"auto: {why}")
