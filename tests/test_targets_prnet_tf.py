"""convert-prnet: the official TensorFlow checkpoint layout -> this library's PRNet."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorchcv import model_provider as pytorchcv_provider

from _tf_checkpoint import official_prnet_shapes, random_prnet_weights, write_checkpoint
from disentangle_fas.cli import main as cli_main
from disentangle_fas.targets import PRNET_NUM_PARAMETERS, PRNet, load_prnet
from disentangle_fas.targets.prnet_tf import (
    convert_prnet_checkpoint,
    is_optimizer_state,
    prnet_tf_variables,
    read_prnet_checkpoint,
)
from disentangle_fas.targets.tf_bundle import TensorBundle

SLOTS = ("resfcn256/Conv/weights/Adam", "resfcn256/Conv/weights/Adam_1")


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return random_prnet_weights(seed=1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, weights: dict[str, np.ndarray]) -> Path:
    prefix = tmp_path_factory.mktemp("tf") / "256_256_resfcn256_weight"
    tensors = dict(weights)
    tensors[SLOTS[0]] = np.zeros((4, 4, 3, 16), np.float32)
    tensors[SLOTS[1]] = np.ones((4, 4, 3, 16), np.float32)
    tensors["beta1_power"] = np.array(0.9, np.float32)
    tensors["beta2_power"] = np.array(0.999, np.float32)
    tensors["global_step"] = np.array(100, np.int64)
    write_checkpoint(prefix, tensors)
    return prefix


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path) -> PRNet:
    out = tmp_path_factory.mktemp("out") / "prnet.safetensors"
    convert_prnet_checkpoint(checkpoint, out)
    return load_prnet(out)


def test_variable_table_matches_official_names_and_the_network() -> None:
    variables = prnet_tf_variables()
    assert {v.name: v.tf_shape for v in variables} == official_prnet_shapes()
    assert sum(int(np.prod(v.tf_shape)) for v in variables if v.trainable) == PRNET_NUM_PARAMETERS
    sd = PRNet().state_dict()
    keys = {v.key for v in variables}
    assert keys == {k for k in sd if not k.endswith("num_batches_tracked")}
    for v in variables:
        s = v.tf_shape
        torch_shape = (s[3], s[2], s[0], s[1]) if len(s) == 4 else s
        assert tuple(sd[v.key].shape) == torch_shape, v.name


@pytest.mark.parametrize(
    ("name", "slot"),
    [
        ("resfcn256/Conv/weights/Adam", True),
        ("resfcn256/resBlock_3/BatchNorm/beta/Adam_1", True),
        ("beta1_power", True),
        ("global_step", True),
        ("resfcn256/Conv/weights", False),
        ("resfcn256/Adamant/weights", False),
    ],
)
def test_optimizer_state_names(name: str, slot: bool) -> None:
    assert is_optimizer_state(name) is slot


def _pytorchcv_key(tf_name: str) -> str:
    """TF name -> pytorchcv PRNet key, written independently of the library's mapping."""
    enc_units = [(s, u) for s in range(1, 6) for u in (1, 2)]
    dec_units = [
        (1, 1),
        *[(s, u) for s in (2, 3, 4) for u in (1, 2, 3)],
        (5, 1),
        (5, 2),
        (6, 1),
        (6, 2),
    ]
    bn = {
        "gamma": "weight",
        "beta": "bias",
        "moving_mean": "running_mean",
        "moving_variance": "running_var",
    }
    parts = tf_name.split("/")[1:]
    idx = lambda p, base: 0 if p == base else int(p.rsplit("_", 1)[1])  # noqa: E731
    if parts[0] == "Conv":
        return "features.init_block." + (
            "conv.weight" if parts[1] == "weights" else f"bn.{bn[parts[2]]}"
        )
    if parts[0].startswith("resBlock"):
        s, u = enc_units[idx(parts[0], "resBlock")]
        unit = f"features.encoder.stage{s}.unit{u}."
        if parts[1] == "shortcut":
            return unit + "identity_conv.weight"
        if parts[1] == "BatchNorm":
            return unit + f"norm_activ.bn.{bn[parts[2]]}"
        n = idx(parts[1], "Conv") + 1
        if n == 3:
            return unit + "body.conv3.weight"
        return (
            unit
            + f"body.conv{n}."
            + ("conv.weight" if parts[2] == "weights" else f"bn.{bn[parts[3]]}")
        )
    i = idx(parts[0], "Conv2d_transpose")
    prefix = (
        f"output.conv{i - 13}."
        if i >= 14
        else "features.decoder.stage{}.unit{}.".format(*dec_units[i])
    )
    return prefix + ("conv.weight" if parts[1] == "weights" else f"bn.{bn[parts[2]]}")


