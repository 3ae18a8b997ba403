import shutil

import pytest
import yaml
from conftest import build_datasets

from lib.classification import resnet, splits
from lib.data import cards, datasets, read
from lib.data.validate import DatasetError, validate
from lib.study.profiles import DataSpec
from lib.study import reporting

TINY = DataSpec(detection_split=(3, 2, 2), detection_image=(96, 64), droplet_images=24, surface_images=8)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return build_datasets(tmp_path_factory.mktemp("cache"), TINY, seed=1)


@pytest.fixture
def copy(good, tmp_path):
    def make(name):
        dst = tmp_path / name
        shutil.copytree(good[name], dst)
        return dst
    return make


def problems(folder, name):
    return [(p.path, p.message) for p in validate(folder, name, read.CLASS_NAMES[name])]


def test_generated_datasets_are_valid(good):
    for name, folder in good.items():
        assert problems(folder, name) == []


def first(folder, sub):
    return sorted((folder / sub).glob("*"))[0]


def test_detection_errors_are_all_reported_with_their_files(copy):
    root = copy("microparts")
    corrupt = first(root, "images/train")
    corrupt.write_bytes(b"not a png")
    labels = sorted((root / "labels/train").glob("*.txt"))
    labels[1].write_text("7 0.5 0.5 0.1 0.1\n")  # class id out of range
    labels[2].write_text("0 0.95 0.5 0.3 0.1\n")  # box outside the image
    missing = sorted((root / "labels/val").glob("*.txt"))[0]
    missing.unlink()
    for img in (root / "images/test").iterdir():
        img.unlink()
    found = problems(root, "microparts")
    messages = {str(path): msg for path, msg in found}
    assert "cannot be decoded" in messages[str(corrupt)]
    assert "class id 7 out of range 0..2" in messages[str(labels[1])]
    assert "outside the image" in messages[str(labels[2])]
    assert "label file missing" in messages[str(missing)]
    assert "split is empty" in messages[str(root / "images/test")]
    assert len(found) >= 5


def test_wrong_folder_names_are_reported(copy):
    drops = copy("droplets")
    (drops / "train" / "jagged").rename(drops / "train" / "serrated")
    found = problems(drops, "droplets")
    assert any(path == drops / "train" / "serrated" and "unexpected folder" in m for path, m in found)
    assert any(path == drops / "train" / "jagged" and "missing" in m for path, m in found)
    det = copy("microparts")
    (det / "images" / "val").rename(det / "images" / "validation")
    found = problems(det, "microparts")
    assert any(path == det / "images" / "validation" for path, _ in found)
    assert any(path == det / "images" / "val" and "missing" in m for path, m in found)


def test_classification_corrupt_image_and_empty_split(copy):
    surf = copy("surfaces")
    bad = first(surf, "train/clean")
    bad.write_bytes(b"\x89PNG broken")
    for f in (surf / "test").rglob("*.png"):
        f.unlink()
    found = problems(surf, "surfaces")
    assert (bad, "image cannot be decoded") in found
    assert (surf / "test", "split is empty") in found


def test_prepare_refuses_a_broken_real_dataset_listing_every_problem(good, tmp_path):
    for name, folder in good.items():
        shutil.copytree(folder, tmp_path / name)
    for img in sorted((tmp_path / "droplets" / "val").rglob("*.png"))[:2]:
        img.write_bytes(b"junk")
    with pytest.raises(DatasetError) as err:
        datasets.prepare(TINY, 0, tmp_path)
    assert len(err.value.problems) == 2 and "2 problem(s)" in str(err.value)
    assert datasets.prepare(TINY, 0, tmp_path, names=["surfaces"]) == {"surfaces": tmp_path / "surfaces"}  # only what is asked
    shutil.rmtree(tmp_path / "droplets")
    shutil.copytree(good["droplets"], tmp_path / "droplets")
    assert datasets.prepare(TINY, 0, tmp_path) == {n: tmp_path / n for n in read.DATASETS}


def rename_class(root, old, new):
    """As a real set would name a class; the generator's own image list goes, as a real set has none."""
    (root / "images.csv").unlink(missing_ok=True)
    for split in ("train", "val", "test"):
        (root / split / old).rename(root / split / new)


def test_own_class_names_are_mapped_without_renaming_files(copy):

    drops = copy("droplets")
    rename_class(drops, "jagged", "serrated")
    (drops / "class_names.yaml").write_text("serrated: jagged\n")
    assert problems(drops, "droplets") == []
    images = read.classification_images(drops, "droplets")
    assert set(images["class"]) == set(read.CLASS_NAMES["droplets"])
    assert images[images["class"] == "jagged"].file.str.contains("/serrated/").all()
    card = cards.classification_card(drops, "droplets")
    assert card.loc["jagged", "folder_in_data"] == "serrated" and card.loc["gourd", "folder_in_data"] == "gourd"
    split = splits.ImageSplit(drops, "test", read.CLASS_NAMES["droplets"])
    jagged = read.CLASS_NAMES["droplets"].index("jagged")
    assert {label for path, label in split.samples if "/serrated/" in path} == {jagged}


def test_a_bad_class_map_is_reported(copy):
    drops = copy("droplets")
    rename_class(drops, "jagged", "serrated")
    found = problems(drops, "droplets")
    assert any(path == drops / "train" / "serrated" and "class_names.yaml" in m for path, m in found)  # the hint
    mapping = drops / "class_names.yaml"
    mapping.write_text("serrated: spiky\nround: circular\ngourd: circular\n")
    messages = [m for path, m in problems(drops, "droplets") if path == mapping]
    assert any("'spiky' is not a study class" in m for m in messages)
    assert any("no class named 'round'" in m for m in messages)
    assert any("two names are mapped to 'circular'" in m for m in messages)
    mapping.write_text("- serrated\n")
    assert any(path == mapping and "must map" in m for path, m in problems(drops, "droplets"))


def test_detection_names_of_their_own_are_mapped(copy):
    det = copy("microparts")
    data = yaml.safe_load((det / "data.yaml").read_text())
    data["names"] = {0: "half-disc", 1: "bump", 2: "slot"}
    (det / "data.yaml").write_text(yaml.safe_dump(data))
    found = problems(det, "microparts")
    assert len(found) == 1 and "are not the study's classes" in found[0][1] and "class_names.yaml" in found[0][1]
    (det / "class_names.yaml").write_text("half-disc: semicircular\nbump: raised\nslot: rectangular\n")
    assert problems(det, "microparts") == []
    assert read.detection_names(det) == list(read.CLASS_NAMES["microparts"])
    card = cards.detection_card(det)
    assert "features: rectangular (data: slot)" in reporting.displayed(card).columns


def test_a_corrupt_image_is_reported_on_one_line_without_the_decoder_chatter(copy, capfd):
    surf = copy("surfaces")
    bad = first(surf, "train/clean")
    bad.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    capfd.readouterr()
    assert (bad, "image cannot be decoded") in problems(surf, "surfaces")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
