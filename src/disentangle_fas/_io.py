"""Safe file writes: the library's one atomic write, and module tensors for safetensors.

Every file the library writes that a reader (or a resumed run) may open is written inside a
hidden temporary folder beside the target, ``.NAME.<random>.tmp/NAME``, flushed to disk and
renamed over the target, so a process killed at any moment leaves the old file or the whole
new one. Whatever temporaries the writer itself makes (safetensors writes its own
``.tmpXXXXXX`` before renaming) land inside that folder too. A killed writer can leave such
a folder behind; :func:`leftover_temporaries` finds them and :func:`remove_temporaries`
removes them (run directories do when a run resumes, preprocessing per item).

Modules that share a submodule under several names (a shared stem) list the same tensor
under several state-dict keys; safetensors stores each tensor once, so
:func:`unique_tensors` keeps the first key of each group and :func:`alias_groups` tells a
loader which stored key restores a missing alias.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch-free at import: the atomic writes serve torch-free code too
    from torch import Tensor, nn

#: Suffix of the hidden temporaries of :func:`atomic_path`.
TEMPORARY_SUFFIX = ".tmp"
#: Age after which a temporary in a folder shared by concurrent writers counts as left over
#: by a killed writer (no write of the library takes that long).
STALE_TEMPORARY_SECONDS = 600.0

__all__ = [
    "alias_groups",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_regular_file",
    "leftover_temporaries",
    "path_text",
    "read_text_file",
    "remove_temporaries",
    "save_safetensors",
    "unique_tensors",
]


def path_text(path: str | os.PathLike[str]) -> str:
    r"""A file name as valid Unicode text, for JSON, reports and messages.

    Names that are not valid UTF-8 reach Python as lone surrogates (``"caf\udce9"``), which
    strict JSON readers refuse and terminals cannot print; their bytes are written as
    ``\xNN`` instead (the four characters ``\xe9``). Valid names are returned unchanged.

    Args:
        path: the name.

    Returns:
        Text that encodes to UTF-8.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """Refuse, at once, a path that is not a regular file (or a link to one).

    Reading a FIFO blocks until some other process writes to it, possibly for ever, and a
    device (``/dev/zero``) never ends; :func:`os.stat` tells them apart without opening
    them.

    Args:
        path: the path to be read.
        what: what it should be, for the message (``"weights file"``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        FileNotFoundError: nothing is at ``path``.
        ValueError: something other than a regular file is (a folder, a FIFO, a socket, a
            device), naming it.
    """
    p = Path(path)
    mode = os.stat(p).st_mode  # FileNotFoundError names the path
    if not stat.S_ISREG(mode):
        kind = (
            "a folder" if stat.S_ISDIR(mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )  # fmt: skip
        raise ValueError(f"{p}: the {what} is {kind}, not a regular file: refused")
    return p


def read_text_file(path: str | Path, what: str = "file") -> str:
    """Read a UTF-8 text file a user gave (a list, a manifest, a config), safely.

    Only a regular file is read (:func:`check_regular_file`); a UTF-8 byte-order mark,
    which spreadsheet programs write, is dropped; text in another encoding is refused with
    the file and the position named.

    Args:
        path: the file.
        what: what it is, for messages.

    Returns:
        Its text.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a regular file, or not UTF-8.
    """
    p = check_regular_file(path, what)
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{p}:{line}: the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it "
            "as UTF-8"
        ) from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Give a writer a temporary path that replaces ``path`` when the block ends cleanly.

    The temporary path is ``.NAME.<random>.tmp/NAME`` in ``path``'s folder (created if
    missing): same name, so writers that read the suffix behave, and same file system, so
    the final rename is atomic. On a clean exit the file is flushed to disk and renamed over
    ``path``; on an exception nothing replaces ``path`` and the exception propagates. The
    temporary folder, and anything the writer left in it, is removed either way.

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
    folder = Path(
        tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=TEMPORARY_SUFFIX, dir=dest.parent)
    )
    tmp = folder / dest.name
    try:
        tmp.touch()
        yield tmp
        _fsync(tmp)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _is_temporary(entry: Path) -> bool:
    name = entry.name
    return name.startswith(".") and (name.endswith(TEMPORARY_SUFFIX) or name.endswith(".link"))


def leftover_temporaries(folder: str | Path, of: str | None = None) -> list[Path]:
    """Temporaries a killed writer can leave in ``folder`` (not recursive).

    They are the folders of :func:`atomic_path` (``.NAME.<random>.tmp``), and hidden
    ``.NAME.link`` / ``.NAME*.tmp`` files of the hard-link copy and of earlier versions.

    Args:
        folder: where to look; a missing folder has none.
        of: only the temporaries of the file named ``of`` (``.of.*``).

    Returns:
        Their paths, sorted.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    prefix = f".{of}." if of is not None else "."
    return sorted(
        p
        for p in root.iterdir()
        if _is_temporary(p) and p.name.startswith(prefix) and not p.is_symlink()
    )


def remove_temporaries(
    folder: str | Path, older_than: float = 0.0, *, of: str | None = None
) -> list[Path]:
    """Remove :func:`leftover_temporaries` of ``folder``.

    Call it only where no other process writes at the same time (a run folder under its
    lock, an item's own crop folder), or with ``older_than`` so that a concurrent writer's
    temporaries, seconds old, are kept.

    Args:
        folder: the folder.
        older_than: only remove temporaries last modified at least this many seconds ago.
        of: only the temporaries of the file named ``of``.

    Returns:
        What was removed.
    """
    now = time.time()
    removed: list[Path] = []
    for entry in leftover_temporaries(folder, of):
        try:
            if older_than > 0 and now - entry.stat().st_mtime < older_than:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue
        removed.append(entry)
    return removed


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
    from safetensors.torch import save_file

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
