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
