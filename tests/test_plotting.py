import numpy as np
import pandas as pd

from lib.classification import plots as classification_plots
from lib.data import cards, plots as data_plots, read
from lib.detection import plots as detection_plots
from lib.explain import plots as explain_plots
from lib.study import papers, plots as study_plots
from lib.study.seeds import across_seeds

def test_grids_and_distributions_draw_one_panel_per_image(tiny_sets):
    objects = read.detection_objects(tiny_sets["microparts"])
    stems = objects.image.drop_duplicates().head(3).tolist()
    fig = data_plots.detection_grid(tiny_sets["microparts"], objects, read.CLASS_NAMES["microparts"], stems, cols=2)
    assert sum(bool(ax.images) for ax in fig.axes) == 3
    images = read.classification_images(tiny_sets["droplets"], "droplets")
    fig = data_plots.class_grid(tiny_sets["droplets"], images, read.CLASS_NAMES["droplets"], per_class=2, seed=0)
    assert sum(bool(ax.images) for ax in fig.axes) == 8
    assert len(data_plots.object_distributions(objects).axes) >= 2


def test_both_distribution_panels_give_a_class_the_same_colour():
    objects = pd.DataFrame({"class": ["semicircular", "raised", "rectangular", "raised"],
                            "box_side_share": [0.2, 0.25, 0.3, 0.22], "occluded_fraction": [0.0, 0.4, 0.3, 0.0]})
    fig = data_plots.object_distributions(objects)
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes[:2]]
    assert legends[0] == legends[1] == ["raised", "rectangular", "semicircular"]


def test_cards_count_what_is_on_disk(tiny_sets):
    card = cards.detection_card(tiny_sets["microparts"])
    assert card.loc["total", "images"] == 8 and card.loc["total", "images_paper"] == 1538
    card = cards.classification_card(tiny_sets["droplets"], "droplets")
    assert card.total.sum() == 24 and list(card.total_paper) == [817, 740, 544, 361]


def test_classifier_figures():
    import pandas as pd

    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.2, 0.9, 0.7], "val_loss": [1.1, 1.0, 1.05],
                            "train_acc": [0.4, 0.6, 0.7], "val_acc": [0.5, 0.6, 0.55], "best": [True, True, False]})
    fig = classification_plots.training_curves(history, "t")
    assert len(fig.axes) == 2 and any("epoch 2" in t.get_text() for t in fig.axes[1].texts)  # the kept epoch
    conf = pd.DataFrame([[3, 1], [0, 4]], index=["a", "b"], columns=["a", "b"])
    assert classification_plots.confusion_heatmap(conf, "c").axes
    img = np.full((30, 30, 3), 100, np.uint8)
    cam = np.zeros((20, 20), np.float32)
    cam[5, 5] = 1.0
    over = explain_plots.overlay(img, cam)
    assert over.shape == (20, 20, 3) and over.dtype == np.uint8
    mask = np.zeros((30, 30), bool)
    mask[10:20, 10:20] = True
    drawn = explain_plots.outline(img, mask)
    assert (drawn != img).any() and (explain_plots.outline(img, None) == img).all()
    fig = study_plots.panel_grid([[img, cam], [img, cam]], ["r1", "r2"], ["image", "map"])
    assert sum(bool(ax.images) for ax in fig.axes) == 4
    table = pd.DataFrame({"mean_x": [100.0, np.nan], "mean_y": [110.0, np.nan], "std_x": [20.0, np.nan], "std_y": [10.0, np.nan]},
                         index=["a", "b"])
    fig = explain_plots.centroid_ellipses({"ours": table, "paper": table})
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 1  # the class without highlight is skipped


def test_pick_examples_prefers_correct_predictions():

    labels = np.array([0, 0, 1, 1, 2])
    preds = np.array([1, 0, 1, 0, 0])
    assert classification_plots.pick_examples(labels, preds, 3) == [1, 2, 4]
    assert classification_plots.pick_examples(labels, preds, 3, per_class=2) == [1, 0, 2, 3, 4]


