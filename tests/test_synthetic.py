"""SyntheticFAS: sample contract, determinism, layout, selection and validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

import disentangle_fas.synthetic.dataset as dataset_module
from disentangle_fas.synthetic import (
    ATTACK_NAMES,
    ATTACKS,
    DOMAIN_CODES,
    DOMAIN_NAMES,
    DOMAINS,
    LANDMARK_NAMES,
    SEEN_ATTACKS,
    UNSEEN_ATTACKS,
    SampleKey,
    SyntheticFAS,
    render_sample,
    resolve_attacks,
    resolve_domains,
)
from disentangle_fas.synthetic._rng import derive_rng
from disentangle_fas.types import FASSample


def small(**kw: object) -> SyntheticFAS:
    args: dict[str, object] = {"samples_per_domain": 4, "image_size": 32}
    args.update(kw)
    return SyntheticFAS(**args)  # type: ignore[arg-type]


def test_name_tables() -> None:
    assert ATTACK_NAMES == ("live", "print", "replay", "mask")
    assert ATTACKS == {"live": 0, "print": 1, "replay": 2, "mask": 3}
    assert SEEN_ATTACKS == (1, 2) and UNSEEN_ATTACKS == (3,)
    assert DOMAIN_CODES[:4] == ("O", "C", "I", "M") and "Cb" in DOMAIN_CODES
    assert len(set(DOMAIN_NAMES)) == len(DOMAINS) >= 4
    assert LANDMARK_NAMES[:5] == ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")
    # The held-out attack is present by default only in the in-the-wild domain.
    assert all(3 not in d.attacks for d in DOMAINS[:4]) and 3 in DOMAINS[4].attacks


def test_sample_contract() -> None:
    ds = small(domains=["O", "Cb"], attacks="all")
    assert len(ds) == 8
    for i in range(len(ds)):
        s = ds[i]
        assert isinstance(s, FASSample)
        assert s.image.dtype == torch.float32 and s.image.shape == (3, 32, 32)
        assert float(s.image.min()) >= 0.0 and float(s.image.max()) <= 1.0
        assert s.label in (0, 1) and (s.label == 1) == (s.attack == 0)
        assert s.domain == (0 if i < 4 else 1)  # local index within the dataset
        assert s.index == i
        assert isinstance(s.video_id, str) and s.video_id == ds.records[i].video_id
        rec = ds.records[i]
        assert (rec.label, rec.attack, rec.domain_index) == (s.label, s.attack, s.domain)
        # The image is the uint8 render divided by 255.
        expected = torch.from_numpy(ds.render(i).image).permute(2, 0, 1).float() / 255
        assert torch.equal(s.image, expected)


def test_collates_into_a_batch() -> None:
    ds = small(domains="O")
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert isinstance(batch, FASSample)
    assert batch.image.shape == (4, 3, 32, 32)
    assert batch.label.tolist() == ds.labels.tolist()
    assert list(batch.video_id) == [r.video_id for r in ds.records]


def test_same_seed_same_bytes_in_fresh_instances() -> None:
    a, b = small(domains=["C", "M"], seed=7), small(domains=["C", "M"], seed=7)
    for i in range(len(a)):
        ra, rb = a.render(i), b.render(i)
        assert ra.image.tobytes() == rb.image.tobytes()
        assert ra.position.tobytes() == rb.position.tobytes()
        assert ra.depth.tobytes() == rb.depth.tobytes()
        assert ra.landmarks.tobytes() == rb.landmarks.tobytes()


def test_different_seeds_and_splits_differ() -> None:
    base = small(domains="I", seed=1)
    for other in (small(domains="I", seed=2), small(domains="I", seed=1, split="test")):
        for i in range(len(base)):
            assert not np.array_equal(base.render(i).image, other.render(i).image)


def test_order_and_prefix_independence() -> None:
    fwd = small(domains=["O", "I"], seed=3)
    rev = small(domains=["O", "I"], seed=3)
    forward = [fwd.render(i).image.copy() for i in range(len(fwd))]
    backward = [rev.render(i).image.copy() for i in reversed(range(len(rev)))][::-1]
    for x, y in zip(forward, backward, strict=True):
        assert np.array_equal(x, y)
    # A longer dataset starts with the same samples, and any sample renders on its own.
    longer = small(domains=["O", "I"], seed=3, samples_per_domain=6)
    assert np.array_equal(longer.render(0).image, forward[0])
    assert np.array_equal(longer.render(6).image, forward[4])  # first sample of domain I
    alone = render_sample(fwd.key(5), 32)
    assert np.array_equal(alone.image, forward[5])


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**31),
    domain=st.integers(0, len(DOMAINS) - 1),
    video=st.integers(0, 10_000),
    attack=st.integers(0, 3),
)
def test_any_key_is_deterministic_and_well_formed(
    seed: int, domain: int, video: int, attack: int
) -> None:
    key = SampleKey(seed, "train", domain, video // 4, video, 0, attack)
    a, b = render_sample(key, 32), render_sample(key, 32)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.image.shape == (32, 32, 3) and a.image.dtype == np.uint8
    assert a.position.shape == (3, 32, 32) and a.depth.shape == (1, 32, 32)
    assert a.landmarks.shape == (len(LANDMARK_NAMES), 2)
    assert a.face.any()
    # Maps are exactly zero off the face and inside (0, 1] on it.
    assert np.all(a.position[:, ~a.face] == 0) and np.all(a.depth[:, ~a.face] == 0)
    assert np.all(a.position[:, a.face] > 0) and np.all(a.position <= 1)
    assert np.all(a.depth[:, a.face] > 0) and np.all(a.depth <= 1)


def test_derived_streams_are_keyed() -> None:
    x = derive_rng(0, "train", "O", "video", 3).random(4)
    assert np.array_equal(x, derive_rng(0, "train", "O", "video", 3).random(4))
    for other in (
        ("train", "O", "video", 4),
        ("test", "O", "video", 3),
        ("train", "C", "video", 3),
    ):
        assert not np.array_equal(x, derive_rng(0, *other).random(4))


def test_records_need_no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("records must not render")

    monkeypatch.setattr(dataset_module, "render_sample", boom)
    ds = SyntheticFAS(samples_per_domain=50, image_size=64)
    assert len(ds.records) == 200
    assert ds.labels.shape == ds.attack_ids.shape == ds.domain_indices.shape == (200,)


def test_label_layout_is_stratified_and_exact() -> None:
    ds = SyntheticFAS(["O", "Cb"], samples_per_domain=60, live_fraction=0.25, image_size=32)
    for d, code in enumerate(("O", "Cb")):
        m = ds.domain_indices == d
        assert ds.labels[m].sum() == 15
        spoof_attacks = ds.attack_ids[m & (ds.labels == 0)]
        allowed = {1, 2} if code == "O" else {1, 2, 3}
        assert set(spoof_attacks.tolist()) == allowed
        counts = np.bincount(spoof_attacks)[sorted(allowed)]
        assert counts.max() - counts.min() <= 1
    # Every person appears both live and spoofed.
    for subject in {r.subject for r in ds.records}:
        labels = {r.label for r in ds.records if r.subject == subject}
        assert labels == {0, 1}


def test_attack_selection_and_live_only() -> None:
    ds = SyntheticFAS(["O", "C"], samples_per_domain=12, attacks=["mask"], image_size=32)
    assert set(ds.attack_ids[ds.labels == 0].tolist()) == {3}
    live = SyntheticFAS("M", samples_per_domain=5, live_fraction=1.0, attacks=[], image_size=32)
    assert live.labels.tolist() == [1] * 5
    spoof = SyntheticFAS("M", samples_per_domain=5, live_fraction=0.0, image_size=32)
    assert spoof.labels.tolist() == [0] * 5


def test_frames_share_video_and_subjects_are_disjoint_across_splits() -> None:
    ds = SyntheticFAS("O", samples_per_domain=6, frames_per_video=3, image_size=32)
    assert ds.records[0].video_id == ds.records[2].video_id != ds.records[3].video_id
    assert [r.frame for r in ds.records] == [0, 1, 2, 0, 1, 2]
    a, b = ds.render(0), ds.render(1)
    assert not np.array_equal(a.image, b.image)  # frames jitter
    train, test = (SyntheticFAS("O", samples_per_domain=8, split=s) for s in ("train", "test"))
    assert not {r.subject for r in train.records} & {r.subject for r in test.records}
    assert SyntheticFAS("O", samples_per_domain=2, split="val").split == "dev"


def test_resolve_domains() -> None:
    assert resolve_domains(["o", "webcam-lowres", 2, "CB"]) == (0, 1, 2, 4)
    assert resolve_domains("M") == (3,)
    with pytest.raises(ValueError, match="unknown synthetic domain"):
        resolve_domains(["X"])
    with pytest.raises(ValueError, match="twice"):
        resolve_domains(["O", 0])
    with pytest.raises(ValueError, match="out of range"):
        resolve_domains([9])
    with pytest.raises(ValueError, match="at least one"):
        resolve_domains([])
    with pytest.raises(TypeError):
        resolve_domains([1.5])  # type: ignore[list-item]


def test_resolve_attacks() -> None:
    assert resolve_attacks("all") == (1, 2, 3)
    assert resolve_attacks(["Replay", 1]) == (2, 1)
    for bad in (["live"], [0], ["glasses"], [7]):
        with pytest.raises(ValueError, match="unknown spoof attack"):
            resolve_attacks(bad)
    with pytest.raises(ValueError, match="twice"):
        resolve_attacks(["print", 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_size": 16}, "image_size"),
        ({"image_size": 300}, "image_size"),
        ({"samples_per_domain": 0}, "samples_per_domain"),
        ({"split": "holdout"}, "split"),
        ({"live_fraction": 1.5}, "live_fraction"),
        ({"frames_per_video": 0}, "frames_per_video"),
        ({"seed": -1}, "seed"),
        ({"attacks": []}, "attack"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        small(**kwargs)


def test_index_errors() -> None:
    ds = small(domains="O")
    assert ds[-1].index == 3
    with pytest.raises(IndexError):
        ds[4]


def test_pre_render_matches_on_the_fly() -> None:
    lazy = small(domains=["C", "Cb"], attacks="all", seed=5)
    eager = small(domains=["C", "Cb"], attacks="all", seed=5, pre_render=True)
    assert eager.pre_rendered and not lazy.pre_rendered
    for i in range(len(lazy)):
        assert torch.equal(lazy[i].image, eager[i].image)
        np.testing.assert_allclose(eager.geometry(i), lazy.geometry(i), atol=1e-3)
        np.testing.assert_allclose(eager.depth(i), lazy.depth(i), atol=1e-3)
        assert torch.equal(eager.face_mask(i), lazy.face_mask(i))
        assert torch.equal(eager.landmarks(i), lazy.landmarks(i))


def test_transform_and_geometry_accessors() -> None:
    ds = small(domains="M", transform=lambda x: x.flip(-1))
    assert torch.equal(ds[1].image, small(domains="M")[1].image.flip(-1))
    assert ds.geometry(0).shape == (3, 32, 32) and ds.geometry(0).dtype == torch.float32
    assert ds.depth(0).shape == (1, 32, 32)
    assert ds.landmarks(0).shape == (len(LANDMARK_NAMES), 2)
    with pytest.raises(ValueError, match="kind"):
        ds.geometry(0, kind="normals")


@pytest.mark.parametrize("size", [48, 128])
def test_other_sizes(size: int) -> None:
    ds = SyntheticFAS("O", samples_per_domain=2, image_size=size)
    assert ds[0].image.shape == (3, size, size)
    assert ds.geometry(1).shape == (3, size, size)
