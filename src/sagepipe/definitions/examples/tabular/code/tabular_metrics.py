"""Binary classification metrics in pure Python (no scikit-learn in the containers)."""

from __future__ import annotations

from collections.abc import Sequence


def f1_score(labels: Sequence[int], predictions: Sequence[int]) -> float:
    """F1 of the positive class (1); 0.0 when there is no true positive."""
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions")
    tp = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 1 and p == 1)
    fp = sum(1 for y, p in zip(labels, predictions, strict=True) if y != 1 and p == 1)
    fn = sum(1 for y, p in zip(labels, predictions, strict=True) if y == 1 and p != 1)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve, by the rank-sum (Mann-Whitney U) formula; ties count half.

    Raises:
        ValueError: When the labels hold only one class (the AUC is undefined).
    """
    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels but {len(scores)} scores")
    positives = sum(1 for y in labels if y == 1)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC is undefined when the labels hold only one class")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # tied scores share their mean 1-based rank
        rank_sum += average_rank * sum(1 for i in order[start : end + 1] if labels[i] == 1)
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
