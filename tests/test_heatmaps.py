import numpy as np
import pandas as pd
import pytest

from lib.explain import heatmaps


def square(n=20, y0=5, y1=10, x0=5, x1=15):
    m = np.zeros((n, n), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_pixel_iou_known_answers():
    a, b = square(x0=0, x1=10), square(x0=5, x1=15)  # 25 shared of 75 covered
    assert heatmaps.pixel_iou(a, b) == pytest.approx(25 / 75)
    assert heatmaps.pixel_iou(a, a) == 1.0
    assert heatmaps.pixel_iou(a, ~a) == 0.0
    assert np.isnan(heatmaps.pixel_iou(np.zeros((4, 4)), np.zeros((4, 4))))
    with pytest.raises(ValueError, match="shape"):
        heatmaps.pixel_iou(a, a[:5])


def test_highlight_threshold_otsu_and_top():
    h = np.zeros((10, 10))
    h[2:4, 2:4] = 1.0   # 4 pixels at the peak
    h[6:8, 6:9] = 0.4   # 6 pixels below half maximum
    assert heatmaps.highlight(h).sum() == 4
    assert heatmaps.highlight(h, threshold=0.3).sum() == 10
    assert heatmaps.highlight(h * 7.0).sum() == 4  # scale-free
    assert heatmaps.highlight(h, method="otsu").sum() in (4, 10)
    assert heatmaps.highlight(h, method="top", top_percent=4).sum() == 4
    assert not heatmaps.highlight(np.zeros((5, 5))).any()
    with pytest.raises(ValueError, match="threshold, otsu, top"):
        heatmaps.highlight(h, method="mean")
    with pytest.raises(ValueError, match="threshold"):
        heatmaps.highlight(h, threshold=1.5)


def test_energy_share_and_pointing():
    h = np.zeros((10, 10))
    h[1, 1], h[8, 8] = 3.0, 1.0
    region = np.zeros((10, 10), bool)
    region[:5, :5] = True
    assert heatmaps.energy_share(h, region) == pytest.approx(0.75)
    assert heatmaps.pointing_hit(h, region) and not heatmaps.pointing_hit(h, ~region)
    assert np.isnan(heatmaps.energy_share(np.zeros((3, 3)), np.ones((3, 3), bool)))


def test_coordinate_stats_known_answers():
    maps = np.zeros((2, 9, 9))
    maps[0, 2, 1] = maps[0, 2, 3] = 1.0   # x = 1, 3 at y = 2
    maps[1, 6, 5] = maps[1, 6, 7] = 1.0   # x = 5, 7 at y = 6
    s = heatmaps.coordinate_stats(maps)
    xs, ys = np.array([1, 3, 5, 7]), np.array([2, 2, 6, 6])
    assert (s["mean_x"], s["mean_y"]) == pytest.approx((xs.mean(), ys.mean()))
    assert (s["std_x"], s["std_y"]) == pytest.approx((xs.std(ddof=0), ys.std(ddof=0)))  # population std
    assert s["pixels"] == 4
    # weighted: a pixel at half intensity counts half
    maps[1, 6, 7] = 0.5
    w = heatmaps.coordinate_stats(maps, weighted=True)
    weights = np.array([1, 1, 1, 0.5])
    assert w["mean_x"] == pytest.approx(np.average(xs, weights=weights))
    assert w["std_x"] == pytest.approx(np.sqrt(np.average((xs - np.average(xs, weights=weights)) ** 2, weights=weights)))
    with pytest.raises(ValueError, match="stack"):
        heatmaps.coordinate_stats(np.zeros((9, 9)))


def test_region_bands_partition_the_image():
    mask = np.zeros((225, 225), bool)
    mask[60:160, 60:160] = True
    bands = heatmaps.region_bands(mask)
    total = sum(b.astype(int) for b in bands.values())
    assert (total == 1).all()  # disjoint and covering
    assert bands["edge"][60, 100] and bands["edge"][55, 100] and not bands["edge"][110, 110]
    assert bands["interior"][110, 110] and bands["background"][10, 10]
    # a map lit only on the outline puts all its highlight on the edge band
    outline = np.zeros((225, 225))
    outline[60, 60:160] = 1.0
    shares = heatmaps.region_shares(outline, mask)
    assert shares["edge_highlight"] == 1.0 and shares["interior_highlight"] == 0.0
    assert shares["edge_area"] + shares["interior_area"] + shares["background_area"] == pytest.approx(1.0)


def test_split_tables():
    maps = np.zeros((3, 30, 30))
    maps[0, 5, 5] = maps[1, 20, 20] = maps[2, 10, 10] = 1.0
    labels = np.array([0, 1, 1])
    table = heatmaps.class_coordinate_table(maps, labels, ("a", "b", "c"))
    assert table.loc["a", "mean_x"] == 5 and table.loc["b", "mean_x"] == 15 and table.loc["c", "images"] == 0
    mask = np.zeros((30, 30), bool)
    mask[15:25, 15:25] = True
    shares = heatmaps.region_share_table(maps, [mask, mask, None], labels, ("a", "b", "c"))
    assert list(shares.index) == ["a", "b"]  # the image without a mask is left out
    assert shares.loc["b", "interior_highlight"] == 1.0 and shares.loc["a", "background_highlight"] == 1.0
    assert heatmaps.region_share_table(maps, [None] * 3, labels, ("a", "b", "c")).empty
    loc = heatmaps.localisation_table({"l1": maps, "l2": maps[[1, 0, 2]]}, [mask, None, mask])
    assert loc.loc["l1", "images"] == 2 and loc.loc["l1", "pointing_hit"] == 0.0 and loc.loc["l2", "pointing_hit"] == 0.5


def test_region_enrichment_and_its_summary():
    regions = pd.DataFrame({"edge_energy": [0.4, 0.2], "edge_area": [0.2, 0.2], "interior_energy": [0.3, 0.3],
                            "interior_area": [0.3, 0.3], "background_energy": [0.3, 0.5], "background_area": [0.5, 0.5]},
                           index=pd.MultiIndex.from_tuples([("Grad-CAM", "a"), ("Grad-CAM", "b")], names=["map", "class"]))
    e = heatmaps.region_enrichment(regions)
    assert e.edge.tolist() == [2.0, 1.0] and e.interior.tolist() == [1.0, 1.0] and e.background.tolist() == [0.6, 1.0]
    (line,) = heatmaps.enrichment_summary(e)
    assert line.startswith("Grad-CAM: edge band x1.50, interior x1.00, background x0.80") and line.endswith("is the edge")


def test_depth_trend_and_tables_without_masks():
    rising = pd.Series([0.1, 0.2, 0.3, 0.5], index=["layer1", "layer2", "layer3", "layer4"])
    assert ("sharpens with depth: reproduced (rises at 3 of 3 steps; layer4 above layer1) | layer4 vs layer1: +0.400 | "
            "best stage: layer4") in heatmaps.depth_trend(rising)
    mixed = pd.Series([0.3, 0.2, 0.4], index=["a", "b", "c"])
    assert "direction only (rises at 1 of 2 steps; c above a) | c vs a: +0.100 | best stage: c" in heatmaps.depth_trend(mixed)
    falling = pd.Series([0.3, 0.4, 0.1], index=["a", "b", "c"])
    assert "contradicted (rises at 1 of 2 steps; c not above a)" in heatmaps.depth_trend(falling)
    maps = np.random.default_rng(0).random((2, 8, 8))
    assert heatmaps.localisation_table({"layer4": maps}, [None, None]).empty
    assert heatmaps.region_share_table(maps, [None, None], np.array([0, 1]), ["a", "b"]).empty
