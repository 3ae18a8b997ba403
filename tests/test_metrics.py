import pandas as pd
import pytest

from conftest import CLASSES
from lib.classification import metrics


def test_reports():
    pred = pd.DataFrame({"label": [0, 0, 1, 1, 1], "pred": [0, 1, 1, 1, 0]})
    assert metrics.accuracy(pred) == pytest.approx(0.6)
    report = metrics.class_report(pred, CLASSES)
    assert report.loc["bar", "recall"] == pytest.approx(2 / 3) and report.loc["disc", "precision"] == pytest.approx(0.5)
    assert metrics.confusion(pred, CLASSES).loc["bar", "disc"] == 1
    table = metrics.accuracy_table(pred, 0.9)
    assert table.loc["ResNet50", "majority_class_rate"] == pytest.approx(0.6)
    assert table.loc["ResNet50", "p_above_majority"] > 0.5  # 3 of 5 at a floor of 0.6 is no evidence
    sure = pd.DataFrame({"label": [0] * 50 + [1] * 50, "pred": [0] * 50 + [1] * 50})
    assert metrics.accuracy_table(sure, 0.9).iloc[0].p_above_majority < 1e-6
    assert "has learned" in metrics.learning_verdict(metrics.accuracy_table(sure, 0.9))
    assert "NOT learned" in metrics.learning_verdict(table)
