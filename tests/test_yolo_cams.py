"""Grad-CAM for the detectors: anchors, targets, letterbox geometry, and the maps themselves."""
import cv2
import numpy as np
import pytest
import torch

from lib.data.read import detection_objects, load_rgb
from lib.detection import yolo_cams


def test_box_anchors_selects_exactly_the_centres_inside_and_falls_back_to_the_nearest():
    centres = torch.tensor([[4.0, 4.0], [12.0, 4.0], [4.0, 12.0], [12.0, 12.0], [20.0, 20.0]])
    assert yolo_cams.box_anchors(centres, (0, 0, 13, 13)).tolist() == [0, 1, 2, 3]
    assert yolo_cams.box_anchors(centres, (10, 2, 14, 6)).tolist() == [1]
    assert yolo_cams.box_anchors(centres, (17, 17, 18, 18)).tolist() == [4]  # tiny box between centres
    assert yolo_cams.box_anchors(centres, (5, 5, 6, 6)).tolist() == [0]


def test_box_target_takes_the_largest_logit_of_its_class_over_its_anchors():
    scores = torch.tensor([[0.0, 5.0, 1.0], [3.0, -1.0, 7.0]])
    assert yolo_cams.BoxTarget(1, torch.tensor([0, 1]))(scores).item() == 3.0
    assert yolo_cams.BoxTarget(0, torch.tensor([2]))(scores).item() == 1.0


@pytest.mark.parametrize("shape", [(96, 128), (128, 96), (64, 64), (214, 320)])
def test_letterbox_matches_ultralytics_and_maps_back(shape):
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (*shape, 3), dtype=np.uint8)
    box = yolo_cams.Letterbox(*shape, 64)
    ours = box.image(img)
    theirs = LetterBox((64, 64), auto=False, scaleup=True, center=True)(image=img[..., ::-1].copy())[..., ::-1]
    assert np.array_equal(ours, theirs)
    assert box.unmap(np.ones((64, 64), np.float32)).shape == shape
    x1, y1, x2, y2 = box.box((0, 0, shape[1], shape[0]))
    top, left = box.pad
    assert (x1, y1) == (left, top) and x2 == pytest.approx(left + box.inner[1], abs=1) and y2 == pytest.approx(top + box.inner[0], abs=1)


def test_anchor_centres_cover_the_input_at_each_stride(detector):
    artifact, config = detector
    model = yolo_cams.prepare_model(artifact)
    centres, strides = yolo_cams.anchor_centres(model, 64)
    assert len(centres) == sum((64 // s) ** 2 for s in (8, 16, 32))
    assert set(strides.tolist()) == {8.0, 16.0, 32.0}
    assert centres.min() == 4.0 and centres.max() == 60.0
    with torch.no_grad():
        assert yolo_cams.ClassLogits(model)(torch.zeros(1, 3, 64, 64)).shape == (1, 3, len(centres))


def _test_targets(micro, n=3):
    objects = detection_objects(micro)
    rows = objects[objects.split == "test"].head(n)
    images = [load_rgb(micro / "images" / "test" / f"{r.image}.png") for r in rows.itertuples()]
    return images, [(r.class_id, (r.x1, r.y1, r.x2, r.y2)) for r in rows.itertuples()]


def test_maps_are_finite_in_range_and_in_the_image_frame(detector, micro):
    """On this barely trained detector Grad-CAM may be all zero for a target (the gradient-weighted
    sum is negative everywhere, and Grad-CAM keeps only the positive part); LayerCAM, which
    weights each position by its own positive gradient, and EigenCAM are not."""
    artifact, config = detector
    model = yolo_cams.prepare_model(artifact)
    images, targets = _test_targets(micro)
    for method in ("gradcam", "gradcam++", "xgradcam", "layercam", "eigencam"):
        maps = yolo_cams.detector_cams(model, images, targets, imgsz=config.imgsz, method=method, batch=2)
        assert len(maps) == len(images)
        for m, img in zip(maps, images):
            assert m.shape == img.shape[:2] and np.isfinite(m).all()
            assert m.min() >= -1e-6 and m.max() <= 1 + 1e-6, method
        nonzero = [m.max() > 0 for m in maps]
        assert all(nonzero) if method in ("layercam", "eigencam") else any(nonzero), method


def test_bad_method_or_target_count_fails_clearly(detector, micro):
    artifact, config = detector
    model = yolo_cams.prepare_model(artifact)
    images, targets = _test_targets(micro, 2)
    with pytest.raises(ValueError, match="choose one of"):
        yolo_cams.detector_cams(model, images, targets, imgsz=64, method="gradcam2")
    with pytest.raises(ValueError, match="2 images but 1 targets"):
        yolo_cams.detector_cams(model, images, targets[:1], imgsz=64)


def test_gradcam_equals_an_independent_hook_computation(detector, micro):
    """Channel weights = spatially averaged gradients of the target; per layer ReLU(sum w A),
    min-max scaled and resized to the input, averaged over layers, min-max scaled again."""
    artifact, config = detector
    model = yolo_cams.prepare_model(artifact)
    images, targets = _test_targets(micro)
    compared = 0
    for image, target in zip(images, targets):
        ours, theirs = _both_gradcams(model, image, target)
        assert np.abs(ours - theirs).max() < 2e-3
        compared += ours.max() > 0
    assert compared  # not only all-zero maps


def _both_gradcams(model, image, target):
    img = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA)  # square: the letterbox is the identity
    sy, sx = 64 / image.shape[0], 64 / image.shape[1]
    c, (x1, y1, x2, y2) = target
    box = (x1 * sx, y1 * sy, x2 * sx, y2 * sy)
    ours = yolo_cams.detector_cams(model, [img], [(c, box)], imgsz=64)[0]

    acts, grads = [], []
    layers = yolo_cams.target_layers(model)

    def keep(module, inputs, output):  # returns None: the output is left as it is
        acts.append(output)
        output.register_hook(grads.append)

    hooks = [layer.register_forward_hook(keep) for layer in layers]
    model.requires_grad_(True)  # the whole graph, unlike detector_cams
    try:
        x = yolo_cams.pixel_batch([img])
        model.zero_grad()
        scores = yolo_cams.ClassLogits(model)(x)[0]
        centres, _ = yolo_cams.anchor_centres(model, 64)
        yolo_cams.BoxTarget(c, yolo_cams.box_anchors(centres, box))(scores).backward()
    finally:
        model.requires_grad_(False)
        for h in hooks:
            h.remove()
    grads = grads[::-1]  # backward visits the layers in reverse
    per_layer = []
    for a, g in zip(acts, grads):
        cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1))[0].detach().numpy()
        cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-7)
        per_layer.append(cv2.resize(cam, (64, 64)))
    mean = np.mean(per_layer, axis=0)
    theirs = (mean - mean.min()) / (mean.max() - mean.min() + 1e-7)
    return ours, theirs
