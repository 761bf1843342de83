"""Gradient routing of the removal mechanisms: each removal term reaches its own encoder
(and, for ``adversarial``, its own adversary) and nothing else, whatever the mechanism;
the paper's ``frozen`` default is unchanged.
"""

from __future__ import annotations

from functools import cache

import pytest
import torch
from torch import nn

from _method_fixtures import parameter_groups
from disentangle_fas.contracts import DisentangledFeatures, Variant
from disentangle_fas.heads import DomainClassifier, LMCLHead
from disentangle_fas.losses import (
    adversarial_loss,
    difference_loss,
    hsic_penalty,
    one_hot_labels,
)
from disentangle_fas.methods.disentangle import (
    DisentangledFAS,
    DisentanglementObjective,
    ModelConfig,
    removal_terms,
)
from disentangle_fas.methods.disentangle.removal import RemovalTerms, adversaries_for

S = 3


@cache
def _model(removal: str, variant: str = "full") -> DisentangledFAS:
    """One seeded model per (mechanism, variant), shared by the tests (they only read
    gradients, zeroed first).
    """
    torch.manual_seed(0)
    cfg = ModelConfig(num_domains=S, variant=variant, depth=10, image_size=32,
                      content_shape=(1, 8, 8), domain_removal=removal)  # fmt: skip
    return DisentangledFAS.from_config(cfg, warn_random=False)


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, 32, 32, generator=g)
    return (
        x,
        torch.tensor([0, 1, 0, 1, 0, 1]),
        torch.tensor([0, 0, 1, 1, 2, 2]),
        torch.rand(6, 1, 8, 8, generator=g),
    )


def _reached(model: DisentangledFAS, term: str, progress: float = 1.0) -> set[str]:
    model.zero_grad(set_to_none=True)
    x, y, d, target = _batch()
    objective = DisentanglementObjective.from_model(model)
    terms = objective(model(x), y, d, target, progress=progress)
    getattr(terms, term).backward()
    reached = set()
    for name, module in parameter_groups(model).items():
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if grads and any(bool(g.abs().sum() > 0) for g in grads):
            reached.add(name)
    return reached


ROUTES = {
    "adversarial": {
        "live_cnf": {"E_L", "domain_from_liveness"},
        "dom_cnf": {"E_D", "liveness_from_domain"},
        "cont_cnf": {"E_C", "liveness_from_content", "domain_from_content"},
    },
    "hsic": {"live_cnf": {"E_L"}, "dom_cnf": {"E_D"}, "cont_cnf": {"E_C"}},
    "orthogonal": {"live_cnf": {"E_L"}, "dom_cnf": {"E_D"}, "cont_cnf": {"E_C"}},
    "frozen": {"live_cnf": {"E_L"}, "dom_cnf": {"E_D"}, "cont_cnf": {"E_C"}},
}


@pytest.mark.parametrize(
    ("removal", "term"),
    [(r, t) for r in ROUTES for t in ("live_cnf", "dom_cnf", "cont_cnf")],
)
def test_each_removal_term_reaches_only_its_encoder(removal: str, term: str) -> None:
    # The stem is shared by all three encoders, so every term reaches it as well.
    assert _reached(_model(removal), term) == ROUTES[removal][term] | {"stem"}


@pytest.mark.parametrize("removal", ["adversarial", "hsic", "orthogonal"])
def test_the_other_terms_route_as_in_the_paper(removal: str) -> None:
    model = _model(removal)
    assert _reached(model, "live") == {"E_L", "C_L", "stem"}
    assert _reached(model, "dom") == {"E_D", "C_D", "stem"}
    assert _reached(model, "cont") == {"E_C", "D_C", "stem"}


def test_adversaries_exist_only_for_the_adversarial_mechanism_and_the_variants_branches() -> None:
    assert set(_model("adversarial").adversaries or {}) == set(adversaries_for("full"))
    assert set(_model("adversarial", "domain").adversaries or {}) == {
        "domain_from_liveness",
        "liveness_from_domain",
    }
    assert _model("adversarial", "baseline").adversaries is None
    assert _model("hsic").adversaries is None
    with pytest.raises(ValueError, match="needs the adversaries"):
        DisentanglementObjective(LMCLHead(8), DomainClassifier(8, S), removal="adversarial")


def test_the_reversal_warms_up_with_the_training_progress() -> None:
    model = _model("adversarial")
    # At progress 0 the reversal coefficient is 0: the adversary learns, E_L gets nothing.
    assert _reached(model, "live_cnf", progress=0.0) == {"domain_from_liveness"}


def _features(requires_grad: bool = True) -> DisentangledFeatures:
    g = torch.Generator().manual_seed(3)
    make = lambda: torch.randn(8, 6, generator=g).requires_grad_(requires_grad)  # noqa: E731
    return DisentangledFeatures(make(), make(), make())


def _terms(
    removal: str,
    feats: DisentangledFeatures,
    adversaries: dict[str, nn.Module] | None = None,
    coeff: float = 1.0,
) -> RemovalTerms:
    torch.manual_seed(0)
    return removal_terms(
        removal, feats, torch.tensor([0, 1] * 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]),
        variant=Variant.FULL, liveness_head=LMCLHead(6), domain_head=DomainClassifier(6, S),
        adversaries=adversaries, coeff=coeff,
    )  # fmt: skip


