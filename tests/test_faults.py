"""Fault injection: kills at several points, concurrent runs, read-only folders, full disks,
and bad input to every command (exit code, one line, no traceback)."""

from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from disentangle_fas.cli import main as cli_main
from disentangle_fas.errors import (
    EXIT_INTERRUPTED,
    NonFiniteLossError,
    RunInterrupted,
    RunLockedError,
    UsageError,
    classify,
)
from disentangle_fas.training import rundir

pytestmark = [
    pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights"),
    pytest.mark.filterwarnings("ignore:resnet10. no ImageNet weights"),
    pytest.mark.filterwarnings("ignore:DisentangledFAS. no ImageNet weights"),
]

SRC = Path(__file__).resolve().parents[1] / "src"

TINY = [
    "--batch-size", "6", "--depth", "10", "--image-size", "32", "--content-size", "8",
    "--synthetic-train-per-domain", "8", "--synthetic-eval-per-domain", "8",
    "--no-progress", "--warmup-steps", "1", "--log-every", "1",
]  # fmt: skip
TESTS = Path(__file__).resolve().parent

#: Trains the tiny in-memory task (4 steps, evaluated and saved at 2 and 4) into argv[3]
#: with one fault armed, chosen by argv[1:3]; argv[4] is the seed.
DRIVER = r"""
import json, os, signal, sys, time
from pathlib import Path
import torch
torch.set_num_threads(int(os.environ["FAULT_THREADS"]))
mode, at = sys.argv[1], int(sys.argv[2])
import disentangle_fas.checkpoint as checkpoint
import disentangle_fas.training.loop as loop
import disentangle_fas.training.state as state

def die_inside(module):
    real, calls = module.save_file, [0]
    def save(tensors, filename, metadata=None):
        calls[0] += 1
        real(tensors, filename, metadata=metadata)
        if calls[0] == at:  # the temporary file is half written when the kill comes
            with open(filename, "r+b") as f:
                f.truncate(os.path.getsize(filename) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
    module.save_file = save

if mode == "state-write":
    die_inside(state)
elif mode == "model-write":
    die_inside(checkpoint)
elif mode in ("after-step", "pause"):
    real_lr = loop.lr_at
    def lr_at(step, cfg):
        if step == at and mode == "after-step":
            os.kill(os.getpid(), signal.SIGKILL)
        if step == at and mode == "pause":
            out = Path(cfg.out)
            (out.parent / "paused").write_text("")
            while not (out.parent / "go").exists():
                time.sleep(0.05)
        return real_lr(step, cfg)
    loop.lr_at = lr_at
from _fake_task import fake_task, tiny_config
loop.train(tiny_config(sys.argv[3], seed=int(sys.argv[4])), fake_task())
"""


def _driver(tmp: Path, mode: str, at: int, out: Path, seed: int = 0) -> subprocess.Popen[str]:
    script = tmp / "driver.py"
    script.write_text(DRIVER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)]),
        "FAULT_THREADS": str(torch.get_num_threads()),
    }
    return subprocess.Popen(
        [sys.executable, str(script), mode, str(at), str(out), str(seed)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "last.safetensors"))


def _leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.endswith((".tmp", ".link"))]


def _train_steps(out: Path) -> list[int]:
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [r["step"] for r in rows if r["kind"] == "train"]


def _files(out: Path) -> dict[str, bytes]:
    """The run's files and their bytes (the lock file, rewritten by each holder, aside)."""
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli_main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    from _fake_task import fake_task, tiny_config
    from disentangle_fas.training import train

    out = tmp_path_factory.mktemp("reference") / "run"
    train(tiny_config(str(out)), fake_task())
    return _weights(out)


