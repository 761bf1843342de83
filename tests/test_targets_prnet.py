"""PRNet (resfcn256): architecture, TensorFlow 'SAME' semantics, equality with pytorchcv."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from pytorchcv import model_provider as pytorchcv_provider
from torch import nn

from disentangle_fas.targets import POSITION_SCALE, PRNET_NUM_PARAMETERS, PRNet, load_prnet
from disentangle_fas.targets.prnet import Conv2dSame, ConvTranspose2dSame, tf_same_padding


def _randomize_and_calibrate(net: nn.Module, seed: int) -> nn.Module:
    """Random BN affine parameters, then running stats measured on random images.

    Calibrated (rather than arbitrary) running statistics keep activations at unit scale
    through all 44 layers, so the output is not saturated and the comparison is sharp.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.4 - 0.2)
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
        net.train()
        net(torch.rand(1, 3, 256, 256, generator=gen))
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.mul_(torch.rand(m.running_var.shape, generator=gen) * 0.2 + 0.9)
    return net.eval()


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    torch.manual_seed(0)
    ref = pytorchcv_provider.get_model("prnet", pretrained=False)
    return _randomize_and_calibrate(ref, seed=1)


def _copy_positionally(src: nn.Module, dst: nn.Module) -> None:
    """Copy weights by registration order -- independent of the key mapping under test."""
    src_sd, dst_sd = src.state_dict(), dst.state_dict()
    assert len(src_sd) == len(dst_sd)
    with torch.no_grad():
        for (ks, vs), (kd, vd) in zip(src_sd.items(), dst_sd.items(), strict=True):
            assert vs.shape == vd.shape, (ks, kd)
            vd.copy_(vs)


def _copied_prnet(reference: nn.Module) -> PRNet:
    """Our PRNet in eval mode with the reference's weights, copied positionally."""
    net = PRNet()
    _copy_positionally(reference, net)
    return net.eval()


def test_parameter_count() -> None:
    net = PRNet()
    assert sum(p.numel() for p in net.parameters()) == 13_353_618 == PRNET_NUM_PARAMETERS
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(m.bias is None for m in convs)
    assert sum(isinstance(m, ConvTranspose2dSame) for m in convs) == 17
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, nn.BatchNorm2d))


def test_output_shape_and_range() -> None:
    torch.manual_seed(0)
    net = PRNet().eval()
    with torch.no_grad():
        pos = net(torch.rand(1, 3, 256, 256))
        small = torch.rand(1, 3, 64, 64)  # any multiple of 32 runs; cheaper for this check
        torch.testing.assert_close(net(small), net.forward_normalized(small) * 281.6)
    assert pos.shape == (1, 3, 256, 256)
    assert float(pos.min()) >= 0.0 and float(pos.max()) <= 256 * 1.1
    assert abs(POSITION_SCALE - 281.6) < 1e-9


def test_bad_input_shapes() -> None:
    net = PRNet()
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        net(torch.rand(1, 1, 256, 256))
    with pytest.raises(ValueError, match="divisible by 32"):
        net(torch.rand(1, 3, 250, 256))


@pytest.mark.parametrize(
    ("n", "k", "s", "expected"),
    [
        (256, 4, 1, (1, 2)),  # asymmetric: TF pads more after
        (256, 4, 2, (1, 1)),
        (5, 4, 2, (1, 2)),  # odd input, strided: asymmetric again
        (7, 3, 2, (1, 1)),
        (6, 3, 2, (0, 1)),
        (8, 1, 2, (0, 0)),
        (8, 1, 1, (0, 0)),
    ],
)
def test_tf_same_padding_known_values(n: int, k: int, s: int, expected: tuple[int, int]) -> None:
    assert tf_same_padding(n, k, s) == expected


