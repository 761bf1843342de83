r"""A finished run's record on disk: everything its protocol tables need, as JSON.

Every run of a protocol writes ``record.json`` into its own run folder when it finishes
(atomically: a reader sees no record or the whole one), or ``failure.json`` with the error
when it fails. The protocol's tables are assembled from these files alone
(:mod:`disentangle_fas.training.collect`), so runs done by any mix of processes, machines
and schedulers give the same tables. Floats are written with Python's shortest
round-trip representation, so a record read back equals the run's
:class:`~disentangle_fas.training.protocol_report.RunRecord` bit for bit.
"""

from __future__ import annotations

import json
import socket
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from disentangle_fas._io import atomic_write_text
from disentangle_fas.metrics import EvaluationResult, ThresholdStrategy
from disentangle_fas.metrics.evaluate import OperatingPoint, SourceValidation
from disentangle_fas.training.protocol_report import RunRecord
from disentangle_fas.training.protocol_stats import TargetScores

__all__ = [
    "FAILURE_NAME",
    "RECORD_NAME",
    "RECORD_VERSION",
    "read_failure",
    "read_record",
    "record_from_dict",
    "record_to_dict",
    "result_from_dict",
    "result_to_dict",
    "write_failure",
    "write_record",
]

#: The record of a finished run, in its run folder.
RECORD_NAME = "record.json"
#: What a failed run leaves in its run folder instead.
FAILURE_NAME = "failure.json"
#: The record format's version (a record of another version is not read).
RECORD_VERSION = 1


def _point_to_dict(p: OperatingPoint | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "strategy": p.strategy.value,
        "threshold": p.threshold,
        "hter": p.hter,
        "far": p.far,
        "frr": p.frr,
        "apcer": p.apcer,
        "bpcer": p.bpcer,
        "acer": p.acer,
        "apcer_per_attack": [[int(k), v] for k, v in p.apcer_per_attack.items()],
    }


def _point_from_dict(d: dict[str, Any] | None) -> OperatingPoint | None:
    if d is None:
        return None
    return OperatingPoint(
        strategy=ThresholdStrategy.coerce(d["strategy"]),
        threshold=float(d["threshold"]),
        hter=float(d["hter"]),
        far=float(d["far"]),
        frr=float(d["frr"]),
        apcer=float(d["apcer"]),
        bpcer=float(d["bpcer"]),
        acer=float(d["acer"]),
        apcer_per_attack={int(k): float(v) for k, v in d["apcer_per_attack"]},
    )


def result_to_dict(r: EvaluationResult) -> dict[str, Any]:
    """Every field of an :class:`~disentangle_fas.metrics.EvaluationResult` but its ROC
    curve, as JSON-compatible values (:func:`result_from_dict` reverses it exactly).

    Example:
        >>> from disentangle_fas.metrics import evaluate_scores
        >>> r = evaluate_scores([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
        >>> result_from_dict(result_to_dict(r)) == r
        True
    """
    sv = r.source_val
    return {
        "level": r.level,
        "num_samples": r.num_samples,
        "num_videos": r.num_videos,
        "num_live": r.num_live,
        "num_spoof": r.num_spoof,
        "auc": r.auc,
        "eer": r.eer,
        "eer_threshold": r.eer_threshold,
        "tpr_at_fpr_1pct": r.tpr_at_fpr_1pct,
        "tpr_at_fpr_01pct": r.tpr_at_fpr_01pct,
        "oracle": _point_to_dict(r.oracle),
        "honest": _point_to_dict(r.honest),
        "fixed": _point_to_dict(r.fixed),
        "source_val": None
        if sv is None
        else {
            "auc": sv.auc,
            "eer": sv.eer,
            "threshold": sv.threshold,
            "num_samples": sv.num_samples,
            "num_videos": sv.num_videos,
        },
        "step": r.step,
    }


def result_from_dict(d: dict[str, Any]) -> EvaluationResult:
    """The :class:`~disentangle_fas.metrics.EvaluationResult` that :func:`result_to_dict`
    wrote (with no ROC curve).

    Raises:
        KeyError: a field is missing.
    """
    oracle = _point_from_dict(d["oracle"])
    assert oracle is not None
    sv = d["source_val"]
    return EvaluationResult(
        level=d["level"],
        num_samples=int(d["num_samples"]),
        num_videos=None if d["num_videos"] is None else int(d["num_videos"]),
        num_live=int(d["num_live"]),
        num_spoof=int(d["num_spoof"]),
        auc=float(d["auc"]),
        eer=float(d["eer"]),
        eer_threshold=float(d["eer_threshold"]),
        tpr_at_fpr_1pct=float(d["tpr_at_fpr_1pct"]),
        tpr_at_fpr_01pct=float(d["tpr_at_fpr_01pct"]),
        oracle=oracle,
        honest=_point_from_dict(d["honest"]),
        fixed=_point_from_dict(d["fixed"]),
        source_val=None
        if sv is None
        else SourceValidation(
            auc=float(sv["auc"]),
            eer=float(sv["eer"]),
            threshold=float(sv["threshold"]),
            num_samples=int(sv["num_samples"]),
            num_videos=None if sv["num_videos"] is None else int(sv["num_videos"]),
        ),
        step=d["step"],
    )


