"""The source-validation hold-out of a store task keeps people apart: subject-disjoint,
keyed by domain and subject, by video for samples without a subject."""

from __future__ import annotations

import json
import math
import random
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import Dataset

from disentangle_fas.data.subsets import (
    IndexedSubset,
    split_by_group,
    split_by_subject,
    split_by_video,
)
from disentangle_fas.training.data import SOURCE_VAL_SPLITS, TaskData
from disentangle_fas.training.tasks import store_task, synthetic_task
from disentangle_fas.types import FASSample

SIZE = 8
SUBJECTS = 8  # per domain, ids "001".."008" in every domain (other people in each)
VIDEOS = 3  # per subject: two in the train split, one in the test split
FRAMES = 2  # per video


def _entry(
    domain: str, subject: str | None, split: str, video: str, frame: int
) -> dict[str, object]:
    """One manifest line; ``subject=None`` leaves the key out, as a store without subjects."""
    live = video.endswith("v0")
    line: dict[str, object] = {
        "path": f"crops/{video.replace(':', '_')}/{frame}.png",
        "label": int(live),
        "attack": 0 if live else 1,
        "domain": domain,
        "split": split,
        "video_id": video,
        "frame": frame,
    }
    if subject is not None:
        line["subject"] = subject
    return line


def make_store(root: Path, *, no_subject: frozenset[str] = frozenset(), shuffle: int = -1) -> Path:
    """A packed store of four domains (``O``, ``C``, ``I``, ``M``), each with ``SUBJECTS``
    people of ``VIDEOS`` videos (a subject's videos span the train and test splits).

    Domains in ``no_subject`` record no subject. ``shuffle >= 0`` permutes each split's rows
    with that seed (the same samples in another order).
    """
    root.mkdir(parents=True)
    rows: dict[str, list[dict[str, object]]] = {"train": [], "test": []}
    for domain in "OCIM":
        for s in range(1, SUBJECTS + 1):
            subject = None if domain in no_subject else f"{s:03d}"
            for v in range(VIDEOS):
                split = "train" if v < VIDEOS - 1 else "test"
                video = f"{domain}:{split}/s{s:03d}_v{v}"
                for f in range(FRAMES):
                    rows[split].append(_entry(domain, subject, split, video, f))
    rng = np.random.default_rng(0)
    for split, lines in rows.items():
        if shuffle >= 0:
            order = np.random.default_rng(shuffle).permutation(len(lines))
            lines = [lines[i] for i in order]
        pixels = rng.integers(0, 256, (len(lines), SIZE, SIZE, 3), dtype=np.uint8)
        np.save(root / f"{split}.npy", pixels)
        (root / f"{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    meta = {"format": "disentangle-fas-store", "version": 1, "height": SIZE, "width": SIZE}
    splits = {split: len(lines) for split, lines in rows.items()}
    (root / "store.json").write_text(json.dumps({**meta, "splits": splits}))
    return root


def people(store: Path) -> dict[str, tuple[str, str]]:
    """video id -> (domain, subject), read from the store's manifest files directly."""
    out: dict[str, tuple[str, str]] = {}
    for split in ("train", "test"):
        for line in (store / f"{split}.jsonl").read_text().splitlines():
            data = json.loads(line)
            out[data["video_id"]] = (data["domain"], data.get("subject") or "")
    return out


def videos_of(ds: Dataset[FASSample]) -> list[str]:
    """The video id of every sample of ``ds`` (a task's subset), read sample by sample."""
    assert isinstance(ds, IndexedSubset)
    return [str(ds[i].video_id) for i in range(len(ds))]


def sides(task: TaskData, store: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The (domain, subject) pairs of ``task.train`` and ``task.source_val``."""
    who = people(store)
    return {who[v] for v in videos_of(task.train)}, {who[v] for v in videos_of(task.source_val)}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("sv") / "store")


def build(root: Path, fraction: float = 0.25) -> TaskData:
    return store_task(root, "OCI->M", image_size=SIZE, content=None, val_fraction=fraction)


def test_store_task_holds_out_whole_subjects(store: Path) -> None:
    task = build(store)
    train, val = sides(task, store)
    assert task.source_val_split == "subject"
    assert val and train and not train & val
    sources = 3 * SUBJECTS
    assert len(train | val) == sources
    assert abs(len(val) - 0.25 * sources) <= 1  # about val_fraction of the subjects
    # every video of a held-out subject, from both splits, is in source validation
    who = people(store)
    held_videos = {v for v, p in who.items() if p in val}
    assert set(videos_of(task.source_val)) == held_videos
    assert len(videos_of(task.train) + videos_of(task.source_val)) == sources * VIDEOS * FRAMES


def test_subject_ids_of_different_domains_are_different_people(store: Path) -> None:
    _, val = sides(build(store), store)
    held_ids = {s for _, s in val}
    # an id held out in one source domain is kept for training in another one
    assert any((d, s) not in val for s in held_ids for d in "OCI")


def test_the_hold_out_is_deterministic_and_independent_of_row_order(
    store: Path, tmp_path: Path
) -> None:
    first, second = build(store), build(store)
    assert list(first.source_val.indices) == list(second.source_val.indices)  # type: ignore[attr-defined]
    shuffled = make_store(tmp_path / "shuffled", shuffle=1)
    assert sides(build(shuffled), shuffled) == sides(first, store)


def test_without_subjects_the_hold_out_is_by_video(tmp_path: Path) -> None:
    root = make_store(tmp_path / "store", no_subject=frozenset("OCIM"))
    task = build(root)
    assert task.source_val_split == "video"
    train, val = set(videos_of(task.train)), set(videos_of(task.source_val))
    assert val and train and not train & val
    videos = 3 * SUBJECTS * VIDEOS
    assert len(train | val) == videos
    assert abs(len(val) - 0.25 * videos) <= 1


def test_mixed_subjects_hold_out_by_subject_and_by_video(tmp_path: Path) -> None:
    root = make_store(tmp_path / "store", no_subject=frozenset("C"))
    task = build(root)
    assert task.source_val_split == "subject+video"
    train, val = sides(task, root)
    known_train = {p for p in train if p[1]}
    known_val = {p for p in val if p[1]}
    assert known_val and not known_train & known_val
    train_videos, val_videos = set(videos_of(task.train)), set(videos_of(task.source_val))
    assert not train_videos & val_videos
    assert any(v.startswith("C:") for v in val_videos)  # the domain without subjects too


def test_too_little_source_data_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    rows = {
        "train": [_entry("O", "001", "train", "O:train/v0", f) for f in range(2)],
        "test": [_entry("M", "001", "test", "M:test/v0", 0)],
    }  # one source video of one person
    for split, lines in rows.items():
        np.save(root / f"{split}.npy", np.zeros((len(lines), SIZE, SIZE, 3), np.uint8))
        (root / f"{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    meta = {"format": "disentangle-fas-store", "version": 1, "height": SIZE, "width": SIZE}
    splits = {split: len(lines) for split, lines in rows.items()}
    (root / "store.json").write_text(json.dumps({**meta, "splits": splits}))
    with pytest.raises(ValueError, match="too small"):
        build(root)


def test_task_data_states_how_source_validation_was_held_out(store: Path) -> None:
    task = build(store)
    assert task.source_val_split in SOURCE_VAL_SPLITS
    fields = {k: getattr(task, k) for k in task.__dataclass_fields__ if k != "source_val_split"}
    assert TaskData(**fields).source_val_split == "unknown"
    with pytest.raises(ValueError, match="source_val_split"):
        TaskData(**fields, source_val_split="people")  # type: ignore[arg-type]
    synthetic = synthetic_task(
        "OCI->M", image_size=32, train_per_domain=4, eval_per_domain=4, render_workers=0
    )
    assert synthetic.source_val_split == "split"


# --- the split functions ------------------------------------------------------------------

group_lists = st.lists(st.sampled_from([f"g{i}" for i in range(12)]), min_size=1, max_size=60)
fractions = st.floats(0.01, 0.99)


@given(group_lists, fractions)
def test_groups_never_straddle_the_two_sides(groups: list[str], fraction: float) -> None:
    mask = split_by_group(groups, fraction)
    assert mask.shape == (len(groups),) and mask.dtype == np.bool_
    for g in set(groups):
        assert len({bool(m) for m, x in zip(mask, groups, strict=True) if x == g}) == 1


@given(group_lists, fractions)
def test_both_sides_are_non_empty_with_two_groups(groups: list[str], fraction: float) -> None:
    mask = split_by_group(groups, fraction)
    count = len(set(groups))
    held = {x for m, x in zip(mask, groups, strict=True) if m}
    if count < 2:
        assert not mask.any()
    else:
        assert 0 < mask.sum() < len(groups)
        expected = min(max(math.floor(fraction * count + 0.5), 1), count - 1)
        assert len(held) == expected


@given(group_lists, fractions, st.randoms(use_true_random=False))
def test_the_split_ignores_order(groups: list[str], fraction: float, rnd: random.Random) -> None:
    shuffled = list(groups)
    rnd.shuffle(shuffled)
    a = {x for m, x in zip(split_by_group(groups, fraction), groups, strict=True) if m}
    b = {x for m, x in zip(split_by_group(shuffled, fraction), shuffled, strict=True) if m}
    assert a == b


def test_split_by_group_is_stable_and_salted() -> None:
    groups = [f"person-{i}" for i in range(40)]
    mask = split_by_group(groups, 0.25)
    assert mask.sum() == 10
    assert (split_by_group(groups, 0.25) == mask).all()
    assert not (split_by_group(groups, 0.25, salt="other") == mask).all()
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            split_by_group(groups, bad)


def test_split_by_video_is_unchanged() -> None:
    videos = [f"O:train/v{i}" for i in range(50)]
    expected = [zlib.crc32(f"val:{v}".encode()) < int(0.3 * 2**32) for v in videos]
    assert split_by_video(videos, 0.3).tolist() == expected


@dataclass(frozen=True)
class Item:
    domain: str
    subject: str | None
    video_id: str


def test_split_by_subject_keys_subjects_by_domain() -> None:
    # subject "1" of O and subject "1" of C are two people: exactly one is held out
    items = [Item(d, "1", f"{d}:v{v}") for d in "OC" for v in range(3)]
    held, kind = split_by_subject(items, 0.1)
    assert kind == "subject"
    assert held.tolist() in ([True] * 3 + [False] * 3, [False] * 3 + [True] * 3)


def test_split_by_subject_falls_back_to_videos() -> None:
    items = [Item("O", s, f"O:v{v}") for v, s in enumerate([None, "", " ", None])]
    held, kind = split_by_subject(items, 0.5)
    assert kind == "video" and held.sum() == 2
    one = [Item("O", "7", f"O:v{v}") for v in range(4)]  # one person: by video
    held, kind = split_by_subject(one, 0.5)
    assert kind == "video" and held.sum() == 2
    mixed = [Item("O", s, f"O:v{s}{v}") for s in ("a", "b") for v in range(2)]
    mixed += [Item("C", None, f"C:v{v}") for v in range(4)]
    held, kind = split_by_subject(mixed, 0.5)
    assert kind == "subject+video"
    assert held[:4].sum() == 2 and held[4:].sum() == 2
    assert held[0] == held[1] and held[2] == held[3]


def test_a_copied_store_splits_the_same(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    assert sides(build(copy), copy) == sides(build(store), store)
