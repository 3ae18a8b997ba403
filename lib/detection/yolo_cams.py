"""Grad-CAM (and the grad-cam package's other methods) for the trained YOLOv5 detectors (xu2024 §2.2).

The package explains a model whose output a *target* turns into one score per image. A detector
has no single score, so:

* :class:`ClassLogits` wraps an ultralytics ``DetectionModel`` (unfused, eval mode, gradients on)
  and returns the per-anchor class **logits** (B, nc, N): logits, because a saturated sigmoid
  passes no gradient;
* :class:`BoxTarget` scores "class c at this ground-truth box": the largest class-c logit over
  the anchors whose centres fall inside the box, or of the anchor nearest the box centre when the
  box is smaller than the stride and holds none;
* the target layers are the neck outputs that Detect reads (17, 20, 23 in the baseline; the
  attention modules after them, 18, 22, 26, in a variant), so that each map shows what the
  detector's head actually saw. All three levels are explained together: anchors of one level
  send no gradient to the others, so a single level can give an empty map.

Images enter as ultralytics letterboxes its square training inputs (aspect kept, centred, grey
padding to ``imgsz``), and maps are returned in the source image's pixel frame.

Only the gradients at the target layers are needed, so the weights stay frozen (as checkpoints
are saved) and the autograd graph starts at the input of the first target layer
(:func:`graph_from`): backward then runs through the neck's last layers and the head only, not
through the backbone or into the weights. The maps are the same as with a full graph (a test
checks it); the cost is below one full forward + backward (:func:`gradcam_time_ratio`).

Traps of ultralytics 8.4 handled here: ``predict`` runs a fused copy under ``inference_mode``
(the unfused model is used instead), and a first pass under ``inference_mode`` would leave cached
anchors that refuse backward (the shape-building pass runs under ``no_grad``).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..explain.cams import METHODS, check_request
from ..study.numerics import clock
from .models import load_detector


class ClassLogits(nn.Module):
    """Per-anchor class logits of a detector: (B, 3, S, S) -> (B, nc, N), N anchors over all levels."""

    def __init__(self, detection_model: nn.Module):
        super().__init__()
        self.model = detection_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, raw = self.model(x)  # eval-mode Detect: (decoded boxes and sigmoid scores, raw head outputs)
        return raw["scores"]


def prepare_model(artifact: str | Path, device: str = "cpu") -> nn.Module:
    """The trained detector's unfused ``DetectionModel``, float, eval mode, weights frozen."""
    model = load_detector(artifact).model.float().to(device).eval()
    model.requires_grad_(False)
    return model


def target_layers(model: nn.Module) -> list[nn.Module]:
    """The layers whose outputs Detect reads (its ``f`` indices)."""
    return [model.model[i] for i in model.model[-1].f]


