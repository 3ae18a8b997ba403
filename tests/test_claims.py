"""The claims ledger: verdicts follow the tables, by the stated rules."""
import numpy as np
import pandas as pd
import pytest

from lib.study import claims, paths
from lib.study.evidence import ONE_READING, VERDICTS, Evidence, rises_with_depth
from lib.study.profiles import PAPER, QUICK
from lib.study.verdicts import (Accuracy, AtLeast, AtVariance, Classifies, Concentrated, Difference, EveryModelLearned, Extreme, Given,
                                Level, Readings, SavedDifference, Survives, Untestable)


def tables_from(frames: dict[str, pd.DataFrame]):
    def read(name):
        if name not in frames:
            raise claims.MissingTable(f"table {name} not written yet")
        return frames[name]
    return read


def accuracy_table(acc, n=119, majority=0.336):
    return {"droplet_test_accuracy": pd.DataFrame({"model": ["ResNet50"], "test images": [n], "accuracy": [acc],
                                                   "majority-class rate": [majority]})}


@pytest.mark.parametrize("acc, verdict", [(0.93, "reproduced"), (0.47, "direction only"), (0.35, "contradicted")])
def test_an_accuracy_verdict_follows_the_table(acc, verdict):
    e = Accuracy("droplet_test_accuracy", 0.9143)(tables_from(accuracy_table(acc)))
    assert e.verdict == verdict and e.value == acc and e.low < acc < e.high


def per_seed(values_a, values_b, column="mAP50"):
    seeds = range(len(values_a))
    return pd.DataFrame({"model": ["A"] * len(values_a) + ["B"] * len(values_b), "seed": [*seeds, *seeds],
                         "occlusion": 0.7, column: [*values_a, *values_b]})


@pytest.mark.parametrize("b, verdict", [([0.60, 0.62, 0.61], "reproduced"), ([0.55, 0.57, 0.54], "direction only"),
                                        ([0.45, 0.55, 0.52], "inconclusive"), ([0.49, 0.52, 0.50], "contradicted"),
                                        ([0.40, 0.41, 0.42], "contradicted")])
def test_a_comparison_is_decided_across_seeds(b, verdict):
    rule = Difference("t", "model", "A", "B", "mAP50", 0.1, {"occlusion": 0.7})
    e = rule(tables_from({"t": per_seed([0.50, 0.51, 0.49], b)}))
    assert e.verdict == verdict and "3 seeds" in e.reason
    assert e.low < e.value < e.high


def test_a_comparison_on_one_seed_is_untestable_but_shows_its_value():
    rule = Difference("t", "model", "A", "B", "mAP50", 0.1, {"occlusion": 0.7})
    e = rule(tables_from({"t": per_seed([0.5], [0.7]).drop(columns="seed")}))
    assert e.verdict == "untestable here" and "one training seed" in e.reason and e.value == pytest.approx(0.2)
    saved = pd.DataFrame({"score": ["iou"], "class": ["all"], "difference": [0.03], "low": [0.01], "high": [0.06]})
    e = SavedDifference("p", {"score": "iou", "class": "all"}, "difference", 0.28)(tables_from({"p": saved}))
    assert e.verdict == "untestable here" and (e.low, e.high) == (0.01, 0.06) and "over features" in e.reason


def test_a_claim_without_a_size_needs_only_its_direction():
    rule = Difference("t", "model", "A", "B", "mAP50", None, sign=-1)
    assert rule(tables_from({"t": per_seed([0.5, 0.52, 0.51], [0.4, 0.41, 0.43])})).verdict == "reproduced"
    assert rule(tables_from({"t": per_seed([0.4, 0.41, 0.43], [0.5, 0.52, 0.51])})).verdict == "contradicted"
    assert rule(tables_from({"t": per_seed([0.5, 0.52, 0.51], [0.45, 0.55, 0.52])})).verdict == "inconclusive"


