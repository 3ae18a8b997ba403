"""The liu2023 robustness study: inputs, noise sweeps, intervals, map scores, head training."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from lib.classification import dropkey, heads as head_training, models as classification_models, plots as classification_plots, resnet, robustness
from lib.classification.resnet import load_classifier
from lib.explain import plots as explain_plots
from lib.study import papers, paths
from lib.study.seeds import across_seeds, by_seed, readable, t_interval

from conftest import CLASSES


def test_noisy_images_are_seeded_per_variance_and_draw():
    images = np.full((3, 8, 8, 3), 0.5, np.float32)
    a = robustness.noisy(images, 0.5, 0, seed=0)
    assert np.array_equal(a, robustness.noisy(images, 0.5, 0, seed=0))
    assert not np.array_equal(a, robustness.noisy(images, 0.5, 1, seed=0))
    assert not np.array_equal(a, robustness.noisy(images, 0.6, 0, seed=0))
    assert np.array_equal(robustness.noisy(images, 0.0, 0, seed=0), images)


def test_mean_interval_and_sweep_summary():
    m, lo, hi = t_interval(np.array([1.0, 2.0, 3.0]))
    assert m == 2 and (lo, hi) == pytest.approx((2 - 4.302653 / np.sqrt(3), 2 + 4.302653 / np.sqrt(3)), rel=1e-5)
    assert np.isnan(t_interval([1.0])[1]) and t_interval([2.0, 2.0]) == (2.0, 2.0, 2.0)
    sweep = pd.DataFrame({"model": "a", "variance": [0.5] * 4, "draw": [0, 1, 0, 1], "image": [0, 0, 1, 1],
                          "p_pred": [0.6, 0.4, 0.6, 0.8], "p_true": [0.2, 0.4, 0.6, 0.8], "correct": [False, True, True, True]})
    s = robustness.sweep_summary(sweep).loc[("a", 0.5)]
    assert s.p_true == pytest.approx(0.5) and s.images == 2  # draws averaged per image: 0.3 and 0.7
    assert s.accuracy == pytest.approx(0.75) and s.p_pred == pytest.approx(0.6)
    per_seed = robustness.sweep_summary(by_seed({0: sweep, 1: sweep.assign(p_pred=sweep.p_pred - 0.2)}))
    assert per_seed.index.names == ["seed", "model", "variance"] and per_seed.p_pred.tolist() == pytest.approx([0.6, 0.4])
    across = across_seeds(per_seed.reset_index(), ["model", "variance"], ["p_pred"])
    assert across.loc[("a", 0.5), "p_pred"] == pytest.approx(0.5) and across.loc[("a", 0.5), "seeds"] == 2
    assert across.p_pred_low.iloc[0] < 0.4 < 0.6 < across.p_pred_high.iloc[0]
    assert readable(across, ["p_pred"]).p_pred.iloc[0].startswith("0.500 (")


def test_stratified_sample_keeps_every_class_in_its_share():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    pick = robustness.stratified(labels, 10, seed=0)
    assert len(pick) == 10 and list(np.bincount(labels[pick])) == [5, 3, 2] and (np.diff(pick) > 0).all()
    assert np.array_equal(pick, robustness.stratified(labels, 10, seed=0))
    assert not np.array_equal(pick, robustness.stratified(labels, 10, seed=1))
    assert list(np.bincount(labels[robustness.stratified(labels, 7, seed=0)])) == [4, 2, 1]  # largest remainders
    assert np.array_equal(robustness.stratified(labels, 500, seed=0), np.arange(100))


def test_beside_paper_puts_the_paper_in_its_own_column():
    summary = pd.DataFrame({"p_pred": [0.9, 0.8, 0.7], "p_true": [0.6, 0.5, 0.4]},
                           index=pd.MultiIndex.from_tuples([(0, "ResNet50", 0.5), (0, "ResNet50", 0.6), (0, "ResNet50", 1.0)],
                                                           names=["seed", "model", "variance"]))
    table = robustness.confidence_beside_paper(summary, papers.LIU2023_FIG3).set_index(["model", "variance"])
    assert table.loc[("ResNet50", 0.6), "p_pred"] == 0.8 and table.loc[("ResNet50", 0.6), "confidence_liu2023"] == 0.481
    assert table.loc[("ResNet50", 0.6), "p_true"] == 0.5 and len(table) == 2  # only the paper's variances and models


def test_score_maps_iou_energy_and_stability():
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    heat = np.zeros((2, 4, 4))
    heat[0, :2] = 1.0
    heat[1, 2:] = 1.0
    heat[1, 0, 0] = 0.1
    scores = robustness.score_maps(heat, [mask, None], clean=heat[[0, 0]])
    assert scores.iou.iloc[0] == 1.0 and scores.energy_share.iloc[0] == 1.0 and scores.rank_correlation.iloc[0] == pytest.approx(1)
    assert np.isnan(scores.iou.iloc[1]) and scores.rank_correlation.iloc[1] < 0


def test_heads_train_on_the_frozen_backbone_and_the_study_runs(trained, toy, tmp_path, monkeypatch):

    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    base, config = trained
    heads = {r: dropkey.HeadConfig(r, 0.3, epochs=2, dim=16) for r in ("none", "dropout", "dropkey")}
    artifacts = {r: head_training.train_head_model(toy, h, base) for r, h in heads.items()}
    assert head_training.train_head_model(toy, heads["dropkey"], base) == artifacts["dropkey"]  # cached
    plain, _ = load_classifier(base)
    models = {"ResNet50": plain}
    for r, a in artifacts.items():
        model, head, _ = dropkey.load_head_model(a)
        assert head == heads[r] and len(classification_models.training_history(a)) == 2
        assert all(torch.equal(p, q) for p, q in zip(model.layer4.state_dict().values(), plain.layer4.state_dict().values()))
        models[head.label] = model
    assert list(models) == ["ResNet50", "ResNet50+attention", "ResNet50+Dropout", "ResNet50+DropKey"]
    val = resnet.load_split(toy, CLASSES, config.imgsz, "val")
    features = head_training.backbone_features(models["ResNet50+attention"], val, batch=3)  # the heads trained on these
    with torch.no_grad():
        direct = models["ResNet50+attention"].backbone(next(iter(resnet.Batches(val, len(val))))[0])
    assert torch.allclose(features.images, direct, atol=1e-5) and torch.equal(features.labels, val.labels)
    named, loaded, whole = classification_models.liu2023_models(toy, base, {"none": artifacts["none"], "dropout": artifacts["dropout"],
                                                                         0.3: artifacts["dropkey"]}, 0.3, epochs=1, lr=1e-3)
    assert list(named) == list(classification_models.LIU2023_MODELS) and set(loaded) == {"none", "dropout", 0.3}
    assert all(torch.equal(p, q) for p, q in zip(loaded[0.3].state_dict().values(), models["ResNet50+DropKey"].state_dict().values()))
    # the whole models trained every layer from their start: layer4 moved, differently for each
    layer4 = {name: m.layer4.state_dict() for name, m in named.items()}
    for name in named:
        assert not torch.equal(layer4[name]["0.conv1.weight"], plain.layer4.state_dict()["0.conv1.weight"]), name
    assert not torch.equal(layer4["ResNet50+DropKey"]["0.conv1.weight"], layer4["ResNet50+Dropout"]["0.conv1.weight"])
    assert len(classification_models.training_history(whole["ResNet50+DropKey"])) == 1
    assert not dropkey.load_head_model(whole["ResNet50+DropKey"])[1].freeze_backbone
    assert head_training.finetune_model(toy, artifacts["dropkey"], 1, 1e-3) == whole["ResNet50+DropKey"]  # cached
    assert pd.read_csv(whole["ResNet50+DropKey"] / "history.csv").epoch.tolist() == [1]
    with pytest.raises(ValueError, match="frozen backbone"):
        head_training.train_head_model(toy, dropkey.HeadConfig("dropkey", 0.3, epochs=1, dim=16, freeze_backbone=False), base)
    with pytest.raises(ValueError, match="at least 1"):
        head_training.finetune_model(toy, base, 0, 1e-3)

    images, labels, masks, files = robustness.split_inputs(toy, CLASSES, 64)  # layer4 2x2 (1x1 at the toy's 32 px)
    sampled = robustness.split_inputs(toy, CLASSES, 64, sample=4, seed=0)
    assert sorted(sampled[1].tolist()) == [0, 0, 1, 1] and len(sampled[2]) == len(sampled[3]) == 4
    assert images.shape == (8, 64, 64, 3) and images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    assert sorted(labels.tolist()) == [0] * 4 + [1] * 4 and all(m.shape == (64, 64) and m.any() for m in masks)
    assert [CLASSES[y] for y in labels] == [f.split("/")[1] for f in files]
    sweep = robustness.noise_sweep(models, images, labels, [0.0, 0.5], draws=2)
    assert len(sweep) == 4 * 8 * (1 + 2) and sweep.p_true.between(0, 1).all()
    assert (sweep.p_pred >= sweep.p_true).all()
    summary = robustness.sweep_summary(sweep)
    assert (summary.images == 8).all()
    local = robustness.localisation_sweep(models, images, labels, masks, [0.0, 1.0], ["gradcam"], draws=1)
    clean = local[local.variance == 0]
    assert clean.rank_correlation.notna().any() and clean.rank_correlation.dropna().round(9).eq(1).all()
    assert local.energy_share.notna().any() and local.energy_share.dropna().between(0, 1).all()
    sets = robustness.perturbed_sets(images, masks, rotation=30, stretch=(1.4, 0.8), contrast=0.3, small=0.5)
    assert all(x.shape == images.shape and len(m) == len(images) for x, m in sets.values())
    table = robustness.perturbation_table(models, sets, labels)
    assert len(table) == 4 * 4 and table.accuracy.between(0, 1).all()
    grid_images, grid_maps = robustness.map_grid(models, {"a": images[0], "b": images[1]}, int(labels[0]))
    by_method = robustness.entry_maps(models, images[0], int(labels[0]), [("ResNet50", "gradcam"), ("ResNet50", "layercam")])
    assert len(by_method) == 2 and by_method[0].shape == (64, 64)
    assert np.allclose(by_method[0], robustness.maps(models["ResNet50"], images[:1], labels[:1], "gradcam")[0])
    assert len(grid_maps) == 4 and all(len(r) == 2 and r[0].shape == (64, 64) for r in grid_maps)
    assert len(explain_plots.overlay_grid(grid_images, grid_maps, list(models), ["a", "b"]).axes) == 8 + 1  # and a colour bar
    across = across_seeds(by_seed({0: sweep, 1: sweep}).pipe(robustness.sweep_summary).reset_index(), ["model", "variance"],
                          ["p_pred", "accuracy"])
    fig = classification_plots.curves_with_bands(across, "p_pred", "p", papers.LIU2023_FIG3, extra="accuracy", chance=0.5)
    assert len(fig.axes) == 2 and len(fig.legends) == 1
    assert len(classification_plots.score_curves(robustness.localisation_summary(local), {"iou": "IoU", "energy_share": "E"}).axes) == 2
    plt.close("all")


def test_regularised_heads_stay_random_at_inference_only_when_asked(trained, toy, tmp_path, monkeypatch):

    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    base, config = trained
    artifact = head_training.train_head_model(toy, dropkey.HeadConfig("dropkey", 0.5, epochs=1, dim=16), base)
    images, labels, _, _ = robustness.split_inputs(toy, CLASSES, 64)
    fixed, _, _ = dropkey.load_head_model(artifact)
    assert np.array_equal(robustness.probabilities(fixed, images), robustness.probabilities(fixed, images))
    random, _, _ = dropkey.load_head_model(artifact, keep_at_inference=True)
    torch.manual_seed(0)
    assert not np.array_equal(robustness.probabilities(random, images), robustness.probabilities(random, images))


def test_by_seed_keeps_named_indexes_and_drops_row_counts():
    t = pd.DataFrame({"x": [1.0, 2.0]})
    assert list(by_seed({0: t, 1: t}).columns) == ["seed", "x"] and by_seed({0: t, 1: t}).seed.tolist() == [0, 0, 1, 1]
    assert list(by_seed({3: t.rename_axis("k")}).columns) == ["seed", "k", "x"]


# -- liu2023 Fig. 5 over a sample, and maps with the regulariser kept on ------------------------------
def _attention_model(regulariser="dropkey", seed=0):
    torch.manual_seed(seed)
    return dropkey.ResNet50Attention(4, regulariser, rate=0.5).eval()


def _sample(n=3, size=64):
    rng = np.random.default_rng(0)
    images = rng.random((n, size, size, 3), dtype=np.float32)
    masks = [np.pad(np.ones((size // 2, size // 2), bool), size // 4) for _ in range(n)]
    return images, np.arange(n) % 4, masks


def test_method_table_scores_each_model_and_method_on_the_same_noisy_images():
    images, labels, masks = _sample()
    models = {"a": _attention_model("none"), "b": _attention_model("dropkey", 1)}
    table = robustness.method_table(models, images, labels, masks, [("a", "gradcam"), ("b", "gradcam"), ("a", "layercam")],
                                    variance=1.5, seed=0)
    assert len(table) == 9 and table.groupby(["model", "method"]).size().to_dict() == {("a", "gradcam"): 3, ("a", "layercam"): 3, ("b", "gradcam"): 3}
    noisy = robustness.noisy(images, 1.5, 0, 0, "normalised")
    direct = robustness.score_maps(robustness.maps(models["a"], noisy, labels), masks)
    assert np.allclose(table[(table.model == "a") & (table.method == "gradcam")].iou, direct.iou, equal_nan=True)


def test_kept_regulariser_draws_new_masks_and_is_switched_back_off():
    images, labels, _ = _sample(2)
    model = _attention_model()
    with robustness.regulariser_on(model):
        assert model.head.attend.active
    assert not model.head.attend.active
    a = robustness.sampled_maps(model, images, labels, draws=2, seed=0)
    assert np.array_equal(a, robustness.sampled_maps(model, images, labels, draws=2, seed=0))
    assert not np.allclose(a, robustness.sampled_maps(model, images, labels, draws=2, seed=5))
    assert a.shape == (2, 64, 64) and a.min() >= 0 and a.max() <= 1
    with pytest.raises(ValueError, match="no attention regulariser"):
        robustness.sampled_maps(resnet.build_resnet50(4), images, labels, draws=1)


def test_sampling_table_sets_the_averaged_maps_beside_the_usual_ones():
    images, labels, masks = _sample(2)
    table = robustness.sampling_table(_attention_model(), images, labels, masks, [0.0, 1.0], draws=2)
    assert len(table) == 8 and set(table.maps) == {robustness.REGULARISER_OFF, robustness.REGULARISER_ON}
    assert set(table[table.maps == robustness.REGULARISER_ON].draws) == {2}
    assert table[table.maps == "regulariser off"].rank_correlation.isna().all()


def test_versus_best_compares_an_entry_with_the_best_other_per_seed():
    table = pd.DataFrame({"seed": [0] * 6 + [1] * 6, "model": ["m", "m", "d"] * 4, "method": ["gradcam", "layercam", "gradcam"] * 4,
                          "image": [0, 0, 0, 1, 1, 1] * 2, "iou": [0.2, 0.5, 0.6, 0.4, 0.5, 0.8, 0.3, 0.6, 0.4, 0.3, 0.6, 0.4],
                          "energy_share": 0.5, "variance": 1.5})
    summary = robustness.localisation_summary(table, ("iou", "energy_share"), by=("variance", "model", "method"))
    assert summary.loc[(0, 1.5, "d", "gradcam"), "iou"] == pytest.approx(0.7)
    best = robustness.versus_best(summary, ("d", "gradcam")).set_index("seed")
    assert best.loc[0, "best other"] == "m layercam" and best.loc[0, "difference"] == pytest.approx(0.7 - 0.5)
    assert best.loc[1, "difference"] == pytest.approx(0.4 - 0.6) and best.loc[1, "variance"] == 1.5
    with pytest.raises(ValueError, match="no"):
        robustness.versus_best(summary, ("x", "gradcam"))
    unscored = robustness.versus_best(summary.assign(iou=np.nan), ("d", "gradcam"))  # no object masks
    assert unscored.difference.isna().all() and (unscored["best other"] == "").all()
    assert classification_models.liu2023_fig5_entries(["gradcam", "layercam"]) == [
        ("ResNet50", "gradcam"), ("ResNet50", "layercam"), ("ResNet50+Dropout", "gradcam"), ("ResNet50+DropKey", "gradcam")]


def test_each_perturbation_figure_shows_the_clean_image_and_its_own_perturbations():
    images, _, masks = _sample(2)
    sets = robustness.perturbed_sets(images, masks, rotation=30, stretch=(1.4, 0.8), contrast=0.3, small=0.5)
    inputs = robustness.figure_inputs(images, sets, 1)
    assert list(inputs) == list(robustness.LIU2023_PERTURBATION_FIGURES)
    assert [list(v) for v in inputs.values()] == [["clean", "rotated 30°", "stretched x1.4, y0.8"], ["clean", "low contrast x0.3"],
                                                  ["clean", "small object x0.5"]]
    assert np.array_equal(inputs["liu2023_fig06_low_contrast"]["low contrast x0.3"], sets["low contrast x0.3"][0][1])
    model = _attention_model()
    grid_images, grid_maps = robustness.sampling_grid(model, {"a": images[0], "b": images[1]}, 0, draws=2)
    assert len(grid_maps) == 2 and all(len(r) == 2 and r[0].shape == (64, 64) for r in grid_maps)
    assert np.allclose(grid_maps[0], robustness.maps(model, images[:2], np.zeros(2, int)))
    assert np.allclose(grid_maps[1], robustness.sampled_maps(model, images[:2], np.zeros(2, int), draws=2))
