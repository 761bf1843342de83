from __future__ import annotations

import math
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from disentangle_fas.checkpoint import liveness_only
from disentangle_fas.inference import (
    InputError,
    LivenessDetector,
    LivenessResult,
    VideoResult,
    read_video_frames,
    sample_indices,
)
from disentangle_fas.model import DisentangledFAS
from test_inference_support import (
    SIZE,
    model_scores,
    photo,
    ramp_frames,
    reference_crop,
    reference_resize,
    write_checkpoint,
    write_video,
)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> DisentangledFAS:
    _, full = write_checkpoint(tmp_path_factory.mktemp("ck") / "m.safetensors")
    return full


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("vid") / "ramp.mp4", ramp_frames(20))


_BASELINES: dict[int, DisentangledFAS] = {}


def make(model: DisentangledFAS, **kwargs: object) -> LivenessDetector:
    """A detector on a (cached) liveness-only copy of ``model``."""
    kwargs.setdefault("face_detector", None)
    if id(model) not in _BASELINES:
        _BASELINES[id(model)] = liveness_only(model)
    return LivenessDetector(_BASELINES[id(model)], device="cpu", **kwargs)  # type: ignore[arg-type]


def decode_all(path: Path) -> list[np.ndarray]:
    """Every frame, decoded with PyAV directly (the reference)."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_read_video_frames_samples_the_requested_frames(video):
    indices, frames = read_video_frames(video, 5)
    assert indices == sample_indices(20, 5) == [2, 6, 10, 14, 18]
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)
    # frame i has brightness about 10 * i + 9.5 (lossy codec: loose tolerance)
    for i, f in zip(indices, frames, strict=True):
        assert abs(float(f.mean()) - (10 * i + 9.5)) < 4
    reference = decode_all(video)
    assert len(reference) == 20
    for i, f in zip(indices, frames, strict=True):
        np.testing.assert_array_equal(f, reference[i])


def test_short_video_gives_every_frame(tmp_path):
    path = write_video(tmp_path / "short.avi", ramp_frames(3))
    indices, frames = read_video_frames(path, 8)
    assert indices == [0, 1, 2] and len(frames) == 3


def test_video_result_is_the_mean_of_frame_scores(model, video):
    det = make(model, num_frames=4)
    with pytest.warns(UserWarning, match="whole image"):
        result = det(video)
    assert isinstance(result, VideoResult) and result.source == str(video)
    idx = sample_indices(20, 4)
    assert [f.frame_index for f in result.frames] == idx
    reference = decode_all(video)
    expected = model_scores(model, [reference_resize(reference[i], SIZE) for i in idx])
    np.testing.assert_allclose([f.p_live for f in result.frames], expected, atol=1e-6)
    assert result.p_live == pytest.approx(float(np.mean(expected)), abs=1e-6)
    assert result.is_live == (result.p_live >= 0.5)
    assert result.num_scored == 4 and not result.face_found  # scored whole: no face located
    assert det(video, num_frames=2).frames[0].frame_index == sample_indices(20, 2)[0]


def test_whole_frame_scoring_reports_the_same_face_found_for_images_and_videos(model, video):
    det = make(model, num_frames=3)
    frames = decode_all(video)
    with pytest.warns(UserWarning, match="whole image"):
        as_video = det.predict_video(video)
    as_images = det.predict_images([frames[i] for i in sample_indices(20, 3)])
    assert [r.region for r in as_images] == ["whole-image"] * 3
    assert [f.face_found for f in as_video.frames] == [r.face_found for r in as_images]
    assert as_video.face_found is False and as_video.to_dict()["face_found"] is False
    assert not any(r.face_found for r in as_images)
    # with a box, both report a face
    boxed = det.predict_video(video, box=(8, 4, 56, 44))
    assert boxed.face_found and det.predict_image(frames[0], box=(8, 4, 56, 44)).face_found


def test_video_with_a_box_crops_every_frame(model, tmp_path):
    image, box = photo()
    frames = [np.ascontiguousarray(image[:256, :320]) for _ in range(6)]
    path = write_video(tmp_path / "face.mp4", frames)
    det = make(model, num_frames=3)
    result = det.predict_video(path, box=box)
    assert [f.region for f in result.frames] == ["box"] * 3
    reference = decode_all(path)
    expected = model_scores(
        model, [reference_crop(reference[i], box, SIZE, 1.2) for i in [1, 3, 5]]
    )
    np.testing.assert_allclose([f.p_live for f in result.frames], expected, atol=1e-6)


def test_frames_without_a_face_are_left_out_of_the_mean(model, video):
    # a detector that finds a "face" only in bright frames
    def detector(img: np.ndarray) -> tuple[float, float, float, float] | None:
        return (8.0, 4.0, 56.0, 44.0) if img.mean() > 100 else None

    det = make(model, face_detector=detector, num_frames=5)
    result = det(video)
    assert isinstance(result, VideoResult)
    scored = [f for f in result.frames if f.scored]
    assert [f.frame_index for f in scored] == [10, 14, 18]
    assert all(f.region == "none" and not f.is_live for f in result.frames if not f.scored)
    assert result.p_live == pytest.approx(np.mean([f.p_live for f in scored]), abs=1e-9)
    nobody = make(model, face_detector=lambda img: None, num_frames=3)(video)
    assert isinstance(nobody, VideoResult)
    assert math.isnan(nobody.p_live) and not nobody.is_live and not nobody.face_found
    assert nobody.to_dict()["p_live"] is None


def test_corrupt_video_is_an_input_error(model, tmp_path):
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(np.random.default_rng(1).bytes(8192))
    with pytest.raises(InputError, match="not a readable video") as info:
        make(model)(path)
    assert info.value.path == path and isinstance(info.value, ValueError)


def test_missing_video_is_file_not_found(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="video not found"):
        make(model)(tmp_path / "none.mp4")


def test_video_without_pyav_names_the_extra(model, video, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r'pip install "disentangle-fas\[video\]"'):
        make(model)(video)


def test_mixed_list_of_images_and_videos(model, video, tmp_path):
    from PIL import Image

    image, _ = photo()

    png = tmp_path / "a.png"
    Image.fromarray(image).save(png)
    det = make(model, num_frames=2)
    out = det([png, video, image], box=(0, 0, 40, 40))
    assert [type(r).__name__ for r in out] == ["LivenessResult", "VideoResult", "LivenessResult"]
    assert out[0].p_live == pytest.approx(out[2].p_live, abs=1e-7)
    assert torch.isfinite(torch.tensor(out[1].p_live))


def test_bad_frame_count(model, video):
    with pytest.raises(ValueError, match=">= 1"):
        read_video_frames(video, 0)


def test_image_and_video_dicts_share_their_leading_verdict_keys() -> None:
    a = LivenessResult(0.8, True, 0.5, (0.0, 0.0, 4.0, 4.0), True, "box", "v.mp4", 0)
    b = LivenessResult(math.nan, False, 0.5, None, False, "none", "v.mp4", 3)
    video = VideoResult.aggregate((a, b), 0.5, "v.mp4")
    leading = ["source", "kind", "p_live", "is_live", "threshold", "face_found"]
    image_dict, video_dict = a.to_dict(), video.to_dict()
    assert list(image_dict)[:6] == leading and list(video_dict)[:6] == leading
    assert list(image_dict)[6:] == ["region", "box", "frame_index"]
    assert image_dict["kind"] == "image" and video_dict["kind"] == "video"
    assert (video_dict["p_live"], video_dict["is_live"], video_dict["num_scored"]) == (0.8, True, 1)
    assert b.to_dict()["p_live"] is None and b.to_dict()["face_found"] is False
