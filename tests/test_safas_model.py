"""SA-FAS model, config and objective: the test crop, both terms, the alignment schedule."""

from __future__ import annotations

import pytest
import torch

from _method_fixtures import method_batch, tiny_method
from disentangle_fas.losses import supcon_loss
from disentangle_fas.safas import (
    SAFAS,
    SAFASConfig,
    SAFASObjective,
    center_crop_resize,
    per_domain_bce,
    random_views,
    supcon_classes,
)

SIZE = 32


def _model(**kw: object) -> SAFAS:
    return tiny_method(SAFAS, SAFASConfig, **kw)


def test_config_defaults_round_trip_and_errors() -> None:
    cfg = SAFASConfig(num_domains=3, image_size=64)
    assert SAFASConfig.from_dict(cfg.to_dict()) == cfg
    assert (cfg.supcon_weight, cfg.temperature, cfg.base_temperature) == (0.1, 0.1, 0.07)
    assert (cfg.align_alpha, cfg.align_start, cfg.test_crop_area) == (0.995, 0.2, 0.9)
    for bad in ({"num_domains": 1}, {"depth": 7}, {"temperature": 0.0}, {"supcon_weight": -1.0},
                {"align_alpha": 2.0}, {"rotation_degrees": 200.0}, {"crop_scale_min": 0.0},
                {"test_crop_area": 1.5}, {"image_size": 4}):  # fmt: skip
        with pytest.raises(ValueError):
            SAFASConfig(**{"num_domains": 3, **bad})  # type: ignore[arg-type]


def test_scores_use_the_deterministic_centre_crop() -> None:
    model = _model().eval()
    x, _, _ = method_batch(SIZE)
    with torch.no_grad():
        scores = model.live_score(x)
        torch.testing.assert_close(model.live_score(x), scores)  # deterministic
        feats = model.embed(center_crop_resize(x, 0.9))
        torch.testing.assert_close(scores, torch.sigmoid(model.heads(feats)).mean(1))
        torch.testing.assert_close(torch.softmax(model.logits(x), 1)[:, 1], scores)
        path = model.liveness_path()
        torch.testing.assert_close(path(x), model.logits(x))
        torch.testing.assert_close(path.live_score(x), scores)
        torch.testing.assert_close(path.features(x).mean(dim=(2, 3)), feats)  # crop in the path
        out = model(x)
    assert out.features.shape == (4, 512) and out.logits.shape == (4, 2)
    assert scores.shape == (4,)


def test_objective_terms_on_two_views() -> None:
    model = _model()
    x, y, d = method_batch(SIZE)
    cfg = model.config
    assert cfg is not None
    objective = SAFASObjective.from_model(model)
    views = objective.views(x, cfg, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        views, random_views(x, 2, generator=torch.Generator().manual_seed(0))
    )
    out = model(views)
    terms = objective(out, y, d)
    stacked = torch.stack([out.features[:4], out.features[4:]], dim=1)
    torch.testing.assert_close(terms.supcon, supcon_loss(stacked, supcon_classes(y, d)))
    torch.testing.assert_close(terms.cls, per_domain_bce(out.logits, y.repeat(2), d.repeat(2)))
    torch.testing.assert_close(terms.total, terms.cls + 0.1 * terms.supcon)
    assert set(terms.as_floats()) == {"total", "cls", "supcon"}
    terms.total.backward()
    assert (
        model.heads.weight.grad is not None
        and model.encoder.layer1[0].conv1.weight.grad is not None
    )
    assert supcon_classes(y, d).tolist() == [1, 0, 3, 2]


def test_objective_rejects_views_that_do_not_tile_the_batch() -> None:
    model = _model()
    x, y, d = method_batch(SIZE)
    objective = SAFASObjective.from_model(model)
    with pytest.raises(ValueError, match="multiple"):
        objective(model(x[:3]), y, d)
    with pytest.raises(ValueError, match="supcon_weight"):
        SAFASObjective(model.heads, supcon_weight=-1.0)


def test_alignment_runs_after_the_step_from_its_start_only() -> None:
    model = _model()
    objective = SAFASObjective.from_model(model)
    w = model.heads.weight.detach().clone()
    assert objective.after_step(0.1) is None
    torch.testing.assert_close(model.heads.weight.detach(), w)
    cos = objective.after_step(0.2)
    assert cos is not None
    assert not torch.allclose(model.heads.weight.detach(), w)
    torch.testing.assert_close(model.heads.weight.detach().norm(dim=1), w.norm(dim=1))
    off = SAFASObjective.from_model(_model(align=False))
    assert off.after_step(1.0) is None
