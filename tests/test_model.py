from __future__ import annotations

import doctest
import importlib
import runpy
import sys
from pathlib import Path

import pytest
import torch

from _method_fixtures import tiny_paper_model
from disentangle_fas.model import DisentangledFAS, normalize_layer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("variant", ["baseline", "content", "domain", "full"])
def test_build_variants(variant: str) -> None:
    m = tiny_paper_model(variant, content_shape=(3, 16, 16))
    feats = m(torch.rand(2, 3, 32, 32))
    assert feats.liveness.shape == (2, 512, 1, 1)
    has_content = variant in ("content", "full")
    has_domain = variant in ("domain", "full")
    assert (feats.content is not None) == has_content
    assert (feats.content_pred is not None) == has_content
    assert (feats.domain is not None) == has_domain
    if feats.content_pred is not None:
        assert feats.content_pred.shape == (2, 3, 16, 16)
    m.eval()
    s = m.live_score(torch.rand(4, 3, 32, 32))
    assert s.shape == (4,) and bool(((s >= 0) & (s <= 1)).all())


def test_live_score_uses_only_liveness_path() -> None:
    m = DisentangledFAS.build(num_domains=2, depth=10, image_size=32, warn_random=False).eval()
    x = torch.rand(2, 3, 32, 32)
    before = m.live_score(x)
    assert m.encoders.domain is not None and m.encoders.content is not None
    with torch.no_grad():  # perturbing the other branches must not change the score
        for p in [*m.encoders.domain.layer4.parameters(), *m.encoders.content.layer4.parameters()]:
            p.add_(1.0)
    torch.testing.assert_close(m.live_score(x), before)


def test_model_checks_parts() -> None:
    m = DisentangledFAS.build(num_domains=2, depth=10, image_size=32, warn_random=False)
    with pytest.raises(ValueError, match="domain_head"):
        DisentangledFAS(m.encoders, m.liveness_head, None, m.content_decoder)
    with pytest.raises(ValueError, match="content_decoder"):
        DisentangledFAS(m.encoders, m.liveness_head, m.domain_head, None)


def test_normalize() -> None:
    import disentangle_fas.model as model_module

    mean, std = (0.1, 0.5, 0.9), (0.2, 0.5, 2.0)
    n = normalize_layer(mean=mean, std=std)
    x = torch.rand(2, 3, 4, 4)
    ref = torch.stack([(x[:, c] - mean[c]) / std[c] for c in range(3)], dim=1)
    torch.testing.assert_close(n(x), ref)
    assert "mean" not in n.state_dict()
    assert "Normalize" not in model_module.__all__ and not hasattr(model_module, "Normalize")


@pytest.mark.parametrize(
    "module",
    [
        "disentangle_fas.encoders.resnet",
        "disentangle_fas.encoders.backbones",
        "disentangle_fas.encoders.factory",
        "disentangle_fas.methods.disentangle.model",
        "disentangle_fas.methods.common.context",
        "disentangle_fas.methods.registry",
        "disentangle_fas.seeds",
        "disentangle_fas.nn",
        "disentangle_fas.heads",
        "disentangle_fas.losses.lmcl",
        "disentangle_fas.losses.confusion",
        "disentangle_fas.losses.content",
        "disentangle_fas.losses.domain",
        "disentangle_fas.methods.disentangle.objective",
        "disentangle_fas.encoders.names",
        "disentangle_fas._lazy",
        "disentangle_fas.methods.common.views",
        "disentangle_fas.methods.gac_fas.model",
        "disentangle_fas.methods.gac_fas.objective",
        "disentangle_fas.methods.gac_fas.step",
        "disentangle_fas.methods.gac_fas.views",
        "disentangle_fas.training.loop",
        "disentangle_fas.explain.cli",
        "disentangle_fas.explain.heldout",
        "disentangle_fas.explain.measure",
        "disentangle_fas.explain.measure_types",
        "disentangle_fas.explain.measure_markdown",
        "disentangle_fas.explain.dependence",
        "disentangle_fas.explain.measure_runs",
        "disentangle_fas.losses.hsic",
        "disentangle_fas.losses.difference",
        "disentangle_fas.losses.independence",
        "disentangle_fas.losses.adversarial",
        "disentangle_fas.losses.erasure",
        "disentangle_fas.builders",
        "disentangle_fas.inference.temporal",
        "disentangle_fas.inference.calibration",
        "disentangle_fas.training.units",
        "disentangle_fas.training.collect",
        "disentangle_fas.training.run_record",
        "disentangle_fas.training.cluster_cli",
        "disentangle_fas.training.protocol_plan",
        "disentangle_fas.metrics.t_distribution",
        "disentangle_fas.targets.cache_files",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(module)
    extra = {"torch": torch}
    extra.update({k: getattr(mod, k) for k in getattr(mod, "__all__", [])})
    result = doctest.testmod(mod, extraglobs=extra, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_compose_example_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["compose_model.py"])
    runpy.run_path(str(ROOT / "examples" / "compose_model.py"), run_name="__main__")
    out = capsys.readouterr().out
    for term in ("live", "dom", "cont", "cont_cnf", "dom_cnf", "live_cnf", "total"):
        assert term in out


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    from disentangle_fas.cli import main

    assert main([]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["nope"]) == 2
    assert main(["--version"]) == 0


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "disentangle_fas", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    from disentangle_fas import __version__

    assert proc.returncode == 0 and proc.stdout.strip() == __version__


def test_build_refuses_a_module_backbone_instead_of_sharing_it() -> None:
    from disentangle_fas.encoders import create_encoder

    encoder = create_encoder("resnet10", warn_random=False)
    with pytest.raises(TypeError, match=r"backbone must be a backbone name.*DisentangledEncoders"):
        DisentangledFAS.build(num_domains=3, backbone=encoder, warn_random=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="domain_backbone must be"):
        DisentangledFAS.build(num_domains=3, domain_backbone=encoder, warn_random=False)  # type: ignore[arg-type]
