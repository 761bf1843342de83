"""The inference paths of SSAN-R and SA-FAS share the model's weights and are explained."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from disentangle_fas.checkpoint import save_model
from disentangle_fas.contracts import LivenessModel, LivenessPath
from disentangle_fas.explain import liveness_gradcam
from disentangle_fas.explain.cli import main as explain_main
from disentangle_fas.explain.gradcam import resolve_target_layer
from disentangle_fas.safas import SAFAS, SAFASConfig
from disentangle_fas.ssan import SSANR, SSANConfig


def _model(index: int) -> LivenessModel:
    torch.manual_seed(0)
    if index == 0:
        cfg = SSANConfig(num_domains=3, depth=10, assembly_stride=1, image_size=32)
        return SSANR.from_config(cfg, warn_random=False)
    return SAFAS.from_config(SAFASConfig(num_domains=3, depth=10, image_size=32), warn_random=False)


@pytest.mark.parametrize("index", [0, 1])
def test_path_is_the_model_and_gradients_reach_it(index: int) -> None:
    model = _model(index).eval()
    path = model.liveness_path()
    assert isinstance(path, LivenessPath)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(path.live_score(x), model.live_score(x))
    spec = model.input_spec
    assert spec is not None and spec.image_size == 32
    reps = model.representations(x)
    torch.testing.assert_close(
        torch.softmax(path.classify(reps["liveness"]), 1)[:, 1], model.live_score(x)
    )
    path(x)[:, 1].sum().backward()
    first = next(p for n, p in model.named_parameters() if "stem" in n)
    assert first.grad is not None and first.grad.abs().sum() > 0


@pytest.mark.parametrize("index", [0, 1])
def test_gradcam_explains_the_path(index: int) -> None:
    pytest.importorskip("pytorch_grad_cam")
    model = _model(index).eval()
    expected = model.assembly.conv_final if index == 0 else model.encoder.layer4[-1]  # type: ignore[union-attr,index]
    assert resolve_target_layer(model.liveness_path().encoder) is expected
    x = torch.rand(2, 3, 32, 32)
    res = liveness_gradcam(model, x, target="live")
    assert res.maps.shape == (2, 32, 32)
    torch.testing.assert_close(res.scores, model.live_score(x).detach(), atol=1e-5, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize(("index", "name"), [(0, "ssan-r"), (1, "sa-fas")])
def test_explain_command_on_a_checkpoint(index: int, name: str, tmp_path: Path) -> None:
    ck = save_model(_model(index), tmp_path / "m.safetensors", info={"sources": ["O", "C", "I"]})
    out = tmp_path / "out"
    argv = ["--checkpoint", str(ck), "--out", str(out), "--num-samples", "2"]
    argv += ["--probe-samples", "6", "--projection", "none"]
    assert explain_main(argv) == 0
    report = (out / "report.md").read_text()
    assert f"`{name}`, ResNet-10 trunk" in report and "| f_L |" in report
