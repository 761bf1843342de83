"""check-data: a dataset copy against the official counts, listing files only."""

from __future__ import annotations

from pathlib import Path

import pytest

import disentangle_fas.data.video as video
from disentangle_fas.cli import main as cli_main
from disentangle_fas.data.check import CountRow, check_dataset, make_adapter
from test_data_fakes import casia_tree, replay_tree, touch

OULU_FOLDERS = {"train": "Train_files", "dev": "Dev_files", "test": "Test_files"}
OULU_USERS = {"train": range(1, 21), "dev": range(21, 36), "test": range(36, 56)}


def _protocol_lines(protocol: int, fold: int | None, split: str) -> list[str]:
    """The protocol file's lines, from the protocol definitions of the OULU-NPU paper."""
    lines = []
    for phone in range(1, 7):
        for session in range(1, 4):
            for user in OULU_USERS[split]:
                for f in range(1, 6):
                    test = split == "test"
                    if protocol == 1 and (session == 3) != test:
                        continue
                    if protocol == 2 and f > 1 and (f in (3, 5)) != test:
                        continue
                    if protocol == 3 and (phone == fold) != test:
                        continue
                    if protocol == 4:
                        if (phone == fold) != test or (session == 3) != test:
                            continue
                        if f > 1 and (f in (3, 5)) != test:
                            continue
                    lines.append(f"{'+1' if f == 1 else '-1'},{phone}_{session}_{user:02d}_{f}")
    return lines


def oulu_full_tree(
    root: Path, protocols: tuple[int, ...] = (1, 2, 3, 4), eyes: bool = True
) -> None:
    for split, folder in OULU_FOLDERS.items():
        for p in range(1, 7):
            for s in range(1, 4):
                for u in OULU_USERS[split]:
                    for f in range(1, 6):
                        stem = root / folder / f"{p}_{s}_{u:02d}_{f}"
                        touch(stem.with_suffix(".avi"))
                        if eyes:
                            touch(stem.with_suffix(".txt"), "0,20,20,40,20\n")
    names = {"train": "Train", "dev": "Dev", "test": "Test"}
    for protocol in protocols:
        for fold in (None,) if protocol < 3 else range(1, 7):
            for split, name in names.items():
                suffix = "" if fold is None else f"_{fold}"
                text = "\n".join(_protocol_lines(protocol, fold, split)) + "\n"
                touch(root / "Protocols" / f"Protocol_{protocol}" / f"{name}{suffix}.txt", text)


@pytest.fixture(scope="module")
def oulu_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("oulu")
    oulu_full_tree(root)
    return root


def test_protocol_1_definition_gives_the_documented_counts() -> None:
    train = _protocol_lines(1, None, "train")
    assert sum(x.startswith("+1") for x in train) == 240 and len(train) == 1200


