"""Detector training, evaluation and occluded test sets, on a tiny generated set."""
import filecmp
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from lib.data import cards, occluded
from lib.data.read import load_rgb
from lib.data.synthetic.occlusion import covered_fraction
from lib.detection import detectors, evaluation, models as detection_models, training as detector_training
from lib.study import cache, papers, paths


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: baseline, SE, ECA, CBAM, SimAM, ShuffleAttention"):
        detector_training.DetectorConfig("GAM", "n", 64, 1, 4)


def test_config_from_profile_takes_the_detector_settings():
    from lib.study.profiles import QUICK

    config = detector_training.DetectorConfig.from_profile(QUICK, "SE", seed=3)
    assert (config.variant, config.scale, config.imgsz, config.epochs, config.seed) == (
        "SE", QUICK.detector.scale, QUICK.detector.imgsz, QUICK.detector.epochs, 3)


def test_data_yaml_is_absolute_and_fills_missing_splits(micro, tmp_path):
    data = yaml.safe_load(detector_training.data_yaml(micro, tmp_path / "d.yaml").read_text())
    assert data["path"] == str(micro.resolve()) and data["test"] == "images/test"
    assert data["names"] == {0: "semicircular", 1: "raised", 2: "rectangular"}
    only_test = tmp_path / "only-test"
    shutil.copytree(micro / "images" / "test", only_test / "images" / "test")
    shutil.copy(micro / "data.yaml", only_test / "data.yaml")
    data = yaml.safe_load(detector_training.data_yaml(only_test, tmp_path / "t.yaml").read_text())
    assert data["train"] == data["val"] == data["test"] == "images/test"
    with pytest.raises(FileNotFoundError, match="no images/<split>"):
        detector_training.data_yaml(tmp_path / "only-test" / "images", tmp_path / "x.yaml")


def test_training_refuses_a_set_without_training_images(micro, tmp_path, isolated):
    broken = tmp_path / "broken"
    shutil.copytree(micro, broken, ignore=shutil.ignore_patterns("train"))
    with pytest.raises(FileNotFoundError, match="images/train is missing"):
        detector_training.train_detector(broken, detector_training.DetectorConfig("baseline", "n", 64, 1, 4))


def test_trained_detector_keeps_history_and_best_weights(detector):
    artifact, config = detector
    history = detection_models.detector_history(artifact)
    assert list(history.epoch) == list(range(1, config.epochs + 1))
    assert {"train_box_loss", "val_cls_loss", "map50", "map50_95"} <= set(history.columns)
    assert np.isfinite(history.train_box_loss).all()
    model = detection_models.load_detector(artifact).model
    assert any(type(m).__name__ == "CBAM" for m in model.modules())


def test_training_is_deterministic_and_cached(detector, micro, tmp_path, monkeypatch):
    artifact, config = detector
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    again = detector_training.train_detector(micro, config)
    assert again.name == artifact.name  # same configuration, data and code: same key
    pd.testing.assert_frame_equal(detection_models.detector_history(again).drop(columns="elapsed_s"),
                                  detection_models.detector_history(artifact).drop(columns="elapsed_s"))
    a = detection_models.load_detector(artifact).model.state_dict()
    b = detection_models.load_detector(again).model.state_dict()
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    mtime = (again / cache.MANIFEST).stat().st_mtime
    assert detector_training.train_detector(micro, config) == again
    assert (again / cache.MANIFEST).stat().st_mtime == mtime