def _pytorchcv_reference(weights: dict[str, np.ndarray]) -> torch.nn.Module:
    ref = pytorchcv_provider.get_model("prnet", pretrained=False)
    sd = ref.state_dict()
    for name, value in weights.items():
        key = _pytorchcv_key(name)
        t = torch.from_numpy(value)
        if t.ndim == 4:  # HWIO / HW(out)(in) -> (out, in, h, w) / (in, out, h, w)
            t = t.permute(3, 2, 0, 1)
        assert tuple(sd[key].shape) == tuple(t.shape), name
        sd[key] = t
    ref.load_state_dict(sd)
    return ref.eval()


def test_converted_network_matches_pytorchcv_with_the_same_numbers(
    converted: PRNet, weights: dict[str, np.ndarray]
) -> None:
    ref = _pytorchcv_reference(weights)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = converted.forward_normalized(x)
        theirs = ref(x)
    assert ours.std() > 1e-3  # not saturated: the comparison means something
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def _tf_same_conv_numpy(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """NHWC x HWIO with TF 'SAME' padding, by explicit loops over output pixels."""
    n, h, wd, _ = x.shape
    k = w.shape[0]
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + k - h, 0)
    pw = max((ow - 1) * stride + k - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((n, oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride : i * stride + k, j * stride : j * stride + k, :]
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def _tf_same_conv_transpose_numpy(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """NHWC x HW(out)(in) 'SAME' transposed conv: scatter every input pixel, crop."""
    n, h, wd, _ = x.shape
    k = w.shape[0]
    full = np.zeros((n, (h - 1) * stride + k, (wd - 1) * stride + k, w.shape[2]))
    for i in range(h):
        for j in range(wd):
            full[:, i * stride : i * stride + k, j * stride : j * stride + k, :] += np.einsum(
                "nc,hwoc->nhwo", x[:, i, j, :], w
            )
    before = max(k - stride, 0) // 2
    return full[:, before : before + h * stride, before : before + wd * stride, :]


def test_kernel_layouts_against_numpy_loops(
    converted: PRNet, weights: dict[str, np.ndarray]
) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 9, 9, 3))
    got = converted.stem.conv(torch.from_numpy(x).permute(0, 3, 1, 2).float())
    ref = _tf_same_conv_numpy(x, weights["resfcn256/Conv/weights"].astype(np.float64), 1)
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    x = rng.standard_normal((1, 5, 5, 64))
    got = converted.encoder[2].conv2.conv(torch.from_numpy(x[..., :32]).permute(0, 3, 1, 2).float())
    w = weights["resfcn256/resBlock_2/Conv_1/weights"].astype(np.float64)
    ref = _tf_same_conv_numpy(x[..., :32], w, 2)
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    x = rng.standard_normal((1, 4, 4, 512))
    got = converted.decoder[1].conv(torch.from_numpy(x).permute(0, 3, 1, 2).float())
    w = weights["resfcn256/Conv2d_transpose_1/weights"].astype(np.float64)
    ref = _tf_same_conv_transpose_numpy(x, w, 2)
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).detach().numpy(), ref, rtol=1e-4, atol=1e-4)


