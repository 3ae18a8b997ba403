"""Perturbations: noise of the requested variance, shapes and dtypes kept, masks moved along."""
import numpy as np
import pytest

from lib.classification import perturbations
from lib.classification.resnet import STD


def _image(h=40, w=60, seed=0):
    return np.random.default_rng(seed).uniform(0.3, 0.7, (h, w, 3)).astype(np.float32)


@pytest.mark.parametrize("space", perturbations.NOISE_SPACES)
@pytest.mark.parametrize("variance", [0.1, 0.5, 2.0])
def test_noise_has_the_requested_variance_before_clipping(space, variance):
    n = perturbations.noise((200, 200, 3), variance, np.random.default_rng(0), space)
    in_space = n / np.asarray(STD) if space == "normalised" else n
    assert in_space.var() == pytest.approx(variance, rel=0.03) and abs(in_space.mean()) < 0.02


def test_noisy_image_is_clipped_and_keeps_shape_and_dtype():
    img = _image()
    out = perturbations.gaussian_noise(img, 2.0, np.random.default_rng(0), "pixels")
    assert out.shape == img.shape and out.dtype == img.dtype and out.min() >= 0 and out.max() <= 1
    assert np.array_equal(perturbations.gaussian_noise(img, 0.0, np.random.default_rng(0)), img)
    a = perturbations.gaussian_noise(img, 0.5, np.random.default_rng(7))
    assert np.array_equal(a, perturbations.gaussian_noise(img, 0.5, np.random.default_rng(7)))  # seeded


def test_low_contrast_shrinks_the_spread_about_the_mean():
    img = _image()
    out = perturbations.low_contrast(img, 0.25)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert out.std() == pytest.approx(0.25 * img.std(), rel=1e-4) and out.mean() == pytest.approx(img.mean(), rel=1e-4)


def test_geometric_perturbations_move_the_mask_with_the_image():
    img = np.zeros((41, 61, 3), np.float32)
    mask = np.zeros((41, 61), bool)
    mask[15:26, 38:54] = True
    img[mask] = 1.0
    for out, moved in (perturbations.rotate(img, 90, mask), perturbations.stretch(img, 1.5, 0.8, mask), perturbations.small_object(img, 0.5, mask)):
        assert out.shape == img.shape and out.dtype == img.dtype and moved.shape == mask.shape and moved.dtype == bool
        lit = out.mean(-1) > 0.5  # the image is interpolated linearly, the mask by nearest neighbour
        assert (lit & moved).sum() / (lit | moved).sum() > 0.7
    _, rotated = perturbations.rotate(img, 90, mask)
    ys, xs = np.nonzero(rotated)
    assert ys.mean() < 15 and abs(xs.mean() - 30) < 3  # right of centre -> above centre (counter-clockwise)
    assert perturbations.small_object(img, 0.5, mask)[1].sum() == pytest.approx(mask.sum() / 4, rel=0.3)
    assert perturbations.rotate(img, 0)[1] is None


def test_small_object_fills_the_border_with_the_surface_colour():
    img = np.full((40, 40, 3), 0.4, np.float32)
    img[15:25, 15:25] = 0.9
    out, _ = perturbations.small_object(img, 0.5)
    assert np.allclose(out[:5], 0.4) and out[20, 20].max() == pytest.approx(0.9)


def test_bad_arguments_fail_clearly():
    img = _image()
    with pytest.raises(ValueError, match="choose one of"):
        perturbations.gaussian_noise(img, 0.5, np.random.default_rng(0), "logits")
    with pytest.raises(ValueError, match=">= 0"):
        perturbations.gaussian_noise(img, -1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="RGB float image"):
        perturbations.low_contrast((img * 255).astype(np.uint8), 0.5)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        perturbations.low_contrast(img, 0)
    with pytest.raises(ValueError, match="positive"):
        perturbations.stretch(img, 0)