def test_levels_orderings_and_concentration():
    t = pd.DataFrame({"model": ["A"], "variance": [0.6], "confidence": [0.85]})
    assert Level("t", {"model": "A", "variance": 0.6}, "confidence", 0.878, 0.05)(tables_from({"t": t})).verdict == "reproduced"
    assert Level("t", {"model": "A"}, "confidence", 0.95, 0.05)(tables_from({"t": t})).verdict == "contradicted"
    stds = pd.DataFrame({"class": ["circular", "jagged"], "std_x": [20.0, 40.0], "std_y": [30.0, 20.0]})
    assert Extreme("s", "class", "jagged", ("std_x", "std_y"), largest=True)(tables_from({"s": stds})).verdict == "reproduced"
    assert Extreme("s", "class", "jagged", ("std_y",), largest=True)(tables_from({"s": stds})).verdict == "contradicted"
    regions = pd.DataFrame({"map": "Grad-CAM", "class": ["a", "b"], "edge_highlight": [0.4, 0.2], "edge_area": [0.1, 0.1],
                            "interior_highlight": [0.4, 0.2], "interior_area": [0.2, 0.2]})
    e = Concentrated("r", {"map": "Grad-CAM"})(tables_from({"r": regions}))
    assert e.verdict == "direction only" and e.value == pytest.approx(4 / 3)
    assert "smallest enrichment 1.33 (b)" in e.reason
    energy = regions.assign(edge_energy=[0.05, 0.05], interior_energy=[0.05, 0.05])
    e = Concentrated("r", {"map": "Grad-CAM"}, measure="energy")(tables_from({"r": energy}))
    assert e.verdict == "contradicted" and e.value == pytest.approx(1 / 3)


def test_a_level_across_seeds_is_inconclusive_where_its_interval_straddles_the_floor():
    def seeds(values):
        return tables_from({"t": pd.DataFrame({"seed": [0, 1, 2], "model": "A", "mAP50": values})})
    rule = Level("t", {"model": "A"}, "mAP50", 0.995, 0.02)
    assert rule(seeds([0.990, 0.985, 0.993])).verdict == "reproduced"
    straddles = rule(seeds([0.960, 0.975, 0.985]))
    assert straddles.verdict == "inconclusive" and straddles.low < 0.975 < straddles.high and "straddles 0.975" in straddles.reason
    assert rule(seeds([0.971, 0.973, 0.971])).verdict == "contradicted"


def test_map_claims_wait_for_a_model_that_learned():
    stds = {"s": pd.DataFrame({"class": ["circular", "jagged"], "std_x": [20.0, 40.0], "std_y": [30.0, 20.0]})}
    rule = Given(Accuracy("droplet_test_accuracy", 0.9143), Extreme("s", "class", "jagged", ("std_x", "std_y"), largest=True))
    weak = rule(tables_from(accuracy_table(0.47) | stds))
    assert weak.verdict == "untestable here" and "has not learned its task" in weak.reason and "0.470: direction only" in weak.reason
    assert rule(tables_from(accuracy_table(0.93) | stds)).verdict == "reproduced" and rule.table == "s"


def test_a_comparison_where_every_model_guesses_is_untestable():
    def noisy(a, b):
        return {"n": pd.DataFrame({"seed": [0, 1, 2] * 2, "model": ["A"] * 3 + ["B"] * 3, "variance": 0.6, "space": "normalised",
                                   "confidence": [0.5, 0.52, 0.48, 0.9, 0.91, 0.92], "accuracy": a + b})}
    rule = Classifies(Difference("n", "model", "A", "B", "confidence", 0.397, {"variance": 0.6}), "n",
                      {"space": "normalised", "variance": 0.6}, ("A", "B"), chance=0.25)
    guessing = rule(tables_from(noisy([0.26, 0.24, 0.27], [0.25, 0.27, 0.22])))
    assert guessing.verdict == "untestable here" and "every compared model is at chance" in guessing.reason
    assert "variance 0.6" in guessing.reason and "A 0.257" in guessing.reason
    read = rule(tables_from(noisy([0.26, 0.24, 0.27], [0.9, 0.85, 0.95])))  # one of them still classifies
    assert read.verdict == "reproduced" and "read at space normalised, variance 0.6" in read.reason
    assert rule.table == "n" and "at chance (0.25)" in rule.text


