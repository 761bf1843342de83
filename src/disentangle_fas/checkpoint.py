"""Model checkpoints: one safetensors file with the model's description in its metadata.

A checkpoint is a ``.safetensors`` file holding the model's tensors; its metadata holds a
JSON document under the key ``"disentangle_fas"`` with the model *kind* (see
:mod:`disentangle_fas.registry`) and its config, the input the model expects
(:class:`~disentangle_fas.contracts.InputSpec`), the decision threshold (and how it was
chosen) and free-form information (domains, step, metrics). Loading never executes code and
never imports a module named in the file.

Models of a registered kind rebuild from their config. Any other
:class:`~disentangle_fas.contracts.LivenessModel` (a user's own module) is stored as kind
``"custom"`` with a JSON config of the user's, and reloads through a ``builder`` the user
passes to :func:`load_model`. :func:`save_liveness_model` writes only the inference path
(:meth:`~disentangle_fas.contracts.LivenessModel.liveness_only`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from disentangle_fas import __version__
from disentangle_fas._io import alias_groups, atomic_path, check_regular_file, unique_tensors
from disentangle_fas.builders import BUILDER_HELP, resolve_builder
from disentangle_fas.checkpoint_meta import CUSTOM_KIND, validate_metadata
from disentangle_fas.contracts import InputSpec, LivenessModel
from disentangle_fas.registry import kind_of, model_kind
from disentangle_fas.weights import check_weights

__all__ = [
    "BUILDER_HELP",
    "CHECKPOINT_FORMAT",
    "CUSTOM_KIND",
    "Builder",
    "LivenessModel",
    "LoadedModel",
    "liveness_only",
    "load_model",
    "load_weights",
    "read_metadata",
    "resolve_builder",
    "save_liveness_model",
    "save_model",
]

#: Value of ``metadata["format"]`` in every checkpoint written by the library.
CHECKPOINT_FORMAT = "disentangle-fas/model/1"
#: Kind stored for models of no registered kind; they reload through a user's builder.
_META_KEY = "disentangle_fas"

#: A user's function that rebuilds a custom model from its stored config.
Builder = Callable[[dict[str, Any]], nn.Module]


@dataclass
class LoadedModel:
    """A model loaded from a checkpoint.

    Attributes:
        model: the rebuilt model in eval mode.
        config: its config (the kind's config object; a dict for custom models).
        threshold: the stored decision threshold on P(live) (0.5 if none was stored).
        threshold_strategy: how the threshold was chosen (e.g. ``"source-val-eer"``).
        info: any other stored information.
        kind: the model kind stored in the file.
        input_spec: the stored input size and normalisation; ``None`` for files that
            predate it and whose config does not give the size.
    """

    model: LivenessModel
    config: Any
    threshold: float = 0.5
    threshold_strategy: str = "default-0.5"
    info: dict[str, Any] = field(default_factory=dict)
    kind: str = "disentangle"
    input_spec: InputSpec | None = None


def _model_then_path(
    model: nn.Module | str | os.PathLike[str], path: str | os.PathLike[str] | nn.Module
) -> tuple[nn.Module, Path]:
    """``(model, path)``, also from the former order ``(path, model)`` (with a warning)."""
    if isinstance(model, str | os.PathLike) and isinstance(path, nn.Module):
        warnings.warn(
            "save_model(path, model) is deprecated: pass the model first, "
            "save_model(model, path), as torch.save(obj, f) and safetensors' save_file do",
            DeprecationWarning,
            stacklevel=3,
        )
        model, path = path, model
    if isinstance(path, nn.Module) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or path, got {type(path).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"cannot checkpoint a {type(model).__name__}: pass a LivenessModel")
    return model, Path(path)


def save_model(
    model: nn.Module | str | os.PathLike[str],
    path: str | os.PathLike[str] | nn.Module,
    *,
    threshold: float | None = None,
    threshold_strategy: str | None = None,
    info: dict[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    input_spec: InputSpec | None = None,
    builder: str | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, then rename).

    Args:
        model: a :class:`~disentangle_fas.contracts.LivenessModel`: of a registered kind
            with a ``config`` (e.g. built with ``DisentangledFAS.build``), or any other,
            which is stored as kind ``"custom"`` with ``config``.
        path: destination ``.safetensors`` path. (The model comes first, as in
            ``torch.save(obj, f)``; the former order ``save_model(path, model)`` still
            works, with a ``DeprecationWarning``.)
        threshold: decision threshold on P(live) to store.
        threshold_strategy: how it was chosen (stored verbatim, reported by readers).
        info: extra JSON-serialisable information.
        config: a JSON-serialisable config for a custom model (what its builder needs);
            not used for registered kinds.
        input_spec: the input the model expects; defaults to ``model.input_spec``.
        builder: for a custom model, the ``"module:function"`` that rebuilds it from
            ``config``, stored as a hint that readers print (never imported from the file:
            the reader names it, e.g. ``predict --builder module:function``).

    Returns:
        The path written.

    Raises:
        TypeError: ``model`` is not a :class:`~disentangle_fas.contracts.LivenessModel`.
        ValueError: a registered model without ``config``, or no input spec known.
    """
    model, path = _model_then_path(model, path)
    if not isinstance(model, LivenessModel):
        raise TypeError(
            f"cannot checkpoint a {type(model).__name__}: derive it from "
            "disentangle_fas.contracts.LivenessModel"
        )
    kind = kind_of(model)
    own_config = getattr(model, "config", None)
    if kind is not None and own_config is not None:
        kind_name, stored = kind.name, own_config.to_dict()
    else:
        # Of no registered kind, or assembled by hand (a registered class without the
        # config that rebuilds it): the user's builder rebuilds it from ``config``.
        kind_name, stored = CUSTOM_KIND, dict(config or {})
    spec = input_spec if input_spec is not None else model.input_spec
    if spec is None:
        raise ValueError(
            f"the input size of this {type(model).__name__} is unknown: pass input_spec="
            "InputSpec(image_size, mean, std) so that readers of the checkpoint know it"
        )
    meta = {
        "format": CHECKPOINT_FORMAT,
        "kind": kind_name,
        "library_version": __version__,
        "config": stored,
        "input": spec.to_dict(),
        "threshold": threshold,
        "threshold_strategy": threshold_strategy,
        "info": info or {},
    }
    if kind_name == CUSTOM_KIND:
        meta["class"] = f"{type(model).__module__}.{type(model).__qualname__}"
        if builder is not None:
            meta["builder"] = str(builder)
    try:
        text = json.dumps(meta)
    except TypeError as exc:
        raise ValueError(f"checkpoint metadata is not JSON-serialisable: {exc}") from exc
    dest = Path(path)
    with atomic_path(dest) as tmp:
        save_file(unique_tensors(model), str(tmp), metadata={_META_KEY: text})
    return dest


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Return the JSON metadata of a checkpoint without loading tensors.

    The metadata is validated (:func:`~disentangle_fas.checkpoint_meta.validate_metadata`:
    types, registered kind, known config keys, input size within the memory limit,
    threshold in ``[0, 1]``) before anything is built from it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a regular file, not a safetensors file, not written by this
            library, or metadata that fails the validation.
        MemoryLimitError: the stated input size asks for more memory than allowed
            (:mod:`disentangle_fas.limits`).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    check_regular_file(p, "checkpoint")
    try:
        with safe_open(str(p), framework="pt") as f:
            raw = (f.metadata() or {}).get(_META_KEY)
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"{p} is not a safetensors checkpoint: {exc}") from exc
    if raw is None:
        raise ValueError(
            f"{p} is a safetensors file but not a disentangle-fas checkpoint "
            f"(no {_META_KEY!r} metadata)"
        )
    try:
        meta: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{p}: the checkpoint metadata is not valid JSON ({exc})") from None
    validate_metadata(meta, p)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{p}: unsupported checkpoint format {meta.get('format')!r}")
    return meta


