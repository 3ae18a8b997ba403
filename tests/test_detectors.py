import subprocess
import sys

import numpy as np
import pytest
import torch
from test_attention import REFERENCE

from lib.detection import detectors
from lib.study import paths


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("yaml")
    return {s: n_params(detectors.build_detector("baseline", s, 3, folder).model) for s in ("n", "s")}


@pytest.mark.parametrize("scale", ["n", "s"])
@pytest.mark.parametrize("variant", detectors.VARIANTS[1:])
def test_variant_builds_runs_and_adds_exactly_its_modules(variant, scale, baselines, tmp_path):
    model = detectors.build_detector(variant, scale, 3, tmp_path).model.eval()
    attn = [m for m in model.model if type(m).__name__ == variant]
    assert [m.i for m in attn] == [18, 22, 26]  # after the three neck C3 blocks
    assert model.model[-1].f == [18, 22, 26]  # Detect reads the attended maps
    channels = [detectors.scaled_channels(c, scale) for c in (256, 512, 1024)]
    assert n_params(model) == baselines[scale] + sum(REFERENCE[variant](c) for c in channels)
    with torch.no_grad():
        y, _ = model(torch.rand(1, 3, 64, 64))
    assert y.shape == (1, 4 + 3, 84) and torch.isfinite(y).all()


def test_scale_comes_from_the_file_name(tmp_path):
    path = detectors.variant_yaml("ECA", "s", 3, tmp_path)
    assert path.name == "yolov5s-eca.yaml"
    assert detectors.scaled_channels(1024, "s") == 512 and detectors.scaled_channels(256, "n") == 64


def test_unknown_variant_or_scale_fails_with_the_valid_names(tmp_path):
    with pytest.raises(ValueError, match="baseline, SE, ECA, CBAM, SimAM, ShuffleAttention"):
        detectors.variant_config("BAM", "s", 3)
    with pytest.raises(ValueError, match="n, s, m, l, x"):
        detectors.scaled_channels(256, "q")


def test_checkpoint_reloads_in_a_fresh_process(tmp_path):
    torch.manual_seed(0)
    yolo = detectors.build_detector("ShuffleAttention", "n", 3, tmp_path)
    weights = tmp_path / "variant.pt"
    yolo.save(weights)
    x = torch.rand(1, 3, 64, 64)
    torch.save(x, tmp_path / "x.pt")
    with torch.no_grad():
        expected = yolo.model.eval().float()(x)[0].numpy()
    code = (f"import torch, numpy as np; from ultralytics import YOLO; m = YOLO({str(weights)!r}).model.float().eval(); "
            f"np.save({str(tmp_path / 'y.npy')!r}, m(torch.load({str(tmp_path / 'x.pt')!r}))[0].detach().numpy()); "
            f"print(sorted({{type(l).__name__ for l in m.model}}))")
    env = {"YOLO_OFFLINE": "1", "YOLO_VERBOSE": "False", "YOLO_CONFIG_DIR": str(tmp_path / "cfg"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", code], cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ShuffleAttention" in run.stdout  # no registration needed to unpickle: lib is importable
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-3, atol=1e-2)
