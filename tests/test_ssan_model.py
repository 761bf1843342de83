"""SSAN-R model, config and objective: shapes, the shuffle, where each gradient goes."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from _method_fixtures import method_batch, tiny_method
from disentangle_fas.ssan import (
    SSANR,
    SSANConfig,
    SSANObjective,
    SSANTerms,
    shuffle_styles,
)
from disentangle_fas.ssdg import grl_schedule

SIZE = 64


def _model(**kw: object) -> SSANR:
    return tiny_method(SSANR, SSANConfig, **kw)


def test_config_round_trip_released_and_errors() -> None:
    cfg = SSANConfig(num_domains=3, image_size=64)
    assert SSANConfig.from_dict(cfg.to_dict()) == cfg
    rel = SSANConfig.released(3, depth=10)
    assert rel.released_grl and rel.released_adain_block and rel.depth == 10
    assert not cfg.released_grl and not cfg.released_adain_block  # the paper's method
    assert cfg.adain_unbiased and cfg.lambda_adv == 1.0 and cfg.lambda_contrast == 1.0
    for bad in ({"num_domains": 1}, {"depth": 50}, {"num_adain_blocks": 0}, {"disc_dropout": 1.0},
                {"lambda_adv": -1.0}, {"grl_gamma": 0.0}, {"image_size": 8}):  # fmt: skip
        with pytest.raises(ValueError):
            SSANConfig(**{"num_domains": 3, **bad})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SSANConfig.from_dict({"num_domains": 3, "nope": 1})


def test_shapes_and_scores() -> None:
    model = _model()
    x, _, _ = method_batch(SIZE)
    out = model(x, shuffle_styles(4))
    assert out.logits.shape == (4, 2)
    assert out.self_assembled.shape == (4, 512) and out.content.shape == (4, 256)
    assert out.cross_assembled is not None and out.cross_assembled.shape == (4, 512)
    model.eval()
    with torch.no_grad():
        scores = model.live_score(x)
        torch.testing.assert_close(scores, torch.softmax(model(x).logits, 1)[:, 1])
        path = model.liveness_path()
        torch.testing.assert_close(path(x), model.logits(x))
        torch.testing.assert_close(path.live_score(x), scores)
        assert path.features(x).shape[:2] == (4, 512) and path.encoder.num_features == 512
    assert scores.shape == (4,) and bool(((scores >= 0) & (scores <= 1)).all())
    assert model(x).cross_assembled is None
    with pytest.raises(ValueError, match="perm"):
        model(x, torch.arange(3))
    with pytest.raises(ValueError, match="images"):
        model(torch.rand(4, 1, SIZE, SIZE))


def test_indexed_style_equals_a_second_pass_on_the_shuffled_batch() -> None:
    """What the official code computes with model(x, x[perm]), in one pass."""
    model = _model().eval()
    x, _, _ = method_batch(SIZE)
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        out = model(x, perm)
        content, _, _ = model.encode(x)
        _, g2, b2 = model.encode(x[perm])
        ref = model.assembly(content, g2, b2)
    assert out.cross_assembled is not None
    torch.testing.assert_close(out.cross_assembled, ref)
    torch.testing.assert_close(out.self_assembled, model.assembly(*model.encode(x)))


def test_self_and_cross_assembly_differ_with_a_shuffle() -> None:
    model = _model().eval()
    x, _, _ = method_batch(SIZE)
    with torch.no_grad():
        same = model(x, torch.arange(4))
        shuffled = model(x, torch.tensor([1, 0, 3, 2]))
    assert same.cross_assembled is not None and shuffled.cross_assembled is not None
    torch.testing.assert_close(same.cross_assembled, same.self_assembled)
    assert not torch.allclose(shuffled.cross_assembled, shuffled.self_assembled)


def _content_grad(model: SSANR, progress: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of the weighted adv term on the pooled content features, and the reference."""
    x, y, d = method_batch(SIZE)
    objective = SSANObjective.from_model(model)
    out = model(x, torch.tensor([1, 0, 3, 2]))
    content = out.content.detach().requires_grad_(True)
    terms = objective(out._replace(content=content), y, d, progress)
    terms.adv.backward()
    assert content.grad is not None
    plain = content.detach().requires_grad_(True)
    torch.nn.functional.cross_entropy(model.discriminator(plain), d).backward()
    assert plain.grad is not None
    return content.grad, plain.grad