@pytest.mark.parametrize(
    ("mode", "at"),
    [
        ("after-step", 3),  # between checkpoints: step 3 is redone, its log row cut
        ("state-write", 2),  # inside the state write of step 4 (the last one)
        ("model-write", 1),  # inside the model checkpoint write of step 2 (the first one)
    ],
)
def test_killed_run_resumes_to_the_same_weights(
    tmp_path: Path,
    mode: str,
    at: int,
    reference: dict[str, torch.Tensor],
) -> None:
    from _fake_task import fake_task, tiny_config
    from disentangle_fas.training import train

    out = tmp_path / "run"
    proc = _driver(tmp_path, mode, at, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -9, err  # SIGKILL
    if mode != "after-step":
        assert _leftovers(out), "the kill should leave a temporary file"
    train(tiny_config(str(out), resume=True), fake_task())
    assert _leftovers(out) == []
    assert _train_steps(out) == [1, 2, 3, 4]  # no duplicate rows
    resumed = _weights(out)
    assert resumed.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(value, resumed[key]), key


def test_second_run_on_a_locked_folder_fails_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    first = _driver(tmp_path, "pause", 3, out, seed=1)
    deadline = time.monotonic() + 240
    while not (tmp_path / "paused").exists():
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.1)
    before = _files(out)
    code, err = _run(["train", *TINY, "--out", str(out), "--seed", "2", "--resume"], capsys)
    assert code == 1
    assert f"pid {first.pid}" in err and "in use" in err and len(err.splitlines()) == 1
    assert _files(out) == before
    (tmp_path / "go").write_text("")
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert json.loads((out / "config.json").read_text())["seed"] == 1


def test_lock_in_process_and_release(tmp_path: Path) -> None:
    cfg = {"seed": 0}
    a = rundir.RunDirectory(tmp_path / "r").open(cfg)
    with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
        rundir.RunDirectory(tmp_path / "r").open(cfg)
    a.close()
    assert not (tmp_path / "r").exists()  # created by the run and left empty: removed
    rundir.RunDirectory(tmp_path / "r").open(cfg).close()


def test_finished_run_is_refused_and_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from _fake_task import fake_task, tiny_config
    from disentangle_fas.errors import RunDirectoryError
    from disentangle_fas.training import train

    out, task = tmp_path / "run", fake_task()
    cfg = tiny_config(str(out), steps=2)
    train(cfg, task)
    before = _files(out)
    code, err = _run(["train", *TINY, "--out", str(out), "--lr", "0.5"], capsys)
    assert code == 2 and "already holds a finished run" in err
    assert "--resume" in err and "--overwrite" in err
    with pytest.raises(RunDirectoryError, match=r"lr 0\.001 -> 0\.5"):
        train(cfg.replace(lr=0.5, resume=True), task)
    with pytest.raises(RunDirectoryError, match=r"seed 0 -> 3.*--allow-config-change"):
        train(cfg.replace(seed=3, resume=True), task)
    code, err = _run(["train", *TINY, "--out", str(out), "--resume", "--overwrite"], capsys)
    assert code == 2 and "resume and overwrite" in err
    assert _files(out) == before
    train(cfg.replace(seed=3, overwrite=True), task)
    assert json.loads((out / "config.json").read_text())["seed"] == 3
    assert _train_steps(out) == [1, 2]


def test_resume_with_nothing_to_resume_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from _fake_task import fake_task, tiny_config
    from disentangle_fas.training import train

    res = train(tiny_config(str(tmp_path / "fresh"), steps=1, resume=True), fake_task())
    assert res.steps == 1 and "nothing to resume" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["lock", "state"])
def test_read_only_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    if where == "lock" and os.geteuid() != 0:
        out.chmod(0o555)  # a real read-only folder
    elif where == "lock":  # root ignores permissions: refuse the first write instead

        def refuse(path: object, *args: object, **kwargs: object) -> None:
            raise OSError(errno.EROFS, "Read-only file system", str(path))

        monkeypatch.setattr(rundir, "open", refuse, raising=False)
    else:
        import disentangle_fas.training.state as state

        def refuse_replace(src: object, dst: object) -> None:
            raise OSError(errno.EROFS, "Read-only file system", str(dst))

        monkeypatch.setattr(state.os, "replace", refuse_replace)
    try:
        code, err = _run(["train", *TINY, "--steps", "2", "--out", str(out)], capsys)
    finally:
        out.chmod(0o755)
    assert code == 1
    assert ("Read-only" in err or "Permission denied" in err) and len(err.splitlines()) == 1
    assert _leftovers(out) == []


