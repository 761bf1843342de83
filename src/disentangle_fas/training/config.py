"""Training configuration: one typed dataclass, every default declared here.

A :class:`TrainConfig` is built from its defaults, optionally updated from a TOML or YAML
file (:func:`load_config`), then from command-line flags (:func:`config_from_args`): one
flag per field, ``--lr 3e-4``, ``--no-compile``. The method's own settings are not fields:
they are its config's (``--set key=value``, repeatable, or the file's ``[method]`` table),
checked against the method's config by :func:`check_method_settings` before any work.

The ``source`` of each default (paper, common practice, or our choice) is documented in
``docs/training.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tomllib
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from disentangle_fas.methods.common.settings import parse_assignment
from disentangle_fas.metrics.checkpoints import CheckpointPolicy
from disentangle_fas.metrics.thresholds import ThresholdStrategy
from disentangle_fas.training.flags import FLAG_HELP

__all__ = [
    "SETTING_SHORTHANDS",
    "TrainConfig",
    "add_config_arguments",
    "config_from_args",
    "load_config",
    "parse_config",
    "settings_for",
    "settings_owners",
]

#: Fields that are shorthands for a method setting (they were fields before methods had
#: settings of their own): ``--variant baseline`` is ``--set variant=baseline``.
SETTING_SHORTHANDS: dict[str, str] = {
    "variant": "variant",
    "lmcl_scale": "scale",
    "lmcl_margin": "margin",
    "w_dom": "w_dom",
    "w_cont": "w_cont",
    "w_cont_cnf": "w_cont_cnf",
    "w_dom_cnf": "w_dom_cnf",
    "w_live_cnf": "w_live_cnf",
}


@dataclass
class TrainConfig:
    """Every knob of a training run.

    Data:
        data: ``"synthetic"`` (the built-in benchmark) or the directory of a training store
            written by ``disentangle-fas pack``.
        task: the task, e.g. ``"OCI->M"`` (Table 1) or ``"OCI->Cb"`` (Table 2); the
            synthetic benchmark has the same domain names as the real data.
        image_size: side length fed to the model.
        synthetic_train_per_domain: synthetic training images per source domain.
        synthetic_eval_per_domain: synthetic images per domain for source validation and
            target test.
        num_workers: DataLoader worker processes.
        hflip: random horizontal flips (the content target map is flipped with its image;
            right for depth maps, so keep it off with position-map targets).

    Model:
        method: a registered method (``disentangle-fas methods`` lists them):
            ``disentangle`` (the paper's model), ``ssdg-r``, ``ssan-r``, ``sa-fas``, ``gac-fas``, or one
            registered with :func:`~disentangle_fas.methods.register_method` (a plugin's).
        method_settings: the method's settings that differ from its defaults, by name
            (``--set key=value``; the file's ``[method]`` table). ``other.key`` sets a
            setting of method ``other`` (for ``protocol --variants``).
        variant, lmcl_scale, lmcl_margin, w_dom, w_cont, w_cont_cnf, w_dom_cnf, w_live_cnf:
            shorthands for the settings ``variant``, ``scale``, ``margin``, ``w_dom``, ...
            of the method (:data:`SETTING_SHORTHANDS`); folded into ``method_settings``
            when the config is built, and ``None`` afterwards.
        depth: ResNet depth of the encoders (when ``backbone`` is empty).
        backbone: the encoders' backbone, any name of
            :func:`~disentangle_fas.encoders.create_encoder` (``mobilenet_v3_small``,
            ``efficientnet_b0``, ``resnet50``, ``timm:<model>``); empty: ``resnet<depth>``.
        imagenet_weights: local torchvision ResNet state dict ('' = random init).
        content_target: ``"auto"`` (synthetic ground-truth geometry on synthetic data,
            PRNet on real data), ``"geometry"``, or ``"prnet"``.
        content_size: side of the content target map fed to the decoder.
        prnet_weights: local PRNet weights file (needed for ``prnet``).
        prnet_input_crop_scale: side of the stored crops in face-box sides (the
            preprocessing's ``crop_scale``, 1.2); when positive, crops are re-cut to PRNet's
            own square before the teacher sees them. 0 feeds them unchanged.

    Optimisation:
        steps: optimizer steps.
        batch_size: images per step (all ranks together); a multiple of 2 x source domains.
        lr, weight_decay, warmup_steps: AdamW with linear warm-up and cosine decay.
        grad_clip: max gradient norm (0 = off).

    Evaluation:
        eval_every: evaluate every N steps (and at the end).
        log_every: write training losses to the log every N steps.
        threshold: ``source_val_eer`` (honest) or ``oracle_target_eer`` (the literature).
        checkpoint_policy: ``best_source_val`` (honest), ``last`` or
            ``oracle_best_target``.
        averaging: the weights that are evaluated and checkpointed
            (:mod:`~disentangle_fas.training.averaging`): ``"none"`` (the raw weights of the
            step), ``"ema"`` (an exponential moving average, decay ``ema_decay``) or
            ``"swad"`` (the uniform average of every step's weights from ``average_start``
            on, SWAD's dense average over the window [start, end]). Both averages start
            after ``average_start`` of the steps; before, the raw weights are evaluated.
            Default ``"swad"``: on the synthetic benchmark (4 tasks x 4 seeds, 120 and 60
            steps) it cut the mean between-evaluation swing of the target AUC from 5.1 to
            1.7 and from 2.8 to 1.1 points without lowering the honest checkpoint's target
            AUC, and, unlike the EMA, it needs no time scale fitted to the run's length
            (``docs/training.md``, "Weight averaging"). ``"none"`` trains and evaluates
            exactly as a run without averaging.
        ema_decay: the EMA's decay, in (0, 1); 0.99 averages over about the last 100
            steps, a window that fits runs of a few hundred steps (0.999 suits thousands).
        average_start: the fraction of the steps, in [0, 1), done before the average
            starts: the first ``floor(average_start * steps)`` steps are not averaged.
            0.25 leaves out the warm-up and the fast early fit of the source data.

    Run:
        out: output directory. seed: global seed. device: ``auto``, ``cpu``, ``cuda``.
        amp: bf16 autocast on CUDA. channels_last: NHWC on CUDA. compile: torch.compile.
        resume: continue the run in ``out`` (its ``state.safetensors``); a changed model,
            data or optimisation setting is refused unless ``allow_config_change``.
        overwrite: replace the run in a non-empty ``out`` (without ``resume`` or
            ``overwrite`` such a folder is refused).
        allow_config_change: let ``resume`` continue with a changed configuration.
        tensorboard: also log to TensorBoard. progress: show a tqdm bar.
    """

    # data
    data: str = "synthetic"
    task: str = "OCI->M"
    image_size: int = 64
    synthetic_train_per_domain: int = 600
    synthetic_eval_per_domain: int = 200
    num_workers: int = 0
    hflip: bool = True
    # model
    method: str = "disentangle"
    method_settings: dict[str, Any] = field(default_factory=dict)
    depth: int = 18
    backbone: str = ""
    imagenet_weights: str = ""
    content_target: str = "auto"
    content_size: int = 32
    prnet_weights: str = ""
    prnet_input_crop_scale: float = 0.0
    # shorthands for method settings (folded into method_settings)
    variant: str | None = None
    lmcl_scale: float | None = None
    lmcl_margin: float | None = None
    w_dom: float | None = None
    w_cont: float | None = None
    w_cont_cnf: float | None = None
    w_dom_cnf: float | None = None
    w_live_cnf: float | None = None
    # optimisation
    steps: int = 300
    batch_size: int = 24
    lr: float = 1e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 20
    grad_clip: float = 5.0
    # evaluation
    eval_every: int = 100
    log_every: int = 10
    threshold: ThresholdStrategy = ThresholdStrategy.SOURCE_VAL_EER
    checkpoint_policy: CheckpointPolicy = CheckpointPolicy.BEST_SOURCE_VAL
    averaging: str = "swad"
    ema_decay: float = 0.99
    average_start: float = 0.25
    # run
    out: str = "runs/train"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    resume: bool = False
    overwrite: bool = False
    allow_config_change: bool = False
    tensorboard: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        # Shorthands become method settings; the dict is copied (replace() shares it).
        settings = dict(self.method_settings)
        for name, key in SETTING_SHORTHANDS.items():
            value = getattr(self, name)
            if value is not None:
                settings[key] = getattr(value, "value", value)  # a Variant member: its name
                setattr(self, name, None)
        self.method_settings = settings
        # The vocabulary fields accept their string values (TOML, flags, Python callers)
        # and hold enum members from here on.
        self.threshold = _member("threshold", self.threshold, ThresholdStrategy)
        self.checkpoint_policy = _member(
            "checkpoint_policy", self.checkpoint_policy, CheckpointPolicy
        )
        if not self.method:
            raise ValueError("method must be a registered method name, got an empty string")
        if self.content_target not in ("auto", "geometry", "prnet"):
            raise ValueError(
                f"content_target must be auto, geometry or prnet, got {self.content_target!r}"
            )
        for name in (
            "image_size",
            "steps",
            "batch_size",
            "eval_every",
            "log_every",
            "content_size",
            "depth",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other: pick one")
        for name in ("lr", "weight_decay", "grad_clip"):  # the EMA settings: range checks below
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        for name in ("warmup_steps", "num_workers", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.averaging not in ("none", "ema", "swad"):
            raise ValueError(f"averaging must be none, ema or swad, got {self.averaging!r}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1), got {self.ema_decay}")
        if not 0.0 <= self.average_start < 1.0:
            raise ValueError(f"average_start must lie in [0, 1), got {self.average_start}")

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a plain dict (JSON/TOML serialisable).

        Enum fields are written as their string values; the (folded) shorthands are left
        out.
        """
        return {
            k: v.value if isinstance(v, Enum) else v
            for k, v in dataclasses.asdict(self).items()
            if k not in SETTING_SHORTHANDS
        }

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)


_E = typing.TypeVar("_E", bound=Enum)

#: The accepted members of each vocabulary field (a fixed threshold is not a training
#: choice: the run reports the honest and the oracle ones).
_CHOICES: dict[str, tuple[Enum, ...]] = {
    "threshold": (ThresholdStrategy.SOURCE_VAL_EER, ThresholdStrategy.ORACLE_TARGET_EER),
    "checkpoint_policy": tuple(CheckpointPolicy),
}


def _member(name: str, value: _E | str, kind: type[_E]) -> _E:
    """Parse ``value`` into the accepted member of ``kind`` it names.

    Raises:
        ValueError: one line naming the bad value and the accepted ones.
    """
    allowed = _CHOICES[name]
    for member in allowed:
        if value is member or value == member.value:
            return typing.cast(_E, member)
    names = ", ".join(str(m.value) for m in allowed)
    raise ValueError(f"{name} must be one of {names}, got {value!r}")


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
    parser.add_argument("--config", type=Path, default=None, help="TOML or YAML config file")
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


def _owner(cfg: TrainConfig, key: str) -> tuple[str, str]:
    """``(method, setting)`` of a ``method_settings`` key (``key`` or ``method.key``)."""
    owner, dot, name = key.rpartition(".")
    return (owner, name) if dot else (cfg.method, key)


def settings_for(cfg: TrainConfig, method: str | None = None) -> dict[str, Any]:
    """The settings ``cfg`` gives method ``method`` (``cfg.method`` by default): the
    unqualified ones when it is ``cfg.method``, and every ``method.key``.
    """
    name = cfg.method if method is None else method
    return {
        setting: value
        for key, value in cfg.method_settings.items()
        for owner, setting in [_owner(cfg, key)]
        if owner == name
    }


def settings_owners(cfg: TrainConfig) -> list[str]:
    """``cfg.method`` and every other method that ``cfg`` gives a setting, in order."""
    return list(dict.fromkeys([cfg.method, *(_owner(cfg, k)[0] for k in cfg.method_settings)]))