def test_gradient_reversal_is_exact_and_released_grl_is_not_reversed() -> None:
    model = _model(disc_dropout=0.0)
    got, plain = _content_grad(model, 0.3)
    torch.testing.assert_close(got, -grl_schedule(0.3, 10.0) * plain)
    released = _model(disc_dropout=0.0, released_grl=True)
    got, plain = _content_grad(released, 0.3)
    torch.testing.assert_close(got, plain)  # the released code's GRL never runs


def test_discriminator_learns_in_both_modes() -> None:
    for released in (False, True):
        model = _model(released_grl=released)
        x, y, d = method_batch(SIZE)
        terms = SSANObjective.from_model(model)(model(x, shuffle_styles(4)), y, d, 1.0)
        terms.adv.backward()
        grads = [p.grad for p in model.discriminator.parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_objective_terms_total_and_adain_blocks_train() -> None:
    model = _model()
    x, y, d = method_batch(SIZE)
    objective = SSANObjective.from_model(model)
    terms = objective(model(x, shuffle_styles(4)), y, d, 0.5)
    assert isinstance(terms, SSANTerms)
    torch.testing.assert_close(terms.total, terms.cls + terms.contrast + terms.adv)
    assert set(terms.as_floats()) == {"total", "cls", "contrast", "adv"}
    terms.total.backward()
    conv = model.assembly.blocks[0].conv1.weight.grad
    assert conv is not None and conv.abs().sum() > 0
    assert model.style.gamma.weight.grad is not None


def test_released_blocks_leave_their_convolutions_untrained() -> None:
    model = _model(released_adain_block=True)
    x, y, d = method_batch(SIZE)
    SSANObjective.from_model(model)(model(x, shuffle_styles(4)), y, d, 0.5).total.backward()
    assert model.assembly.blocks[0].conv1.weight.grad is None


def test_objective_needs_the_cross_assembly_and_valid_inputs() -> None:
    model = _model()
    x, y, d = method_batch(SIZE)
    objective = SSANObjective.from_model(model)
    with pytest.raises(ValueError, match="cross-assembly"):
        objective(model(x), y, d, 0.5)
    with pytest.raises(ValueError):
        objective(model(x, shuffle_styles(4)), torch.tensor([2, 0, 1, 0]), d, 0.5)
    with pytest.raises(ValueError, match="lambda_adv"):
        SSANObjective(model.discriminator, lambda_adv=-1.0)
    with pytest.raises(ValueError):
        shuffle_styles(0)


def test_weights_come_from_a_torchvision_state_dict(tmp_path: object) -> None:
    from pathlib import Path

    from torchvision.models import resnet18

    torch.manual_seed(3)
    ref = resnet18()
    path = Path(str(tmp_path)) / "r18.pth"
    torch.save(ref.state_dict(), path)
    model = SSANR.from_config(SSANConfig(num_domains=3), weights=path)
    torch.testing.assert_close(model.layer3[1].conv2.weight, ref.layer3[1].conv2.weight)
    torch.testing.assert_close(model.stem.conv1.weight, ref.conv1.weight)
    assert not any(name.startswith("layer4") for name, _ in model.named_parameters())
    assert dataclasses.asdict(model.config) == SSANConfig(num_domains=3).to_dict()  # type: ignore[arg-type]


def test_stride_one_assembles_small_images_at_layer3_resolution() -> None:
    model = _model(assembly_stride=1)
    x = torch.rand(4, 3, 32, 32)
    content, gamma, _ = model.encode(x)
    assert content.shape[-2:] == (2, 2) and gamma.shape == (4, 256)
    terms = SSANObjective.from_model(model)(
        model(x, shuffle_styles(4)), *method_batch(SIZE)[1:], 0.5
    )
    assert torch.isfinite(terms.total)
    with pytest.raises(ValueError, match="assembly_stride"):
        SSANConfig(num_domains=2, assembly_stride=3)
    with pytest.raises(ValueError, match="image_size"):
        SSANConfig(num_domains=2, image_size=32)  # stride 2 needs 64 px