def test_full_disk_during_a_checkpoint_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.checkpoint as checkpoint

    def full(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"\0" * 64)  # part of the file made it to disk
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(checkpoint, "save_file", full)
    out = tmp_path / "run"
    code, err = _run(["train", *TINY, "--steps", "2", "--out", str(out)], capsys)
    assert code == 1 and "No space left on device" in err and len(err.splitlines()) == 1
    assert _leftovers(out) == [] and not (out / "last.safetensors").exists()


def test_ctrl_c_is_one_line_and_exit_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.training.loop as loop

    real = loop.lr_at

    def interrupt_at_3(step: int, cfg: object) -> float:
        if step == 3:
            raise KeyboardInterrupt
        return real(step, cfg)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "lr_at", interrupt_at_3)
    out = tmp_path / "run"
    code, err = _run(
        ["train", *TINY, "--steps", "6", "--eval-every", "2", "--out", str(out)], capsys
    )
    assert code == EXIT_INTERRUPTED
    assert err.strip() == (
        "disentangle-fas train: interrupted at step 3; `--resume` continues from the "
        "checkpoint of step 2"
    )


def test_nan_weights_with_a_finite_loss_end_as_non_finite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.training.loop as loop
    from _fake_task import fake_task, tiny_config

    real, calls = torch.nn.utils.clip_grad_norm_, [0]

    def poison_the_last_step(params: object, *args: object, **kwargs: object) -> object:
        params = list(params)  # type: ignore[call-overload]
        calls[0] += 1
        if calls[0] == 4:  # the step before the evaluation of step 4: its loss was finite
            with torch.no_grad():
                params[0].fill_(float("nan"))
        return real(params, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop.torch.nn.utils, "clip_grad_norm_", poison_the_last_step)
    cfg = tiny_config(str(tmp_path / "run"), steps=4, eval_every=2, grad_clip=1.0)
    with pytest.raises(NonFiniteLossError, match="non-finite weights at step 4"):
        loop.train(cfg, fake_task())
    last = tmp_path / "run" / "last.safetensors"
    assert all(bool(torch.isfinite(t).all()) for t in load_file(str(last)).values())
    assert _checkpoint_info(last)["step"] == 2  # the step-2 checkpoint is untouched
    state = tmp_path / "run" / "state.safetensors"
    from safetensors import safe_open

    with safe_open(str(state), framework="pt") as f:
        assert json.loads((f.metadata() or {})["state"])["step"] == 2


def _checkpoint_info(path: Path) -> dict[str, object]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        info: dict[str, object] = json.loads((f.metadata() or {})["disentangle_fas"])["info"]
    return info


def test_non_finite_scores_become_non_finite_run() -> None:
    from disentangle_fas.metrics import auc
    from disentangle_fas.training.guards import evaluate_finite

    scores, labels = np.array([0.2, float("nan")]), np.array([0, 1])
    with pytest.raises(NonFiniteLossError, match="non-finite scores at the evaluation"):
        evaluate_finite(lambda: auc(scores, labels), 7)
    with pytest.raises(ValueError, match="labels"):  # other refusals pass through
        evaluate_finite(lambda: auc(np.array([0.2, 0.4]), np.array([0, 2])), 7)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def _bad_files(tmp: Path) -> dict[str, Path]:
    toml_unknown = tmp / "unknown.toml"
    toml_unknown.write_text("lerning_rate = 1\n")
    toml_syntax = tmp / "syntax.toml"
    toml_syntax.write_text("steps = = 3\n")
    random_ck = tmp / "random.safetensors"
    random_ck.write_bytes(os.urandom(256))
    payload = tmp / "payload.pt"
    payload.write_bytes(pickle.dumps({"conv1.weight": _Payload(tmp / "executed")}))
    empty = tmp / "empty"
    empty.mkdir()
    return {
        "unknown": toml_unknown,
        "syntax": toml_syntax,
        "random": random_ck,
        "payload": payload,
        "empty": empty,
    }


