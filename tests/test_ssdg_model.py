"""SSDG-R model, objective and config: shapes, scores, term values, gradient routing of
the adversarial term, a few SGD steps on a toy problem, config round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import resnet

from disentangle_fas.heads import LMCLHead
from disentangle_fas.losses import lmcl_loss
from disentangle_fas.ssdg import (
    OFFICIAL_LOSS_WEIGHTS,
    SSDGR,
    Embedding,
    SingleSideDiscriminator,
    SSDGConfig,
    SSDGObjective,
    SSDGTerms,
    asymmetric_triplet_loss,
    grl_schedule,
)

B, S = 8, 3
Y = torch.tensor([1, 0, 1, 0, 1, 0, 1, 0])
DOM = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])


def _model(**overrides: object) -> SSDGR:
    torch.manual_seed(0)
    config = SSDGConfig(num_domains=S, depth=10, **overrides)  # type: ignore[arg-type]
    return SSDGR.from_config(config, warn_random=False)


def _images(seed: int = 1) -> torch.Tensor:
    return torch.rand(B, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_forward_backward_smoke() -> None:
    model = _model()
    out = model(_images())
    assert out.features.shape == out.normalized.shape == (B, 512)
    assert out.cosine.shape == out.logits.shape == (B, 2)
    assert (out.features >= 0).all()  # after the bottleneck's ReLU
    torch.testing.assert_close(out.normalized.norm(dim=1), torch.ones(B))
    assert out.cosine.abs().max() <= 1.0 + 1e-6
    torch.testing.assert_close(out.logits, 16.0 * out.cosine)
    terms = SSDGObjective.from_model(model)(out, Y, DOM, progress=0.3)
    assert isinstance(terms, SSDGTerms)
    assert all(torch.isfinite(t) and t.ndim == 0 for t in terms)
    assert terms.adv.item() > 0 and terms.trip.item() >= 0 and terms.cls.item() > 0
    terms.total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    for part in ("encoder.layer1", "embedding.fc", "classifier", "discriminator.net"):
        assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith(part)), part  # type: ignore[union-attr]


def test_live_score_in_unit_interval_and_is_softmax_of_logits() -> None:
    model = _model().eval()
    x = _images()
    with torch.no_grad():
        score = model.live_score(x)
        logits = model(x).logits
    assert score.shape == (B,)
    assert ((score >= 0) & (score <= 1)).all()
    torch.testing.assert_close(score, torch.softmax(logits, dim=1)[:, 1])
    torch.testing.assert_close(model.live_score(x), score)  # eval mode: deterministic


def test_objective_terms_match_the_individual_losses() -> None:
    model = _model(lambda_adv=0.5, lambda_trip=1.0, margin=0.2)
    model.eval()  # no dropout: recompute the terms independently
    out = model(_images())
    objective = SSDGObjective.from_model(model)
    terms = objective(out, Y, DOM, progress=0.5)
    cls_ref = lmcl_loss(out.cosine, Y, scale=16.0, margin=0.2)
    real = Y == 1
    adv_ref = nn.functional.cross_entropy(model.discriminator.net(out.normalized[real]), DOM[real])
    trip_ref = asymmetric_triplet_loss(out.normalized, Y, DOM, 0.1)
    torch.testing.assert_close(terms.cls, cls_ref)
    torch.testing.assert_close(terms.adv, adv_ref)
    torch.testing.assert_close(terms.trip, trip_ref)
    torch.testing.assert_close(terms.total, cls_ref + 0.5 * adv_ref + 1.0 * trip_ref)
    assert set(terms.as_floats()) == {"total", "cls", "adv", "trip"}


def test_margin_zero_classification_is_plain_cross_entropy_on_logits() -> None:
    model = _model()
    out = model(_images())
    terms = SSDGObjective.from_model(model)(out, Y, DOM, progress=1.0)
    torch.testing.assert_close(terms.cls, nn.functional.cross_entropy(out.logits, Y))


def test_progress_scales_only_the_reversed_gradient_to_the_features() -> None:
    model = _model().eval()
    objective = SSDGObjective.from_model(model)
    x = _images()
    values, grads = [], []
    for p in (0.0, 0.5, 1.0):
        out = model(x)
        feats = out.normalized
        feats.retain_grad()
        adv = objective(out, Y, DOM, progress=p).adv
        adv.backward()
        values.append(adv.item())
        grads.append(feats.grad.clone())  # type: ignore[union-attr]
        model.zero_grad()
    assert values[0] == values[1] == values[2]
    assert torch.equal(grads[0], torch.zeros_like(grads[0]))  # coefficient 0 at p = 0
    # Reference gradient without reversal:
    out = model(x)
    feats = out.normalized.detach().requires_grad_()
    real = Y == 1
    nn.functional.cross_entropy(model.discriminator.net(feats[real]), DOM[real]).backward()
    assert feats.grad is not None
    for p, g in zip((0.5, 1.0), grads[1:], strict=True):
        torch.testing.assert_close(g, -grl_schedule(p) * feats.grad)
    assert torch.equal(g[~real], torch.zeros_like(g[~real]))


def test_a_few_sgd_steps_reduce_the_loss_on_a_toy_problem() -> None:
    torch.manual_seed(0)
    model = SSDGR.from_config(
        SSDGConfig(num_domains=2, depth=10, embed_dropout=0.0, disc_dropout=0.0),
        warn_random=False,
    )
    objective = SSDGObjective.from_model(model)
    g = torch.Generator().manual_seed(2)
    y = torch.tensor([1, 0] * 4)
    d = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    # Live faces bright, spoofs dark, each domain with its own colour cast.
    x = 0.5 * torch.rand(B, 3, 32, 32, generator=g) + 0.4 * y.view(B, 1, 1, 1)
    x[d == 1, 0] += 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    steps, history = 6, []
    for step in range(steps):
        optimizer.zero_grad()
        terms = objective(model(x), y, d, progress=step / (steps - 1))
        terms.total.backward()
        optimizer.step()
        history.append(terms.as_floats())
    first, last = history[0], history[-1]
    assert last["total"] < 0.5 * first["total"], history
    assert last["cls"] < 0.5 * first["cls"], history
    assert all(v == v and abs(v) < 1e3 for h in history for v in h.values()), history


def test_config_round_trip_and_from_config() -> None:
    config = SSDGConfig(num_domains=4, depth=10, disc_hidden=None, lambda_trip=1.5)
    data = json.loads(json.dumps(config.to_dict()))
    assert SSDGConfig.from_dict(data) == config
    model = SSDGR.from_config(config, warn_random=False)
    assert model.config == config
    assert isinstance(model.discriminator.net, nn.Linear)
    assert model.discriminator.num_domains == 4
    objective = SSDGObjective.from_model(model)
    assert objective.lambda_trip == 1.5 and objective.lambda_adv == 0.1
    assert list(objective.parameters()) == []
    # One optimizer over the model covers the discriminator, as in the official code.
    ids = {id(p) for p in model.parameters()}
    assert all(id(p) in ids for p in model.discriminator.parameters())
    with pytest.raises(TypeError):
        SSDGConfig.from_dict({**data, "unknown": 1})


def test_config_defaults_and_official_weights() -> None:
    c = SSDGConfig(num_domains=3)
    assert (c.depth, c.embed_dim, c.embed_dropout, c.margin) == (18, 512, 0.5, 0.0)
    assert (c.lambda_adv, c.lambda_trip, c.triplet_margin, c.grl_gamma) == (0.1, 2.0, 0.1, 10.0)
    assert (c.disc_hidden, c.disc_dropout, c.imagenet_layer4) == (512, 0.5, False)
    assert OFFICIAL_LOSS_WEIGHTS["O"] == (0.1, 2.0)
    m = SSDGConfig.official("m", depth=10)
    assert (m.lambda_adv, m.lambda_trip, m.depth) == (0.5, 1.0, 10)
    with pytest.raises(ValueError, match="official"):
        SSDGConfig.official("X")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("num_domains", 1, "num_domains"),
        ("depth", 11, "depth"),
        ("embed_dropout", 1.0, "embed_dropout"),
        ("lambda_adv", -1.0, "lambda_adv"),
        ("scale", 0.0, "scale"),
        ("triplet_reduction", "mean", "triplet_reduction"),
        ("disc_hidden", 0, "disc_hidden"),
    ],
)
def test_config_validation(field: str, value: object, match: str) -> None:
    kwargs: dict[str, object] = {"num_domains": 3, field: value}
    with pytest.raises(ValueError, match=match):
        SSDGConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("imagenet_layer4", [False, True])
def test_imagenet_weights_and_layer4(tmp_path: Path, imagenet_layer4: bool) -> None:
    torch.manual_seed(5)
    sd = resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1]).state_dict()
    path = tmp_path / "resnet10.pth"
    torch.save(sd, path)
    config = SSDGConfig(num_domains=3, depth=10, imagenet_layer4=imagenet_layer4)
    model = SSDGR.from_config(config, weights=path)
    enc = model.encoder
    assert torch.equal(enc.stem.conv1.weight, sd["conv1.weight"])  # type: ignore[union-attr]
    assert torch.equal(enc.layer3[0].conv1.weight, sd["layer3.0.conv1.weight"])  # type: ignore[index]
    same4 = torch.equal(enc.layer4[0].conv1.weight, sd["layer4.0.conv1.weight"])  # type: ignore[index]
    assert same4 == imagenet_layer4


def test_random_init_warns_and_mismatched_parts_raise() -> None:
    with pytest.warns(UserWarning, match="random"):
        SSDGR.from_config(SSDGConfig(num_domains=2, depth=10))
    model = _model()
    with pytest.raises(ValueError, match=r"embedding\.in_features"):
        SSDGR(model.encoder, Embedding(256), model.classifier, model.discriminator)
    with pytest.raises(ValueError, match="2 classes"):
        SSDGR(model.encoder, model.embedding, LMCLHead(512, 3), model.discriminator)
    with pytest.raises(ValueError, match=r"discriminator\.in_features"):
        SSDGR(model.encoder, model.embedding, model.classifier, SingleSideDiscriminator(64, 3))
    with pytest.raises(ValueError, match="num_features"):
        SSDGR(nn.Identity(), model.embedding, model.classifier, model.discriminator)
    with pytest.raises(ValueError, match="progress"):
        SSDGObjective.from_model(model)(model(_images()), Y, DOM, progress=1.5)