def test_detector_figures():
    import pandas as pd


    epochs = np.arange(1, 4)
    history = pd.DataFrame({"epoch": epochs, **{c: 1.0 / epochs for c in (
        "train_box_loss", "train_cls_loss", "train_dfl_loss", "val_box_loss", "val_cls_loss", "val_dfl_loss")},
        "map50": epochs / 4, "map50_95": epochs / 8})
    fig = detection_plots.detector_curves({"YOLOv5": history, "YOLOv5-CBAM": history})
    assert len(fig.axes) == 4 and all(len(ax.lines) == 2 for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["YOLOv5", "YOLOv5-CBAM"] and "paper's scale" in fig.axes[0].get_ylabel()

    fig = detection_plots.metrics_vs_occlusion(papers.XU2024_TABLE2.assign(model=lambda t: t.model + " x"), papers.XU2024_TABLE2)
    assert all(len(ax.lines) == 2 for ax in fig.axes)  # models absent from the paper's table get no dashed line
    fig = detection_plots.metrics_vs_occlusion(papers.XU2024_TABLE2, papers.XU2024_TABLE2)
    assert all(len(ax.lines) == 4 and not ax.collections for ax in fig.axes)
    seeded = pd.concat([papers.XU2024_TABLE2.assign(seed=0), papers.XU2024_TABLE2.assign(seed=1, map50=0.5)])
    fig = detection_plots.metrics_vs_occlusion(seeded)
    assert all(len(ax.lines) == 2 for ax in fig.axes) and len(fig.axes[2].collections) == 2  # a band per model
    assert np.allclose(fig.axes[2].lines[0].get_ydata(), (papers.XU2024_TABLE2[papers.XU2024_TABLE2.model == "YOLOv5"].map50 + 0.5) / 2)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["YOLOv5 (ours, 2 seeds)", "YOLOv5-CBAM (ours, 2 seeds)"]
    assert "training seed" in fig.legends[0].get_title().get_text()

    image = np.zeros((20, 30, 3), np.uint8)
    boxes = pd.DataFrame({"x1": [2.0], "y1": [3.0], "x2": [12.0], "y2": [15.0], "conf": [0.87], "class_id": [1]})
    rows, stems, models = [0.0, 0.5], ["a", "b"], ["YOLOv5", "YOLOv5-CBAM"]
    images = {(r, s): image for r in rows for s in stems}
    found = {(r, s, m): boxes for r in rows for s in stems for m in models}
    fig = detection_plots.prediction_grid(images, found, rows, stems, models, ["p", "q", "r"], row_label=lambda r: f"{r:.0%}")
    assert len(fig.axes) == 8 and all(len(ax.patches) == 1 for ax in fig.axes)
    assert fig.axes[0].texts[0].get_text() == "q 0.87" and fig.axes[4].get_ylabel() == "50%"
    truth = pd.DataFrame({"image": ["a", "a", "b"], "x1": [1.0] * 3, "y1": [1.0] * 3, "x2": [5.0] * 3, "y2": [5.0] * 3})
    fig = detection_plots.prediction_grid(images, found, rows, stems, models, ["p", "q", "r"], truth=truth)
    assert [len(ax.patches) for ax in fig.axes[:4]] == [3, 3, 2, 2]


def test_region_and_layer_figures():
    import pandas as pd

    cols = {f"{r}_{k}": [0.2, 0.3] for r in ("edge", "interior", "background") for k in ("highlight", "energy", "area")}
    regions = pd.DataFrame(cols, index=pd.MultiIndex.from_tuples([("Grad-CAM", "a"), ("Guided", "a")], names=["map", "class"]))
    fig = explain_plots.region_share_bars(regions)
    assert len(fig.axes) == 2 and all(len(ax.patches) >= 9 for ax in fig.axes)  # 3 regions x 3 shares per panel
    layers = pd.DataFrame({"iou": [0.1, 0.3], "energy_share": [0.2, 0.4], "pointing_hit": [0.5, 1.0], "region_area": [0.05, 0.05]},
                          index=pd.Index(["layer1", "layer2"], name="layer"))
    assert len(explain_plots.localisation_by_layer(layers).axes[0].lines) == 4


def test_example_labels_break_before_the_prediction_so_they_fit_a_panel():
    maps = {"labels": np.array([1]), "preds": np.array([1])}
    label = classification_plots.example_label(maps, ["clean", "contaminated"], 0)
    assert label == "contaminated\n(predicted contaminated)" and max(map(len, label.splitlines())) <= 24


def test_road_figure_has_a_panel_per_variance_and_a_colour_per_model_only_where_there_are_several():
    one = pd.DataFrame({"model": "ResNet50", "method": ["gradcam", "random"] * 4, "image": np.repeat(np.arange(4), 2),
                        "road": np.linspace(-0.2, 0.3, 8)})
    fig = explain_plots.road_bars(one, "one model")
    assert len(fig.axes) == 1 and fig.axes[0].get_legend() is None
    several = pd.concat([one.assign(model=m, variance=v) for m in ("a", "b") for v in (0.0, 1.5)])
    fig = explain_plots.road_bars(several, "two models, two variances")
    assert len(fig.axes) == 2 and len(fig.legends) == 1


def test_entry_intervals_draw_one_row_per_entry_and_a_panel_per_score():
    per_seed = pd.DataFrame({"seed": [0, 0, 1, 1], "model": ["a", "b"] * 2, "method": "gradcam", "iou": [0.2, 0.4, 0.3, 0.5],
                             "energy_share": [0.5, 0.6, 0.55, 0.65]})
    across = across_seeds(per_seed, ["model", "method"], ["iou", "energy_share"])
    fig = classification_plots.entry_intervals(across, {"iou": "IoU", "energy_share": "energy"})
    assert len(fig.axes) == 2 and [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a, gradcam", "b, gradcam"]
    one = classification_plots.entry_intervals(across_seeds(per_seed[per_seed.seed == 0], ["model", "method"], ["iou"]), {"iou": "IoU"})
    assert len(one.axes) == 1
