from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import save_file

from disentangle_fas.checkpoint import liveness_only, save_model
from disentangle_fas.contracts import InputSpec
from disentangle_fas.inference import (
    CheckpointError,
    LivenessDetector,
    LivenessResult,
    NoFaceDetectorWarning,
    decide,
)
from disentangle_fas.losses.objective import Variant
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.ssdg import SSDGR
from test_inference_support import (
    SIZE,
    build_model,
    build_ssdg,
    grace_hopper_path,
    model_scores,
    photo,
    reference_crop,
    reference_resize,
    write_checkpoint,
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    return write_checkpoint(tmp_path_factory.mktemp("ck") / "model.safetensors", threshold=0.4)


@pytest.fixture(scope="module")
def baseline(checkpoint: tuple[Path, torch.nn.Module]) -> DisentangledFAS:
    return liveness_only(checkpoint[1])  # type: ignore[arg-type]


def make(baseline: DisentangledFAS, **kwargs: object) -> LivenessDetector:
    """A detector on the shared liveness-only model (cheap: no checkpoint reading)."""
    kwargs.setdefault("threshold", 0.4)
    kwargs.setdefault("face_detector", None)
    return LivenessDetector(baseline, device="cpu", **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def det(baseline: DisentangledFAS) -> LivenessDetector:
    return make(baseline)


# --- loading ---------------------------------------------------------------------------------


def test_from_checkpoint_keeps_liveness_only_and_scores_like_the_full_model(checkpoint):
    path, full = checkpoint
    det = LivenessDetector.from_checkpoint(path, face_detector=None)
    assert det.model.variant is Variant.BASELINE
    assert det.model.encoders.content is None and det.model.encoders.domain is None
    assert det.model.content_decoder is None and det.model.domain_head is None
    assert det.device == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = full.live_score(x)
    torch.testing.assert_close(det.score_crops(x), expected, atol=1e-6, rtol=0)


def test_threshold_comes_from_the_checkpoint_unless_overridden(checkpoint, tmp_path):
    det = LivenessDetector.from_checkpoint(checkpoint[0], face_detector=None)
    assert det.threshold == pytest.approx(0.4) and det.threshold_strategy == "test"
    over = LivenessDetector.from_checkpoint(checkpoint[0], face_detector=None, threshold=0.7)
    assert over.threshold == 0.7 and over.threshold_strategy == "given"
    plain, _ = write_checkpoint(tmp_path / "plain.safetensors")
    assert LivenessDetector.from_checkpoint(plain, face_detector=None).threshold == 0.5


def test_ssdg_r_checkpoints_are_scored_whole_at_their_stored_size(tmp_path):
    model = build_ssdg(image_size=24)
    path = save_model(model, tmp_path / "ssdg.safetensors", threshold=0.6)
    det = LivenessDetector.from_checkpoint(path, face_detector=None)
    assert isinstance(det.model, SSDGR) and det.image_size == 24 and det.threshold == 0.6
    x = torch.rand(3, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model.live_score(x)
    torch.testing.assert_close(det.score_crops(x), expected, atol=1e-6, rtol=0)
    sized = LivenessDetector.from_checkpoint(path, face_detector=None, image_size=40)
    assert sized.image_size == 40


def test_a_model_of_unknown_size_is_refused_until_the_size_is_given(tmp_path):
    model = build_ssdg()  # no image_size in its config
    with pytest.raises(ValueError, match=r"image.size"):
        LivenessDetector(model, face_detector=None)
    with pytest.raises(ValueError, match="input_spec"):
        save_model(model, tmp_path / "plain.safetensors")
    path = save_model(model, tmp_path / "plain.safetensors", input_spec=InputSpec(28))
    assert LivenessDetector.from_checkpoint(path, face_detector=None).image_size == 28


def test_a_legacy_checkpoint_without_input_spec_says_so(tmp_path):
    from safetensors import safe_open

    model = build_ssdg(image_size=24)
    path = save_model(model, tmp_path / "ssdg.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["disentangle_fas"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    del meta["input"], meta["config"]["image_size"]  # as written before input specs existed
    legacy = tmp_path / "legacy.safetensors"
    save_file(tensors, str(legacy), metadata={"disentangle_fas": json.dumps(meta)})
    with pytest.raises(CheckpointError, match=r"image.size"):
        LivenessDetector.from_checkpoint(legacy, face_detector=None)
    det = LivenessDetector.from_checkpoint(legacy, face_detector=None, image_size=24)
    assert det.image_size == 24


def test_model_without_config_needs_an_image_size():
    model = build_model()
    model.config, model.image_size = None, None  # a hand-assembled model of unknown size
    with pytest.raises(ValueError, match=r"image.size"):
        LivenessDetector(model, face_detector=None)
    det = LivenessDetector(model, face_detector=None, image_size=SIZE)
    assert len(det(torch.rand(2, 3, SIZE, SIZE))) == 2


@pytest.mark.parametrize("kind", ["random-bytes", "plain-safetensors", "json", "torch-pickle"])
def test_non_checkpoint_files_are_rejected_with_a_typed_error(tmp_path, kind):
    path = tmp_path / "bad.safetensors"
    if kind == "random-bytes":
        path.write_bytes(np.random.default_rng(0).bytes(512))
    elif kind == "plain-safetensors":
        save_file({"w": torch.zeros(3)}, str(path))
    elif kind == "json":
        path.write_text(json.dumps({"config": {}}))
    else:
        path = tmp_path / "model.pt"
        torch.save(build_model().state_dict(), path)
    with pytest.raises(CheckpointError, match="not a usable disentangle-fas checkpoint") as info:
        LivenessDetector.from_checkpoint(path, face_detector=None)
    assert isinstance(info.value, ValueError)
    assert info.value.path == path and str(path) in str(info.value)


def test_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        LivenessDetector.from_checkpoint(tmp_path / "nope.safetensors", face_detector=None)


def test_bad_constructor_arguments(baseline):
    model = baseline
    with pytest.raises(ValueError, match="threshold"):
        LivenessDetector(model, threshold=math.nan, face_detector=None)
    with pytest.raises(ValueError):
        LivenessDetector(model, batch_size=0, face_detector=None)
    with pytest.raises(ValueError, match="face_detector"):
        LivenessDetector(model, face_detector="yolo")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="face_detector"):
        LivenessDetector(model, face_detector=3)  # type: ignore[arg-type]


# --- real photographs ------------------------------------------------------------------------


def test_given_box_scores_the_reference_crop(det, checkpoint):
    image, box = photo()
    result = det(image, box=box)
    assert isinstance(result, LivenessResult)
    assert result.region == "box" and result.face_found and result.box == box
    expected = model_scores(checkpoint[1], [reference_crop(image, box, SIZE, 1.2)])[0]
    assert result.p_live == pytest.approx(expected, abs=1e-6)
    assert result.is_live == (result.p_live >= 0.4) and result.threshold == pytest.approx(0.4)


def test_box_partly_outside_the_image_pads_black(det, checkpoint):
    image, _ = photo()
    box = (-40.0, -30.0, 60.0, 90.0)
    expected = model_scores(checkpoint[1], [reference_crop(image, box, SIZE, 1.2)])[0]
    assert det(image, box=box).p_live == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "box", [(10, 10, 5, 20), (0, 0, 0, 0), (1e6, 1e6, 2e6, 2e6), (1, 2, 3), (0, 0, math.inf, 9)]
)
def test_bad_boxes_raise(det, box):
    image, _ = photo()
    with pytest.raises(ValueError, match="box"):
        det(image, box=box)


def test_without_detector_the_whole_image_is_scored_with_one_warning(det, checkpoint):
    image, _ = photo()
    with pytest.warns(NoFaceDetectorWarning, match="whole image") as record:
        first = det(image)
    assert record[0].filename == __file__  # points at the caller, not the library
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = det(image)
    assert first == second
    h, w = image.shape[:2]
    assert first.region == "whole-image" and not first.face_found
    assert first.box == (0.0, 0.0, float(w), float(h))
    expected = model_scores(checkpoint[1], [reference_resize(image, SIZE)])[0]
    assert first.p_live == pytest.approx(expected, abs=1e-6)


def test_path_pil_and_array_inputs_agree(det, tmp_path):
    image, box = photo()
    png = tmp_path / "face.png"
    Image.fromarray(image).save(png)
    by_path = det(png, box=box)
    assert by_path.source == str(png)
    assert det(str(png), box=box).p_live == by_path.p_live
    assert det(Image.fromarray(image), box=box).p_live == pytest.approx(by_path.p_live, abs=1e-7)
    assert det(image, box=box).p_live == pytest.approx(by_path.p_live, abs=1e-7)
    # a JPEG shipped with matplotlib, read by the detector and by PIL directly
    jpg = grace_hopper_path()
    direct = np.asarray(Image.open(jpg).convert("RGB"))
    hopper_box = (174.0, 120.0, 356.0, 340.0)
    assert det(jpg, box=hopper_box).p_live == pytest.approx(
        det(direct, box=hopper_box).p_live, abs=1e-7
    )


def test_grayscale_and_rgba_inputs(det):
    image, box = photo()
    gray = np.asarray(Image.fromarray(image).convert("L"))
    as_rgb = det(np.repeat(gray[:, :, None], 3, axis=2), box=box).p_live
    assert det(gray, box=box).p_live == pytest.approx(as_rgb, abs=1e-7)
    assert det(gray[:, :, None], box=box).p_live == pytest.approx(as_rgb, abs=1e-7)
    assert det(Image.fromarray(gray), box=box).p_live == pytest.approx(as_rgb, abs=1e-7)
    alpha = np.random.default_rng(0).integers(0, 256, size=image.shape[:2], dtype=np.uint8)
    rgba = np.dstack([image, alpha])
    expected = det(image, box=box).p_live
    assert det(rgba, box=box).p_live == pytest.approx(expected, abs=1e-7)
    assert det(Image.fromarray(rgba, "RGBA"), box=box).p_live == pytest.approx(expected, abs=1e-7)


def test_float_arrays_in_unit_range_match_uint8(det):
    image, box = photo()
    assert det(image.astype(np.float32) / 255.0, box=box).p_live == pytest.approx(
        det(image, box=box).p_live, abs=1e-7
    )


@pytest.mark.parametrize(
    ("array", "error", "match"),
    [
        (np.zeros((3, 40, 40), np.uint8), ValueError, "channels-first"),
        (np.zeros((4, 4, 4, 3), np.uint8), ValueError, "shape"),
        (np.zeros((0, 5, 3), np.uint8), ValueError, "empty"),
        (np.zeros((8, 8, 3), np.int16), TypeError, "uint8"),
        (np.full((8, 8, 3), 2.0), ValueError, r"\[0, 1\]"),
    ],
)
def test_bad_arrays_raise_clear_errors(det, array, error, match):
    with pytest.raises(error, match=match):
        det(array, box=(0, 0, 4, 4))


def test_unsupported_input_type(det):
    with pytest.raises(TypeError, match="PIL image or a numpy array"):
        det.predict_image(12)  # type: ignore[arg-type]


# --- tensor batches --------------------------------------------------------------------------


def test_tensor_batch_is_scored_as_face_crops(det, checkpoint):
    x = torch.rand(5, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    results = det(x)
    with torch.no_grad():
        expected = checkpoint[1].live_score(x)
    assert [r.region for r in results] == ["input"] * 5
    assert all(r.face_found and r.box == (0.0, 0.0, SIZE, SIZE) for r in results)
    np.testing.assert_allclose([r.p_live for r in results], expected.numpy(), atol=1e-6)
    assert [r.is_live for r in results] == [bool(p >= 0.4) for p in expected]


def test_tensor_batch_is_resized_and_chunked(baseline, checkpoint):
    x = torch.rand(5, 3, 48, 40, generator=torch.Generator().manual_seed(3))
    small = make(baseline, batch_size=2)
    resized = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True)
    with torch.no_grad():
        expected = checkpoint[1].live_score(resized.clamp(0, 1))
    torch.testing.assert_close(small.score_crops(x), expected, atol=1e-5, rtol=0)
    as_uint8 = (x * 255).round().to(torch.uint8)
    torch.testing.assert_close(
        small.score_crops(as_uint8), small.score_crops(as_uint8.float() / 255), atol=1e-6, rtol=0
    )


def test_bad_tensors(det):
    with pytest.raises(ValueError, match="unsqueeze"):
        det(torch.rand(3, SIZE, SIZE))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        det(torch.rand(2, 3, SIZE, SIZE) * 3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        det(torch.full((1, 3, SIZE, SIZE), math.nan))
    with pytest.raises(ValueError, match="float"):
        det(torch.zeros(1, 3, SIZE, SIZE, dtype=torch.int64))
    with pytest.raises(ValueError, match="box"):
        det(torch.rand(1, 3, SIZE, SIZE), box=(0, 0, 4, 4))  # type: ignore[call-overload]
    assert det.score_crops(torch.rand(0, 3, SIZE, SIZE)).shape == (0,)


# --- decisions and "no face" ---------------------------------------------------------------


@given(p=st.floats(0, 1), t=st.floats(-1, 2))
def test_decision_rule_is_score_at_least_threshold(p, t):
    assert decide(p, t) == (p >= t)
    assert decide(math.nan, t) is False


def test_score_equal_to_threshold_is_live(det, baseline):
    image, box = photo()
    p = det(image, box=box).p_live
    assert make(baseline, threshold=p)(image, box=box).is_live
    assert not make(baseline, threshold=math.nextafter(p, 2.0))(image, box=box).is_live


def test_no_face_found_is_a_result_not_an_error(baseline):
    det = make(baseline, face_detector=lambda img: None)
    image, _ = photo()
    result = det(image)
    assert math.isnan(result.p_live) and not result.scored
    assert not result.is_live and not result.face_found
    assert result.region == "none" and result.box is None
    json.dumps(result.to_dict(), allow_nan=False)
    degenerate = make(baseline, face_detector=lambda img: (5.0, 5.0, 5.0, 9.0))
    assert degenerate(image).region == "none"


def test_custom_detector_box_is_cropped(baseline, checkpoint):
    image, box = photo()
    seen = []

    def detector(img):
        seen.append(img.shape)
        return box

    det = make(baseline, face_detector=detector, crop_scale=1.0)
    result = det(image)
    assert seen == [image.shape]
    assert result.region == "detected" and result.face_found and result.box == box
    expected = model_scores(checkpoint[1], [reference_crop(image, box, SIZE, 1.0)])[0]
    assert result.p_live == pytest.approx(expected, abs=1e-6)
    # a given box wins over the detector
    assert det(image, box=(0, 0, 50, 50)).region == "box"
    assert len(seen) == 1


def test_list_input_keeps_order_and_batches(det):
    image, box = photo()
    flipped = np.ascontiguousarray(image[:, ::-1])
    results = det([image, flipped, image], box=box)
    assert len(results) == 3
    assert results[0].p_live == results[2].p_live
    assert results[1].p_live == pytest.approx(det(flipped, box=box).p_live, abs=1e-6)


def test_results_serialise_to_strict_json(det):
    image, box = photo()
    payload = json.loads(json.dumps(det(image, box=box).to_dict(), allow_nan=False))
    assert payload["kind"] == "image" and payload["region"] == "box"
    assert payload["box"] == list(box)
    with pytest.raises(AttributeError):
        det(image, box=box).p_live = 0.0  # frozen


# --- face detection --------------------------------------------------------------------------


def test_mtcnn_without_facenet_names_the_extra(baseline, monkeypatch):
    monkeypatch.setitem(sys.modules, "facenet_pytorch", None)
    with pytest.raises(ImportError, match=r"disentangle-fas\[video\]"):
        make(baseline, face_detector="mtcnn")
    auto = make(baseline, face_detector="auto")
    assert auto.face_detector is None


@pytest.mark.slow
def test_mtcnn_finds_the_face_in_a_real_photo(baseline):
    pytest.importorskip("facenet_pytorch")
    det = make(baseline, face_detector="mtcnn")
    image, box = photo()
    result = det(image)
    assert result.region == "detected" and result.face_found and result.box is not None
    ax0, ay0, ax1, ay1 = result.box
    bx0, by0, bx1, by1 = box
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    assert inter / union > 0.6
    blank = det(np.full((120, 160, 3), 128, np.uint8))
    assert blank.region == "none" and math.isnan(blank.p_live) and not blank.is_live
