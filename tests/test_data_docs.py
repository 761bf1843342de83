"""docs/datasets.md stays accurate to the command line and the protocol names."""

from __future__ import annotations

import re
from pathlib import Path

from disentangle_fas.data import TABLE1_TASKS, TABLE2_TASKS, leave_one_out
from disentangle_fas.data.preprocess_cli import _parser

DOC = (Path(__file__).parents[1] / "docs" / "datasets.md").read_text()


def test_every_preprocess_option_is_documented_and_exists() -> None:
    actual = {s for a in _parser()._actions for s in a.option_strings if s.startswith("--")}
    actual -= {"--help"}
    documented = set(re.findall(r"`(--[a-z-]+)`", DOC))
    required = {"--dataset", "--root", "--list", "--out"}  # shown in the commands
    assert actual - required <= documented
    assert documented <= actual | {"--manifest", "--size", "--split", "--workers"}


def test_documented_task_names_parse() -> None:
    for task in (*TABLE1_TASKS, *TABLE2_TASKS):
        assert f"`{task}`" in DOC
    aliases = re.findall(r'"([A-Za-z&, ]{1,20}(?:->| to )[A-Za-z]{1,5})"', DOC)
    assert len(aliases) >= 4
    for alias in aliases:
        p = leave_one_out(alias)
        assert p.target not in p.sources and len(p.sources) >= 2
