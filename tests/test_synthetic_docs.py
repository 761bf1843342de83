"""The Python examples of docs/synthetic.md run as written (with in-process loading)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "synthetic.md"


@pytest.mark.slow
def test_docs_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for code in blocks[:2]:  # quick start and content target (the third is a timing)
        exec(code.replace("num_workers=2", "num_workers=0"), namespace)
    batch = namespace["batch"]
    targets = namespace["targets"]
    assert isinstance(targets, torch.Tensor) and targets.shape == (8, 1, 64, 64)
    assert torch.equal(targets[0], namespace["ds"].depth(int(batch.index[0])))  # type: ignore[attr-defined]
