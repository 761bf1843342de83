"""The training store: one memory-mapped uint8 array per split, no image decoding at train time.

Layout of a store folder::

    store.json          {"format": "disentangle-fas-store", "version": 1,
                         "height": H, "width": W, "splits": {"train": N, ...}}
    <split>.npy         uint8 array (N, H, W, 3), RGB (numpy .npy, memory-mappable)
    <split>.jsonl       N manifest entries, row i describes array row i; paths are
                        relative to the store folder

``store.json`` is written last, so a store without it is incomplete.
``disentangle-fas pack --manifest crops/manifest.jsonl --out store/`` builds one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from tqdm import tqdm

from disentangle_fas._io import atomic_write_text, check_regular_file
from disentangle_fas.data.datasets import CropDataset, DomainSpec, Transform
from disentangle_fas.data.manifest import ManifestEntry, read_manifest, write_manifest
from disentangle_fas.data.records import SPLITS
from disentangle_fas.errors import ArgumentParser, command
from disentangle_fas.imaging import pil_to_rgb8

__all__ = [
    "STORE_FORMAT",
    "StoreDataset",
    "find_manifests",
    "main",
    "pack_store",
    "read_store_meta",
]

STORE_FORMAT = "disentangle-fas-store"
_CHUNK = 256
_SHARD_NAME = re.compile(r"^manifest-(\d+)-of-(\d+)\.jsonl$")


def _load(path: Path, size: tuple[int, int] | None) -> NDArray[np.uint8]:
    check_regular_file(path, "crop")  # a FIFO listed in a manifest would block for ever
    with Image.open(path) as img:
        rgb = pil_to_rgb8(img)
    if size is not None and rgb.shape[:2] != size:
        return np.asarray(
            Image.fromarray(rgb).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        )
    return rgb


def _gather(manifests: Sequence[Path]) -> list[tuple[ManifestEntry, Path]]:
    """Entries of all manifests with their image paths; no image may be listed twice."""
    items: list[tuple[ManifestEntry, Path]] = []
    seen: set[Path] = set()
    for manifest in manifests:
        for e in read_manifest(manifest):
            path = Path(e.path)
            path = path if path.is_absolute() else manifest.parent / path
            key = Path(os.path.abspath(path))
            if key in seen:
                raise ValueError(f"{manifest}: image {path} is listed twice")
            check_regular_file(path, f"crop listed in {manifest}")  # before any work
            seen.add(key)
            items.append((e, path))
    return items


def _fill(
    array: NDArray[np.uint8],
    paths: Sequence[Path],
    shape: tuple[int, int],
    resize: bool,
    workers: int,
    bar: tqdm[Any],
    start: int = 0,
    checkpoint: Callable[[int], None] | None = None,
) -> None:
    """Decode ``paths[start:]`` into ``array``, ``_CHUNK`` images at a time.

    After each chunk the map is flushed and ``checkpoint(rows done)`` called.
    """
    loader = functools.partial(_load, size=shape if resize else None)
    bar.update(start)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for begin in range(start, len(paths), _CHUNK):
            chunk = paths[begin : begin + _CHUNK]
            for k, img in enumerate(pool.map(loader, chunk)):
                if img.shape[:2] != shape:
                    raise ValueError(
                        f"{chunk[k]} is {img.shape[1]}x{img.shape[0]}, the first crop "
                        f"{shape[1]}x{shape[0]}: pass size= (--size) to resize all"
                    )
                array[begin + k] = img
            if checkpoint is not None:
                if isinstance(array, np.memmap):
                    array.flush()
                checkpoint(begin + len(chunk))
            bar.update(len(chunk))


def find_manifests(path: str | os.PathLike[str]) -> list[Path]:
    """The manifests a ``--manifest`` value names.

    A file is itself. A folder (a preprocessing output) gives its ``manifest.jsonl``, or,
    for a sharded run (``preprocess --shard K/N``), every ``manifest-K-of-N.jsonl``, which
    must all be there.

    Args:
        path: a manifest file or a preprocessing output folder.

    Returns:
        The manifest files, shards in order.

    Raises:
        FileNotFoundError: no manifest, or some shards are missing (named).
        ValueError: shards of different ``N`` in one folder.
    """
    p = Path(path)
    if not p.is_dir():
        return [p]
    if (p / "manifest.jsonl").is_file():
        return [p / "manifest.jsonl"]
    shards: dict[int, dict[int, Path]] = {}
    for file in p.glob("manifest-*-of-*.jsonl"):
        m = _SHARD_NAME.match(file.name)
        if m is not None:
            shards.setdefault(int(m.group(2)), {})[int(m.group(1))] = file
    if not shards:
        raise FileNotFoundError(f"{p} has no manifest.jsonl and no manifest-K-of-N.jsonl shards")
    if len(shards) > 1:
        raise ValueError(f"{p} mixes shard counts {sorted(shards)}: keep the shards of one run")
    ((n, found),) = shards.items()
    missing = [k for k in range(n) if k not in found]
    if missing:
        raise FileNotFoundError(
            f"{p}: shards {missing} of {n} are missing (manifest-K-of-{n}.jsonl): run "
            "preprocess --shard K/N for them first"
        )
    return [found[k] for k in range(n)]


def _checkpoint(marker: Path, digest: str, done: int) -> None:
    atomic_write_text(marker, json.dumps({"digest": digest, "rows": done}))


def _digest(paths: Sequence[Path], shape: tuple[int, int]) -> str:
    h = hashlib.sha1(repr(shape).encode())
    for path in paths:
        h.update(str(path).encode() + b"\0")
    return h.hexdigest()


def pack_store(
    manifest: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    size: int | None = None,
    splits: Collection[str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> dict[str, int]:
    """Pack the crops of one or more manifests into a store (see the module docstring).

    Preprocess each dataset into its own folder, then pack their manifests together to get
    one store holding every domain. Memory stays bounded whatever the store's size: images
    are decoded ``256`` at a time into a memory-mapped array, which is flushed after each
    chunk. An interrupted pack resumes: the next call with the same inputs continues from
    the last flushed chunk (``.<split>.progress.json`` beside the partial array).

    Args:
        manifest: ``manifest.jsonl`` written by preprocessing (paths relative to its folder),
            a preprocessing output folder (its manifest, or all the shards of a sharded run;
            see :func:`find_manifests`), or a sequence of these (concatenated in order).
        out_dir: store folder (created; existing arrays of the packed splits are replaced).
        size: resize crops to ``size x size``; ``None`` keeps their size, which must then be
            the same for all.
        splits: splits to pack (``None``: every split present).
        workers: threads decoding images.
        progress: show a progress bar.

    Returns:
        split -> number of rows.

    Raises:
        ValueError: empty selection, an image listed twice, or crops of different sizes
            without ``size``.
        FileNotFoundError: a manifest or an image is missing.
    """
    given = [manifest] if isinstance(manifest, (str, os.PathLike)) else list(manifest)
    manifests = [m for g in given for m in find_manifests(g)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = _gather(manifests)
    present = [s for s in SPLITS if any(e.split == s for e, _ in items)]
    chosen = present if splits is None else [s for s in present if s in set(splits)]
    if not chosen:
        names = ", ".join(str(m) for m in manifests)
        raise ValueError(f"{names}: no entries in splits {list(splits or SPLITS)}")
    first = _load(next(p for e, p in items if e.split in chosen), None)
    shape = (size, size) if size is not None else (first.shape[0], first.shape[1])
    counts: dict[str, int] = {}
    for split in chosen:
        rows = [(e, p) for e, p in items if e.split == split]
        tmp = out / f".{split}.npy.tmp"
        marker = out / f".{split}.progress.json"
        paths = [p for _, p in rows]
        digest = _digest(paths, shape)
        start = 0
        try:
            state = json.loads(marker.read_text())
            if state.get("digest") == digest and tmp.is_file():
                start = int(state["rows"])
        except (OSError, ValueError, KeyError, TypeError):
            start = 0
        full = (len(rows), shape[0], shape[1], 3)
        if start:
            array = np.lib.format.open_memmap(tmp, mode="r+")
        else:
            array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=full)

        checkpoint = functools.partial(_checkpoint, marker, digest)
        bar = tqdm(total=len(rows), disable=not progress, desc=f"pack {split}", unit="img")
        try:
            _fill(array, paths, shape, size is not None, workers, bar, start, checkpoint)
            array.flush()
        except ValueError:  # bad input: a rerun would fail again, leave nothing behind
            del array
            tmp.unlink(missing_ok=True)
            marker.unlink(missing_ok=True)
            raise
        finally:  # any other interruption keeps the partial array for a resumed run
            bar.close()
        del array
        os.replace(tmp, out / f"{split}.npy")
        marker.unlink(missing_ok=True)
        rel = [replace(e, path=os.path.relpath(p, out)) for e, p in rows]
        write_manifest(out / f"{split}.jsonl", rel)
        counts[split] = len(rows)
    meta_path = out / "store.json"
    kept: dict[str, int] = {}
    if meta_path.is_file():  # keep earlier packed splits of the same image size
        for split, n in read_store_meta(out)["splits"].items():
            file = out / f"{split}.npy"
            fits = split not in counts and file.is_file()
            if fits and np.load(file, mmap_mode="r").shape[1:3] == shape:
                kept[split] = int(n)
    meta = {
        "format": STORE_FORMAT,
        "version": 1,
        "height": shape[0],
        "width": shape[1],
        "splits": {**kept, **counts},
    }
    atomic_write_text(meta_path, json.dumps(meta, indent=2))
    return counts


def read_store_meta(store_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``store.json``.

    Args:
        store_dir: the store folder.

    Returns:
        The metadata.

    Raises:
        FileNotFoundError: no ``store.json`` (not a store, or packing did not finish).
        ValueError: not a store of this format.
    """
    path = Path(store_dir) / "store.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{store_dir} has no store.json: not a store, or packing did not finish "
            "(run disentangle-fas pack)"
        )
    meta: dict[str, Any] = json.loads(path.read_text())
    if meta.get("format") != STORE_FORMAT:
        raise ValueError(f"{path} is not a {STORE_FORMAT} file")
    return meta


