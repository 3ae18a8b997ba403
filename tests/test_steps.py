"""The one-call steps the notebooks are made of: dataset cards and checks, the tables and example
figures of notebooks 05-07, settings tables."""
import numpy as np
import pandas as pd
import pytest
from conftest import CLASSES

from lib.classification import models as classification_models, plots as classification_plots, tables
from lib.classification.resnet import ClassifierConfig
from lib.data import cards, plots as data_plots, read, validate
from lib.study.profiles import SMOKE
from lib.study import reporting
from lib.study.reporting import Study, settings_table

def test_dataset_steps(tiny_sets):
    all_cards = cards.dataset_cards(tiny_sets)
    assert list(all_cards) == list(tiny_sets) and "features: rectangular" in " ".join(reporting.displayed(all_cards["microparts"]).columns)
    assert all_cards["surfaces"].total.sum() == 8
    assert validate.layout_report(tiny_sets).splitlines() == [f"{n}: 0 layout problem(s)" for n in tiny_sets]
    objects = read.detection_objects(tiny_sets["microparts"])
    stem = objects.image.iloc[0]
    image = read.load_rgb(read.find_image(tiny_sets["microparts"] / "images" / objects.split.iloc[0], stem))
    boxes = objects.loc[objects.image == stem, ["x1", "y1", "x2", "y2"]].to_numpy(float)
    fig = data_plots.occlusion_examples(image, boxes, (0.3, 0.7), seed=0, kinds=("black",))
    assert sum(bool(ax.images) for ax in fig.axes) == 3 and "measured" in fig.axes[1].get_title()


def test_difficulty_verdicts_follow_the_threshold():
    table = pd.DataFrame({"accuracy": [0.99, 0.6], "majority_rate": [0.5, 0.5]}, index=["easy", "fair"])
    easy, fair = cards.difficulty_verdicts(table)
    assert easy.endswith("TOO EASY: fix the generator") and fair.endswith("no global shortcut")


def test_read_image_modes_and_a_broken_file(tmp_path, capfd):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.dstack([np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8), np.full((4, 5), 200, np.uint8)]))
    assert read.read_image(tmp_path / "a.png", "rgb")[0, 0].tolist() == [200, 0, 0]  # BGR on disk, RGB in memory
    assert read.read_image(tmp_path / "a.png", "grey").shape == (4, 5)
    (tmp_path / "b.png").write_bytes(b"not a png")
    capfd.readouterr()
    assert read.read_image(tmp_path / "b.png") is None and capfd.readouterr().err == ""
    with pytest.raises(OSError, match="cannot decode"):
        read.load_rgb(tmp_path / "b.png")


def _maps(toy):
    """A split's saved maps as split_maps writes them, made by hand: a map that lights each mask."""
    files = sorted(str(p.relative_to(toy)) for p in (toy / "test").rglob("*.png"))
    labels = np.array([CLASSES.index(f.split("/")[1]) for f in files])
    masks = [read.load_mask(toy, f).astype(np.float32) for f in files]
    maps = {"files": np.array(files), "labels": labels, "preds": labels.copy(), "guided": np.stack(masks)}
    maps.update({f"cam_{s}": np.stack(masks) for s in ("layer1", "layer2", "layer3", "layer4")})
    return maps


def test_tables_of_the_classifier_notebooks(toy):
    maps = _maps(toy)
    table3, thresholded = tables.xu2024_table3(maps, list(CLASSES), 0.5)
    assert list(table3.index) == list(CLASSES) and "mean_x_weighted" in table3.columns and "mean_x_xu2024" in table3.columns
    assert table3.loc["disc", "mean_x"] == pytest.approx(thresholded.loc["disc", "mean_x"])
    regions = tables.droplet_regions(toy, maps, list(CLASSES), 0.5)
    assert set(regions.index.get_level_values("map")) == set(tables.DROPLET_MAPS)
    assert (regions.background_energy < 0.01).all()  # the maps are the masks: no energy outside the object
    layers = tables.layer_localisation(toy, maps, list(CLASSES), "bar", 0.5)
    assert list(layers.index) == ["layer1", "layer2", "layer3", "layer4"] and (layers.iou == 1).all()
    summary = pd.DataFrame({"p_pred": [0.9, 0.5, 0.8, 0.4], "accuracy": [1.0, 0.5, 0.9, 0.4]},
                           index=pd.MultiIndex.from_product([["DropKey 0.1", "DropKey 0.4"], [0.0, 1.5]], names=["model", "variance"]))
    ratios = tables.mask_ratio_table(summary)
    assert list(ratios.columns) == [0.0, 1.5, "clean_accuracy"]
    assert list(reporting.displayed(ratios).columns) == ["confidence at 0.0", "confidence at 1.5", "clean accuracy"]
    assert ratios.loc["DropKey 0.4"].tolist() == [0.8, 0.4, 0.9]


def test_example_figures_of_the_classifier_notebooks(toy):
    maps = _maps(toy)
    picks = classification_plots.pick_examples(maps["labels"], maps["preds"], len(CLASSES))
    assert len(classification_plots.droplet_examples(toy, maps, picks, CLASSES).axes) == 3 * len(picks)
    fig = classification_plots.layer_examples(toy, maps, picks, CLASSES)
    assert len(fig.axes) == 5 * len(picks) and fig.axes[0].get_ylabel() == "disc\n(predicted disc)"
    assert len(classification_plots.class_mean_maps(maps, CLASSES).axes) == 2 * len(CLASSES)


def test_head_set_and_settings_table(isolated):
    study = Study.start("smoke")
    heads = classification_models.head_configs(study, 0.1, [0.1, 0.4])
    assert list(heads) == ["none", "dropout", 0.1, 0.4] and heads[0.4].regulariser == "dropkey" and heads["dropout"].rate == 0.1
    assert list(classification_models.head_configs(study, 0.2, [0.1])) == ["none", "dropout", 0.1, 0.2]
    assert heads["none"].epochs == SMOKE.classifier.head_epochs
    config = ClassifierConfig("toy", CLASSES, imgsz=32, epochs=1, batch=2)
    table = settings_table(config, skip=["classes"])
    assert table.loc["imgsz", "setting"] == "32" and "classes" not in table.index
