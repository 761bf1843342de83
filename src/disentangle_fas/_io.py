"""Safe file writes: the library's one atomic write, and module tensors for safetensors.

Every file the library writes that a reader (or a resumed run) may open is written to a
hidden temporary file beside the target, ``.NAME.<random>.tmp``, flushed to disk and renamed
over the target, so a process killed at any moment leaves the old file or the whole new
one. A killed writer can leave such a temporary behind; run directories remove them when a
run resumes (:func:`disentangle_fas.training.rundir.orphaned_temporaries`).

Modules that share a submodule under several names (a shared stem) list the same tensor
under several state-dict keys; safetensors stores each tensor once, so
:func:`unique_tensors` keeps the first key of each group and :func:`alias_groups` tells a
loader which stored key restores a missing alias.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from safetensors.torch import save_file
from torch import Tensor, nn

__all__ = [
    "alias_groups",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "save_safetensors",
    "unique_tensors",
]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Give a writer a temporary path that replaces ``path`` when the block ends cleanly.

    The temporary file is ``.NAME.<random>.tmp`` in ``path``'s folder (created if missing),
    so the final rename never crosses file systems. On a clean exit it is flushed to disk
    and renamed over ``path``; on an exception it is removed and the exception propagates.

    Args:
        path: the destination.

    Yields:
        The temporary path to write (it exists, empty).

    Example:
        >>> with atomic_path(out / "data.npy") as tmp:  # doctest: +SKIP
        ...     np.save(tmp, array)
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    Args:
        path: destination; its folder is created.
        data: content.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8).

    Args:
        path: destination.
        text: content.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def save_safetensors(
    path: str | Path, tensors: Mapping[str, Tensor], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``tensors`` (and string ``metadata``) as a safetensors file, atomically.

    Args:
        path: destination.
        tensors: name to tensor; each is stored contiguous, on the CPU.
        metadata: string metadata stored in the file's header.

    Returns:
        The path written.
    """
    dest = Path(path)
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(dest) as tmp:
        save_file(flat, str(tmp), metadata=dict(metadata) if metadata is not None else None)
    return dest


def _ident(value: Tensor) -> tuple[int, int]:
    return (value.data_ptr(), value.numel()) if value.numel() else (id(value), 0)


def alias_groups(module: nn.Module) -> dict[str, str]:
    """Map every state-dict key of ``module`` to the first key sharing its tensor.

    Args:
        module: any module; keys of a submodule registered under several names alias.

    Returns:
        ``{key: first key with the same storage}`` (a key maps to itself when unshared).
    """
    first: dict[tuple[int, int], str] = {}
    return {
        key: first.setdefault(_ident(value), key)
        for key, value in module.state_dict(keep_vars=True).items()
    }


def unique_tensors(module: nn.Module, prefix: str = "") -> dict[str, Tensor]:
    """The state dict of ``module`` with each shared tensor once, ready for safetensors.

    Args:
        module: the module.
        prefix: prepended to every key (e.g. ``"model."``).

    Returns:
        ``{prefix + key: tensor}`` for the first key of each alias group; the tensors are
        detached, contiguous CPU copies.
    """
    groups = alias_groups(module)
    sd = module.state_dict()
    return {
        f"{prefix}{k}": sd[k].detach().contiguous().cpu().clone()
        for k, g in groups.items()
        if k == g
    }
