"""Inputs of any size and preprocessing faults: tiny and huge images, changed sources,
empty trees, workers outliving their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disentangle_fas.data.pipeline import PreprocessConfig
from disentangle_fas.data.preprocess import preprocess_records, source_signature
from disentangle_fas.data.preprocess_cli import main as preprocess_main
from disentangle_fas.inference.cli import predict_main
from test_data_preprocess import replay_videos
from test_inference_support import write_checkpoint

SRC = Path(__file__).resolve().parents[1] / "src"


class _FakeMTCNN:
    """Stands in for facenet-pytorch's MTCNN: records what it sees, finds one fixed face."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        self.box = box
        self.seen: list[tuple[int, int]] = []

    def detect(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        self.seen.append(image.size)
        return np.array([self.box]), np.array([0.99])


def _detector(box: tuple[float, float, float, float]) -> object:
    pytest.importorskip("facenet_pytorch")
    from disentangle_fas.data.faces import MTCNNFaceDetector

    det = MTCNNFaceDetector()
    det._mtcnn = _FakeMTCNN(box)
    return det


@pytest.mark.parametrize("shape", [(1, 1), (8, 8), (11, 300), (300, 19)])
def test_tiny_images_have_no_face(shape: tuple[int, int]) -> None:
    pytest.importorskip("facenet_pytorch")
    from disentangle_fas.data.faces import MTCNNFaceDetector

    image = np.full((*shape, 3), 128, np.uint8)
    assert MTCNNFaceDetector()(image) is None  # the real MTCNN: no crash


def test_tiny_image_is_a_no_face_result_in_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("facenet_pytorch")
    ck, _ = write_checkpoint(tmp_path / "model.safetensors", threshold=0.5)
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tiny)
    code = predict_main([str(tiny), "--checkpoint", str(ck), "--face-detector", "mtcnn"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    assert "no face" in out.splitlines()[1]


@pytest.mark.parametrize("detector", ["none", "mtcnn"])
def test_tiny_image_without_a_box_is_no_face_for_every_detector(
    tmp_path: Path, detector: str
) -> None:
    if detector == "mtcnn":
        pytest.importorskip("facenet_pytorch")
    from disentangle_fas.inference import LivenessDetector

    ck, _ = write_checkpoint(tmp_path / "model.safetensors", threshold=0.5)
    det = LivenessDetector.from_checkpoint(
        ck, face_detector=None if detector == "none" else detector
    )
    tiny = np.full((12, 30, 3), 100, np.uint8)
    result = det(tiny)
    assert not result.face_found and result.region == "none"
    assert np.isnan(result.p_live)
    boxed = det(tiny, box=(0, 0, 12, 12))  # an explicit box is scored as asked
    assert boxed.face_found and 0.0 <= boxed.p_live <= 1.0


def test_large_images_are_reduced_for_detection_and_the_box_scaled_back() -> None:
    from disentangle_fas.data.faces import DETECTION_MAX_SIDE

    det = _detector((100.0, 50.0, 300.0, 250.0))
    image = np.zeros((2000, 4000, 3), np.uint8)
    box = det(image)  # type: ignore[operator]
    seen = det._mtcnn.seen  # type: ignore[attr-defined]
    assert seen == [(DETECTION_MAX_SIDE, DETECTION_MAX_SIDE // 2)]
    assert box == pytest.approx((100.0 * 4000 / 1024, 50.0 * 2000 / 512, 300.0 * 4000 / 1024,
                                 250.0 * 2000 / 512))  # fmt: skip
    small = np.zeros((100, 200, 3), np.uint8)
    assert det(small) == (100.0, 50.0, 300.0, 250.0)  # type: ignore[operator]
    assert seen[-1] == (200, 100)  # not resized


def test_decompression_bombs_stay_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from disentangle_fas.inference.errors import InputError
    from disentangle_fas.inference.io import load_image

    path = tmp_path / "big.png"
    Image.new("RGB", (300, 300)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100 // 2)  # 300x300 > twice that
    with pytest.raises(InputError, match="not a readable image"):
        load_image(path)


CFG = PreprocessConfig(frames=2, size=32, crop_scale=1.0)


def test_changed_source_video_is_redone(tmp_path: Path) -> None:
    from disentangle_fas.data import ReplayAttack

    root = tmp_path / "replay"
    replay_videos(root)
    records = [r for r in ReplayAttack(root).records("train") if r.label == 1]
    out = tmp_path / "out"
    first = preprocess_records(records, out, CFG, progress=False)
    assert first.processed == 2
    again = preprocess_records(records, out, CFG, progress=False)
    assert again.skipped_done == 2 and again.processed == 0
    changed = Path(records[0].path)
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, new mtime
    assert source_signature(records[0])[1] == st.st_mtime_ns + 10**9
    third = preprocess_records(records, out, CFG, progress=False)
    assert third.skipped_done == 1 and third.processed == 1


def test_empty_tree_warns_zero_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "replay"
    for split in ("train", "devel", "test"):
        for kind in ("real", "attack"):
            (root / split / kind).mkdir(parents=True)
    argv = ["--dataset", "replay", "--root", str(root), "--out", str(tmp_path / "o"), "--quiet"]
    assert preprocess_main(argv) == 0
    err = capsys.readouterr().err
    assert "warning: 0 items" in err and "Traceback" not in err


WORKER_PARENT = r"""
import multiprocessing, sys, time
from disentangle_fas.data.preprocess import _pool
if __name__ == "__main__":
    pool = _pool(1, multiprocessing.get_context("spawn"), None)
    pool.submit(time.sleep, 0).result()  # the worker is up
    print(" ".join(str(p) for p in pool._processes), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has ended


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_workers_end_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(WORKER_PARENT)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert workers and all(_alive(p) for p in workers)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)


def test_unreadable_input_names_its_path_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ck, _ = write_checkpoint(tmp_path / "model.safetensors", threshold=0.5)
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    code = predict_main([str(bad), "--checkpoint", str(ck), "--face-detector", "none"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    line = next(ln for ln in err.splitlines() if "not a readable image" in ln)
    assert line.count(str(bad)) == 1


def test_ctrl_c_in_preprocess_is_one_line_and_exit_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.data.preprocess as prep

    root = tmp_path / "replay"
    replay_videos(root)
    for name in ("devel", "test"):
        (root / name / "real").mkdir(parents=True)
        (root / name / "attack").mkdir(parents=True)

    def interrupted(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(prep, "_safe_process", interrupted)
    argv = ["--dataset", "replay", "--root", str(root), "--out", str(tmp_path / "o"), "--quiet"]
    assert preprocess_main(argv) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    # The tree is a partial copy, so the data check warns first (its own line); the
    # interruption itself is one line, with no traceback.
    assert all(line.startswith("disentangle-fas preprocess: warning:") for line in lines[:-1])
    assert lines[-1].startswith("disentangle-fas preprocess: interrupted after 0 of 5 videos")
    assert not any("Traceback" in line for line in lines)
