"""Commands and the protocol runner, on tiny data."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from _fake_task import fake_task
from disentangle_fas.training import TrainConfig, run_protocol
from disentangle_fas.training.cli import evaluate_main, main, protocol_main
from disentangle_fas.training.protocol import combined_markdown
from disentangle_fas.training.tasks import build_synthetic_task

pytestmark = pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")

TINY = [
    "--steps", "2", "--eval-every", "2", "--batch-size", "6", "--depth", "10",
    "--image-size", "32", "--content-size", "8", "--synthetic-train-per-domain", "8",
    "--synthetic-eval-per-domain", "8", "--no-progress", "--warmup-steps", "1",
]  # fmt: skip


def test_synthetic_task_matches_the_protocol() -> None:
    cfg = TrainConfig(task="ICM->Cb", image_size=32, content_size=8, synthetic_train_per_domain=8,
                      synthetic_eval_per_domain=8)  # fmt: skip
    task = build_synthetic_task(cfg)
    assert task.source_names == ["I", "C", "M"] and task.target_name == "Cb"
    assert sorted(set(task.train_domains.tolist())) == [0, 1, 2]
    assert len(task.train) == 24 and len(task.source_val) == 24
    attacks = {int(task.target_test[i].attack) for i in range(len(task.target_test))}
    assert attacks <= {0, 3} and 3 in attacks  # live and the unseen mask only
    sample = task.train[5]
    assert sample.index == 5 and sample.image.shape == (3, 32, 32)
    assert task.content is not None
    import torch

    target = task.content(sample.image[None], torch.tensor([5]))
    assert target.shape == (1, 1, 8, 8) and float(target.max()) > 0


def test_train_command_on_synthetic_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*TINY, "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "OCI->M" in out and "source_val_eer" in out
    ck = tmp_path / "r" / "best_source_val.safetensors"
    assert ck.is_file()
    data = ["--synthetic-train-per-domain", "8", "--synthetic-eval-per-domain", "8"]
    assert evaluate_main([str(ck), *data]) == 0
    report = capsys.readouterr().out
    assert "HTER (%)" in report and "source_val_eer" in report
    assert "Checkpoint policy: best_source_val" in report  # named after the file


def test_protocol_runner_writes_one_table(tmp_path: Path) -> None:
    cfg = TrainConfig(out=str(tmp_path), steps=2, eval_every=2, batch_size=6, depth=10, image_size=32,
                      warmup_steps=1, progress=False)  # fmt: skip
    lines: list[str] = []
    res = run_protocol(cfg, tasks=["T1", "T2"], variants=["full", "baseline", "ssdg-r"],
                       task_builder=lambda c: fake_task(), echo=lines.append)  # fmt: skip
    md = res.to_markdown()
    # Two aggregate tables (bootstrap intervals for one seed) and two single-run tables.
    assert md.count("| full |") == 4 and md.count("| baseline |") == 4
    assert "source_val_eer" in md and "oracle_target_eer" in md
    assert (tmp_path / "results.md").read_text() == md
    assert lines[0].startswith("protocol: 2 tasks x 3 variants x 1 seed = 6 runs")
    assert len(lines) == 1 + 6 and md.count("| ssdg-r |") == 4
    with pytest.raises(ValueError, match="no reports"):
        combined_markdown([])


def test_protocol_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        protocol_main(["--help"])
    assert exc.value.code == 0
    assert "--variants" in capsys.readouterr().out


def test_train_example_is_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[1]
    monkeypatch.setattr(sys, "argv", ["train.py", "--help"])
    with pytest.raises(SystemExit):
        runpy.run_path(str(root / "examples" / "train.py"), run_name="__main__")
    assert "--variant" in capsys.readouterr().out


def test_store_task_reports_missing_store(tmp_path: Path) -> None:
    from disentangle_fas.training.tasks import build_store_task

    with pytest.raises(FileNotFoundError, match="not a training store"):
        build_store_task(TrainConfig(data=str(tmp_path)))
