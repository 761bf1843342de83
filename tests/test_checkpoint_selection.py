"""The training loop keeps, for each policy, the checkpoint ``select_checkpoint`` picks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import disentangle_fas.training.loop as loop
import disentangle_fas.training.run_checkpoints as run_checkpoints
from _fake_task import fake_task, tiny_config
from disentangle_fas.checkpoint import read_metadata
from disentangle_fas.metrics import EvaluationResult, evaluate_scores, select_checkpoint
from disentangle_fas.metrics.checkpoints import CheckpointScores, select_index

#: Per evaluation (steps 2, 4, 6, 8): source EER ties at steps 4 and 6, broken by AUC;
#: target oracle HTER ties at steps 4 and 8, broken by target AUC.
SOURCE = [(0.2, 0.80), (0.1, 0.85), (0.1, 0.90), (0.3, 0.95)]
TARGET = [(0.3, 0.50), (0.2, 0.70), (0.25, 0.60), (0.2, 0.80)]


def _crafted(i: int) -> EvaluationResult:
    rng = np.random.default_rng(i)
    labels = np.array([0, 1] * 8)
    base = evaluate_scores(
        rng.random(16), labels, source_scores=rng.random(16), source_labels=labels
    )
    assert base.source_val is not None
    (eer, auc), (hter, tauc) = SOURCE[i], TARGET[i]
    return dataclasses.replace(
        base,
        auc=tauc,
        oracle=dataclasses.replace(base.oracle, hter=hter),
        source_val=dataclasses.replace(base.source_val, eer=eer, auc=auc),
    )


def _results() -> Iterator[EvaluationResult]:
    for i in range(len(SOURCE)):
        yield _crafted(i)
    while True:  # the final evaluation of the chosen checkpoint
        yield _crafted(len(SOURCE) - 1)


def test_loop_and_select_checkpoint_agree_on_ties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = _results()

    def fake_evaluate(*args: Any, **kwargs: Any) -> EvaluationResult:
        return next(stream)

    monkeypatch.setattr(run_checkpoints, "evaluate_model", fake_evaluate)  # each evaluation
    monkeypatch.setattr(loop, "evaluate_model", fake_evaluate)  # the chosen checkpoint's
    out = tmp_path / "run"
    loop.train(tiny_config(str(out), steps=8, eval_every=2), fake_task())
    results = [_crafted(i) for i in range(len(SOURCE))]
    steps = [2, 4, 6, 8]
    for name, policy in [
        ("best_source_val.safetensors", "best_source_val"),
        ("best_oracle.safetensors", "oracle_best_target"),
    ]:
        stored = read_metadata(out / name)["info"]["step"]
        assert stored == steps[select_checkpoint(results, policy)]
    # the tie-breaks were exercised: strict "<" would have kept step 4 for both
    assert read_metadata(out / "best_source_val.safetensors")["info"]["step"] == 6
    assert read_metadata(out / "best_oracle.safetensors")["info"]["step"] == 8


_score = st.floats(0.0, 1.0, allow_nan=False).map(lambda x: round(x, 1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_score, _score, _score, _score), min_size=1, max_size=8))
def test_select_index_matches_a_plain_loop(rows: list[tuple[float, ...]]) -> None:
    scores = [CheckpointScores(h, a, e, sa) for h, a, e, sa in rows]

    def reference(primary: int, auc: int) -> int:
        best = 0
        for i, row in enumerate(rows):
            p, b = row[primary], rows[best][primary]
            if p < b or (p == b and row[auc] > rows[best][auc]):
                best = i
        return best

    assert select_index(scores, "best_source_val") == reference(2, 3)
    assert select_index(scores, "oracle_best_target") == reference(0, 1)
    assert select_index(scores, "last") == len(rows) - 1


def test_select_index_refuses_missing_source_metrics() -> None:
    with pytest.raises(ValueError, match="no source validation"):
        select_index([CheckpointScores(0.1, 0.9)], "best_source_val")
    with pytest.raises(ValueError, match="empty"):
        select_index([], "last")