def test_every_model_of_every_seed_must_have_learned():
    t = pd.DataFrame({"seed": [0, 0, 1, 1], "model": ["A", "B", "A", "B"], "accuracy": [0.95, 0.93, 0.91, 0.87]})
    e = EveryModelLearned("t", 0.90)(tables_from({"t": t}))
    assert e.verdict == "contradicted" and "seed 1 B 0.870" in e.reason and e.value == pytest.approx(0.87)
    assert "seed 0" not in e.reason
    ok = EveryModelLearned("t", 0.85)(tables_from({"t": t}))
    assert ok.verdict == "reproduced" and "2 seeds" in ok.reason and "seed 1 B" in ok.reason
    gated = Given(EveryModelLearned("t", 0.90), Untestable("never read"))(tables_from({"t": t}))
    assert gated.verdict == "untestable here" and "seed 1 B 0.870" in gated.reason


def test_a_share_against_a_stated_level_and_readings_that_may_disagree():
    t = pd.DataFrame({"seed": [0, 1, 2] * 2, "space": ["normalised"] * 3 + ["pixels"] * 3, "retained": [0.7, 0.68, 0.72, 0.1, 0.2, 0.1]})
    at_least = {space: AtLeast("t", {"space": space}, "retained", 0.5) for space in ("normalised", "pixels")}
    assert at_least["normalised"](tables_from({"t": t})).verdict == "reproduced"
    low = at_least["pixels"](tables_from({"t": t}))
    assert low.verdict == "contradicted" and 0 <= low.low <= low.high <= 1
    assert AtLeast("t", {"space": "normalised"}, "retained", 0.7)(tables_from({"t": t})).verdict == "inconclusive"
    both = Readings((("normalised space", at_least["normalised"]), ("pixels space", at_least["pixels"])))
    e = both(tables_from({"t": t}))
    assert e.verdict == "reproduced" and e.reason.startswith("normalised space: interval at or above 0.5")
    assert e.robust == "no (pixels space: contradicted)" and e.readings == (("normalised space", "reproduced"),
                                                                         ("pixels space", "contradicted"))
    assert e.value == pytest.approx(0.7) and both.table == "t"
    same = Readings((("normalised space", at_least["normalised"]), ("again", at_least["normalised"])))(tables_from({"t": t}))
    assert same.robust == "yes" and at_least["normalised"](tables_from({"t": t})).robust == ONE_READING


def test_a_rule_read_at_a_variance_per_seed_says_which():
    t = pd.DataFrame({"seed": [0, 0, 1, 1], "space": "normalised", "model": ["A", "B"] * 2, "variance": [0.03, 0.03, 0.05, 0.05],
                      "confidence": [0.5, 0.7, 0.4, 0.6]})
    rule = AtVariance(Difference("t", "model", "A", "B", "confidence", None, {"space": "normalised"}), {"space": "normalised"})
    e = rule(tables_from({"t": t}))
    assert e.verdict == "reproduced" and "read at variance 0.03, 0.05 (seeds 0, 1)" in e.reason
    missing = rule(tables_from({"t": t.assign(variance=[0.03, 0.03, np.nan, np.nan])}))
    assert missing.verdict == "untestable here" and "seed 1" in missing.reason


def control(difference, low, high, seeds=None):
    t = pd.DataFrame({"method": "gradcam", "energy_share_difference": difference, "energy_share_difference_low": low,
                      "energy_share_difference_high": high}, index=range(len(difference)))
    return t if seeds is None else t.assign(seed=seeds)