def anchor_centres(model: nn.Module, imgsz: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres (N, 2) in input pixels and strides (N,) of the anchors, in the head's output order."""
    from ultralytics.utils.tal import make_anchors

    strides = model.stride.tolist()
    feats = [torch.zeros(1, 1, int(imgsz // s), int(imgsz // s)) for s in strides]
    points, stride = make_anchors(feats, model.stride, 0.5)
    return points * stride, stride[:, 0]


def box_anchors(centres: torch.Tensor, box) -> torch.Tensor:
    """Indices of the anchors whose centres lie inside ``box`` (x1, y1, x2, y2, input pixels), or
    of the single anchor nearest the box centre when none does (a box smaller than the stride)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    inside = (centres[:, 0] >= x1) & (centres[:, 0] <= x2) & (centres[:, 1] >= y1) & (centres[:, 1] <= y2)
    if inside.any():
        return inside.nonzero()[:, 0]
    centre = torch.tensor([(x1 + x2) / 2, (y1 + y2) / 2])
    return ((centres - centre) ** 2).sum(1).argmin().reshape(1)


@contextmanager
def graph_from(layer: nn.Module):
    """Within this block, ``layer``'s input is detached and made a leaf that requires grad, so that
    autograd records only what follows it (the weights may stay frozen)."""
    handle = layer.register_forward_pre_hook(lambda module, args: tuple(a.detach().requires_grad_(True) for a in args))
    try:
        yield
    finally:
        handle.remove()


def first_target_layer(model: nn.Module) -> nn.Module:
    return model.model[min(model.model[-1].f)]


@dataclass
class BoxTarget:
    """grad-cam target: the largest class-``class_id`` logit over the anchors ``anchors``."""

    class_id: int
    anchors: torch.Tensor

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:  # scores: (nc, N) of one image
        return scores[self.class_id, self.anchors.to(scores.device)].max()


@dataclass(frozen=True)
class Letterbox:
    """Where a (h, w) image sits in the square input: scale and padding of ultralytics' centred
    letterbox. ultralytics maps boxes only from the input back to the image, and maps back with
    torch's interpolation, so the two mappings the maps need are written out here with its rounding."""

    h: int
    w: int
    size: int

    @property
    def scale(self) -> float:
        return min(self.size / self.h, self.size / self.w)

    @property
    def inner(self) -> tuple[int, int]:
        """(height, width) of the resized image inside the square."""
        return int(round(self.h * self.scale)), int(round(self.w * self.scale))

    @property
    def pad(self) -> tuple[int, int]:
        """(top, left) padding in pixels."""
        ih, iw = self.inner
        return int(round((self.size - ih) / 2 - 0.1)), int(round((self.size - iw) / 2 - 0.1))

    def image(self, rgb: np.ndarray) -> np.ndarray:
        """The RGB uint8 image letterboxed into the square input by ultralytics' own ``LetterBox``
        (its grey padding is the same in every channel, so RGB or BGR order does not matter)."""
        from ultralytics.data.augment import LetterBox

        return LetterBox((self.size, self.size), auto=False, scaleup=True, center=True)(image=rgb)

    def box(self, box) -> np.ndarray:
        """A pixel box (x1, y1, x2, y2) of the source image in input pixels."""
        top, left = self.pad
        return np.asarray(box, float) * self.scale + [left, top, left, top]

    def unmap(self, heatmap: np.ndarray) -> np.ndarray:
        """A map over the square input cropped to the image and resized to its (h, w) pixels."""
        ih, iw = self.inner
        top, left = self.pad
        return cv2.resize(heatmap[top:top + ih, left:left + iw], (self.w, self.h), interpolation=cv2.INTER_LINEAR)


def pixel_batch(images: list[np.ndarray]) -> torch.Tensor:
    """RGB uint8 (S, S, 3) images -> float (B, 3, S, S) in [0, 1], as ultralytics feeds them."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


def detector_cams(model: nn.Module, images: list[np.ndarray], targets: list[tuple[int, tuple]], *, imgsz: int,
                  method: str = "gradcam", batch: int = 8) -> list[np.ndarray]:
    """One map in [0, 1] per (image, target), in the image's own pixel frame.

    ``images`` are RGB uint8 of any size; ``targets[i]`` is ``(class_id, box)`` with the box in
    that image's pixels. Maps are min-max scaled by the package (shape, not magnitude, compares).
    """
    check_request(method, images, targets)
    boxes = [Letterbox(*img.shape[:2], imgsz) for img in images]
    centres, _ = anchor_centres(model, imgsz)
    wrapped = ClassLogits(model)
    device = next(model.parameters()).device
    with torch.no_grad():  # builds Detect's cached anchors outside inference_mode
        wrapped(torch.zeros(1, 3, imgsz, imgsz, device=device))
    maps: list[np.ndarray] = []
    with graph_from(first_target_layer(model)), METHODS[method](wrapped, target_layers=target_layers(model)) as explainer:
        for i in range(0, len(images), batch):
            idx = range(i, min(i + batch, len(images)))
            x = pixel_batch([boxes[j].image(images[j]) for j in idx]).to(device)
            goals = [BoxTarget(int(targets[j][0]), box_anchors(centres, boxes[j].box(targets[j][1]))) for j in idx]
            square = explainer(input_tensor=x, targets=goals)
            maps += [boxes[j].unmap(m) for j, m in zip(idx, square)]
    return maps


def gradcam_time_ratio(model: nn.Module, images: list[np.ndarray], targets: list[tuple[int, tuple]], *, imgsz: int,
                       batch: int = 8, rounds: int = 5, method: str = "gradcam") -> dict[str, float]:
    """Time per image of :func:`detector_cams` against one forward + backward pass of the same
    detector on the same batches (backward from the targets' scores into every weight, as a
    training step or a full-graph Grad-CAM runs it). The two alternate round by round after a
    warm-up; medians over ``rounds``. The CAM time includes letterboxing and mapping back."""
    centres, _ = anchor_centres(model, imgsz)
    frames = [Letterbox(*img.shape[:2], imgsz) for img in images]
    chunks = [range(i, min(i + batch, len(images))) for i in range(0, len(images), batch)]
    tensors = [pixel_batch([frames[j].image(images[j]) for j in idx]) for idx in chunks]
    goals = [[BoxTarget(int(targets[j][0]), box_anchors(centres, frames[j].box(targets[j][1]))) for j in idx] for idx in chunks]
    wrapped = ClassLogits(model)

    def full_pass() -> None:
        model.requires_grad_(True)
        try:
            for x, batch_goals in zip(tensors, goals):
                scores = wrapped(x.to(next(model.parameters()).device))
                torch.stack([g(s) for g, s in zip(batch_goals, scores)]).sum().backward()
                model.zero_grad(set_to_none=True)
        finally:
            model.requires_grad_(False)

    def cams() -> None:
        detector_cams(model, images, targets, imgsz=imgsz, method=method, batch=batch)

    timings: dict[str, list[float]] = {"cam": [], "forward_backward": []}
    for r in range(rounds + 1):  # round 0 warms up
        for name, work in (("cam", cams), ("forward_backward", full_pass)):
            t0 = clock()
            work()
            if r:
                timings[name].append((clock() - t0) / len(images))
    cam, floor = float(np.median(timings["cam"])), float(np.median(timings["forward_backward"]))
    return {"cam_s_per_image": cam, "forward_backward_s_per_image": floor, "ratio": cam / floor,
            "images": len(images), "batch": batch, "rounds": rounds}
