"""Training configuration: one typed dataclass, every default declared here.

A :class:`TrainConfig` is built from its defaults, optionally updated from a TOML, YAML or
JSON file, then from command-line flags, one per field (``--lr 3e-4``, ``--no-compile``;
:mod:`~disentangle_fas.training.config_io` reads both). The method's own settings are not
fields: they are its config's (``--set key=value``, repeatable, or the file's ``[method]``
table), checked against the method's config by :func:`check_method_settings` before any
work.

The ``source`` of each default (paper, common practice, or our choice) is documented in
``docs/training.md``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from disentangle_fas.metrics.checkpoints import CheckpointPolicy
from disentangle_fas.metrics.thresholds import ThresholdStrategy

__all__ = [
    "SETTING_SHORTHANDS",
    "TrainConfig",
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
