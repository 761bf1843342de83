"""Loading models for inference: checkpoints, input sizes, the default device."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from disentangle_fas.checkpoint import Builder, LoadedModel, load_model
from disentangle_fas.contracts import LivenessModel
from disentangle_fas.errors import NonFiniteWeightsError
from disentangle_fas.inference.errors import CheckpointError
from disentangle_fas.limits import MemoryLimitError

__all__ = [
    "checkpoint_image_size",
    "default_device",
    "load_checkpoint",
    "model_image_size",
]


def default_device() -> torch.device:
    """Return ``cuda`` when a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_checkpoint(path: str | os.PathLike[str], *, builder: Builder | None = None) -> LoadedModel:
    """Load a checkpoint on the CPU, turning "not a checkpoint" errors into CheckpointError.

    Args:
        path: the ``.safetensors`` checkpoint.
        builder: rebuilds a custom model from its stored config.

    Returns:
        The loaded model with its stored threshold.

    Raises:
        FileNotFoundError: no such file.
        NonFiniteWeightsError: NaN or infinite weights (exit code 3).
        MemoryLimitError: the stored input size asks for more memory than allowed.
        CheckpointError: the file is not a disentangle-fas checkpoint (another format, a
            plain safetensors file, tensors that do not match the stored config, or a
            custom model without ``builder``).
    """
    p = Path(path)
    try:
        return load_model(p, map_location="cpu", builder=builder)
    except (FileNotFoundError, NonFiniteWeightsError, MemoryLimitError):
        raise  # their own exit codes (3 for NaN weights) and messages, which name the file
    except (ValueError, TypeError, KeyError, RuntimeError, OSError) as exc:
        raise CheckpointError(
            f"{p} is not a usable disentangle-fas checkpoint ({exc}); expected a .safetensors "
            "file written by disentangle_fas.checkpoint.save_model or save_liveness_model",
            p,
        ) from exc


def model_image_size(model: LivenessModel) -> int | None:
    """Return the input side the model declares (``input_spec``), or ``None``."""
    spec = model.input_spec
    return None if spec is None else spec.image_size


def checkpoint_image_size(loaded: LoadedModel, path: str | os.PathLike[str] = "") -> int:
    """Return the input side stored in a loaded checkpoint.

    Raises:
        CheckpointError: the file stores no input size (written by an older version
            without it); pass the size explicitly (``image_size=`` / ``--image-size``).
    """
    if loaded.input_spec is not None:
        return loaded.input_spec.image_size
    size = loaded.info.get("image_size")
    if size is not None:
        return int(size)
    raise CheckpointError(
        f"{path or 'the checkpoint'} stores no input size (it predates stored input specs); "
        "pass the size the model was trained at (image_size= or --image-size)",
        Path(path),
    )
