"""PRNet as a frozen content target: a depth map or the UV position map of each face.

PRNet's own input convention (``api.py`` of the official release): from a face box
``[left, right, top, bottom]``, a square of side ``1.6 * ((right - left) + (bottom -
top)) / 2`` centred on the box centre (for a dlib box, side ``1.58x`` and centre moved
down by ``0.14x`` the size), warped to 256x256 so that its corners land on pixels 0 and
255, RGB in ``[0, 1]``. This library's preprocessing instead cuts a square of side
``crop_scale * max(w, h)`` (1.2 by default) around the same centre. By default
:class:`PRNetTarget` resizes the given crops to 256x256 unchanged (a tighter view than
PRNet was trained on); with ``input_crop_scale`` it re-crops them to PRNet's square
(:func:`prnet_recrop`), black where PRNet's square reaches beyond the crop.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.targets.base import check_images, freeze_module
from disentangle_fas.targets.module import _as_size, resize_images
from disentangle_fas.targets.prnet import PRNET_RESOLUTION, PRNet, state_dict_digest
from disentangle_fas.targets.prnet_io import load_prnet

__all__ = [
    "NO_WEIGHTS_MESSAGE",
    "PRNET_BOX_SCALE",
    "PRNetTarget",
    "load_face_ind",
    "prnet_recrop",
]

#: Bumped when the preprocessing or post-processing of :class:`PRNetTarget` changes.
_IMPL_VERSION = "1"
#: Side of PRNet's input square in units of the mean box side (``api.py``).
PRNET_BOX_SCALE = 1.6


def prnet_recrop(
    images: Tensor,
    input_crop_scale: float,
    *,
    box_scale: float = PRNET_BOX_SCALE,
    center_shift: float = 0.0,
    size: int = PRNET_RESOLUTION,
) -> Tensor:
    """Re-crop square face crops to PRNet's input square.

    ``images`` are squares of side ``input_crop_scale * s`` centred on a square face box of
    side ``s`` (this library's preprocessing, ``crop_scale``). The result is the square of
    side ``box_scale * s`` around the box centre moved down by ``center_shift * s``,
    sampled at ``size`` points from edge to edge as PRNet's warp does (corners on pixels 0
    and ``size - 1``), bilinear, zero outside the given crop. For non-square boxes of
    sides ``w, h``, pass ``input_crop_scale * max(w, h) / ((w + h) / 2)``.

    Args:
        images: RGB crops in ``[0, 1]``.
        input_crop_scale: side of the given crops in box sides (``crop_scale``).
        box_scale: PRNet's square in box sides (1.6; 1.58 for dlib boxes).
        center_shift: downward shift of the centre in box sides (0; 0.14 for dlib boxes).
        size: output side.

    Returns:
        The re-cropped batch.

    Shape:
        - images: ``(B, 3, H, W)``; output: ``(B, 3, size, size)``.

    Raises:
        ValueError: non-positive scales.
    """
    if input_crop_scale <= 0 or box_scale <= 0:
        raise ValueError(
            f"input_crop_scale and box_scale must be positive, got {input_crop_scale}, {box_scale}"
        )
    ratio = box_scale / input_crop_scale
    line = torch.linspace(-1.0, 1.0, size, device=images.device, dtype=images.dtype) * ratio
    ys = line + 2.0 * center_shift / input_crop_scale
    grid_y, grid_x = torch.meshgrid(ys, line, indexing="ij")
    grid = torch.stack((grid_x, grid_y), dim=-1).expand(images.shape[0], size, size, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def load_face_ind(path: str | os.PathLike[str]) -> Tensor:
    """Read PRNet's ``Data/uv-data/face_ind.txt``: the UV pixels that belong to the face.

    The file lists indices into the row-major flattened 256x256 UV map (``api.py``:
    ``pos.reshape(256 * 256, 3)[face_ind]`` are the face's vertices).

    Args:
        path: the file (from the official release).

    Returns:
        A boolean ``(256, 256)`` mask.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a list of indices in ``[0, 65536)``.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"face_ind file {p} not found (Data/uv-data/face_ind.txt of PRNet)")
    try:
        values = [int(float(v)) for v in p.read_text().split()]
    except ValueError as err:
        raise ValueError(f"{p}: expected whitespace-separated integer indices ({err})") from err
    n = PRNET_RESOLUTION * PRNET_RESOLUTION
    if not values or min(values) < 0 or max(values) >= n:
        raise ValueError(f"{p}: indices must lie in [0, {n})")
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.tensor(values)] = True
    return mask.view(PRNET_RESOLUTION, PRNET_RESOLUTION)


