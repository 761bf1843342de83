"""Tiny models and batches that the compared methods' tests share."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import torch

from disentangle_fas.model import DisentangledFAS

M = TypeVar("M", covariant=True)


class _FromConfig(Protocol[M]):
    def from_config(self, config: Any, *, warn_random: bool) -> M: ...


def tiny_method(cls: _FromConfig[M], config_cls: Any, **overrides: object) -> M:
    """A seeded depth-10 model of ``cls`` for two source domains, random weights."""
    torch.manual_seed(0)
    return cls.from_config(config_cls(num_domains=2, depth=10, **overrides), warn_random=False)


def method_batch(size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Four seeded ``size x size`` images, labels live/spoof alternating, two domains."""
    gen = torch.Generator().manual_seed(1)
    return (
        torch.rand(4, 3, size, size, generator=gen),
        torch.tensor([1, 0, 1, 0]),
        torch.tensor([0, 0, 1, 1]),
    )


def tiny_paper_model(
    variant: str = "full",
    *,
    size: int = 32,
    content_shape: tuple[int, int, int] = (1, 8, 8),
    num_domains: int = 3,
) -> DisentangledFAS:
    """A seeded depth-10 :class:`DisentangledFAS` for ``size``-px inputs, random weights."""
    torch.manual_seed(0)
    return DisentangledFAS.build(
        num_domains=num_domains,
        variant=variant,
        depth=10,
        image_size=size,
        content_shape=content_shape,
        warn_random=False,
    )
