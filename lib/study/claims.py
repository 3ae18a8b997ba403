"""The claims ledger: each claim of xu2024 and liu2023, the study's value with its interval, and a
verdict computed from the saved tables by a stated rule (:mod:`.verdicts`; notebook 08).

A :class:`Claim` names where the paper makes it, the paper's value, its rule and the settings whose
departure from the paper's matters for it. Nothing in the ledger is typed by hand but the claims
themselves: change a table and the verdict follows. Beside each verdict the ledger says whether it
survives every reading of what the paper left open (``robust``) and how the profile departs from
the paper's setup where that matters for the claim (``departs``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import paths, papers
from .cache import atomic_write_text
from .evidence import ONE_READING, VERDICTS, Evidence
from .profiles import LEARNED, PAPER, Profile
from .reporting import label
from .verdicts import (Accuracy, AtLeast, AtVariance, Beyond, Classifies, Concentrated, Difference, EveryModelLearned, Extreme,
                       Given, Level, MissingTable, Readings, RisesWithDepth, Rule, SavedDifference, Survives, Untestable)


class Tables:
    """The saved tables of one profile, read by name from the first folder that holds them (the
    staging folder of a run in progress, then the published ``figures/<profile>/``)."""

    def __init__(self, *folders: str | Path):
        self.folders = [Path(f) for f in folders]

    @classmethod
    def of_profile(cls, profile: str) -> "Tables":
        return cls(paths.figures_dir(profile), paths.FIGURES_DIR / profile)

    def __call__(self, name: str) -> pd.DataFrame:
        for folder in self.folders:
            if (folder / f"{name}.csv").is_file():
                return pd.read_csv(folder / f"{name}.csv")
        raise MissingTable(f"table {name} not written yet (run the notebook that writes it)")


def layer4_side(imgsz: int) -> int:
    """The side of ResNet50's layer4 grid for ``imgsz`` px images: five stride-2 stages, each
    rounding up (225 px: 8, 128 px: 4)."""
    for _ in range(5):
        imgsz = -(-imgsz // 2)
    return imgsz


def _layer4_grid(profile: Profile) -> str | None:
    ours, theirs = layer4_side(profile.classifier.imgsz), layer4_side(PAPER.classifier.imgsz)
    if ours == theirs:
        return None
    return (f"layer4 is a {ours}×{ours} grid ({ours * ours} tokens for the attention head, {ours * ours} cells for Grad-CAM; "
            f"paper: {theirs}×{theirs})")


def _surface_epochs(profile: Profile) -> str | None:
    ours, theirs = profile.classifier.epochs_for("surfaces"), PAPER.classifier.epochs_for("surfaces")
    return None if ours == theirs else f"the surface classifier trains {ours} epochs (paper: {theirs})"


# Departures a profile's settings imply, beside the settings themselves (:meth:`Profile.reductions`).
DERIVED_DEPARTURES = {"layer4 grid": _layer4_grid, "surface epochs": _surface_epochs}
DETECTOR_SETUP = ("detector.scale", "detector.imgsz", "detector.epochs", "data.detection_image")
DROPLET_SETUP = ("classifier.imgsz", "classifier.epochs")
SURFACE_SETUP = ("classifier.imgsz", "surface epochs")
LIU_SETUP = ("classifier.imgsz", "layer4 grid", "classifier.epochs", "classifier.finetune_epochs")


def departures(names: Sequence[str], profile: Profile) -> str:
    """How ``profile`` departs from the paper's setup in ``names`` (settings or
    :data:`DERIVED_DEPARTURES`), "; "-joined; empty where it does not."""
    found = []
    for name in names:
        if name in DERIVED_DEPARTURES:
            found.append(DERIVED_DEPARTURES[name](profile))
        else:
            found += profile.reductions([name])
    return "; ".join(f for f in found if f)


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # "xu2024" | "liu2023"
    where: str  # where the paper makes the claim
    statement: str
    paper_value: str  # as the paper prints it
    rule: Rule
    note: str = ""  # what the study noticed about the paper's own numbers
    departs: tuple[str, ...] = ()  # the settings (and DERIVED_DEPARTURES) that matter for this claim

    def assess(self, tables: Tables, profile: Profile = PAPER) -> dict:
        try:
            e = self.rule(tables)
        except (MissingTable, KeyError) as missing:
            e = Evidence("untestable here", f"no result to read: {missing}")
        return {"id": self.id, "paper": self.paper, "where": self.where, "claim": self.statement,
                "paper_value": self.paper_value, "value": e.value, "low": e.low, "high": e.high,
                "verdict": e.verdict, "reason": e.reason, "robust": e.robust, "departs": departures(self.departs, profile),
                "rule": self.rule.text, "source": f"{self.rule.table}.csv" if self.rule.table else "", "note": self.note}


def table1_arithmetic() -> str:
    """Where xu2024 Table 1's printed improvement differs from the difference of its own columns."""
    t = papers.XU2024_TABLE1
    off = t[(t["YOLOv5-CBAM"] - t["YOLOv5"] - t["improvement"]).abs() > 0.005]
    return "; ".join(f"the paper prints {r.improvement:.2f} for {c}, but {r['YOLOv5-CBAM']:.2f} - {r.YOLOv5:.2f} = "
                     f"{r['YOLOv5-CBAM'] - r.YOLOv5:.2f}" for c, r in off.iterrows())


