from __future__ import annotations

import pickle

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from disentangle_fas.encoders import (
    RefusedPickleError,
    ResNetEncoder,
    SharedStemEncoders,
    create_encoder,
    load_state_dict_file,
)


@pytest.mark.parametrize(("depth", "channels"), [(10, 512), (18, 512), (50, 2048)])
def test_encoder_output_shape(depth: int, channels: int) -> None:
    enc = ResNetEncoder(depth)
    out = enc(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, channels, 2, 2)
    assert enc.num_features == channels


def test_encoder_rejects_bad_input() -> None:
    enc = ResNetEncoder(10)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        enc(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="depth"):
        ResNetEncoder(19)


def _torchvision_features(model: torchvision.models.ResNet, x: torch.Tensor) -> torch.Tensor:
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def test_torchvision_state_dict_loads_and_matches() -> None:
    torch.manual_seed(0)
    ref = torchvision.models.resnet18().eval()
    enc = ResNetEncoder(18).eval()
    enc.load_torchvision_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(enc(x), _torchvision_features(ref, x))


def test_torchvision_state_dict_mismatch_is_explained() -> None:
    sd = torchvision.models.resnet34().state_dict()
    with pytest.raises(ValueError, match="does not match a torchvision ResNet-18"):
        ResNetEncoder(18).load_torchvision_state_dict(sd)
    sd18 = torchvision.models.resnet18().state_dict()
    del sd18["layer1.0.conv1.weight"]
    with pytest.raises(ValueError, match=r"missing=\['layer1.0.conv1.weight'\]"):
        ResNetEncoder(18).load_torchvision_state_dict(sd18)


def test_shared_stem_is_one_module() -> None:
    enc = SharedStemEncoders(10, warn_random=False)
    assert enc.liveness.stem is enc.stem
    assert enc.content is not None and enc.content.stem is enc.stem
    assert enc.domain is not None and enc.domain.stem is enc.stem
    single = sum(p.numel() for p in ResNetEncoder(10).parameters())
    stem = sum(p.numel() for p in enc.stem.parameters())
    assert sum(p.numel() for p in enc.parameters()) == 3 * single - 2 * stem


def test_shared_forward_equals_each_encoder() -> None:
    enc = SharedStemEncoders(10, warn_random=False).eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        maps = enc(x)
        assert enc.content is not None and enc.domain is not None
        torch.testing.assert_close(maps.liveness, enc.liveness(x))
        torch.testing.assert_close(maps.content, enc.content(x))
        torch.testing.assert_close(maps.domain, enc.domain(x))
    assert not torch.equal(maps.liveness, maps.content)


def test_branches_can_be_switched_off() -> None:
    enc = SharedStemEncoders(10, content=False, domain=False, warn_random=False)
    maps = enc(torch.rand(2, 3, 32, 32))
    assert maps.content is None and maps.domain is None
    assert set(enc.encoders()) == {"liveness"}


def test_random_init_warns() -> None:
    with pytest.warns(UserWarning, match="random"):
        SharedStemEncoders(10)
    with pytest.warns(UserWarning, match="Nothing is downloaded"):
        create_encoder("resnet10")


def test_weights_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    sd = torchvision.models.resnet18().state_dict()
    pt, st = tmp_path / "r18.pth", tmp_path / "r18.safetensors"
    torch.save(sd, pt)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(st))
    for path in (pt, st):
        enc = SharedStemEncoders(18, weights=path)
        torch.testing.assert_close(enc.stem.conv1.weight, sd["conv1.weight"])
        assert enc.domain is not None
        torch.testing.assert_close(enc.domain.layer4[1].bn2.bias, sd["layer4.1.bn2.bias"])
    enc2 = create_encoder("resnet18", weights=pt)
    assert isinstance(enc2, ResNetEncoder)


class _Payload:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, ("import pathlib; pathlib.Path('PWNED').touch()",))


def test_pickle_payload_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "evil.pth"
    bad.write_bytes(pickle.dumps({"conv1.weight": _Payload()}))
    with pytest.raises(RefusedPickleError, match="refusing to load") as info:
        load_state_dict_file(bad)
    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, ValueError)
    assert not (tmp_path / "PWNED").exists()


def test_state_dict_file_unwraps_sniffs_and_strips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sd = {"conv1.weight": torch.arange(6.0).reshape(2, 3), "fc.bias": torch.ones(2)}
    torch.save({"model": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}, tmp_path / "a.pt")
    got = load_state_dict_file(tmp_path / "a.pt")
    assert sorted(got) == sorted(sd)
    for k in sd:
        torch.testing.assert_close(got[k], sd[k])
    save_file(sd, str(tmp_path / "b.bin"))  # safetensors under another suffix: the header says
    assert sorted(load_state_dict_file(tmp_path / "b.bin")) == sorted(sd)
    (tmp_path / "c.safetensors").write_bytes(b"garbage!{")
    with pytest.raises(ValueError, match="not a readable safetensors"):
        load_state_dict_file(tmp_path / "c.safetensors")
    torch.save({"conv1.weight": 3}, tmp_path / "d.pt")
    with pytest.raises(ValueError, match="not tensors"):
        load_state_dict_file(tmp_path / "d.pt")


def test_missing_file_and_non_state_dict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="not found"):
        load_state_dict_file(tmp_path / "nope.pth")
    p = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], p)
    with pytest.raises(ValueError, match="state dict"):
        load_state_dict_file(p)


def test_create_encoder_accepts_modules() -> None:
    enc = ResNetEncoder(10)
    assert create_encoder(enc) is enc
    with pytest.raises(ValueError, match="num_features"):
        create_encoder(torch.nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="unknown backbone"):
        create_encoder("vit")
