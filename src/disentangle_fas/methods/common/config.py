"""What the methods' frozen dataclass configs share: dict round trips and field checks."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Collection, Iterable
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

    def settings_for(self, target: Callable[..., Any]) -> dict[str, Any]:
        """The values of ``target``'s keyword-only parameters that this config holds.

        A method's objective takes its loss settings as keyword-only arguments named as
        the config's fields; ``Objective(parts, **config.settings_for(Objective))`` passes
        each one once, by name.

        Args:
            target: a callable (a class passes its ``__init__``'s parameters).

        Returns:
            ``{parameter: value}`` for each keyword-only parameter that is a field here.
        """
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        params = inspect.signature(target).parameters.values()
        return {
            p.name: getattr(self, p.name)
            for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name in names
        }


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
