"""Clear errors for bad metric input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from disentangle_fas.metrics import (
    acer,
    apcer,
    auc,
    bpcer,
    eer,
    evaluate_scores,
    far_frr,
    hter,
    roc_curve,
    threshold_at_fpr,
    tpr_at_fpr,
)

METRICS: dict[str, Callable[[Any, Any], object]] = {
    "roc_curve": roc_curve,
    "auc": auc,
    "eer": eer,
    "hter": lambda s, y: hter(s, y, 0.5),
    "far_frr": lambda s, y: far_frr(s, y, 0.5),
    "tpr_at_fpr": lambda s, y: tpr_at_fpr(s, y, 0.01),
    "threshold_at_fpr": lambda s, y: threshold_at_fpr(s, y, 0.01),
    "evaluate_scores": evaluate_scores,
    "acer": lambda s, y: acer(s, y, None, 0.5),
}
# Metrics that need only one class.
ONE_CLASS_OK = {
    "apcer": lambda s, y: apcer(s, y, None, 0.5),
    "bpcer": lambda s, y: bpcer(s, y, 0.5),
}
ALL = {**METRICS, **ONE_CLASS_OK}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_single_class(name: str) -> None:
    with pytest.raises(ValueError, match="only live"):
        METRICS[name]([0.1, 0.9], [1, 1])
    with pytest.raises(ValueError, match="only spoof"):
        METRICS[name]([0.1, 0.9], [0, 0])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("name", sorted(ALL))
def test_non_finite_scores(name: str, bad: float) -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        ALL[name]([0.1, bad, 0.3], [0, 1, 0])


@pytest.mark.parametrize("name", sorted(ALL))
def test_mismatched_lengths(name: str) -> None:
    with pytest.raises(ValueError, match="same length; got 3 scores and 2 labels"):
        ALL[name]([0.1, 0.2, 0.3], [0, 1])


@pytest.mark.parametrize("labels", [[0, 2, 1], [-1, 0, 1], [0.5, 1, 0]])
@pytest.mark.parametrize("name", sorted(ALL))
def test_labels_other_than_zero_one(name: str, labels: list[float]) -> None:
    with pytest.raises(ValueError, match=r"only 0 \(spoof\) and 1 \(live\)"):
        ALL[name]([0.1, 0.2, 0.3], labels)


@pytest.mark.parametrize("name", sorted(ALL))
def test_empty_input(name: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        ALL[name]([], [])
    with pytest.raises(ValueError, match="empty"):
        ALL[name](np.zeros(0), np.zeros(0, dtype=int))


def test_shape_and_type_errors() -> None:
    with pytest.raises(ValueError, match=r"1-D; got shape \(3, 2\).*probs\[:, 1\]"):
        auc(np.zeros((3, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="labels must be 1-D"):
        auc([0.1, 0.2], [[0, 1]])
    with pytest.raises(TypeError, match="numeric"):
        auc(np.array(["a", "b"]), [0, 1])
    with pytest.raises(TypeError, match="sequence of numbers"):
        auc(0.5, [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN or infinite"):
        auc([0.1, 0.2], [0.0, float("nan")])
    with pytest.raises(ValueError, match="NaN or infinite"):
        auc(torch.tensor([0.1, float("nan")]), torch.tensor([0, 1]))


def test_threshold_and_fpr_errors() -> None:
    with pytest.raises(ValueError, match="threshold must be finite"):
        hter([0.1, 0.9], [0, 1], float("nan"))
    with pytest.raises(TypeError, match="threshold must be a real number"):
        hter([0.1, 0.9], [0, 1], "high")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"fpr must be a fraction in \[0, 1\]; got 1.5"):
        tpr_at_fpr([0.1, 0.9], [0, 1], 1.5)
    with pytest.raises(ValueError, match="fpr must be a fraction"):
        tpr_at_fpr([0.1, 0.9], [0, 1], -0.01)


def test_bool_labels_and_int_scores_are_accepted() -> None:
    assert auc([0, 1, 2, 3], np.array([False, False, True, True])) == 1.0
    assert hter(np.array([1, 3]), [0, 1], 2) == 0.0
