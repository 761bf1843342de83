"""Resumable training state: model, optimizer and random number generators in one
safetensors file, written atomically.

``state.safetensors`` holds every tensor (model parameters and buffers under ``model.``,
optimizer state under ``optim.``, RNG states under ``rng.``, and, for a run that averages
its weights, the averaged weights and the count of averaged steps under ``average.``) and
a JSON metadata document with the step, the optimizer's param groups and the run's
history. It is replaced with a temporary file and an atomic rename, so a run killed at any
moment leaves either the old or the new state, never a torn one. Loading executes no code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from disentangle_fas._io import alias_groups, atomic_path, check_regular_file, unique_tensors
from disentangle_fas.weights import check_weights

__all__ = ["STATE_FORMAT", "TrainingState", "load_training_state", "save_training_state"]

STATE_FORMAT = "disentangle-fas/train-state/1"

#: The prefix of the weight average's tensors in the state file.
_AVERAGE = "average."


@dataclass
class TrainingState:
    """What :func:`load_training_state` returns.

    Attributes:
        step: number of optimizer steps done.
        history: JSON-serialisable run history (evaluations, losses).
        extra: other JSON metadata stored by the caller.
        averaged: whether the state held a weight average and it was restored (``False``
            when none was asked for, or the state has none: written without averaging).
    """

    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    averaged: bool = False


def save_training_state(
    path: str | Path,
    *,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    history: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
    average: nn.Module | None = None,
) -> Path:
    """Write the full training state atomically.

    Args:
        path: destination (``.safetensors``).
        step: optimizer steps done.
        model: the (unwrapped) model.
        optimizer: its optimizer (tensor state per parameter, param groups as JSON).
        generators: named ``torch.Generator`` objects owned by the loop; the global CPU
            (and CUDA) RNG states are saved too.
        history: run history (JSON-serialisable).
        extra: more JSON metadata.
        average: the weight average's module
            (:meth:`~disentangle_fas.training.averaging.WeightAverage.state_module`: the
            averaged weights and the count of averaged steps), or ``None``.

    Returns:
        The path written.
    """
    tensors = unique_tensors(model, prefix="model.")
    if average is not None:
        tensors.update(unique_tensors(average, prefix=_AVERAGE))
    opt = optimizer.state_dict()
    for pid, pstate in opt["state"].items():
        for name, value in pstate.items():
            if isinstance(value, Tensor):
                tensors[f"optim.{pid}.{name}"] = value.detach().contiguous().cpu().clone()
            else:
                tensors[f"optim.{pid}.{name}"] = torch.tensor(value)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    for name, gen in generators.items():
        tensors[f"rng.gen.{name}"] = gen.get_state()
    meta = {
        "format": STATE_FORMAT,
        "step": step,
        "param_groups": opt["param_groups"],
        "history": history,
        "extra": extra or {},
    }
    dest = Path(path)
    with atomic_path(dest) as tmp:
        save_file(tensors, os.fspath(tmp), metadata={"state": json.dumps(meta)})
    return dest


def load_training_state(
    path: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    average: nn.Module | None = None,
) -> TrainingState:
    """Restore model, optimizer and RNG states written by :func:`save_training_state`.

    Args:
        path: the state file.
        model: the model to load into (same architecture).
        optimizer: the optimizer to load into (same parameter order).
        generators: the generators to restore, by the names used when saving.
        average: the weight average's module to restore (as given to
            :func:`save_training_state`); left as it is when the state holds no average
            (:attr:`TrainingState.averaged` says which). A state's average is ignored when
            none is given.

    Returns:
        The step, history and extra metadata.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a training state, or it does not fit the model.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"training state not found: {p}")
    check_regular_file(p, "training state")
    try:
        with safe_open(str(p), framework="pt") as f:
            raw = (f.metadata() or {}).get("state")
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open API
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(
            f"{p}: not a readable training state ({exc}); the file is damaged or truncated: "
            "remove it to start again, or restore it"
        ) from None
    if raw is None:
        raise ValueError(f"{p} is not a disentangle-fas training state")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise ValueError(f"{p}: the training state's metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        fmt = meta.get("format") if isinstance(meta, dict) else meta
        raise ValueError(f"{p}: unsupported training state format {fmt!r}")
    check_weights({k: v for k, v in tensors.items() if not k.startswith("rng.")}, p)

    _load_module(p, model, tensors, "model.")
    averaged = average is not None and any(k.startswith(_AVERAGE) for k in tensors)
    if average is not None and averaged:
        _load_module(p, average, tensors, _AVERAGE)

    opt_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith("optim."):
            continue
        _, pid, name = key.split(".", 2)
        opt_state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})

    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    for name, gen in generators.items():
        key = f"rng.gen.{name}"
        if key not in tensors:
            raise ValueError(f"{p}: no state for generator {name!r}")
        gen.set_state(tensors[key])
    return TrainingState(
        step=int(meta["step"]),
        history=list(meta["history"]),
        extra=dict(meta["extra"]),
        averaged=averaged,
    )


def _load_module(p: Path, module: nn.Module, tensors: dict[str, Tensor], prefix: str) -> None:
    """Load the tensors under ``prefix`` into ``module``; only aliases of shared modules
    may be missing.
    """
    sd = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    result = module.load_state_dict(sd, strict=False)
    what = prefix.rstrip(".")
    if result.unexpected_keys:
        raise ValueError(f"{p}: unexpected {what} tensors {result.unexpected_keys[:5]}")
    groups = alias_groups(module)
    for key in result.missing_keys:  # allowed only for aliases of shared modules
        if groups[key] not in sd:
            raise ValueError(f"{p}: missing {what} tensor {key!r}")