def test_evaluate_gives_overall_and_per_class_metrics(detector, micro):
    artifact, config = detector
    table, speed = evaluation.evaluate(artifact, micro, imgsz=config.imgsz)
    assert table.index[0] == "all"
    assert set(table.index[1:]) <= {"semicircular", "raised", "rectangular"}
    assert ((table[list(evaluation.METRICS)] >= 0) & (table[list(evaluation.METRICS)] <= 1)).all().all()
    labels = sum(len(p.read_text().split()) // 5 for p in (micro / "labels" / "test").glob("*.txt"))
    assert table.loc["all", "instances"] == labels
    assert speed["inference"] > 0


def test_predict_returns_boxes_in_pixels(detector, micro):
    artifact, config = detector
    images = [load_rgb(p) for p in sorted((micro / "images" / "test").glob("*.png"))[:2]]
    frames = evaluation.detect(artifact, images, imgsz=config.imgsz, conf=0.0)
    assert len(frames) == 2
    for frame in frames:
        assert list(frame.columns) == ["x1", "y1", "x2", "y2", "conf", "class_id"]
        assert len(frame) > 0 and frame.conf.between(0, 1).all() and frame.class_id.between(0, 2).all()
        assert (frame.x2 <= 128 + 1).all() and (frame.y2 <= 96 + 1).all()  # the image's pixels, not the input's


def test_checkpoint_reloads_in_a_fresh_process(detector, micro):
    artifact, config = detector
    image = sorted((micro / "images" / "test").glob("*.png"))[0]
    ours = evaluation.detect(artifact, [load_rgb(image)], imgsz=config.imgsz, conf=0.0)[0]
    code = ("import sys; from lib.detection import evaluation; from lib.data.read import load_rgb; "
            f"f = evaluation.detect(sys.argv[1], [load_rgb(sys.argv[2])], imgsz={config.imgsz}, conf=0.0)[0]; "
            "print(len(f), round(float(f.conf.max()), 5))")
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(artifact), str(image)], capture_output=True, text=True,
                         cwd=paths.REPO_ROOT, env=env, check=True).stdout.split()
    assert out == [str(len(ours)), str(round(float(ours.conf.max()), 5))]


def test_evaluate_sets_scores_every_model_on_every_set(detector, micro):
    artifact, config = detector
    table = evaluation.evaluate_sets({"a": artifact, "b": artifact}, {0.0: micro}, imgsz=config.imgsz)
    assert list(zip(table.set, table.model)) == [(0.0, "a"), (0.0, "b")]
    assert table.loc[0, "map50"] == table.loc[1, "map50"]


def test_complexity_counts_the_attention_modules():
    base = evaluation.complexity("baseline", "n", 3, 64)
    cbam = evaluation.complexity("CBAM", "n", 3, 64)
    simam = evaluation.complexity("SimAM", "n", 3, 64)
    assert cbam["parameters"] > base["parameters"] == simam["parameters"]
    assert 0 < base["gflops"] < cbam["gflops"]
    assert evaluation.complexity("baseline", "n", 3, 128)["gflops"] == pytest.approx(4 * base["gflops"], rel=0.02)


def test_step_time_ratios_are_relative_to_the_baseline():
    table = evaluation.step_time_ratios(["SimAM"], "n", 3, imgsz=64, batch=1, repeats=2)
    assert list(table.index) == ["baseline", "SimAM"]
    assert table.loc["baseline", "ratio_to_baseline"] == 1.0
    assert (table.step_s_median > 0).all()


# -- occluded test sets ----------------------------------------------------------------------------
def test_occluded_split_rejects_a_rate_outside_0_1(micro, isolated):
    for rate in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"must be in \[0, 1\)"):
            occluded.occluded_split(micro, rate)
    with pytest.raises(ValueError, match="unknown occluder"):
        occluded.occluded_split(micro, 0.3, kind="cloud")


