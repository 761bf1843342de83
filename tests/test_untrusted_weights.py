"""Weights and checkpoint metadata are untrusted input: refused with one line and the
documented exit code before anything scores with them, never loaded and scored wrongly."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from disentangle_fas.checkpoint import _META_KEY, load_model, read_metadata, save_model
from disentangle_fas.checkpoint_meta import validate_metadata
from disentangle_fas.cli import main as cli_main
from disentangle_fas.encoders import create_encoder
from disentangle_fas.errors import EXIT_NONFINITE, EXIT_USAGE, NonFiniteWeightsError, classify
from disentangle_fas.limits import (
    MEMORY_LIMIT_ENV,
    MemoryLimitError,
    check_memory,
    inference_bytes,
    memory_limit,
)
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.weights import check_weights, load_state_dict_file


def _model() -> DisentangledFAS:
    torch.manual_seed(0)
    cfg = ModelConfig(num_domains=3, depth=10, image_size=32, content_shape=(1, 8, 8))
    return DisentangledFAS.from_config(cfg, warn_random=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(_model(), tmp_path_factory.mktemp("ck") / "m.safetensors", threshold=0.4)


def _craft(src: Path, dest: Path, change: Callable[[Any], Any]) -> Path:
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()[_META_KEY])
    meta = change(meta)
    save_file(load_file(str(src)), str(dest), metadata={_META_KEY: json.dumps(meta)})
    return dest


def _set(path: list[str], value: Any) -> Callable[[Any], Any]:
    def change(meta: Any) -> Any:
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return meta

    return change


# ---- check_weights -------------------------------------------------------------------


def test_check_weights_names_nonfinite_tensors_and_wrong_kinds() -> None:
    own = {"w": torch.zeros(2), "n": torch.zeros((), dtype=torch.long)}
    check_weights({"w": torch.ones(2), "n": torch.tensor(3)}, "f", own)  # fine
    with pytest.raises(
        NonFiniteWeightsError, match=r"f: NaN or infinite values in 1 tensor\(s\) \['w'\]"
    ):
        check_weights({"w": torch.tensor([0.0, float("inf")])}, "f", own)
    with pytest.raises(
        ValueError, match=r"'w' is torch\.int8 where the model holds torch\.float32"
    ):
        check_weights({"w": torch.ones(2, dtype=torch.int8)}, "f", own)
    with pytest.raises(
        ValueError, match=r"'n' is torch\.float32 where the model holds torch\.int64"
    ):
        check_weights({"n": torch.tensor(1.0)}, "f", own)
    with pytest.raises(ValueError, match="complex"):
        check_weights({"w": torch.ones(2, dtype=torch.complex64)}, "f")
    with pytest.warns(UserWarning, match="torch.float16 are loaded into torch.float32"):
        check_weights({"w": torch.ones(2, dtype=torch.float16)}, "f", own)
    assert classify(NonFiniteWeightsError("x"))[0] == EXIT_NONFINITE


def _imagenet_file(tmp_path: Path, change: Callable[[dict[str, torch.Tensor]], None]) -> Path:
    from torchvision.models import resnet18

    sd = resnet18().state_dict()  # torchvision's layout, as ImageNet weights come
    change(sd)
    path = tmp_path / "imagenet.pth"
    torch.save(sd, path)
    return path


def test_imagenet_weights_nan_int64_and_fp16(tmp_path: Path) -> None:
    def nan(sd: dict[str, torch.Tensor]) -> None:
        sd["layer1.0.conv1.weight"][0, 0, 0, 0] = float("nan")

    with pytest.raises(NonFiniteWeightsError, match=r"layer1\.0\.conv1\.weight"):
        create_encoder("resnet18", weights=_imagenet_file(tmp_path, nan))

    def int64(sd: dict[str, torch.Tensor]) -> None:
        sd["conv1.weight"] = sd["conv1.weight"].long()

    with pytest.raises(ValueError, match="wrong kind"):
        create_encoder("resnet18", weights=_imagenet_file(tmp_path, int64))

    def half(sd: dict[str, torch.Tensor]) -> None:
        for k, v in sd.items():
            if v.is_floating_point():
                sd[k] = v.half()

    with pytest.warns(UserWarning, match="float16"):
        enc = create_encoder("resnet18", weights=_imagenet_file(tmp_path, half))
    assert next(enc.parameters()).dtype == torch.float32


def test_fifo_and_devices_are_refused_at_once(tmp_path: Path, saved: Path, alarm: None) -> None:
    fifo = tmp_path / "weights.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="a FIFO"):
        load_state_dict_file(fifo)
    with pytest.raises(ValueError, match="a FIFO"):
        read_metadata(fifo)
    with pytest.raises(ValueError, match="a device"):
        load_state_dict_file("/dev/zero")
    with pytest.raises(ValueError, match="a folder"):
        load_state_dict_file(tmp_path)
    from disentangle_fas.checkpoint import load_weights

    with pytest.raises(ValueError, match="a FIFO"):
        load_weights(fifo, _model())


# ---- checkpoint metadata ---------------------------------------------------------------

CRAFTED: list[tuple[str, Callable[[Any], Any], str]] = [
    ("list", lambda m: [m], "metadata is a JSON list, not an object"),
    ("kind", _set(["kind"], "no-such-kind"), "unknown model kind 'no-such-kind'"),
    ("config-key", _set(["config", "evil"], 1), "config keys unknown to kind"),
    ("config-nan", _set(["config", "margin"], float("nan")), "config 'margin' is not finite"),
    ("mean-nan", _set(["input", "mean"], [float("nan"), 0, 0]), "mean and std must be finite"),
    ("std-zero", _set(["input", "std"], [0, 1, 1]), "std values must be positive"),
    ("size-float", _set(["input", "image_size"], 32.5), "image_size must be an integer"),
    ("size-huge", _set(["input", "image_size"], 100000), "must lie in [1, 4096]"),
    ("threshold-neg", _set(["threshold"], -1), "not a P(live) in [0, 1]"),
    ("threshold-nan", _set(["threshold"], float("nan")), "not a P(live) in [0, 1]"),
    ("threshold-str", _set(["threshold"], "0.5"), "'threshold' must be int or float or null"),
    ("info-list", _set(["info"], [1]), "'info' must be dict or null"),
    ("backbone-hub", _set(["config", "backbone"], "timm:hf-hub:attacker/evil"), "hub"),
]


@pytest.mark.parametrize(("name", "change", "message"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_metadata_is_refused_in_one_line(
    name: str,
    change: Callable[[Any], Any],
    message: str,
    saved: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = _craft(saved, tmp_path / f"{name}.safetensors", change)
    with pytest.raises(ValueError) as info:
        load_model(bad)
    assert message in str(info.value)
    image = tmp_path / "face.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(image)
    capsys.readouterr()
    assert (
        cli_main(["predict", "--checkpoint", str(bad), "--box", "0,0,40,40", str(image)])
        == EXIT_USAGE
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and "Traceback" not in err


def test_the_input_size_is_held_to_the_memory_limit(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert memory_limit() == 2_000_000_000
    big = _craft(saved, tmp_path / "big.safetensors", _set(["input", "image_size"], 4096))
    with pytest.raises(MemoryLimitError, match=rf"about \d+\.\d GB.*{MEMORY_LIMIT_ENV}"):
        read_metadata(big)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64")
    assert read_metadata(big)["input"]["image_size"] == 4096
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "-3")
    with pytest.raises(ValueError, match="positive number of GB"):
        memory_limit()


def test_inference_bytes_matches_a_measured_forward() -> None:
    """The estimate bounds the stem's activations of a real forward from above."""
    enc = create_encoder("resnet18").eval()
    sizes: list[int] = []

    def hook(_m: Any, _i: Any, out: torch.Tensor) -> None:
        sizes.append(out.numel() * out.element_size())

    for m in enc.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(hook)
    with torch.no_grad():
        enc(torch.rand(1, 3, 96, 96))
    assert inference_bytes(96) >= 2 * max(sizes)
    assert inference_bytes(96) <= 20 * max(sizes)  # an estimate, not a blanket refusal
    check_memory(inference_bytes(256), "a 256-px image")  # the paper's size passes


