"""Typed records shared across the library (samples, batches).

Conventions used everywhere in ``disentangle_fas``:

* ``label``: ``1`` = live (bona fide), ``0`` = spoof.
* ``attack``: ``0`` for live faces, a positive attack-type id otherwise (dataset specific,
  see :mod:`disentangle_fas.data`), so APCER can be reported per attack type.
* ``domain``: integer index of the sample's domain (dataset or camera), ``0 .. S-1`` for
  the ``S`` source domains of a protocol.
* images: ``float32`` tensors of shape ``(3, H, W)`` (batched: ``(B, 3, H, W)``) with values
  in ``[0, 1]``, RGB. Normalisation happens inside the model pipeline, not in datasets.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

__all__ = ["LIVE", "SPOOF", "Box", "FASSample"]

LIVE = 1
SPOOF = 0

#: A face box ``(x0, y0, x1, y1)`` in pixels of its image (``x1``/``y1`` exclusive): the box
#: type of dataset annotations, face detectors, crops and inference results alike.
Box = tuple[float, float, float, float]


class FASSample(NamedTuple):
    """One face image with its labels, as returned by every dataset of the library.

    ``torch.utils.data.default_collate`` turns a list of samples into a batched
    ``FASSample`` whose fields are tensors of shape ``(B, ...)`` / ``(B,)`` and whose
    ``video_id`` is a list of strings.

    Attributes:
        image: ``(3, H, W)`` float32 RGB in ``[0, 1]``.
        label: 1 = live, 0 = spoof.
        domain: domain index.
        attack: 0 for live, attack-type id for spoof.
        index: position of the sample in its dataset (key for per-image caches and
            ground-truth content targets).
        video_id: identifier of the source video (frames of one video share it), used
            for video-level scoring.
    """

    image: Tensor
    label: int | Tensor
    domain: int | Tensor
    attack: int | Tensor
    index: int | Tensor  # type: ignore[assignment]  # field shadows tuple.index on purpose
    video_id: str | list[str]
