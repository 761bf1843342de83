from __future__ import annotations

import pytest
import torch

from disentangle_fas.heads import ContentDecoder, DomainClassifier, LMCLHead, pool


def test_pool_maps_and_vectors() -> None:
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 3, 2, 2)
    torch.testing.assert_close(pool(x), x.mean(dim=(2, 3)))
    v = torch.rand(2, 3)
    assert pool(v) is v
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        pool(torch.rand(2, 3, 4))


def test_lmcl_head_is_a_cosine() -> None:
    torch.manual_seed(0)
    head = LMCLHead(16)
    assert head.weight.shape == (2, 16)
    f = torch.randn(5, 16)
    cos = head(f)
    w = head.weight.detach()
    expected = (f @ w.t()) / (f.norm(dim=1, keepdim=True) * w.norm(dim=1))
    torch.testing.assert_close(cos, expected)
    torch.testing.assert_close(head(7.0 * f), cos)  # invariant to feature scale
    assert cos.abs().max() <= 1.0 + 1e-6


def test_lmcl_head_scores() -> None:
    head = LMCLHead(8, scale=10.0)
    f = torch.randn(4, 8, 2, 2)
    p = head.probabilities(f)
    torch.testing.assert_close(p.sum(1), torch.ones(4))
    torch.testing.assert_close(head.live_score(f), torch.softmax(10.0 * head(f), 1)[:, 1])
    with pytest.raises(ValueError):
        LMCLHead(8, scale=0.0)
    with pytest.raises(ValueError):
        LMCLHead(8, num_classes=1)


@pytest.mark.parametrize("hidden", [None, 32])
def test_domain_classifier(hidden: int | None) -> None:
    c = DomainClassifier(16, 3, hidden=hidden)
    assert c(torch.randn(4, 16)).shape == (4, 3)
    assert c(torch.randn(4, 16, 2, 2)).shape == (4, 3)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in c.modules())
    with pytest.raises(ValueError, match="at least 2"):
        DomainClassifier(16, 1)


@pytest.mark.parametrize(
    ("in_size", "out_shape"),
    [((2, 2), (1, 32, 32)), ((8, 8), (3, 64, 64)), ((2, 2), (1, 28, 28)), ((2, 2), (2, 2, 2))],
)
def test_content_decoder_shapes(in_size: tuple[int, int], out_shape: tuple[int, int, int]) -> None:
    dec = ContentDecoder(64, out_shape, in_size=in_size)
    out = dec(torch.randn(2, 64, *in_size))
    assert out.shape == (2, *out_shape)
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    raw = ContentDecoder(64, out_shape, in_size=in_size, sigmoid=False)
    assert raw(torch.randn(2, 64, *in_size)).shape == (2, *out_shape)


def test_content_decoder_errors() -> None:
    with pytest.raises(ValueError):
        ContentDecoder(64, (0, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, C, h, w\)"):
        ContentDecoder(64, (1, 8, 8))(torch.randn(2, 64))
