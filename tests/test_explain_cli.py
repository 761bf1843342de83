from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from disentangle_fas.checkpoint import save_model
from disentangle_fas.cli import main as cli_main
from disentangle_fas.explain.cli import main, pick_cam_samples
from disentangle_fas.model import DisentangledFAS


def _checkpoint(path: Path, variant: str, info: dict[str, object]) -> Path:
    torch.manual_seed(0)
    model = DisentangledFAS.build(
        num_domains=3,
        variant=variant,
        depth=10,
        image_size=32,
        content_shape=(1, 8, 8),
        warn_random=False,
    )
    return save_model(path, model, threshold=0.4, threshold_strategy="test", info=info)


def _png_ok(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()


@pytest.mark.slow
def test_explain_end_to_end_full_model(tmp_path: Path) -> None:
    ck = _checkpoint(
        tmp_path / "ck.safetensors", "full", {"sources": ["O", "C", "I"], "target": "M"}
    )
    out = tmp_path / "out"
    argv = ["explain", "--checkpoint", str(ck), "--out", str(out), "--num-samples", "4"]
    argv += ["--probe-samples", "8", "--cam-layer", "layer4", "layer3"]
    assert cli_main(argv) == 0  # through the package's dispatcher
    report = (out / "report.md").read_text()
    for name in ("gradcam.png", "projection_pca.png"):
        _png_ok(out / name)
        assert f"]({name})" in report
    assert "held-out target domain M" in report
    assert "| f_L |" in report and "| f_C |" in report and "| f_D |" in report
    assert "domain (4 classes)" in report  # sources O, C, I plus the target M
    assert "1x1" in report  # layer4 of a 32 px input cannot localise: the report says so
    assert "0.400 (test)" in report
    probes = json.loads((out / "probes.json").read_text())
    assert probes["domains"] == ["O", "C", "I", "M"]
    assert len(probes["rows"]) == 6
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in probes["rows"])


@pytest.mark.slow
def test_explain_baseline_reports_only_liveness(tmp_path: Path) -> None:
    ck = _checkpoint(tmp_path / "b.safetensors", "baseline", {})
    out = tmp_path / "b"
    argv = ["--checkpoint", str(ck), "--out", str(out), "--num-samples", "3"]
    argv += [
        "--probe-samples",
        "6",
        "--domains",
        "O",
        "C",
        "--prefix",
        "x_",
        "--projection",
        "none",
    ]
    assert main(argv) == 0
    _png_ok(out / "x_gradcam.png")
    assert not list(out.glob("*projection*"))
    report = (out / "x_report.md").read_text()
    assert "| f_L |" in report and "| f_C |" not in report and "| f_D |" not in report
    assert "no f_C / f_D" in report
    assert "domains given with --domains" in report


def test_explain_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--checkpoint", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path)]) == 2
    )
    assert "checkpoint not found" in capsys.readouterr().err
    ck = _checkpoint(tmp_path / "ck.safetensors", "baseline", {})
    assert main(["--checkpoint", str(ck), "--data", "/no/such/store"]) == 2
    assert "synthetic" in capsys.readouterr().err
    assert main(["--checkpoint", str(ck), "--num-samples", "0"]) == 2
    with pytest.raises(SystemExit):
        main([])  # --checkpoint is required


def test_pick_cam_samples_alternates_and_spreads() -> None:
    labels = np.array([1, 0] * 10)
    allowed = np.ones(20, dtype=bool)
    picks = pick_cam_samples(labels, allowed, 4)
    assert [int(labels[i]) for i in picks] == [1, 0, 1, 0]
    assert picks[0] == 0 and picks[-2] == 18  # spread over the whole pool
    only_spoof = pick_cam_samples(labels, allowed & (labels == 0), 3)
    assert len(only_spoof) == 3 and all(labels[i] == 0 for i in only_spoof)
    assert pick_cam_samples(labels, np.zeros(20, dtype=bool), 4) == []
    assert len(pick_cam_samples(labels, allowed, 50)) == 20
