import numpy as np
import pytest
import torch
from pytorch_grad_cam.guided_backprop import GuidedBackpropReLUasModule

from lib.classification import maps as classifier_maps, resnet, splits
from lib.explain import cams
from lib.study import paths


@pytest.fixture(scope="module")
def model_and_batch(toy, trained):
    artifact, config = trained
    model, _ = resnet.load_classifier(artifact)
    # at 64 px (the model is fully convolutional), so that layer4 is a 2x2 grid, not a single cell
    x, y = next(iter(resnet.Batches(resnet.load_split(toy, config.classes, 64, "test"), 4)))
    return model, x, y.numpy()


def hook_gradcam(model, x, targets, layer_name):
    """Independent Grad-CAM: channel weights = spatially averaged gradients of the target logit."""
    store = {}
    layer = model.get_submodule(layer_name)
    h = layer.register_forward_hook(lambda m, i, o: store.update(act=o))
    try:
        logits = model(x)
        act = store["act"]
        grads = torch.autograd.grad(logits[torch.arange(len(x)), torch.as_tensor(targets)].sum(), act)[0]
    finally:
        h.remove()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    m = torch.relu((weights * act).sum(1)).detach().numpy()
    out = []
    for one in m:  # the package's scaling: resize to the input, then min-max
        import cv2

        one = cv2.resize(one, x.shape[-2:][::-1])
        one = one - one.min()
        out.append(one / (one.max() + 1e-7))
    return np.stack(out)


@pytest.mark.parametrize("layer_name", ["layer3", "layer4"])
def test_gradcam_matches_an_independent_hook_computation(model_and_batch, layer_name):
    model, x, y = model_and_batch
    ours = cams.cam(model, x, y, layer_name, batch=3)  # batches of 3 over 4 images
    assert ours.shape == (4, *x.shape[-2:]) and ours.dtype == np.float32
    assert np.isfinite(ours).all() and 0 <= ours.min() and ours.max() <= 1
    np.testing.assert_allclose(ours, hook_gradcam(model, x, y, layer_name), atol=2e-3)


def test_unknown_method_layer_and_target_count_fail_clearly(model_and_batch):
    model, x, y = model_and_batch
    with pytest.raises(ValueError, match="gradcam, gradcam\\+\\+"):
        cams.cam(model, x, y, method="magic")
    with pytest.raises(ValueError, match="layer1, layer2"):
        cams.cam(model, x, y, layer_name="layer9")
    with pytest.raises(ValueError, match="4 images but 2 targets"):
        cams.cam(model, x, y[:2])


def test_guided_backprop_does_not_accumulate_and_restores_relus(model_and_batch):
    model, x, y = model_and_batch
    first = cams.guided_backprop(model, x, y)
    second = cams.guided_backprop(model, x, y)  # the same tensors again
    assert first.shape == (4, *x.shape[-2:], 3)
    np.testing.assert_array_equal(first, second)
    assert np.abs(first).sum() > 0
    assert not any(isinstance(m, GuidedBackpropReLUasModule) for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    # each image is explained on its own: image 1 alone gives what it gave in the batch
    np.testing.assert_allclose(cams.guided_backprop(model, x[1:2], y[1:2])[0], first[1], atol=1e-6)


def test_guided_gradcam_and_resize():
    cam = np.full((1, 4, 4), 0.5, np.float32)
    grad = np.zeros((1, 4, 4, 3), np.float32)
    grad[0, 1, 2] = (-2.0, 1.0, 0.5)
    gg = cams.guided_gradcam(cam, grad)
    assert gg[0, 1, 2] == pytest.approx(1.0) and gg.sum() == pytest.approx(1.0)
    assert cams.resize_maps(gg, 9).shape == (1, 9, 9)


def test_split_maps_are_cached_with_labels(toy, trained, tmp_path, monkeypatch):

    artifact, _ = trained
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path)
    path = classifier_maps.split_maps(artifact, toy, layers=("layer2", "layer4"), size=48, batch=5)
    maps = np.load(path)
    n = len(splits.ImageSplit(toy, "test", maps["classes"]))
    assert maps["cam_layer2"].shape == maps["cam_layer4"].shape == maps["guided"].shape == (n, 48, 48)
    assert (maps["targets"] == maps["labels"]).all() and len(maps["files"]) == n
    assert classifier_maps.split_maps(artifact, toy, layers=("layer2", "layer4"), size=48, batch=5) == path
    with pytest.raises(ValueError, match="'true' or 'predicted'"):
        classifier_maps.split_maps(artifact, toy, target="best")
