"""The checkpoint metadata schema: one validation of everything a checkpoint states, done
when the file is read, before any model is built, resized for or allocated.

A checkpoint is untrusted input: its JSON metadata decides which class is built, with
which config, at which input size. :func:`validate_metadata` checks its types and bounds;
:func:`inference_bytes` estimates what scoring one image at the stated size asks of memory,
and :func:`~disentangle_fas.limits.check_memory` refuses a request above
:func:`~disentangle_fas.limits.memory_limit` (configurable with the environment variable
:data:`~disentangle_fas.limits.MEMORY_LIMIT_ENV`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from disentangle_fas.contracts import InputSpec
from disentangle_fas.limits import check_memory, inference_bytes

__all__ = ["CUSTOM_KIND", "check_config_values", "validate_metadata"]

#: The kind of a hand-built model saved with its config (rebuilt by a user's builder).
CUSTOM_KIND = "custom"
#: Keys a checkpoint's metadata may hold, and the JSON types each may have.
_TYPES: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "kind": (str,),
    "config": (dict,),
    "input": (dict,),
    "threshold": (int, float, type(None)),
    "threshold_strategy": (str, type(None)),
    "info": (dict, type(None)),
    "class": (str,),
    "builder": (str, type(None)),
    "library_version": (str,),
}


def _config_fields(kind: str) -> set[str] | None:
    from disentangle_fas.registry import model_kind

    cls = model_kind(kind).config_cls
    if not dataclasses.is_dataclass(cls):
        return None
    return {f.name for f in dataclasses.fields(cls)}


def validate_metadata(meta: Any, path: str | Path) -> dict[str, Any]:
    """Check a checkpoint's metadata before anything is built from it.

    Checked: a JSON object whose known keys are typed (:data:`_TYPES`; others, written by a
    later version, are ignored); a registered
    kind (or ``"custom"``) whose config holds only the fields of that kind's config class;
    the stored input (:class:`~disentangle_fas.contracts.InputSpec`: an integer side in
    ``[1, MAX_IMAGE_SIZE]``, finite mean, positive finite std) within the memory limit
    (:func:`check_memory` on :func:`inference_bytes` of one image); a threshold in
    ``[0, 1]``.

    Args:
        meta: the parsed JSON.
        path: the file, for messages.

    Returns:
        ``meta``, checked.

    Raises:
        ValueError: the first violation, naming the file and the field.
        MemoryLimitError: the stated input size asks for more memory than allowed
            (:mod:`disentangle_fas.limits`).
    """
    if not isinstance(meta, dict):
        raise ValueError(
            f"{path}: the checkpoint metadata is a JSON {type(meta).__name__}, not an object"
        )
    for key, types in _TYPES.items():
        value = meta.get(key)
        if key in meta and (not isinstance(value, types) or isinstance(value, bool)):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValueError(f"{path}: metadata {key!r} must be {want}, got {value!r}"[:300])
    kind = meta.get("kind", "disentangled-fas")
    config = meta.get("config") or {}
    if kind != CUSTOM_KIND:
        try:
            fields = _config_fields(kind)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        extra = sorted(set(config) - fields) if fields is not None else []
        if extra:
            raise ValueError(f"{path}: config keys unknown to kind {kind!r}: {extra[:5]}")
    check_config_values(config, path)
    raw_input = meta.get("input")
    if raw_input is not None:
        size = raw_input.get("image_size")
        if isinstance(size, bool) or not isinstance(size, int):  # from_dict would cast it
            raise ValueError(f"{path}: input image_size must be an integer, got {size!r}"[:300])
        try:
            InputSpec.from_dict(raw_input)  # side in [1, MAX_IMAGE_SIZE], finite statistics
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        check_memory(inference_bytes(size), f"{path}: scoring one {size}x{size} image")
    threshold = meta.get("threshold")
    # 1 + 1e-9: "reject all" thresholds just above the highest score of 1 are kept
    if threshold is not None and not (_finite_number(threshold) and 0 <= threshold <= 1 + 1e-9):
        raise ValueError(f"{path}: the stored threshold {threshold!r} is not a P(live) in [0, 1]")
    return meta


def _finite_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def check_config_values(config: Mapping[str, Any], path: str | Path) -> None:
    """Refuse non-finite floats anywhere in a stored config (NaN margins, infinite scales).

    Args:
        config: the stored config.
        path: the file, for messages.

    Raises:
        ValueError: naming the key.
    """
    for key, value in config.items():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in items):
            raise ValueError(f"{path}: config {key!r} is not finite: {value!r}")
