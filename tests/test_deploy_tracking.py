"""Face detection that keeps up: reduced copies, every k-th frame, a tracked and smoothed box,
checked on a synthetic moving face."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou as tv_box_iou

from disentangle_fas.inference.demo import MovingFace, moving_face_frames
from disentangle_fas.inference.tracking import FaceTracker, box_iou, reduce_frame

BACKGROUND = 96


class MaskDetector:
    """Finds the pasted face sample as the pixels far from the plain background, in whatever
    copy it is given, and returns the face box inside it (``offset``, in full-frame pixels
    from the sample's corner), jittered by up to ``jitter`` pixels; counts its calls."""

    def __init__(self, offset: tuple[float, ...], width: int, jitter: float = 0.0, seed: int = 0):
        self.offset, self.width, self.jitter = np.array(offset), width, jitter
        self.calls, self.sizes = 0, []
        self.rng = np.random.default_rng(seed)

    def __call__(self, image: np.ndarray) -> tuple[float, float, float, float] | None:
        self.calls += 1
        self.sizes.append(image.shape[:2])
        ys, xs = np.nonzero(np.abs(image.astype(np.int16) - BACKGROUND).max(axis=2) > 20)
        if len(xs) == 0:
            return None
        scale = self.width / image.shape[1]
        corner = np.array([xs.min(), ys.min(), xs.min(), ys.min()], dtype=np.float64) * scale
        box = (corner + self.offset + self.rng.uniform(-self.jitter, self.jitter, 4)) / scale
        return tuple(float(v) for v in box)  # type: ignore[return-value]


def detector_for(frames: list[MovingFace], **kwargs: float) -> MaskDetector:
    """A :class:`MaskDetector` that knows where the face sits in the pasted sample."""
    first = frames[0]
    ys, xs = np.nonzero(np.abs(first.image.astype(np.int16) - BACKGROUND).max(axis=2) > 20)
    corner = np.array([xs.min(), ys.min(), xs.min(), ys.min()], dtype=np.float64)
    return MaskDetector(tuple(np.array(first.box) - corner), first.image.shape[1], **kwargs)


@pytest.fixture(scope="module")
def video() -> list[MovingFace]:
    return list(moving_face_frames(60, width=320, height=240, face_side=96, speed=0.5, noise=0))


def test_box_iou_matches_torchvision():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = np.sort(rng.uniform(0, 100, (2, 2)), axis=0).T.reshape(-1)[[0, 2, 1, 3]]
        b = np.sort(rng.uniform(0, 100, (2, 2)), axis=0).T.reshape(-1)[[0, 2, 1, 3]]
        ref = float(tv_box_iou(torch.tensor(a[None]), torch.tensor(b[None]))[0, 0])
        assert box_iou(tuple(a), tuple(b)) == pytest.approx(ref, abs=1e-9)
    assert box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


def test_reduce_frame_is_an_integer_box_average():
    frame = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    small, factor = reduce_frame(frame, 20)
    assert factor == 4 and small.shape == (12, 16, 3)
    ref = frame.reshape(12, 4, 16, 4, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(small.astype(np.float64) - ref).max() <= 1.0
    same, one = reduce_frame(frame, 64)
    assert one == 1 and same is frame
    assert reduce_frame(frame, None)[1] == 1


def test_detector_runs_every_k_th_frame_on_a_reduced_copy(video):
    det = detector_for(video)
    tracker = FaceTracker(det, every=5, detect_side=160)
    states = [tracker.update(f.image) for f in video]
    assert det.calls == math.ceil(len(video) / 5)
    assert [s.detected for s in states] == [i % 5 == 0 for i in range(len(video))]
    assert set(det.sizes) == {(120, 160)}
    assert states[0].new_face and not any(s.new_face for s in states[1:])


@pytest.mark.parametrize(("every", "least"), [(1, 0.85), (3, 0.8), (6, 0.45)])
def test_tracked_box_follows_the_moving_face(video, every, least):
    tracker = FaceTracker(detector_for(video), every=every, detect_side=160)
    ious = [box_iou(tracker.update(f.image).box, f.box) for f in video]  # type: ignore[arg-type]
    warm = ious[2 * every :]  # once two detections have measured the motion
    assert min(warm) > least and np.mean(warm) > 0.7, (every, min(warm), np.mean(warm))
    still = FaceTracker(detector_for(video), every=every, detect_side=160, velocity_gain=0.0)
    held = [box_iou(still.update(f.image).box, f.box) for f in video]  # type: ignore[arg-type]
    if every > 1:  # predicting the motion beats holding the last box
        assert np.mean(warm) > np.mean(held[2 * every :])


def test_box_smoothing_steadies_a_jittery_detector():
    frames = list(moving_face_frames(40, width=320, height=240, face_side=96, speed=0.0, noise=0))

    def spread(smoothing: float) -> float:
        tracker = FaceTracker(
            detector_for(frames, jitter=6.0, seed=3), every=1, smoothing=smoothing
        )
        boxes = np.array([tracker.update(f.image).box for f in frames])
        return float(np.abs(np.diff(boxes, axis=0)).mean())

    raw, smooth = spread(1.0), spread(0.3)
    assert raw > 2.0 and smooth < 0.5 * raw


def test_a_face_elsewhere_restarts_the_track_and_misses_drop_it():
    frame = np.zeros((100, 100, 3), np.uint8)
    boxes = iter([(10, 10, 40, 40), (60, 60, 90, 90), None, None, (60, 60, 90, 90)])
    tracker = FaceTracker(lambda img: next(boxes), every=1, max_misses=1, detect_side=None)
    first, moved, miss1, miss2, back = (tracker.update(frame) for _ in range(5))
    assert first.new_face and first.box == (10, 10, 40, 40)
    assert moved.new_face and moved.box == (60, 60, 90, 90)
    assert miss1.box == (60, 60, 90, 90) and not miss1.new_face  # held for one miss
    assert miss2.box is None
    assert back.new_face


@pytest.mark.parametrize(
    "kwargs",
    [{"every": 0}, {"smoothing": 0.0}, {"velocity_gain": 1.0}, {"detect_side": 0}, {"min_iou": 2}],
)
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        FaceTracker(lambda img: None, **kwargs)


def test_haar_cascade_finds_the_synthetic_face(video):
    pytest.importorskip("cv2", reason="the opencv extra is part of dev")
    from disentangle_fas.inference.cascade import HaarFaceDetector

    det = HaarFaceDetector()
    tracker = FaceTracker(det, every=4, detect_side=None)
    boxes = [(tracker.update(f.image).box, f.box) for f in video[:20]]
    # the cascade's box is the inner face; the true box is the whole head: its centre inside
    for found, true in boxes:
        assert found is not None
        cx, cy = (found[0] + found[2]) / 2, (found[1] + found[3]) / 2
        assert true[0] < cx < true[2] and true[1] < cy < true[3]
    assert det(np.full((240, 320, 3), BACKGROUND, np.uint8)) is None
