"""Scoring the detectors' heatmaps: regions, scores with known answers, Table 1, statistics, figures."""
import cv2
import numpy as np
import pandas as pd
import pytest

from lib.data.read import detection_objects
from lib.detection import heatmap_scores, plots as detection_plots
from lib.explain import plots as explain_plots
from lib.study import papers, plots as study_plots, reporting


def _feature(image="a", obj=0, cls="semicircular", class_id=0, box=(2, 3, 6, 8), split="test", size=(10, 12)):
    x1, y1, x2, y2 = box
    return {"split": split, "image": image, "object": obj, "class_id": class_id, "class": cls, "x1": x1, "y1": y1,
            "x2": x2, "y2": y2, "image_h": size[0], "image_w": size[1], "box_area_px": (x2 - x1) * (y2 - y1)}


def test_regions_come_from_the_instance_mask_else_the_box(tmp_path):
    inst = np.zeros((10, 12), np.uint8)
    inst[1:4, 1:5] = 1  # label line 0
    inst[6:9, 7:11] = 2  # label line 1
    (tmp_path / "masks" / "test").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "masks" / "test" / "a.png"), inst)
    feats = pd.DataFrame([_feature("a", 0), _feature("a", 1), _feature("a", 2, box=(0, 0, 3, 2)), _feature("b", 0, box=(2, 3, 6, 8))])
    regions, sources = heatmap_scores.regions_of(tmp_path, feats)
    assert sources == ["mask", "mask", "box", "box"]  # line 2 is not in the mask; image b has no mask file
    assert np.array_equal(regions[0], inst == 1) and np.array_equal(regions[1], inst == 2)
    assert regions[2].sum() == 6 and regions[2][:2, :3].all()
    assert regions[3].sum() == 20 and regions[3][3:8, 2:6].all()


def test_a_mask_of_the_wrong_size_is_refused(tmp_path):
    (tmp_path / "masks" / "test").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "masks" / "test" / "a.png"), np.ones((5, 5), np.uint8))
    with pytest.raises(ValueError, match="mask of a is"):
        heatmap_scores.regions_of(tmp_path, pd.DataFrame([_feature("a", 0)]))


def test_score_map_has_known_answers():
    region = np.zeros((10, 10), bool)
    region[0:4, 0:5] = True  # 20 px
    heat = np.zeros((10, 10))
    heat[0:2, 0:5] = 1.0  # 10 px at the peak, inside
    heat[8:10, 0:5] = 0.5  # 10 px at half the peak, outside
    s = heatmap_scores.score_map(heat, region)
    assert s["iou"] == pytest.approx(10 / 30)  # highlight (>= 0.5): both blocks, 20 px; union 30
    assert s["energy_share"] == pytest.approx(10 / 15)
    assert s["pointing_hit"] == 1.0 and s["empty_map"] == 0.0
    assert s["highlight_area"] == pytest.approx(0.2) and s["region_area"] == pytest.approx(0.2)
    assert heatmap_scores.score_map(heat, region, threshold=0.75)["iou"] == pytest.approx(0.5)
    empty = heatmap_scores.score_map(np.zeros((10, 10)), region)
    assert empty["iou"] == 0 and np.isnan(empty["energy_share"]) and np.isnan(empty["pointing_hit"]) and empty["empty_map"] == 1


def test_iou_against_threshold():
    region = np.zeros((4, 4), bool)
    region[0] = True
    heat = np.zeros((4, 4))
    heat[0] = 1.0
    heat[1] = 0.3
    feats = pd.DataFrame([_feature(size=(4, 4))])
    curve = heatmap_scores.iou_vs_threshold({"m": [heat]}, [region], feats, thresholds=[0.2, 0.5])
    assert curve.iou.tolist() == pytest.approx([0.5, 1.0])


def test_box_iou_and_matched_confidence():
    assert heatmap_scores.box_iou((0, 0, 2, 2), np.array([[0, 0, 2, 2], [1, 0, 3, 2], [5, 5, 6, 6]])).tolist() == pytest.approx([1, 1 / 3, 0])
    feats = pd.DataFrame([_feature(class_id=0, box=(0, 0, 10, 10)), _feature(class_id=1, box=(0, 0, 10, 10))])
    found = pd.DataFrame({"x1": [0, 1, 0], "y1": [0, 0, 0], "x2": [10, 10, 3], "y2": [10, 10, 3], "conf": [0.4, 0.9, 0.95],
                          "class_id": [0, 0, 1]})
    # feature 0: both class-0 boxes overlap (IoU 1 and 0.9): the higher confidence; feature 1: the class-1 box misses
    assert heatmap_scores.match_confidence(feats, [found, found]).tolist() == pytest.approx([0.9, 0.0])
    assert heatmap_scores.match_confidence(feats, [found.iloc[:0], found.iloc[:0]]).tolist() == [0.0, 0.0]


