from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from disentangle_fas.data import (
    TABLE1_TASKS,
    TABLE2_TASKS,
    CrossDomainProtocol,
    ManifestEntry,
    Record,
    benchmark_protocols,
    leave_one_out,
    leave_one_out_protocols,
    parse_task,
)


def test_table1_tasks_and_aliases() -> None:
    p = leave_one_out("OCI->M")
    assert (p.sources, p.target, p.name) == (("O", "C", "I"), "M", "OCI->M")
    assert p.source_splits == ("train", "test") and p.target_splits == ("train", "test")
    assert p.target_attack_filter is None
    for alias in ("O&C&I->M", "O&C&I to M", "I&C&O->M", "oci->m", "O, C, I → M", "CIO->M"):
        assert leave_one_out(alias) == p
    assert [leave_one_out(t).name for t in TABLE1_TASKS] == list(TABLE1_TASKS)
    assert leave_one_out("O&M&I->C").sources == ("O", "M", "I")
    assert leave_one_out("I&C&M to O").name == "ICM->O"


def test_table2_tasks_filter_3d_masks() -> None:
    protos = benchmark_protocols("table2")
    assert [p.name for p in protos] == list(TABLE2_TASKS)
    for p in protos:
        assert p.target == "Cb" and p.target_attack_filter == frozenset({0, 10})
        assert p.source_attack_filter is None
    assert leave_one_out("O&C&I->Cb", target_attack_filter=None).target_attack_filter is None
    assert parse_task("CbOC->M") == (["Cb", "O", "C"], "M")


def test_selection_and_filter() -> None:
    p = leave_one_out("OCM->Cb")
    src = p.selection("source")
    assert src.domains == {"O": 0, "C": 1, "M": 2} and src.splits == ("train", "test")
    tgt = p.selection("target")
    assert tgt.domains == {"Cb": 3} and tgt.attacks == frozenset({0, 10})
    assert p.domain_index == {"O": 0, "C": 1, "M": 2, "Cb": 3}

    def entry(domain: str, split: str, label: int, attack: int) -> ManifestEntry:
        return ManifestEntry("x", label, attack, domain, "s", split, f"{domain}{split}{attack}")

    items = [
        entry("O", "train", 1, 0),
        entry("O", "dev", 0, 1),  # dev is not used by default
        entry("C", "test", 0, 2),
        entry("I", "train", 1, 0),  # not in the protocol
        entry("Cb", "test", 1, 0),
        entry("Cb", "train", 0, 10),
        entry("Cb", "test", 0, 2),  # not a 3D mask
    ]
    assert [e.video_id for e in p.filter(items, "source")] == ["Otrain0", "Ctest2"]
    assert [e.video_id for e in p.filter(items, "target")] == ["Cbtest0", "Cbtrain10"]
    honest = p.with_splits(source=("train",), target=("test",))
    assert [e.video_id for e in honest.filter(items, "target")] == ["Cbtest0"]
    assert [e.video_id for e in honest.filter(items, "source")] == ["Otrain0"]
    with pytest.raises(ValueError, match="role"):
        p.selection("both")


def test_filter_records(tmp_path: Path) -> None:
    rec = Record(tmp_path, 0, 3, "I", "1", "dev", "I:x")
    p = leave_one_out("OCI->M", source_splits=("train", "dev", "test"))
    assert p.filter([rec], "source") == [rec]
    assert leave_one_out("OCI->M").filter([rec], "source") == []


def test_custom_and_synthetic_domains() -> None:
    p = CrossDomainProtocol(["alpha", "beta"], "gamma", source_splits=["train"])
    assert p.name == "alpha&beta->gamma" and p.sources == ("alpha", "beta")
    assert p.source_splits == ("train",)
    protos = leave_one_out_protocols(["A", "B", "C", "D"])
    assert [x.name for x in protos] == ["BCD->A", "ACD->B", "ABD->C", "ABC->D"]
    q = leave_one_out("north&south&east->west")
    assert q.sources == ("north", "south", "east") and q.target == "west"
    assert q.target_attack_filter is None
    with pytest.raises(FrozenInstanceError):
        p.target = "x"  # type: ignore[misc]


def test_protocol_errors() -> None:
    with pytest.raises(ValueError, match="unseen"):
        CrossDomainProtocol(("O", "C"), "C")
    with pytest.raises(ValueError, match="at least one"):
        CrossDomainProtocol((), "M")
    with pytest.raises(ValueError, match="duplicate"):
        CrossDomainProtocol(("O", "O"), "M")
    with pytest.raises(ValueError, match="train/dev/test"):
        CrossDomainProtocol(("O",), "M", target_splits=("val",))
    with pytest.raises(TypeError):
        CrossDomainProtocol("OC", "M")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="look like"):
        leave_one_out("OCI")
    with pytest.raises(ValueError, match="separate names"):
        leave_one_out("XYZ->M")
    with pytest.raises(ValueError, match="table"):
        benchmark_protocols("table9")
    with pytest.raises(ValueError, match="two distinct"):
        leave_one_out_protocols(["A"])
