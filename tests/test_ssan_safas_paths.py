"""The inference paths of SSAN-R and SA-FAS share the model's weights and explain it."""

from __future__ import annotations

import pytest
import torch

from disentangle_fas._inference_path import GlobalAvgPool, InferencePath
from disentangle_fas.safas import SAFAS, SAFASConfig
from disentangle_fas.ssan import SSANR, SSANConfig


def _models() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [
        SSANR.from_config(
            SSANConfig(num_domains=2, depth=10, assembly_stride=1), warn_random=False
        ),
        SAFAS.from_config(SAFASConfig(num_domains=2, depth=10), warn_random=False),
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_path_gradients_reach_the_model(index: int) -> None:
    model = _models()[index].eval()
    path = model.liveness_path()  # type: ignore[operator]
    x = torch.rand(2, 3, 32, 32)
    path(x)[:, 1].sum().backward()
    first = next(p for n, p in model.named_parameters() if "stem" in n)
    assert first.grad is not None and first.grad.abs().sum() > 0
    assert {id(p) for p in path.parameters()} <= {id(p) for p in model.parameters()}


@pytest.mark.parametrize("index", [0, 1])
def test_gradcam_on_a_layer_of_the_path(index: int) -> None:
    pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model = _models()[index].eval()
    path = model.liveness_path()  # type: ignore[operator]
    layer = model.assembly.conv_final if index == 0 else model.encoder.layer3  # type: ignore[union-attr]
    x = torch.rand(2, 3, 32, 32)
    with GradCAM(model=path, target_layers=[layer]) as cam:
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(1)] * 2)
    assert maps.shape == (2, 32, 32)


def test_inference_path_checks_its_head() -> None:
    with pytest.raises(TypeError, match="logits"):
        InferencePath(torch.nn.Identity(), torch.nn.Identity())
    torch.testing.assert_close(GlobalAvgPool()(torch.ones(2, 3, 2, 2)), torch.ones(2, 3))
