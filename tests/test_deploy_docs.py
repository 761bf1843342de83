"""docs/deploy.md names only options that exist: the stream synopsis against
``predict --help``, the benchmark command against ``bench_deploy.py --help``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from disentangle_fas.inference.cli import predict_main

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "deploy.md").read_text()
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def _block_after(marker: str) -> str:
    start = DOC.index(marker)
    return DOC[start : DOC.index("```", start)]


def test_stream_synopsis_flags_exist(capsys):
    synopsis = _block_after("disentangle-fas predict --stream SOURCE [")
    flags = set(FLAG.findall(synopsis))
    assert {"--stream", "--hold", "--hysteresis", "--detect-every", "--onnx"} <= flags
    assert predict_main(["--help"]) == 0
    help_text = capsys.readouterr().out
    assert sorted(f for f in flags if f not in help_text) == []


def test_benchmark_command_flags_exist():
    command = _block_after("python benchmarks/bench_deploy.py --checkpoint")
    flags = set(FLAG.findall(command))
    assert len(flags) >= 4
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_deploy.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "benchmarks",
    )
    assert res.returncode == 0, res.stderr
    assert sorted(f for f in flags if f not in res.stdout) == []


def test_deploy_example_scores_a_synthetic_stream(monkeypatch, capsys):
    import runpy

    script = ROOT / "examples" / "deploy_stream.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--seconds", "1", "--every", "3"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("frames 30,")
    changes = out[:-1]
    assert changes and all(line.split()[-1] in ("live", "spoof", "no_face") for line in changes)
    assert float(changes[0].split()[0]) == 0.0  # the first frame opens the first verdict
