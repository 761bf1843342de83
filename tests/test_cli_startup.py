"""The commands check before they work: help and option errors without torch, lazy
package exports, flags that say what applies."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from disentangle_fas.encoders import ENCODER_DEPTHS, TORCHVISION_BACKBONES
from disentangle_fas.encoders.names import BACKBONE_NAMES, check_backbone_name
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.config_io import _field_types
from disentangle_fas.training.flags import FLAG_HELP
from disentangle_fas.training.options import check_options
from disentangle_fas.training.presets import PAPER_PRESET

SRC = Path(__file__).resolve().parents[1] / "src" / "disentangle_fas"
LAZY_PACKAGES = ["training", "methods", "methods.common", "encoders", "data"]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def _command(argv: list[str]) -> str:
    return (
        "import sys\nfrom disentangle_fas.cli import main\n"
        f"try:\n    code = main({argv!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('EXIT', code, 'TORCH', 'torch' in sys.modules)\n"
    )


@pytest.mark.parametrize("command", ["train", "protocol", "evaluate"])
def test_help_imports_no_torch(command: str) -> None:
    res = _run(_command([command, "--help"]))
    assert "EXIT 0 TORCH False" in res.stdout, res.stderr
    assert "--device" in res.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--backbone", "nope"], "unknown backbone 'nope'"),
        (["train", "--batch-size", "7"], "batch_size 7 does not fit"),
        (["protocol", "--batch-size", "8"], "batch_size 8 does not fit for task"),
        (["train", "--backbone", "timm:hf-hub:someone/model"], "hub and path forms are refused"),
    ],
)
def test_bad_options_fail_at_once_without_torch(argv: list[str], message: str) -> None:
    res = _run(_command([*argv, "--out", "/nonexistent/never-written"]))
    assert "EXIT 2 TORCH False" in res.stdout, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr


def test_protocol_help_shows_the_main_commands_defaults() -> None:
    res = _run(_command(["protocol", "--help"]))
    text = " ".join(res.stdout.split())
    assert "optimizer steps (default: 400; 4000 with --data STORE)" in text
    assert "(default: 32; 256 with --data STORE)" in text  # image size
    assert "(default: 'runs/protocol')" in text  # on real data too


def test_train_help_shows_the_train_defaults_and_evaluate_only_its_flags() -> None:
    train = " ".join(_run(_command(["train", "--help"])).stdout.split())
    assert "optimizer steps (default: 300; 4000 with --data STORE)" in train
    evaluate = _run(_command(["evaluate", "--help"])).stdout
    assert "--steps" not in evaluate and "--lr" not in evaluate and "--set" not in evaluate
    assert "--task" in evaluate and "--threshold" in evaluate


def test_every_config_flag_has_one_line_of_help() -> None:
    assert set(FLAG_HELP) == set(_field_types())
    assert all(text and "\n" not in text for text in FLAG_HELP.values())


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_packages_export_what_they_declare(package: str) -> None:
    module = importlib.import_module(f"disentangle_fas.{package}")
    exports = module._EXPORTS
    assert sorted(exports) == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is getattr(importlib.import_module(exports[name]), name)
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        module.nope  # noqa: B018
    # The type checkers' imports and the lazy table agree.
    init = SRC.joinpath(*package.split("."), "__init__.py")
    declared: dict[str, str] = {}
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module != "typing" and node.module:
            if node.module == "disentangle_fas._lazy":
                continue
            declared.update({a.asname or a.name: node.module for a in node.names})
    assert declared == exports


def test_backbone_names_are_the_builders_names() -> None:
    built = {f"resnet{d}" for d in ENCODER_DEPTHS} | set(TORCHVISION_BACKBONES)
    assert set(BACKBONE_NAMES) == built
    for name in BACKBONE_NAMES:
        check_backbone_name(name)
    for bad in ("timm:", "timm:hf_hub:x/y", "timm:local-dir:/tmp/m", "resnet19", ""):
        with pytest.raises(ValueError):
            check_backbone_name(bad)


def test_check_options_uses_every_task_and_the_depth() -> None:
    check_options(TrainConfig(batch_size=6))
    with pytest.raises(ValueError, match="for task OC->I"):
        check_options(TrainConfig(batch_size=6), ["OCI->M", "OC->I"])  # 2 sources: 4
    with pytest.raises(ValueError, match="unknown backbone 'resnet11'"):
        check_options(TrainConfig(depth=11))
    check_options(TrainConfig(batch_size=6), ["my-own-task"])  # left to its sampler


@pytest.mark.parametrize(("cores", "workers"), [(1, 0), (2, 1), (3, 2), (5, 4), (64, 4)])
def test_real_data_loader_workers_leave_a_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int
) -> None:
    from disentangle_fas.training import presets

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert presets._loader_workers() == workers
    assert PAPER_PRESET.num_workers <= 4
