from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from disentangle_fas.data import (
    ADAPTERS,
    CasiaFASD,
    CelebASpoof,
    ListAdapter,
    MsuMfsd,
    OuluNPU,
    Record,
    ReplayAttack,
)
from test_data_fakes import casia_tree, celeba_tree, msu_tree, oulu_tree, replay_tree, touch


def by_stem(records: list[Record]) -> dict[str, Record]:
    return {r.path.stem: r for r in records}


# -- OULU-NPU --------------------------------------------------------------------------------
def test_oulu_labels_attacks_splits(tmp_path: Path) -> None:
    oulu_tree(tmp_path)
    adapter = OuluNPU(tmp_path)
    recs = adapter.records()
    assert len(recs) == 30
    assert Counter(r.split for r in recs) == {"train": 10, "dev": 10, "test": 10}
    r = by_stem(recs)
    assert (r["1_1_01_1"].label, r["1_1_01_1"].attack) == (1, 0)
    assert [r[f"1_1_01_{f}"].attack for f in range(2, 6)] == [1, 2, 3, 4]
    assert all(r[f"1_1_01_{f}"].label == 0 for f in range(2, 6))
    assert r["1_1_36_3"].split == "test" and r["1_1_36_3"].subject == "36"
    assert r["1_1_21_1"].split == "dev"
    assert r["1_1_01_1"].box_source == "eyes"
    assert r["1_1_01_1"].annotation == tmp_path.resolve() / "Train_files" / "1_1_01_1.txt"
    assert r["1_1_01_1"].video_id == "O:Train_files/1_1_01_1"
    assert all(x.domain == "O" for x in recs)
    assert [p.name for p, _ in adapter.skipped] == ["notes.avi"]
    assert len(adapter.records("dev")) == 10


def test_oulu_protocol_files(tmp_path: Path) -> None:
    oulu_tree(tmp_path)
    train = OuluNPU(tmp_path, protocol=1).records("train")
    assert sorted(x.path.stem for x in train) == ["1_1_01_1", "1_1_01_2", "1_1_02_4"]
    assert [x.path.stem for x in OuluNPU(tmp_path, protocol=3, fold=2).records("train")] == [
        "1_1_02_1"
    ]
    with pytest.raises(FileNotFoundError, match=r"Protocol_3/Dev_2\.txt"):
        OuluNPU(tmp_path, protocol=3, fold=2).records("dev")
    with pytest.raises(ValueError, match="fold"):
        OuluNPU(tmp_path, protocol=4)
    with pytest.raises(ValueError, match="protocol"):
        OuluNPU(tmp_path, protocol=7)


def test_oulu_protocol_label_mismatch(tmp_path: Path) -> None:
    oulu_tree(tmp_path)
    touch(tmp_path / "Protocols/Protocol_2/Train.txt", "-1,1_1_01_1\n")
    with pytest.raises(ValueError, match="label"):
        OuluNPU(tmp_path, protocol=2).records("train")


def test_oulu_partial_root(tmp_path: Path) -> None:
    (tmp_path / "Train_files").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        OuluNPU(tmp_path).records()
    msg = str(err.value)
    assert "OULU-NPU root" in msg and "Dev_files/" in msg
    assert "expected Train_files, Dev_files, Test_files" in msg
    assert OuluNPU(tmp_path).records("train") == []


def test_missing_root() -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        OuluNPU("/nonexistent/oulu")


def test_bad_split(tmp_path: Path) -> None:
    casia_tree(tmp_path)
    with pytest.raises(ValueError, match="CASIA-FASD has no split 'dev'"):
        CasiaFASD(tmp_path).records("dev")


# -- CASIA-FASD ------------------------------------------------------------------------------
def test_casia(tmp_path: Path) -> None:
    casia_tree(tmp_path)
    adapter = CasiaFASD(tmp_path)
    recs = adapter.records()
    assert len(recs) == 36
    assert Counter(r.split for r in recs) == {"train": 24, "test": 12}
    assert Counter(r.label for r in recs) == {1: 9, 0: 27}
    assert Counter(r.attack for r in recs) == {0: 9, 1: 9, 2: 9, 3: 9}
    first = [r for r in recs if r.subject == "train_01"]
    attacks = {r.path.stem: r.attack for r in first}
    assert attacks == {
        "1": 0, "2": 0, "HR_1": 0, "3": 1, "4": 1, "HR_2": 1,
        "5": 2, "6": 2, "HR_3": 2, "7": 3, "8": 3, "HR_4": 3,
    }  # fmt: skip
    assert {r.subject for r in recs} == {"train_01", "train_02", "test_01"}
    assert all(r.box_source == "detector" and r.annotation is None for r in recs)
    assert [p.name for p, _ in adapter.skipped] == ["extra.avi"]


def test_casia_partial_root(tmp_path: Path) -> None:
    (tmp_path / "train_release").mkdir()
    with pytest.raises(FileNotFoundError, match="has no test_release/"):
        CasiaFASD(tmp_path).records()


# -- Replay-Attack ---------------------------------------------------------------------------
def test_replay(tmp_path: Path) -> None:
    replay_tree(tmp_path)
    recs = ReplayAttack(tmp_path).records()
    assert len(recs) == 18
    assert Counter(r.split for r in recs) == {"train": 6, "dev": 6, "test": 6}
    assert Counter(r.label for r in recs) == {1: 6, 0: 12}
    r = by_stem(recs)
    assert r["attack_print_client001_session01_highdef_photo_adverse"].attack == 1
    assert r["attack_mobile_client003_session01_mobile_video_adverse"].attack == 3
    assert r["attack_highdef_client005_session01_highdef_photo_controlled"].attack == 4
    assert r["attack_highdef_client005_session01_highdef_video_controlled"].attack == 5
    real = r["client003_session01_webcam_authenticate_adverse_2"]
    assert (real.label, real.attack, real.split, real.subject) == (1, 0, "dev", "003")
    assert real.annotation is not None and real.annotation.is_file()
    assert real.annotation.parts[-4:-1] == ("face-locations", "devel", "real")
    assert real.box_source == "face_file"


