"""Streams: reading frames (in order from files, newest-only from live sources), scoring
them with a tracked face and a verdict over time, and ``predict --stream``."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from disentangle_fas.inference import LivenessDetector, StreamReader, StreamScorer
from disentangle_fas.inference.cli import predict_main
from disentangle_fas.inference.demo import moving_face_frames, write_video
from disentangle_fas.inference.stream import Frame, source_kind
from test_inference_support import SIZE, ramp_frames, write_checkpoint

FACE = (8.0, 4.0, 56.0, 44.0)  # inside the 64x48 ramp frames


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stream")
    ck, _ = write_checkpoint(root / "model.safetensors", threshold=0.5)
    ramp = write_video(root / "ramp.mp4", ramp_frames(20), fps=10)
    moving = root / "moving.mp4"
    write_video(
        moving, [f.image for f in moving_face_frames(40, width=160, height=120, face_side=64)]
    )
    return {"ck": ck, "ramp": ramp, "moving": moving}


@pytest.fixture(scope="module")
def detector(files: dict[str, Path]) -> LivenessDetector:
    return LivenessDetector.from_checkpoint(files["ck"], device="cpu", face_detector=None)


def test_source_kinds():
    assert source_kind("0") == "camera" and source_kind("12") == "camera"
    assert source_kind("rtsp://cam.local/stream") == "url"
    assert source_kind("https://example.org/live.m3u8") == "url"
    assert source_kind("clip.mp4") == "file" and source_kind("file:///tmp/a.mp4") == "file"
    assert source_kind("C:/videos/a.mp4") == "file"


def test_a_file_is_read_in_order_with_monotone_timestamps(files):
    with StreamReader(files["ramp"]) as reader:
        assert reader.kind == "file" and not reader.live and reader.fps == 10
        frames = list(reader)
    assert [f.index for f in frames] == list(range(20))
    assert [f.time for f in frames] == pytest.approx([i / 10 for i in range(20)])
    assert all(f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8 for f in frames)
    for i, f in enumerate(frames):  # frame i has brightness about 10 * i + 9.5
        assert abs(float(f.image.mean()) - (10 * i + 9.5)) < 4
    assert reader.dropped == 0


def test_a_live_source_keeps_only_the_newest_frame(files):
    """A slow consumer of a live source gets increasing frame numbers, every frame is either
    taken or counted as dropped, and no more than one frame waits at any time."""
    with StreamReader(files["ramp"], live=True) as reader:
        taken: list[Frame] = []
        for frame in reader:
            taken.append(frame)
            assert reader._latest is None or reader._latest[0] > frame.index
            time.sleep(0.05)  # slower than the decoder
        indices = [f.index for f in taken]
    assert indices == sorted(set(indices)) and indices[-1] == 19
    assert reader.dropped > 0 and len(taken) + reader.dropped == 20
    times = [f.time for f in taken]
    assert times == sorted(times)


def test_close_stops_a_live_reader(files):
    reader = StreamReader(files["ramp"], live=True)
    it = iter(reader)
    next(it)
    reader.close()
    assert list(it) == []
    assert reader._thread is not None and not reader._thread.is_alive()


def test_missing_file_and_unreadable_source(tmp_path):
    with pytest.raises(FileNotFoundError):
        StreamReader(tmp_path / "none.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(ValueError, match="cannot open"):
        StreamReader(bad)
    url = "http://127.0.0.1:9/none.ts"  # the discard port: nothing listens
    with pytest.raises(ValueError, match="cannot open") as info:
        StreamReader(url)
    assert str(info.value).startswith(url)  # the URL as given, not mangled into a path


def test_stream_scores_match_the_image_path(files, detector):
    """Per frame, a fixed box scores as predict_image does, and whole-frame scoring reports
    face_found=False, as images do."""
    with StreamReader(files["ramp"]) as reader:
        frames = [f.image for f in reader]
    boxed = StreamScorer.from_detector(detector, box=FACE)
    whole = StreamScorer.from_detector(detector)
    for i, image in enumerate(frames[:6]):
        a, b = boxed.process(image, i, i / 10), whole.process(image, i, i / 10)
        ref_box = detector.predict_image(image, box=FACE)
        with pytest.warns(UserWarning) if i == 0 else contextlib.nullcontext():
            ref_whole = detector.predict_image(image)
        assert a.p_live == pytest.approx(ref_box.p_live, abs=1e-6)
        assert a.face_found == ref_box.face_found is True and a.region == "box"
        assert b.p_live == pytest.approx(ref_whole.p_live, abs=1e-6)
        assert b.face_found == ref_whole.face_found is False and b.region == "whole-image"
        assert b.box == (0.0, 0.0, 64.0, 48.0)


def test_jittered_boxes_do_not_flip_the_verdict_on_single_frames(files, detector):
    """A detector whose box jitters by a few pixels: at a threshold set to the median raw
    score, raw per-frame decisions flip often; the verdict over time never flips for a single
    frame."""
    frames = list(moving_face_frames(60, width=160, height=120, face_side=64, speed=0.0))
    true = np.array(frames[0].box)

    def jittery(seed: int) -> Callable[[np.ndarray], tuple[float, ...]]:
        rng = np.random.default_rng(seed)
        return lambda image: tuple(float(v) for v in true + rng.uniform(-4, 4, 4))

    model_score = StreamScorer.from_detector(detector).score_crop
    seen: dict[bytes, float] = {}

    def score(crop: np.ndarray) -> float:  # the same crops in both runs: score them once
        key = crop.tobytes()
        if key not in seen:
            seen[key] = model_score(crop)
        return seen[key]

    options = {"every": 1, "box_smoothing": 1.0}
    raw_run = StreamScorer(score, SIZE, 0.5, face_detector=jittery(0), **options)
    raw = np.array([raw_run.process(f.image).p_live for f in frames])
    threshold = float(np.median(raw))
    assert raw.std() > 0
    assert _single_frame_flips(list(raw >= threshold)) >= 3

    scorer = StreamScorer(score, SIZE, threshold, face_detector=jittery(0), **options)
    results = [scorer.process(f.image) for f in frames]
    np.testing.assert_array_equal([r.p_live for r in results], raw)  # the same boxes
    assert _single_frame_flips([r.verdict for r in results]) == 0
    assert all(r.face_found and r.region == "detected" for r in results)


def _single_frame_flips(seq: list[object]) -> int:
    return sum(seq[i] != seq[i - 1] and seq[i] != seq[i + 1] for i in range(1, len(seq) - 1))


def test_memory_stays_flat_over_a_long_stream():
    """Nothing accumulates per frame: tracking, cropping and the temporal verdict keep a
    few numbers (the model is replaced by a cheap score to keep the test fast)."""
    frames = [f.image for f in moving_face_frames(8, width=160, height=120, face_side=64)]
    boxes = iter(lambda: (50.0, 30.0, 110.0, 100.0), None)
    scorer = StreamScorer(
        lambda crop: float(crop.mean()) / 255, SIZE, 0.5, face_detector=lambda img: next(boxes)
    )
    stream = (Frame(i, i / 30, frames[i % 8]) for i in range(600))
    tracemalloc.start()
    try:
        results = scorer.run(stream)
        for _ in range(100):
            next(results)
        early = tracemalloc.get_traced_memory()[0]
        for _ in results:
            pass
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert late - early < 64 * 1024, (early, late)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict], str]:
    code = predict_main(argv)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_predict_stream_prints_one_json_line_per_frame(files, capsys):
    code, lines, err = run(
        ["--stream", str(files["ramp"]), "--checkpoint", str(files["ck"]), "--box", "8,4,56,44"],
        capsys,
    )
    assert code == 0 and len(lines) == 20
    assert [d["frame"] for d in lines] == list(range(20))
    times = [d["time"] for d in lines]
    assert times == sorted(times) and times[1] == pytest.approx(0.1)
    keys = {"frame", "time", "box", "p_live", "p_live_smoothed", "verdict", "face_found", "region"}
    assert keys <= set(lines[0])
    assert all(d["region"] == "box" and d["box"] == [8.0, 4.0, 56.0, 44.0] for d in lines)
    assert all(d["verdict"] in ("live", "spoof") and 0 <= d["p_live"] <= 1 for d in lines)
    assert "20 frames" in err and "Traceback" not in err


def test_predict_stream_with_a_face_detector_and_max_frames(files, capsys):
    pytest.importorskip("cv2", reason="the opencv extra is part of dev")
    argv = ["--stream", str(files["moving"]), "--checkpoint", str(files["ck"])]
    code, lines, _ = run(
        [*argv, "--face-detector", "haar", "--detect-every", "3", "--max-frames", "12"], capsys
    )
    assert code == 0 and len(lines) == 12
    assert [d["detected"] for d in lines] == [i % 3 == 0 for i in range(12)]
    assert all(d["face_found"] and d["region"] == "detected" for d in lines)
    code, lines, err = run([*argv, "--face-detector", "none", "--max-frames", "3"], capsys)
    assert [d["face_found"] for d in lines] == [False] * 3
    assert "note: no face detector (none was chosen)" in err
    assert {d["region"] for d in lines} == {"whole-image"}


def test_predict_stream_with_onnx_matches_the_checkpoint(files, capsys, tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnx extra is part of dev")
    from disentangle_fas.inference.cli import export_main

    onnx = tmp_path / "m.onnx"
    assert export_main(["--checkpoint", str(files["ck"]), "--onnx", str(onnx)]) == 0
    capsys.readouterr()
    common = ["--stream", str(files["ramp"]), "--box", "8,4,56,44", "--max-frames", "5"]
    _, torch_lines, _ = run([*common, "--checkpoint", str(files["ck"])], capsys)
    code, onnx_lines, _ = run([*common, "--onnx", str(onnx), "--threads", "1"], capsys)
    assert code == 0
    for a, b in zip(torch_lines, onnx_lines, strict=True):
        assert a["p_live"] == pytest.approx(b["p_live"], abs=1e-4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stream", "x.mp4", "a.jpg"], "either PATH arguments or --stream"),
        ([], "nothing to score"),
        (["--stream", "x.mp4", "--smoothing", "0"], "--smoothing"),
        (["--stream", "x.mp4", "--hysteresis", "0.7"], "--hysteresis"),
        (["--stream", "x.mp4", "--detect-every", "0"], "--detect-every"),
        (["a.jpg", "--onnx", "m.onnx"], "--onnx is used with --stream"),
    ],
)
def test_bad_stream_options_fail_at_once_without_torch(argv, message):
    code = (
        "import sys\nfrom disentangle_fas.cli import main\n"
        f"code = main(['predict', *{argv!r}])\n"
        "print('EXIT', code, 'TORCH', 'torch' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "EXIT 2 TORCH False" in res.stdout, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_predict_help_imports_no_torch():
    code = (
        "import sys\nfrom disentangle_fas.cli import main\n"
        "try:\n    code = main(['predict', '--help'])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('EXIT', code)\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "EXIT 0" in res.stdout and "TORCH False" in res.stdout, res.stderr
    assert "--stream" in res.stdout and "--hysteresis" in res.stdout


#: Frames of the long test video.
LONG_FRAMES = 2000


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Long enough that the JSON lines overfill a pipe (64 KiB): a reader that stops reading
    # blocks the stream, so it cannot end before a signal the reader sends.
    frames = ramp_frames(LONG_FRAMES)
    return write_video(tmp_path_factory.mktemp("long") / "long.mp4", frames, fps=30)


def test_a_closed_pipe_ends_the_stream_quietly(files, long_video):
    argv = ["--stream", str(long_video), "--checkpoint", str(files["ck"]), "--box", "8,4,56,44"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "disentangle_fas", "predict", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    json.loads(proc.stdout.readline())
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err


def test_ctrl_c_ends_the_stream_cleanly(files, long_video):
    long = long_video
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = ["--stream", str(long), "--checkpoint", str(files["ck"]), "--box", "8,4,56,44"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "disentangle_fas", "predict", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A test run started in the background inherits SIGINT ignored (as shells start
        # background jobs), and Python then installs no KeyboardInterrupt handler: give
        # the child the default disposition, as a terminal's foreground process has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # scoring has started
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    lines = [first, *rest.splitlines()]
    assert proc.returncode == 130, err
    assert 1 <= len(lines) < LONG_FRAMES
    assert all(json.loads(line)["frame"] == i for i, line in enumerate(lines))  # whole lines
    assert "interrupted after" in err and "Traceback" not in err
    assert math.isfinite(json.loads(lines[-1])["time"])
