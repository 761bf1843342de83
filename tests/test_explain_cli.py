from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from _method_fixtures import tiny_paper_model
from disentangle_fas.checkpoint import save_model
from disentangle_fas.cli import main as cli_main
from disentangle_fas.explain.cli import classifier_scores, main, pick_cam_samples
from disentangle_fas.ssdg import SSDGR, SSDGConfig


def _checkpoint(path: Path, variant: str, info: dict[str, object]) -> Path:
    model = tiny_paper_model(variant)
    return save_model(model, path, threshold=0.4, threshold_strategy="test", info=info)


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
    assert "| all | 32 |" in report  # the classifier table over the 4 x 8 probe samples
    probes = json.loads((out / "probes.json").read_text())
    assert probes["domains"] == ["O", "C", "I", "M"]
    assert len(probes["rows"]) == 6
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in probes["rows"])
    # Every probe beside the untrained architecture and the pixels.
    assert "## Probes against references" in report and "| domain | f_L |" in report
    assert len(probes["references"]["untrained"]) == 6 and len(probes["references"]["pixels"]) == 2
    assert set(probes["hsic_domain"]) >= {"model f_L", "untrained f_L", "pixels"}


@pytest.mark.slow
def test_explain_baseline_reports_only_liveness(tmp_path: Path) -> None:
    ck = _checkpoint(tmp_path / "b.safetensors", "baseline", {})
    torch.manual_seed(1)
    ssdg = SSDGR.from_config(
        SSDGConfig(num_domains=3, depth=10, embed_dim=32, image_size=32), warn_random=False
    )
    other = save_model(ssdg, tmp_path / "ssdg" / "best.safetensors")
    out = tmp_path / "b"
    argv = ["--checkpoint", str(ck), "--out", str(out), "--num-samples", "3", "--prefix", "x_"]
    argv += ["--probe-samples", "6", "--domains", "O", "C", "--projection", "none"]
    argv += ["--compare", str(other)]
    assert main(argv) == 0
    _png_ok(out / "x_gradcam.png")
    assert not list(out.glob("*projection*"))
    report = (out / "x_report.md").read_text()
    assert "| f_L |" in report and "| f_C |" not in report and "| f_D |" not in report
    assert "no f_C / f_D" in report
    assert "domains given with --domains" in report
    assert "P(live), ssdg/best |" in report  # the compared model's scores
    rows = [line for line in report.splitlines() if line.startswith("| 0 |")]
    assert len(rows) == 1 and rows[0].count("|") == 8


@pytest.mark.slow
def test_explain_ssdg_r_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(2)
    ssdg = SSDGR.from_config(
        SSDGConfig(num_domains=3, depth=10, embed_dim=32, image_size=32), warn_random=False
    )
    ck = save_model(ssdg, tmp_path / "s.safetensors", info={"sources": ["O", "C"], "target": "I"})
    out = tmp_path / "s"
    argv = ["--checkpoint", str(ck), "--out", str(out), "--num-samples", "2"]  # stored 32 px
    argv += ["--probe-samples", "6", "--projection", "none"]
    assert main(argv) == 0
    report = (out / "report.md").read_text()
    assert "`ssdg-r`, ResNet-10 trunk" in report
    assert "| f_L |" in report and "| f_C |" not in report
    assert "domain (3 classes)" in report


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


def test_classifier_scores_per_domain() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(40, generator=g)
    labels = torch.randint(0, 2, (40,), generator=g)
    domains = torch.arange(40) % 2
    labels[domains == 1] = 1  # domain B holds live faces only: no AUC
    rows = classifier_scores(scores, labels, domains, ["A", "B"], 0.5)
    assert [r.domain for r in rows] == ["A", "B", "all"]
    sel = domains == 0
    assert rows[0].auc == pytest.approx(roc_auc_score(labels[sel].numpy(), scores[sel].numpy()))
    assert rows[1].auc is None and rows[1].n == 20
    assert rows[2].auc == pytest.approx(roc_auc_score(labels.numpy(), scores.numpy()))
    expected = ((scores >= 0.5).long() == labels).double().mean().item()
    assert rows[2].accuracy == pytest.approx(expected)


@pytest.mark.slow
def test_example_script_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy
    import sys

    script = Path(__file__).resolve().parents[1] / "examples" / "explain_synthetic.py"
    argv = [str(script), "--steps", "2", "--batch-size", "4", "--per-domain", "4"]
    argv += ["--probe-samples", "6", "--image-size", "32", "--workers", "0"]
    argv += ["--out", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "ck.safetensors")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    report = (tmp_path / "out" / "explain_report.md").read_text()
    assert "synthetic OCI->M, 2 steps" in report and "held-out target domain M" in report
    for name in ("gradcam", "projection_pca", "projection_tsne"):
        _png_ok(tmp_path / "out" / f"explain_{name}.png")


def test_checkpoint_names_tell_alike_paths_apart() -> None:
    from disentangle_fas.explain.cli import checkpoint_names

    runs = ["r/full/OCI_M/seed0/best_source_val.safetensors",
            "r/baseline/OCI_M/seed0/best_source_val.safetensors"]  # fmt: skip
    assert checkpoint_names(runs) == ["full/OCI_M/seed0/best_source_val",
                                      "baseline/OCI_M/seed0/best_source_val"]  # fmt: skip
    assert checkpoint_names(["a/b.st", "a/b.st"]) == ["a/b", "a/b (2)"]
    assert checkpoint_names(["ssdg/best.st", "full/best.st"]) == ["ssdg/best", "full/best"]
    assert checkpoint_names(["m.st"]) == ["m"]
