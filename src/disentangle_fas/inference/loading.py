"""Loading models for inference: checkpoints, input sizes, the default device."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from disentangle_fas.checkpoint import LivenessModel, LoadedModel, load_model
from disentangle_fas.inference.errors import CheckpointError

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "checkpoint_image_size",
    "default_device",
    "load_checkpoint",
    "model_image_size",
]

#: Input side for checkpoints whose config stores none (SSDG-R): the preprocessing crop size.
DEFAULT_IMAGE_SIZE = 256


def default_device() -> torch.device:
    """Return ``cuda`` when a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_checkpoint(path: str | os.PathLike[str]) -> LoadedModel:
    """Load a checkpoint on the CPU, turning "not a checkpoint" errors into CheckpointError.

    Args:
        path: the ``.safetensors`` checkpoint.

    Returns:
        The loaded model with its stored threshold.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is not a disentangle-fas checkpoint (another format, a
            plain safetensors file, or tensors that do not match the stored config).
    """
    p = Path(path)
    try:
        return load_model(p, map_location="cpu")
    except FileNotFoundError:
        raise
    except (ValueError, TypeError, KeyError, RuntimeError, OSError) as exc:
        raise CheckpointError(
            f"{p} is not a usable disentangle-fas checkpoint ({exc}); expected a .safetensors "
            "file written by disentangle_fas.checkpoint.save_model or save_liveness_model",
            p,
        ) from exc


def model_image_size(model: LivenessModel) -> int | None:
    """Return the input side stored in a model's config, or ``None`` (SSDG-R, no config)."""
    size = getattr(model.config, "image_size", None)
    return None if size is None else int(size)


def checkpoint_image_size(loaded: LoadedModel) -> int:
    """Return the input side of a loaded checkpoint.

    The config's ``image_size`` when it has one (:class:`~disentangle_fas.model.ModelConfig`),
    else ``info["image_size"]`` when stored, else :data:`DEFAULT_IMAGE_SIZE`.
    """
    size = model_image_size(loaded.model)
    if size is None:
        size = int(loaded.info.get("image_size", DEFAULT_IMAGE_SIZE))
    return size
