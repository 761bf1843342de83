"""Read TensorFlow 1 checkpoints (tensor bundles) in pure Python, without TensorFlow.

A checkpoint ``PREFIX`` is two kinds of file:

* ``PREFIX.index``: a LevelDB-format SSTable (TensorFlow writes it uncompressed). Data
  blocks of prefix-compressed ``key -> value`` entries, each followed by a 5-byte trailer
  (compression type, masked CRC32C); a meta-index block; an index block whose values are
  the handles (offset, size) of the data blocks; and a 48-byte footer (meta-index and
  index handles, padding, magic ``0xdb4775248b80fb57``). Key ``""`` holds a
  ``BundleHeaderProto`` (number of shards, endianness); every other key is a tensor
  name whose value is a ``BundleEntryProto`` (dtype, shape, shard, offset, size, masked
  CRC32C of the bytes).
* ``PREFIX.data-0000K-of-0000N``: the raw tensor bytes, little-endian, row-major.

References: TensorFlow's ``tensorflow/core/util/tensor_bundle/tensor_bundle.{cc,proto}``
and ``tensorflow/core/lib/io/format.{h,cc}`` (LevelDB's ``table_format.md``).
Only what checkpoints of plain variables use is supported: partitioned (sliced)
variables and string tensors are listed but cannot be read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.targets.crc32c import crc32c, mask_crc

__all__ = [
    "TABLE_MAGIC",
    "BundleEntry",
    "TensorBundle",
    "crc32c",
    "mask_crc",
    "read_sstable",
]

#: Magic number at the end of a LevelDB / TensorFlow table footer.
TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
_TRAILER_SIZE = 5

#: TensorFlow ``DataType`` enum values -> numpy dtypes (little-endian).
_DTYPES: dict[int, str] = {
    1: "<f4",  # DT_FLOAT
    2: "<f8",  # DT_DOUBLE
    3: "<i4",  # DT_INT32
    4: "u1",  # DT_UINT8
    5: "<i2",  # DT_INT16
    6: "i1",  # DT_INT8
    9: "<i8",  # DT_INT64
    10: "?",  # DT_BOOL
    17: "<u2",  # DT_UINT16
    19: "<f2",  # DT_HALF
    22: "<u4",  # DT_UINT32
    23: "<u8",  # DT_UINT64
}
_DTYPE_NAMES = {7: "string", 14: "bfloat16", 8: "complex64", 18: "complex128", 20: "resource"}


# -- protobuf wire format ---------------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _signed64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of a serialized protobuf message."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value = int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value = buf[pos : pos + length]
            if len(value) != length:
                raise ValueError("truncated length-delimited field")
            pos += length
        elif wire == 5:
            value = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf message")
        out.append((number, wire, value))
    return out


@dataclass(frozen=True)
class BundleEntry:
    """Where and what one tensor of a bundle is (a decoded ``BundleEntryProto``).

    Attributes:
        name: the variable name, e.g. ``"resfcn256/Conv/weights"``.
        dtype: TensorFlow ``DataType`` enum value (1 = float32).
        shape: the tensor's shape.
        shard_id: which ``.data-*`` file holds the bytes.
        offset: byte offset in that file.
        size: number of bytes.
        crc32c: masked CRC32C of the bytes (``None`` when absent).
        sliced: the variable is partitioned (not readable here).
    """

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    sliced: bool

    @property
    def dtype_name(self) -> str:
        """The dtype as a numpy name (``"float32"``) or TensorFlow's (``"string"``)."""
        if self.dtype in _DTYPES:
            return np.dtype(_DTYPES[self.dtype]).name
        return _DTYPE_NAMES.get(self.dtype, f"dtype#{self.dtype}")


