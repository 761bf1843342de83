"""The single-side discriminator sees only real samples, reverses their gradient, and copes
with a batch without real samples."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from disentangle_fas.ssdg import (
    SingleSideDiscriminator,
    select_real,
    single_side_domain_loss,
)

B, D, S = 8, 6, 3
LABELS = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0])
DOMAINS = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
REAL = [0, 3, 4, 6]


def _disc(**kwargs: object) -> SingleSideDiscriminator:
    torch.manual_seed(0)
    disc = SingleSideDiscriminator(D, S, 16, **kwargs).double()  # type: ignore[arg-type]
    return disc.eval()  # no dropout: outputs are deterministic


def _features(seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, D, generator=g, dtype=torch.float64)


def test_input_rows_are_exactly_the_real_rows() -> None:
    disc = _disc()
    seen: list[torch.Tensor] = []
    disc.net.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0].detach()))
    f = _features()
    out = disc(f, LABELS, DOMAINS)
    assert torch.equal(seen[0], f[REAL])
    assert out.rows.tolist() == REAL
    assert out.domains.tolist() == DOMAINS[REAL].tolist()
    assert out.logits.shape == (len(REAL), S)
    torch.testing.assert_close(out.logits, disc.net(f[REAL]))


@given(noise=st.floats(-100, 100, allow_nan=False), seed=st.integers(0, 50))
def test_fake_features_do_not_change_output_or_loss(noise: float, seed: int) -> None:
    disc = _disc()
    f = _features()
    changed = f.clone()
    fake = LABELS == 0
    g = torch.Generator().manual_seed(seed)
    changed[fake] = torch.randn(int(fake.sum()), D, generator=g, dtype=torch.float64) * noise
    torch.testing.assert_close(
        disc(changed, LABELS, DOMAINS).logits, disc(f, LABELS, DOMAINS).logits
    )
    assert disc.loss(changed, LABELS, DOMAINS).item() == disc.loss(f, LABELS, DOMAINS).item()
    # Changing a real row does change it.
    changed[REAL[0]] += 1.0
    assert disc.loss(changed, LABELS, DOMAINS).item() != disc.loss(f, LABELS, DOMAINS).item()


@pytest.mark.parametrize("coeff", [0.0, 0.4, 1.0])
def test_gradients_reach_only_real_rows_reversed_and_scaled(coeff: float) -> None:
    disc = _disc()
    f = _features().requires_grad_()
    disc.loss(f, LABELS, DOMAINS, coeff=coeff).backward()
    assert f.grad is not None
    fake = LABELS == 0
    assert torch.equal(f.grad[fake], torch.zeros_like(f.grad[fake]))
    # Reference: the same loss without any reversal, written from scratch.
    g = _features().requires_grad_()
    logits = disc.net(g[REAL])
    nn.functional.cross_entropy(logits, DOMAINS[REAL]).backward()
    assert g.grad is not None
    torch.testing.assert_close(f.grad, -coeff * g.grad, rtol=0, atol=1e-15)
    if coeff > 0:
        assert f.grad[REAL].abs().sum() > 0


def test_discriminator_parameters_get_the_plain_gradient() -> None:
    disc = _disc(coeff=0.3)
    f = _features()
    disc.loss(f, LABELS, DOMAINS).backward()
    got = [p.grad.clone() for p in disc.parameters()]  # type: ignore[union-attr]
    disc.zero_grad()
    nn.functional.cross_entropy(disc.net(f[REAL]), DOMAINS[REAL]).backward()
    for a, p in zip(got, disc.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)


def test_module_coeff_is_used_when_no_per_call_coeff() -> None:
    disc = _disc(coeff=0.25)
    assert disc.grl.coeff == 0.25
    f = _features().requires_grad_()
    disc.loss(f, LABELS, DOMAINS).backward()
    g = _features().requires_grad_()
    disc.loss(g, LABELS, DOMAINS, coeff=1.0).backward()
    torch.testing.assert_close(f.grad, 0.25 * g.grad)  # type: ignore[operator]


def test_batch_without_real_samples_gives_zero_loss_with_a_graph() -> None:
    disc = _disc()
    f = _features().requires_grad_()
    spoof_only = torch.zeros(B, dtype=torch.long)
    out = disc(f, spoof_only, DOMAINS)
    assert out.logits.shape == (0, S) and out.domains.shape == (0,)
    loss = disc.loss(f, spoof_only, DOMAINS)
    assert loss.item() == 0.0 and loss.requires_grad and loss.grad_fn is not None
    loss.backward()
    assert f.grad is not None and torch.equal(f.grad, torch.zeros_like(f))
    for p in disc.parameters():
        assert p.grad is not None and torch.equal(p.grad, torch.zeros_like(p))


def test_loss_matches_cross_entropy_and_official_init() -> None:
    torch.manual_seed(0)
    disc = SingleSideDiscriminator(512, 3)
    first, out = disc.net[0], disc.net[3]  # type: ignore[index]
    assert isinstance(disc.net[2], nn.Dropout) and disc.net[2].p == 0.5  # type: ignore[index]
    assert first.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert out.weight.std().item() == pytest.approx(0.3, rel=0.1)
    assert torch.equal(first.bias, torch.zeros(512)) and torch.equal(out.bias, torch.zeros(3))
    linear = SingleSideDiscriminator(4, 2, None)
    assert isinstance(linear.net, nn.Linear)
    logits = torch.randn(5, 3, dtype=torch.float64)
    d = torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(
        single_side_domain_loss(logits, d), nn.functional.cross_entropy(logits, d)
    )


def test_select_real() -> None:
    f = _features()
    real, d, rows = select_real(f, LABELS, DOMAINS)
    assert torch.equal(real, f[REAL]) and d.tolist() == DOMAINS[REAL].tolist()
    assert rows.tolist() == REAL


def test_errors() -> None:
    disc = _disc()
    f = _features()
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        disc(f, LABELS, torch.full((B,), 3))
    with pytest.raises(ValueError, match="expected 6 features"):
        disc(torch.zeros(B, 5, dtype=torch.float64), LABELS, DOMAINS)
    with pytest.raises(ValueError, match="labels must be 1"):
        disc(f, torch.full((B,), 2), DOMAINS)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        disc(f, LABELS[:4], DOMAINS)
    with pytest.raises(ValueError, match="at least 2 domains"):
        SingleSideDiscriminator(4, 1)
    with pytest.raises(ValueError, match="dropout"):
        SingleSideDiscriminator(4, 2, dropout=1.0)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        single_side_domain_loss(torch.zeros(2, 2), torch.tensor([0, 2]))
