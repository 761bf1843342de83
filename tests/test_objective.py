"""The combined objective: gradient routing (each term reaches only what the paper says),
ablation switches and weighting."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _method_fixtures import parameter_groups, tiny_paper_model
from disentangle_fas.heads import DomainClassifier, LMCLHead
from disentangle_fas.losses import (
    DisentangledFeatures,
    DisentanglementObjective,
    LossWeights,
    Variant,
    confusion_loss,
    content_loss,
    domain_loss,
    frozen_call,
    lmcl_loss,
)
from disentangle_fas.model import DisentangledFAS

B, S = 6, 3


def _model(variant: str = "full") -> DisentangledFAS:
    return tiny_paper_model(variant, num_domains=S)


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(B, 3, 32, 32, generator=g)
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    d = torch.tensor([0, 0, 1, 1, 2, 2])
    target = torch.rand(B, 1, 8, 8, generator=g)
    return x, y, d, target


def _reached(model: DisentangledFAS, term: str) -> set[str]:
    model.zero_grad(set_to_none=True)
    x, y, d, target = _batch()
    objective = DisentanglementObjective(model.liveness_head, model.domain_head, variant="full")
    terms = objective(model(x), y, d, target)
    getattr(terms, term).backward()
    reached = set()
    for name, module in parameter_groups(model).items():
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if grads and any(bool(g.abs().sum() > 0) for g in grads):
            reached.add(name)
    return reached


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("live", {"E_L", "C_L"}),
        ("dom", {"E_D", "C_D"}),
        ("cont", {"E_C", "D_C"}),
        ("cont_cnf", {"E_C"}),
        ("dom_cnf", {"E_D"}),
        ("live_cnf", {"E_L"}),
    ],
)
def test_each_term_reaches_only_what_the_paper_says(term: str, expected: set[str]) -> None:
    # The stem is shared by all three encoders, so every term reaches it as well.
    assert _reached(_model(), term) == expected | {"stem"}


def test_confusion_leaves_classifier_parameters_untouched() -> None:
    head = LMCLHead(8)
    f = torch.randn(4, 8, requires_grad=True)
    loss = confusion_loss(head.scale * frozen_call(head, f))
    loss.backward()
    assert head.weight.grad is None
    assert f.grad is not None and f.grad.abs().sum() > 0
    # The frozen call computes exactly the same values as the live one.
    torch.testing.assert_close(frozen_call(head, f), head(f))


def test_objective_values_match_the_individual_losses() -> None:
    model = _model()
    x, y, d, target = _batch()
    w = LossWeights(dom=0.5, cont=2.0, cont_cnf=0.25, dom_cnf=3.0, live_cnf=0.1)
    obj = DisentanglementObjective(model.liveness_head, model.domain_head, weights=w)
    feats = model(x)
    t = obj(feats, y, d, target)
    c_l, c_d = model.liveness_head, model.domain_head
    assert c_d is not None and feats.content is not None and feats.domain is not None
    assert feats.content_pred is not None
    expect = {
        "live": lmcl_loss(c_l(feats.liveness), y, scale=c_l.scale, margin=c_l.margin),
        "dom": domain_loss(c_d(feats.domain), d),
        "cont": content_loss(feats.content_pred, target),
        "cont_cnf": confusion_loss(c_l.logits(feats.content)) + confusion_loss(c_d(feats.content)),
        "dom_cnf": confusion_loss(c_l.logits(feats.domain)),
        "live_cnf": confusion_loss(c_d(feats.liveness)),
    }
    for name, value in expect.items():
        torch.testing.assert_close(getattr(t, name), value, msg=name)
    total = (
        expect["live"]
        + 0.5 * expect["dom"]
        + 2.0 * expect["cont"]
        + 0.25 * expect["cont_cnf"]
        + 3.0 * expect["dom_cnf"]
        + 0.1 * expect["live_cnf"]
    )
    torch.testing.assert_close(t.total, total)
    assert set(t.as_floats()) == {"total", "live", "dom", "cont", "cont_cnf", "dom_cnf", "live_cnf"}


@pytest.mark.parametrize(
    ("variant", "on"),
    [
        ("baseline", {"live"}),
        ("content", {"live", "cont", "cont_cnf"}),
        ("domain", {"live", "dom", "dom_cnf", "live_cnf"}),
        ("full", {"live", "dom", "cont", "cont_cnf", "dom_cnf", "live_cnf"}),
    ],
)
def test_ablation_variants_switch_terms(variant: str, on: set[str]) -> None:
    model = _model(variant)
    assert model.variant == Variant(variant)
    x, y, d, target = _batch()
    obj = DisentanglementObjective(model.liveness_head, model.domain_head, variant=variant)
    t = obj(model(x), y, d, target)
    for name in ("live", "dom", "cont", "cont_cnf", "dom_cnf", "live_cnf"):
        value = float(getattr(t, name).detach())
        assert (value > 0) == (name in on), name
    t.total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_content_only_variant_uses_only_the_liveness_half_of_eq2() -> None:
    model = _model("content")
    x, y, _d, target = _batch()
    feats = model(x)
    assert feats.content is not None
    t = DisentanglementObjective(model.liveness_head, variant="content")(feats, y, None, target)
    torch.testing.assert_close(
        t.cont_cnf, confusion_loss(model.liveness_head.logits(feats.content))
    )


def test_objective_has_no_parameters_and_checks_inputs() -> None:
    model = _model()
    obj = DisentanglementObjective(model.liveness_head, model.domain_head)
    assert list(obj.parameters()) == []
    x, y, d, target = _batch()
    feats = model(x)
    with pytest.raises(ValueError, match="content_target"):
        obj(feats, y, d, None)
    with pytest.raises(ValueError, match="domain labels"):
        obj(feats, y, None, target)
    with pytest.raises(ValueError, match=r"features\.domain"):
        obj(
            DisentangledFeatures(feats.liveness, feats.content, None, feats.content_pred),
            y,
            d,
            target,
        )
    with pytest.raises(ValueError, match="domain_head"):
        DisentanglementObjective(model.liveness_head, None, variant="domain")
    with pytest.raises(ValueError, match=">= 0"):
        LossWeights(dom=-1.0)
    with pytest.raises(ValueError):
        DisentanglementObjective(model.liveness_head, variant="nope")


def test_training_reduces_the_objective() -> None:
    torch.manual_seed(0)
    head, dom = LMCLHead(16, scale=8.0), DomainClassifier(16, S)
    enc = nn.Linear(10, 16)
    obj = DisentanglementObjective(head, dom, variant="domain")
    opt = torch.optim.SGD([*enc.parameters(), *head.parameters(), *dom.parameters()], lr=0.5)
    x = torch.randn(32, 10)
    y = (x[:, 0] > 0).long()
    d = torch.arange(32) % S
    first = None
    for _ in range(60):
        f = enc(x)
        t = obj(DisentangledFeatures(f, domain=f), y, d)
        first = first if first is not None else float(t.live.detach())
        opt.zero_grad()
        t.total.backward()
        opt.step()
    assert float(t.live.detach()) < 0.5 * first