# -- the claims -----------------------------------------------------------------------------------
B, C = papers.XU2024_BASELINE, papers.XU2024_SELECTED
T2 = "xu2024_table2_occlusion"
LIU = "confidence_vs_noise_all"
CONFIDENCE = label("p_pred")  # liu2023 Fig. 3 plots the confidence of the predicted class
CHANCE = 1 / len(papers.XU2024_TABLE3)  # of a droplet classifier: one of the four droplet classes
HUMAN = "a person's judgement of the maps, which the study does not collect"
GENERATOR = "decided by the synthetic droplets' generator (lib/data/synthetic/droplets.py), not by the model"
DROPLETS = Accuracy("droplet_test_accuracy", papers.XU2024_ACCURACY["droplets"])
DKEY, DROPOUT, PLAIN = "ResNet50+DropKey", "ResNet50+Dropout", "ResNet50"
# liu2023's models: every model of every training seed must reach LEARNED test accuracy before any of
# their comparisons is read (notebook 07's liu2023_test_accuracy).
LIU_LEARNED = EveryModelLearned("liu2023_test_accuracy", LEARNED)
MATCHED = "liu2023_matched_noise"  # the models where noise has taken half the plain model's accuracy
# The noise spaces liu2023 may mean, the favoured first: its images are still objects at variance
# 2.0, which a [0, 1] image under that noise is not.
NOISE_SPACES = ("normalised", "pixels")


# A level the paper prints is met within the first tolerance (the rule), and read again within the
# second: a verdict that changes between them hangs on the tolerance, not on the result.
LEVEL_TOLERANCES = (0.02, 0.05)


def level(table: str, where: dict, column: str, paper: float) -> Readings:
    """The paper's ``paper`` in ``column`` of ``table``'s rows ``where``, within each of
    :data:`LEVEL_TOLERANCES`."""
    return Readings(tuple((f"within {t:g}", Level(table, where, column, paper, t)) for t in LEVEL_TOLERANCES))


def at_paper_variance(rule, variance: float, models: tuple[str, ...]) -> Readings:
    """``rule(space)`` read at one of the paper's variances in each noise space, untestable in a
    space where every compared model is at chance there."""
    return Readings(tuple((f"{space} space", Classifies(rule(space), LIU, {"space": space, "variance": variance}, models, CHANCE))
                          for space in NOISE_SPACES))


def at_matched_noise(rule) -> Readings:
    """``rule(space)`` read in :data:`MATCHED` in each noise space, at each seed's own variance."""
    return Readings(tuple((f"{space} space", AtVariance(rule(space), {"space": space})) for space in NOISE_SPACES))


