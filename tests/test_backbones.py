"""Every backbone behind the encoder contract, and the three-encoder module."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from disentangle_fas.contracts import Encoder, StemmedEncoder
from disentangle_fas.encoders import (
    DisentangledEncoders,
    ProjectedEncoder,
    SharedStemEncoders,
    TorchvisionEncoder,
    available_backbones,
    create_encoder,
)

X = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("name", "width"),
    [
        ("resnet18", 512),
        ("resnet34", 512),
        ("resnet50", 2048),
        ("mobilenet_v3_small", 576),
        ("mobilenet_v3_large", 960),
        ("efficientnet_b0", 1280),
    ],
)
def test_named_backbones_follow_the_contract(name: str, width: int) -> None:
    enc = create_encoder(name, warn_random=False).eval()
    assert isinstance(enc, Encoder) and isinstance(enc, StemmedEncoder)
    assert enc.num_features == width and enc.backbone == name  # type: ignore[union-attr]
    with torch.no_grad():
        out = enc(X)
        assert out.shape == (2, width, 2, 2)
        torch.testing.assert_close(enc.forward_trunk(enc.stem(X)), out)  # type: ignore[operator]


def test_available_backbones_lists_what_create_encoder_builds() -> None:
    names = available_backbones()
    assert {"resnet18", "mobilenet_v3_small", "efficientnet_b0"} <= set(names)
    with pytest.raises(ValueError, match=r"unknown backbone 'vgg11'.*mobilenet_v3_small"):
        create_encoder("vgg11")


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0"])
def test_torchvision_weights_give_torchvisions_own_features(name: str) -> None:
    torch.manual_seed(3)
    reference = getattr(tvm, name)(weights=None).eval()
    enc = TorchvisionEncoder(name)
    enc.load_torchvision_state_dict(reference.state_dict())  # classifier keys are ignored
    enc.eval()
    with torch.no_grad():
        torch.testing.assert_close(enc(X), reference.features(X))


def test_torchvision_weights_of_another_backbone_are_refused() -> None:
    enc = TorchvisionEncoder("mobilenet_v3_small")
    with pytest.raises(ValueError, match="does not match"):
        enc.load_torchvision_state_dict(tvm.mobilenet_v3_large(weights=None).state_dict())


def test_weights_file_loads_without_download(tmp_path) -> None:
    torch.manual_seed(4)
    reference = tvm.mobilenet_v3_small(weights=None).eval()
    path = tmp_path / "mnv3.pth"
    torch.save(reference.state_dict(), path)
    enc = create_encoder("mobilenet_v3_small", weights=path).eval()
    with torch.no_grad():
        torch.testing.assert_close(enc(X), reference.features(X))


def test_timm_backbone_matches_timms_own_features() -> None:
    timm = pytest.importorskip("timm")
    torch.manual_seed(5)
    enc = create_encoder("timm:resnet18").eval()
    reference = timm.create_model("resnet18", pretrained=False).eval()
    loaded = reference.load_state_dict(enc.model.state_dict(), strict=False)  # type: ignore[union-attr]
    assert set(loaded.missing_keys) == {"fc.weight", "fc.bias"} and not loaded.unexpected_keys
    with torch.no_grad():
        torch.testing.assert_close(enc(X), reference.forward_features(X))
    assert enc.num_features == 512 and enc.backbone == "timm:resnet18"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="cannot share a stem"):
        create_encoder("timm:resnet18", stem=nn.Identity())


def test_custom_modules_pass_through_or_are_refused_clearly() -> None:
    class Tiny(nn.Module):
        num_features = 8

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    tiny = Tiny()
    assert create_encoder(tiny) is tiny
    with pytest.raises(ValueError, match="integer `num_features`"):
        create_encoder(nn.Conv2d(3, 8, 3))
    with pytest.raises(ValueError, match="timm backbones only"):
        create_encoder("resnet18", img_size=64)


def test_projection_gives_one_width_and_keeps_the_stem() -> None:
    base = create_encoder("mobilenet_v3_small", warn_random=False)
    proj = ProjectedEncoder(base, 512)
    assert proj.num_features == 512 and isinstance(proj, StemmedEncoder)
    assert proj.stem is base.stem  # type: ignore[union-attr]
    assert proj(X).shape == (2, 512, 2, 2)
    with pytest.raises(ValueError, match="out_features"):
        ProjectedEncoder(base, 0)


def test_encoders_of_different_widths_are_refused_with_the_remedy() -> None:
    live = create_encoder("mobilenet_v3_small", warn_random=False)
    other = create_encoder("resnet18", warn_random=False)
    with pytest.raises(ValueError, match="ProjectedEncoder"):
        DisentangledEncoders(live, other, other)
    both = DisentangledEncoders(ProjectedEncoder(live, 512), other, None)
    maps = both(X)
    assert maps.liveness.shape == maps.content.shape == (2, 512, 2, 2)  # type: ignore[union-attr]
    assert maps.domain is None


def test_a_shared_stem_must_be_every_encoders_stem_and_runs_once() -> None:
    first = create_encoder("mobilenet_v3_small", warn_random=False)
    stem = first.stem  # type: ignore[union-attr]
    second = create_encoder("mobilenet_v3_small", stem=stem, warn_random=False)
    stranger = create_encoder("mobilenet_v3_small", warn_random=False)
    with pytest.raises(ValueError, match="stem is not the content encoder's stem"):
        DisentangledEncoders(first, stranger, stem=stem)
    enc = DisentangledEncoders(first, second, stem=stem).eval()
    calls: list[int] = []
    stem.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        maps = enc(X)
        torch.testing.assert_close(maps.content, second(X))
    assert len(calls) == 2  # once in enc(X), once in second(X)


def test_shared_stem_encoders_of_any_stemmed_backbone() -> None:
    enc = SharedStemEncoders(backbone="efficientnet_b0", domain=False, warn_random=False)
    assert enc.stem is enc.liveness.stem is enc.content.stem  # type: ignore[union-attr]
    assert enc.domain is None and enc.num_features == 1280
    with pytest.raises(ValueError, match="no separable stem"):
        SharedStemEncoders(backbone="timm:resnet18", warn_random=False)
