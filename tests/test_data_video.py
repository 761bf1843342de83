from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.data.video import (
    VideoReadError,
    count_frames,
    iter_frames,
    sample_frame_indices,
)
from test_data_fakes import write_video


def test_literature_rule_matches_formula() -> None:
    # 6 + j * floor(n / k)
    assert sample_frame_indices(100, 4) == [6, 31, 56, 81]
    assert sample_frame_indices(100, 2, offset=0) == [0, 50]


def test_uniform_rule() -> None:
    assert sample_frame_indices(100, 4, "uniform") == [12, 37, 62, 87]
    assert sample_frame_indices(10, 1, "uniform") == [5]


def test_all_and_short_videos() -> None:
    assert sample_frame_indices(3, 5, "all") == [0, 1, 2]
    assert sample_frame_indices(4, 3) == [3]  # clamped to the last frame
    assert sample_frame_indices(0, 3) == []


@given(st.integers(1, 500), st.integers(1, 20), st.sampled_from(["literature", "uniform"]))
def test_sampling_properties(n: int, k: int, rule: str) -> None:
    idx = sample_frame_indices(n, k, rule)
    assert idx == sorted(set(idx))
    assert 1 <= len(idx) <= k
    assert all(0 <= i < n for i in idx)
    step = n // k
    if rule == "literature" and 6 + (k - 1) * step < n and (step >= 1 or k == 1):
        assert idx == [6 + j * step for j in range(k)]  # the formula, untouched


def test_sampling_errors() -> None:
    with pytest.raises(ValueError, match="rule"):
        sample_frame_indices(10, 2, "random")
    with pytest.raises(ValueError, match="k"):
        sample_frame_indices(10, 0)


def test_decode_selected_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.avi", n=12)
    assert count_frames(path) == 12
    frames = list(iter_frames(path, [0, 5, 11, 30]))
    assert [i for i, _, _ in frames] == [0, 5, 11]  # 30 does not exist
    for i, img, rot in frames:
        assert img.shape == (48, 64, 3) and img.dtype == np.uint8 and rot == 0
        assert abs(float(img[:, 16:].mean()) - 10 * i) < 4


def test_rotation_is_reported(tmp_path: Path) -> None:
    path = write_video(tmp_path / "r.mp4", n=3, rotation=180)
    rotations = {abs(r) for _, _, r in iter_frames(path, [0, 1])}
    assert rotations == {180}


def test_corrupt_video(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"\x00not a video" * 50)
    with pytest.raises(VideoReadError, match=r"bad\.avi"):
        count_frames(bad)
    with pytest.raises(VideoReadError):
        list(iter_frames(bad, [0]))
