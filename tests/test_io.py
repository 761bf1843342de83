"""The one atomic write and the tensor-sharing helpers of safetensors files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from disentangle_fas._io import (
    alias_groups,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    save_safetensors,
    unique_tensors,
)
from disentangle_fas.training.rundir import orphaned_temporaries


def test_atomic_write_creates_folder_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    atomic_write_text(target, "héllo")
    assert target.read_bytes() == "héllo".encode()
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.json"]


def test_temporary_is_named_for_the_resume_cleanup(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "state.safetensors") as tmp:
        assert tmp.name == "state.safetensors" and tmp.parent.parent == tmp_path
        folder = tmp.parent.name
        assert folder.startswith(".state.safetensors.") and folder.endswith(".tmp")
        assert orphaned_temporaries(tmp_path) == [tmp.parent]
    assert orphaned_temporaries(tmp_path) == []


def test_error_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_save_safetensors_round_trip(tmp_path: Path) -> None:
    base = torch.arange(12.0).reshape(3, 4)
    tensors = {"t": base.t(), "u": torch.ones(2, dtype=torch.int64)}  # a non-contiguous view
    path = save_safetensors(tmp_path / "f.safetensors", tensors, {"k": "v"})
    loaded = load_file(str(path))
    assert torch.equal(loaded["t"], base.t()) and torch.equal(loaded["u"], tensors["u"])
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata() == {"k": "v"}


class _Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(3, 2)
        self.alias = self.stem  # the same module under a second name
        self.head = nn.BatchNorm1d(2)


def test_alias_groups_against_identity_of_parameters() -> None:
    model = _Shared()
    groups = alias_groups(model)
    sd = model.state_dict(keep_vars=True)
    assert set(groups) == set(sd)
    for key, first in groups.items():
        assert list(sd).index(first) <= list(sd).index(key)
        same = sd[key] is sd[first] or sd[key].data_ptr() == sd[first].data_ptr()
        assert same
    assert groups["alias.weight"] == "stem.weight"
    assert groups["head.num_batches_tracked"] == "head.num_batches_tracked"


def test_unique_tensors_keep_one_copy_per_group() -> None:
    model = _Shared()
    unique = unique_tensors(model, prefix="model.")
    expected = {f"model.{k}" for k in model.state_dict() if not k.startswith("alias.")}
    assert set(unique) == expected
    assert torch.equal(unique["model.stem.weight"], model.stem.weight.detach())
    unique["model.stem.weight"].add_(1.0)  # copies: the model is untouched
    assert not torch.equal(unique["model.stem.weight"], model.stem.weight.detach())