def _scores(base, cbam, classes):
    rows = []
    for model, values in (("YOLOv5", base), ("YOLOv5-CBAM", cbam)):
        rows += [{"model": model, "feature": i, "class": c, "region": "mask", "iou": v, "energy_share": v,
                  "empty_map": 0.0, "confidence": i / 10} for i, (v, c) in enumerate(zip(values, classes))]
    return pd.DataFrame(rows)


def test_table1_means_improvements_and_paper_columns():
    classes = ["semicircular", "semicircular", "raised", "rectangular"]
    table = heatmap_scores.table1(_scores([0.1, 0.3, 0.2, 0.0], [0.3, 0.5, 0.2, 0.3], classes), papers.XU2024_TABLE1)
    assert list(table.index) == ["semicircular", "raised", "rectangular", "mean improvement"]
    assert table.baseline_iou.iloc[:3].tolist() == pytest.approx([20, 20, 0])
    assert table.improvement_points.tolist() == pytest.approx([20, 0, 30, 50 / 3])
    assert table.attention_iou_xu2024.iloc[:3].tolist() == [44.86, 42.79, 34.04]
    assert table.loc["mean improvement", "improvement_points_xu2024"] == pytest.approx(27.81, abs=0.01)
    assert table.features.iloc[:3].tolist() == [2, 1, 1] and set(table.region.iloc[:3]) == {"mask"}
    assert list(reporting.displayed(table).columns[:6]) == [
        "YOLOv5 IoU %", "YOLOv5 IoU % (xu2024)", "YOLOv5-CBAM IoU %", "YOLOv5-CBAM IoU % (xu2024)",
        "improvement (points)", "improvement (points) (xu2024)"]


