"""Typed records shared across the library (samples, batches, listed items).

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

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from torch import Tensor

__all__ = ["LIVE", "SPOOF", "Box", "FASSample", "LabelledItem"]

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


PathT = TypeVar("PathT", Path, str)


@dataclass(frozen=True)
class LabelledItem(Generic[PathT]):
    """What every listed item of the library carries: where it is, what it shows, and
    whose video it comes from. The leading fields of a dataset's
    :class:`~disentangle_fas.data.records.Record`, a store's
    :class:`~disentangle_fas.data.manifest.ManifestEntry` and the benchmark's
    :class:`~disentangle_fas.synthetic.SyntheticRecord`.

    Attributes:
        path: the file (a :class:`~pathlib.Path` or a manifest's string).
        label: 1 = live (bona fide), 0 = spoof.
        attack: 0 for live, a positive attack id for spoof.
        domain: dataset short name.
        subject: person identifier.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        video_id: id shared by the frames of one video.
    """

    path: PathT
    label: int
    attack: int
    domain: str
    subject: str
    split: str
    video_id: str

    def labels(self) -> dict[str, Any]:
        """Every field of :class:`LabelledItem` but ``path``, by name (``label``, ``attack``,
        ``domain``, ``subject``, ``split``, ``video_id``).

        ``Other(path=..., **item.labels(), ...)`` carries an item's labels over to another
        kind of item (a record's to the manifest entry of one of its crops).
        """
        return {f.name: getattr(self, f.name) for f in fields(LabelledItem) if f.name != "path"}
