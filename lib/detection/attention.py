"""The five attention modules that xu2024 §2.1 inserts into the YOLOv5 neck.

Each is a small ``nn.Module`` taking and returning a (B, C, H, W) tensor of the same shape, built
from its channel count ``c`` (the first argument, as ultralytics' ``parse_model`` passes it):

* :class:`SE` (Hu et al. 2018): squeeze (global average) and excite (two 1x1 convs, reduction 16).
* :class:`ECA` (Wang et al. 2020): a 1-D conv across channels of the pooled descriptor, kernel size
  from the channel count: k = |(log2 C + 1) / 2| rounded up to odd (k = 5 for C = 128..512).
* :class:`CBAM` (Woo et al. 2018), the original: a shared bias-free MLP (reduction 16) on the
  average- and max-pooled descriptors, then a 7x7 conv on the channel-wise [max, mean] maps.
  ultralytics' own ``CBAM`` is a different module (one 1x1 conv on average pooling).
* :class:`SimAM` (Yang et al. 2021): parameter-free energy-based weights, lambda = 1e-4.
* :class:`ShuffleAttention` (Zhang and Yang 2021): channel and spatial gates on the two halves of
  each of G groups, then a channel shuffle; G is the largest value up to the requested 8 for which
  2G divides C.

Written here because no installed package provides these five with their reference definitions.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class SE(nn.Module):
    """Squeeze-and-excitation. Parameters: 2 * C * h + h + C with h = max(1, C // reduction)."""

    def __init__(self, c: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, c // reduction)
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, hidden, 1), nn.ReLU(inplace=True),
                                nn.Conv2d(hidden, c, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


def eca_kernel(c: int, gamma: int = 2, b: int = 1) -> int:
    """ECA's adaptive kernel size: |(log2 C + b) / gamma|, made odd."""
    t = int(abs((math.log2(c) + b) / gamma))
    return t if t % 2 else t + 1


class ECA(nn.Module):
    """Efficient channel attention. Parameters: k (one bias-free 1-D kernel)."""

    def __init__(self, c: int, k: int | None = None):
        super().__init__()
        k = k or eca_kernel(c)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(x).squeeze(-1).transpose(1, 2)  # (B, 1, C): channels as a sequence
        y = self.conv(y).transpose(1, 2).unsqueeze(-1)  # back to (B, C, 1, 1)
        return x * torch.sigmoid(y)


class CBAM(nn.Module):
    """Convolutional block attention module (channel gate, then spatial gate).
    Parameters: 2 * C * h + 2 * k * k with h = max(1, C // reduction), all bias-free."""

    def __init__(self, c: int, reduction: int = 16, kernel: int = 7):
        super().__init__()
        hidden = max(1, c // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(c, hidden, 1, bias=False), nn.ReLU(inplace=True), nn.Conv2d(hidden, c, 1, bias=False))
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.sigmoid(self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True)))
        maps = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)  # (B, 2, H, W)
        return x * torch.sigmoid(self.spatial(maps))


class SimAM(nn.Module):
    """Simple parameter-free attention: each activation weighted by the sigmoid of its inverse
    energy, (x - mean)^2 / (4 (var + lambda)) + 1/2, over its channel's spatial map."""

    def __init__(self, c: int | None = None, lam: float = 1e-4):
        super().__init__()
        self.lam = lam

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[2] * x.shape[3] - 1
        d = (x - x.mean((2, 3), keepdim=True)).pow(2)
        energy_inv = d / (4 * (d.sum((2, 3), keepdim=True) / max(n, 1) + self.lam)) + 0.5
        return x * torch.sigmoid(energy_inv)


def shuffle_groups(c: int, requested: int = 8) -> int:
    """The largest G <= ``requested`` with 2G dividing C (ShuffleAttention splits each group in two)."""
    for g in range(min(requested, c // 2), 0, -1):
        if c % (2 * g) == 0:
            return g
    raise ValueError(f"ShuffleAttention needs an even channel count, got {c}")


class ShuffleAttention(nn.Module):
    """Shuffle attention. Parameters: 3 * C / G (per half-group: channel scale and shift, spatial
    scale and shift, GroupNorm weight and bias)."""

    def __init__(self, c: int, groups: int = 8):
        super().__init__()
        self.groups = shuffle_groups(c, groups)
        half = c // (2 * self.groups)
        self.cweight = nn.Parameter(torch.zeros(1, half, 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, half, 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, half, 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, half, 1, 1))
        self.norm = nn.GroupNorm(half, half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b * self.groups, c // self.groups, h, w)
        xc, xs = x.chunk(2, dim=1)
        xc = xc * torch.sigmoid(self.cweight * xc.mean((2, 3), keepdim=True) + self.cbias)
        xs = xs * torch.sigmoid(self.sweight * self.norm(xs) + self.sbias)
        out = torch.cat([xc, xs], dim=1).reshape(b, c, h, w)
        return out.reshape(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)  # channel shuffle


ATTENTION = {"SE": SE, "ECA": ECA, "CBAM": CBAM, "SimAM": SimAM, "ShuffleAttention": ShuffleAttention}


def attention_module(name: str, c: int) -> nn.Module:
    """The attention module ``name`` for ``c`` channels; an unknown name lists the valid ones."""
    if name not in ATTENTION:
        raise ValueError(f"unknown attention module {name!r}; choose one of: {', '.join(ATTENTION)}")
    return ATTENTION[name](c)
