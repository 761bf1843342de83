"""SSAN-R parts: AdaIN, the residual AdaIN block and the assembly contrast, against references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangle_fas.ssan import (
    AdaIN,
    AdaINResBlock,
    AssemblyContrastLoss,
    adain,
    assembly_contrast_loss,
    contrast_signs,
)


def _numpy_adain(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, ddof: int
) -> np.ndarray:
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[b, c]
            out[b, c] = gamma[b, c] * (v - v.mean()) / np.sqrt(v.var(ddof=ddof) + eps) + beta[b, c]
    return out


def _official_adain(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``networks/pub_mod.py::adaIN.forward`` of the official code, restated."""
    in_mean, in_var = (
        torch.mean(x, dim=[2, 3], keepdim=True),
        torch.var(x, dim=[2, 3], keepdim=True),
    )
    out = (x - in_mean) / torch.sqrt(in_var + 1e-5)
    return out * gamma.unsqueeze(2).unsqueeze(3) + beta.unsqueeze(2).unsqueeze(3)


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 4), w=st.integers(2, 4),
       unbiased=st.booleans(), seed=st.integers(0, 2**16))  # fmt: skip
def test_adain_matches_its_formula(
    b: int, c: int, h: int, w: int, unbiased: bool, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, h, w, generator=gen, dtype=torch.float64)
    gamma = torch.randn(b, c, generator=gen, dtype=torch.float64)
    beta = torch.randn(b, c, generator=gen, dtype=torch.float64)
    ours = adain(x, gamma, beta, eps=1e-5, unbiased=unbiased)
    ref = _numpy_adain(x.numpy(), gamma.numpy(), beta.numpy(), 1e-5, 1 if unbiased else 0)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-10)


def test_adain_default_is_the_official_unbiased_variance() -> None:
    gen = torch.Generator().manual_seed(0)
    x, g, b = (
        torch.randn(2, 3, 4, 4, generator=gen),
        torch.randn(2, 3, generator=gen),
        torch.randn(2, 3, generator=gen),
    )
    torch.testing.assert_close(adain(x, g, b), _official_adain(x, g, b))
    torch.testing.assert_close(AdaIN()(x, g, b), _official_adain(x, g, b))
    # The population variance differs on a 4x4 map (by the factor 16/15 inside the root).
    assert not torch.allclose(adain(x, g, b, unbiased=False), _official_adain(x, g, b))


def test_adain_gradcheck_and_errors() -> None:
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: adain(*a), (x, g, b))
    with pytest.raises(ValueError, match="x of shape"):
        adain(torch.randn(2, 3, 4), torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="gamma"):
        adain(torch.randn(2, 3, 4, 4), torch.ones(2, 4), torch.ones(2, 3))
    with pytest.raises(ValueError, match="2 spatial"):
        adain(torch.randn(2, 3, 1, 1), torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="eps"):
        adain(torch.randn(2, 3, 2, 2), torch.ones(2, 3), torch.ones(2, 3), eps=0.0)
    assert "unbiased=True" in repr(AdaIN())


def test_paper_block_uses_its_convolutions_and_released_block_does_not() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 3)
    g, b = torch.rand(2, 4) + 0.5, torch.randn(2, 4)
    paper = AdaINResBlock(4)
    paper(x, g, b).square().sum().backward()
    assert paper.conv1.weight.grad is not None and paper.conv1.weight.grad.abs().sum() > 0
    assert paper.conv2.weight.grad is not None and paper.conv2.weight.grad.abs().sum() > 0
    expected = x + adain(paper.conv2(torch.relu(adain(paper.conv1(x), g, b))), g, b)
    torch.testing.assert_close(paper(x, g, b), expected)

    released = AdaINResBlock(4, released=True)
    released.load_state_dict(paper.state_dict())
    x.requires_grad_(True)
    out = released(x, g, b)
    torch.testing.assert_close(out, x + adain(x, g, b))  # what the released code computes
    out.square().sum().backward()
    assert released.conv1.weight.grad is None and released.conv2.weight.grad is None
    assert "released=True" in repr(released)
    with pytest.raises(ValueError, match="dim"):
        AdaINResBlock(0)


def test_block_passes_its_adain_options_to_both_layers() -> None:
    x = torch.randn(2, 4, 3, 3)
    g, b = torch.rand(2, 4) + 0.5, torch.randn(2, 4)
    block = AdaINResBlock(4, released=True, eps=1e-2, unbiased=False)
    assert (block.norm1.eps, block.norm2.eps) == (1e-2, 1e-2)
    assert not block.norm1.unbiased and not block.norm2.unbiased
    torch.testing.assert_close(block(x, g, b), x + adain(x, g, b, eps=1e-2, unbiased=False))
    with pytest.raises(TypeError, match="momentum"):
        AdaINResBlock(4, momentum=0.1)  # type: ignore[call-arg]


def test_contrast_signs() -> None:
    signs = contrast_signs(torch.tensor([1, 0, 1, 0]), torch.tensor([1, 1, 0, 0]))
    assert signs.tolist() == [1, -1, -1, 1]
    with pytest.raises(ValueError):
        contrast_signs(torch.tensor([1, 0]), torch.tensor([1]))


def test_contrast_loss_matches_a_loop_and_the_anchor_gets_no_gradient() -> None:
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    r = torch.randn(5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    s = torch.tensor([1, -1, 1, 1, -1])
    loss = assembly_contrast_loss(a, r, s)
    an, rn = a.detach().numpy(), r.detach().numpy()
    ref = np.mean([-s[i].item() * an[i] @ rn[i] / (np.linalg.norm(an[i]) * np.linalg.norm(rn[i]))
                   for i in range(5)])  # fmt: skip
    assert loss.item() == pytest.approx(ref, rel=1e-12)
    loss.backward()
    assert a.grad is None  # stop-gradient on the self-assembly anchor
    assert r.grad is not None and r.grad.abs().sum() > 0
    torch.testing.assert_close(AssemblyContrastLoss()(a, r, s), loss.detach())


def test_contrast_loss_pulls_same_class_and_pushes_other_class() -> None:
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    r = torch.tensor([[0.0, 1.0], [0.0, 1.0]], requires_grad=True)
    assembly_contrast_loss(a, r, torch.tensor([1, -1])).backward()
    assert r.grad is not None
    # Gradient descent moves r_0 towards a_0 (negative x-gradient) and r_1 away from it.
    assert r.grad[0, 0] < 0 < r.grad[1, 0]


def test_contrast_loss_errors() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        assembly_contrast_loss(
            torch.randn(3, 4), torch.randn(3, 5), torch.ones(3, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="signs of shape"):
        assembly_contrast_loss(
            torch.randn(3, 4), torch.randn(3, 4), torch.ones(2, dtype=torch.long)
        )
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        assembly_contrast_loss(
            torch.randn(3, 4), torch.randn(3, 4), torch.zeros(3, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="empty batch"):
        assembly_contrast_loss(
            torch.randn(0, 4), torch.randn(0, 4), torch.ones(0, dtype=torch.long)
        )