def test_replay_partial_root(tmp_path: Path) -> None:
    replay_tree(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "test" / "attack")
    with pytest.raises(FileNotFoundError, match="has no test/attack/"):
        ReplayAttack(tmp_path).records()
    assert len(ReplayAttack(tmp_path).records("train")) == 6


# -- MSU-MFSD --------------------------------------------------------------------------------
def test_msu(tmp_path: Path) -> None:
    msu_tree(tmp_path)
    adapter = MsuMfsd(tmp_path)
    recs = adapter.records()
    assert len(recs) == 16
    assert Counter((r.split, r.subject) for r in recs) == {("train", "02"): 8, ("test", "03"): 8}
    assert Counter(r.attack for r in recs) == {0: 4, 1: 4, 2: 4, 3: 4}
    r = by_stem(recs)
    assert r["attack_client002_laptop_SD_ipad_video_scene01"].attack == 3
    assert r["attack_client002_laptop_SD_printed_photo_scene01"].attack == 1
    assert r["real_client003_android_SD_scene01"].path.suffix == ".mp4"
    assert r["real_client003_android_SD_scene01"].box_source == "face_file_ltrb"
    assert len(adapter.skipped) == 8  # client 9 is in neither list
    assert all("neither" in reason for _, reason in adapter.skipped)


def test_msu_missing_list(tmp_path: Path) -> None:
    msu_tree(tmp_path)
    (tmp_path / "test_sub_list.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_sub_list\.txt"):
        MsuMfsd(tmp_path).records("train")


# -- CelebA-Spoof ----------------------------------------------------------------------------
def test_celeba_spoof(tmp_path: Path) -> None:
    celeba_tree(tmp_path)
    adapter = CelebASpoof(tmp_path)
    recs = adapter.records()
    assert adapter.missing_images == 1
    assert len(recs) == 4
    r = by_stem(recs)
    assert (r["000001"].label, r["000001"].attack, r["000001"].subject) == (1, 0, "10")
    assert (r["000002"].label, r["000002"].attack) == (0, 10)
    assert (r["000003"].label, r["000003"].attack, r["000003"].subject) == (0, 2, "11")
    assert r["000004"].split == "test"
    assert r["000002"].annotation == r["000002"].path.with_name("000002_BB.txt")
    assert r["000002"].video_id == "Cb:Data/train/10/spoof/000002"
    assert not r["000001"].is_video
    assert len(adapter.records("test")) == 1 and adapter.missing_images == 0


def test_celeba_missing_labels(tmp_path: Path) -> None:
    (tmp_path / "Data" / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"metas/intra_test/train_label\.json"):
        CelebASpoof(tmp_path).records("train")


# -- user lists ------------------------------------------------------------------------------
def test_list_adapter_csv_and_jsonl(tmp_path: Path) -> None:
    touch(
        tmp_path / "list.csv",
        "path,label,domain,split,subject\na.mp4,1,X,train,s1\nb.mp4,0,X,test,s2\n",
    )
    recs = ListAdapter(tmp_path / "list.csv").records()
    assert [(r.label, r.attack, r.split) for r in recs] == [(1, 0, "train"), (0, 1, "test")]
    assert recs[0].path == tmp_path.resolve() / "a.mp4"
    assert recs[0].video_id == "X:a"
    rows = [
        {"path": "/abs/c.png", "label": 0, "attack": 3, "domain": "Y", "box_source": "full"},
        {"path": "d.png", "label": 1, "domain": "Y", "split": "devel"},
    ]
    touch(tmp_path / "list.jsonl", "\n".join(json.dumps(x) for x in rows))
    recs = ListAdapter(tmp_path / "list.jsonl").records()
    assert [(r.attack, r.split, r.box_source) for r in recs] == [
        (3, "train", "full"),
        (0, "dev", "detector"),
    ]


def test_list_adapter_errors(tmp_path: Path) -> None:
    touch(tmp_path / "l.csv", "path,label\na.mp4,1\n")
    with pytest.raises(ValueError, match=r"l\.csv:2: missing domain"):
        ListAdapter(tmp_path / "l.csv").records()
    touch(tmp_path / "m.csv", "path,label,domain\na.mp4,2,X\n")
    with pytest.raises(ValueError, match=r"m\.csv:2"):
        ListAdapter(tmp_path / "m.csv").records()
    with pytest.raises(FileNotFoundError):
        ListAdapter(tmp_path / "none.csv")


def test_record_validation(tmp_path: Path) -> None:
    base = {"path": tmp_path, "domain": "O", "subject": "1", "split": "train", "video_id": "v"}
    with pytest.raises(ValueError, match="attack 0"):
        Record(label=1, attack=2, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive attack"):
        Record(label=0, attack=0, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="split"):
        Record(label=1, attack=0, **{**base, "split": "val"})  # type: ignore[arg-type]


def test_adapter_registry() -> None:
    assert set(ADAPTERS) == {"oulu", "casia", "replay", "msu", "celeba-spoof"}
    assert {cls.DOMAIN for cls in ADAPTERS.values()} == {"O", "C", "I", "M", "Cb"}
    for cls in ADAPTERS.values():
        assert 0 not in cls.ATTACKS and all(k > 0 for k in cls.ATTACKS)
