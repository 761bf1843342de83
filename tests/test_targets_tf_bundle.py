"""The pure-Python TensorFlow tensor-bundle reader against an independent writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _tf_checkpoint import crc32c_bitwise, entry_proto, masked, write_checkpoint, write_table
from disentangle_fas.targets.tf_bundle import TensorBundle, crc32c, mask_crc, read_sstable


@pytest.mark.parametrize(
    ("data", "expected"),
    [  # RFC 3720, appendix B.4, and the usual check value
        (b"123456789", 0xE3069283),
        (bytes(32), 0x8A9136AA),
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (b"", 0),
    ],
)
def test_crc32c_known_values(data: bytes, expected: int) -> None:
    assert crc32c(data) == expected


@given(st.binary(max_size=300), st.integers(0, 300))
def test_crc32c_matches_bitwise_definition_and_continues(data: bytes, cut: int) -> None:
    assert crc32c(data) == crc32c_bitwise(data)
    cut = min(cut, len(data))
    assert crc32c(data[cut:], crc32c(data[:cut])) == crc32c(data)


@given(st.integers(0, 2**32 - 1))
def test_mask_matches_reference(crc: int) -> None:
    assert mask_crc(crc) == masked(crc)


@given(
    st.dictionaries(
        st.binary(min_size=0, max_size=24), st.binary(max_size=40), min_size=1, max_size=60
    ),
    st.integers(16, 300),
    st.integers(1, 16),
)
def test_sstable_round_trip(
    tmp_path_factory: pytest.TempPathFactory, items: dict[bytes, bytes], block: int, restart: int
) -> None:
    path = tmp_path_factory.mktemp("t") / "x.index"
    write_table(path, items, block_size=block, restart_interval=restart)
    assert read_sstable(path) == dict(sorted(items.items()))


def test_sstable_shared_prefixes_across_many_blocks(tmp_path: Path) -> None:
    items = {
        f"resfcn256/resBlock_{i}/Conv_{j}/w".encode(): bytes([i, j])
        for i in range(9)
        for j in range(3)
    }
    path = tmp_path / "x.index"
    write_table(path, items, block_size=40, restart_interval=3)
    assert read_sstable(path) == items


def test_sstable_refuses_bad_magic_and_corrupt_blocks(tmp_path: Path) -> None:
    path = tmp_path / "x.index"
    write_table(path, {b"a": b"1"})
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic"):
        read_sstable(path)
    write_table(path, {b"a": b"1"}, corrupt_trailer=True)
    with pytest.raises(ValueError, match="CRC32C"):
        read_sstable(path)
    assert read_sstable(path, verify_checksums=False) == {b"a": b"1"}
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="too short"):
        read_sstable(path)


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "scope/w": rng.standard_normal((4, 4, 3, 16)).astype(np.float32),
        "scope/b": rng.standard_normal(7).astype(np.float64),
        "scope/i": rng.integers(-5, 5, (2, 3)).astype(np.int32),
        "global_step": np.array(1234, dtype=np.int64),
        "scope/h": rng.standard_normal((3, 1)).astype(np.float16),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


def test_bundle_reads_every_tensor_exactly(tmp_path: Path) -> None:
    tensors = _tensors()
    write_checkpoint(tmp_path / "ckpt", tensors, checksums=True)
    for prefix in ("ckpt", "ckpt.index", "ckpt.data-00000-of-00001"):
        bundle = TensorBundle(tmp_path / prefix)
        assert bundle.num_shards == 1
        assert bundle.names() == sorted(tensors)
        for name, value in tensors.items():
            got = bundle.read(name)
            assert got.dtype == value.dtype and got.shape == value.shape, name
            np.testing.assert_array_equal(got, value)
    assert bundle.entries["scope/w"].dtype_name == "float32"
    assert "scope/w" in bundle and "nope" not in bundle


def test_bundle_detects_corrupt_data(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "ckpt", _tensors(), checksums=True)
    data = tmp_path / "ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    entry = TensorBundle(tmp_path / "ckpt").entries["scope/w"]
    raw[entry.offset + 5] ^= 0x10
    data.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="CRC32C mismatch"):
        TensorBundle(tmp_path / "ckpt").read("scope/w")
    TensorBundle(tmp_path / "ckpt", verify_checksums=False).read("scope/w")
    TensorBundle(tmp_path / "ckpt").read("scope/b")  # other tensors still fine


def test_bundle_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="prefix"):
        TensorBundle(tmp_path / "absent")
    write_checkpoint(
        tmp_path / "ckpt",
        {"a": np.ones(2, np.float32)},
        extra_entries={
            "str": entry_proto(7, (), 0, 3, None),
            "bad": entry_proto(1, (5,), 0, 8, None),
        },
    )
    bundle = TensorBundle(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="string"):
        bundle.read("str")
    with pytest.raises(ValueError, match="20 expected"):
        bundle.read("bad")
    with pytest.raises(KeyError):
        bundle.read("missing")
    (tmp_path / "ckpt.data-00000-of-00001").unlink()
    with pytest.raises(FileNotFoundError, match="data file"):
        bundle.read("a")
    write_table(tmp_path / "nohead.index", {b"a": b""})
    with pytest.raises(ValueError, match="bundle header"):
        TensorBundle(tmp_path / "nohead")
