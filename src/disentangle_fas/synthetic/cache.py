"""Rendered synthetic splits kept on disk, so a second command does not render them again.

A pre-rendered :class:`~disentangle_fas.synthetic.SyntheticFAS` is a pure function of the
generator's design (:data:`~disentangle_fas.synthetic.GENERATOR_VERSION`) and of the
arguments that lay out its samples; :func:`render_key` hashes exactly these, and
:func:`read_rendered` / :func:`write_rendered` keep the rendered arrays in one ``.npz`` file
per key (read with ``allow_pickle=False``: a cache file never runs code). A file that is
truncated, of another layout or unreadable is ignored and rendered again.

The default folder is ``$DISENTANGLE_FAS_CACHE/synthetic`` when that variable is set,
else ``$XDG_CACHE_HOME/disentangle-fas/synthetic`` (``~/.cache/disentangle-fas/synthetic``);
``DISENTANGLE_FAS_CACHE=off`` turns the cache off (:func:`default_cache_dir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from disentangle_fas._io import STALE_TEMPORARY_SECONDS, atomic_path, remove_temporaries

__all__ = ["CACHE_ENV", "default_cache_dir", "read_rendered", "render_key", "write_rendered"]

#: Environment variable naming the cache root (``off``, ``none`` or empty: no cache).
CACHE_ENV = "DISENTANGLE_FAS_CACHE"
_OFF = {"", "0", "off", "none", "false", "no"}
#: The arrays of a rendered split and their dtypes.
_ARRAYS = {
    "image": np.uint8,
    "position": np.float16,
    "depth": np.float16,
    "face": np.bool_,
    "landmarks": np.float32,
}


def default_cache_dir() -> Path | None:
    """The folder of rendered splits, or ``None`` when the cache is turned off.

    Returns:
        ``$DISENTANGLE_FAS_CACHE/synthetic``, ``None`` when that variable is ``off``
        (or ``none``, ``0``, empty), else ``$XDG_CACHE_HOME/disentangle-fas/synthetic``
        with ``~/.cache`` for an unset ``XDG_CACHE_HOME``.
    """
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser() / "synthetic"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "disentangle-fas" / "synthetic"


def render_key(layout: Mapping[str, Any]) -> str:
    """A stable name for a rendered split: the SHA-256 of its layout, as canonical JSON.

    Args:
        layout: everything that decides the rendered arrays (generator version, domains,
            split, seed, counts, size, attacks, frames and videos per subject).

    Returns:
        ``"v<version>-<hex digest>"``.
    """
    text = json.dumps(layout, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"v{layout.get('generator_version', 'x')}-{digest}"


def read_rendered(
    folder: str | Path, key: str, count: int, size: int
) -> dict[str, np.ndarray] | None:
    """The rendered arrays stored under ``key``, or ``None`` when absent or unusable.

    Args:
        folder: the cache folder.
        key: :func:`render_key` of the split.
        count: expected number of samples.
        size: expected image side.

    Returns:
        ``{"image": (N, H, W, 3) uint8, "position": (N, 3, H, W) float16, "depth":
        (N, 1, H, W) float16, "face": (N, H, W) bool, "landmarks": (N, K, 2) float32}``.
    """
    path = Path(folder) / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            store = {name: np.asarray(npz[name]) for name in _ARRAYS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    shapes = {
        "image": (count, size, size, 3),
        "position": (count, 3, size, size),
        "depth": (count, 1, size, size),
        "face": (count, size, size),
    }
    for name, dtype in _ARRAYS.items():
        arr = store[name]
        if arr.dtype != dtype or arr.shape[0] != count:
            return None
        if name in shapes and arr.shape != shapes[name]:
            return None
    return store


def write_rendered(folder: str | Path, key: str, store: Mapping[str, np.ndarray]) -> Path | None:
    """Store rendered arrays under ``key`` (atomically: a temporary file, then a rename).

    A folder that cannot be written is not an error: the split is simply not cached.

    Args:
        folder: the cache folder (created when missing).
        key: :func:`render_key` of the split.
        store: the arrays :func:`read_rendered` returns.

    Returns:
        The file written, or ``None`` when it could not be written.
    """
    folder = Path(folder)
    path = folder / f"{key}.npz"
    try:
        arrays: dict[str, Any] = {name: store[name] for name in _ARRAYS}
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        # Shared by worker processes: only temporaries no live writer can still own.
        remove_temporaries(folder, older_than=STALE_TEMPORARY_SECONDS)
    except OSError:
        return None
    return path
