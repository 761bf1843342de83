"""Composed models through the whole harness: build, train, save, load, score, export, explain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from _fake_task import fake_task, tiny_config
from disentangle_fas.checkpoint import load_model, read_metadata, save_model
from disentangle_fas.contracts import (
    InputSpec,
    LivenessModel,
    LivenessPath,
    TrainingMethod,
    Variant,
    num_features_of,
)
from disentangle_fas.encoders import create_encoder
from disentangle_fas.heads import LMCLHead
from disentangle_fas.inference import LivenessDetector
from disentangle_fas.losses import DisentanglementObjective, lmcl_loss
from disentangle_fas.model import DisentangledFAS, ModelConfig, normalize_layer
from disentangle_fas.registry import model_kind, model_kinds, register_model_kind
from disentangle_fas.training import ObjectiveMethod, available_methods, train
from disentangle_fas.training.protocol import _run_config

SIZE = 64
X = torch.rand(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))


def _mobile(variant: str = "full") -> DisentangledFAS:
    torch.manual_seed(0)
    return DisentangledFAS.build(
        num_domains=3, variant=variant, backbone="mobilenet_v3_small", image_size=SIZE,
        content_shape=(1, 16, 16), warn_random=False,
    ).eval()  # fmt: skip


@pytest.mark.parametrize("variant", list(Variant))
def test_every_variant_builds_with_another_backbone(variant: Variant) -> None:
    model = _mobile(variant.value)
    assert model.variant is variant and model.encoders.num_features == 576
    if variant.uses_content or variant.uses_domain:
        assert model.encoders.stem is model.encoders.liveness.stem  # one shared stem
    feats = model(X)
    assert feats.liveness.shape == (3, 576, 2, 2)
    if variant.uses_content:
        assert feats.content_pred is not None and feats.content_pred.shape == (3, 1, 16, 16)
    assert model.live_score(X).shape == (3,)
    assert model.input_spec == InputSpec(SIZE)


def test_mixed_backbones_are_projected_to_one_width() -> None:
    model = DisentangledFAS.build(
        num_domains=3, backbone="mobilenet_v3_small", content_backbone="resnet18",
        domain_backbone="resnet18", image_size=SIZE, content_shape=(1, 8, 8), warn_random=False,
    )  # fmt: skip
    assert model.config is not None and model.config.feature_dim == 576
    assert model.encoders.stem is None  # different backbones cannot share a stem
    feats = model(X)
    assert feats.content is not None and feats.content.shape == (3, 576, 2, 2)
    objective = DisentanglementObjective(model.liveness_head, model.domain_head, variant="full")
    terms = objective(
        feats, torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]), torch.rand(3, 1, 8, 8)
    )
    terms.total.backward()
    assert model.encoders.content.encoder.layer1[0].conv1.weight.grad is not None  # type: ignore[union-attr]


def test_the_liveness_path_is_the_models_own_modules() -> None:
    model = _mobile()
    path = model.liveness_path()
    assert isinstance(path, LivenessPath) and path.encoder is model.encoders.liveness
    with torch.no_grad():
        torch.testing.assert_close(path.live_score(X), model.live_score(X))
        reps = model.representations(X)
    assert set(reps) == {"liveness", "content", "domain"} and reps["domain"].shape == (3, 576)


def test_checkpoints_of_another_backbone_round_trip(tmp_path: Path) -> None:
    model = _mobile()
    path = save_model(model, tmp_path / "m.safetensors", threshold=0.4)
    meta = read_metadata(path)
    assert meta["kind"] == "disentangle" and meta["config"]["backbone"] == "mobilenet_v3_small"
    assert meta["input"] == {
        "image_size": SIZE,
        "mean": list(InputSpec(1).mean),
        "std": list(InputSpec(1).std),
    }
    loaded = load_model(path)
    assert loaded.input_spec == InputSpec(SIZE) and loaded.kind == "disentangle"
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.live_score(X), model.live_score(X))
    det = LivenessDetector.from_checkpoint(path, face_detector=None)
    assert det.image_size == SIZE and det.threshold == 0.4
    assert det.model.variant is Variant.BASELINE  # type: ignore[union-attr]
    with torch.no_grad():
        torch.testing.assert_close(det.score_crops(X), model.live_score(X), atol=1e-6, rtol=0)


def test_old_config_dicts_still_load() -> None:
    old = {"num_domains": 3, "variant": "full", "depth": 18, "image_size": 64,
           "content_shape": [1, 32, 32], "scale": 16.0, "margin": 0.35, "domain_hidden": None}  # fmt: skip
    cfg = ModelConfig.from_dict(old)
    assert cfg.backbones == {"liveness": "resnet18", "content": "resnet18", "domain": "resnet18"}
    assert cfg.share_stem and cfg.feature_dim is None


def test_export_and_gradcam_of_another_backbone(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from disentangle_fas.explain import liveness_gradcam
    from disentangle_fas.inference import OnnxLivenessModel, export_onnx

    model = _mobile("baseline")
    onnx_path = export_onnx(model, tmp_path / "m.onnx")
    with torch.no_grad():
        expected = model.live_score(X).numpy()
    got = OnnxLivenessModel(onnx_path)(X.numpy())
    assert abs(got - expected).max() < 1e-4
    cam = liveness_gradcam(model, X)
    assert cam.maps.shape == (3, SIZE, SIZE) and cam.layer_size == (2, 2)


class _TinyLive(LivenessModel):
    """A user's own liveness model: one conv encoder and an LMCL head."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.width = width
        self.encoder = nn.Sequential(nn.Conv2d(3, width, 3, stride=4), nn.ReLU())
        self.head = LMCLHead(width)
        self.normalize = normalize_layer()

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec(32)

    def liveness_path(self) -> LivenessPath:
        return LivenessPath(self.encoder, self.head, self.normalize)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.encoder(self.normalize(images)))


