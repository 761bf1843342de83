"""Lazy package exports: a package's public names imported on first use (PEP 562).

A package whose ``__init__`` imported every submodule would import torch and torchvision
for ``disentangle-fas --help`` or a config check. With :func:`lazy_exports`, ``from
disentangle_fas.training import train`` imports :mod:`disentangle_fas.training.loop` only
then; type checkers read the same names from an ``if TYPE_CHECKING:`` block.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` that import each export on first use.

    Args:
        package: the package's ``__name__``.
        exports: public name -> the module that defines it.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's module level. The first
        access to a name imports its module and caches the value in the package.

    Example:
        >>> getattr_, dir_ = lazy_exports("json", {"loads": "json.decoder"})
        >>> "loads" in dir_()
        True
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return getattr_, dir_