def test_a_control_is_decided_over_images_for_one_model_and_across_seeds_for_several():
    rule = claims.beats_randomised("c", {"method": "gradcam"})
    assert rule(tables_from({"c": control([0.10], [0.04], [0.16])})).verdict == "reproduced"
    e = rule(tables_from({"c": control([0.10], [-0.02], [0.22])}))
    assert e.verdict == "inconclusive" and "over images" in e.reason and (e.low, e.high) == (-0.02, 0.22)
    assert rule(tables_from({"c": control([-0.10], [-0.16], [-0.04])})).verdict == "contradicted"
    e = rule(tables_from({"c": control([0.10, 0.12, 0.11], [0.0] * 3, [0.2] * 3, seeds=[0, 1, 2])}))
    assert e.verdict == "reproduced" and "3 seeds" in e.reason and e.low > 0
    assert rule(tables_from({"c": control([0.10, -0.12, 0.01], [0.0] * 3, [0.2] * 3, seeds=[0, 1, 2])})).verdict == "inconclusive"
    assert rule(tables_from({"c": control([float("nan")], [float("nan")], [float("nan")])})).verdict == "untestable here"


def test_a_map_reading_survives_only_where_the_maps_beat_the_control():
    regions = pd.DataFrame({"map": "Grad-CAM", "class": ["a", "b"], "edge_highlight": [0.3, 0.3], "edge_area": [0.1, 0.1],
                            "interior_highlight": [0.4, 0.4], "interior_area": [0.1, 0.1]})
    rule = Survives(claims.beats_randomised("c", {"method": "gradcam"}), Concentrated("r", {"map": "Grad-CAM"}))
    held = rule(tables_from({"r": regions, "c": control([0.10], [0.04], [0.16])}))
    assert held.verdict == "reproduced" and "control holds" in held.reason and held.value == pytest.approx(3.5)
    failed = rule(tables_from({"r": regions, "c": control([0.01], [-0.03], [0.05])}))
    assert failed.verdict == "inconclusive" and "do not beat the control" in failed.reason and rule.table == "r"
    worse = rule(tables_from({"r": regions, "c": control([-0.05], [-0.08], [-0.02])}))
    assert worse.verdict == "contradicted" and "do not beat the control" in worse.reason


def test_a_notebook_reads_back_the_claims_of_the_tables_it_writes():
    occlusion = claims.about("xu2024_table2_occlusion")
    assert {c.id for c in occlusion} >= {"xu-occlusion-70-level", "xu-occlusion-70-gain", "xu-clean-baseline"}
    assert all(c.rule.table == "xu2024_table2_occlusion" for c in occlusion) and claims.about("no such table") == ()
    shown = claims.verdicts(tables_from({}), occlusion)
    assert list(shown.index) == [c.id for c in occlusion] and set(shown.verdict) == {"untestable here"}
    assert list(shown.columns) == ["claim", "paper_value", "value", "low", "high", "verdict", "reason"]


def test_rises_with_depth():
    layers = ["layer1", "layer2", "layer3", "layer4"]
    assert rises_with_depth(pd.Series([0.1, 0.2, 0.3, 0.4], index=layers)).verdict == "reproduced"
    assert rises_with_depth(pd.Series([0.1, 0.3, 0.2, 0.4], index=layers)).verdict == "direction only"
    e = rises_with_depth(pd.Series([0.018, 0.019, 0.010, 0.013], index=layers))
    assert e.verdict == "contradicted" and e.reason == "rises at 2 of 3 steps; layer4 not above layer1"  # not "sharpens"


def test_unknown_verdicts_are_refused():
    with pytest.raises(ValueError, match="unknown verdict"):
        Evidence("confirmed", "")


def test_the_ledger_covers_both_papers_and_says_why_it_cannot_decide(tmp_path):
    ledger = claims.ledger(claims.Tables(tmp_path))
    assert len(ledger) >= 28 and ledger.index.is_unique and set(ledger.paper) == {"xu2024", "liu2023"}
    assert (ledger.rule.str.len() > 0).all() and set(ledger.verdict) <= set(VERDICTS)
    assert (ledger.verdict == "untestable here").all()
    missing = ledger[~ledger.rule.str.startswith("none")]
    assert len(missing) >= 28 and missing.reason.str.contains("not written yet").all()
    assert ledger.loc["xu-table3-gourd"].source == "xu2024_table3_droplet_centroids.csv"  # decided by the generator
    counts = claims.verdict_counts(ledger)
    assert list(counts.columns) == list(VERDICTS) and counts.to_numpy().sum() == len(ledger)


