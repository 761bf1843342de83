"""Input conversion and validation shared by the metric functions.

Every public metric accepts 1-D numpy arrays, 1-D torch tensors (any device, gradients
are detached) or plain sequences, and funnels them through the helpers here so that all
metrics raise the same clear errors on bad input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "ArrayLike1D",
    "check_fraction",
    "check_threshold",
    "to_attacks",
    "to_labels",
    "to_scores",
    "to_scores_labels",
]

#: What the metrics accept for scores, labels and attack ids: a 1-D numpy array, a 1-D
#: torch tensor or a sequence of numbers.
ArrayLike1D: TypeAlias = "NDArray[Any] | Tensor | Sequence[float] | Sequence[int]"


def _is_tensor(x: object) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _to_numpy(x: object, name: str) -> NDArray[Any]:
    """Convert ``x`` to a numpy array without importing torch."""
    if _is_tensor(x):
        t: Any = x.detach().cpu()  # type: ignore[attr-defined]
        try:
            arr: NDArray[Any] = t.numpy()
        except TypeError:  # bfloat16 and other dtypes numpy does not know
            arr = t.float().numpy()
        return arr
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(
            f"{name} must be a 1-D numpy array, torch tensor or sequence of numbers; "
            f"got {type(x).__name__}"
        )
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} could not be converted to a numeric array: {err}") from err


def _as_1d(x: object, name: str) -> NDArray[Any]:
    arr = _to_numpy(x, name)
    if arr.ndim != 1:
        hint = ""
        if arr.ndim == 2 and arr.shape[1] == 2 and name == "scores":
            hint = " (for two-class probabilities pass the live column, e.g. probs[:, 1])"
        raise ValueError(f"{name} must be 1-D; got shape {tuple(arr.shape)}{hint}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: at least one sample is needed")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric (bool, int or float); got dtype {arr.dtype}")
    return arr


def to_scores(scores: object, name: str = "scores") -> NDArray[np.float64]:
    """Return ``scores`` as a finite float64 1-D array or raise a clear error."""
    arr = _as_1d(scores, name).astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first at index "
            f"{first}: {arr[first]}); check the model output before computing metrics"
        )
    return arr


def to_labels(labels: object, name: str = "labels") -> NDArray[np.int64]:
    """Return ``labels`` as an int64 1-D array of 0 (spoof) / 1 (live) or raise."""
    arr = _as_1d(labels, name)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; labels must be 0 or 1")
    ok = (arr == 0) | (arr == 1)
    if not ok.all():
        others = np.unique(arr[~ok])[:5].tolist()
        raise ValueError(
            f"{name} must contain only 0 (spoof) and 1 (live); found {others}. "
            "Map multi-class attack labels to 0 and pass the attack types separately."
        )
    return arr.astype(np.int64)


def to_attacks(attacks: object, labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return attack-type ids as int64, checked against ``labels``.

    Live samples must have attack id 0 and spoof samples a positive id (the convention of
    :class:`disentangle_fas.types.FASSample`).
    """
    arr = _as_1d(attacks, "attacks")
    if arr.shape != labels.shape:
        raise ValueError(
            f"attacks has {arr.shape[0]} entries but labels has {labels.shape[0]}; "
            "give one attack id per sample"
        )
    if arr.dtype.kind == "f" and (
        not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr))
    ):
        raise ValueError("attacks must be integer attack-type ids")
    ids = arr.astype(np.int64)
    if (ids[labels == 1] != 0).any():
        raise ValueError(
            "live samples (label 1) must have attack id 0; found a live sample with a "
            "non-zero attack id"
        )
    spoof_ids = ids[labels == 0]
    if (spoof_ids <= 0).any():
        raise ValueError(
            "spoof samples (label 0) must have a positive attack id; use 1 for every spoof "
            "when the attack type is unknown"
        )
    return ids


def to_scores_labels(
    scores: object, labels: object, *, need_both: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Validate a (scores, labels) pair.

    Args:
        scores: 1-D scores, ``P(live)``.
        labels: 1-D labels, 1 live / 0 spoof.
        need_both: require at least one live and one spoof sample.

    Returns:
        ``(scores, labels)`` as float64 and int64 arrays.

    Raises:
        ValueError: on NaN/inf scores, labels other than 0/1, mismatched lengths, empty
            input, or (with ``need_both``) a single class.
        TypeError: on non-numeric input.
    """
    s = to_scores(scores)
    y = to_labels(labels)
    if s.shape != y.shape:
        raise ValueError(
            f"scores and labels must have the same length; got {s.shape[0]} scores and "
            f"{y.shape[0]} labels"
        )
    if need_both:
        n_live = int(y.sum())
        if n_live == 0 or n_live == y.size:
            only = "live (1)" if n_live else "spoof (0)"
            raise ValueError(
                f"labels contain only {only} samples; this metric needs both live and spoof samples"
            )
    return s, y


def check_threshold(threshold: float) -> float:
    """Return ``threshold`` as a float, refusing NaN and infinities."""
    try:
        t = float(threshold)
    except (TypeError, ValueError) as err:
        raise TypeError(f"threshold must be a real number; got {threshold!r}") from err
    if not math.isfinite(t):
        raise ValueError(f"threshold must be finite; got {t}")
    return t


def check_fraction(value: float, name: str) -> float:
    """Return ``value`` as a float in ``[0, 1]`` or raise ``ValueError``."""
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1]; got {value}")
    return v