def _conv_tf_reference(x: torch.Tensor, w: torch.Tensor, stride: int) -> torch.Tensor:
    """TF 'SAME' conv written as a hand loop over output pixels (pad as TF documents)."""
    _, _, h, wd = x.shape
    k = w.shape[-1]
    out_h, out_w = -(-h // stride), -(-wd // stride)
    pad_h = max((out_h - 1) * stride + k - h, 0)
    pad_w = max((out_w - 1) * stride + k - wd, 0)
    top, left = pad_h // 2, pad_w // 2
    xp = torch.zeros(x.shape[0], x.shape[1], h + pad_h, wd + pad_w, dtype=x.dtype)
    xp[:, :, top : top + h, left : left + wd] = x
    out = torch.zeros(x.shape[0], w.shape[0], out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            patch = xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, :, i, j] = torch.einsum("bchw,ochw->bo", patch, w)
    return out


@given(
    h=st.integers(3, 11),
    w=st.integers(3, 11),
    k=st.sampled_from([1, 2, 3, 4]),
    s=st.sampled_from([1, 2]),
)
def test_conv2d_same_matches_tf_reference(h: int, w: int, k: int, s: int) -> None:
    torch.manual_seed(h * 100 + w * 10 + k + s)
    conv = Conv2dSame(2, 3, k, s).double()
    x = torch.randn(1, 2, h, w, dtype=torch.float64)
    got = conv(x)
    assert got.shape[-2:] == (-(-h // s), -(-w // s))
    torch.testing.assert_close(got, _conv_tf_reference(x, conv.weight, s))


@given(
    n=st.integers(2, 9),
    k=st.sampled_from([1, 2, 3, 4]),
    s=st.sampled_from([1, 2]),
)
def test_conv_transpose_same_is_adjoint_of_conv_same(n: int, k: int, s: int) -> None:
    """TF's conv2d_transpose is the gradient of its 'SAME' conv2d from n*s to n pixels."""
    torch.manual_seed(n * 10 + k + s)
    deconv = ConvTranspose2dSame(3, 2, k, s).double()  # weight (3, 2, k, k)
    y = torch.randn(1, 3, n, n, dtype=torch.float64)
    x = torch.zeros(1, 2, n * s, n * s, dtype=torch.float64, requires_grad=True)
    # conv from 2 to 3 channels with the same tensor as weight (out=3, in=2)
    forward = _conv_tf_reference(x, deconv.weight, s)
    assert forward.shape == y.shape
    (grad,) = torch.autograd.grad((forward * y).sum(), x)
    got = deconv(y)
    assert got.shape == (1, 2, n * s, n * s)
    torch.testing.assert_close(got, grad)


@pytest.mark.slow
def test_prnet_equals_pytorchcv_float64(reference: nn.Module) -> None:
    net = _copied_prnet(reference)
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = net.double().forward_normalized(x.double())
        theirs = copy.deepcopy(reference).double()(x.double())
    assert float(theirs.std()) > 0.05  # not saturated: a meaningful comparison
    assert (ours - theirs).abs().max().item() < 1e-5
    assert (ours - theirs).abs().max().item() < 1e-10  # in fact equal up to fp64 rounding


def test_prnet_equals_pytorchcv_float32(reference: nn.Module) -> None:
    net = _copied_prnet(reference)
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = net.forward_normalized(x)
        theirs = reference(x)
    # float32 through 44 layers: the two implementations order their sums differently
    # (padding folded into the conv vs an explicit pad), so they agree to ~1e-5, not bitwise.
    assert (ours - theirs).abs().mean().item() < 1e-5
    assert (ours - theirs).abs().max().item() < 1e-4


@pytest.mark.slow
def test_load_pytorchcv_layout_file(reference: nn.Module, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    sd = {k: v.contiguous() for k, v in reference.state_dict().items()}
    torch.save(sd, tmp_path / "prnet_pytorchcv.pt")
    save_file(sd, str(tmp_path / "prnet_pytorchcv.safetensors"))
    net = load_prnet(tmp_path / "prnet_pytorchcv.pt")
    from_st = load_prnet(tmp_path / "prnet_pytorchcv.safetensors")
    assert net.weights_source == str(tmp_path / "prnet_pytorchcv.pt")
    assert not net.training
    for key, value in net.state_dict().items():
        assert torch.equal(value, from_st.state_dict()[key]), key
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ours = net.double().forward_normalized(x.double())
        theirs = copy.deepcopy(reference).double()(x.double())
    assert (ours - theirs).abs().max().item() < 1e-5


def test_pad_semantics_differ_from_symmetric_padding() -> None:
    """Sanity check that the asymmetric pad matters: a symmetric pad gives other values."""
    torch.manual_seed(0)
    conv = Conv2dSame(1, 1, 4, 1).double()
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64)
    sym = F.conv2d(F.pad(x, (2, 1, 2, 1)), conv.weight)
    assert sym.shape == conv(x).shape
    assert not torch.allclose(sym, conv(x))