def test_the_ledger_reads_staged_tables_before_published_ones(tmp_path):
    staged, published = tmp_path / "staged", tmp_path / "published"
    for folder, acc in ((staged, 0.95), (published, 0.30)):
        folder.mkdir()
        accuracy_table(acc)["droplet_test_accuracy"].to_csv(folder / "droplet_test_accuracy.csv", index=False)
    row = claims.ledger(claims.Tables(staged, published)).loc["xu-droplet-accuracy"]
    assert row.verdict == "reproduced" and row.value == 0.95 and row.source == "droplet_test_accuracy.csv"
    (staged / "droplet_test_accuracy.csv").unlink()
    assert claims.ledger(claims.Tables(staged, published)).loc["xu-droplet-accuracy"].verdict == "contradicted"


def test_the_papers_own_arithmetic_is_checked():
    assert claims.table1_arithmetic() == "the paper prints 27.72 for semicircular, but 44.86 - 17.16 = 27.70"


def test_the_readme_shows_the_committed_ledger_and_that_ledger_follows_the_committed_tables():
    reference = paths.FIGURES_DIR / "quick"
    committed = claims.read_ledger(reference / "claims.csv")
    block = (paths.REPO_ROOT / "README.md").read_text().split(claims.README_START)[1].split(claims.README_END)[0]
    assert block.strip() == claims.markdown_ledger(committed), "README out of date: run ./run_all.sh"
    recomputed = claims.ledger(claims.Tables(reference))
    assert list(recomputed.verdict) == list(committed.verdict), "the rules now read the committed tables differently"
    pd.testing.assert_series_equal(recomputed.value.astype(float), committed.value.astype(float), atol=1e-4)