def test_occluded_split_covers_each_box_and_keeps_labels(micro, isolated):
    folder = occluded.occluded_split(micro, 0.5, seed=0)
    stems = sorted(p.stem for p in (micro / "labels" / "test").glob("*.txt"))
    assert sorted(p.stem for p in (folder / "images" / "test").glob("*.png")) == stems
    assert not (folder / "images" / "train").exists()
    for stem in stems:
        assert filecmp.cmp(folder / "labels" / "test" / f"{stem}.txt", micro / "labels" / "test" / f"{stem}.txt", shallow=False)
    objects = pd.read_csv(folder / "objects.csv")
    assert len(objects) == sum(1 for s in stems for line in (micro / "labels" / "test" / f"{s}.txt").read_text().splitlines() if line)
    assert objects.added_cover.median() == pytest.approx(0.5, abs=0.08)
    changed = [not np.array_equal(load_rgb(folder / "images" / "test" / f"{s}.png"), load_rgb(micro / "images" / "test" / f"{s}.png"))
               for s in stems]
    assert all(changed)
    assert occluded.occluded_split(micro, 0.5, seed=0) == folder  # cached
    assert occluded.occluded_split(micro, 0.5, seed=1) != folder


def test_occluded_split_evaluates_through_ultralytics(detector, micro, isolated):
    artifact, config = detector
    folder = occluded.occluded_split(micro, 0.3)
    table, _ = evaluation.evaluate(artifact, folder, imgsz=config.imgsz)
    assert table.loc["all", "instances"] == len(pd.read_csv(folder / "objects.csv"))


def test_the_occluder_mask_is_drawn_again_as_it_was_painted(micro, isolated):
    folder = occluded.occluded_split(micro, 0.5, seed=3)
    objects = pd.read_csv(folder / "objects.csv")
    for stem, group in objects.groupby("image"):
        boxes = group[["x1", "y1", "x2", "y2"]].to_numpy(float)
        shape = load_rgb(folder / "images" / "test" / f"{stem}.png").shape[:2]
        mask = occluded.painted_mask(boxes, shape, 0.5, stem=stem, seed=3)
        covered = [covered_fraction(mask, b) for b in boxes]
        assert covered == pytest.approx(group.added_cover.tolist(), abs=1e-9)
        assert occluded.painted_mask(boxes, shape, 0.5, stem=stem, seed=4).tolist() != mask.tolist()


def test_a_false_positive_on_the_occluder_is_one_that_matches_no_box():
    occluder = np.zeros((100, 100), bool)
    occluder[:, 60:] = True
    truth = np.array([[10, 10, 40, 40]], float)
    found = pd.DataFrame({"x1": [11, 62, 5, 62], "y1": [10, 10, 60, 12], "x2": [40, 95, 35, 96], "y2": [41, 40, 90, 38],
                          "conf": 0.9, "class_id": 0})
    found.loc[3, ["x1", "y1", "x2", "y2"]] = [10, 10, 40, 40]  # a hit, even with the occluder elsewhere
    matched = evaluation.match_detections(found, truth, occluder)
    assert matched.false_positive.tolist() == [False, True, True, False]
    assert matched.on_occluder.tolist() == [False, True, False, False]
    assert evaluation.match_detections(found, np.zeros((0, 4)), occluder).false_positive.all()
    assert evaluation.match_detections(found.iloc[:0], truth, occluder).empty


def test_occluder_false_positives_count_per_rate_and_model(detector, micro, isolated):
    artifact, config = detector
    table = evaluation.occluder_false_positives({"M": artifact}, micro, [0.0, 0.3, 0.7], imgsz=config.imgsz)
    assert table.occlusion.tolist() == [0.3, 0.7] and set(table.model) == {"M"} and (table.images == 4).all()
    assert ((table["on the occluder"] <= table["false positives"]) & (table["false positives"] <= table.detections)).all()


# -- tables and verdicts -----------------------------------------------------------------------------
def test_choose_variants_puts_the_baseline_first_and_checks_names():
    assert detectors.choose_variants("all") == ["baseline", "SE", "ECA", "CBAM", "SimAM", "ShuffleAttention"]
    assert detectors.choose_variants(" CBAM, SE ") == ["baseline", "CBAM", "SE"]
    with pytest.raises(ValueError, match="choose one of"):
        detectors.choose_variants("CBAM,GAM")
    assert [detectors.display_name(v) for v in ("baseline", "CBAM")] == ["YOLOv5", "YOLOv5-CBAM"]