def test_full_oulu_tree_matches(oulu_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check = check_dataset("oulu", oulu_root)
    assert check.ok, check.table()
    rows = {(r.split, r.group): r for r in check.rows}
    assert rows["train", "videos"].found == 1800 and rows["dev", "videos"].found == 1350
    assert rows["test", "P1 real"].found == 120 and rows["test", "P4 fold 6 attack"].found == 40
    assert sum(r.found for r in check.rows if r.group == "videos") == 4950
    assert cli_main(["check-data", "--dataset", "oulu", "--root", str(oulu_root)]) == 0
    out = capsys.readouterr().out
    assert "1,800" in out and "MISMATCH" not in out and "matches the official release" in out


def test_removed_files_fail(
    oulu_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = oulu_root / "Dev_files" / "3_2_30_4.avi"
    eyes = oulu_root / "Test_files" / "1_1_40_1.txt"
    victim.rename(tmp_path / "v.avi")
    eyes.rename(tmp_path / "e.txt")
    try:
        check = check_dataset("oulu", oulu_root)
        assert not check.ok
        assert "Dev_files/3_2_30_4.avi" in check.missing
        assert "Test_files/1_1_40_1.txt" in check.missing_annotations
        bad = {(r.split, r.group) for r in check.rows if not r.ok}
        assert (
            ("dev", "videos") in bad
            and ("dev", "attack 3") in bad
            and ("dev", "P1 attack") not in bad
        )
        assert ("dev", "P2 attack") not in bad  # protocol file lines are counted as listed
        assert cli_main(["check-data", "--dataset", "oulu", "--root", str(oulu_root)]) == 1
        out = capsys.readouterr().out
        assert "MISMATCH" in out and "3_2_30_4.avi" in out
    finally:
        (tmp_path / "v.avi").rename(victim)
        (tmp_path / "e.txt").rename(eyes)


def test_copy_without_eye_files_or_some_protocols_passes_with_warnings(tmp_path: Path) -> None:
    oulu_full_tree(tmp_path, protocols=(1,), eyes=False)
    check = check_dataset("oulu", tmp_path)
    assert check.ok, check.table()
    assert any("none of the 4950 face-annotation files" in w for w in check.warnings)
    assert any("39 of the 42 official protocol files are absent" in w for w in check.warnings)
    (tmp_path / "Test_files" / "6_3_55_5.avi").unlink()
    assert not check_dataset("oulu", tmp_path).ok


def test_oulu_without_protocols_warns_only(tmp_path: Path) -> None:
    oulu_full_tree(tmp_path, protocols=())
    (tmp_path / "Train_files" / "notes.avi").write_text("")
    (tmp_path / "Train_files" / "1_1_30_1.avi").write_text("")  # a dev user in train
    check = check_dataset("oulu", tmp_path)
    assert any("Protocols" in w for w in check.warnings)
    assert ("Train_files/notes.avi", "name is not P_S_UU_F") in check.unexpected
    assert any(p == "Train_files/1_1_30_1.avi" for p, _ in check.unexpected)
    assert not check.ok  # the extra video changes the train counts


def test_never_decodes_unless_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(*args: object, **kwargs: object) -> int:
        raise AssertionError("decoded")

    casia_tree(tmp_path)
    monkeypatch.setattr(video, "count_frames", boom)
    monkeypatch.setattr(video, "iter_frames", boom)
    check = check_dataset("casia", tmp_path)
    assert check.undecodable == []
    monkeypatch.undo()
    check = check_dataset("casia", tmp_path, decode=True)
    assert len(check.undecodable) == 36  # empty files are not videos


def test_casia_counts_and_unexpected(tmp_path: Path) -> None:
    for split, n in (("train_release", 20), ("test_release", 30)):
        for s in range(1, n + 1):
            for stem in [*map(str, range(1, 9)), "HR_1", "HR_2", "HR_3", "HR_4"]:
                touch(tmp_path / split / str(s) / f"{stem}.avi")
    touch(tmp_path / "train_release" / "1" / "extra.avi")
    check = check_dataset("casia", tmp_path)
    assert check.ok, check.table()
    assert [p for p, _ in check.unexpected] == ["train_release/1/extra.avi"]
    (tmp_path / "test_release" / "30" / "HR_4.avi").unlink()
    check = check_dataset("casia", tmp_path)
    assert check.missing == ["test_release/30/HR_4.avi"] and not check.ok


def test_small_replay_copy_is_a_mismatch_against_official_numbers(tmp_path: Path) -> None:
    replay_tree(tmp_path)
    check = check_dataset("replay", tmp_path)
    rows = {(r.split, r.group): r for r in check.rows}
    assert rows["train", "real"] == CountRow("train", "real", 60, 2)
    assert rows["test", "attack"].expected == 400
    assert rows["all", "enrolment videos"].ok  # informational
    assert not check.ok
    (
        tmp_path
        / "face-locations/train/real/client001_session01_webcam_authenticate_adverse_2.face"
    ).unlink()
    assert len(check_dataset("replay", tmp_path).missing_annotations) == 1


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["check-data", "--dataset", "nope", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'nope'" in err and "oulu" in err and len(err.splitlines()) == 1
    assert cli_main(["check-data", "--dataset", "oulu", "--root", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ValueError, match="casia and replay"):
        make_adapter("oulu", tmp_path, face_locations=tmp_path)
