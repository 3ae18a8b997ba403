import numpy as np
import pytest
import torch

from conftest import CLASSES
from lib.classification import models as classification_models, resnet, training as classifier_training
from lib.study import paths


def test_training_lowers_the_loss(toy, trained):
    artifact, config = trained
    train_dl = resnet.loader(toy, "train", config)
    torch.manual_seed(0)
    fresh = resnet.build_resnet50(len(CLASSES))
    _, _, loss_before = resnet.predict(fresh, train_dl)
    model, _ = resnet.load_classifier(artifact)
    _, _, loss_after = resnet.predict(model, train_dl)
    assert loss_after < loss_before
    history = classification_models.training_history(artifact)
    assert list(history.epoch) == [1, 2, 3, 4, 5, 6] and history.best.any()
    assert history.train_loss.iloc[-1] < history.train_loss.iloc[0]


def test_checkpoint_reloads_with_the_same_predictions(toy, trained):
    artifact, config = trained
    model, loaded = resnet.load_classifier(artifact)
    assert loaded == config
    probs, labels, _ = resnet.predict(model, resnet.loader(toy, "test", config))
    saved = classification_models.test_predictions(artifact)
    np.testing.assert_array_equal(saved.pred, probs.argmax(1))
    np.testing.assert_allclose(saved[[f"p_{c}" for c in CLASSES]].to_numpy(), probs, atol=1e-6)
    assert saved.file.str.startswith("test/").all()


def test_training_is_deterministic_and_cached(toy, trained, tmp_path, monkeypatch):

    artifact, config = trained
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path)
    again = classifier_training.train_classifier(toy, config)
    assert again != artifact  # a separate cache, so it really trained again
    assert classification_models.training_history(again)[["train_loss", "val_acc"]].equals(classification_models.training_history(artifact)[["train_loss", "val_acc"]])
    assert classifier_training.train_classifier(toy, config) == again  # and now comes from the cache


def test_wrong_classes_and_empty_or_missing_split_fail_clearly(toy, tmp_path):
    with pytest.raises(ValueError, match=r"expects the 3 classes"):
        resnet.ImageSplit(toy, "train", ("disc", "bar", "ring"))
    empty = tmp_path / "empty"
    for c in CLASSES:
        (empty / "val" / c).mkdir(parents=True)
    with pytest.raises(ValueError, match="empty"):
        resnet.ImageSplit(empty, "val", CLASSES)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resnet.ImageSplit(empty, "test", CLASSES)
    config = resnet.ClassifierConfig("toy", CLASSES, imgsz=32, epochs=1, batch=8)
    with pytest.raises(FileNotFoundError):
        classifier_training.train_classifier(empty, config)
    with pytest.raises(ValueError, match="at least 2 classes"):
        resnet.build_resnet50(1)


def test_classes_keep_the_study_order(toy):
    ds = resnet.ImageSplit(toy, "test", ("disc", "bar"))  # not alphabetical
    assert ds.class_to_idx == {"disc": 0, "bar": 1}
    assert {f.split("/")[1] for f, t in zip(ds.files, ds.targets) if t == 0} == {"disc"}


def test_local_imagenet_weights(tmp_path):
    import torchvision

    weights = tmp_path / "resnet50.pth"
    reference = torchvision.models.resnet50(weights=None)
    torch.save(reference.state_dict(), weights)
    model = resnet.build_resnet50(4, weights)
    assert model.fc.out_features == 4
    assert torch.equal(model.conv1.weight, reference.conv1.weight)
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        resnet.build_resnet50(4, tmp_path / "missing.pth")


def test_augmentation_keeps_size_and_dtype():
    from PIL import Image

    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 60, 3), dtype=np.uint8))
    for train in (False, True):
        x = resnet.image_transform(40, train)(img)
        assert x.shape == (3, 40, 40) and x.dtype == torch.float32