def test_hsic_terms_are_the_documented_sums() -> None:
    f = _features(False)
    y = one_hot_labels(torch.tensor([0, 1] * 4), 2)
    m = one_hot_labels(torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]), S)
    t = _terms("hsic", f)
    assert f.domain is not None and f.content is not None
    torch.testing.assert_close(t.live_cnf, hsic_penalty(f.liveness, m) + hsic_penalty(f.liveness, f.domain))  # fmt: skip
    torch.testing.assert_close(t.dom_cnf, hsic_penalty(f.domain, y) + hsic_penalty(f.domain, f.liveness))  # fmt: skip
    torch.testing.assert_close(t.cont_cnf, hsic_penalty(f.content, y) + hsic_penalty(f.content, m))


def test_adversarial_terms_are_the_adversaries_cross_entropies() -> None:
    f = _features(False)
    torch.manual_seed(4)
    adv: dict[str, nn.Module] = {n: DomainClassifier(6, S if n.startswith("domain") else 2)
                                 for n in adversaries_for("full")}  # fmt: skip
    t = _terms("adversarial", f, adv, coeff=0.5)
    y, d = torch.tensor([0, 1] * 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    assert f.domain is not None and f.content is not None
    torch.testing.assert_close(t.live_cnf, adversarial_loss(f.liveness, d, adv["domain_from_liveness"]))  # fmt: skip
    torch.testing.assert_close(t.dom_cnf, adversarial_loss(f.domain, y, adv["liveness_from_domain"]))  # fmt: skip
    both = adversarial_loss(f.content, y, adv["liveness_from_content"]) + adversarial_loss(
        f.content, d, adv["domain_from_content"]
    )
    torch.testing.assert_close(t.cont_cnf, both)


def test_orthogonal_slots_together_give_the_full_gradient_of_the_pair() -> None:
    # live_cnf moves f_L, dom_cnf moves f_D, each with the other side detached: their sum
    # has the gradient of DSN's undetached difference loss on both sides.
    f = _features()
    t = _terms("orthogonal", f)
    (t.live_cnf + t.dom_cnf).backward()
    assert f.domain is not None and f.liveness.grad is not None and f.domain.grad is not None
    a = f.liveness.detach().clone().requires_grad_(True)
    b = f.domain.detach().clone().requires_grad_(True)
    difference_loss(a, b).backward()
    torch.testing.assert_close(f.liveness.grad, a.grad)
    torch.testing.assert_close(f.domain.grad, b.grad)
    assert f.content is not None and f.content.grad is None  # cont_cnf was not in the sum


def test_frozen_is_the_default_and_unchanged() -> None:
    model = _model("frozen")
    assert model.config is not None and model.config.domain_removal == "frozen"
    objective = DisentanglementObjective.from_model(model)
    x, y, d, target = _batch()
    feats = model(x)
    a = objective(feats, y, d, target)
    b = objective(feats, y, d, target, progress=0.0)  # progress matters to adversaries only
    torch.testing.assert_close(a.total, b.total)
    paper = DisentanglementObjective(model.liveness_head, model.domain_head, variant="full")
    torch.testing.assert_close(paper(feats, y, d, target).total, a.total)


def test_the_default_objective_has_the_paper_objectives_gradients_bit_for_bit() -> None:
    """``domain_removal="frozen"`` (the default) reproduces, to the last bit, the gradients
    of the paper's objective written out by hand on the encoder maps: a different graph
    (heads called on features pooled beforehand) sums the gradient contributions in
    another order, and the default full model then trained to other numbers than the
    recorded results."""
    import torch

    from disentangle_fas.losses import DisentanglementObjective
    from disentangle_fas.losses.confusion import confusion_loss, frozen_call
    from disentangle_fas.losses.content import content_loss
    from disentangle_fas.losses.domain import domain_loss
    from disentangle_fas.losses.lmcl import lmcl_loss
    from disentangle_fas.model import DisentangledFAS, ModelConfig

    torch.manual_seed(0)
    cfg = ModelConfig(num_domains=3, depth=10, image_size=32, content_shape=(1, 8, 8))
    model = DisentangledFAS.from_config(cfg, warn_random=False)
    x, target = torch.rand(18, 3, 32, 32), torch.rand(18, 1, 8, 8)
    labels, domains = torch.tensor([0, 1] * 9), torch.arange(3).repeat_interleave(6)
    params = list(model.parameters())

    terms = DisentanglementObjective.from_model(model)(model(x), labels, domains, target)
    got = torch.autograd.grad(terms.total, params, allow_unused=True)

    f = model(x)
    c_l, c_d = model.liveness_head, model.domain_head
    assert c_d is not None and f.content is not None and f.domain is not None
    assert f.content_pred is not None
    live = lmcl_loss(c_l(f.liveness), labels, scale=c_l.scale, margin=c_l.margin)
    cont = content_loss(f.content_pred, target, per_element=True)
    cont_cnf = confusion_loss(c_l.scale * frozen_call(c_l, f.content))
    dom = domain_loss(c_d(f.domain), domains)
    dom_cnf = confusion_loss(c_l.scale * frozen_call(c_l, f.domain))
    live_cnf = confusion_loss(frozen_call(c_d, f.liveness))
    cont_cnf = cont_cnf + confusion_loss(frozen_call(c_d, f.content))
    total = live + 1.0 * dom + 1.0 * cont + 1.0 * cont_cnf + 1.0 * dom_cnf + 1.0 * live_cnf
    want = torch.autograd.grad(total, params, allow_unused=True)
    assert torch.equal(terms.total, total)
    assert all(
        (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))
        for a, b in zip(got, want, strict=True)
    )
