"""A :class:`~disentangle_fas.training.config.TrainConfig` from files and flags.

:func:`load_config` reads a TOML, YAML or JSON file (a run folder's ``config.json``
included) over a base configuration; :func:`add_config_arguments` gives a command one flag
per field, ``--config`` and ``--set``, and :func:`config_from_args` applies them in order:
defaults, file, flags, method settings.
"""

from __future__ import annotations

import argparse
import json
import tomllib
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any

from disentangle_fas.methods.common.settings import parse_assignment
from disentangle_fas.training.config import _CHOICES, SETTING_SHORTHANDS, TrainConfig, _member
from disentangle_fas.training.flags import FLAG_HELP

__all__ = ["add_config_arguments", "config_from_args", "load_config", "parse_config"]


def _field_types() -> dict[str, type]:
    """The flag-like fields and their types (``method_settings`` is a table of its own)."""
    hints = typing.get_type_hints(TrainConfig)
    out: dict[str, type] = {}
    for f in fields(TrainConfig):
        if f.name == "method_settings":
            continue
        hint = hints[f.name]
        if isinstance(hint, types.UnionType):  # X | None
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        out[f.name] = hint
    return out


def _coerce(name: str, value: Any, kind: type) -> Any:
    if issubclass(kind, Enum):
        if not isinstance(value, str):
            raise TypeError(f"config field {name!r} must be a string, got {value!r}")
        return _member(name, value, kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(f"config field {name!r} must be true/false, got {value!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"config field {name!r} must be {kind.__name__}, got {value!r}")
    return value


def _read_table(p: Path) -> dict[str, Any]:
    """The TOML, YAML or JSON file ``p`` as a dict."""
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    if p.suffix == ".toml":
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{p}: not valid TOML ({exc})") from exc
    elif p.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                'YAML configs need PyYAML: pip install "disentangle-fas[yaml]"'
            ) from exc
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{p}: not valid YAML ({' '.join(str(exc).split())})") from exc
    elif p.suffix == ".json":  # a run folder's config.json
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}: not valid JSON ({exc})") from exc
    else:
        raise ValueError(
            f"unsupported config file type {p.suffix!r}: use .toml, .yaml, .yml or .json"
        )
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a table of config fields")
    return data