def test_the_readme_block_is_replaced_not_stacked(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{claims.README_START}\nold\n{claims.README_END}\nrest\n")
    claims.ledger(claims.Tables(tmp_path)).to_csv(tmp_path / "claims.csv")
    assert claims.update_readme(readme, tmp_path / "claims.csv")
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text and text.count(claims.README_START) == 1
    assert not claims.update_readme(readme, tmp_path / "claims.csv")  # unchanged the second time


def test_liu2023_rows_are_read_where_the_models_classify_and_at_the_matched_point():
    models = ["ResNet50", "ResNet50+Dropout", "ResNet50+DropKey", "ResNet50+attention"]
    seeds = [0, 1, 2]
    sweep = pd.DataFrame([{"seed": s, "space": space, "model": m, "variance": v, claims.CONFIDENCE: 0.9, "p_true": 0.3,
                           "accuracy": 0.25 + 0.01 * s, "retained": 0.25}
                          for s in seeds for space in claims.NOISE_SPACES for m in models for v in (0.5, 0.6, 1.5, 2.0)])
    learned = pd.DataFrame([{"seed": s, "model": m, "accuracy": 0.95} for s in seeds for m in models])
    matched = pd.DataFrame([{"seed": s, "space": space, "model": m, "variance": 0.02 + 0.01 * s,
                             claims.CONFIDENCE: {"ResNet50+DropKey": 0.8, "ResNet50+Dropout": 0.7}.get(m, 0.6) + 0.01 * s,
                             "p_true": 0.5, "accuracy": 0.6, "iou": 0.3, "energy_share": 0.4, "road": 0.1 + 0.01 * s}
                            for s in seeds for space in claims.NOISE_SPACES for m in models])
    ledger = claims.ledger(tables_from({claims.LIU: sweep, "liu2023_test_accuracy": learned, claims.MATCHED: matched}),
                           claims.of_paper("liu2023"))
    at_chance = ledger.loc["liu-dropkey-vs-plain-06"]
    assert at_chance.verdict == "untestable here" and "every compared model is at chance" in at_chance.reason
    assert "variance 0.6" in at_chance.reason and at_chance.robust == "yes"
    assert ledger.loc["liu-never-misclassifies"].verdict == "untestable here"
    read = ledger.loc["liu-matched-dropkey-vs-plain"]
    assert read.verdict == "direction only" and read.value == pytest.approx(0.2)  # short of the paper's +0.397
    assert "read at variance 0.02, 0.03, 0.04 (seeds 0, 1, 2)" in read.reason and read.robust == "yes"
    assert ledger.loc["liu-matched-dropkey-vs-dropout"].verdict == "direction only"
    assert ledger.loc["liu-matched-localises"].verdict == "contradicted"  # no difference in IoU, in every seed
    weak = claims.ledger(tables_from({claims.LIU: sweep, "liu2023_test_accuracy": learned.assign(
        accuracy=[0.95] * 11 + [0.88]), claims.MATCHED: matched}), claims.of_paper("liu2023"))
    assert (weak.verdict == "untestable here").all() and weak.reason.str.contains("seed 2 ResNet50\\+attention 0.880").all()


@pytest.mark.parametrize("verdict", VERDICTS)
def test_each_verdict_word_follows_from_a_table(verdict):
    """A comparison across three seeds for each word the ledger uses (the paper: B above A by 0.1)."""
    a = [0.50, 0.51, 0.49]
    b = {"reproduced": [0.60, 0.62, 0.61], "direction only": [0.55, 0.57, 0.54], "inconclusive": [0.45, 0.55, 0.52],
         "contradicted": [0.40, 0.41, 0.42], "untestable here": [0.6]}[verdict]
    table = per_seed(a[: len(b)], b)
    rule = Difference("t", "model", "A", "B", "mAP50", 0.1, {"occlusion": 0.7})
    assert rule(tables_from({"t": table if len(b) > 1 else table.drop(columns="seed")})).verdict == verdict


def test_a_claim_whose_readings_disagree_is_flagged_not_robust(tmp_path):
    table = pd.DataFrame({"seed": [0, 1, 2] * 2, "occlusion": 0.0, "model": ["YOLOv5"] * 3 + ["YOLOv5-CBAM"] * 3,
                          "mAP50": [0.971, 0.973, 0.971, 0.99, 0.99, 0.99], "mAP50-95": 0.8})
    table.to_csv(tmp_path / "xu2024_table2_occlusion.csv", index=False)
    ledger = claims.ledger(claims.Tables(tmp_path), claims.about("xu2024_table2_occlusion"), QUICK)
    baseline = ledger.loc["xu-clean-baseline"]  # below 0.975, within 0.05 of 0.995
    assert baseline.verdict == "contradicted" and baseline.robust == "no (within 0.05: reproduced)"
    assert ledger.loc["xu-clean-cbam"].robust == "yes" and ledger.loc["xu-occlusion-70-gain"].robust == ONE_READING
    assert "Of the 2 read in more than one way" in claims.headline(ledger) and "1 keeps its verdict" in claims.headline(ledger)
    assert claims.robust_counts(ledger).to_dict() == {"yes": 1, "no": 1, ONE_READING: len(ledger) - 2}


def test_departures_name_the_settings_that_matter_for_a_claim():
    assert claims.layer4_side(225) == 8 and claims.layer4_side(128) == 4
    assert claims.departures(claims.DETECTOR_SETUP, PAPER) == "" and claims.departures(claims.LIU_SETUP, PAPER) == ""
    detector = claims.departures(claims.DETECTOR_SETUP, QUICK)
    assert "detector.scale: n (paper: s)" in detector and "detector.imgsz: 160 (paper: 640)" in detector
    assert "layer4 is a 4×4 grid" in claims.departures(claims.LIU_SETUP, QUICK)
    assert claims.departures(claims.SURFACE_SETUP, QUICK).endswith("the surface classifier trains 30 epochs (paper: 80)")
    with pytest.raises(KeyError, match="no such settings"):
        claims.departures(("detector.nothing",), QUICK)
    assert all(set(c.departs) <= set(QUICK.settings()) | set(claims.DERIVED_DEPARTURES) for c in claims.CLAIMS)