def matched_difference(a: str, b: str, column: str, paper: float | None) -> Readings:
    return at_matched_noise(lambda space: Difference(MATCHED, "model", a, b, column, paper, {"space": space}))


def under_noise(rule, models: tuple[str, ...], variance: float = 1.5) -> Classifies:
    """``rule`` on maps computed at the paper's ``variance`` in the notebook's noise space."""
    return Classifies(rule, LIU, {"space": NOISE_SPACES[0], "variance": variance}, models, CHANCE)


def perturbed(perturbation: str) -> Classifies:
    return Classifies(Difference("perturbation_scores", "model", PLAIN, DKEY, "iou", None, {"perturbation": perturbation}),
                      "perturbation_scores", {"perturbation": perturbation}, (PLAIN, DKEY), CHANCE)


def beats_randomised(table: str, where: dict) -> Beyond:
    """The model-randomisation control: the trained model's maps put more energy on the object than
    those of its copy with the top layers re-initialised (paired over images)."""
    return Beyond(table, where, "energy_share_difference", "energy_share_difference_low", "energy_share_difference_high")


def beats_random_maps(table: str, where: dict) -> Beyond:
    """Faithfulness: the maps' ROAD score is above a smooth random map's (paired over images)."""
    return Beyond(table, where, "vs_random", "vs_random_low", "vs_random_high")

SURFACES = Accuracy("surface_test_accuracy", papers.XU2024_ACCURACY["surfaces"])