def _comparison(**scores):
    return pd.DataFrame({"map50_95": scores}).rename_axis("model")


def test_variant_selection_ranks_and_measures_gaps_in_points():
    comparison = _comparison(**{"YOLOv5": 0.50, "YOLOv5-SE": 0.40, "YOLOv5-CBAM": 0.60, "YOLOv5-ECA": 0.50})
    sel = evaluation.variant_selection(comparison)
    assert list(sel.index) == ["YOLOv5-CBAM", "YOLOv5", "YOLOv5-ECA", "YOLOv5-SE"]
    assert list(sel["rank"]) == [1, 2, 3, 4]
    assert sel.loc["YOLOv5-CBAM", "vs_baseline_points"] == pytest.approx(10.0)
    assert sel.loc["YOLOv5-CBAM", "vs_other_attention_points"] == pytest.approx(15.0)  # 0.60 - mean(0.40, 0.50)
    assert np.isnan(sel.loc["YOLOv5", "vs_other_attention_points"])
    assert sel.paper_choice.sum() == 1 and sel.loc["YOLOv5-CBAM", "paper_choice"]


def _seeded(**seeds):
    """A comparison with a ``seed`` column: ``s0={"YOLOv5": 0.5, ...}, s1={...}``."""
    return pd.concat([_comparison(**v).reset_index().assign(seed=int(k[1:])) for k, v in seeds.items()], ignore_index=True)


def test_selection_by_seed_ranks_each_seed_among_the_first_seeds_other_variants():
    comparison = _seeded(s0={"YOLOv5": 0.50, "YOLOv5-SE": 0.40, "YOLOv5-CBAM": 0.60},
                         s1={"YOLOv5": 0.50, "YOLOv5-CBAM": 0.30})
    sel = evaluation.selection_by_seed(comparison)
    assert sel[sel.seed == 0].model.tolist() == ["YOLOv5-CBAM", "YOLOv5", "YOLOv5-SE"]
    second = sel[sel.seed == 1].set_index("model")
    assert second.index.tolist() == ["YOLOv5", "YOLOv5-CBAM"]  # SE trained with seed 0 only: no row of its own
    assert second.loc["YOLOv5-CBAM", "rank"] == 3  # below seed 0's SE at 0.40
    assert second.loc["YOLOv5-CBAM", "vs_other_attention_points"] == pytest.approx(-10.0)
    text = evaluation.selection_verdict(sel)
    assert "the data select YOLOv5-CBAM (0.600) with the first training seed" in text
    assert "ranks 1, 3 of 3 with training seed(s) 0, 1" in text and "on average -5.0 points against the baseline" in text
    assert "It ranks first with 1 of 2 seed(s)" in text
    assert "was not trained" in evaluation.selection_verdict(evaluation.selection_by_seed(_seeded(s0={"YOLOv5": 0.7, "YOLOv5-SE": 0.6})))
    assert evaluation.selection_verdict(sel, label="test mAP").startswith("By test mAP, the data select")


def test_beside_paper_keeps_the_papers_rows_with_its_values_beside_ours():

    ours = pd.DataFrame({"occlusion": [0.0, 0.0, 0.3], "model": ["YOLOv5", "YOLOv5-SE", "YOLOv5"],
                         "precision": [0.1, 0.2, 0.3], "recall": [0.4, 0.5, 0.6], "map50": [0.7, 0.8, 0.9],
                         "map50_95": [0.11, 0.12, 0.13]})
    table = evaluation.metrics_beside_paper(ours, papers.XU2024_TABLE2, keys=["occlusion", "model"])
    assert list(table.index) == [(0.0, "YOLOv5"), (0.3, "YOLOv5")]
    assert list(table.columns[:2]) == ["precision", "precision_xu2024"]
    assert table.loc[(0.3, "YOLOv5"), "map50_95"] == 0.13
    assert table.loc[(0.3, "YOLOv5"), "map50_95_xu2024"] == 0.737
    seeded = evaluation.metrics_beside_paper(pd.concat([ours.assign(seed=0), ours.assign(seed=1)]), papers.XU2024_TABLE2,
                                             keys=["occlusion", "model"])
    assert seeded.index.names == ["seed", "occlusion", "model"] and len(seeded) == 4


