"""Shared helpers for the inference tests: a tiny checkpoint, a real photo, a video writer.

Holds no tests itself; imported by the ``test_inference_*`` modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image

from disentangle_fas.checkpoint import save_model
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.ssdg import SSDGR, SSDGConfig

CONFIG = ModelConfig(num_domains=3, depth=10, image_size=32, content_shape=(1, 8, 8))
SIZE = CONFIG.image_size


def build_model(seed: int = 0) -> DisentangledFAS:
    torch.manual_seed(seed)
    return DisentangledFAS.from_config(CONFIG, warn_random=False).eval()


def write_checkpoint(
    path: Path, *, seed: int = 0, threshold: float | None = None
) -> tuple[Path, DisentangledFAS]:
    model = build_model(seed)
    save_model(model, path, threshold=threshold, threshold_strategy="test")
    return path, model


def build_ssdg(seed: int = 0, image_size: int | None = None) -> SSDGR:
    torch.manual_seed(seed)
    cfg = SSDGConfig(num_domains=3, depth=10, embed_dim=32, disc_hidden=16, image_size=image_size)
    return SSDGR.from_config(cfg, warn_random=False).eval()


def photo() -> tuple[NDArray[np.uint8], tuple[float, float, float, float]]:
    """A real photograph with one face and a hand-checked box around that face."""
    try:
        from skimage import data

        return data.astronaut(), (181.0, 62.0, 268.0, 172.0)
    except ImportError:
        import matplotlib.cbook as cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            img = np.asarray(Image.open(f).convert("RGB"), dtype=np.uint8)
        return img, (174.0, 120.0, 356.0, 340.0)


def grace_hopper_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def reference_crop(
    image: NDArray[np.uint8], box: tuple[float, float, float, float], size: int, scale: float
) -> NDArray[np.uint8]:
    """The square crop written with PIL, whose ``crop`` pads outside the image with black."""
    x0, y0, x1, y1 = box
    side = max(1, round(max(x1 - x0, y1 - y0) * scale))
    left = round((x0 + x1) / 2 - side / 2)
    top = round((y0 + y1) / 2 - side / 2)
    out = Image.fromarray(image).crop((left, top, left + side, top + side))
    if side != size:
        out = out.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8)


def reference_resize(image: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    out = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8)


def model_scores(model: DisentangledFAS, crops: list[NDArray[np.uint8]]) -> NDArray[np.float64]:
    """P(live) straight from the model, without the detector."""
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        return model.live_score(x).double().numpy()


def write_video(path: Path, frames: list[NDArray[np.uint8]], fps: int = 10) -> Path:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for arr in frames:
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def ramp_frames(n: int, h: int = 48, w: int = 64) -> list[NDArray[np.uint8]]:
    """Frames whose brightness encodes their index (10 * i), with a little texture."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 20, size=(h, w, 3), dtype=np.uint8)
    return [np.clip(texture.astype(int) + 10 * i, 0, 255).astype(np.uint8) for i in range(n)]
