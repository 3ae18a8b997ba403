import cv2
import numpy as np

from lib.data import datasets, difficulty


def write_images(folder, values, rng):
    files = []
    for i, v in enumerate(values):
        img = np.clip(rng.normal(v, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), img)
        files.append(path)
    return files


def test_statistics_vector():
    feats = difficulty.global_statistics(np.zeros((8, 8, 3), np.uint8))
    assert feats.shape == (3 + 3 + 16 + 7,)


def test_flags_a_brightness_shortcut_and_not_a_fair_split(tmp_path):
    rng = np.random.default_rng(0)
    labels = ["a", "b"] * 20
    easy = write_images(tmp_path, [60 if c == "a" else 190 for c in labels], rng)
    assert difficulty.shortcut_accuracy(easy, labels)["accuracy"] >= difficulty.NEAR_PERFECT
    fair = write_images(tmp_path, [128] * 40, rng)
    result = difficulty.shortcut_accuracy(fair, labels)
    assert result["accuracy"] < 0.8 and result["majority_rate"] == 0.5


def test_dataset_check_is_cached(isolated):
    from lib.study.profiles import DataSpec

    folder = datasets.synthetic("surfaces", DataSpec((1, 1, 1), (32, 32), 8, 12), seed=0, workers=1)
    first = difficulty.dataset_shortcut_accuracy(folder, "surfaces")
    assert list((isolated / "data" / "cache").glob("difficulty-surfaces-*"))
    assert difficulty.dataset_shortcut_accuracy(folder, "surfaces") == first and first["images"] == 12
