from __future__ import annotations

import argparse
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
from disentangle_fas.data.faces import (
    DETECTOR_CHOICES,
    MTCNNFaceDetector,
    add_detector_option,
    crop_face,
    orient,
)
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
            MTCNNFaceDetector()
    else:  # installed: it must build and find nothing in a blank image
        assert MTCNNFaceDetector()(np.zeros((64, 64, 3), np.uint8)) is None


class _FakeMTCNN:
    """Stands in for facenet-pytorch's MTCNN: two faces, their probabilities, what it saw."""

    def __init__(self, boxes: list[list[float]], probs: list[float | None]) -> None:
        self.boxes, self.probs = boxes, probs
        self.seen: list[tuple[int, int]] = []

    def detect(self, image: object) -> tuple[np.ndarray, np.ndarray]:
        self.seen.append(image.size)  # type: ignore[attr-defined]
        return np.array(self.boxes, dtype=object), np.array(self.probs, dtype=object)


def _fake_detector(fake: _FakeMTCNN, **kwargs: object) -> MTCNNFaceDetector:
    pytest.importorskip("facenet_pytorch")
    det = MTCNNFaceDetector(**kwargs)  # type: ignore[arg-type]
    det._mtcnn = fake
    return det


def test_min_confidence_is_the_only_difference_between_the_two_callers() -> None:
    fake = _FakeMTCNN([[1, 2, 30, 40], [5, 5, 25, 25]], [0.5, 0.8])
    image = np.zeros((64, 64, 3), np.uint8)
    assert _fake_detector(fake, min_confidence=0.9)(image) is None  # inference: none >= 0.9
    assert _fake_detector(fake, min_confidence=0.0)(image) == (5.0, 5.0, 25.0, 25.0)  # best one
    lone = _FakeMTCNN([[1, 2, 30, 40]], [None])  # numpy 2: [None] for "no probability"
    assert _fake_detector(lone, min_confidence=0.0)(image) is None


def test_max_side_none_detects_at_full_resolution() -> None:
    image = np.zeros((600, 1200, 3), np.uint8)
    full = _FakeMTCNN([[100, 50, 300, 250]], [0.99])
    assert _fake_detector(full, max_side=None)(image) == (100.0, 50.0, 300.0, 250.0)
    assert full.seen == [(1200, 600)]
    reduced = _FakeMTCNN([[100, 50, 300, 250]], [0.99])
    assert _fake_detector(reduced, max_side=300)(image) == (400.0, 200.0, 1200.0, 1000.0)
    assert reduced.seen == [(300, 150)]


@pytest.mark.parametrize("kwargs", [{"min_confidence": 1.5}, {"min_confidence": -0.1},
                                    {"max_side": 0}])  # fmt: skip
def test_mtcnn_refuses_bad_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        MTCNNFaceDetector(**kwargs)  # type: ignore[arg-type]


def test_preprocessing_builds_the_detector_with_its_own_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.data.preprocess_cli as prep_cli
    from test_data_fakes import write_video

    pytest.importorskip("av")
    pytest.importorskip("facenet_pytorch")  # the command checks it is installed
    built: list[dict[str, object]] = []

    class Spy:
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append(kwargs)

        def __call__(self, image: np.ndarray, /) -> tuple[float, float, float, float]:
            return (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))

    monkeypatch.setattr(prep_cli, "MTCNNFaceDetector", Spy)
    root = tmp_path / "casia"
    write_video(root / "train_release/1/1.avi", 4, 32, 32)
    (root / "test_release").mkdir()
    argv = ["--dataset", "casia", "--root", str(root), "--out", str(tmp_path / "out")]
    assert prep_cli.main([*argv, "--size", "32", "--workers", "1", "--quiet"]) == 0
    assert built and all(k["min_confidence"] == 0.0 and k["max_side"] is None for k in built)


def test_detector_option_accepts_the_choices_and_defaults_to_auto() -> None:
    parser = argparse.ArgumentParser()
    add_detector_option(parser, "--face-detector", "MTCNN when installed")
    assert parser.parse_args([]).face_detector == "auto"
    for choice in ("auto", "mtcnn", "none"):
        assert parser.parse_args(["--face-detector", choice]).face_detector == choice
    assert DETECTOR_CHOICES == ("auto", "mtcnn", "none")
    with pytest.raises(SystemExit):
        parser.parse_args(["--face-detector", "dlib"])
    assert "auto: MTCNN when installed" in parser.format_help()


def test_a_box_far_larger_than_the_image_is_refused_before_its_canvas_is_allocated() -> None:
    import numpy as np

    from disentangle_fas.data.faces import MAX_CROP_FACTOR, crop_face

    image = np.zeros((64, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="far larger than the 64x64 image"):
        crop_face(image, (0, 0, 100000, 100000), 32)  # would be a 120000-px canvas
    side = MAX_CROP_FACTOR * 64 / 1.2  # just inside the bound: still cropped
    assert crop_face(image, (0, 0, side, side), 32, scale=1.2).shape == (32, 32, 3)
