"""What the harness tells a method's builder about the run: :class:`MethodContext`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTEXT_FIELDS", "MethodContext"]

#: Config fields that the harness fills from the run (task, ``--image-size``, ``--depth``,
#: ``--backbone``, the content target): never method settings (``--set``).
CONTEXT_FIELDS = frozenset({"num_domains", "depth", "image_size", "backbone", "content_shape"})


@dataclass(frozen=True)
class MethodContext:
    """The run a method is built for: data, input size, trunk, seed and its own settings.

    A builder (``builder(context) -> TrainingMethod``) reads what it needs and ignores the
    rest; the harness builds one from its configuration and the task, a script can build
    one by hand.

    Attributes:
        source_names: the source domains, in domain-index order (``("O", "C", "I")``).
        target_name: the held-out target domain (``"M"``), for methods with per-target
            settings; ``""`` when there is none.
        image_size: input side in pixels.
        depth: ResNet depth of the trunks when ``backbone`` is ``None``.
        backbone: a :func:`~disentangle_fas.encoders.create_encoder` name, or ``None``
            for ``resnet<depth>``.
        imagenet_weights: local torchvision ResNet state dict for the trunks, or ``None``.
        content_shape: ``(C, H, W)`` of the content target, or ``None`` when the task has
            none.
        seed: the run's seed; a method derives its own streams from it with
            :func:`~disentangle_fas.seeds.derive_seed`.
        rank: this process's rank (0 without DDP).
        settings: the method's settings that differ from its defaults (``--set`` and the
            config file's ``[method]`` table), by config field name.
        warn_random: warn when a trunk starts from random weights.

    Example:
        >>> ctx = MethodContext(("O", "C", "I"), "M", image_size=32, depth=10)
        >>> ctx.num_domains
        3
    """

    source_names: tuple[str, ...]
    target_name: str = ""
    image_size: int = 256
    depth: int = 18
    backbone: str | None = None
    imagenet_weights: str | None = None
    content_shape: tuple[int, int, int] | None = None
    seed: int = 0
    rank: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    warn_random: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_names", tuple(self.source_names))
        object.__setattr__(self, "settings", dict(self.settings))
        if self.image_size < 1:
            raise ValueError(f"image_size must be >= 1, got {self.image_size}")

    @property
    def num_domains(self) -> int:
        """Number of source domains S."""
        return len(self.source_names)
