from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from _method_fixtures import tiny_paper_model
from disentangle_fas.checkpoint import save_model
from disentangle_fas.cli import main as cli_main
from disentangle_fas.errors import UsageError
from disentangle_fas.explain.cli import check_prefix, main
from disentangle_fas.explain.cli_parts import classifier_scores, pick_cam_samples
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
    argv += ["--probe-samples", "8", "--cam-layer", "layer4", "layer3", "--probe-seeds", "2"]
    assert cli_main(argv) == 0  # through the package's dispatcher
    report = (out / "report.md").read_text()
    for name in ("gradcam.png", "projection_pca.png"):
        _png_ok(out / name)
        assert f"]({name})" in report
    assert "held-out target domain M" in report
    assert "1x1" in report  # layer4 of a 32 px input cannot localise: the report says so
    assert "0.400 (test)" in report
    assert "| all | 32 |" in report  # the classifier table over the 4 x 8 Grad-CAM samples
    # The probes: fitted on the sources' train images, scored on their dev images only.
    assert "source domains O, C, I: 24 synthetic `train` images to fit, 24 held-out" in report
    assert "## Measured disentanglement, against references" in report
    for rep in ("f_L", "f_C", "f_D"):
        for probe in ("linear", "mlp"):
            assert f"| domain | {rep} | {probe} |" in report
    probes = json.loads((out / "probes.json").read_text())
    assert probes["domains"] == ["O", "C", "I"] and (probes["fit"], probes["score"]) == (
        "train",
        "dev",
    )
    assert probes["n_train"] == 24 and probes["n_val"] == 24 and probes["seeds"] == [0, 1]
    rows = probes["rows"]
    assert {r["target"] for r in rows} == {"liveness", "domain", "attack"}
    # Every figure beside the untrained architecture and the pixels, with a verdict.
    for r in rows:
        assert r["untrained"] is not None and r["pixels"] is not None
        assert len(r["trained"]["values"]) == 2 and r["verdict"] in ("below untrained", "not below")
        low = -math.inf if r["metric"] == "information" else 0.0  # can lose to a constant
        assert low <= r["trained"]["mean"] <= 1.0
    assert {r["metric"] for r in rows} == {"balanced_accuracy", "auc", "information"}
    domain = [r for r in rows if r["target"] == "domain" and r["metric"] == "balanced_accuracy"]
    assert all(r["chance"] == pytest.approx(1 / 3) for r in domain)
    names = [d["name"] for d in probes["dependence"]]
    assert names == [
        "f_L ~ domain",
        "f_C ~ domain",
        "f_D ~ domain",
        "f_L ~ f_C",
        "f_L ~ f_D",
        "f_C ~ f_D",
    ]


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
    argv += ["--compare", str(other), "--probe-kinds", "linear", "--probe-seeds", "1"]
    assert main(argv) == 0
    _png_ok(out / "x_gradcam.png")
    assert not list(out.glob("*projection*"))
    report = (out / "x_report.md").read_text()
    assert "| f_L | linear |" in report and "| f_C |" not in report and "| f_D |" not in report
    assert "| mlp |" not in report
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
    argv += ["--probe-samples", "6", "--projection", "none", "--probe-seeds", "1"]
    argv += ["--no-references", "--probe-kinds", "linear"]
    assert main(argv) == 0
    report = (out / "report.md").read_text()
    assert "`ssdg-r`, ResNet-10 trunk" in report
    assert "| domain | f_L | linear |" in report and "| f_C |" not in report
    assert "source domains O, C: 12 synthetic `train` images" in report  # 2 sources x 6


def test_explain_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--checkpoint", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path)]) == 2
    )
    assert "checkpoint not found" in capsys.readouterr().err
    ck = _checkpoint(tmp_path / "ck.safetensors", "baseline", {})
    assert main(["--checkpoint", str(ck), "--data", "/no/such/store"]) == 2
    assert "synthetic" in capsys.readouterr().err
    assert main(["--checkpoint", str(ck), "--num-samples", "0"]) == 2
    assert main(["--checkpoint", str(ck), "--probe-seeds", "0"]) == 2
    with pytest.raises(SystemExit):
        main([])  # --checkpoint is required


@pytest.mark.parametrize(
    "prefix", ["../../x", "../x_", "sub/x_", "/tmp/abs_", "a\\b", "..", "C:x", "x\0"]
)
def test_a_prefix_that_leaves_out_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    out = tmp_path / "deep" / "out"
    argv = ["--checkpoint", str(tmp_path / "never-read.safetensors"), "--out", str(out)]
    assert main([*argv, "--prefix", prefix]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would write outside --out" in err[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing made, nothing read
    with pytest.raises(UsageError):
        check_prefix(prefix)


def test_plain_prefixes_are_accepted() -> None:
    for prefix in ("", "full_", "x.y-", "run..1_"):
        check_prefix(prefix)


def test_help_and_option_errors_import_no_torch() -> None:
    code = (
        "import sys\nfrom disentangle_fas.cli import main\n"
        "codes = []\n"
        "for argv in (['explain', '--help'], ['explain', '--checkpoint', 'c', '--prefix', '../x']):\n"
        "    try:\n        codes.append(main(argv))\n"
        "    except SystemExit as exc:\n        codes.append(exc.code)\n"
        "print('EXIT', codes, 'TORCH', 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    assert "EXIT [0, 2] TORCH False" in res.stdout, res.stderr
    assert "--probe-kinds" in res.stdout and "outside --out" in res.stderr


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