def test_bootstrap_and_paired_comparison():
    classes = ["a"] * 6 + ["b"] * 6
    base = [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    cbam = [v + 0.1 for v in base[:6]] + base[6:]
    scores = _scores(base, cbam, classes)
    boot = heatmap_scores.bootstrap_means(scores, "iou", n_boot=500, seed=1)
    assert boot.loc[("YOLOv5", "a"), "mean"] == pytest.approx(0.2)
    assert (boot["low"] <= boot["mean"] + 1e-12).all() and (boot["mean"] <= boot["high"] + 1e-12).all()
    assert boot.loc[("YOLOv5", "b"), "low"] == boot.loc[("YOLOv5", "b"), "high"] == pytest.approx(0.5)  # no spread
    assert boot.equals(heatmap_scores.bootstrap_means(scores, "iou", n_boot=500, seed=1))
    paired = heatmap_scores.paired_comparison(scores, "iou", n_boot=500, seed=1)
    assert paired.loc["a", "difference"] == pytest.approx(0.1) and paired.loc["a", "low"] == pytest.approx(0.1)
    assert paired.loc["a", "share_other_higher"] == 1.0 and paired.loc["a", "wilcoxon_p"] == pytest.approx(0.03125)
    assert np.isnan(paired.loc["b", "wilcoxon_p"]) and paired.loc["b", "difference"] == 0
    assert paired.loc["all", "features"] == 12 and paired.loc["all", "difference"] == pytest.approx(0.05)
    assert {"YOLOv5", "YOLOv5-CBAM", "share YOLOv5-CBAM higher", "wilcoxon p"} <= set(reporting.displayed(paired).columns)


def test_quality_against_confidence():
    scores = _scores([0.0, 0.1, 0.2, 0.3], [0.3, 0.2, 0.1, 0.0], ["a"] * 4).assign(confidence=[0.0, 0.1, 0.3, 0.9] * 2)
    q = heatmap_scores.quality_vs_confidence(scores, "iou")
    assert q.loc["YOLOv5", "spearman_rho"] == pytest.approx(1) and q.loc["YOLOv5-CBAM", "spearman_rho"] == pytest.approx(-1)
    assert q.loc["YOLOv5", "found"] == 2 and q.loc["YOLOv5", "score_found"] == pytest.approx(0.25)
    assert q.loc["YOLOv5", "score_missed"] == pytest.approx(0.05)


def test_examples_are_the_largest_box_of_each_class():
    feats = pd.DataFrame([_feature(box=(0, 0, 2, 2)), _feature(box=(0, 0, 5, 5)), _feature(class_id=1, cls="raised"),
                          _feature(class_id=1, cls="raised", box=(0, 0, 1, 1))])
    assert heatmap_scores.examples(feats) == [1, 2]
    assert heatmap_scores.examples(feats, 2) == [1, 0, 2, 3]


def test_features_are_one_split_in_a_fixed_order():
    objects = pd.DataFrame([_feature("b", 1), _feature("b", 0), _feature("a", 0), _feature("c", 0, split="train")])
    feats = heatmap_scores.features(objects)
    assert list(zip(feats.image, feats.object)) == [("a", 0), ("b", 0), ("b", 1)]
    with pytest.raises(ValueError, match="no labelled features in split 'val'"):
        heatmap_scores.features(objects, "val")


def test_the_study_on_a_trained_detector(detector, micro):
    """End to end on the test fixture: maps, confidences, scores, methods, timing and the figures."""
    artifact, config = detector
    feats = heatmap_scores.features(detection_objects(micro))
    images = heatmap_scores.images_of(micro, feats)
    regions, sources = heatmap_scores.regions_of(micro, feats)
    assert set(sources) == {"mask"} and all(r.shape == img.shape[:2] for r, img in zip(regions, images))
    artifacts = {"YOLOv5": artifact, "YOLOv5-CBAM": artifact}
    maps = heatmap_scores.feature_maps(artifacts, images, feats, imgsz=config.imgsz, batch=3)
    assert all(m.shape == img.shape[:2] for m, img in zip(maps["YOLOv5"], images))
    confidences = heatmap_scores.detection_confidences(artifacts, images, feats, imgsz=config.imgsz)
    assert all(((c >= 0) & (c <= 1)).all() and len(c) == len(feats) for c in confidences.values())
    scores = heatmap_scores.score_features(maps, regions, sources, feats, confidences)
    assert len(scores) == 2 * len(feats) and scores.iou.between(0, 1).all()
    assert list(dict.fromkeys(scores["class"])) == [c for c in ("semicircular", "raised", "rectangular") if c in set(feats["class"])]
    assert (heatmap_scores.paired_comparison(scores, "iou", n_boot=50)["difference"] == 0).all()  # the same detector twice
    layers = heatmap_scores.target_layer_table({"YOLOv5-CBAM": artifact})
    assert layers.loc["YOLOv5-CBAM", "layers"] == "18, 22, 26" and layers.loc["YOLOv5-CBAM", "modules"] == "CBAM"
    methods = heatmap_scores.method_comparison({"YOLOv5-CBAM": artifact}, images, feats, regions, sources, ["gradcam", "eigencam"],
                                   imgsz=config.imgsz)
    assert list(methods.index) == [("gradcam", "YOLOv5-CBAM"), ("eigencam", "YOLOv5-CBAM")]
    timing = heatmap_scores.time_ratios({"YOLOv5-CBAM": artifact}, images, feats, imgsz=config.imgsz, rounds=1)
    assert timing.loc["YOLOv5-CBAM", "ratio"] > 0 and timing.loc["YOLOv5-CBAM", "images"] == len(feats)

    picks = heatmap_scores.examples(feats)
    labels = [str(i) for i in picks]
    fig = explain_plots.feature_heatmaps(images, regions, maps, picks, labels)
    assert len(fig.axes) == 3 * len(picks) + 1 and "scaled to [0, 1]" in fig.axes[-1].get_ylabel()  # the colour bar
    fig = explain_plots.highlight_vs_truth(images, regions, maps, picks, labels, 0.5)
    assert len(fig.axes) == 2 * len(picks) and [t.get_text() for t in fig.legends[0].get_texts()] == list(explain_plots.HIGHLIGHT_COLOURS)
    curve = heatmap_scores.iou_vs_threshold(maps, regions, feats)
    assert len(detection_plots.iou_threshold_curves(curve, 0.5, ["YOLOv5"]).axes) == feats["class"].nunique()
    assert len(study_plots.interval_plot(heatmap_scores.bootstrap_means(scores, n_boot=50), "IoU").axes) == 1
    assert len(detection_plots.paired_scores(scores, "YOLOv5", "YOLOv5-CBAM").axes) == 1
    assert len(detection_plots.score_vs_confidence(scores).axes) == 2
