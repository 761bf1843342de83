"""load_prnet / save_prnet: formats, key layouts, clear errors, refusal of code pickles."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from pytorchcv import model_provider as pytorchcv_provider
from safetensors.torch import save_file

from disentangle_fas.targets import (
    PRNet,
    convert_pytorchcv_state_dict,
    load_prnet,
    save_prnet,
)


@pytest.fixture(scope="module")
def net() -> PRNet:
    torch.manual_seed(0)
    n = PRNet()
    with torch.no_grad():
        for name, buf in n.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.1)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    return n.eval()


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


class _Payload:
    """Unpickling this calls open(marker, "w"): it would create a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_code_pickle_is_refused_and_never_executed(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "payload_ran"
    path = tmp_path / "evil.pt"
    obj = {"stem.conv.weight": _Payload(marker)}
    if writer == "torch.save":
        torch.save(obj, path)
    else:
        with path.open("wb") as f:
            pickle.dump(obj, f)
    with pytest.raises(ValueError, match="refusing to load"):
        load_prnet(path)
    assert not marker.exists()
    if writer == "torch.save":
        # The payload is live: an unsafe load would have run it.
        torch.load(path, weights_only=False)
        assert marker.exists()


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".pth"])
def test_round_trip(net: PRNet, tmp_path: Path, suffix: str) -> None:
    path = save_prnet(net, tmp_path / f"prnet{suffix}")
    loaded = load_prnet(path)
    _assert_same_weights(net, loaded)
    assert loaded.weights_source == str(path)
    assert not loaded.training


def test_safetensors_detected_without_suffix(net: PRNet, tmp_path: Path) -> None:
    path = save_prnet(net, tmp_path / "prnet.safetensors")
    renamed = path.rename(tmp_path / "prnet.bin")
    _assert_same_weights(net, load_prnet(renamed))


def test_wrapped_and_prefixed_state_dicts(net: PRNet, tmp_path: Path) -> None:
    sd = net.state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3},
               tmp_path / "ckpt.pt")  # fmt: skip
    _assert_same_weights(net, load_prnet(tmp_path / "ckpt.pt"))


def test_num_batches_tracked_optional(net: PRNet, tmp_path: Path) -> None:
    sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "w.safetensors"))
    loaded = load_prnet(tmp_path / "w.safetensors")
    for k, v in sd.items():
        assert torch.equal(loaded.state_dict()[k], v)


def test_pytorchcv_key_mapping_is_a_bijection() -> None:
    ref_sd = pytorchcv_provider.get_model("prnet", pretrained=False).state_dict()
    ours = PRNet().state_dict()
    converted = convert_pytorchcv_state_dict(ref_sd)
    assert set(converted) == set(ours)
    for k, v in converted.items():
        assert v.shape == ours[k].shape, k
    # the mapping agrees with the registration order of both modules
    assert [convert_pytorchcv_state_dict({k: v}).popitem()[0] for k, v in ref_sd.items()] == list(
        ours
    )


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_prnet("/nonexistent/prnet.pt")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_prnet(tmp_path)


def test_unknown_layout(tmp_path: Path) -> None:
    torch.save({"conv.weight": torch.zeros(3), "fc.bias": torch.zeros(1)}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="unknown PRNet key layout"):
        load_prnet(tmp_path / "x.pt")


def test_shape_mismatch(net: PRNet, tmp_path: Path) -> None:
    sd = dict(net.state_dict())
    sd["decoder.3.conv.weight"] = torch.zeros(256, 256, 3, 3)
    torch.save(sd, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"shape mismatch for 'decoder.3.conv.weight'"):
        load_prnet(tmp_path / "bad.pt")


def test_missing_and_unexpected_keys(net: PRNet, tmp_path: Path) -> None:
    sd = dict(net.state_dict())
    del sd["encoder.4.conv2.bn.weight"]
    sd["encoder.4.extra"] = torch.zeros(1)
    torch.save(sd, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"1 missing keys.*encoder.4.conv2.bn.weight"):
        load_prnet(tmp_path / "bad.pt")


def test_bad_pytorchcv_key(tmp_path: Path) -> None:
    torch.save({"features.encoder.stage9.unit1.body.conv1.conv.weight": torch.zeros(1)},
               tmp_path / "bad.pt")  # fmt: skip
    with pytest.raises(ValueError, match="no such stage"):
        load_prnet(tmp_path / "bad.pt")


def test_not_a_state_dict(tmp_path: Path) -> None:
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="does not hold a state dict"):
        load_prnet(tmp_path / "list.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError):
        load_prnet(tmp_path / "garbage.pt")
    torch.save({"stem.conv.weight": 3}, tmp_path / "int.pt")
    with pytest.raises(ValueError, match="not tensors"):
        load_prnet(tmp_path / "int.pt")
