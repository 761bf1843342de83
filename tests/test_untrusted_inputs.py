"""Inputs that could hang a command or be read wrong: FIFOs and devices are refused at
once, 16-bit and float images keep their real range, lists and manifests are UTF-8 (with or
without a byte-order mark) or refused naming the file and line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disentangle_fas._io import check_regular_file, read_text_file
from disentangle_fas.data.adapters.listfile import ListAdapter
from disentangle_fas.data.manifest import read_manifest
from disentangle_fas.data.store import pack_store
from disentangle_fas.imaging import float_to_uint8, pil_to_rgb8
from disentangle_fas.inference.io import load_image


def _gradient() -> np.ndarray:
    return np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))  # (16, 64), 0..252


def test_a_16_bit_png_reads_as_its_8_bit_twin(tmp_path: Path) -> None:
    g8 = _gradient()
    Image.fromarray(g8).save(tmp_path / "g8.png")
    Image.fromarray(g8.astype(np.uint16) * 257).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I;16")
    a, b = load_image(tmp_path / "g8.png"), load_image(tmp_path / "g16.png")
    assert a.shape == b.shape == (16, 64, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() == 0
    # what a plain convert("RGB") gave: every value above 255 clipped to white
    clipped = np.asarray(Image.open(tmp_path / "g16.png").convert("RGB"))
    assert (clipped[:, 1:] == 255).all()


def test_wide_modes_against_a_hand_computation() -> None:
    values = np.array([[0, 1000, 65535]], dtype=np.int32)
    out = pil_to_rgb8(Image.fromarray(values, mode="I"))
    assert out[0, :, 0].tolist() == [0, round(1000 * 255 / 65535), 255]
    small = pil_to_rgb8(Image.fromarray(np.array([[0, 100, 255]], dtype=np.int32), mode="I"))
    assert small[0, :, 1].tolist() == [0, 100, 255]
    f = pil_to_rgb8(Image.fromarray(np.array([[0.0, 0.5, 1.0, 2.0]], dtype=np.float32), mode="F"))
    assert f[0, :, 2].tolist() == [0, 128, 255, 255]
    assert float_to_uint8(np.array([np.nan, -1.0, 0.25])).tolist() == [0, 0, 64]
    rgba = Image.new("RGBA", (2, 2), (10, 20, 30, 0))
    assert pil_to_rgb8(rgba)[0, 0].tolist() == [10, 20, 30]


def test_fifos_and_devices_are_refused_at_once(tmp_path: Path, alarm: None) -> None:
    fifo = tmp_path / "face.png"
    os.mkfifo(fifo)
    for reader in (load_image, read_manifest, lambda p: read_text_file(p, "list")):
        with pytest.raises(ValueError, match="a FIFO"):
            reader(fifo)
    with pytest.raises(ValueError, match="a device"):
        check_regular_file("/dev/zero", "image")


def test_pack_refuses_a_fifo_in_a_manifest_before_any_work(tmp_path: Path, alarm: None) -> None:
    crops = tmp_path / "crops"
    crops.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(crops / "a.png")
    os.mkfifo(crops / "b.png")
    line = '{{"path": "crops/{}", "label": 1, "attack": 0, "domain": "X", "subject": "s", "split": "train", "video_id": "X:{}", "frame": 0}}'
    (tmp_path / "manifest.jsonl").write_text(
        line.format("a.png", "a") + "\n" + line.format("b.png", "b") + "\n"
    )
    with pytest.raises(ValueError, match=r"b\.png: the crop listed in .* is a FIFO"):
        pack_store(tmp_path / "manifest.jsonl", tmp_path / "store", progress=False)
    assert not (tmp_path / "store" / "train.npy").exists()


def _list_csv(tmp_path: Path, data: bytes) -> Path:
    (tmp_path / "v.png").write_bytes(b"")
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    return path


def test_a_csv_list_with_a_byte_order_mark_reads_like_one_without(tmp_path: Path) -> None:
    text = "path,label,domain,subject\nv.png,1,X,s1\n"
    plain = ListAdapter(_list_csv(tmp_path, text.encode())).records()
    bom = ListAdapter(_list_csv(tmp_path, b"\xef\xbb\xbf" + text.encode())).records()
    assert [r.labels() for r in plain] == [r.labels() for r in bom] and len(bom) == 1


def test_a_latin1_list_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    data = "path,label,domain,subject\nv.png,1,X,s1\ncafé.png,0,X,s2\n".encode("latin-1")
    path = _list_csv(tmp_path, data)
    with pytest.raises(
        ValueError, match=r"list\.csv:3: the list file is not UTF-8 text \(byte 0xe9\)"
    ):
        ListAdapter(path).records()


def test_an_annotation_naming_any_file_is_not_copied_into_the_report(tmp_path: Path) -> None:
    from disentangle_fas.data.pipeline import PreprocessConfig
    from disentangle_fas.data.preprocess import preprocess_records
    from disentangle_fas.data.records import Record

    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:SECRET-TOKEN:/root:/bin/bash\n")
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(image)
    record = Record(
        path=image, label=1, attack=0, domain="X", subject="s", split="train",
        video_id="X:a", box_source="face_file", annotation=secret,
    )  # fmt: skip
    out = tmp_path / "out"
    preprocess_records([record], out, PreprocessConfig(frames=1, size=32), progress=False)
    report = (out / "report.json").read_text()
    assert "bad_annotation" in report and "field 1 is not one" in report
    assert "SECRET-TOKEN" not in report and "root:x" not in report


def test_a_huge_box_on_a_large_image_is_refused_before_its_canvas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from disentangle_fas.data.faces import crop_face
    from disentangle_fas.limits import MEMORY_LIMIT_ENV, MemoryLimitError

    image = np.zeros((64, 64, 3), np.uint8)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0.001")  # 1 MB: a 512-px canvas (1.5 MB) is over
    with pytest.raises(MemoryLimitError, match=r"cropping the 512x512 face box .* about"):
        crop_face(image, (0, 0, 512, 512), size=32, scale=1.0)
    assert crop_face(image, (0, 0, 64, 64), size=32, scale=1.0).shape == (32, 32, 3)


def test_a_truncated_training_state_names_its_file(tmp_path: Path) -> None:
    import torch

    from disentangle_fas.training.state import load_training_state, save_training_state

    net = torch.nn.Linear(4, 2)
    opt = torch.optim.AdamW(net.parameters())
    path = save_training_state(
        tmp_path / "state.safetensors", step=3, model=net, optimizer=opt, generators={}, history=[]
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"state\.safetensors: not a readable training state"):
        load_training_state(path, model=net, optimizer=opt, generators={})
    path.write_bytes(data)
    assert load_training_state(path, model=net, optimizer=opt, generators={}).step == 3


def test_a_bad_crop_read_by_a_dataloader_worker_is_named(tmp_path: Path) -> None:
    import torch.utils.data

    from disentangle_fas.data.datasets import ImageFolderDataset
    from disentangle_fas.errors import classify

    (tmp_path / "crops").mkdir()
    (tmp_path / "crops" / "bad.png").write_bytes(b"not a png")
    line = '{"path": "crops/bad.png", "label": 1, "attack": 0, "domain": "X", "subject": "s", "split": "train", "video_id": "X:b", "frame": 0}'
    (tmp_path / "manifest.jsonl").write_text(line + "\n")
    loader = torch.utils.data.DataLoader(
        ImageFolderDataset(tmp_path / "manifest.jsonl"), num_workers=1
    )
    with pytest.raises(Exception) as info:
        next(iter(loader))
    code, message = classify(info.value)
    assert code == 2
    assert "bad.png: cannot read the crop" in message and "\n" not in message, message


def test_names_that_are_not_utf8_become_valid_text() -> None:
    import json

    from disentangle_fas._io import path_text
    from disentangle_fas.data.records import Record
    from disentangle_fas.inference.results import LivenessResult

    raw = b"caf\xe9.png".decode("utf-8", "surrogateescape")  # how Python reads the name
    assert path_text(raw) == "caf\\xe9.png" and path_text("张三.png") == "张三.png"
    record = Record(
        path=Path(raw), label=1, attack=0, domain="X", subject="s", split="train",
        video_id=f"X:{raw}",
    )  # fmt: skip
    assert record.video_id == "X:caf\\xe9.png"
    result = LivenessResult(
        p_live=0.7, is_live=True, threshold=0.5, box=None, face_found=False, source=raw
    )
    text = json.dumps(result.to_dict(), ensure_ascii=False)
    assert "caf\\\\xe9.png" in text
    text.encode("utf-8")  # valid UTF-8: no lone surrogate left
