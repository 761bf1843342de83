"""Eval-mode scores of every backbone family vary with the input (issue 32, item 1), and
the harness refuses (nearly) constant scores instead of ranking rounding noise.

Built as torchvision builds them, MobileNets and EfficientNets trained briefly from random
weights gave every input the same P(live) in eval mode (spread 1e-9 to 1e-6): depthwise
convolutions initialised on a fan-out that ignores ``groups`` and batch norm running
statistics that had not caught up (momentum 0.01 for MobileNetV3). See
``disentangle_fas.encoders.backbones``.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from _fake_task import fake_task, tiny_config
from disentangle_fas.encoders import TORCHVISION_BACKBONES, TorchvisionEncoder, create_encoder
from disentangle_fas.metrics import (
    DegenerateScoresError,
    auc,
    check_score_spread,
    evaluate_scores,
    score_spread,
)
from disentangle_fas.training import train
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.scoring import evaluate_model, score_dataset

pytestmark = pytest.mark.filterwarnings("ignore:.*no ImageNet weights")

#: One backbone per family the factory offers (timm ones skipped without timm).
FAMILIES = [
    "resnet10",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "timm:mobilenetv3_small_100",
    "timm:efficientnet_b0",
]


@pytest.fixture(scope="module")
def task() -> TaskData:
    return fake_task()


def _log_odds(p: Tensor) -> Tensor:
    q = p.double().clamp(1e-12, 1 - 1e-12)
    return q.log() - (-q).log1p()


def _batch_statistics_scores(model: nn.Module, images: Tensor) -> Tensor:
    """P(live) with every batch norm normalising by the batch (dropout still off)."""
    twin = copy.deepcopy(model).eval()
    for m in twin.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train()
            m.momentum = 0.0  # leave the running statistics alone
    with torch.no_grad():
        out: Tensor = twin.live_score(images)  # type: ignore[operator]
    return out


@pytest.mark.parametrize("backbone", FAMILIES)
def test_eval_mode_scores_vary_after_short_training(
    tmp_path: Path, task: TaskData, backbone: str
) -> None:
    if backbone.startswith("timm:"):
        pytest.importorskip("timm")
    cfg = tiny_config(
        str(tmp_path / "run"), backbone=backbone, variant="baseline", steps=30, eval_every=30
    )
    res = train(cfg, task)  # the harness's own guard would stop a degenerate model here
    model = res.chosen_model("cpu")
    assert not model.training
    n = len(task.source_val)  # type: ignore[arg-type]
    val = torch.stack([task.source_val[i].image for i in range(n)])
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(6, 3, 32, 32, generator=g)
    probe = torch.cat([noise, torch.zeros(1, 3, 32, 32), torch.ones(1, 3, 32, 32), val[:8]])
    with torch.no_grad():
        p = model.live_score(probe)
        p_val = model.live_score(val)
    # Different inputs get materially different P(live) (the bug: std 5e-11 to 5e-6).
    assert float(p.std()) > 1e-3, f"{backbone}: eval-mode P(live) {p.tolist()}"
    # Eval mode keeps the per-sample signal that batch statistics see (the bug: 1e-7).
    ratio = float(_log_odds(p_val).std() / _log_odds(_batch_statistics_scores(model, val)).std())
    assert ratio > 1e-2, f"{backbone}: eval / batch-statistics log-odds spread {ratio:.2e}"
    # The harness's source-val AUC is the AUC of the chosen model's eval-mode scores.
    scored = score_dataset(model, task.source_val, device=torch.device("cpu"))
    assert score_spread(scored.scores) > 1e-2
    assert res.result.source_val is not None
    assert auc(scored.scores, scored.labels) == pytest.approx(res.result.source_val.auc)


@pytest.mark.parametrize("name", sorted(TORCHVISION_BACKBONES))
def test_torchvision_backbones_batchnorm_and_grouped_init(name: str) -> None:
    torch.manual_seed(0)
    enc = create_encoder(name, warn_random=False)
    norms = [m for m in enc.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(m.momentum == 0.1 for m in norms)
    grouped = [m for m in enc.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert grouped
    for conv in grouped:
        kh, kw = conv.kernel_size
        expected = math.sqrt(2.0 / (conv.out_channels // conv.groups * kh * kw))
        assert float(conv.weight.detach().std()) == pytest.approx(expected, rel=0.35)


def test_bn_momentum_none_keeps_torchvision_value() -> None:
    enc = TorchvisionEncoder("mobilenet_v3_small", bn_momentum=None)
    assert {m.momentum for m in enc.modules() if isinstance(m, nn.BatchNorm2d)} == {0.01}
    with pytest.raises(ValueError, match="momentum"):
        TorchvisionEncoder("mobilenet_v2", bn_momentum=1.5)


def test_untrained_mobilenet_v2_features_vary_in_eval_mode() -> None:
    # Before the fix: 9e-11 (each depthwise layer shrank the signal ~10x in eval mode).
    torch.manual_seed(0)
    enc = create_encoder("mobilenet_v2", warn_random=False).eval()
    with torch.no_grad():
        f = enc(torch.randn(8, 3, 32, 32)).mean((2, 3))
    assert float(f.std(0).mean()) > 1e-2


# The guard.


def test_constant_scores_raise_naming_the_spread() -> None:
    with pytest.raises(DegenerateScoresError, match=r"constant.*min 0\.5.*max 0\.5.*spread 0"):
        check_score_spread(np.full(10, 0.5), what="target-test scores")
    assert issubclass(
        DegenerateScoresError, RuntimeError
    )  # a failed run (exit 1), not a usage error


def test_the_reported_efficientnet_scores_raise() -> None:
    # Issue 32: P(live) 0.00272703 for every input, spread 1.4e-9.
    scores = 0.00272703 + np.linspace(0.0, 1.4e-9, 48)
    with pytest.raises(DegenerateScoresError, match="batch-norm") as err:
        check_score_spread(scores, what="source-val scores")
    assert err.value.high - err.value.low == pytest.approx(1.4e-9, rel=1e-3)
    assert "source-val scores are constant" in str(err.value)


def test_varied_and_confident_scores_pass() -> None:
    check_score_spread([0.1, 0.4, 0.35, 0.8])
    # A confident, healthy model: every P(live) near 3e-6 (P spread 2.7e-6), log-odds 0.7 apart.
    confident = np.array([2.0e-6, 3.0e-6, 4.0e-6, 4.7e-6])
    assert score_spread(confident) > 0.5
    check_score_spread(confident)
    check_score_spread([-3.0, 0.5, 5.0])  # raw scores, not probabilities


def test_edge_cases_of_the_guard() -> None:
    with pytest.raises(DegenerateScoresError):
        check_score_spread([1.0, 1.0, 1.0])  # saturated
    with pytest.raises(DegenerateScoresError, match=r"spread"):
        check_score_spread(torch.full((5,), 2.0))  # raw, constant
    check_score_spread([0.3])  # a single score says nothing
    check_score_spread([0.5, float("nan"), 0.5])  # left to the metrics' NaN message
    with pytest.raises(ValueError, match="tol"):
        check_score_spread([0.1, 0.9], tol=-1.0)
    with pytest.raises(DegenerateScoresError):
        check_score_spread([0.1, 0.9], tol=100.0)


class _ConstantModel(nn.Module):
    """A stand-in liveness model whose P(live) ignores the input."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(()))

    def live_score(self, images: Tensor) -> Tensor:
        return torch.full((images.shape[0],), 0.00272703) + 0 * self.bias


def test_evaluate_model_refuses_constant_scores(task: TaskData) -> None:
    model = _ConstantModel()
    with pytest.raises(DegenerateScoresError, match="source-val scores are constant"):
        evaluate_model(
            model,  # type: ignore[arg-type]
            task.source_val,
            task.target_test,
            device=torch.device("cpu"),
        )
    # The metrics alone still accept them (the guard belongs to the harness).
    evaluate_scores(np.full(4, 0.5), np.array([1, 0, 1, 0]))
