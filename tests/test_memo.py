"""Cached calls: computed once, keyed by the values given, the code and the machine."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lib.classification.dropkey import TokenAttention
from lib.study import cache, memo

CALLS = []


def summed(x, model=None, scale=1.0):
    """A frame of the sum, tagged with display labels that must survive the cache."""
    CALLS.append(1)
    out = pd.DataFrame({"total": [float(np.sum(x)) * scale]})
    out.attrs["labels"] = {"total": "sum"}
    return out


def test_a_call_is_computed_once_and_read_back_whole(isolated):
    CALLS.clear()
    x = np.arange(6.0)
    first = memo.cached_call(summed, x, scale=2.0)
    again = memo.cached_call(summed, x.copy(), scale=2.0)
    assert len(CALLS) == 1
    pd.testing.assert_frame_equal(first, again)
    assert again.attrs["labels"] == {"total": "sum"} and again.total[0] == 30.0


def test_any_changed_value_is_a_new_call(isolated):
    CALLS.clear()
    x = np.arange(6.0)
    model = TokenAttention(4, 4, "dropkey", 0.1)
    memo.cached_call(summed, x, model)
    memo.cached_call(summed, x + 1e-9, model)  # one bit of the data
    memo.cached_call(summed, x, model, scale=2)  # a setting
    model.rate = 0.4  # a model's attribute, same weights
    memo.cached_call(summed, x, model)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # its weights
    memo.cached_call(summed, x, model)
    memo.cached_call(summed, x.astype(np.float32), model)  # the dtype
    assert len(CALLS) == 6
    memo.cached_call(summed, x.astype(np.float32), model)
    assert len(CALLS) == 6


def test_fingerprints_see_into_values_and_refuse_the_unknown(tmp_path):
    frame = pd.DataFrame({"a": [1, 2]})
    assert memo.fingerprint(frame) == memo.fingerprint(frame.copy())
    assert memo.fingerprint(frame) != memo.fingerprint(frame.assign(a=[1, 3]))
    assert memo.fingerprint({"k": [1, "s", None]}) != memo.fingerprint({"k": [1, "s", 0]})
    (tmp_path / "f.txt").write_text("one")
    before = memo.fingerprint(tmp_path / "f.txt")
    (tmp_path / "f.txt").write_text("two")
    assert memo.fingerprint(tmp_path / "f.txt") != before
    with pytest.raises(TypeError, match="cannot fingerprint a object"):
        memo.fingerprint(object())


def test_the_code_in_a_key_follows_imports_through_lib():
    files = {str(p.relative_to(cache.paths.REPO_ROOT)) for p in cache.lib_modules("lib.detection.heatmap_scores")}
    # direct (yolo_cams), through another module (yolo_cams -> explain.cams), and from a package (study.papers)
    assert {"lib/detection/heatmap_scores.py", "lib/detection/yolo_cams.py", "lib/explain/cams.py",
            "lib/study/papers.py", "lib/detection/evaluation.py"} <= files
    assert not any(f.startswith("lib/classification/") for f in files)
    assert all(Path(cache.paths.REPO_ROOT / f).is_file() for f in files)