CLAIMS: tuple[Claim, ...] = (
    Claim("xu-occlusion-70-level", "xu2024", "abstract; §4.2 Table 2; conclusion (1)",
          "At 70 % occlusion YOLOv5-CBAM reaches mAP@0.5 of 0.979", "0.979",
          level(T2, {"occlusion": 0.7, "model": C}, "mAP50", 0.979),
          departs=DETECTOR_SETUP),
    Claim("xu-occlusion-70-gain", "xu2024", "abstract; §4.2 Table 2; conclusion (1)",
          "At 70 % occlusion YOLOv5-CBAM's mAP@0.5 is 4.6 points above YOLOv5's", "+0.046",
          Difference(T2, "model", B, C, "mAP50", 0.046, {"occlusion": 0.7}),
          departs=DETECTOR_SETUP),
    Claim("xu-occlusion-70-recall", "xu2024", "§4.2 Table 2",
          "At 70 % occlusion YOLOv5 misses features: recall 0.751 against YOLOv5-CBAM's 0.972", "+0.221",
          Difference(T2, "model", B, C, "recall", 0.221, {"occlusion": 0.7}),
          departs=DETECTOR_SETUP),
    Claim("xu-occlusion-50-map", "xu2024", "§4.2 Table 2",
          "At 50 % occlusion YOLOv5-CBAM outperforms YOLOv5 (mAP@0.5:0.95 0.461 against 0.447)", "+0.014",
          Difference(T2, "model", B, C, "mAP50-95", 0.014, {"occlusion": 0.5}),
          departs=DETECTOR_SETUP),
    Claim("xu-occlusion-30-map", "xu2024", "§4.2 Table 2",
          "At 30 % occlusion YOLOv5-CBAM is comparable or better (mAP@0.5:0.95 0.771 against 0.737)", "+0.034",
          Difference(T2, "model", B, C, "mAP50-95", 0.034, {"occlusion": 0.3}),
          departs=DETECTOR_SETUP),
    Claim("xu-clean-baseline", "xu2024", "§4.2 Table 2",
          "Without occlusion YOLOv5 detects the three features at mAP@0.5 of 0.995", "0.995",
          level(T2, {"occlusion": 0.0, "model": B}, "mAP50", 0.995),
          departs=DETECTOR_SETUP),
    Claim("xu-clean-cbam", "xu2024", "§4.2 Table 2",
          "Without occlusion YOLOv5-CBAM detects the three features at mAP@0.5:0.95 of 0.792", "0.792",
          level(T2, {"occlusion": 0.0, "model": C}, "mAP50-95", 0.792),
          departs=DETECTOR_SETUP),
    Claim("xu-selection", "xu2024", "§3.3 Fig. 8",
          "YOLOv5-CBAM's mAP@0.5:0.95 is about 2 points above the other attention variants'", "+2 points",
          SavedDifference("attention_selection_validation", {"model": C}, "vs other attention variants (points)", 2.0),
          departs=DETECTOR_SETUP),
    Claim("xu-loss", "xu2024", "§3.3 Fig. 8",
          "The detection loss stabilises by epoch 25 and is about 0.015 after 30 epochs", "0.015",
          Untestable("ultralytics' YOLOv5u loss is on another scale than the paper's YOLOv5, and the CPU profile trains "
                     "fewer than 25 epochs"),
          departs=DETECTOR_SETUP),
    Claim("xu-iou-mean", "xu2024", "abstract; §4.1 Table 1",
          "YOLOv5-CBAM's Grad-CAM highlight matches the ground truth better: pixel IoU up by 27.81 points on average",
          "+0.2781", SavedDifference("heatmap_paired_cbam_vs_baseline", {"score": "iou", "class": "all"}, "difference", 0.2781),
          note=table1_arithmetic(),
          departs=DETECTOR_SETUP),
    Claim("xu-iou-each-class", "xu2024", "§4.1 Table 1",
          "The IoU is higher for YOLOv5-CBAM on each of the three feature types (smallest gain: rectangular, 23.41)",
          "+0.2341", SavedDifference("heatmap_paired_cbam_vs_baseline", {"score": "iou", "class": "rectangular"}, "difference", 0.2341),
          departs=DETECTOR_SETUP),
    Claim("xu-fig9-focus", "xu2024", "§4.1 Fig. 9",
          "YOLOv5's heat is dispersed over the background, YOLOv5-CBAM's focused on the target region", "qualitative",
          SavedDifference("heatmap_paired_cbam_vs_baseline", {"score": "energy_share", "class": "all"}, "difference", None),
          departs=DETECTOR_SETUP),
    Claim("xu-droplet-accuracy", "xu2024", "§4.3",
          "The droplet classifier reaches 91.43 % test accuracy", "0.9143", DROPLETS,
          departs=DROPLET_SETUP),
    Claim("xu-surface-accuracy", "xu2024", "§4.4; conclusion (3)",
          "The surface classifier reaches 98.45 % test accuracy", "0.9845", SURFACES,
          departs=SURFACE_SETUP),
    Claim("xu-droplet-maps-on-droplet", "xu2024", "§4.3 Fig. 12",
          "The droplet classifier's attention falls on the droplets' edges and centres", "qualitative",
          Given(DROPLETS, Survives(beats_randomised("droplet_randomisation_control", {"method": "gradcam"}),
                                   Concentrated("droplet_highlight_regions", {"map": "Grad-CAM"}))),
          departs=DROPLET_SETUP),
    Claim("xu-droplet-guided-edges", "xu2024", "§4.3 Fig. 12",
          "Guided Grad-CAM shows the droplets' edges", "qualitative",
          Given(DROPLETS, Readings(tuple(
              (f"by {name}", Survives(beats_randomised("droplet_randomisation_control", {"method": papers.GUIDED}),
                                      Concentrated("droplet_highlight_regions", {"map": "Guided Grad-CAM"}, parts=("edge",),
                                                   measure=measure)))
              for name, measure in (("energy share", "energy"), ("half-maximum highlight", "highlight"))))),
          note="Guided Backpropagation draws edges even in untrained networks (Adebayo et al. 2018): the control decides; "
               "a Guided Grad-CAM map is a few sharp pixels, whose half-maximum highlight covers little of any edge, so "
               "the map's energy is read first",
          departs=DROPLET_SETUP),
    Claim("xu-droplet-maps-faithful", "xu2024", "abstract; §4.3; conclusion (3)",
          "Grad-CAM makes the droplet classifier's decisions transparent: its maps point at what the model uses",
          "qualitative", Given(DROPLETS, beats_random_maps("droplet_faithfulness", {"method": "gradcam"})),
          note="faithfulness by ROAD (grad-cam's ROADCombined) against a smooth random map",
          departs=DROPLET_SETUP),
    Claim("xu-table3-circular", "xu2024", "§4.3 Table 3",
          "Circular droplets' highlight pixels have the smallest spread (std 22.84, 22.38)", "(22.84, 22.38)",
          Untestable(f"{GENERATOR}: every class's droplet area is drawn from one distribution and a disc is the most "
                     "compact outline of a given area, so how compact the circular class's highlight is follows from that "
                     "choice (the paper's circular droplets may simply be smaller, which it does not say)",
                     "xu2024_table3_droplet_centroids"),
          departs=DROPLET_SETUP),
    Claim("xu-table3-jagged", "xu2024", "§4.3 Table 3",
          "Jagged droplets' highlight pixels have the largest spread (std 41.62, 33.16)", "(41.62, 33.16)",
          Given(DROPLETS, Extreme("xu2024_table3_droplet_centroids", "class", "jagged", ("std_x", "std_y"), largest=True)),
          note="by the mean of the two stds; the paper's gourd std_x (42.90) is larger than jagged's",
          departs=DROPLET_SETUP),
    Claim("xu-table3-gourd", "xu2024", "§4.3 Table 3",
          "Gourd droplets' highlight centre sinks (mean y 137.66, the largest)", "137.66",
          Untestable(f"{GENERATOR}: every droplet's outline is turned at random and centred within 12 % of the "
                     "image's middle, so no class's mean highlight height can differ from another's but by chance (a "
                     "sinking centre needs droplets that hang one way, which the paper does not describe)",
                     "xu2024_table3_droplet_centroids"),
          departs=DROPLET_SETUP),
    Claim("xu-layers", "xu2024", "§4.4 Fig. 13",
          "The surface classifier's Grad-CAM localises the contamination better with depth, best at layer4", "qualitative",
          Given(SURFACES, RisesWithDepth("surface_layer_localisation", "layer", ("layer1", "layer2", "layer3", "layer4"), "iou")),
          departs=SURFACE_SETUP),
    Claim("xu-human", "xu2024", "abstract; §4.3; conclusion (3)",
          "The classifiers' maps agree with human visual discernment and judgement", "qualitative", Untestable(HUMAN)),
    Claim("liu-abstract-06", "liu2023", "abstract; Fig. 3",
          "At noise variance 0.6 ResNet50+DropKey predicts with confidence 0.878", "0.878",
          Given(LIU_LEARNED, at_paper_variance(lambda space: Level(LIU, {"model": DKEY, "variance": 0.6, "space": space},
                                                                   CONFIDENCE, 0.878, 0.05), 0.6, (DKEY,))),
          departs=LIU_SETUP),
    Claim("liu-dropkey-vs-plain-06", "liu2023", "abstract; Fig. 3",
          "At variance 0.6 DropKey's confidence (0.878) is above plain ResNet50's (0.481)", "+0.397",
          Given(LIU_LEARNED, at_paper_variance(lambda space: Difference(LIU, "model", PLAIN, DKEY, CONFIDENCE, 0.397,
                                                                        {"variance": 0.6, "space": space}), 0.6, (PLAIN, DKEY))),
          departs=LIU_SETUP),
    Claim("liu-dropkey-vs-dropout-06", "liu2023", "abstract; Fig. 3; conclusions",
          "At variance 0.6 DropKey's confidence (0.878) is above Dropout's (0.766)", "+0.112",
          Given(LIU_LEARNED, at_paper_variance(lambda space: Difference(LIU, "model", DROPOUT, DKEY, CONFIDENCE, 0.112,
                                                                        {"variance": 0.6, "space": space}), 0.6, (DROPOUT, DKEY))),
          departs=LIU_SETUP),
    Claim("liu-dropout-vs-plain-05", "liu2023", "Fig. 3; conclusions",
          "Dropout also makes the model more robust: at variance 0.5 confidence 0.983 against 0.807", "+0.176",
          Given(LIU_LEARNED, at_paper_variance(lambda space: Difference(LIU, "model", PLAIN, DROPOUT, CONFIDENCE, 0.176,
                                                                        {"variance": 0.5, "space": space}), 0.5, (PLAIN, DROPOUT))),
          departs=LIU_SETUP),
    Claim("liu-matched-dropkey-vs-plain", "liu2023", "abstract; Fig. 3 (the study's reading)",
          "Where noise has taken half of plain ResNet50's accuracy, DropKey's confidence is above plain's", "+0.397 (at 0.6)",
          Given(LIU_LEARNED, matched_difference(PLAIN, DKEY, CONFIDENCE, 0.397)),
          note="the paper's difference at its variance 0.6, whose scale the paper does not state",
          departs=LIU_SETUP),
    Claim("liu-matched-dropkey-vs-dropout", "liu2023", "abstract; Fig. 3; conclusions (the study's reading)",
          "Where noise has taken half of plain ResNet50's accuracy, DropKey's confidence is above Dropout's", "+0.112 (at 0.6)",
          Given(LIU_LEARNED, matched_difference(DROPOUT, DKEY, CONFIDENCE, 0.112)),
          departs=LIU_SETUP),
    Claim("liu-matched-dropout-vs-plain", "liu2023", "Fig. 3; conclusions (the study's reading)",
          "Where noise has taken half of plain ResNet50's accuracy, Dropout's confidence is above plain's", "+0.176 (at 0.5)",
          Given(LIU_LEARNED, matched_difference(PLAIN, DROPOUT, CONFIDENCE, 0.176)),
          departs=LIU_SETUP),
    Claim("liu-matched-accuracy", "liu2023", "abstract; §3.1 (the study's reading)",
          "Where noise has taken half of plain ResNet50's accuracy, DropKey still classifies better than plain", "qualitative",
          Given(LIU_LEARNED, matched_difference(PLAIN, DKEY, "accuracy", None)),
          note="liu2023 reports confidence only; a robust model is one that stays right, not only sure",
          departs=LIU_SETUP),
    Claim("liu-matched-localises", "liu2023", "abstract; §3.1 Fig. 2 (the study's reading)",
          "Where noise has taken half of plain ResNet50's accuracy, DropKey's Grad-CAM localises the object better than plain's",
          "qualitative", Given(LIU_LEARNED, matched_difference(PLAIN, DKEY, "iou", None)),
          departs=LIU_SETUP),
    Claim("liu-matched-faithful", "liu2023", "§2.3; abstract (the study's reading)",
          "Where noise has taken half of plain ResNet50's accuracy, DropKey's Grad-CAM reflects its model's focus better than plain's",
          "qualitative", Given(LIU_LEARNED, matched_difference(PLAIN, DKEY, "road", None)),
          note="faithfulness by ROAD (grad-cam's ROADCombined) of each model's own Grad-CAM",
          departs=LIU_SETUP),
    Claim("liu-never-misclassifies", "liu2023", "§3.1 Fig. 2",
          "ResNet50+DropKey still classifies correctly at noise variance 2.0", "correct (one image, Fig. 2l)",
          Given(LIU_LEARNED, at_paper_variance(lambda space: AtLeast(LIU, {"model": DKEY, "variance": 2.0, "space": space}, "retained",
                                                                     0.5), 2.0, (DKEY,))),
          note="over the test sample: the share of the images DropKey classifies correctly when clean that stay correct, "
               "against a majority (0.5)",
          departs=LIU_SETUP),
    Claim("liu-localises-under-noise", "liu2023", "abstract; §3.1 Fig. 2, Fig. 5",
          "DropKey's Grad-CAM keeps localising the object under large noise (variance 1.5)", "qualitative",
          Given(LIU_LEARNED, under_noise(Survives(beats_randomised("randomisation_vs_noise", {"model": DKEY, "variance": 1.5,
                                                                                              "method": "gradcam"}),
                                                  Difference("localisation_vs_noise", "model", PLAIN, DKEY, "iou", None,
                                                             {"method": "gradcam", "variance": 1.5})), (PLAIN, DKEY))),
          departs=LIU_SETUP),
    Claim("liu-fig5-methods", "liu2023", "§3.2 Fig. 5",
          "At variance 1.5 DropKey's Grad-CAM localises the object more completely than Grad-CAM, its variants and Dropout's",
          "qualitative", Given(LIU_LEARNED, under_noise(SavedDifference("liu2023_fig05_dropkey_vs_methods", {}, "difference", None),
                                                        (PLAIN, DROPOUT, DKEY))),
          note="highlight IoU with the droplet of DropKey's Grad-CAM minus the best other panel's, over the stratified sample",
          departs=LIU_SETUP),
    Claim("liu-faithful-under-noise", "liu2023", "§2.3; abstract",
          "DropKey's Grad-CAM reflects the model's focus better under large noise (variance 1.5) than plain Grad-CAM",
          "qualitative", Given(LIU_LEARNED, under_noise(Difference("faithfulness_vs_noise", "model", PLAIN, DKEY, "road", None,
                                                                   {"method": "gradcam", "variance": 1.5}), (PLAIN, DKEY))),
          note="faithfulness by ROAD (grad-cam's ROADCombined) of each model's own Grad-CAM",
          departs=LIU_SETUP),
    Claim("liu-randomness", "liu2023", "§2.3",
          "DropKey's randomness during Grad-CAM makes the maps cover the target region more comprehensively", "qualitative",
          Given(LIU_LEARNED, under_noise(Difference("dropkey_sampled_maps", "maps", "regulariser off", "regulariser on", "iou", None,
                                                    {"variance": 1.5}), (DKEY,))),
          note="DropKey kept on while the map is computed, maps averaged over draws, against the usual map",
          departs=LIU_SETUP),
    Claim("liu-rotation", "liu2023", "§3.2 Fig. 4",
          "Under rotation DropKey's Grad-CAM localises the object better than plain Grad-CAM", "qualitative",
          Given(LIU_LEARNED, perturbed("rotated 30°")),
          departs=LIU_SETUP),
    Claim("liu-low-contrast", "liu2023", "§3.3 Fig. 6",
          "In low-contrast images DropKey's Grad-CAM localises the object, plain Grad-CAM does not", "qualitative",
          Given(LIU_LEARNED, perturbed("low contrast x0.3")),
          departs=LIU_SETUP),
    Claim("liu-small-objects", "liu2023", "§3.4 Fig. 7",
          "DropKey's Grad-CAM localises small objects, plain Grad-CAM fails", "qualitative",
          Given(LIU_LEARNED, perturbed("small object x0.5")),
          departs=LIU_SETUP),
    Claim("liu-mask-ratio", "liu2023", "§3.4 Fig. 8; conclusions",
          "A high mask ratio hurts prediction: clean accuracy falls from mask ratio 0.1 to 0.7", "qualitative",
          Given(LIU_LEARNED, Difference("liu2023_fig08_mask_ratio", "model", "DropKey 0.1 head", "DropKey 0.7 head", "clean accuracy",
                                        None, sign=-1)),
          note="DropKey heads on the frozen backbone of each seed's classifier, the study's cheap variant (notebook 07)",
          departs=(*LIU_SETUP, "classifier.head_epochs")),
)