def load_model(
    path: str | Path, *, map_location: str = "cpu", builder: Builder | None = None
) -> LoadedModel:
    """Rebuild a model from a checkpoint written by :func:`save_model`.

    Args:
        path: the ``.safetensors`` file.
        map_location: device to load the tensors to.
        builder: for ``"custom"`` checkpoints, a function from the stored config dict to
            the (untrained) model; the weights are then loaded into it strictly.

    Returns:
        :class:`LoadedModel` with the model in eval mode.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a disentangle-fas checkpoint, an unknown kind, a custom checkpoint
            without ``builder``, tensors that do not match the architecture (or are
            integer, NaN or infinite: :func:`load_weights`), or a stored threshold outside
            ``[0, 1]``.
    """
    meta = read_metadata(path)
    kind = str(meta.get("kind", "disentangled-fas"))
    stored = dict(meta.get("config") or {})
    if kind == CUSTOM_KIND:
        if builder is None:
            hint = meta.get("builder")
            named = f" (its writer named {hint!r})" if isinstance(hint, str) else ""
            what = meta.get("class", "a model of no registered kind")
            raise ValueError(
                f"{path} holds a custom model ({what}): rebuild it with the function that "
                f"built it from its config{named}: --builder MODULE:FUNCTION on the command "
                "line, load_model(path, builder=...) in Python"
            )
        model = builder(stored)
        if not isinstance(model, LivenessModel):
            raise TypeError("the builder must return a disentangle_fas LivenessModel")
        config: Any = stored
    else:
        spec = model_kind(kind)
        config = spec.config_cls.from_dict(stored)
        model = spec.model_cls.from_config(config, warn_random=False)  # type: ignore[attr-defined]
    load_weights(path, model, map_location=map_location)
    model.eval()
    threshold = meta.get("threshold")  # validated by read_metadata
    input_raw = meta.get("input")
    input_spec = InputSpec.from_dict(input_raw) if input_raw else model.input_spec
    return LoadedModel(
        model=model,
        config=config,
        threshold=0.5 if threshold is None else float(threshold),
        threshold_strategy=meta.get("threshold_strategy") or "default-0.5",
        info=dict(meta.get("info") or {}),
        kind=kind,
        input_spec=input_spec,
    )