def _file_changes(p: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`TrainConfig` changes a config file's table asks for.

    The method's settings come from a ``[method]`` table (``name`` in it is the method) or a
    ``[method_settings]`` table; ``method = "name"`` alone names the method.
    """
    data = dict(data)
    settings: dict[str, Any] = {}
    method = data.pop("method", None)
    if isinstance(method, dict):
        settings.update(method)
        method = settings.pop("name", None)
    table = data.pop("method_settings", {})
    if not isinstance(table, dict):
        raise TypeError(f"{p}: method_settings must be a table, got {table!r}")
    settings.update(table)
    kinds = _field_types()
    unknown = sorted(set(data) - set(kinds))
    if unknown:
        raise ValueError(
            f"{p}: unknown config fields {unknown}; known: {sorted(kinds)} (a method's own "
            "settings go in a [method] table)"
        )
    changes = {k: _coerce(k, v, kinds[k]) for k, v in data.items()}
    if method is not None:
        changes["method"] = _coerce("method", method, str)
    if settings:
        changes["method_settings"] = settings
    return changes


def _merged(base: TrainConfig, changes: Mapping[str, Any]) -> TrainConfig:
    """``base`` with ``changes``; method settings are added to the base's, not replaced."""
    changes = dict(changes)
    if "method_settings" in changes:
        changes["method_settings"] = {**base.method_settings, **changes["method_settings"]}
    return base.replace(**changes)


def load_config(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML (``.toml``), YAML (``.yaml``/``.yml``) or JSON (``.json``, e.g. a run
    folder's ``config.json``) file over ``base``.

    The file is a flat table of :class:`TrainConfig` fields, and optionally a ``[method]``
    table of the method's settings (``name = "ssdg-r"`` in it names the method). Unknown
    fields are errors; the method's settings are checked by :func:`check_method_settings`.

    Args:
        path: the file.
        base: configuration to update (defaults when ``None``).

    Returns:
        The updated configuration.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unknown keys or an unsupported suffix.
        TypeError: a value of the wrong type.
    """
    p = Path(path)
    return _merged(base or TrainConfig(), _file_changes(p, _read_table(p)))


def _shown(value: Any) -> str:
    return repr(value.value if isinstance(value, Enum) else value)


def add_config_arguments(
    parser: argparse.ArgumentParser,
    defaults: TrainConfig | None = None,
    real_defaults: TrainConfig | None = None,
    fields: Collection[str] | None = None,
) -> None:
    """Add ``--config``, ``--set`` and one flag per :class:`TrainConfig` field to ``parser``.

    Flags default to ``None`` (meaning: keep the file's or the preset's value); their help
    shows the value that applies when the flag is not given.

    Args:
        parser: the command's parser.
        defaults: the command's defaults on the synthetic data (``TrainConfig()``).
        real_defaults: its defaults on a training store, where they differ (shown as
            "with --data STORE").
        fields: the fields that get a flag (``None``: all; ``--set`` only with
            ``method``).
    """
    parser.add_argument(
        "--config", type=Path, default=None, help="TOML, YAML or JSON (a run's config.json) file"
    )
    kinds = _field_types()
    names = [n for n in kinds if fields is None or n in fields]
    if "method" in names:
        parser.add_argument(
            "--set",
            dest="method_set",
            action="append",
            default=None,
            metavar="KEY=VALUE",
            help="a setting of the method (repeatable): --set lambda_trip=0.5; "
            "METHOD.KEY=VALUE sets one of another method (protocol --variants); "
            "disentangle-fas methods lists them",
        )
    base = defaults if defaults is not None else TrainConfig()
    for name in names:
        kind = kinds[name]
        flag = "--" + name.replace("_", "-")
        help_text = FLAG_HELP[name]
        if name in SETTING_SHORTHANDS:
            help_text += f" (shorthand for --set {SETTING_SHORTHANDS[name]}=VALUE)"
        else:
            default = _shown(getattr(base, name))
            if real_defaults is not None and getattr(real_defaults, name) != getattr(base, name):
                default += f"; {_shown(getattr(real_defaults, name))} with --data STORE"
            help_text += f" (default: {default})".replace("%", "%%")
        if kind is bool:
            parser.add_argument(
                flag,
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif name in _CHOICES:
            values = [str(m.value) for m in _CHOICES[name]]
            parser.add_argument(flag, dest=name, choices=values, default=None, help=help_text)
        else:
            parser.add_argument(flag, dest=name, type=kind, default=None, help=help_text)


def config_from_args(
    args: argparse.Namespace,
    base: TrainConfig | Callable[[str], TrainConfig] | None = None,
) -> TrainConfig:
    """Build the configuration: defaults, then ``--config`` file, then explicit flags, then
    ``--set``.

    Args:
        args: parsed flags.
        base: the defaults, or a function of the run's ``data`` that gives them (the
            preset is then chosen after the file is read: ``--data`` first, else the
            file's ``data``, else ``"synthetic"``).
    """
    given = getattr(args, "config", None)
    path = None if given is None else Path(given)
    table = None if path is None else _read_table(path)
    if callable(base):
        data = getattr(args, "data", None) or (table or {}).get("data", "synthetic")
        cfg = base(data if isinstance(data, str) else "synthetic")
    else:
        cfg = base or TrainConfig()
    if path is not None and table is not None:
        cfg = _merged(cfg, _file_changes(path, table))
    changes: dict[str, Any] = {
        name: getattr(args, name)
        for name in _field_types()
        if getattr(args, name, None) is not None
    }
    assignments = getattr(args, "method_set", None) or []
    if assignments:
        changes["method_settings"] = dict(parse_assignment(a) for a in assignments)
    return _merged(cfg, changes) if changes else cfg


def parse_config(argv: Sequence[str], base: TrainConfig | None = None) -> TrainConfig:
    """Parse ``argv`` (flags only) into a configuration; a convenience for tests/scripts."""
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return config_from_args(parser.parse_args(list(argv)), base)
