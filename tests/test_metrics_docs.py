"""The Python examples of docs/evaluation.md run and print what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"


def test_evaluation_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert (tmp_path / "out" / "report.md").read_text().startswith("| Method |")
    assert (tmp_path / "out" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    report = namespace["report"]
    markdown = report.to_markdown()  # type: ignore[attr-defined]
    shown = re.search(r"```text\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert shown is not None
    assert markdown.strip() == shown.group(1).strip()
