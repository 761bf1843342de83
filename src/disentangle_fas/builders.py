"""Builders a user names on the command line (``--builder module:function``), resolved
without importing torch, for checkpoints of models assembled by hand.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from disentangle_fas.errors import UsageError

__all__ = ["BUILDER_HELP", "builder_option", "resolve_builder"]


#: ``--builder``'s help, the same in every command that loads checkpoints.
BUILDER_HELP = (
    "MODULE:FUNCTION that rebuilds a custom checkpoint's model (one assembled by hand) from "
    "its stored config; the module is imported from the working directory or the "
    "environment (docs/composing.md)"
)


def resolve_builder(spec: str) -> Callable[[dict[str, Any]], Any]:
    """The builder a user names as ``"module:function"`` (e.g. ``--builder mymodel:build``).

    The module is imported because the user named it (never because a file did); a module
    of the working directory is found too, as with ``python -m``.

    Args:
        spec: ``"package.module:function"``.

    Returns:
        The function, to pass as :func:`load_model`'s ``builder``.

    Raises:
        ValueError: a malformed name, a module that does not import, or no such callable.

    Example:
        >>> resolve_builder("json:loads")("{}")
        {}
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--builder {spec!r}: expected MODULE:FUNCTION, e.g. mymodel:build")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--builder {spec!r}: cannot import {module_name!r}: {exc}") from exc
    finally:
        if added:
            sys.path.remove(cwd)
    func = getattr(module, attr, None)
    if not callable(func):
        raise ValueError(f"--builder {spec!r}: {module_name} has no function {attr!r}")
    built: Callable[[dict[str, Any]], Any] = func
    return built


def builder_option(spec: str | None) -> Callable[[dict[str, Any]], Any] | None:
    """``--builder``'s value resolved (``None`` when not given).

    Raises:
        UsageError: a malformed name, a module that does not import, or no such function
            (the commands' exit code 2).
    """
    if spec is None:
        return None
    try:
        return resolve_builder(spec)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
