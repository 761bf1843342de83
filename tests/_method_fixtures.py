"""Tiny models and batches that the compared methods' tests share."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import torch
from torch import nn

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


def parameter_groups(model: DisentangledFAS) -> dict[str, nn.Module]:
    """The paper's model as named parameter groups for gradient-routing tests: the three
    encoder trunks, their shared stem, C_L, C_D, the content decoder, and the adversaries of
    ``domain_removal="adversarial"`` when the model has them.
    """
    enc = model.encoders
    assert enc.content is not None and enc.domain is not None
    assert model.domain_head is not None and model.content_decoder is not None
    trunk = lambda e: nn.ModuleList([e.layer1, e.layer2, e.layer3, e.layer4])  # noqa: E731
    groups: dict[str, nn.Module] = {
        "E_L": trunk(enc.liveness),
        "E_C": trunk(enc.content),
        "E_D": trunk(enc.domain),
        "C_L": model.liveness_head,
        "C_D": model.domain_head,
        "D_C": model.content_decoder,
        "stem": enc.stem,
    }
    for name, adv in (model.adversaries or {}).items():
        groups[name] = adv
    return groups
