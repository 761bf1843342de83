"""Model checkpoints: one safetensors file with the config in its metadata.

A checkpoint is a ``.safetensors`` file holding the model's tensors; its metadata holds a
JSON document under the key ``"disentangle_fas"`` with the :class:`ModelConfig`, the
decision threshold (and how it was chosen) and free-form information (domains, step,
metrics). Loading never executes code.

:func:`save_liveness_model` writes only E_L + C_L (a ``baseline`` model), which is all that
inference needs.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from disentangle_fas import __version__
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.safas import SAFAS, SAFASConfig
from disentangle_fas.ssan import SSANR, SSANConfig
from disentangle_fas.ssdg import SSDGR, SSDGConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "LivenessModel",
    "LoadedModel",
    "liveness_only",
    "load_model",
    "read_metadata",
    "save_liveness_model",
    "save_model",
]

#: Value of ``metadata["format"]`` in every checkpoint written by the library.
CHECKPOINT_FORMAT = "disentangle-fas/model/1"
_META_KEY = "disentangle_fas"

#: The model kinds a checkpoint can hold; all have ``live_score(images)`` and ``config``.
LivenessModel = DisentangledFAS | SSDGR | SSANR | SAFAS
_AnyConfig = ModelConfig | SSDGConfig | SSANConfig | SAFASConfig
_KINDS: dict[str, tuple[type[LivenessModel], type[_AnyConfig]]] = {
    "disentangled-fas": (DisentangledFAS, ModelConfig),
    "ssdg-r": (SSDGR, SSDGConfig),
    "ssan-r": (SSANR, SSANConfig),
    "sa-fas": (SAFAS, SAFASConfig),
}


def _kind_of(model: LivenessModel) -> str:
    for kind, (cls, _) in _KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"cannot checkpoint a {type(model).__name__}; expected one of {list(_KINDS)}")


@dataclass
class LoadedModel:
    """A model loaded from a checkpoint.

    Attributes:
        model: the rebuilt model in eval mode (:class:`DisentangledFAS` or :class:`SSDGR`).
        config: its config (:class:`ModelConfig` or :class:`SSDGConfig`).
        threshold: the stored decision threshold on P(live) (0.5 if none was stored).
        threshold_strategy: how the threshold was chosen (e.g. ``"source-val-eer"``).
        info: any other stored information.
    """

    model: LivenessModel
    config: _AnyConfig
    threshold: float = 0.5
    threshold_strategy: str = "default-0.5"
    info: dict[str, Any] = field(default_factory=dict)


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _alias_groups(module: nn.Module) -> dict[str, str]:
    """Map every state-dict key to the first key sharing its tensor (shared stem aliases)."""
    first: dict[tuple[int, int], str] = {}
    groups: dict[str, str] = {}
    for key, value in module.state_dict(keep_vars=True).items():
        ident = (value.data_ptr(), value.numel()) if value.numel() else (id(value), 0)
        groups[key] = first.setdefault(ident, key)
    return groups


def _unique_tensors(module: nn.Module) -> dict[str, Tensor]:
    groups = _alias_groups(module)
    sd = module.state_dict()
    return {k: sd[k].detach().contiguous().cpu() for k, g in groups.items() if k == g}


def save_model(
    path: str | Path,
    model: LivenessModel,
    *,
    threshold: float | None = None,
    threshold_strategy: str | None = None,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, then rename).

    Args:
        path: destination ``.safetensors`` path.
        model: a model built with ``from_config`` (or :meth:`DisentangledFAS.build`).
        threshold: decision threshold on P(live) to store.
        threshold_strategy: how it was chosen (stored verbatim, reported by readers).
        info: extra JSON-serialisable information.

    Returns:
        The path written.

    Raises:
        ValueError: the model has no ``config`` (hand-assembled models cannot be rebuilt).
    """
    kind = _kind_of(model)
    if model.config is None:
        raise ValueError(
            "model.config is None: build the model with from_config (or DisentangledFAS.build) "
            "so the checkpoint can rebuild it, or save model.state_dict() yourself"
        )
    meta = {
        "format": CHECKPOINT_FORMAT,
        "kind": kind,
        "library_version": __version__,
        "config": model.config.to_dict(),
        "threshold": threshold,
        "threshold_strategy": threshold_strategy,
        "info": info or {},
    }
    dest = Path(path)
    tmp = _atomic_target(dest)
    try:
        save_file(_unique_tensors(model), str(tmp), metadata={_META_KEY: json.dumps(meta)})
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Return the JSON metadata of a checkpoint without loading tensors.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a safetensors file, or not written by this library.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
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
    meta: dict[str, Any] = json.loads(raw)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{p}: unsupported checkpoint format {meta.get('format')!r}")
    return meta


def load_model(path: str | Path, *, map_location: str = "cpu") -> LoadedModel:
    """Rebuild a model from a checkpoint written by :func:`save_model`.

    Args:
        path: the ``.safetensors`` file.
        map_location: device to load the tensors to.

    Returns:
        :class:`LoadedModel` with the model in eval mode.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a disentangle-fas checkpoint, or tensors do not match the config.
    """
    meta = read_metadata(path)
    kind = meta.get("kind", "disentangled-fas")
    if kind not in _KINDS:
        raise ValueError(f"{path}: unknown model kind {kind!r}; expected one of {list(_KINDS)}")
    model_cls, config_cls = _KINDS[kind]
    config = config_cls.from_dict(meta["config"])
    model = model_cls.from_config(config, warn_random=False)  # type: ignore[arg-type]
    tensors = load_file(str(path), device=map_location)
    groups = _alias_groups(model)
    result = model.load_state_dict(tensors, strict=False)
    # Keys of a shared module appear under several names; the file stores one of them.
    missing = [k for k in result.missing_keys if groups.get(k, k) not in tensors]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise ValueError(
            f"{path}: tensors do not match the stored config: missing={sorted(missing)[:5]} "
            f"unexpected={sorted(unexpected)[:5]}"
        )
    model.eval()
    threshold = meta.get("threshold")
    return LoadedModel(
        model=model,
        config=config,
        threshold=0.5 if threshold is None else float(threshold),
        threshold_strategy=meta.get("threshold_strategy") or "default-0.5",
        info=dict(meta.get("info") or {}),
    )


def liveness_only(model: LivenessModel) -> LivenessModel:
    """Return a ``baseline`` model (E_L + C_L) carrying ``model``'s liveness weights.

    An :class:`SSDGR`, :class:`SSANR` or :class:`SAFAS` model is returned as it is (its
    inference path is the whole trunk).

    Raises:
        ValueError: the model has no ``config``.
    """
    if isinstance(model, SSDGR | SSANR | SAFAS):
        return model.eval()
    if model.config is None:
        raise ValueError("model.config is None; cannot derive the liveness-only model")
    cfg = ModelConfig.from_dict({**model.config.to_dict(), "variant": "baseline"})
    small = DisentangledFAS.from_config(cfg, warn_random=False)
    small.encoders.liveness.load_state_dict(model.encoders.liveness.state_dict())
    small.liveness_head.load_state_dict(model.liveness_head.state_dict())
    return small.to(next(model.parameters()).device).eval()


def save_liveness_model(
    path: str | Path,
    model: LivenessModel,
    *,
    threshold: float | None = None,
    threshold_strategy: str | None = None,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write only E_L + C_L (what inference needs) as a checkpoint; see :func:`save_model`."""
    return save_model(
        path,
        liveness_only(model),
        threshold=threshold,
        threshold_strategy=threshold_strategy,
        info=info,
    )