def _lmcl_objective(cosine: Tensor, labels: Tensor, domains: Tensor, target: Any) -> Tensor:
    return lmcl_loss(cosine, labels, scale=16.0, margin=0.35)


def test_a_custom_model_saves_with_its_config_and_loads_with_a_builder(tmp_path: Path) -> None:
    model = _TinyLive(width=8).eval()
    path = save_model(model, tmp_path / "c.safetensors", config={"width": 8})
    assert read_metadata(path)["kind"] == "custom"
    with pytest.raises(ValueError, match="builder"):
        load_model(path)
    loaded = load_model(path, builder=lambda cfg: _TinyLive(**cfg))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.live_score(x), model.live_score(x))
    with pytest.raises(ValueError, match="do not match"):
        load_model(path, builder=lambda cfg: _TinyLive(width=4))
    with pytest.raises(TypeError, match="LivenessModel"):
        save_model(nn.Linear(2, 2), tmp_path / "x.safetensors")  # type: ignore[arg-type]


def test_a_custom_model_trains_through_the_method_contract(tmp_path: Path) -> None:
    model = _TinyLive()
    calls: list[float] = []

    class Counting(ObjectiveMethod):
        def after_step(self, progress: float) -> None:
            calls.append(progress)

    method = Counting(model, _lmcl_objective)
    assert isinstance(method, TrainingMethod)
    before = model.encoder[0].weight.detach().clone()
    res = train(tiny_config(str(tmp_path / "run")), fake_task(), method=method)
    assert calls == [0.25, 0.5, 0.75, 1.0]
    assert not torch.equal(before, model.encoder[0].weight)
    assert read_metadata(res.checkpoint)["kind"] == "custom"
    assert 0.0 <= res.metrics.auc <= 1.0
    log = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "train" and "total" in r for r in log)


def test_the_paper_model_trains_with_another_backbone(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path / "run"), backbone="mobilenet_v3_small", steps=2)
    res = train(cfg, fake_task())
    loaded = load_model(res.checkpoint)
    assert loaded.config.backbone == "mobilenet_v3_small" and loaded.input_spec == InputSpec(32)


class _Cfg:
    def __init__(self, width: int) -> None:
        self.width = width

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Cfg:
        return cls(**data)


class _Registered(_TinyLive):
    def __init__(self, width: int = 8) -> None:
        super().__init__(width)
        self.config = _Cfg(width)

    @classmethod
    def from_config(cls, config: _Cfg, *, warn_random: bool = True) -> _Registered:
        return cls(config.width)


def test_a_registered_kind_rebuilds_without_a_builder(tmp_path: Path) -> None:
    register_model_kind("tiny-test", _Registered, _Cfg)
    assert "tiny-test" in model_kinds() and model_kind("tiny-test").model_cls is _Registered
    model = _Registered(6).eval()
    path = save_model(model, tmp_path / "r.safetensors")
    assert read_metadata(path)["kind"] == "tiny-test"
    loaded = load_model(path)
    assert isinstance(loaded.model, _Registered) and loaded.model.width == 6
    register_model_kind("tiny-test", _Registered, _Cfg)  # the same registration again: fine

    class Other(_Registered):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_model_kind("tiny-test", Other, _Cfg)
    with pytest.raises(TypeError, match="from_config"):
        register_model_kind("no-builder", _TinyLive, _Cfg)
    with pytest.raises(ValueError, match=r"unknown model kind 'nope'.*ssdg-r"):
        model_kind("nope")


def test_protocol_names_are_variants_or_registered_methods(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path))
    assert _run_config(cfg, "ssdg-r", "T", tmp_path).method == "ssdg-r"
    assert _run_config(cfg, "content", "T", tmp_path).method_settings == {"variant": "content"}
    assert {"disentangle", "ssdg-r"} <= set(available_methods())
    with pytest.raises(ValueError, match="unknown variant 'fulll'"):
        _run_config(cfg, "fulll", "T", tmp_path)


def test_num_features_of_names_what_is_missing() -> None:
    assert num_features_of(create_encoder("resnet10", warn_random=False)) == 512
    with pytest.raises(ValueError, match="not an encoder"):
        num_features_of(nn.Identity())


def test_an_ssdg_r_run_at_32_px_is_scored_at_32_px(tmp_path: Path) -> None:
    res = train(tiny_config(str(tmp_path / "run"), method="ssdg-r", steps=2), fake_task())
    assert load_model(res.checkpoint).input_spec == InputSpec(32)
    det = LivenessDetector.from_checkpoint(res.checkpoint, face_detector=None)
    assert det.image_size == 32