def of_paper(paper: str) -> tuple[Claim, ...]:
    """The claims of one paper ("xu2024" or "liu2023")."""
    return tuple(c for c in CLAIMS if c.paper == paper)


def about(*tables: str) -> tuple[Claim, ...]:
    """The claims decided from any of ``tables`` (what a notebook that writes them can read back)."""
    return tuple(c for c in CLAIMS if c.rule.table in tables)


def verdicts(tables: Tables, claims: Sequence[Claim]) -> pd.DataFrame:
    """``claims`` as a notebook shows them: the claim, the paper's value, the study's value and
    interval, the verdict and its reason."""
    table = ledger(tables, claims)
    return table[["claim", "paper_value", "value", "low", "high", "verdict", "reason"]].round(3)


def ledger(tables: Tables, claims: Sequence[Claim] = CLAIMS, profile: Profile = PAPER) -> pd.DataFrame:
    """One row per claim: where, the paper's value, the study's value and interval, verdict, reason,
    whether the verdict survives every reading, how ``profile`` departs from the paper's setup for
    it, rule and source table."""
    return pd.DataFrame([c.assess(tables, profile) for c in claims]).set_index("id")


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Claims per paper and verdict (every verdict a column, in :data:`VERDICTS` order)."""
    return pd.crosstab(table["paper"], pd.Categorical(table["verdict"], VERDICTS), dropna=False).rename_axis(columns="verdict")


def robust_counts(table: pd.DataFrame) -> pd.Series:
    """Of the claims read under several readings, how many keep their verdict under every one
    ("yes") and how many do not ("no"); and how many were read one way only."""
    robust = table["robust"].where(table["robust"].isin(["yes", ONE_READING]), "no")
    return robust.value_counts().reindex(["yes", "no", ONE_READING], fill_value=0).rename("claims")


def headline(table: pd.DataFrame) -> str:
    """The ledger in one sentence: the claims by verdict, and how many survive every reading."""
    by_verdict = table["verdict"].value_counts()
    robust = robust_counts(table)
    verdicts = ", ".join(f"{by_verdict[v]} {v}" for v in VERDICTS if by_verdict.get(v, 0))
    return (f"{len(table)} claims: {verdicts}. Of the {robust['yes'] + robust['no']} read in more than one way (readings of "
            f"what the paper left open, or tolerances), {robust['yes']} {'keeps its' if robust['yes'] == 1 else 'keep their'} "
            "verdict under every one.")


VERDICT_COLOURS = {"reproduced": "#1a9850", "direction only": "#a6d96a", "inconclusive": "#fee08b", "contradicted": "#d73027",
                   "untestable here": "#bdbdbd"}


def verdict_figure(counts: pd.DataFrame):
    """The verdict counts of :func:`verdict_counts` as one stacked bar per paper."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(counts)))
    counts[list(VERDICTS)].plot.barh(stacked=True, ax=ax, color=[VERDICT_COLOURS[v] for v in VERDICTS], width=0.6)
    ax.set_xlabel("claims")
    ax.set_ylabel("")
    ax.legend(ncol=len(VERDICTS), fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig


# -- the README's copy of the reference run's ledger ---------------------------------------------------
README_START = "<!-- claims ledger: written by run_all.sh from figures/quick/claims.csv; do not edit by hand -->"
README_END = "<!-- end of the claims ledger -->"


def _ours(r) -> str:
    if pd.isna(r.value):
        return ""
    interval = f" [{r.low:.3g}, {r.high:.3g}]" if pd.notna(r.low) else ""
    return f"{r.value:.3g}{interval}"


def markdown_ledger(ledger: pd.DataFrame) -> str:
    """The ledger's :func:`headline` and a compact Markdown table: claim, the paper's value, ours with
    its interval, verdict, whether it survives every reading."""
    table = pd.DataFrame({"claim": [f"{r.paper}: {r.claim} ({r.where})" for r in ledger.itertuples()],
                          "paper": ledger.paper_value.astype(str).to_numpy(), "ours [95 % interval]": [_ours(r) for r in ledger.itertuples()],
                          "verdict": [f"**{r.verdict}**: {r.reason}" for r in ledger.itertuples()],
                          "robust": ledger.robust.astype(str).to_numpy()})
    return f"{headline(ledger)}\n\n{table.to_markdown(index=False)}"


def read_ledger(path: Path) -> pd.DataFrame:
    """A saved ledger (``claims.csv``) as :func:`ledger` returns it."""
    return pd.read_csv(path, index_col="id", keep_default_na=False, na_values=[""])


def update_readme(readme: Path, ledger_csv: Path) -> bool:
    """Replace the README's ledger block with the ledger in ``ledger_csv``; whether it changed."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    before, rest = text.split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    new = f"{before}{README_START}\n{markdown_ledger(read_ledger(ledger_csv))}\n{README_END}{after}"
    if new != text:
        atomic_write_text(readme, new)
    return new != text
