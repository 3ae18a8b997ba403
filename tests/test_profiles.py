import pytest
import torch

from lib.classification import dropkey
from lib.data import datasets
from lib.data.read import CLASS_NAMES
from lib.study.profiles import PAPER, PROFILES, QUICK, get_profile


def test_unknown_profile_lists_valid_names():
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        get_profile("fast")


def test_paper_profile_holds_the_papers_settings():
    assert PAPER.reductions() == []
    assert PAPER.data.detection_split == (1123, 230, 185)
    assert (PAPER.data.droplet_images, PAPER.data.surface_images) == (2462, 1286)
    assert (PAPER.detector.epochs, PAPER.detector.batch, PAPER.detector.imgsz) == (80, 16, 640)
    assert PAPER.data.classification_image == 225


@pytest.mark.parametrize("name", ["smoke", "quick"])
def test_reduced_profiles_list_every_difference(name):
    p = get_profile(name)
    listed = p.reductions()
    differing = [k for k, v in p.settings().items() if v != PAPER.settings()[k]]
    assert len(listed) == len(differing) > 0
    assert all(any(r.startswith(k + ":") for r in listed) for k in differing)
    assert list(p.table().columns) == [name, "paper"]


def test_profiles_keep_the_detectors_family_and_shrink_in_order():
    smoke, quick = PROFILES["smoke"], PROFILES["quick"]
    assert smoke.data.detection_images < quick.data.detection_images <= PAPER.data.detection_images
    # quick trains on the paper's images but smaller ones, and tests on enough of them for intervals
    assert smoke.detector.imgsz < quick.detector.imgsz < PAPER.detector.imgsz and quick.data.detection_split[2] >= 150
    assert {p.detector.scale for p in PROFILES.values()} <= {"n", "s"}


def test_explicit_device_wins():
    assert PAPER.resolve_device("cpu") == "cpu"
    assert PAPER.resolve_device() in {"cpu", "cuda"}


@pytest.mark.parametrize("name", ["droplets", "surfaces"])
def test_quick_classification_test_splits_hold_enough_images_for_intervals(name):
    total = QUICK.data.droplet_images if name == "droplets" else QUICK.data.surface_images
    weights = [datasets.PAPER_COUNTS[name][c] for c in CLASS_NAMES[name]]
    test = sum(datasets.split_counts(n, QUICK.data.classification_split)[2] for n in datasets.proportional_counts(total, weights))
    assert test >= 150


def test_quick_classifiers_see_a_layer4_grid_of_at_least_4x4():
    """The liu2023 heads attend over layer4's positions: at least 16 tokens in the reference run."""
    model = dropkey.ResNet50Attention(4).eval()
    with torch.no_grad():
        x = model.backbone(torch.zeros(1, 3, QUICK.classifier.imgsz, QUICK.classifier.imgsz))
    assert min(x.shape[-2:]) >= 4 and QUICK.classifier.seeds >= 3


def test_surface_epochs_default_to_the_droplets():
    assert PAPER.classifier.epochs_for("surfaces") == PAPER.classifier.epochs_for("droplets") == 80
    assert QUICK.classifier.epochs_for("surfaces") == QUICK.classifier.surface_epochs
    assert QUICK.classifier.epochs_for("droplets") == QUICK.classifier.epochs
