from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.data.annotations import (
    box_from_eyes,
    frame_box,
    read_celeba_bbox,
    read_eye_file,
    read_face_file,
    read_face_file_ltrb,
)
from disentangle_fas.data.faces import MTCNNDetector, crop_face, orient
from test_data_fakes import touch


def test_replay_face_file(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.face", "0 10 20 30 40\n1 0 0 0 0\n\n2 5 5 10 10\n")
    boxes = read_face_file(path)
    assert boxes == {0: (10, 20, 40, 60), 1: None, 2: (5, 5, 15, 15)}


def test_msu_face_file(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.face", "0, 10, 20, 110, 140, 1, 2\n1, 0, 0, 0, 0\n")
    assert read_face_file_ltrb(path) == {0: (10, 20, 110, 140), 1: None}


def test_malformed_annotation(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.face", "0 10 20 30 40\n1 x 2 3 4\n")
    with pytest.raises(ValueError, match=r"a\.face:2"):
        read_face_file(path)


def test_eye_file_and_box(tmp_path: Path) -> None:
    path = touch(tmp_path / "e.txt", "0,100,50,140,50\n1,0,0,0,0\n")
    boxes = read_eye_file(path)
    assert boxes[1] is None
    # d = 40: side 100, centre (120, 50 + 12)
    assert boxes[0] == pytest.approx((70.0, 12.0, 170.0, 112.0))


@given(
    st.floats(0, 500),
    st.floats(0, 500),
    st.floats(-200, 200),
    st.floats(-200, 200),
)
def test_box_from_eyes_properties(x: float, y: float, dx: float, dy: float) -> None:
    left = (x + dx, y + dy)
    box = box_from_eyes((x, y), left)
    d = math.hypot(left[0] - x, left[1] - y)
    if d == 0:
        assert box is None
        return
    assert box is not None
    x0, y0, x1, y1 = box
    assert x1 - x0 == pytest.approx(2.5 * d) and y1 - y0 == pytest.approx(2.5 * d)
    assert (x0 + x1) / 2 == pytest.approx((x + left[0]) / 2)


def test_celeba_bbox_scaling(tmp_path: Path) -> None:
    path = touch(tmp_path / "1_BB.txt", "56 28 112 56 0.9\n")
    assert read_celeba_bbox(path, 448, 224) == pytest.approx((112, 28, 336, 84))
    touch(tmp_path / "2_BB.txt", "0 0 0 0 0\n")
    assert read_celeba_bbox(tmp_path / "2_BB.txt", 100, 100) is None


def test_frame_box_bases() -> None:
    zero_based = {0: (0.0, 0.0, 1.0, 1.0), 1: None}
    assert frame_box(zero_based, 0) == (0, 0, 1, 1)
    one_based = {1: (0.0, 0.0, 1.0, 1.0), 2: (1.0, 1.0, 2.0, 2.0)}
    assert frame_box(one_based, 0) == (0, 0, 1, 1)
    assert frame_box(one_based, 5) is None
    assert frame_box({}, 0) is None


def test_crop_face_matches_slicing() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    out = crop_face(img, (10, 5, 30, 25), scale=1.0, size=20)
    np.testing.assert_array_equal(out, img[5:25, 10:30])


def test_crop_face_pads_outside() -> None:
    img = np.full((10, 10, 3), 200, np.uint8)
    out = crop_face(img, (-5, -5, 5, 5), scale=1.0, size=10)
    assert out.shape == (10, 10, 3)
    assert (out[:5, :5] == 0).all() and (out[5:, 5:] == 200).all()


def test_crop_face_resizes_and_scales() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    out = crop_face(img, (40, 40, 60, 60), scale=2.0, size=16)
    assert out.shape == (16, 16, 3)
    with pytest.raises(ValueError, match="empty"):
        crop_face(img, (5, 5, 5, 9))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        crop_face(img[..., 0], (0, 0, 5, 5))


def test_orient() -> None:
    img = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    np.testing.assert_array_equal(orient(img, 180), img[::-1, ::-1])
    np.testing.assert_array_equal(orient(img, -180), img[::-1, ::-1])
    np.testing.assert_array_equal(orient(img, 90), np.rot90(img))
    assert orient(img, 0) is img


def test_mtcnn_import_error_names_extra() -> None:
    try:
        import facenet_pytorch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"disentangle-fas\[video\]"):
            MTCNNDetector()
    else:  # installed: it must build and find nothing in a blank image
        assert MTCNNDetector()(np.zeros((64, 64, 3), np.uint8)) is None
