"""Scores of a classifier's test predictions (a frame with ``label`` and ``pred`` columns):
accuracy against the majority-class floor, per-class precision and recall, confusion counts.

Kept apart from :mod:`.training`, whose source keys the trained-model cache: changing how
results are reported must not retrain the models.
"""
from __future__ import annotations

import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def accuracy(predictions: pd.DataFrame) -> float:
    return float((predictions.label == predictions.pred).mean())


def class_report(predictions: pd.DataFrame, classes) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (rows in the study's class order)."""
    p, r, f, n = precision_recall_fscore_support(predictions.label, predictions.pred, labels=range(len(classes)), zero_division=0)
    return pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": n}, index=pd.Index(classes, name="class"))


def confusion(predictions: pd.DataFrame, classes) -> pd.DataFrame:
    """Counts: rows are the true classes, columns the predicted ones."""
    m = confusion_matrix(predictions.label, predictions.pred, labels=range(len(classes)))
    return pd.DataFrame(m, index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted"))


def accuracy_table(predictions: pd.DataFrame, paper_accuracy: float) -> pd.DataFrame:
    """Test accuracy beside the majority-class rate (the floor), the one-sided binomial p-value of
    beating that floor by chance, and the paper's accuracy."""
    from scipy.stats import binomtest

    majority = float(predictions.label.value_counts(normalize=True).max())
    correct = int((predictions.label == predictions.pred).sum())
    p = binomtest(correct, len(predictions), majority, alternative="greater").pvalue
    return pd.DataFrame({"test_images": [len(predictions)], "accuracy": [accuracy(predictions)], "majority_class_rate": [majority],
                         "p_above_majority": [p], "accuracy_xu2024": [paper_accuracy]},
                        index=pd.Index(["ResNet50"], name="model"))


def learning_verdict(table: pd.DataFrame, alpha: float = 0.01) -> str:
    """One sentence on whether the classifier of an :func:`accuracy_table` learned its task, which
    decides how far its heatmaps can be read as evidence."""
    r = table.iloc[0]
    p = r.p_above_majority
    head = f"test accuracy {r.accuracy:.1%} against a majority-class rate of {r.majority_class_rate:.1%} (p = {p:.2g})"
    if p < alpha:
        return f"{head}: the model has learned part of the task; its maps below show what it relies on."
    return (f"{head}: the model has NOT learned the task beyond chance, so the maps below describe an untrained "
            f"model's gradients, not what a trained classifier looks at.")