def _shape(buf: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for number, _, value in _fields(buf):
        if number == 2 and isinstance(value, bytes):
            size = 0
            for n, _, v in _fields(value):
                if n == 1 and isinstance(v, int):
                    size = _signed64(v)
            dims.append(size)
        elif number == 3 and value:
            raise ValueError("tensor shape of unknown rank")
    return tuple(dims)


def _entry(name: str, buf: bytes) -> BundleEntry:
    dtype = shard = offset = size = 0
    shape: tuple[int, ...] = ()
    crc: int | None = None
    sliced = False
    for number, _, value in _fields(buf):
        if number == 1 and isinstance(value, int):
            dtype = value
        elif number == 2 and isinstance(value, bytes):
            shape = _shape(value)
        elif number == 3 and isinstance(value, int):
            shard = value
        elif number == 4 and isinstance(value, int):
            offset = _signed64(value)
        elif number == 5 and isinstance(value, int):
            size = _signed64(value)
        elif number == 6 and isinstance(value, int):
            crc = value
        elif number == 7:
            sliced = True
    return BundleEntry(name, dtype, shape, shard, offset, size, crc, sliced)


# -- SSTable ----------------------------------------------------------------------------------
def _handle(buf: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _block(data: bytes, offset: int, size: int, where: str, verify: bool) -> bytes:
    end = offset + size
    if offset < 0 or end + _TRAILER_SIZE > len(data):
        raise ValueError(
            f"{where}: block handle ({offset}, {size}) points past the end of the file"
        )
    contents = data[offset:end]
    kind = data[end]
    if verify:
        stored = int.from_bytes(data[end + 1 : end + _TRAILER_SIZE], "little")
        if mask_crc(crc32c(data[offset : end + 1])) != stored:
            raise ValueError(
                f"{where}: block at offset {offset} fails its CRC32C check (corrupt file)"
            )
    if kind != 0:
        name = "snappy" if kind == 1 else f"type {kind}"
        raise ValueError(f"{where}: {name}-compressed table blocks are not supported")
    return contents


def _block_entries(block: bytes, where: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise ValueError(f"{where}: table block too short")
    restarts = int.from_bytes(block[-4:], "little")
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise ValueError(f"{where}: bad restart count {restarts}")
    out: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + vlen > limit:
            raise ValueError(f"{where}: corrupt table block entry")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        out.append((key, block[pos : pos + vlen]))
        pos += vlen
    return out


def read_sstable(
    path: str | os.PathLike[str], *, verify_checksums: bool = True
) -> dict[bytes, bytes]:
    """Read every ``key -> value`` pair of an uncompressed LevelDB-format table.

    Args:
        path: the table file (a checkpoint's ``.index``).
        verify_checksums: check each block's masked CRC32C.

    Returns:
        The entries, in key order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a table (bad magic), corrupt, or compressed blocks.
    """
    p = Path(path)
    data = p.read_bytes()
    where = str(p)
    if len(data) < _FOOTER_SIZE:
        raise ValueError(f"{where}: too short to be a TensorFlow checkpoint index")
    footer = data[-_FOOTER_SIZE:]
    magic = int.from_bytes(footer[-8:], "little")
    if magic != TABLE_MAGIC:
        raise ValueError(
            f"{where}: not a TensorFlow checkpoint index (table magic {magic:#018x}, "
            f"expected {TABLE_MAGIC:#018x})"
        )
    _, _, pos = _handle(footer, 0)  # meta-index block: unused by tensor bundles
    index_offset, index_size, _ = _handle(footer, pos)
    index = _block(data, index_offset, index_size, where, verify_checksums)
    out: dict[bytes, bytes] = {}
    for _, handle in _block_entries(index, where):
        offset, size, _ = _handle(handle, 0)
        block = _block(data, offset, size, where, verify_checksums)
        out.update(_block_entries(block, where))
    return out


class TensorBundle:
    """A TensorFlow checkpoint ``PREFIX.index`` + ``PREFIX.data-*``, read without TensorFlow.

    Args:
        prefix: the checkpoint prefix (e.g. ``.../256_256_resfcn256_weight``); a path to
            the ``.index`` or a ``.data-*`` file is accepted too.
        verify_checksums: check CRC32C of the index blocks and of every tensor read.

    Attributes:
        prefix: the prefix.
        num_shards: number of ``.data-*`` files.
        entries: tensor name -> :class:`BundleEntry`.

    Raises:
        FileNotFoundError: no ``.index`` file.
        ValueError: not a bundle, big-endian, or corrupt.

    Example:
        >>> bundle = TensorBundle("Data/net-data/256_256_resfcn256_weight")  # doctest: +SKIP
        >>> bundle.read("resfcn256/Conv/weights").shape  # doctest: +SKIP
        (4, 4, 3, 16)
    """

    def __init__(self, prefix: str | os.PathLike[str], *, verify_checksums: bool = True) -> None:
        text = str(Path(prefix).expanduser())
        if text.endswith(".index"):
            text = text[: -len(".index")]
        elif ".data-" in Path(text).name:
            text = text[: text.rindex(".data-")]
        self.prefix = Path(text)
        self.verify_checksums = verify_checksums
        index = Path(f"{text}.index")
        if not index.is_file():
            raise FileNotFoundError(
                f"no TensorFlow checkpoint at {text!r}: {index} does not exist (pass the "
                "prefix shared by the .index and .data-00000-of-00001 files)"
            )
        table = read_sstable(index, verify_checksums=verify_checksums)
        header = table.pop(b"", None)
        if header is None:
            raise ValueError(f"{index}: no bundle header (key ''): not a tensor-bundle checkpoint")
        self.num_shards = 1
        for number, _, value in _fields(header):
            if number == 1 and isinstance(value, int):
                self.num_shards = value
            elif number == 2 and value == 1:
                raise ValueError(f"{index}: big-endian checkpoints are not supported")
        self.entries: dict[str, BundleEntry] = {}
        for key, value in table.items():
            name = key.decode("utf-8", errors="replace")
            self.entries[name] = _entry(name, value)

    def __repr__(self) -> str:
        return f"TensorBundle({str(self.prefix)!r}, {len(self.entries)} tensors)"

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        """All tensor names, sorted."""
        return sorted(self.entries)

    def data_path(self, shard_id: int) -> Path:
        """The ``.data-KKKKK-of-NNNNN`` file of a shard."""
        return Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")

    def read(self, name: str) -> NDArray[np.generic]:
        """Read one tensor.

        Args:
            name: the variable name.

        Returns:
            A new array of the tensor's dtype and shape.

        Raises:
            KeyError: no such tensor.
            ValueError: unsupported dtype, partitioned variable, size mismatch, or a
                CRC32C mismatch (corrupt data file).
            FileNotFoundError: the data file is missing.
        """
        entry = self.entries[name]
        if entry.sliced:
            raise ValueError(f"{name}: partitioned (sliced) variables are not supported")
        if entry.dtype not in _DTYPES:
            raise ValueError(f"{name}: tensors of dtype {entry.dtype_name} cannot be read")
        dtype = np.dtype(_DTYPES[entry.dtype])
        count = int(np.prod(entry.shape, dtype=np.int64)) if entry.shape else 1
        if count * dtype.itemsize != entry.size:
            raise ValueError(
                f"{name}: the index gives {entry.size} bytes for shape {entry.shape} of "
                f"{dtype.name} ({count * dtype.itemsize} expected)"
            )
        path = self.data_path(entry.shard_id)
        if not path.is_file():
            raise FileNotFoundError(f"{name}: data file {path} of the checkpoint is missing")
        with path.open("rb") as fh:
            fh.seek(entry.offset)
            raw = fh.read(entry.size)
        if len(raw) != entry.size:
            raise ValueError(f"{name}: {path} ends before the tensor's {entry.size} bytes")
        if self.verify_checksums and entry.crc32c not in (None, mask_crc(crc32c(raw))):
            raise ValueError(f"{name}: CRC32C mismatch in {path} (corrupt checkpoint data)")
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
