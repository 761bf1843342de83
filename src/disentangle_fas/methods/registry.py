"""The method registry: a name (``--method``, ``protocol --variants``, checkpoint kind, docs
heading) to the builder that makes the method.

Every folder of :mod:`disentangle_fas.methods` registers its method when imported, and an
installed package registers its own through the entry-point group
``disentangle_fas.methods``; :func:`load_methods` imports both, once, the first time a name
is looked up. Nothing here names a method.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from disentangle_fas.contracts import TrainingMethod
from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.settings import (
    Setting,
    SettingsError,
    coerce_settings,
    settings_of,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MethodBuilder",
    "available_methods",
    "load_methods",
    "method_builder",
    "register_method",
    "resolve_variant",
    "variant_names",
]

#: The entry-point group through which installed packages add methods.
ENTRY_POINT_GROUP = "disentangle_fas.methods"


def _no_content(config: Any) -> bool:
    del config
    return False


@dataclass(frozen=True)
class MethodBuilder:
    """A registered method: how to build it and which settings it takes.

    Calling it builds the method: ``builder(context) -> TrainingMethod``.

    Attributes:
        build: ``build(context) -> TrainingMethod``.
        config_cls: the method's config dataclass, whose fields (less the harness's,
            :data:`~disentangle_fas.methods.common.context.CONTEXT_FIELDS`) are its
            settings; ``None``: no settings.
        configure: ``configure(context) -> config``: the config a run uses (the context's
            settings applied over the method's defaults; validates them). ``None`` with a
            ``config_cls``: ``config_cls(num_domains=..., **settings)``.
        needs_content: ``needs_content(config) -> bool``: whether the method trains with a
            content target (the harness then builds one); default: never.
        variants: named setting presets that ``protocol --variants`` accepts as names of
            their own (the paper's Table 3 rows: ``{"baseline": {"variant": "baseline"}}``).
        summary: one line for ``disentangle-fas methods``.
    """

    build: Callable[[MethodContext], TrainingMethod]
    config_cls: type | None = None
    configure: Callable[[MethodContext], Any] | None = None
    needs_content: Callable[[Any], bool] = _no_content
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    summary: str = ""

    def __call__(self, context: MethodContext) -> TrainingMethod:
        """Build the method for ``context`` (its settings checked and typed first).

        Raises:
            SettingsError: an unknown setting or a value of the wrong type.
        """
        return self.build(self.typed(context))

    def settings(self) -> dict[str, Setting]:
        """The settable fields with their types, defaults and descriptions."""
        return {} if self.config_cls is None else settings_of(self.config_cls)

    def typed(self, context: MethodContext, *, name: str = "") -> MethodContext:
        """``context`` with its settings checked by name and converted to the config
        fields' types (``--set`` strings included); values are range-checked by
        :meth:`config`.

        Raises:
            SettingsError: an unknown setting, a value of the wrong type, or any setting
                for a method without a config.
        """
        if not context.settings:
            return context
        label = name or getattr(self.build, "__name__", "method")
        if self.config_cls is None:
            raise SettingsError(
                f"method {label!r} takes no settings; got {sorted(context.settings)}"
            )
        typed = coerce_settings(self.config_cls, context.settings, method=label)
        return dataclasses.replace(context, settings=typed)

    def config(self, context: MethodContext, *, name: str = "") -> Any:
        """The config a run with ``context`` uses; ``None`` for a method without one.

        Raises:
            SettingsError: an unknown setting, or a value of the wrong type or range.
        """
        context = self.typed(context, name=name)
        if self.config_cls is None:
            return None
        try:
            if self.configure is not None:
                return self.configure(context)
            return self.config_cls(num_domains=context.num_domains, **context.settings)
        except (TypeError, ValueError) as exc:
            label = name or getattr(self.build, "__name__", "method")
            raise SettingsError(f"method {label!r}: {exc}") from None

    def uses_content(self, context: MethodContext) -> bool:
        """Whether a run with ``context`` trains with a content target."""
        return bool(self.needs_content(self.config(context)))


def required_positional(func: Callable[..., Any]) -> int | None:
    """How many positional parameters ``func`` requires (``None``: no signature to read)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in params)


_METHODS: dict[str, MethodBuilder] = {}
_FAILED: dict[str, str] = {}
_LOADED = False


def register_method(
    name: str,
    builder: MethodBuilder | Callable[[MethodContext], TrainingMethod],
    *,
    replace: bool = False,
) -> MethodBuilder:
    """Register a method under ``name``.

    Args:
        name: the method's one name: ``train --method NAME``, ``protocol --variants``.
        builder: a :class:`MethodBuilder` (e.g. ``method_builder("disentangle")`` to
            register a built-in under another name, with its settings) or a plain
            ``builder(context) -> TrainingMethod`` (a method without settings).
        replace: allow replacing another registration of ``name``.

    Returns:
        The registered :class:`MethodBuilder`.

    Raises:
        ValueError: an empty name, or ``name`` taken by another builder (without
            ``replace``).
        TypeError: ``builder`` is not callable.

    Example:
        >>> from disentangle_fas.methods import method_builder, register_method
        >>> register_method("my-erm", method_builder("disentangle"))  # doctest: +SKIP
        >>> "variant" in method_builder("disentangle").settings()
        True
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"a method needs a non-empty name, got {name!r}")
    if not callable(builder):
        raise TypeError(f"the builder of method {name!r} must be callable, got {builder!r}")
    spec = builder if isinstance(builder, MethodBuilder) else MethodBuilder(builder)
    old = _METHODS.get(name)
    if old is not None and old != spec and not replace:
        raise ValueError(f"method {name!r} is already registered; pass replace=True")
    _METHODS[name] = spec
    return spec


def _load_entry_point(ep: EntryPoint) -> None:
    """Import a plugin's entry point and register what it names.

    The entry point may name a module (it registers on import), a :class:`MethodBuilder`,
    a builder function or a method class taking the context (registered under the entry
    point's name), or a function of no
    arguments that registers methods itself (what it returns, if callable, is registered
    under the entry point's name unless that name is taken).
    """
    obj = ep.load()
    if isinstance(obj, MethodBuilder):
        register_method(ep.name, obj, replace=True)
        return
    if not callable(obj):
        return  # a module: importing it registered its methods
    if isinstance(obj, type) or required_positional(obj) != 0:  # a class or a builder
        register_method(ep.name, obj, replace=True)
        return
    returned = obj()
    if callable(returned) and ep.name not in _METHODS:
        register_method(ep.name, returned)


def load_methods(*, reload_plugins: bool = False) -> None:
    """Import every method folder of the library, then every installed plugin (once).

    A plugin that fails to import is skipped with a warning; looking up one of its names
    then says why.

    Args:
        reload_plugins: look at the entry points again (after installing a package in a
            running interpreter).
    """
    global _LOADED
    if _LOADED and not reload_plugins:
        return
    first = not _LOADED
    _LOADED = True
    if first:
        package = importlib.import_module("disentangle_fas.methods")
        for info in pkgutil.iter_modules(package.__path__):
            if info.ispkg and not info.name.startswith("_") and info.name != "common":
                importlib.import_module(f"disentangle_fas.methods.{info.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _load_entry_point(ep)
        except Exception as exc:
            _FAILED[ep.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"method plugin {ep.name!r} ({ep.value}) failed to load: {_FAILED[ep.name]}",
                RuntimeWarning,
                stacklevel=2,
            )


def available_methods() -> list[str]:
    """Return the registered method names (built-in and plugins), sorted."""
    load_methods()
    return sorted(_METHODS)


def method_builder(name: str) -> MethodBuilder:
    """Return the builder registered as ``name``.

    Raises:
        ValueError: unknown name (the message lists the registered ones, and why a plugin
            of that name failed to load).
    """
    load_methods()
    if name not in _METHODS:
        why = f" (its plugin failed to load: {_FAILED[name]})" if name in _FAILED else ""
        raise ValueError(f"unknown method {name!r}{why}; choose one of {available_methods()}")
    return _METHODS[name]


def resolve_variant(name: str) -> tuple[str, dict[str, Any]]:
    """A ``protocol --variants`` name as ``(method, settings)``.

    A registered method stands for itself with no settings; a preset of a method's
    :attr:`MethodBuilder.variants` (the paper's ``baseline``) for that method with the
    preset's settings.

    Raises:
        ValueError: neither (the message lists what is accepted).
    """
    load_methods()
    if name in _METHODS:
        return name, {}
    for method, spec in _METHODS.items():
        if name in spec.variants:
            return method, dict(spec.variants[name])
    raise ValueError(f"unknown variant {name!r}; choose from {', '.join(variant_names())}")


def variant_names() -> list[str]:
    """Every name :func:`resolve_variant` accepts: presets first, then methods."""
    load_methods()
    presets = [v for spec in _METHODS.values() for v in spec.variants]
    return list(dict.fromkeys([*presets, *sorted(_METHODS)]))
