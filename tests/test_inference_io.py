from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from disentangle_fas.inference import InputError, crop_face, load_image, sample_indices
from disentangle_fas.inference.faces import validate_box
from disentangle_fas.inference.io import is_video_path, to_rgb_array
from test_inference_support import grace_hopper_path, photo, reference_crop


def test_load_image_reads_a_packaged_jpeg_like_pil():
    path = grace_hopper_path()
    expected = np.asarray(Image.open(path).convert("RGB"))
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_random_bytes_are_an_input_error_naming_the_file(tmp_path, suffix):
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(InputError, match="not a readable image") as info:
        load_image(path)
    assert isinstance(info.value, ValueError)
    assert info.value.path == path and str(path) in str(info.value)


def test_truncated_jpeg_is_an_input_error(tmp_path):
    data = grace_hopper_path().read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError):
        load_image(path)


def test_missing_image_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="image not found"):
        load_image(tmp_path / "missing.jpg")


def test_exif_orientation_is_applied(tmp_path):
    image, _ = photo()
    img = Image.fromarray(image[:, :300])  # not square, so a rotation shows in the shape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif, quality=95)
    assert load_image(path).shape == (300, image.shape[0], 3)


def test_palette_and_16_bit_modes_become_rgb(tmp_path):
    image, _ = photo()
    pal = Image.fromarray(image).convert("P")
    pal.save(tmp_path / "p.png")
    np.testing.assert_array_equal(load_image(tmp_path / "p.png"), np.asarray(pal.convert("RGB")))
    assert to_rgb_array(Image.fromarray(image).convert("LA")).shape == image.shape


def test_video_suffixes():
    assert is_video_path("a/b.MP4") and is_video_path("x.avi") and is_video_path("x.mov")
    assert not is_video_path("x.jpg") and not is_video_path("x")


@given(n=st.integers(0, 500), k=st.integers(1, 40))
def test_sample_indices_are_the_centres_of_equal_parts(n, k):
    idx = sample_indices(n, k)
    assert len(idx) == min(n, k)
    assert idx == sorted(set(idx)) and all(0 <= i < n for i in idx)
    if n > k:  # independent reference: floor of the part centres, in floating point
        ref = np.floor((np.arange(k) + 0.5) * n / k).astype(int).tolist()
        assert idx == ref


def test_sample_indices_rejects_bad_arguments():
    with pytest.raises(ValueError, match=">= 1"):
        sample_indices(10, 0)
    with pytest.raises(ValueError):
        sample_indices(-1, 3)


@given(
    x0=st.floats(-60, 500),
    y0=st.floats(-60, 500),
    w=st.floats(1, 300),
    h=st.floats(1, 300),
    scale=st.sampled_from([1.0, 1.2, 1.5]),
    size=st.sampled_from([16, 32]),
)
def test_crop_face_matches_a_pil_reference(x0, y0, w, h, scale, size):
    image, _ = photo()
    box = (x0, y0, x0 + w, y0 + h)
    out = crop_face(image, box, size, scale=scale)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, reference_crop(image, box, size, scale))


def test_crop_face_exact_square_is_the_slice():
    image, _ = photo()
    np.testing.assert_array_equal(
        crop_face(image, (10, 20, 42, 52), 32, scale=1.0), image[20:52, 10:42]
    )


def test_crop_face_errors():
    image, _ = photo()
    with pytest.raises(ValueError, match="empty"):
        crop_face(image, (5, 5, 5, 9), 32)
    with pytest.raises(ValueError, match="positive"):
        crop_face(image, (0, 0, 9, 9), 0)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        crop_face(image[:, :, 0], (0, 0, 9, 9), 32)


def test_validate_box():
    assert validate_box([1, 2, 3, 4], 10, 10) == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(ValueError, match="outside"):
        validate_box((20, 20, 30, 30), 10, 10)
    with pytest.raises(ValueError, match="four numbers"):
        validate_box("abcd", 10, 10)
