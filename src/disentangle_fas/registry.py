"""Model kinds: how a checkpoint names a model class and rebuilds it.

A *model kind* is a name stored in a checkpoint (``"disentangle"``, ``"ssdg-r"``, ...)
with the model class and its config class. A kind is registered by the method folder that
defines the model (``disentangle_fas/methods/<name>/``) or by an installed plugin, through
:func:`register_model_kind`; the checkpoint code never imports a module named in a file.
A kind not yet registered is looked for once by :func:`disentangle_fas.methods.load_methods`
(every method folder of the library, then the ``disentangle_fas.methods`` entry points), so
no user imports a method's package first. Names a kind had before may stay readable as
``aliases`` (the paper's model was ``"disentangled-fas"``).

A registered model class follows :class:`BuildableModel`; its config class follows
:class:`ModelConfigLike`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from disentangle_fas.contracts import LivenessModel

__all__ = [
    "BuildableModel",
    "ModelConfigLike",
    "ModelKind",
    "kind_of",
    "model_kind",
    "model_kinds",
    "register_model_kind",
]


class ModelConfigLike(Protocol):
    """A model config: JSON-serialisable through ``to_dict`` / ``from_dict``."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfigLike:
        """Rebuild from :meth:`to_dict` output."""
        ...


class BuildableModel(Protocol):
    """A model class a checkpoint can rebuild: ``from_config(config, warn_random=...)``."""

    @classmethod
    def from_config(cls, config: Any, *, warn_random: bool = True) -> LivenessModel:
        """Build the architecture described by ``config`` (weights are loaded afterwards)."""
        ...


@dataclass(frozen=True)
class ModelKind:
    """A registered model kind.

    Attributes:
        name: the name stored in checkpoints.
        model_cls: the model class (a :class:`~disentangle_fas.contracts.LivenessModel`
            subclass with ``from_config`` and a ``config`` attribute).
        config_cls: the config class (``to_dict`` / ``from_dict``).
        aliases: older names of the kind that checkpoints may still hold.
    """

    name: str
    model_cls: type[LivenessModel]
    config_cls: type[Any]
    aliases: tuple[str, ...] = ()

    def build(self, config: Mapping[str, Any]) -> LivenessModel:
        """Rebuild the architecture from a stored config dict (random weights, no warning)."""
        cfg = self.config_cls.from_dict(dict(config))
        model: LivenessModel = self.model_cls.from_config(cfg, warn_random=False)  # type: ignore[attr-defined]
        return model


_KINDS: dict[str, ModelKind] = {}


def register_model_kind(
    name: str,
    model_cls: type[LivenessModel],
    config_cls: type[Any],
    *,
    aliases: tuple[str, ...] = (),
    replace: bool = False,
) -> ModelKind:
    """Register a model class under a checkpoint kind name.

    Args:
        name: the kind name stored in checkpoints (e.g. ``"my-model"``).
        model_cls: a :class:`~disentangle_fas.contracts.LivenessModel` subclass with a
            ``from_config(config, *, warn_random)`` classmethod and a ``config`` attribute
            whose ``to_dict()`` is JSON-serialisable.
        config_cls: the config class, with ``from_dict(dict)``.
        aliases: older names of the kind; checkpoints that hold one load as this kind
            (new checkpoints are written with ``name``).
        replace: allow replacing an existing registration of ``name``.

    Returns:
        The :class:`ModelKind`.

    Raises:
        TypeError: the classes do not have the required methods.
        ValueError: ``name`` is empty, or already registered with other classes.

    Example:
        >>> register_model_kind("my-model", MyModel, MyConfig)  # doctest: +SKIP
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"a model kind needs a non-empty name, got {name!r}")
    if not (isinstance(model_cls, type) and issubclass(model_cls, LivenessModel)):
        raise TypeError(
            f"{model_cls!r} must be a subclass of disentangle_fas.contracts.LivenessModel"
        )
    if not callable(getattr(model_cls, "from_config", None)):
        raise TypeError(f"{model_cls.__name__} needs a from_config(config, *, warn_random) method")
    if not callable(getattr(config_cls, "from_dict", None)):
        raise TypeError(f"{getattr(config_cls, '__name__', config_cls)!r} needs from_dict(dict)")
    kind = ModelKind(name, model_cls, config_cls, tuple(aliases))
    for key in (name, *aliases):
        old = _KINDS.get(key)
        if old is not None and old != kind and not replace:
            raise ValueError(
                f"model kind {key!r} is already registered for {old.model_cls.__name__}; "
                "pass replace=True to replace it"
            )
    for key in (name, *aliases):
        _KINDS[key] = kind
    return kind


def _discover() -> None:
    """Register every method folder's and plugin's kinds (once; cheap afterwards)."""
    importlib.import_module("disentangle_fas.methods").load_methods()


def model_kind(name: str) -> ModelKind:
    """Return the registered kind ``name`` or the kind that has it as an alias (the
    library's and the plugins' kinds are found on demand).

    Raises:
        ValueError: no such kind; the message lists the known ones.
    """
    if name not in _KINDS:
        _discover()
    if name not in _KINDS:
        raise ValueError(
            f"unknown model kind {name!r}; known kinds: {model_kinds()}. A kind of your own "
            "must be registered with disentangle_fas.registry.register_model_kind before loading"
        )
    return _KINDS[name]


def model_kinds() -> list[str]:
    """Return the names of every known kind (the library's, the plugins' and any registered
    by hand; aliases left out), sorted.
    """
    _discover()
    return sorted({kind.name for kind in _KINDS.values()})


def kind_of(model: LivenessModel) -> ModelKind | None:
    """Return the kind registered for ``type(model)`` (exact class), or ``None``.

    A class is registered when its defining module is imported, which has happened for any
    existing instance, so nothing is imported here.
    """
    for kind in _KINDS.values():
        if type(model) is kind.model_cls:  # the same kind under its name and its aliases
            return kind
    return None