def test_occlusion_verdict_reports_gaps_beside_the_papers():

    ours = papers.XU2024_TABLE2.copy()
    ours.loc[(ours.occlusion == 0.7) & (ours.model == "YOLOv5-CBAM"), "map50"] = 0.833
    text = evaluation.occlusion_verdict(ours, papers.XU2024_TABLE2)
    assert "70%: -10.0 (xu2024 +4.6)" in text
    assert "YOLOv5: mAP50 0.995 at 0 % and 0.933 at 70% (-6.2 points)" in text
    two = pd.concat([ours.assign(seed=0), papers.XU2024_TABLE2.assign(seed=1)])  # seed means: CBAM 0.906 at 70 %
    assert "70%: -2.7 (xu2024 +4.6)" in evaluation.occlusion_verdict(two, papers.XU2024_TABLE2)


def test_most_labelled_picks_the_busiest_images():
    objects = pd.DataFrame({"split": ["test"] * 5 + ["train"] * 3, "image": list("aabbb") + list("ccc")})
    assert evaluation.most_labelled(objects, 1) == ["b"]
    assert evaluation.most_labelled(objects, 5) == ["b", "a"]


def test_cover_summary_reads_the_measured_cover(tmp_path):
    pd.DataFrame({"added_cover": [0.29, 0.31, 0.30]}).to_csv(tmp_path / "objects.csv", index=False)
    summary = cards.cover_summary({0.0: tmp_path / "original", 0.3: tmp_path})
    assert list(summary.index) == [0.3]
    assert summary.loc[0.3, "boxes"] == 3 and summary.loc[0.3, "measured_mean"] == pytest.approx(0.30)


def test_training_exposure_counts_features_at_least_this_occluded():
    objects = pd.DataFrame({"split": ["train"] * 4 + ["test"], "occluded_fraction": [0.0, 0.35, 0.55, 0.1, 0.9]})
    table = cards.training_exposure(objects, [0.0, 0.3, 0.5, 0.7])
    assert list(table.index) == [0.3, 0.5, 0.7]
    assert list(table.iloc[:, 0]) == [0.5, 0.25, 0.0]
    unknown = cards.training_exposure(objects.assign(occluded_fraction=float("nan")), [0.3])
    assert unknown.iloc[:, 0].isna().all()


def test_comparison_table_joins_scores_history_and_sizes():
    table = pd.DataFrame({"precision": [0.5], "recall": [0.6], "map50": [0.7], "map50_95": [0.4]}, index=["all"])
    history = pd.DataFrame({"epoch": [1, 2, 3, 4, 5, 6, 7, 8], "elapsed_s": [12.0, 22.0, 33.0, 44, 55, 66, 77, 88],
                            "map50_95": [0.1, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
                            "map50": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9]})
    sizes = pd.DataFrame({"parameters_n": [100], "gflops_n_64": [0.5]}, index=["YOLOv5"])
    out = evaluation.comparison_table({"YOLOv5": (table, {"inference": 3.0})}, {"YOLOv5": history}, sizes, "n", 64)
    row = out.loc["YOLOv5"]
    assert (row.map50_95, row.val_map50_95_kept, row.kept_epoch) == (0.4, 0.5, 2)
    assert (row.parameters, row.gflops, row.train_s_per_epoch, row.inference_ms_per_image) == (100, 0.5, 11.0, 3.0)
    assert row.val_map50_last_quarter_gain == pytest.approx(0.9 - 0.6)  # epoch 8 against epoch 6
    assert np.isnan(row.map50_unoccluded) and np.isnan(row.map50_95_unoccluded)
    clean = table.assign(map50=0.95, map50_95=0.75)
    row = evaluation.comparison_table({"YOLOv5": (table, {"inference": 3.0})}, {"YOLOv5": history}, sizes, "n", 64,
                                      unoccluded={"YOLOv5": clean}).loc["YOLOv5"]
    assert (row.map50, row.map50_unoccluded, row.map50_95_unoccluded) == (0.7, 0.95, 0.75)