BAD_COMMANDS: list[tuple[str, list[str], int, str]] = [
    ("batch 7", ["train", *TINY, "--batch-size", "7"], 2, "batch"),
    ("image size 0", ["train", "--image-size", "0"], 2, "image_size must be positive, got 0"),
    ("steps -1", ["train", "--steps", "-1"], 2, "steps must be positive, got -1"),
    ("unknown key", ["train", "--config", "{unknown}"], 2, "unknown config fields"),
    ("toml syntax", ["train", "--config", "{syntax}"], 2, "not valid TOML"),
    ("no store", ["train", "--data", "{tmp}/no/such/store"], 2, "no/such/store"),
    ("device", ["train", *TINY, "--device", "nodevice"], 2, "not a device"),
    ("pickle", ["train", *TINY, "--imagenet-weights", "{payload}"], 1, "refused"),
    ("prnet", ["train", "--prnet-weights", "{payload}"], 2, "--prnet-weights is used only"),
    ("eval missing", ["evaluate", "{tmp}/missing.safetensors"], 2, "missing.safetensors"),
    ("eval random", ["evaluate", "{random}"], 2, "not a safetensors checkpoint"),
    ("predict threshold", ["predict", "x.png", "--threshold", "5"], 2, "in [0, 1], got '5'"),
    ("predict empty", ["predict", "{empty}"], 2, "holds no image or video file"),
    ("predict no ck", ["predict", "{random}.png"], 2, "no checkpoint: pass --checkpoint"),
    ("predict random ck", ["predict", "x.png", "--checkpoint", "{random}"], 2, "checkpoint"),
    ("export", ["export", "--onnx", "{tmp}/m.onnx", "--checkpoint", "{random}"], 2, "checkpoint"),
    ("explain", ["explain", "--checkpoint", "{tmp}/missing.safetensors"], 2, "missing"),
    ("preprocess", ["preprocess", "--dataset", "list", "--out", "{tmp}/p"], 2, "--list FILE"),
]
if not torch.cuda.is_available():
    BAD_COMMANDS.append(
        ("no cuda", ["train", *TINY, "--device", "cuda"], 2, "CUDA is not available")
    )


@pytest.mark.parametrize(
    ("argv", "code", "needle"), [c[1:] for c in BAD_COMMANDS], ids=[c[0] for c in BAD_COMMANDS]
)
def test_bad_input_is_one_line_without_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    code: int,
    needle: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISENTANGLE_FAS_CHECKPOINT", raising=False)
    files = {k: str(v) for k, v in _bad_files(tmp_path).items()}
    filled = [a.format(tmp=tmp_path, **files) for a in argv]
    got, err = _run(
        [*filled, "--out", str(tmp_path / "out")] if argv[0] == "train" else filled, capsys
    )
    assert got == code, err
    assert needle in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"disentangle-fas {argv[0]}")
    assert not (tmp_path / "executed").exists()  # no pickle payload ran
    assert not (tmp_path / "out").exists()  # nothing was left behind


def test_debug_flag_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli_main(["--debug", "train", "--steps", "-1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("steps must be positive, got -1")
    monkeypatch.setenv("DISENTANGLE_FAS_DEBUG", "1")
    assert cli_main(["train", "--image-size", "0"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_classify_maps_each_kind_to_its_exit_code() -> None:
    assert classify(UsageError("bad"))[0] == 2
    assert classify(ValueError("bad\nmore"))[1] == "bad"
    assert classify(FileNotFoundError(errno.ENOENT, "No such file", "x"))[0] == 2
    full = classify(OSError(errno.ENOSPC, "No space left on device", "/d/f"))
    assert full == (1, "No space left on device: /d/f")
    assert classify(PermissionError(errno.EACCES, "Permission denied", "/d"))[0] == 1
    assert classify(NonFiniteLossError("nan"))[0] == 3
    assert classify(RunInterrupted(5, 4)) == (
        130,
        "interrupted at step 5; `--resume` continues from the checkpoint of step 4",
    )
    assert classify(KeyboardInterrupt()) == (130, "interrupted")
    assert classify(pickle.UnpicklingError("Weights only load failed\nlong text"))[0] == 1
    assert classify(RunLockedError("busy"))[0] == 1
    code, message = classify(ZeroDivisionError("x"))
    assert code == 1 and "ZeroDivisionError" in message and "--debug" in message