def _extra_to_json(extra: Any) -> tuple[Any, str | None]:
    """``extra`` itself when it is JSON-serialisable, else ``None`` and its type's name."""
    if extra is None:
        return None, None
    try:
        json.dumps(extra, allow_nan=True)
    except (TypeError, ValueError):
        return None, type(extra).__qualname__
    return extra, None


def record_to_dict(
    rec: RunRecord, *, key: str, fingerprint: str, env: dict[str, Any]
) -> dict[str, Any]:
    """A run's record as JSON-compatible values.

    Args:
        rec: the run's record. Its ``extra`` is stored when it is JSON-serialisable (else
            ``null``, with the type's name under ``extra_not_stored``).
        key: the run's unit key (``variant/task/seed<S>``).
        fingerprint: the run's configuration fingerprint
            (:func:`~disentangle_fas.training.units.config_fingerprint`).
        env: what the run's result depends on beyond its configuration (torch, numpy,
            device, threads).

    Returns:
        The dict that :func:`record_from_dict` reads.
    """
    extra, not_stored = _extra_to_json(rec.extra)
    ts = rec.target_scores
    return {
        "version": RECORD_VERSION,
        "key": key,
        "fingerprint": fingerprint,
        "env": env,
        "host": socket.gethostname(),
        "variant": rec.variant,
        "task": rec.task,
        "seed": rec.seed,
        "result": result_to_dict(rec.result),
        "history": rec.history,
        "checkpoint": str(rec.checkpoint),
        "seconds": rec.seconds,
        "target_scores": None
        if ts is None
        else {
            "scores": [float(x) for x in np.asarray(ts.scores, np.float64)],
            "labels": [int(x) for x in np.asarray(ts.labels)],
            "threshold": float(ts.threshold),
        },
        "extra": extra,
        "extra_not_stored": not_stored,
        "source_val_split": rec.source_val_split,
    }


def record_from_dict(d: dict[str, Any]) -> RunRecord:
    """The :class:`~disentangle_fas.training.protocol_report.RunRecord` that
    :func:`record_to_dict` wrote.

    Raises:
        KeyError: a field is missing.
        ValueError: another record version.
    """
    if d.get("version") != RECORD_VERSION:
        raise ValueError(f"record version {d.get('version')!r}, expected {RECORD_VERSION}")
    ts = d["target_scores"]
    return RunRecord(
        variant=str(d["variant"]),
        task=str(d["task"]),
        seed=int(d["seed"]),
        result=result_from_dict(d["result"]),
        history=list(d["history"]),
        checkpoint=Path(d["checkpoint"]),
        seconds=float(d["seconds"]),
        target_scores=None
        if ts is None
        else TargetScores(
            np.asarray(ts["scores"], dtype=np.float64),
            np.asarray(ts["labels"], dtype=np.int64),
            float(ts["threshold"]),
        ),
        extra=d["extra"],
        source_val_split=str(d["source_val_split"]),
    )


def write_record(
    folder: str | Path, rec: RunRecord, *, key: str, fingerprint: str, env: dict[str, Any]
) -> Path:
    """Write ``folder/record.json`` atomically and remove a failure left by an earlier try.

    Returns:
        The record's path.
    """
    path = Path(folder) / RECORD_NAME
    data = record_to_dict(rec, key=key, fingerprint=fingerprint, env=env)
    atomic_write_text(path, json.dumps(data, indent=1))
    (Path(folder) / FAILURE_NAME).unlink(missing_ok=True)
    return path


def read_record(folder: str | Path, fingerprint: str | None = None) -> RunRecord | None:
    """The record in ``folder``, or ``None`` when there is none, it is unreadable, of
    another version, or (with ``fingerprint``) of another configuration.
    """
    data = read_record_data(folder)
    if data is None or (fingerprint is not None and data.get("fingerprint") != fingerprint):
        return None
    try:
        return record_from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def read_record_data(folder: str | Path) -> dict[str, Any] | None:
    """The raw JSON of ``folder/record.json``, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_failure(folder: str | Path, *, key: str, error: BaseException) -> Path:
    """Write ``folder/failure.json``: the unit key, the error's one line, its traceback
    and the host.

    Returns:
        The failure's path.
    """
    path = Path(folder) / FAILURE_NAME
    line = (
        f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    )
    data = {
        "key": key,
        "error": line,
        "traceback": "".join(traceback.format_exception(error)),
        "host": socket.gethostname(),
    }
    atomic_write_text(path, json.dumps(data, indent=1))
    return path


def read_failure(folder: str | Path) -> dict[str, Any] | None:
    """The failure in ``folder`` (keys ``key``, ``error``, ``traceback``, ``host``), or
    ``None``.
    """
    try:
        data = json.loads((Path(folder) / FAILURE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
