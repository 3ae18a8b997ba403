"""Class activation maps of image classifiers, computed with the grad-cam package.

* :func:`cam`: Grad-CAM (or another method of the package) at any named layer, a batch at a time;
* :func:`guided_backprop` and :func:`guided_gradcam`: guided backpropagation and Guided Grad-CAM
  (xu2024 Eq. 3), one image at a time, because the package's ``GuidedBackpropReLUModel``
  explains only image 0 of a batch;
* :func:`resize_maps`: maps resized to the source images' pixel frame.

Two traps of grad-cam 1.5.7 are handled here: ``GuidedBackpropReLUModel`` accumulates
``input.grad`` when it is given the same tensor twice (every call gets a fresh copy), and leaves
its guided ReLUs in the model when a call fails (they are swapped back in ``finally``).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from pytorch_grad_cam import (EigenCAM, GradCAM, GradCAMPlusPlus, GuidedBackpropReLUModel, HiResCAM, LayerCAM,
                              ScoreCAM, XGradCAM)
from pytorch_grad_cam.guided_backprop import GuidedBackpropReLUasModule
from pytorch_grad_cam.utils.find_layers import replace_all_layer_type_recursive
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "xgradcam": XGradCAM, "layercam": LayerCAM,
           "eigencam": EigenCAM, "hirescam": HiResCAM, "scorecam": ScoreCAM}
RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")


def layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (e.g. ``"layer3"``); an unknown name lists the valid stages."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        stages = [n for n, _ in model.named_children()]
        raise ValueError(f"model has no layer {name!r}; its top-level layers are: {', '.join(stages)}") from None


def check_request(method: str, images, targets) -> None:
    """A known method and one target per image, checked before any work."""
    if method not in METHODS:
        raise ValueError(f"unknown CAM method {method!r}; choose one of: {', '.join(METHODS)}")
    if len(images) != len(targets):
        raise ValueError(f"{len(images)} images but {len(targets)} targets")


def cam(model: nn.Module, images: torch.Tensor, targets, layer_name: str = "layer4", method: str = "gradcam",
        batch: int = 16) -> np.ndarray:
    """Maps (N, H, W) in [0, 1] at the input size for class ``targets[i]`` of image ``i``.

    Each map is min-max scaled by the package, so maps compare in shape, not in magnitude.
    """
    check_request(method, images, targets)
    targets = [int(t) for t in targets]
    out = []
    with METHODS[method](model, target_layers=[layer(model, layer_name)]) as explainer:
        for i in range(0, len(images), batch):
            chunk = images[i:i + batch]
            out.append(explainer(input_tensor=chunk, targets=[ClassifierOutputTarget(t) for t in targets[i:i + batch]]))
    return np.concatenate(out).astype(np.float32)


def guided_backprop(model: nn.Module, images: torch.Tensor, targets) -> np.ndarray:
    """Guided-backpropagation gradients (N, H, W, 3) of class ``targets[i]`` w.r.t. image ``i``."""
    explainer = GuidedBackpropReLUModel(model)
    out = []
    try:
        for x, t in zip(images, targets):
            out.append(explainer(x[None].detach().clone(), target_category=int(t)))
    finally:
        replace_all_layer_type_recursive(model, GuidedBackpropReLUasModule, nn.ReLU())
        model.zero_grad(set_to_none=True)
    return np.stack(out).astype(np.float32)


def guided_gradcam(cams: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Guided Grad-CAM magnitude (N, H, W): Grad-CAM x the largest absolute guided gradient over
    the colour channels (xu2024 Eq. 3 with the channels reduced as in Simonyan et al.'s saliency)."""
    return (cams * np.abs(gradients).max(axis=-1)).astype(np.float32)


def resize_maps(maps: np.ndarray, size: int) -> np.ndarray:
    """Maps (N, h, w) resized bilinearly to (N, size, size), the source images' pixel frame."""
    if maps.shape[1:] == (size, size):
        return maps
    return np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_LINEAR) for m in maps])
