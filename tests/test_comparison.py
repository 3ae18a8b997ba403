"""liu2023's models compared: feature distance, the matched-degradation point, bounded intervals."""
import numpy as np
import pandas as pd
import pytest
import torch

from lib.classification import comparison, robustness
from lib.study.seeds import BOUNDED, across_seeds, is_bounded, t_interval


def test_linear_cka_is_one_for_a_rotation_and_scaling_and_low_for_unrelated_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert comparison.linear_cka(x, 3 * x @ rotation) == pytest.approx(1)
    assert comparison.linear_cka(x, x + 5) == pytest.approx(1)  # centred: a shift changes nothing
    assert comparison.linear_cka(x, rng.normal(size=(50, 8))) < 0.4
    assert 0.5 < comparison.linear_cka(x, x + 0.5 * rng.normal(size=(50, 8))) < 1
    with pytest.raises(ValueError, match="same items"):
        comparison.linear_cka(x, x[:10])


def test_the_matched_variance_is_halfway_from_clean_to_chance():
    curve = pd.Series([0.9, 0.8, 0.5, 0.3], index=[0.0, 0.01, 0.1, 1.0])
    # halfway from 0.9 to chance 0.25 is 0.575: between 0.01 (0.8) and 0.1 (0.5), a quarter of the way from 0.1
    assert comparison.matched_variance(curve, 0.25) == pytest.approx(0.01 + (0.8 - 0.575) / 0.3 * 0.09)
    assert comparison.matched_variance(curve.sort_index(ascending=False), 0.25) == comparison.matched_variance(curve, 0.25)
    assert np.isnan(comparison.matched_variance(pd.Series([0.9, 0.85], index=[0.0, 2.0]), 0.25))  # never falls that far
    assert np.isnan(comparison.matched_variance(pd.Series([0.25, 0.2], index=[0.0, 1.0]), 0.25))  # starts at chance


def test_the_share_retained_counts_only_images_right_when_clean():
    sweep = pd.DataFrame({"model": "a", "variance": [0.0, 0.0, 0.0, 0.5, 0.5, 0.5], "draw": 0, "image": [0, 1, 2, 0, 1, 2],
                          "p_pred": 0.9, "p_true": 0.5, "correct": [True, True, False, True, False, True]})
    s = robustness.sweep_summary(sweep)
    assert s.loc[("a", 0.0), "retained"] == 1 and s.loc[("a", 0.5), "retained"] == pytest.approx(0.5)
    assert s.loc[("a", 0.5), "accuracy"] == pytest.approx(2 / 3)  # image 2 is right only under noise


@pytest.mark.parametrize("values", [[0.957, 0.86, 0.84], [1.0, 1.0, 0.99], [0.0, 0.01, 0.3], [0.5, 0.5], [0.999, 0.2, 0.6]])
def test_intervals_of_bounded_quantities_stay_in_0_1_and_hold_the_mean(values):
    mean, low, high = t_interval(values, bounded=True)
    assert 0 <= low <= mean <= high <= 1 and mean == pytest.approx(np.mean(values))
    plain = t_interval(values)
    if plain[2] > 1 or plain[1] < 0:  # where the plain t-interval leaves [0, 1]
        assert (low, high) != plain[1:]


def test_across_seeds_bounds_the_bounded_columns_only():
    per_seed = pd.DataFrame({"seed": [0, 1, 2], "model": "m", "accuracy": [0.957, 0.86, 0.84], "difference": [0.957, 0.86, 0.84]})
    across = across_seeds(per_seed, ["model"], ["accuracy", "difference"]).iloc[0]
    assert across.accuracy_high <= 1 < across.difference_high
    assert is_bounded("accuracy") and is_bounded(0.6) and not is_bounded("difference") and "iou" in BOUNDED


def test_model_differences_are_zero_for_one_network_and_positive_for_two():
    torch.manual_seed(0)
    from lib.classification.resnet import build_resnet50
    a, b = build_resnet50(2).eval(), build_resnet50(2).eval()
    for m in (a, b):  # zero-initialised residual branches would make the blocks identities
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.05) if p.dim() > 1 else None
    images = np.random.default_rng(0).random((6, 96, 96, 3), np.float32)  # layer4 3x3: maps with a shape
    labels = np.array([0, 1, 0, 1, 0, 1])
    table = comparison.model_differences({"a": a, "a again": a, "b": b}, images, labels)
    assert list(zip(table.model_a, table.model_b)) == [("a", "a again"), ("a", "b"), ("a again", "b")]
    same, other = table.iloc[0], table.iloc[1]
    assert same.feature_distance == pytest.approx(0, abs=1e-9) and same.map_difference == 0
    assert other.feature_distance > 1e-3 and other.map_difference > 0.01
    assert table.accuracy_a.between(0, 1).all()


def test_a_seed_without_a_matched_point_keeps_its_rows_with_every_column():
    flat = pd.DataFrame({"seed": 0, "model": ["ResNet50", "ResNet50", "other", "other"], "variance": [0.0, 2.0, 0.0, 2.0],
                         "accuracy": [0.9, 0.85, 0.9, 0.8]}).set_index(["seed", "model", "variance"])
    out = comparison.matched_comparison({0: {"ResNet50": None, "other": None}}, flat, 0.25, None, None, None, None, None,
                                        reference="ResNet50", space="pixels")
    assert list(out.columns) == ["seed", "space", *comparison.MATCHED_COLUMNS] and len(out) == 2
    assert out.variance.isna().all() and out.p_pred.isna().all() and (out.space == "pixels").all()