def test_validate_accepts_what_save_model_writes(saved: Path) -> None:
    meta = read_metadata(saved)
    assert validate_metadata(meta, saved) is meta and load_model(saved).threshold == 0.4


# ---- convert-prnet -------------------------------------------------------------------


def test_convert_prnet_refuses_nan_weights_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from _tf_checkpoint import random_prnet_weights, write_checkpoint

    weights = random_prnet_weights(seed=3)
    key = next(k for k in weights if k.endswith("weights"))
    weights[key] = weights[key].copy()
    weights[key].flat[0] = np.nan
    prefix = tmp_path / "ckpt"
    write_checkpoint(prefix, weights)
    out = tmp_path / "prnet.safetensors"
    assert cli_main(["convert-prnet", str(prefix), "--out", str(out)]) == EXIT_NONFINITE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "NaN or infinite" in err and not out.exists()
    assert cli_main(["convert-prnet", str(tmp_path / "none"), "--out", "/proc/x"]) == EXIT_USAGE
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_nan_weights_exit_3_from_every_command(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tensors = load_file(str(saved))
    key = next(k for k, v in tensors.items() if v.is_floating_point() and v.ndim > 1)
    tensors[key] = tensors[key].clone().fill_(float("nan"))
    with safe_open(str(saved), framework="pt") as f:
        meta = f.metadata()
    bad = tmp_path / "nan.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    image = tmp_path / "face.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(image)
    for args in (
        ["predict", "--checkpoint", str(bad), "--box", "0,0,40,40", str(image)],
        ["export", "--checkpoint", str(bad), "--onnx", str(tmp_path / "m.onnx")],
        ["evaluate", str(bad), "--synthetic-eval-per-domain", "4"],
    ):
        capsys.readouterr()
        assert cli_main(args) == EXIT_NONFINITE, args[0]
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and key in err and str(bad) in err
    assert not (tmp_path / "m.onnx").exists()


def test_export_image_size_is_held_to_the_memory_limit(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.onnx"
    args = ["export", "--checkpoint", str(saved), "--onnx", str(out), "--image-size", "4000"]
    assert cli_main(args) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "would need about" in err and MEMORY_LIMIT_ENV in err
    assert not out.exists()
