"""Frozen, pooled features of the three encoders for a whole dataset."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, NamedTuple, get_args

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from disentangle_fas.contracts import LivenessModel
from disentangle_fas.types import FASSample

__all__ = ["REPRESENTATIONS", "SYMBOLS", "PooledFeatures", "Representation", "extract_features"]

Representation = Literal["liveness", "content", "domain"]
#: The three representations, in the order reports list them.
REPRESENTATIONS: tuple[Representation, ...] = get_args(Representation)
#: How reports write each representation (the paper's notation).
SYMBOLS: dict[Representation, str] = {"liveness": "f_L", "content": "f_C", "domain": "f_D"}


class PooledFeatures(NamedTuple):
    """Globally average-pooled encoder features with the samples' labels.

    Attributes:
        liveness: ``(N, d)`` pooled E_L(x).
        content: ``(N, d)`` pooled E_C(x), ``None`` when the model has no E_C.
        domain: ``(N, d)`` pooled E_D(x), ``None`` when the model has no E_D.
        labels: ``(N,)`` 1 live / 0 spoof.
        domains: ``(N,)`` domain indices.
        attacks: ``(N,)`` attack-type ids (0 live, a positive id per spoof type), ``None``
            when not recorded.
    """

    liveness: Tensor
    content: Tensor | None
    domain: Tensor | None
    labels: Tensor
    domains: Tensor
    attacks: Tensor | None = None

    def available(self) -> list[tuple[Representation, Tensor]]:
        """The representations the model has, as ``(name, features)`` in report order."""
        out: list[tuple[Representation, Tensor]] = []
        for name in REPRESENTATIONS:
            value = getattr(self, name)
            if value is not None:
                out.append((name, value))
        return out


def _batches(
    data: Dataset[FASSample] | Iterable[FASSample], batch_size: int
) -> Iterator[FASSample]:
    if isinstance(data, Dataset) and hasattr(data, "__len__"):
        loader: Iterable[FASSample] = DataLoader(data, batch_size=batch_size, shuffle=False)
        yield from loader
    elif isinstance(data, Iterable):
        yield from data
    else:
        raise TypeError("data must be a map-style Dataset or an iterable of batched samples")


def _encode(model: LivenessModel, images: Tensor) -> list[tuple[str, Tensor]]:
    if images.ndim == 3:  # one unbatched sample from a plain iterable
        images = images.unsqueeze(0)
    reps = model.representations(images)
    unknown = sorted(set(reps) - set(REPRESENTATIONS))
    if unknown or "liveness" not in reps:
        raise ValueError(
            f"{type(model).__name__}.representations() must return 'liveness' and only "
            f"names of {list(REPRESENTATIONS)}, got {sorted(reps)}"
        )
    return [(name, reps[name]) for name in REPRESENTATIONS if name in reps]


def extract_features(
    model: LivenessModel,
    data: Dataset[FASSample] | Iterable[FASSample],
    *,
    batch_size: int = 32,
    device: str | torch.device | None = None,
) -> PooledFeatures:
    """Run every encoder of ``model`` over ``data`` in eval mode and pool the maps.

    The model's train/eval mode is restored afterwards. For SSDG-R, whose only
    representation is the embedding its classifier and discriminator see, ``liveness``
    holds that embedding and the other fields are ``None``.

    Args:
        model: the model.
        data: a map-style dataset of :class:`~disentangle_fas.types.FASSample` (batched
            with the default collate), or an iterable of batched samples.
        batch_size: batch size for a dataset.
        device: where to run (default: the model's device).

    Returns:
        :class:`PooledFeatures` on the CPU, float32.

    Raises:
        ValueError: ``data`` is empty.
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts: dict[str, list[Tensor]] = {
        k: [] for k in (*REPRESENTATIONS, "labels", "domains", "attacks")
    }
    try:
        with torch.inference_mode():
            for batch in _batches(data, batch_size):
                for name, value in _encode(model, batch.image.to(dev)):
                    parts[name].append(value.float().cpu())
                parts["labels"].append(torch.as_tensor(batch.label).reshape(-1).long())
                parts["domains"].append(torch.as_tensor(batch.domain).reshape(-1).long())
                parts["attacks"].append(torch.as_tensor(batch.attack).reshape(-1).long())
    finally:
        model.train(was_training)
    if not parts["liveness"]:
        raise ValueError("no samples: the dataset is empty")

    def cat(name: str) -> Tensor | None:
        return torch.cat(parts[name]) if parts[name] else None

    liveness, labels, domains = cat("liveness"), cat("labels"), cat("domains")
    assert liveness is not None and labels is not None and domains is not None
    return PooledFeatures(liveness, cat("content"), cat("domain"), labels, domains, cat("attacks"))
