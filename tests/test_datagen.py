import hashlib

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import build_datasets

from lib.data import cards, datasets, read
from lib.data.synthetic import droplets, microparts, occlusion, surfaces
from lib.study.profiles import DataSpec

TINY = DataSpec(detection_split=(8, 3, 3), detection_image=(160, 107), droplet_images=16, surface_images=10)


def tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "manifest.json":  # the manifest holds a timestamp
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each dataset built twice from the same seed: serially and with two worker processes."""
    return {run: build_datasets(tmp_path_factory.mktemp(run), TINY, seed=3, workers=workers)
            for run, workers in (("a", 1), ("b", 2))}


def test_same_seed_gives_byte_identical_datasets(built):
    for name in read.DATASETS:
        assert tree_digest(built["a"][name]) == tree_digest(built["b"][name]), name


def test_other_seed_gives_other_images():
    a, _ = microparts.render(1, 160, 107)
    b, _ = microparts.render(2, 160, 107)
    assert not np.array_equal(a, b)


def test_label_boxes_are_the_mask_bounds(built):
    folder = built["a"]["microparts"]
    for label in sorted((folder / "labels").rglob("*.txt")):
        split = label.parent.name
        masks = cv2.imread(str(folder / "masks" / split / f"{label.stem}.png"), cv2.IMREAD_UNCHANGED)
        h, w = masks.shape
        for i, line in enumerate(label.read_text().splitlines()):
            _, xc, yc, bw, bh = map(float, line.split())
            ys, xs = np.nonzero(masks == i + 1)
            expected = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            got = ((xc - bw / 2) * w, (yc - bh / 2) * h, (xc + bw / 2) * w, (yc + bh / 2) * h)
            assert np.allclose(got, expected, atol=1e-3), (label, i)


def test_split_and_class_counts(built):
    objects = read.detection_objects(built["a"]["microparts"])
    per_split = objects.drop_duplicates("image").split.value_counts()
    # every generated image carries at least one feature, so every image appears in objects
    assert per_split.to_dict() == {"train": 8, "val": 3, "test": 3}
    drops = read.classification_images(built["a"]["droplets"], "droplets")
    assert drops["class"].value_counts()[list(droplets.CLASSES)].tolist() == datasets.proportional_counts(16, droplets.PAPER_COUNTS)


@pytest.mark.parametrize("total", [7, 100, 2462])
def test_proportional_counts_keep_the_papers_proportion(total):
    counts = datasets.proportional_counts(total, droplets.PAPER_COUNTS)
    assert sum(counts) == total
    share = np.array(droplets.PAPER_COUNTS) / sum(droplets.PAPER_COUNTS)
    assert np.all(np.abs(np.array(counts) - total * share) < 1)
    assert datasets.proportional_counts(2462, droplets.PAPER_COUNTS) == list(droplets.PAPER_COUNTS)
    assert datasets.proportional_counts(1286, surfaces.PAPER_COUNTS) == list(surfaces.PAPER_COUNTS)


def test_contamination_masks_only_for_contaminated_surfaces(built):
    folder = built["a"]["surfaces"]
    assert list((folder / "masks").rglob("clean/*.png")) == []
    images = read.classification_images(folder, "surfaces")
    dirty = images[images["class"] == "contaminated"]
    assert all((folder / "masks" / f).exists() for f in dirty.file)
    clean = images[images["class"] == "clean"]
    assert read.load_mask(folder, clean.file.iloc[0]) is None
    mask = read.load_mask(folder, dirty.file.iloc[0])
    assert mask.dtype == bool and mask.any()


def test_every_droplet_has_a_mask(built):
    folder = built["a"]["droplets"]
    images = read.classification_images(folder, "droplets")
    for f in images.file:
        mask = cv2.imread(str(folder / "masks" / f), cv2.IMREAD_GRAYSCALE)
        assert mask is not None and 0.02 < (mask > 0).mean() < 0.6


@pytest.mark.parametrize("kind", occlusion.OCCLUDERS)
@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.3, 0.5, 0.7, 0.95])
def test_requested_occlusion_is_met(kind, fraction):
    rng = np.random.default_rng(int(fraction * 100))
    image = (rng.random((120, 180, 3)) * 255).astype(np.uint8)
    boxes = [(10.3, 12.0, 60.7, 40.2), (100, 50, 109, 58), (120, 70, 175, 118)]  # one box smaller than a stride
    out, measured = occlusion.occlude(image, boxes, fraction, kind=kind, seed=4)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.all(np.abs(measured - fraction) <= 0.01), measured
    assert np.array_equal(out, occlusion.occlude(image, boxes, fraction, kind=kind, seed=4)[0])


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_occlusion_fraction_outside_range_fails(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        occlusion.occlude(np.zeros((20, 20, 3), np.uint8), [(0, 0, 10, 10)], bad)


def test_unknown_occluder_fails():
    with pytest.raises(ValueError, match="gripper, black, texture"):
        occlusion.occlude(np.zeros((20, 20, 3), np.uint8), [(0, 0, 10, 10)], 0.3, kind="cloud")


def test_recorded_gripper_occlusion_matches_the_scene():
    fractions = [f.occluded for s in range(60) for f in microparts.render(s, 160, 107)[1]]
    share = np.mean([any(f.occluded > 0 for f in microparts.render(s, 160, 107)[1]) for s in range(60)])
    assert 0.15 < share < 0.45  # about 30 % of scenes show the gripper
    assert max(fractions) < 1.0


def test_occlusion_check_table(built):
    objects = read.detection_objects(built["a"]["microparts"])
    table = cards.occlusion_check(built["a"]["microparts"], objects, fractions=(0.5,), kinds=("black",))
    assert isinstance(table, pd.DataFrame) and len(table) == (objects.split == "test").sum()
    assert (table.measured - 0.5).abs().max() <= 0.01


def test_split_counts_give_every_split_a_class_member():
    assert datasets.split_counts(2462, (0.7, 0.15, 0.15)) == datasets.proportional_counts(2462, (0.7, 0.15, 0.15))
    assert datasets.split_counts(3, (0.7, 0.15, 0.15)) == [1, 1, 1]
    assert min(datasets.split_counts(5, (0.7, 0.15, 0.15))) == 1


@pytest.mark.parametrize("kind", occlusion.OCCLUDERS)
def test_neighbouring_boxes_keep_their_own_share(kind):
    image = np.full((100, 160, 3), 128, np.uint8)
    boxes = [(10, 10, 70, 90), (72, 10, 150, 90)]  # two boxes 2 px apart
    _, measured = occlusion.occlude(image, boxes, 0.7, kind=kind, seed=1)
    assert np.all(np.abs(measured - 0.7) <= 0.01), measured


def test_a_jaw_runs_back_to_the_frame_edge_from_any_side():
    """A manipulator's arm reaches into the view: the jaw touches the image border, and a lone box
    is entered from each of the four sides for some seed."""
    touched = set()
    for seed in range(24):
        rng = np.random.default_rng(seed)
        jaw = occlusion.jaw_mask((60, 40, 100, 70), 0.4, (120, 160), rng)
        assert jaw[40:70, 60:100].sum() == round(0.4 * 40 * 30)
        edges = {"left": jaw[:, 0].any(), "top": jaw[0].any(), "right": jaw[:, -1].any(), "bottom": jaw[-1].any()}
        assert any(edges.values())
        touched |= {k for k, v in edges.items() if v}
    assert touched == {"left", "top", "right", "bottom"}


def test_training_cover_follows_the_generator_setting():
    low, high = microparts.GRIPPER_COVER
    covered = [f.occluded for s in range(200) for f in microparts.render(s, 160, 107)[1] if f.occluded > 0]
    # the covered feature takes a share in [low, high]; a neighbour the arm crosses may take less or more
    assert np.mean([low - 0.01 <= c <= high + 0.01 for c in covered]) > 0.7 and max(covered) > 0.6


def test_patches_stay_inside_their_box():
    masks = occlusion.occlusion_masks([(20, 20, 60, 50)], 0.5, (80, 80), kind="black")
    outside = masks[0].copy()
    outside[20:50, 20:60] = False
    assert not outside.any() and masks[0].sum() == 600


def test_generation_benchmark_projects_each_profile():
    from lib.data import benchmark
    from lib.study import reporting
    from lib.study.profiles import SMOKE

    table = benchmark.generation_benchmark([SMOKE], n=1, workers=2)
    assert list(table.index) == ["smoke"] and (table.filter(like="s_per_image").to_numpy() > 0).all()
    assert "projected build s (2 workers)" in reporting.displayed(table).columns


def test_each_dataset_is_keyed_by_its_own_generator_only():
    names = {name: {p.name for p in datasets.generator_code(name)} for name in read.DATASETS}
    assert {"microparts.py", "occlusion.py", "optics.py", "datasets.py"} <= names["microparts"]
    assert {"droplets.py", "optics.py"} <= names["droplets"] and "surfaces.py" not in names["droplets"]
    assert {"surfaces.py", "optics.py"} <= names["surfaces"] and not {"droplets.py", "microparts.py"} & names["surfaces"]


def test_surface_contaminants_take_the_surface_hue():
    """Colour is no cue: a contaminated surface's pixels keep the clean surface's channel ratios."""
    clean, _ = surfaces.render(0, seed=3)
    dirty, mask = surfaces.render(1, seed=3)
    ratio = lambda img, where: img[where].astype(float).mean(0) / img[where].astype(float).mean()  # noqa: E731
    assert np.allclose(ratio(dirty, mask), ratio(dirty, ~mask), atol=0.03)


def test_surface_contaminants_lie_on_the_part_face():
    """Beyond a part edge lies the dark background, where an operator cannot see dirt: a
    contaminant's centre is drawn on the part's face (the edge appears in about 40 % of surfaces)."""
    edges = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        _, face = surfaces._benign_structure(rng, 96, 96, np.full((96, 96), 0.5, np.float32), 0.0)
        edges += face.min() == 0
        for _ in range(5):
            x, y = surfaces._centre_on(face, rng)
            assert face[int(y), int(x)] == 1
    assert 5 <= edges <= 25
