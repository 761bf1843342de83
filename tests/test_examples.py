"""The runnable examples run (tiny settings) and print their loss terms."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        (
            "paper_model.py",
            ["--variant", "full", "--image-size", "32"],
            ["live_cnf", "cont_cnf", "total"],
        ),
        ("paper_model.py", ["--variant", "baseline", "--image-size", "32"], ["live", "total"]),
        ("ssdg_model.py", ["--target", "O", "--image-size", "32"], ["cls", "adv", "trip"]),
    ],
)
def test_example_runs(
    script: str, args: list[str], expected: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    for word in expected:
        assert word in out
    values = [
        float(line.split()[-1]) for line in out.splitlines() if line.strip().startswith("total")
    ]
    assert values and all(v == v and v > 0 for v in values)  # finite, positive total loss


def _run(script: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")


@pytest.mark.slow
def test_plain_training_script_writes_a_checkpoint_that_predict_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np
    from PIL import Image

    from disentangle_fas.cli import main as cli

    out = tmp_path / "run"
    args = ["--steps", "4", "--image-size", "32", "--per-domain", "24", "--batch-size", "12"]
    _run("train_paper.py", [*args, "--device", "cpu", "--out", str(out)], monkeypatch)
    printed = capsys.readouterr().out
    assert "step 4/4" in printed and "honest HTER" in printed and "oracle HTER" in printed
    ckpt = out / "model.safetensors"
    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), np.uint8)).save(photo)
    code = cli(
        ["predict", "--checkpoint", str(ckpt), "--face-detector", "none", "--json", str(photo)]
    )
    assert code == 0
    assert '"p_live"' in capsys.readouterr().out


@pytest.mark.slow
def test_custom_model_example_runs_through_the_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--steps", "2", "--image-size", "32", "--per-domain", "24", "--out", str(tmp_path)]
    _run("custom_model.py", args, monkeypatch)
    out = capsys.readouterr().out
    assert "honest HTER" in out and "photo: p_live" in out
    assert "onnx:" in out and "grad-cam: maps (2, 32, 32)" in out
    diff = float(out.split("max |ONNX - PyTorch| = ")[1].split(")")[0])
    assert diff < 1e-4


def test_the_plain_scripts_store_split_is_the_harness_split(tmp_path: Path) -> None:
    import argparse
    import json

    import numpy as np

    from disentangle_fas.data.manifest import ManifestEntry, write_manifest
    from disentangle_fas.training.tasks import store_task

    n, size = 48, 16
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        pixels = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        np.save(tmp_path / f"{split}.npy", pixels)
        entries = [
            ManifestEntry(
                path=f"crops/{split}{i}.png", label=i % 2, attack=1 - i % 2,
                domain="OCIM"[(i // 2) % 4], subject=f"{split}{i}", split=split,
                video_id=f"{split}-v{i}", frame=0,
            )
            for i in range(n)
        ]  # fmt: skip
        write_manifest(tmp_path / f"{split}.jsonl", entries)
    meta = {"format": "disentangle-fas-store", "version": 1, "height": size, "width": size}
    (tmp_path / "store.json").write_text(json.dumps({**meta, "splits": {"train": n, "test": n}}))
    script = runpy.run_path(str(EXAMPLES / "train_paper.py"), run_name="example")
    args = argparse.Namespace(data=str(tmp_path), task="OCI->M", image_size=24)
    train, val, target = script["store_data"](args)
    task = store_task(tmp_path, "OCI->M", image_size=24, content=None)
    assert list(train.indices) == list(task.train.indices)  # type: ignore[attr-defined]
    assert list(val.indices) == list(task.source_val.indices)  # type: ignore[attr-defined]
    assert len(target) == len(task.target_test) > 0
    assert train[0].image.shape == (3, 24, 24) and target[0].image.shape == (3, 24, 24)
    assert 0 < len(val) < len(train)  # some source videos held out, most kept


@pytest.mark.slow
def test_leace_audit_reads_chance_on_the_erasers_own_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("concept_erasure")
    from disentangle_fas.training.cli import main as train_main

    run = tmp_path / "leace"
    sizes = ["--synthetic-train-per-domain", "16", "--synthetic-eval-per-domain", "8"]
    flags = ["--image-size", "32", "--depth", "10", "--steps", "3", "--eval-every", "3"]
    assert (
        train_main([*sizes, *flags, "--set", "erase=leace", "--out", str(run), "--no-progress"])
        == 0
    )
    capsys.readouterr()
    _run("leace_audit.py", [str(run), "--per-domain", "8", "--resamples", "1"], monkeypatch)
    rows = {
        line[:46].strip(): [float(v) for v in line[46:].split()]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  ") and not line.strip().startswith("sample")
    }
    assert len(rows) == 7  # whole (refit, model, float32), one resample, capped, live, spoof
    # accuracy before, erased; usable information before, erased (at most 100, any sign)
    assert all(len(v) == 4 and 0 <= v[0] <= 100 and 0 <= v[1] <= 100 for v in rows.values())
    assert all(v[2] <= 100 and v[3] <= 100 for v in rows.values())
    # LEACE's promise on its own sample: the probe can do no better than a constant.
    for own in ("LEACE refit in float64", "the model's erased f_L"):
        acc, info = rows[f"whole source-train, {own}"][1::2]
        assert acc <= 100 / 3 + 1e-6 and abs(info) < 0.05
    # ... and a probe fitted on a resample predicts the domains no better than their
    # frequencies (in cross-entropy), whatever its accuracy.
    assert rows["bootstrap resample 0"][3] < 1.0


@pytest.mark.slow
def test_study_summary_pools_a_studys_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from _fake_task import fake_task_builder, tiny_config
    from disentangle_fas.study import ProbeRun, run_study

    cfg = tiny_config(str(tmp_path), steps=2, eval_every=1)
    run_study("study-cpu", config=cfg, tasks=["T1"], variants=["baseline", "full"], seeds=2,
              task_builder=fake_task_builder, echo=lambda _: None,
              probes=ProbeRun("cpu", kinds=("linear",), train_per_domain=8))  # fmt: skip
    capsys.readouterr()
    _run("study_summary.py", [str(tmp_path), "--group", "first=fake A&B&C to D"], monkeypatch)
    out = capsys.readouterr().out
    assert "1 tasks, 2 variants, 2 seeds" in out
    assert "over 2 (task, seed) units, Holm over 1 pairs" in out and "over 4 runs" in out
    # The pooled AUC of a variant is the mean of its per-task, per-seed AUCs.
    cells = json.loads((tmp_path / "results.json").read_text())["summary"]["cells"]
    base = [a for c in cells if c["variant"] == "baseline" for a in c["auc_per_seed"]]
    row = next(line for line in out.splitlines() if line.startswith("| baseline |"))
    assert row.split("|")[2].strip().startswith(f"{100 * sum(base) / len(base):.1f}")


def test_study_summary_rank_correlation_equals_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    import numpy as np

    sys.path.insert(0, str(EXAMPLES))
    try:
        from study_summary import spearman
    finally:
        sys.path.remove(str(EXAMPLES))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 40).astype(float).tolist()  # ties
    y = (np.asarray(x) + rng.normal(0, 2, 40)).tolist()
    rho, p = spearman(x, y)
    ref = stats.spearmanr(x, y)
    assert rho == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-6)
