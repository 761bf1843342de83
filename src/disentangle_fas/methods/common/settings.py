"""A method's settings: the fields of its config that ``--set key=value`` and the config
file's ``[method]`` table may change, typed and described from the config itself.

Every default is declared once, as the config dataclass's field default; its source
(paper, official code, ours) is written in the config's docstring, which is also where
:func:`settings_of` takes each setting's one-line description from.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from disentangle_fas.errors import UsageError
from disentangle_fas.methods.common.context import CONTEXT_FIELDS

__all__ = ["Setting", "SettingsError", "coerce_settings", "parse_assignment", "settings_of"]


class SettingsError(UsageError):
    """A method setting that does not exist, or has a wrong type or value (exit code 2)."""


@dataclass(frozen=True)
class Setting:
    """One settable field of a method's config.

    Attributes:
        name: the field (``--set name=value``).
        kind: its type as written in the config (``"float"``, ``"int | None"``).
        default: the declared default.
        description: the config docstring's line for it (with its source).
    """

    name: str
    kind: str
    default: Any
    description: str


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _descriptions(config_cls: type) -> dict[str, str]:
    """``{field: first sentence}`` from the ``Attributes:`` section of the docstring."""
    doc = config_cls.__doc__ or ""
    section = doc.split("Attributes:", 1)[-1] if "Attributes:" in doc else ""
    out: dict[str, str] = {}
    current = None
    for line in section.splitlines():
        m = re.match(r"^\s{8}(\w+):\s*(.*)$", line)
        if m:
            current = m.group(1)
            out[current] = m.group(2).strip()
        elif current and line.strip() and re.match(r"^\s{12,}", line):
            out[current] += " " + line.strip()
        elif not line.strip():
            current = None
    return out


def settings_of(config_cls: type) -> dict[str, Setting]:
    """The settable fields of a method's config dataclass, in declaration order.

    Fields the harness fills (:data:`~disentangle_fas.methods.common.context.CONTEXT_FIELDS`)
    are left out.

    Args:
        config_cls: a dataclass.

    Returns:
        ``{name: Setting}``.

    Raises:
        TypeError: ``config_cls`` is not a dataclass.
    """
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"{config_cls!r} is not a dataclass")
    hints = typing.get_type_hints(config_cls)
    docs = _descriptions(config_cls)
    out: dict[str, Setting] = {}
    for f in dataclasses.fields(config_cls):
        if f.name in CONTEXT_FIELDS or not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue  # a required field is the harness's, not a setting
        out[f.name] = Setting(f.name, _type_name(hints[f.name]), default, docs.get(f.name, ""))
    return out


_NONE = ("none", "null", "")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _number(name: str, value: Any, kind: type) -> Any:
    """``value`` as an ``int`` or a ``float`` (an int is a float; a bool is neither)."""
    what = "an integer" if kind is int else "a number"
    if isinstance(value, bool) or (kind is int and isinstance(value, float)):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, int | float):
        return kind(value)
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise TypeError(f"{name} must be {what}, got {value!r}")


def _coerce_one(name: str, value: Any, hint: Any) -> Any:
    """``value`` (a string from ``--set`` or a TOML value) as the field type ``hint``."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        if type(None) in args and (
            value is None or (isinstance(value, str) and value.lower() in _NONE)
        ):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce_one(name, value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise TypeError(errors[0] if errors else f"{name}: bad value {value!r}")
    origin = typing.get_origin(hint)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise TypeError(f"{name} must be a list of {len(args)} values, got {value!r}")
        inner = [a for a in args if a is not Ellipsis]
        if Ellipsis not in args and len(items) != len(inner):
            raise TypeError(f"{name} must have {len(inner)} values, got {len(items)}")
        return tuple(
            _coerce_one(name, v.strip() if isinstance(v, str) else v, inner[min(i, len(inner) - 1)])
            for i, v in enumerate(items)
        )
    if typing.get_origin(hint) is typing.Literal:
        if value not in args:
            raise ValueError(f"{name} must be one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise TypeError(f"{name} must be true or false, got {value!r}")
    if hint is int or hint is float:
        return _number(name, value, hint)
    if hint is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"{name} must be a string, got {value!r}")
    if isinstance(value, hint if isinstance(hint, type) else object):
        return value
    raise TypeError(f"{name} must be {_type_name(hint)}, got {value!r}")


def coerce_settings(config_cls: type, values: Mapping[str, Any], *, method: str) -> dict[str, Any]:
    """Check setting names and convert values (strings from ``--set`` included) to the
    config fields' types.

    Args:
        config_cls: the method's config dataclass.
        values: ``{name: value}``.
        method: the method's name, for messages.

    Returns:
        ``{name: typed value}``; values are not range-checked here (the config's own
        ``__post_init__`` does that when it is built).

    Raises:
        SettingsError: an unknown name (the message lists the valid ones) or a value of
            the wrong type.
    """
    known = settings_of(config_cls)
    hints = typing.get_type_hints(config_cls)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            valid = ", ".join(known) or "none"
            raise SettingsError(f"method {method!r} has no setting {name!r}; its settings: {valid}")
        try:
            out[name] = _coerce_one(name, value, hints[name])
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"method {method!r}: {exc}") from None
    return out


def parse_assignment(text: str) -> tuple[str, str]:
    """Split one ``--set`` argument, ``key=value`` (``method.key=value`` names a method).

    Raises:
        SettingsError: no ``=`` or an empty key.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SettingsError(f"--set {text!r}: expected KEY=VALUE (e.g. --set lambda_trip=0.5)")
    return key, value.strip()