def load_weights(path: str | Path, model: nn.Module, *, map_location: str = "cpu") -> nn.Module:
    """Load a checkpoint's tensors into an existing module, strictly.

    Keys of modules shared under several names (a shared stem) are stored once and
    restored for every name.

    Args:
        path: the ``.safetensors`` checkpoint.
        model: a module of the checkpoint's architecture.
        map_location: device to load the tensors to.

    Returns:
        ``model``.

    Raises:
        ValueError: not a regular file; tensors are missing, unexpected or misshapen, or
            of the wrong kind (integer where the model's weights are floating point).
        NonFiniteWeightsError: NaN or infinite values (exit code 3).
    """
    check_regular_file(path, "checkpoint")
    tensors = load_file(str(path), device=map_location)
    groups = alias_groups(model)
    own = model.state_dict()
    wrong = sorted(k for k in tensors if k in own and own[k].shape != tensors[k].shape)
    if wrong:
        raise ValueError(f"{path}: tensors do not match the architecture: wrong shape {wrong[:5]}")
    check_weights(tensors, path, own)
    result = model.load_state_dict(tensors, strict=False)
    missing = [k for k in result.missing_keys if groups.get(k, k) not in tensors]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise ValueError(
            f"{path}: tensors do not match the architecture: missing={sorted(missing)[:5]} "
            f"unexpected={sorted(unexpected)[:5]}"
        )
    return model


def liveness_only(model: LivenessModel) -> LivenessModel:
    """Return the smallest model with ``model``'s live score (its ``liveness_only()``)."""
    return model.liveness_only()


def save_liveness_model(
    model: LivenessModel | str | os.PathLike[str],
    path: str | os.PathLike[str] | LivenessModel,
    *,
    threshold: float | None = None,
    threshold_strategy: str | None = None,
    info: dict[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    builder: str | None = None,
) -> Path:
    """Write only the inference path (E_L + C_L) as a checkpoint; see :func:`save_model`
    (the same argument order, model first).
    """
    module, target = _model_then_path(model, path)
    if not isinstance(module, LivenessModel):
        raise TypeError(f"cannot checkpoint a {type(module).__name__}: pass a LivenessModel")
    return save_model(
        liveness_only(module),
        target,
        threshold=threshold,
        threshold_strategy=threshold_strategy,
        info=info,
        config=config,
        builder=builder,
    )
