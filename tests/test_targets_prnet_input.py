"""PRNet's input convention (re-crop) and the face-region depth range of PRNetTarget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.transform import estimate_transform, warp

from disentangle_fas.data.faces import crop_face
from disentangle_fas.targets import PRNet, PRNetTarget
from disentangle_fas.targets.prnet_target import load_face_ind, prnet_recrop


def _smooth_image(h: int = 480, w: int = 640) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack(
        [
            0.5 + 0.4 * np.sin(xx / 37.0),
            0.5 + 0.4 * np.cos(yy / 29.0),
            0.5 + 0.4 * np.sin((xx + yy) / 53.0),
        ],
        axis=-1,
    )
    return (img * 255).round().astype(np.uint8)


def _official_prnet_crop(
    image: np.ndarray, left: float, right: float, top: float, bottom: float
) -> np.ndarray:
    """PRNet's api.py crop for a [left, right, top, bottom] box, with scikit-image."""
    old_size = (right - left + bottom - top) / 2
    center = np.array([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0])
    size = int(old_size * 1.6)
    src = np.array(
        [
            [center[0] - size / 2, center[1] - size / 2],
            [center[0] - size / 2, center[1] + size / 2],
            [center[0] + size / 2, center[1] - size / 2],
        ]
    )
    dst = np.array([[0, 0], [0, 255], [255, 0]])
    tform = estimate_transform("similarity", src, dst)
    return warp(image / 255.0, tform.inverse, output_shape=(256, 256))


def test_recrop_matches_prnets_own_crop_inside_the_fas_crop() -> None:
    image = _smooth_image()
    left, top, side = 250.0, 150.0, 200.0
    ours_crop = crop_face(image, (left, top, left + side, top + side), scale=1.2, size=256)
    x = torch.from_numpy(ours_crop.copy()).permute(2, 0, 1)[None].double() / 255.0
    ours = prnet_recrop(x, 1.2)[0].permute(1, 2, 0).numpy()
    ref = _official_prnet_crop(image, left, left + side, top, top + side)
    inner = slice(40, 216)  # PRNet's square is 1.6/1.2 of the FAS crop: the middle 75 %
    np.testing.assert_allclose(ours[inner, inner], ref[inner, inner], atol=0.02)
    assert np.abs(ours[:10, :10]).max() == 0  # beyond the crop: black
    assert np.abs(ref[:10, :10] - ours[:10, :10]).mean() > 0.1  # ... where PRNet sees context


def test_recrop_samples_edge_to_edge_and_shifts_down() -> None:
    ramp = torch.arange(64, dtype=torch.float64) / 63  # bilinear sampling of a ramp is exact
    x = torch.stack([ramp.view(1, 64).expand(64, 64), ramp.view(64, 1).expand(64, 64)])[None]
    x = torch.cat([x, x[:, :1]], dim=1)  # (1, 3, 64, 64): x ramp, y ramp, x ramp
    out = prnet_recrop(x, 1.6, size=64)  # PRNet's square is the crop itself
    j = torch.arange(64, dtype=torch.float64)
    source = j * 64 / 63 - 0.5  # output j samples input pixel j * 64/63 - 1/2 (edge to edge)
    inner = slice(1, 63)
    torch.testing.assert_close(out[0, 0, 5, inner], (source / 63)[inner])
    torch.testing.assert_close(out[0, 1, inner, 5], (source / 63)[inner])
    down = prnet_recrop(x, 1.0, box_scale=1.0, center_shift=0.25, size=64)
    shifted = source + 16  # a quarter of the box side down: 16 of 64 pixels
    rows = slice(1, 47)
    torch.testing.assert_close(down[0, 1, rows, 5], (shifted / 63)[rows])
    assert down[0, :, -8:].abs().max() == 0  # past the bottom edge of the crop: black
    with pytest.raises(ValueError, match="positive"):
        prnet_recrop(x, 0.0)


def _random_prnet() -> PRNet:
    torch.manual_seed(0)
    return PRNet().eval()


class EchoPRNet(PRNet):
    """Returns its input as the position map: the post-processing is then known exactly."""

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_depth_range_is_taken_over_the_face_region(tmp_path: Path) -> None:
    mask = torch.zeros(256, 256, dtype=torch.bool)
    mask[60:200, 70:190] = True
    ind = tmp_path / "face_ind.txt"
    ind.write_text("\n".join(str(i) for i in np.flatnonzero(mask.numpy())))
    assert torch.equal(load_face_ind(ind), mask)
    net = EchoPRNet()
    t = PRNetTarget.from_module(net, mode="depth", allow_random=True, face_ind=ind)
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    out = t(x)
    with torch.no_grad():
        z = net.forward_normalized(x)[:, 2].numpy()
    m = mask.numpy()
    for b in range(2):
        face = z[b][m]
        expected = np.where(m, (z[b] - face.min()) / (face.max() - face.min()), 0.0)
        np.testing.assert_allclose(out[b, 0].numpy(), expected, atol=1e-5)
    assert t.version != PRNetTarget.from_module(net, allow_random=True).version


def test_input_crop_scale_feeds_the_recrop() -> None:
    net = EchoPRNet()
    t = PRNetTarget.from_module(net, mode="position", allow_random=True, input_crop_scale=1.2)
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = net.forward_normalized(prnet_recrop(x, 1.2).clamp(0, 1))
    torch.testing.assert_close(t(x), expected)
    assert "crop1.2" in t.version


def test_face_ind_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 70000")
    with pytest.raises(ValueError, match="65536"):
        load_face_ind(bad)
    with pytest.raises(FileNotFoundError, match="face_ind"):
        load_face_ind(tmp_path / "absent.txt")
    with pytest.raises(ValueError, match="no pixel"):
        PRNetTarget.from_module(
            _random_prnet(), allow_random=True, face_ind=torch.zeros(256, 256, dtype=torch.bool)
        )
