"""Every removal mechanism trains a few steps from the command line, and its checkpoint
scores in ``predict``; the mechanisms are ``protocol --variants`` names too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disentangle_fas.checkpoint import load_model
from disentangle_fas.inference.cli import predict_main
from disentangle_fas.methods import resolve_variant
from disentangle_fas.training.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:DisentangledFAS. no ImageNet weights")

TINY = [
    "--steps", "2", "--eval-every", "2", "--batch-size", "6", "--depth", "10",
    "--image-size", "32", "--content-size", "8", "--synthetic-train-per-domain", "8",
    "--synthetic-eval-per-domain", "4", "--no-progress", "--warmup-steps", "1",
    "--averaging", "none",
]  # fmt: skip


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(4):
        pixels = (rng.random((32, 32, 3)) * (60 + 60 * i)).astype(np.uint8)
        paths.append(root / f"face{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def _scores(ck: Path, images: list[Path], capsys: pytest.CaptureFixture[str]) -> list[float]:
    capsys.readouterr()
    code = predict_main([*map(str, images), "--checkpoint", str(ck), "--face-detector", "none",
                         "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    return [json.loads(line)["p_live"] for line in out.strip().splitlines()]


@pytest.mark.parametrize(
    "settings",
    [
        ["domain_removal=adversarial"],
        ["domain_removal=hsic"],
        ["domain_removal=orthogonal"],
        ["erase=leace", "erase_refit_steps=20"],
    ],
)
def test_a_mechanism_trains_from_the_command_line_and_scores_in_predict(
    settings: list[str], tmp_path: Path, images: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    if any(s.startswith("erase=") for s in settings):
        pytest.importorskip("concept_erasure")
    sets = [arg for s in settings for arg in ("--set", s)]
    assert main([*TINY, *sets, "--out", str(tmp_path / "r")]) == 0
    ck = tmp_path / "r" / "best_source_val.safetensors"
    config = load_model(ck).model.config
    assert config is not None
    for s in settings:
        key, value = s.split("=")
        assert str(getattr(config, key)) == value
    loaded = load_model(ck).model
    if config.erase == "leace":
        assert loaded.eraser is not None and float(loaded.eraser.bias.abs().sum()) > 0
    if config.domain_removal == "adversarial":
        assert loaded.adversaries is not None and len(loaded.adversaries) == 4
    scores = _scores(ck, images, capsys)
    assert len(scores) == 4 and all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores) - min(scores) > 1e-4  # scores depend on the input


def test_a_bad_mechanism_is_one_line_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TINY, "--set", "domain_removal=inlp", "--out", "/nonexistent/x"]) == 2
    err = capsys.readouterr().err
    assert "domain_removal must be one of frozen, adversarial, hsic, orthogonal" in err
    assert len(err.strip().splitlines()) == 1


def test_the_mechanisms_are_protocol_variants() -> None:
    assert resolve_variant("full-hsic") == (
        "disentangle",
        {"variant": "full", "domain_removal": "hsic"},
    )
    assert resolve_variant("full-adversarial")[1]["domain_removal"] == "adversarial"
    assert resolve_variant("full-orthogonal")[1]["domain_removal"] == "orthogonal"
    assert resolve_variant("full-leace")[1] == {"variant": "full", "erase": "leace"}
    assert resolve_variant("baseline-leace")[1] == {"variant": "baseline", "erase": "leace"}
