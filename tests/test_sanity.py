"""Sanity and faithfulness checks of classifier maps (lib.classification.sanity)."""
import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from lib.classification import dropkey, sanity


def _resnet():
    torch.manual_seed(0)
    return resnet18(num_classes=4).eval()


def _images(n=6, size=32, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3), dtype=np.float32)


def test_randomised_copy_resets_only_the_top_layers_and_leaves_the_model_alone():
    model = _resnet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    copy = sanity.randomised(model, seed=1)
    after = copy.state_dict()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    changed = {k.split(".")[0] for k in before if before[k].is_floating_point() and not torch.equal(before[k], after[k])}
    assert changed == {"layer4", "fc"}
    again = sanity.randomised(model, seed=1).state_dict()
    assert all(torch.equal(after[k], again[k]) for k in after)
    with pytest.raises(ValueError, match="no layer"):
        sanity.randomised(model, ["head"])


def test_random_maps_are_smooth_deterministic_and_scaled():
    a, b = sanity.random_maps(3, 40, seed=2), sanity.random_maps(3, 40, seed=2)
    assert a.shape == (3, 40, 40) and np.array_equal(a, b)
    assert np.allclose(a.min(axis=(1, 2)), 0) and np.allclose(a.max(axis=(1, 2)), 1)
    assert np.abs(np.diff(a, axis=2)).max() < 0.2  # blobs, not pixel noise
    assert not np.array_equal(a, sanity.random_maps(3, 40, seed=3))


