"""What the methods' frozen dataclass configs share: dict round trips and field checks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable
from typing import Any, Self

__all__ = ["DictConfig", "check_finite", "check_method_basics"]


class DictConfig:
    """Mixin of a dataclass config: :meth:`to_dict` and :meth:`from_dict` round trip."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build from :meth:`to_dict` output; unknown keys raise ``TypeError``."""
        return cls(**data)


def check_method_basics(num_domains: int, depth: int, depths: Collection[int]) -> None:
    """Raise unless there are at least two source domains and ``depth`` is in ``depths``.

    Raises:
        ValueError: naming the bad value (and, for the depth, the accepted ones).
    """
    if num_domains < 2:
        raise ValueError(f"num_domains must be >= 2, got {num_domains}")
    if depth not in depths:
        raise ValueError(f"depth must be one of {sorted(depths)}, got {depth}")


def check_finite(config: object, names: Iterable[str], *, positive: bool) -> None:
    """Raise unless each named float field of ``config`` is finite and ``> 0``
    (``positive``) or ``>= 0``.

    Raises:
        ValueError: naming the first bad field and its value.
    """
    for name in names:
        value = getattr(config, name)
        ok = value > 0 if positive else value >= 0
        if not (math.isfinite(value) and ok):
            bound = "> 0" if positive else ">= 0"
            raise ValueError(f"{name} must be finite and {bound}, got {value}")
