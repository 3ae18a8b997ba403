import dataclasses

import pytest
import torch

from conftest import CLASSES
from lib.classification import models as classification_models, resnet, training as classifier_training
from lib.study import numerics, paths, precision
from lib.study.reporting import Study


def test_choices_resolve_and_auto_follows_the_hardware(monkeypatch):
    assert precision.resolve("fp32", "cpu").name == "fp32" and precision.resolve("bf16", "cpu").bf16
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.resolve("fp16", "cpu")
    monkeypatch.delenv("STUDY_NUMERICS", raising=False)
    monkeypatch.setattr(precision, "native_bf16", lambda device: (True, "this CPU has AVX512-BF16"))
    assert precision.resolve("auto", "cpu") == precision.Precision("bf16", "auto: this CPU has AVX512-BF16")
    monkeypatch.setattr(precision, "native_bf16", lambda device: (False, "this CPU has neither"))
    assert precision.resolve("auto", "cpu").name == "fp32"
    monkeypatch.setenv("STUDY_NUMERICS", numerics.PINNED_ENV["STUDY_NUMERICS"])  # the tests' pin: fp32 whatever the CPU
    monkeypatch.setattr(precision, "native_bf16", lambda device: (True, "this CPU has AMX"))
    assert precision.resolve("auto", "cpu").name == "fp32"


def test_bf16_autocasts_only_where_asked():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.rand(2, 3, 8, 8)
    with precision.resolve("bf16", "cpu").autocast("cpu"):
        assert conv(x).dtype == torch.bfloat16
    with precision.resolve("fp32", "cpu").autocast("cpu"):
        assert conv(x).dtype == torch.float32
    assert precision.resolve("bf16", "cpu").memory_format() == torch.channels_last


def test_the_header_says_what_models_train_at(isolated):
    header = Study.start("smoke", precision="fp32").header()
    assert "training: classifiers in fp32 (chosen by the precision parameter); detectors in fp32" in header
    assert "bf16 autocast + channels_last" in Study.start("smoke", precision="bf16").header()


def test_a_bf16_classifier_trains_keeps_fp32_weights_and_is_keyed_apart(toy, trained, tmp_path, monkeypatch):
    _, config = trained
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path)
    bf16 = dataclasses.replace(config, epochs=1, precision="bf16")
    artifact = classifier_training.train_classifier(toy, bf16)
    assert artifact != classifier_training.train_classifier(toy, dataclasses.replace(bf16, precision="fp32"))
    model, loaded = resnet.load_classifier(artifact)
    assert loaded.precision == "bf16" and all(p.dtype == torch.float32 for p in model.parameters())
    history = classification_models.training_history(artifact)
    assert history.train_loss.notna().all() and len(classification_models.test_predictions(artifact)) == 8


def test_throughput_benchmark_measures_every_path_against_fp32(toy):
    from lib.classification import throughput
    from lib.study.reporting import displayed

    split = resnet.load_split(toy, CLASSES, 32, "train")
    chosen = precision.resolve("fp32", "cpu")
    table = throughput.resnet_throughput(split, len(CLASSES), 4, chosen, steps=1, rounds=1)
    assert list(table.index) == ["in memory, fp32", "in memory, bf16", "data path, fp32"] and (table.img_per_s > 0).all()
    assert table.loc["in memory, fp32", "ratio_to_fp32_in_memory"] == 1.0
    assert table.ratio_to_in_memory.notna().sum() == 1 and table.loc["data path, fp32", "ratio_to_in_memory"] > 0
    assert "ratio to in memory (same precision)" in displayed(table).columns


def test_interleaved_timing_runs_every_step_in_turn_after_a_warm_up():
    from lib.study import benchmark

    calls = []
    seconds = benchmark.interleaved_seconds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=2, calls=3)
    assert calls == (["a"] * 3 + ["b"] * 3) * 3 and set(seconds) == {"a", "b"} and all(s >= 0 for s in seconds.values())


def test_detector_throughput_compares_bf16_with_fp32():
    from lib.detection import throughput

    table = throughput.yolo_throughput("n", 3, imgsz=64, batch=2, rounds=1)
    assert list(table.index) == ["fp32", "bf16"] and (table.img_per_s > 0).all() and table.ratio_to_fp32["fp32"] == 1.0
