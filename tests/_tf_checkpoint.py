"""A small, independent writer of TensorFlow 1 checkpoints (tensor bundles) for tests.

Written from the format descriptions (LevelDB ``table_format.md``; TensorFlow's
``tensor_bundle.proto``), sharing no code with the library's reader: its own protobuf
encoder, its own bitwise CRC32C, its own table builder (prefix-compressed entries with
restart points, several data blocks, an index block, an empty meta-index block and the
48-byte footer).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

MAGIC = 0xDB4775248B80FB57
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_HALF, DT_UINT8 = 1, 2, 3, 9, 19, 4
_DT_OF = {
    np.dtype("float32"): DT_FLOAT,
    np.dtype("float64"): DT_DOUBLE,
    np.dtype("int32"): DT_INT32,
    np.dtype("int64"): DT_INT64,
    np.dtype("float16"): DT_HALF,
    np.dtype("uint8"): DT_UINT8,
}


def crc32c_bitwise(data: bytes) -> int:
    """CRC32C one bit at a time (the definition, slow)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    rot = ((crc >> 15) | (crc << 17)) % (1 << 32)
    return (rot + 0xA282EAD8) % (1 << 32)


def varint(n: int) -> bytes:
    n %= 1 << 64  # negative int64 -> ten bytes, as protobuf does
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint((number << 3) | 2) + varint(len(value)) + value


def field_fixed32(number: int, value: int) -> bytes:
    return varint((number << 3) | 5) + value.to_bytes(4, "little")


def entry_proto(
    dtype: int, shape: tuple[int, ...], offset: int, size: int, crc: int | None, shard: int = 0
) -> bytes:
    shape_msg = b"".join(field_bytes(2, field_varint(1, d)) for d in shape)
    out = field_varint(1, dtype) + field_bytes(2, shape_msg)
    if shard:
        out += field_varint(3, shard)
    if offset:
        out += field_varint(4, offset)
    if size:
        out += field_varint(5, size)
    if crc is not None:
        out += field_fixed32(6, crc)
    return out


def header_proto(num_shards: int) -> bytes:
    version = field_varint(1, 1)  # VersionDef.producer
    return field_varint(1, num_shards) + field_bytes(3, version)


def _block(entries: list[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    out = bytearray()
    restarts: list[int] = []
    prev = b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value))
        out += key[shared:] + value
        prev = key
    if not restarts:
        restarts = [0]
    for r in restarts:
        out += r.to_bytes(4, "little")
    out += len(restarts).to_bytes(4, "little")
    return bytes(out)


def write_table(
    path: Path,
    items: Mapping[bytes, bytes],
    *,
    block_size: int = 256,
    restart_interval: int = 4,
    corrupt_trailer: bool = False,
) -> None:
    """Write a LevelDB-format table of ``items`` (sorted by key), uncompressed."""
    data = bytearray()
    index: list[tuple[bytes, bytes]] = []

    def emit(contents: bytes) -> bytes:
        offset = len(data)
        crc = masked(crc32c_bitwise(contents + b"\x00"))
        if corrupt_trailer:
            crc ^= 1
        data.extend(contents + b"\x00" + crc.to_bytes(4, "little"))
        return varint(offset) + varint(len(contents))

    pending: list[tuple[bytes, bytes]] = []
    size = 0
    for key in sorted(items):
        pending.append((key, items[key]))
        size += len(key) + len(items[key]) + 3
        if size >= block_size:
            index.append((key, emit(_block(pending, restart_interval))))
            pending, size = [], 0
    if pending:
        index.append((pending[-1][0], emit(_block(pending, restart_interval))))
    meta_handle = emit(_block([], 1))
    index_handle = emit(_block(index, 1))
    footer = meta_handle + index_handle
    footer += b"\x00" * (40 - len(footer)) + MAGIC.to_bytes(8, "little")
    path.write_bytes(bytes(data) + footer)


def write_checkpoint(
    prefix: Path,
    tensors: Mapping[str, np.ndarray],
    *,
    checksums: bool = False,
    extra_entries: Mapping[str, bytes] | None = None,
) -> None:
    """Write ``prefix.index`` and ``prefix.data-00000-of-00001`` holding ``tensors``.

    ``checksums`` stores each tensor's masked CRC32C (bitwise, so only for small tensors);
    without it the entries carry no checksum.
    """
    items: dict[bytes, bytes] = {b"": header_proto(1)}
    offset = 0
    with open(f"{prefix}.data-00000-of-00001", "wb") as fh:
        for name in sorted(tensors):
            array = np.array(tensors[name], order="C")
            raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            crc = masked(crc32c_bitwise(raw)) if checksums else None
            items[name.encode()] = entry_proto(
                _DT_OF[array.dtype], array.shape, offset, len(raw), crc
            )
            fh.write(raw)
            offset += len(raw)
    for name, value in (extra_entries or {}).items():
        items[name.encode()] = value
    write_table(Path(f"{prefix}.index"), items)


def official_prnet_shapes() -> dict[str, tuple[int, ...]]:
    """The official resfcn256 variables and TensorFlow shapes, written out by hand.

    From ``predictor.py`` of the official release: ``tcl.conv2d`` / ``tcl.conv2d_transpose``
    with ``normalizer_fn=tcl.batch_norm`` (scale=True) and no biases; kernels HWIO for
    convolutions, HW(out)(in) for transposed convolutions.
    """
    shapes: dict[str, tuple[int, ...]] = {}

    def bn(scope: str, c: int) -> None:
        for part in ("gamma", "beta", "moving_mean", "moving_variance"):
            shapes[f"{scope}/BatchNorm/{part}"] = (c,)

    shapes["resfcn256/Conv/weights"] = (4, 4, 3, 16)
    bn("resfcn256/Conv", 16)
    cin = 16
    blocks = [
        (32, 2),
        (32, 1),
        (64, 2),
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
    ]
    for i, (c, s) in enumerate(blocks):
        scope = "resfcn256/resBlock" + (f"_{i}" if i else "")
        if s != 1 or cin != c:
            shapes[f"{scope}/shortcut/weights"] = (1, 1, cin, c)
        shapes[f"{scope}/Conv/weights"] = (1, 1, cin, c // 2)
        bn(f"{scope}/Conv", c // 2)
        shapes[f"{scope}/Conv_1/weights"] = (4, 4, c // 2, c // 2)
        bn(f"{scope}/Conv_1", c // 2)
        shapes[f"{scope}/Conv_2/weights"] = (1, 1, c // 2, c)
        bn(scope, c)
        cin = c
    decoder = [512, 256, 256, 256, 128, 128, 128, 64, 64, 64, 32, 32, 16, 16, 3, 3, 3]
    for i, c in enumerate(decoder):
        scope = "resfcn256/Conv2d_transpose" + (f"_{i}" if i else "")
        shapes[f"{scope}/weights"] = (4, 4, c, cin)
        bn(scope, c)
        cin = c
    return shapes


def random_prnet_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 values for every official variable (kernels scaled by fan-in)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, shape in official_prnet_shapes().items():
        if name.endswith("/weights"):
            fan_in = (
                shape[0] * shape[1] * (shape[2] if "Conv2d_transpose" not in name else shape[3])
            )
            value = rng.standard_normal(shape, dtype=np.float32) * np.float32(1.5 / np.sqrt(fan_in))
        elif name.endswith("gamma"):
            value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif name.endswith("beta") or name.endswith("moving_mean"):
            value = rng.normal(0.0, 0.1, shape).astype(np.float32)
        else:
            value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        out[name] = value
    return out
