"""ResNet50 with a token-attention head regularised by DropKey or Dropout (liu2023 §2.3).

liu2023 feeds ResNet50's layer4 features as Q, K and V to an attention function and masks the
attention logits with DropKey before the softmax. Pooled to one vector, layer4 would give a
single token, for which softmax is always 1 and DropKey does nothing; so every position of the
layer4 map is a token:

    layer4 map (B, 2048, h, w) -> tokens (B, h*w, 2048) -> Q, K, V (B, h*w, dim)
    -> softmax(Q K^T / sqrt(dim) [+ DropKey mask]) [-> Dropout] @ V -> mean over tokens (B, dim)
    -> fully connected -> logits (B, classes)

No position encoding: the head pools over tokens, so the class depends on what is seen, not
where. DropKey (Li et al. 2022) adds a Bernoulli(``rate``) mask of -1e12 to the logits before
the softmax, with no rescaling; logits are kept in float32, so that a fully masked row gives a
uniform row, never NaN. The Dropout variant drops attention weights after the softmax. Both act
in training only, unless ``keep_at_inference`` is set (the "random Grad-CAM" reading). The three
heads ("none", "dropout", "dropkey") differ in nothing but this regulariser. :class:`HeadConfig`
is what determines one, and :func:`build_head_model` builds it on a classifier's configuration.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn

from ..study.profiles import Profile
from .resnet import ClassifierConfig

REGULARISERS = ("none", "dropout", "dropkey")
MASK_VALUE = -1e12  # DropKey's pseudo-code value; finite, so a fully masked row stays finite


def check_regulariser(name: str, rate: float) -> None:
    if name not in REGULARISERS:
        raise ValueError(f"unknown regulariser {name!r}; choose one of: {', '.join(REGULARISERS)}")
    if not 0 <= rate < 1:
        raise ValueError(f"the mask / dropout rate must be in [0, 1), got {rate}")


class TokenAttention(nn.Module):
    """Single-head self-attention over tokens: (B, N, in_dim) -> (B, N, dim)."""

    def __init__(self, in_dim: int, dim: int, regulariser: str = "none", rate: float = 0.1, keep_at_inference: bool = False):
        super().__init__()
        check_regulariser(regulariser, rate)
        self.q, self.k, self.v = (nn.Linear(in_dim, dim) for _ in range(3))
        self.regulariser, self.rate, self.keep_at_inference = regulariser, rate, keep_at_inference

    @property
    def active(self) -> bool:
        """Whether the regulariser acts in this call (training, or kept on at inference)."""
        return self.regulariser != "none" and self.rate > 0 and (self.training or self.keep_at_inference)

    def attention(self, tokens: torch.Tensor) -> torch.Tensor:
        """The attention weights (B, N, N), each row summing to 1 (before Dropout)."""
        q, k = self.q(tokens).float(), self.k(tokens).float()
        logits = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5
        if self.active and self.regulariser == "dropkey":
            logits = logits + torch.bernoulli(torch.full_like(logits, self.rate)) * MASK_VALUE
        return logits.softmax(-1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weights = self.attention(tokens)
        if self.active and self.regulariser == "dropout":
            weights = nn.functional.dropout(weights, self.rate, training=True)
        return weights.to(tokens.dtype) @ self.v(tokens)


class AttentionHead(nn.Module):
    """Feature map (B, C, h, w) -> class logits (B, classes) through :class:`TokenAttention`."""

    def __init__(self, in_channels: int, num_classes: int, dim: int = 256, regulariser: str = "none", rate: float = 0.1,
                 keep_at_inference: bool = False):
        super().__init__()
        self.attend = TokenAttention(in_channels, dim, regulariser, rate, keep_at_inference)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tokens = features.flatten(2).transpose(1, 2)  # (B, h*w, C), row-major over the map
        return self.fc(self.attend(tokens).mean(1))


class ResNet50Attention(nn.Module):
    """torchvision's ResNet50 up to layer4 (named as in torchvision, so CAMs find ``layer4``)
    with an :class:`AttentionHead` instead of average pooling and ``fc``: (B, 3, S, S) -> (B, classes).

    ``freeze_backbone`` keeps the backbone's weights and BatchNorm statistics fixed (eval mode
    even while the head trains), for heads trained on a backbone taken from another model.
    """

    STAGES = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")

    def __init__(self, num_classes: int, regulariser: str = "none", rate: float = 0.1, dim: int = 256,
                 keep_at_inference: bool = False, freeze_backbone: bool = False):
        super().__init__()
        base = torchvision.models.resnet50(weights=None, zero_init_residual=True)
        for name in self.STAGES:
            setattr(self, name, getattr(base, name))
        self.head = AttentionHead(base.fc.in_features, num_classes, dim, regulariser, rate, keep_at_inference)
        self.freeze_backbone = freeze_backbone
        if freeze_backbone:
            for name in self.STAGES:
                getattr(self, name).requires_grad_(False)

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.STAGES:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def train(self, mode: bool = True) -> "ResNet50Attention":
        super().train(mode)
        if self.freeze_backbone:
            for name in self.STAGES:
                getattr(self, name).eval()
        return self

    def load_backbone(self, resnet: nn.Module) -> None:
        """Copy the backbone weights (conv1 .. layer4) of a torchvision ResNet50."""
        for name in self.STAGES:
            getattr(self, name).load_state_dict(getattr(resnet, name).state_dict())


@dataclass(frozen=True)
class HeadConfig:
    """Everything that determines an attention-head classifier besides the base classifier."""

    regulariser: str = "dropkey"  # none | dropout | dropkey
    rate: float = 0.1  # DropKey mask ratio, or Dropout probability
    epochs: int = 80
    dim: int = 256  # width of Q, K, V
    freeze_backbone: bool = True

    def __post_init__(self):
        check_regulariser(self.regulariser, self.rate)

    @classmethod
    def from_profile(cls, profile: Profile, regulariser: str, rate: float = 0.1) -> "HeadConfig":
        return cls(regulariser, rate, profile.classifier.head_epochs)

    @property
    def label(self) -> str:
        """The model's name in tables, as liu2023 names them: ``ResNet50+DropKey``, ``ResNet50+Dropout``
        (the head without a regulariser: ``ResNet50+attention``)."""
        return "ResNet50+" + {"none": "attention", "dropout": "Dropout", "dropkey": "DropKey"}[self.regulariser]


def build_head_model(head: HeadConfig, base: ClassifierConfig) -> ResNet50Attention:
    return ResNet50Attention(len(base.classes), head.regulariser, head.rate, head.dim,
                             freeze_backbone=head.freeze_backbone)


def load_head_model(artifact: str | Path, device: str = "cpu", keep_at_inference: bool = False):
    """The best checkpoint of an attention-head model in eval mode, its head and base configurations.

    ``keep_at_inference`` leaves the regulariser on at inference (each call draws new masks)."""
    artifact = Path(artifact)
    state = torch.load(artifact / "model.pt", map_location=device, weights_only=False)
    raw = state["config"]
    base = ClassifierConfig(**{**raw, "classes": tuple(raw["classes"])})
    head = HeadConfig(**json.loads((artifact / "head.json").read_text()))
    model = build_head_model(head, base)
    model.load_state_dict(state["state_dict"])
    model.head.attend.keep_at_inference = keep_at_inference
    model.requires_grad_(True)  # the freeze served training; CAMs need gradients at layer4
    return model.to(device).eval(), head, base
