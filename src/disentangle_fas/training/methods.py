"""How the harness builds a method: a :class:`TrainConfig` and a task become a
:class:`~disentangle_fas.methods.MethodContext`, handed to the method's registered builder.

The methods themselves live in ``disentangle_fas/methods/<name>/`` and register there
(:func:`disentangle_fas.methods.register_method`); this module names none of them.
``register_method``, ``available_methods``, ``ObjectiveMethod`` and ``Losses`` are
re-exported for code written against this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from disentangle_fas.contracts import Losses, TrainingMethod
from disentangle_fas.data.protocols import parse_task
from disentangle_fas.methods import (
    MethodBuilder,
    MethodContext,
    SettingsError,
    available_methods,
    method_builder,
)
from disentangle_fas.methods import register_method as _register
from disentangle_fas.methods.common import ComparedMethod, ObjectiveMethod
from disentangle_fas.methods.registry import required_positional
from disentangle_fas.training.config import TrainConfig, settings_for, settings_owners
from disentangle_fas.training.data import TaskData

__all__ = [
    "ComparedMethod",
    "Losses",
    "MethodBuilder",
    "ObjectiveMethod",
    "TrainingMethod",
    "available_methods",
    "build_method",
    "check_method_settings",
    "method_config",
    "method_context",
    "register_method",
    "uses_content",
]

#: Builders registered with the old ``builder(cfg, task, warn_random)`` signature.
_LEGACY: dict[str, Callable[[TrainConfig, TaskData, bool], TrainingMethod]] = {}


def register_method(
    name: str, builder: Callable[..., TrainingMethod] | MethodBuilder, *, replace: bool = False
) -> MethodBuilder:
    """:func:`disentangle_fas.methods.register_method`, also taking a builder of the older
    form ``builder(cfg, task, warn_random)`` (three parameters), which only the training
    harness can call.
    """
    if not isinstance(builder, MethodBuilder) and required_positional(builder) == 3:
        legacy = builder

        def unsupported(context: MethodContext) -> TrainingMethod:
            raise TypeError(
                f"method {name!r} was registered with the (cfg, task, warn_random) signature: "
                "build it through disentangle_fas.training.build_method"
            )

        spec = _register(name, unsupported, replace=replace)
        _LEGACY[name] = legacy
        return spec
    _LEGACY.pop(name, None)
    return _register(name, builder, replace=replace)


def method_context(
    cfg: TrainConfig,
    task: TaskData | None = None,
    *,
    rank: int = 0,
    warn_random: bool = True,
    method: str | None = None,
) -> MethodContext:
    """The context of a run of ``cfg`` (on ``task``, or on what the task name tells before
    any data exists: its domains).

    Args:
        cfg: the run's configuration.
        task: its data; ``None`` before it is built (the domains are then read from the
            task name, three placeholders when it is none (a custom task builder's), and
            ``content_shape`` is the one the run will have).
        rank: this process's rank.
        warn_random: warn about random trunks.
        method: whose settings to take (default ``cfg.method``).
    """
    if task is not None:
        sources, target = list(task.source_names), task.target_name
        shape: tuple[int, int, int] | None = task.content_shape
    else:
        try:
            sources, target = parse_task(cfg.task)
        except ValueError:  # a custom task builder's name: placeholders, for the checks
            sources, target = ["S1", "S2", "S3"], ""
        shape = (1, cfg.content_size, cfg.content_size)
    return MethodContext(
        source_names=tuple(sources),
        target_name=target,
        image_size=cfg.image_size,
        depth=cfg.depth,
        backbone=cfg.backbone or None,
        imagenet_weights=cfg.imagenet_weights or None,
        content_shape=shape,
        seed=cfg.seed,
        rank=rank,
        settings=settings_for(cfg, method),
        warn_random=warn_random,
    )


def method_config(
    cfg: TrainConfig, task: TaskData | None = None, *, method: str | None = None
) -> Any:
    """The config a method (``cfg.method`` by default) will use: its defaults with the
    settings ``cfg`` gives it; ``None`` for a method without one.

    Raises:
        ValueError: an unknown method.
        SettingsError: an unknown setting, or a bad value.
    """
    name = cfg.method if method is None else method
    if name in _LEGACY:
        if settings_for(cfg, name):
            raise SettingsError(f"method {name!r} takes no settings")
        return None
    context = method_context(cfg, task, method=name)
    return method_builder(name).config(context, name=name)


def check_method_settings(cfg: TrainConfig) -> TrainConfig:
    """Check ``cfg``'s method and every method setting before any work, and type them.

    Settings of another method (``other.key``) are checked against that method.

    Returns:
        ``cfg`` with its settings typed (``--set`` strings become the config fields'
        types), as the run's ``config.json`` records them.

    Raises:
        ValueError: an unknown method (the message lists the registered ones).
        SettingsError: an unknown setting (the message lists the valid ones), a wrong type
            or a bad value.
    """
    typed: dict[str, Any] = {}
    for name in settings_owners(cfg):
        if name in _LEGACY:
            method_config(cfg, method=name)  # refuses any setting
            continue
        spec = method_builder(name)
        context = spec.typed(method_context(cfg, method=name), name=name)
        spec.config(context, name=name)  # the values' ranges
        prefix = "" if name == cfg.method else f"{name}."
        typed.update({f"{prefix}{k}": v for k, v in context.settings.items()})
    return cfg.replace(method_settings=typed)


def uses_content(cfg: TrainConfig) -> bool:
    """Whether ``cfg``'s method trains with a content target (the task then builds one)."""
    if cfg.method in _LEGACY:
        return True
    return method_builder(cfg.method).uses_content(method_context(cfg))


def build_method(
    cfg: TrainConfig, task: TaskData, *, warn_random: bool = True, rank: int = 0
) -> TrainingMethod:
    """Build the method named by ``cfg.method`` for ``task``.

    Raises:
        ValueError: unknown method (the message lists the registered ones).
        SettingsError: a bad setting.
    """
    if cfg.method in _LEGACY:
        return _LEGACY[cfg.method](cfg, task, warn_random)
    context = method_context(cfg, task, rank=rank, warn_random=warn_random)
    return method_builder(cfg.method)(context)