class StoreDataset(CropDataset):
    """Samples of a packed store, read from memory-mapped arrays (no decoding).

    Arrays are opened lazily in each process (DataLoader workers open their own maps).

    Args:
        store_dir: the store folder.
        splits: splits to read (``None``: every split of the store).
        domains: domain names to keep, in index order, or name -> index (see
            :class:`~disentangle_fas.data.datasets.CropDataset`).
        attacks: attack ids to keep (0 live).
        frames_per_video: at most this many frames per video.
        transform: applied to each ``(3, H, W)`` image in ``[0, 1]``.

    Raises:
        FileNotFoundError: not a store, or a requested split is not packed.
    """

    def __init__(
        self,
        store_dir: str | os.PathLike[str],
        *,
        splits: Sequence[str] | None = None,
        domains: DomainSpec = None,
        attacks: Collection[int] | None = None,
        frames_per_video: int | None = None,
        transform: Transform | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        meta = read_store_meta(self.store_dir)
        available = list(meta["splits"])
        wanted = available if splits is None else list(splits)
        missing = [s for s in wanted if s not in available]
        if missing:
            raise FileNotFoundError(
                f"store {self.store_dir} has no split(s) {missing}; it has {available}"
            )
        entries: list[ManifestEntry] = []
        self._rows: list[tuple[str, int]] = []
        for split in wanted:
            split_entries = read_manifest(self.store_dir / f"{split}.jsonl")
            entries.extend(split_entries)
            self._rows.extend((split, i) for i in range(len(split_entries)))
        super().__init__(
            entries,
            domains=domains,
            attacks=attacks,
            frames_per_video=frames_per_video,
            transform=transform,
        )
        self._arrays: dict[str, NDArray[np.uint8]] = {}
        # Split number and array row of every selected sample, for vectorised batch reads.
        self._splits = wanted
        rows = [self._rows[int(p)] for p in self._positions]
        self._split_of = np.array([wanted.index(s) for s, _ in rows], dtype=np.int64)
        self._row_of = np.array([r for _, r in rows], dtype=np.int64)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = {}
        return state

    def _array(self, split: str) -> NDArray[np.uint8]:
        if split not in self._arrays:
            self._arrays[split] = np.load(self.store_dir / f"{split}.npy", mmap_mode="r")
        return self._arrays[split]

    def _image(self, index: int) -> NDArray[np.uint8]:
        # A read-only view of the map: the float conversion makes the only copy.
        row: NDArray[np.uint8] = self._array(self._splits[self._split_of[index]])[
            self._row_of[index]
        ]
        return row

    def _images(self, indices: NDArray[np.int64]) -> NDArray[np.uint8]:
        split_of, row_of = self._split_of[indices], self._row_of[indices]
        first = int(split_of[0])
        if (split_of == first).all():  # one gather from one map (the usual case)
            return np.asarray(self._array(self._splits[first])[row_of])
        height, width = self._array(self._splits[first]).shape[1:3]
        out = np.empty((indices.size, height, width, 3), dtype=np.uint8)
        for k in np.unique(split_of):
            mask = split_of == k
            out[mask] = self._array(self._splits[int(k)])[row_of[mask]]
        return out


@command("disentangle-fas pack")
def main(argv: list[str]) -> int:
    """Run ``disentangle-fas pack``.

    Args:
        argv: command-line arguments after the subcommand.

    Returns:
        0 on success, 2 on an input error.
    """
    p = ArgumentParser(
        prog="disentangle-fas pack",
        description="Pack preprocessed crops into one memory-mappable uint8 array per split.",
    )
    p.add_argument(
        "--manifest",
        type=Path,
        action="append",
        required=True,
        help="manifest.jsonl of the crops, or a preprocessing output folder (merges the "
        "manifest-K-of-N.jsonl shards of a sharded run); repeatable: one per dataset",
    )
    p.add_argument("--out", type=Path, required=True, help="store folder")
    p.add_argument("--size", type=int, help="resize crops to SIZE x SIZE")
    p.add_argument("--split", action="append", choices=SPLITS, help="repeatable; default all")
    p.add_argument("--workers", type=int, default=2, help="decoding threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        counts = pack_store(
            args.manifest,
            args.out,
            size=args.size,
            splits=args.split,
            workers=args.workers,
            progress=not args.quiet,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"disentangle-fas pack: error: {err}", file=sys.stderr)
        return 2
    print(", ".join(f"{k}: {v}" for k, v in counts.items()) + f" rows in {args.out}")
    return 0