NO_WEIGHTS_MESSAGE = (
    "PRNetTarget needs pretrained PRNet weights and none were given. A randomly "
    "initialised PRNet is not a content target, and this library never downloads weights. "
    "The only PRNet weights are the official release's TensorFlow checkpoint "
    "(github.com/YadiraF/PRNet, Data/net-data/256_256_resfcn256_weight.index and "
    ".data-00000-of-00001): download it yourself and convert it, without TensorFlow, with "
    "'disentangle-fas convert-prnet PREFIX --out prnet.safetensors'; then pass the local "
    "file: PRNetTarget('prnet.safetensors'). (pytorchcv has the architecture but publishes no "
    "PRNet weights; a state dict in its key layout loads as is.) See "
    "docs/content_targets.md. For tests and benchmarks only, "
    "PRNetTarget.from_module(PRNet(), allow_random=True) runs random weights."
)

Mode = Literal["depth", "position"]


class PRNetTarget:
    """Frozen PRNet teacher ``Φ`` producing a depth map or a position map per face.

    Images (any size, RGB in ``[0, 1]``) are resized to 256x256 (bilinear, anti-aliased)
    and passed to PRNet, whose sigmoid output is the UV position map divided by
    ``256 * 1.1`` (crop pixels / :data:`~disentangle_fas.targets.prnet.POSITION_SCALE`).

    * ``mode="position"``: the three channels ``(x, y, z) / (256 * 1.1)``, in ``[0, 1]``.
    * ``mode="depth"``: the ``z`` channel, min-max normalised per image to ``[0, 1]``.
      With ``face_ind`` (PRNet's face region of the UV map) the range is that of the face
      pixels, and pixels outside the face are 0; without it, the range is taken over the
      whole UV map after resampling to ``output_size`` (the UV map's corners lie outside
      the face). It lives in PRNet's UV space, not rendered into image space.

    With ``input_crop_scale`` the images are first re-cropped to PRNet's own input square
    (:func:`prnet_recrop`); without it they are resized as given (see the module notes).

    The map is then resampled to ``output_size`` (area averaging when shrinking, e.g. to
    the content decoder's resolution).

    Args:
        prnet_or_path: a local weights file for :func:`~disentangle_fas.targets.load_prnet`,
            or a :class:`~disentangle_fas.targets.PRNet` whose weights were loaded (its
            ``weights_source`` is set). ``None`` or a fresh random network is refused.
        mode: ``"depth"`` (1 channel) or ``"position"`` (3 channels).
        output_size: ``(H', W')`` or an int; ``None`` keeps 256x256.
        input_crop_scale: the images' side in face-box sides (the preprocessing's
            ``crop_scale``, 1.2 by default) to re-crop them as PRNet expects; ``None``
            feeds them unchanged.
        face_ind: PRNet's ``face_ind.txt`` (a path) or a boolean ``(256, 256)`` mask of
            the UV face region, for ``mode="depth"``.

    Raises:
        RuntimeError: no weights (the message says where weights come from).
        FileNotFoundError, ValueError: see :func:`~disentangle_fas.targets.load_prnet`;
            bad ``mode`` or ``output_size``.

    Shape:
        - images: ``(B, 3, H, W)``; output: ``(B, C, H', W')`` with ``C`` 1 or 3.
    """

    def __init__(
        self,
        prnet_or_path: PRNet | str | os.PathLike[str] | None = None,
        mode: Mode = "depth",
        output_size: int | tuple[int, int] | None = None,
        *,
        input_crop_scale: float | None = None,
        face_ind: str | os.PathLike[str] | Tensor | None = None,
        _allow_random: bool = False,
    ) -> None:
        if mode not in ("depth", "position"):
            raise ValueError(f"mode must be 'depth' or 'position', got {mode!r}")
        if prnet_or_path is None:
            raise RuntimeError(NO_WEIGHTS_MESSAGE)
        if isinstance(prnet_or_path, PRNet):
            net = prnet_or_path
        elif isinstance(prnet_or_path, (str, os.PathLike)):
            net = load_prnet(prnet_or_path)
        else:
            raise TypeError(
                "prnet_or_path must be a PRNet or a path to a weights file, "
                f"got {type(prnet_or_path).__name__}"
            )
        if net.weights_source is None and not _allow_random:
            raise RuntimeError(NO_WEIGHTS_MESSAGE)
        self.prnet: PRNet = freeze_module(net)
        self.mode: Mode = mode
        self.output_size = _as_size(output_size, "output_size") or (
            PRNET_RESOLUTION,
            PRNET_RESOLUTION,
        )
        self.random_weights = net.weights_source is None
        self.name = f"prnet-{mode}"
        digest = state_dict_digest(net)[:16]
        self.version = f"{_IMPL_VERSION}-{digest}"
        if input_crop_scale is not None and input_crop_scale <= 0:
            raise ValueError(f"input_crop_scale must be positive, got {input_crop_scale}")
        self.input_crop_scale = input_crop_scale
        mask = None
        if face_ind is not None:
            mask = face_ind if isinstance(face_ind, Tensor) else load_face_ind(face_ind)
            if mask.shape != (PRNET_RESOLUTION, PRNET_RESOLUTION) or mask.dtype != torch.bool:
                raise ValueError(
                    f"face_ind mask must be a bool (256, 256) tensor, got {mask.shape}"
                )
            if not bool(mask.any()):
                raise ValueError("face_ind mask selects no pixel")
        self.face_mask: Tensor | None = mask
        if input_crop_scale is not None:
            self.version += f"-crop{input_crop_scale:g}"
        if mask is not None:
            self.version += "-face" + hashlib.sha1(mask.numpy().tobytes()).hexdigest()[:8]

    @classmethod
    def from_module(
        cls,
        prnet: PRNet,
        *,
        mode: Mode = "depth",
        output_size: int | tuple[int, int] | None = None,
        allow_random: bool = False,
        input_crop_scale: float | None = None,
        face_ind: str | os.PathLike[str] | Tensor | None = None,
    ) -> PRNetTarget:
        """Wrap an existing network; ``allow_random=True`` accepts untrained weights.

        Args:
            prnet: the network.
            mode: ``"depth"`` or ``"position"``.
            output_size: output resolution; ``None`` keeps 256x256.
            allow_random: accept a network with no loaded weights. For tests and
                benchmarks only: a random teacher is not a content target.
            input_crop_scale: see the class.
            face_ind: see the class.

        Returns:
            The target.
        """
        return cls(
            prnet,
            mode=mode,
            output_size=output_size,
            input_crop_scale=input_crop_scale,
            face_ind=face_ind,
            _allow_random=allow_random,
        )

    @property
    def device(self) -> torch.device:
        """Device of the teacher."""
        return next(self.prnet.parameters()).device

    def to(self, device: torch.device | str) -> PRNetTarget:
        """Move the teacher to ``device``; returns ``self``."""
        self.prnet.to(device)
        return self

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return ``(C, H', W')``; independent of the input size (inputs are resized)."""
        channels = 1 if self.mode == "depth" else 3
        return (channels, *self.output_size)

    def __call__(self, images: Tensor) -> Tensor:
        """Compute the targets of a batch.

        Args:
            images: RGB batch in ``[0, 1]``, any size.

        Returns:
            Float32 targets in ``[0, 1]``, no gradient, on ``images.device``.

        Shape:
            - images: ``(B, 3, H, W)``; output: ``(B, C, H', W')``.

        Raises:
            TypeError, ValueError: bad images.
        """
        check_images(images)
        self.prnet.eval()
        if images.device != self.device:
            self.prnet.to(images.device)
        with torch.no_grad():
            x = images.float()
            if self.input_crop_scale is not None:
                x = prnet_recrop(x, self.input_crop_scale)
            x = resize_images(x, (PRNET_RESOLUTION, PRNET_RESOLUTION))
            pos = self.prnet.forward_normalized(x)
            out = pos[:, 2:3] if self.mode == "depth" else pos
            face = self.face_mask is not None and self.mode == "depth"
            if face:
                assert self.face_mask is not None
                mask = self.face_mask.to(out.device)
                inside = out[:, 0][:, mask]  # (B, face pixels)
                lo = inside.amin(dim=1).view(-1, 1, 1, 1)
                hi = inside.amax(dim=1).view(-1, 1, 1, 1)
                out = ((out - lo) / (hi - lo).clamp_min(1e-6)) * mask
            if tuple(out.shape[-2:]) != self.output_size:
                shrink = all(o <= s for o, s in zip(self.output_size, out.shape[-2:], strict=True))
                if shrink:
                    out = F.interpolate(out, size=self.output_size, mode="area")
                else:
                    out = F.interpolate(
                        out, size=self.output_size, mode="bilinear", align_corners=False
                    )
            if self.mode == "depth" and not face:
                lo = out.amin(dim=(-2, -1), keepdim=True)
                hi = out.amax(dim=(-2, -1), keepdim=True)
                out = (out - lo) / (hi - lo).clamp_min(1e-6)
            return out.clamp(0.0, 1.0).contiguous()

    def __repr__(self) -> str:
        return (
            f"PRNetTarget(mode={self.mode!r}, output_size={self.output_size}, "
            f"input_crop_scale={self.input_crop_scale}, version={self.version!r}, "
            f"weights={self.prnet.weights_source!r})"
        )
