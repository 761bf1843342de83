"""Reading weights files without executing code: the encoders' ImageNet weights, PRNet's."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from disentangle_fas._io import check_regular_file
from disentangle_fas.errors import NonFiniteWeightsError

__all__ = [
    "WRAPPER_KEYS",
    "NonFiniteWeightsError",
    "RefusedPickleError",
    "check_local_path",
    "check_weights",
    "load_state_dict_file",
    "strict_load",
]

#: Keys under which training scripts commonly nest the state dict (``{"state_dict": ...}``);
#: the first one holding a non-empty mapping of tensors is unwrapped.
WRAPPER_KEYS = ("state_dict", "model", "net", "model_state_dict")


class RefusedPickleError(pickle.UnpicklingError, ValueError):
    """A weights file holds pickled objects other than tensors; it was refused, never run.

    Both an :class:`pickle.UnpicklingError` (what ``torch.load(weights_only=True)`` raises)
    and a :class:`ValueError` (a bad file was given).
    """


def _unpickler_reason(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if "Unsupported" in line:
            return line.strip().split(". Please use")[0].removeprefix("WeightsUnpickler error: ")
    return "the pickle holds something other than tensors and plain containers"


def _read_file(path: Path) -> object:
    with path.open("rb") as f:
        head = f.read(9)
    # A safetensors file starts with an 8-byte little-endian header length, then "{".
    if path.suffix == ".safetensors" or (len(head) == 9 and head[8:9] == b"{"):
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise ValueError(f"{path} is not a readable safetensors file: {exc}") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise RefusedPickleError(
            f"refusing to load {path}: it is not a plain weights file. Only tensors and "
            "plain containers are accepted (torch.load(weights_only=True)); this file "
            "holds other pickled objects, which could run code when loaded. Re-save the "
            "weights as a state dict (torch.save(model.state_dict(), ...)) or as "
            f"safetensors. Details: {_unpickler_reason(exc)}"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(
            f"{path} is neither a safetensors file nor a PyTorch state dict: {exc}"
        ) from exc


def _unwrap(obj: object, path: Path) -> dict[str, Tensor]:
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if (
                isinstance(inner, Mapping)
                and inner
                and all(isinstance(v, Tensor) for v in inner.values())
            ):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise ValueError(
            f"{path} does not hold a state dict (a mapping from names to tensors), "
            f"got {type(obj).__name__}"
        )
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise ValueError(f"{path}: state dict entries that are not tensors: {bad[:5]}")
    sd = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in sd):  # saved from DataParallel / DDP
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def _kind(t: Tensor) -> str:
    if t.is_floating_point():
        return "float"
    if t.is_complex():
        return "complex"
    return "bool" if t.dtype == torch.bool else "integer"


def check_weights(
    tensors: Mapping[str, Tensor],
    source: str | Path,
    expected: Mapping[str, Tensor] | None = None,
) -> None:
    """Refuse weights that would load and then score wrongly.

    Checked: no complex tensors; with ``expected`` (the destination's state dict), every
    tensor has the kind of its destination (floating point for floating-point weights,
    integer for integer buffers such as ``num_batches_tracked``: an int8 file cast to
    float scores a constant); every floating-point tensor is finite. A floating-point
    tensor stored in lower precision than its destination (``float16`` into ``float32``)
    loads, with a warning naming the file.

    Args:
        source: the file, for messages.
        tensors: name to tensor, as read.
        expected: name to the destination's tensor; names it lacks are not compared.

    Raises:
        NonFiniteWeightsError: NaN or infinite values (exit code 3), naming the tensors.
        ValueError: a tensor of the wrong kind, naming it and its dtype.
    """
    complex_ = sorted(k for k, t in tensors.items() if t.is_complex())
    if complex_:
        raise ValueError(f"{source}: complex tensors are not weights: {complex_[:5]}")
    if expected is not None:
        wrong = sorted(
            k for k, t in tensors.items() if k in expected and _kind(t) != _kind(expected[k])
        )
        if wrong:
            k = wrong[0]
            raise ValueError(
                f"{source}: {len(wrong)} tensor(s) of the wrong kind, e.g. {k!r} is "
                f"{tensors[k].dtype} where the model holds {expected[k].dtype} "
                f"({wrong[:5]}): not weights of this model"
            )
        low = sorted(
            k
            for k, t in tensors.items()
            if k in expected
            and t.is_floating_point()
            and torch.finfo(t.dtype).bits < torch.finfo(expected[k].dtype).bits
        )
        if low:
            warnings.warn(
                f"{source}: {len(low)} tensor(s) stored in {tensors[low[0]].dtype} are loaded "
                f"into {expected[low[0]].dtype} ({low[:3]}): the file's lower precision is kept",
                UserWarning,
                stacklevel=3,
            )
    bad = sorted(
        k for k, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all())
    )
    if bad:
        raise NonFiniteWeightsError(
            f"{source}: NaN or infinite values in {len(bad)} tensor(s) {bad[:5]}: refused "
            "(a model built from them would score nothing meaningful; a diverged or "
            "damaged file?)"
        )


def check_local_path(path: str | Path) -> None:
    """Refuse a URL given where a local file is expected, saying why (nothing is ever
    downloaded).

    Raises:
        FileNotFoundError: ``path`` is a URL (``scheme://...``).
    """
    text = str(path)
    if isinstance(path, str) and "://" in text:
        raise FileNotFoundError(
            f"{text}: a URL, not a local file: the library never downloads weights; fetch "
            "the file yourself and pass its local path"
        )


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """Load a state dict from a local file without executing code.

    Safetensors files (by suffix, or by their header whatever the suffix) are read with
    :mod:`safetensors`; anything else with ``torch.load(..., weights_only=True)``, which
    refuses pickled code. A state dict nested under one of :data:`WRAPPER_KEYS` is
    unwrapped, and a ``module.`` prefix on every key (DataParallel / DDP) is removed.

    Args:
        path: local file path.

    Returns:
        The state dict (tensors on CPU).

    Raises:
        FileNotFoundError: the file does not exist.
        RefusedPickleError: the file holds pickled objects other than tensors (refused,
            never executed).
        NonFiniteWeightsError: NaN or infinite values (:func:`check_weights`).
        ValueError: an unreadable file, not a regular file (a FIFO or a device), complex
            tensors, or not a non-empty flat mapping of names to tensors.
    """
    check_local_path(path)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"weights file not found: {p}")
    check_regular_file(p, "weights file")
    sd = _unwrap(_read_file(p), p)
    check_weights(sd, p)
    return sd


def strict_load(module: nn.Module, state_dict: Mapping[str, Tensor], what: str) -> None:
    """Load ``state_dict`` into ``module`` only if keys and shapes match exactly.

    Args:
        module: the destination.
        state_dict: keys already mapped to the module's names.
        what: what the weights should be, for the message (``"a torchvision ResNet-18"``).

    Raises:
        ValueError: missing, unexpected or misshapen keys (the first few of each listed), or
            tensors of the wrong kind (integer for floating-point weights: see
            :func:`check_weights`).
    """
    own = module.state_dict()
    check_weights(state_dict, what, own)
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
