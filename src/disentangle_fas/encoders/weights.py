"""Reading weights files without executing code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = ["load_state_dict_file", "strict_load"]


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """Load a state dict from a local file without executing code.

    ``.safetensors`` files are read with :mod:`safetensors`; anything else with
    ``torch.load(..., weights_only=True)``, which refuses pickled code.

    Args:
        path: local file path.

    Returns:
        The state dict (tensors on CPU).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a flat mapping of tensors.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"weights file not found: {p}")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(p), device="cpu"))
    obj = torch.load(p, map_location="cpu", weights_only=True)
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(f"{p} does not hold a state dict (a mapping of names to tensors)")
    return {str(k): v for k, v in obj.items()}


def strict_load(module: nn.Module, state_dict: Mapping[str, Tensor], what: str) -> None:
    """Load ``state_dict`` into ``module`` only if keys and shapes match exactly.

    Args:
        module: the destination.
        state_dict: keys already mapped to the module's names.
        what: what the weights should be, for the message (``"a torchvision ResNet-18"``).

    Raises:
        ValueError: missing, unexpected or misshapen keys (the first few of each listed).
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or wrong:
        more = "..." if len(missing) > 8 or len(unexpected) > 8 else ""
        raise ValueError(
            f"state dict does not match {what}: missing={missing[:8]} "
            f"unexpected={unexpected[:8]} wrong_shape={wrong[:8]}{more}"
        )
    module.load_state_dict(state_dict, strict=True)
