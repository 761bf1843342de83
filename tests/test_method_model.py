"""The methods' models share MethodModel: the build from a config and the input spec."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from disentangle_fas.encoders import ResNetEncoder, create_encoder
from disentangle_fas.heads import LMCLHead
from disentangle_fas.method_model import MethodModel, check_in_features
from disentangle_fas.safas import SAFAS, DomainLogisticHeads, SAFASConfig
from disentangle_fas.ssan import SSANR, SSANConfig
from disentangle_fas.ssdg import SSDGR, Embedding, SingleSideDiscriminator, SSDGConfig

METHODS = [(SAFAS, SAFASConfig), (SSANR, SSANConfig), (SSDGR, SSDGConfig)]


@pytest.mark.parametrize(("model_cls", "config_cls"), METHODS)
def test_from_config_keeps_the_config_and_reads_the_input_spec_from_it(
    model_cls: type[MethodModel[Any]], config_cls: type
) -> None:
    config = config_cls(num_domains=3, depth=10, image_size=64)
    model = model_cls.from_config(config, warn_random=False)
    assert isinstance(model, model_cls) and isinstance(model, MethodModel)
    assert model.config is config
    spec = model.input_spec
    assert spec is not None and spec.image_size == 64
    assert model_cls.trunk_name(config) == "resnet10"
    unsized = model_cls.from_config(config_cls(num_domains=2, depth=10), warn_random=False)
    assert unsized.input_spec is None
    model.config = None
    assert model.input_spec is None


@pytest.mark.parametrize("model_cls", [SAFAS, SSDGR])
def test_a_named_backbone_is_the_trunk(model_cls: Any) -> None:
    config_cls = SAFASConfig if model_cls is SAFAS else SSDGConfig
    config = config_cls(num_domains=2, depth=10, backbone="mobilenet_v3_small")
    assert model_cls.trunk_name(config) == "mobilenet_v3_small"
    model = model_cls.from_config(config, warn_random=False)
    assert not isinstance(model.encoder, ResNetEncoder)


def test_ssan_refuses_a_trunk_that_is_not_a_resnet() -> None:
    encoder = create_encoder("mobilenet_v3_small", warn_random=False)
    with pytest.raises(TypeError, match="SSAN-R needs a ResNetEncoder"):
        SSANR.assemble(SSANConfig(num_domains=2, depth=10), encoder, pretrained=False)


def test_ssdg_resets_layer4_only_for_a_pretrained_trunk() -> None:
    config = SSDGConfig(num_domains=2, depth=10)
    torch.manual_seed(0)
    encoder = ResNetEncoder(10)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    SSDGR.assemble(config, encoder, pretrained=False)
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in before.items())
    SSDGR.assemble(config, encoder, pretrained=True)
    after = encoder.state_dict()
    changed = {k for k, v in before.items() if not torch.equal(v, after[k])}
    assert changed and all(k.startswith("layer4.") for k in changed)
    kept = SSDGConfig(num_domains=2, depth=10, imagenet_layer4=True)
    encoder.load_state_dict(before)
    SSDGR.assemble(kept, encoder, pretrained=True)
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in before.items())


def test_check_in_features_names_the_part_and_both_widths() -> None:
    check_in_features("heads", 512, 512, "the encoder's num_features")
    with pytest.raises(ValueError) as err:
        check_in_features("heads", 256, 512, "the encoder's num_features")
    assert str(err.value) == "heads.in_features=256 does not match the encoder's num_features=512"


def test_models_refuse_parts_of_the_wrong_width() -> None:
    encoder = ResNetEncoder(10)  # 512 features
    with pytest.raises(ValueError, match=r"^heads.in_features=256 does not match the encoder"):
        SAFAS(encoder, DomainLogisticHeads(256, 2))
    classifier, disc = LMCLHead(64, 2), SingleSideDiscriminator(64, 2, 16)
    with pytest.raises(ValueError, match=r"^embedding.in_features=256 does not match the enc"):
        SSDGR(encoder, Embedding(256, 64), classifier, disc)
    with pytest.raises(ValueError, match=r"^discriminator.in_features=32 does not match the emb"):
        SSDGR(encoder, Embedding(512, 64), classifier, SingleSideDiscriminator(32, 2, 16))
    SSDGR(encoder, Embedding(512, 64), classifier, disc)  # matching widths build
