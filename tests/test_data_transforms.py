from __future__ import annotations

import pytest
import torch

from disentangle_fas.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ColorJitter,
    Normalize,
    RandomHorizontalFlip,
    denormalize,
    hflip,
    normalize,
    train_transform,
)


def test_normalize_matches_reference_and_inverts() -> None:
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    ref = torch.empty_like(x)
    for c in range(3):
        ref[:, c] = (x[:, c] - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
    torch.testing.assert_close(normalize(x), ref)
    torch.testing.assert_close(Normalize()(x), ref)
    torch.testing.assert_close(denormalize(normalize(x)), x)
    torch.testing.assert_close(normalize(x[0]), ref[0])


def test_normalize_module_is_a_buffer_holder() -> None:
    m = Normalize()
    assert set(dict(m.named_buffers())) == {"mean", "std"}
    assert list(m.parameters()) == []
    x = torch.rand(1, 3, 4, 4, requires_grad=True)
    m(x).sum().backward()
    assert x.grad is not None


def test_normalize_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        normalize(torch.rand(4, 8, 8))
    with pytest.raises(TypeError):
        normalize([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        Normalize(std=(1.0, 0.0, 1.0))


def test_flip() -> None:
    x = torch.arange(12.0).reshape(1, 3, 4).expand(3, 3, 4)
    assert torch.equal(hflip(x)[..., 0], x[..., -1])
    assert torch.equal(RandomHorizontalFlip(1.0)(x), hflip(x))
    assert torch.equal(RandomHorizontalFlip(0.0)(x), x)
    torch.manual_seed(0)
    flips = sum(torch.equal(RandomHorizontalFlip(0.5)(x), hflip(x)) for _ in range(200))
    assert 60 < flips < 140
    with pytest.raises(ValueError):
        RandomHorizontalFlip(1.5)


def test_jitter_stays_in_range() -> None:
    torch.manual_seed(0)
    x = torch.rand(3, 16, 16)
    t = train_transform(jitter=ColorJitter(0.5, 0.5, 0.5, 0.1))
    y = t(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert not torch.equal(y, x) and not torch.equal(y, hflip(x))