class _LeftHalf(nn.Module):
    """Class 0 the brighter the left half of the image; the right half is never looked at."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(4.0))

    def forward(self, x):
        left = x[..., : x.shape[-1] // 2].mean(dim=(1, 2, 3))
        return torch.stack([self.gain * left, torch.zeros_like(left)], 1)


def test_road_rewards_a_map_on_what_the_model_uses():
    size = 24
    images = np.zeros((4, size, size, 3), np.float32)
    images[:, :, : size // 2] = 1.0
    labels = np.zeros(4, int)
    rng = np.random.default_rng(0)
    ramp = rng.random((4, size, size)).astype(np.float32) * 0.5
    on_left, on_right = ramp.copy(), ramp.copy()
    on_left[:, :, : size // 2] += 0.5
    on_right[:, :, size // 2:] += 0.5
    torch.manual_seed(0)
    good = sanity.road_scores(_LeftHalf(), images, labels, on_left)
    bad = sanity.road_scores(_LeftHalf(), images, labels, on_right)
    assert good.shape == (4,) and (good > 0).all() and (bad < 0).all()
    with pytest.raises(ValueError, match="one each per image"):
        sanity.road_scores(_LeftHalf(), images, labels, on_left[:2])


def test_randomisation_table_pairs_each_image_with_its_randomised_map():
    images, labels = _images(size=96), np.array([0, 1, 2, 3, 0, 1])
    masks = [np.pad(np.ones((48, 48), bool), 24) for _ in images]
    table = sanity.randomisation_table(_resnet(), images, labels, masks, seed=0)
    assert len(table) == 12 and set(table.state) == {"trained", "randomised"}
    assert table[table.state == "trained"].rank_correlation.isna().all()
    correlation = table[table.state == "randomised"].rank_correlation.dropna()  # NaN where a map is flat
    assert len(correlation) and correlation.between(-1, 1).all()
    summary = sanity.randomisation_summary(table)
    assert list(summary.index) == ["gradcam"] and summary.loc["gradcam", "images"] == 6
    t, r = (table[table.state == s].set_index("image").iou for s in ("trained", "randomised"))
    assert summary.loc["gradcam", "iou_difference"] == pytest.approx((t - r).mean())
    paired = (t - r).notna()  # the means are over the images where both maps are scored, so they subtract
    assert summary.loc["gradcam", "iou_images"] == paired.sum()
    assert summary.loc["gradcam", "iou_trained"] - summary.loc["gradcam", "iou_randomised"] == pytest.approx((t - r).mean())
    assert summary.loc["gradcam", "iou_difference_low"] <= summary.loc["gradcam", "iou_difference"] <= summary.loc["gradcam", "iou_difference_high"]


def test_faithfulness_table_scores_every_method_and_the_random_baseline():
    images, labels = _images(4, size=64), np.array([0, 1, 2, 3])
    table = sanity.faithfulness_table({"a": _resnet(), "b": _resnet()}, images, labels, methods=("gradcam", "layercam"),
                                      percentiles=(50,), seed=0)
    assert len(table) == 2 * 3 * 4 and set(table.method) == {"gradcam", "layercam", sanity.RANDOM_MAP}
    assert table.road.between(-1, 1).all()
    again = sanity.faithfulness_table({"a": _resnet()}, images, labels, methods=("gradcam",), percentiles=(50,), seed=0)
    assert np.array_equal(again.road.to_numpy(), table[(table.model == "a") & (table.method != "layercam")].road.to_numpy())


def test_guided_gradcam_is_a_method_of_the_checks_and_the_top_layers_follow_the_model():
    images, labels = _images(2, size=64), np.array([0, 1])
    guided = sanity.method_maps(_resnet(), images, labels, sanity.GUIDED)
    assert guided.shape == (2, 64, 64) and np.allclose(guided.max(axis=(1, 2)), 1) and guided.min() >= 0
    assert not np.allclose(guided, sanity.method_maps(_resnet(), images, labels, "gradcam"))
    assert sanity.top_layers(_resnet()) == ("layer4", "fc")
    head = dropkey.ResNet50Attention(4, "dropkey")
    assert sanity.top_layers(head) == ("layer4", "head")
    before = head.head.fc.weight.clone()
    assert not torch.equal(sanity.randomised(head, seed=3).head.fc.weight, before)


def test_checks_under_noise_label_each_variance_and_summarise_against_the_baseline():
    images, labels = _images(3, size=64), np.array([0, 1, 2])
    masks = [np.pad(np.ones((32, 32), bool), 16) for _ in images]
    models = {"a": _resnet()}
    control = sanity.randomisation_under_noise(models, images, labels, masks, [0.0, 1.5], seed=0)
    assert len(control) == 2 * 2 * 3 and set(control.variance) == {0.0, 1.5} and set(control.model) == {"a"}
    summary = sanity.randomisation_summary(control)
    assert summary.index.names == ["model", "variance", "method"] and len(summary) == 2
    faithful = sanity.faithfulness_under_noise(models, images, labels, [0.0, 1.5], percentiles=(50,), seed=0)
    assert len(faithful) == 2 * 2 * 3
    table = sanity.faithfulness_summary(faithful)
    assert table.index.names == ["model", "variance", "method"] and list(table.index.get_level_values("method")) == ["gradcam"] * 2
    clean = faithful[faithful.variance == 0.0].pivot(index="image", columns="method", values="road")
    assert table.loc[("a", 0.0, "gradcam"), "vs_random"] == pytest.approx((clean.gradcam - clean.random).mean())
    assert table.loc[("a", 0.0, "gradcam"), "road_random"] == pytest.approx(clean.random.mean())


def test_control_grid_puts_each_image_trained_beside_randomised():
    images, labels = _images(2, size=64), np.array([0, 1])
    grid_images, grid_maps, titles = sanity.control_grid(_resnet(), images, labels, ("gradcam", sanity.GUIDED), seed=0)
    assert titles == ["gradcam, trained", "gradcam, randomised", f"{sanity.GUIDED}, trained", f"{sanity.GUIDED}, randomised"]
    assert len(grid_images) == len(grid_maps) == 2 and all(len(r) == 4 for r in grid_maps)
    assert np.allclose(grid_maps[1][0], sanity.method_maps(_resnet(), images, labels)[1])