def _with_covers(micro, tmp_path, covers):
    """A copy of ``micro`` whose objects.csv gives the test features the covered fractions ``covers``."""
    copy = tmp_path / "micro"
    shutil.copytree(micro, copy)
    objects = pd.read_csv(copy / "objects.csv")
    test = objects.split == "test"
    objects.loc[test, "occluded_fraction"] = covers(objects[test])
    objects.to_csv(copy / "objects.csv", index=False)
    return copy, objects[test]


def test_unoccluded_view_holds_the_test_images_without_a_covered_feature(detector, micro, tmp_path):
    artifact, config = detector
    folder, test = _with_covers(micro, tmp_path, lambda t: np.where(t.image == t.image.min(), 0.4, 0.0))
    with evaluation.unoccluded_view(folder) as view:
        kept = sorted(p.stem for p in (view / "images" / "test").iterdir())
        assert kept == sorted(set(test.image) - {test.image.min()}) and len(kept) > 0
        assert sorted(p.stem for p in (view / "labels" / "test").iterdir()) == kept
        table, _ = evaluation.evaluate(artifact, view, imgsz=config.imgsz)
        assert table.loc["all", "instances"] == (test.image != test.image.min()).sum()
    assert not view.exists()  # nothing is left behind
    runs = {0: {"CBAM": artifact}}
    unoccluded, images = evaluation.unoccluded_scores(runs, folder, imgsz=config.imgsz)
    assert images == len(kept) and unoccluded[0]["CBAM"].equals(table)


def test_unoccluded_view_is_none_where_covers_are_unknown_or_everywhere(micro, tmp_path):
    unknown, _ = _with_covers(micro, tmp_path / "a", lambda t: np.nan)
    everywhere, _ = _with_covers(micro, tmp_path / "b", lambda t: 0.2)
    for folder in (unknown, everywhere):
        with evaluation.unoccluded_view(folder) as view:
            assert view is None
        assert evaluation.unoccluded_scores({0: {}}, folder, imgsz=64) == ({}, 0)


def test_recall_by_cover_counts_found_features_per_band_of_the_scenes_own_cover():
    feats = pd.DataFrame({"occluded_fraction": [0.0, 0.0, 0.2, 0.3, 0.45, 0.6, 0.9, 1.0]})
    best = {"YOLOv5": np.array([0.9, 0.1, 0.5, 0.2, 0.3, 0.24, 0.8, 0.0]), "other": np.ones(8)}
    table = evaluation.recall_by_cover(best, feats).set_index(["model", "cover"])
    assert list(table.loc["YOLOv5"].index) == ["uncovered", "0%-30%", "30%-50%", "50%-70%", "70%-100%"]
    assert table.loc["YOLOv5", "features"].tolist() == [2, 2, 1, 1, 2]  # 0.3 closes (0, 30 %]; 1.0 the last band
    assert table.loc["YOLOv5", "recall"].tolist() == [0.5, 0.5, 1.0, 0.0, 0.5]  # found at conf >= 0.25
    assert table.loc["other", "recall"].tolist() == [1.0] * 5
    assert evaluation.recall_by_cover(best, feats, conf=0.95).loc[lambda t: t.model == "YOLOv5", "recall"].sum() == 0
    unknown = feats.assign(occluded_fraction=[np.nan] + [0.0] * 7)
    assert evaluation.recall_by_cover(best, unknown).empty