def test_batch_norm_statistics_are_carried(
    converted: PRNet, weights: dict[str, np.ndarray]
) -> None:
    bn = converted.encoder[9].bn
    scope = "resfcn256/resBlock_9/BatchNorm/"
    np.testing.assert_array_equal(bn.weight.detach().numpy(), weights[scope + "gamma"])
    np.testing.assert_array_equal(bn.bias.detach().numpy(), weights[scope + "beta"])
    np.testing.assert_array_equal(bn.running_mean.numpy(), weights[scope + "moving_mean"])
    np.testing.assert_array_equal(bn.running_var.numpy(), weights[scope + "moving_variance"])
    assert bn.eps == pytest.approx(1e-3)


def _variant(tmp_path: Path, weights: dict[str, np.ndarray], change: str) -> Path:
    tensors = dict(weights)
    if change == "missing":
        del tensors["resfcn256/Conv2d_transpose_16/BatchNorm/moving_variance"]
    elif change == "extra":
        tensors["resfcn256/Conv/biases"] = np.zeros(16, np.float32)
    elif change == "misshapen":
        tensors["resfcn256/resBlock_4/Conv_1/weights"] = np.zeros((3, 3, 64, 64), np.float32)
    elif change == "transposed":
        tensors["resfcn256/Conv2d_transpose_1/weights"] = np.zeros((4, 4, 512, 256), np.float32)
    prefix = tmp_path / "ckpt"
    write_checkpoint(prefix, tensors)
    return prefix


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "missing",
            "1 missing model variables ['resfcn256/Conv2d_transpose_16/BatchNorm/moving_variance']",
        ),
        ("extra", "1 unexpected variables ['resfcn256/Conv/biases']"),
        (
            "misshapen",
            "resBlock_4/Conv_1/weights has shape [3, 3, 64, 64], resfcn256 needs [4, 4, 64, 64]",
        ),
        ("transposed", "Conv2d_transpose_1/weights has shape [4, 4, 512, 256]"),
    ],
)
def test_refuses_checkpoints_that_are_not_resfcn256(
    tmp_path: Path, weights: dict[str, np.ndarray], change: str, message: str
) -> None:
    prefix = _variant(tmp_path, weights, change)
    with pytest.raises(ValueError, match=re.escape(message)):
        read_prnet_checkpoint(prefix)
    out = tmp_path / "prnet.safetensors"
    assert cli_main(["convert-prnet", str(prefix), "--out", str(out)]) == 2
    assert not out.exists()


def test_cli_converts_and_reports_errors_in_one_line(
    tmp_path: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "prnet.safetensors"
    assert cli_main(["convert-prnet", str(checkpoint), "--out", str(out)]) == 0
    assert "13,353,618" in capsys.readouterr().out
    assert load_prnet(out).weights_source == str(out)
    assert cli_main(["convert-prnet", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("disentangle-fas convert-prnet: error:") and "nothing" in err
    assert len(err.splitlines()) == 1


def test_index_written_by_tensorflow(tmp_path: Path) -> None:
    """``tests/data/tf_resfcn256.index``: the index of a checkpoint written by TensorFlow 2.21
    (``tf.compat.v1.train.Saver``) for resfcn256 with the official names, Adam slots
    included (its 160 MB data file is not kept)."""
    index = Path(__file__).parent / "data" / "tf_resfcn256.index"
    prefix = tmp_path / "ckpt"
    (tmp_path / "ckpt.index").write_bytes(index.read_bytes())
    bundle = TensorBundle(prefix)
    assert len(bundle.entries) == 245 + 2 * 149 + 2  # variables, 2 Adam slots per trainable, powers
    model = {n: e.shape for n, e in bundle.entries.items() if not is_optimizer_state(n)}
    assert model == official_prnet_shapes()
    assert {e.dtype_name for e in bundle.entries.values()} == {"float32"}
    assert all(e.crc32c is not None for e in bundle.entries.values())
    with pytest.raises(FileNotFoundError, match="data file"):
        read_prnet_checkpoint(prefix)  # names and shapes pass; the data is absent
