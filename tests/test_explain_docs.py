from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from disentangle_fas.explain import DisentanglementMeasure, DisentanglementProbes

DOC = Path(__file__).resolve().parents[1] / "docs" / "explainability.md"


def _python_blocks(text: str) -> list[str]:
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, flags=re.S | re.M)
    return [re.sub(rf"^{indent}", "", code, flags=re.M) for indent, code in blocks]


@pytest.mark.slow
def test_python_examples_of_the_doc_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _python_blocks(DOC.read_text())
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)
    measure = namespace["measure"]
    assert isinstance(measure, DisentanglementMeasure) and measure.seeds == (0, 1)
    assert all(r.untrained is not None and r.pixels is not None for r in measure.rows)
    assert isinstance(namespace["probes"], DisentanglementProbes)
    assert "untrained" in namespace["reference_table"](namespace["refs"])  # type: ignore[operator]
    for name in ("gradcam.png", "projection.png"):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG"
    assert namespace["maps"].shape == (4, 64, 64)  # type: ignore[attr-defined]


def test_doc_lists_every_command_option() -> None:
    from disentangle_fas.explain.cli import build_parser

    text = DOC.read_text()
    for action in build_parser()._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}`" in text, flag
