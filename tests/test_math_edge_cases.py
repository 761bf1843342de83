"""The math API refuses undefined cases with clear ValueErrors, consistently."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from disentangle_fas.heads import LMCLHead
from disentangle_fas.losses import LMCLLoss, confusion_loss, content_loss, domain_loss, lmcl_loss
from disentangle_fas.metrics import hter, threshold_at_fpr


@pytest.mark.parametrize(
    "call",
    [
        lambda: domain_loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)),
        lambda: confusion_loss(torch.zeros(0, 2)),
        lambda: lmcl_loss(
            torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), scale=16, margin=0.3
        ),
        lambda: content_loss(torch.zeros(0, 1, 4, 4), torch.zeros(0, 1, 4, 4)),
    ],
    ids=["domain", "confusion", "lmcl", "content"],
)
def test_every_loss_refuses_an_empty_batch(call) -> None:
    with pytest.raises(ValueError, match="empty batch"):
        call()


@pytest.mark.parametrize("margin", [-0.1, math.nan, math.inf])
def test_a_bad_margin_is_refused_where_it_is_given(margin: float) -> None:
    with pytest.raises(ValueError, match="margin"):
        LMCLHead(8, margin=margin)
    with pytest.raises(ValueError, match="margin"):
        LMCLLoss(margin=margin)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan, math.inf])
def test_a_bad_scale_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        LMCLHead(8, scale=scale)
    with pytest.raises(ValueError, match="scale"):
        lmcl_loss(torch.zeros(2, 2), torch.tensor([0, 1]), scale=scale, margin=0.0)


def test_threshold_at_fpr_is_always_finite_and_usable_by_hter() -> None:
    scores = np.array([0.2, 0.4, 0.95, 0.9, 0.1])  # the top score is a spoof
    labels = np.array([1, 1, 0, 1, 0])
    t = threshold_at_fpr(scores, labels, fpr=0.0)
    assert math.isfinite(t) and t > 0.95
    # Only "accept nothing" meets FPR 0 here: FRR is 1, FAR 0.
    assert hter(scores, labels, t) == pytest.approx(0.5)
    # A reachable target keeps the usual threshold (a score of the data).
    assert threshold_at_fpr(scores, labels, fpr=0.5) in set(scores.tolist())
