from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disentangle_fas.cli import main
from disentangle_fas.inference import LivenessDetector
from disentangle_fas.inference.cli import export_main, predict_main
from test_inference_support import photo, ramp_frames, write_checkpoint, write_video

FACE = (10.0, 10.0, 40.0, 40.0)  # inside both the photo and the 64x48 video


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    ck, _ = write_checkpoint(root / "model.safetensors", threshold=0.3)
    image, _ = photo()
    img = root / "inputs" / "face.png"
    img.parent.mkdir()
    Image.fromarray(image).save(img)
    gray = root / "inputs" / "gray.jpg"
    Image.fromarray(image).convert("L").save(gray)
    vid = write_video(root / "inputs" / "clip.mp4", ramp_frames(10))
    bad = root / "corrupt.jpg"
    bad.write_bytes(np.random.default_rng(0).bytes(1000))
    return {"ck": ck, "img": img, "gray": gray, "vid": vid, "bad": bad, "dir": img.parent}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = predict_main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def common(files: dict[str, Path]) -> list[str]:
    return ["--checkpoint", str(files["ck"]), "--face-detector", "none", "--frames", "3"]


def test_table_output(files, capsys):
    code, out, _ = run([str(files["img"]), str(files["vid"]), *common(files)], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == [
        "path",
        "kind",
        "frames",
        "p_live",
        "verdict",
        "threshold",
        "region",
    ]
    assert lines[1].startswith(str(files["img"])) and " image " in lines[1]
    assert lines[2].startswith(str(files["vid"])) and " video " in lines[2] and "3/3" in lines[2]
    assert "whole-image" in lines[1] and "0.3000" in lines[1]


def test_json_lines_match_the_library(files, capsys):
    code, out, _ = run(
        [str(files["img"]), str(files["vid"]), "--json", "--box", "10,10,40,40", *common(files)],
        capsys,
    )
    assert code == 0
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["kind"] for r in rows] == ["image", "video"]
    det = LivenessDetector.from_checkpoint(files["ck"], face_detector=None)
    assert rows[0]["p_live"] == pytest.approx(det(files["img"], box=FACE).p_live, abs=1e-6)
    assert rows[0]["region"] == "box" and rows[0]["box"] == list(FACE)
    assert rows[0]["threshold"] == pytest.approx(0.3)
    assert rows[0]["is_live"] == (rows[0]["p_live"] >= 0.3)
    assert rows[1]["num_frames"] == 3 and len(rows[1]["frame_scores"]) == 3
    assert rows[1]["p_live"] == pytest.approx(np.mean(rows[1]["frame_scores"]), abs=1e-9)


@pytest.mark.parametrize("threshold", ["0", "1"])
def test_verdicts_do_not_change_the_exit_code(files, capsys, threshold):
    code, out, _ = run(
        [str(files["img"]), "--json", "--threshold", threshold, *common(files)], capsys
    )
    assert code == 0
    assert json.loads(out)["is_live"] is (threshold == "0")


def test_bad_file_is_reported_and_the_rest_still_scored(files, capsys):
    argv = [str(files["bad"]), str(files["img"]), str(files["bad"].with_name("gone.png"))]
    code, out, err = run([*argv, *common(files)], capsys)
    assert code == 1
    assert str(files["img"]) in out and "corrupt.jpg" in err and "gone.png" in err
    assert "2 of 3 inputs failed" in err
    code, out, _ = run([*argv, "--json", *common(files)], capsys)
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 1 and len(rows) == 3
    assert "not a readable image" in rows[0]["error"] and "p_live" in rows[1]
    assert "not found" in rows[2]["error"]


def test_directories_are_expanded(files, capsys):
    code, out, _ = run([str(files["dir"]), "--json", *common(files)], capsys)
    assert code == 0
    names = [Path(json.loads(line)["source"]).name for line in out.strip().splitlines()]
    assert names == ["clip.mp4", "face.png", "gray.jpg"]


def test_bad_checkpoint_exits_2(files, tmp_path, capsys):
    not_ck = tmp_path / "x.safetensors"
    shutil.copy(files["img"], not_ck)
    code, _, err = run([str(files["img"]), "--checkpoint", str(not_ck)], capsys)
    assert code == 2 and "not a usable disentangle-fas checkpoint" in err
    code, _, err = run([str(files["img"]), "--checkpoint", str(tmp_path / "none")], capsys)
    assert code == 2 and "not found" in err


@pytest.mark.parametrize(
    "extra", [["--box", "1,2,3"], ["--box", "5,5,1,9"], ["--frames", "0"], ["--bogus"]]
)
def test_bad_arguments_exit_2(files, capsys, extra):
    code, _, err = run([str(files["img"]), *common(files), *extra], capsys)
    assert code == 2 and "usage" in err


def test_help_and_dispatch(files, capsys):
    assert predict_main(["--help"]) == 0
    assert "P(live)" in capsys.readouterr().out
    code = main(["predict", str(files["gray"]), "--json", *common(files)])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out)["kind"] == "image"


def test_export_command(files, tmp_path, capsys):
    pytest.importorskip("onnx")
    out_path = tmp_path / "m.onnx"
    code = main(["export", "--onnx", str(out_path), "--checkpoint", str(files["ck"])])
    assert code == 0 and out_path.is_file()
    assert "threshold 0.3" in capsys.readouterr().out
    ort = pytest.importorskip("onnxruntime")
    meta = ort.InferenceSession(str(out_path)).get_modelmeta().custom_metadata_map
    assert float(meta["threshold"]) == 0.3 and meta["threshold_strategy"] == "test"
    code = export_main(["--onnx", str(out_path), "--checkpoint", str(files["img"])])
    assert code == 2 and "checkpoint" in capsys.readouterr().err
    assert export_main(["--checkpoint", str(files["ck"])]) == 2  # --onnx is required


def test_export_liveness_writes_the_inference_path_only(files, tmp_path, capsys):
    live = tmp_path / "live.safetensors"
    assert export_main(["--checkpoint", str(files["ck"]), "--liveness", str(live)]) == 0
    assert "the inference path only" in capsys.readouterr().out
    assert live.stat().st_size < files["ck"].stat().st_size  # E_C, E_D, C_D, D_C left out
    scores = []
    for ck in (files["ck"], live):
        code, out, _ = run([str(files["img"]), "--json", "--checkpoint", str(ck),
                            "--face-detector", "none"], capsys)  # fmt: skip
        row = json.loads(out.strip().splitlines()[-1])
        scores.append((row["p_live"], row["threshold"]))
        assert code == 0
    assert scores[0] == scores[1] and scores[0][1] == 0.3
    assert export_main(["--checkpoint", str(files["ck"])]) == 2  # nothing to write
    assert "pass --onnx OUT.onnx and/or --liveness" in capsys.readouterr().err
