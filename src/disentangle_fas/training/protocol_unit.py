r"""One run unit of a protocol: what it is (:class:`Job`), and doing it: build its data
(cached per process and on disk), train, score, call ``after_run``, prune its weight files
and write its record (``record.json``), or its failure (``failure.json``).

:mod:`~disentangle_fas.training.protocol_jobs` runs lists of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from disentangle_fas.errors import RunLockedError
from disentangle_fas.metrics import video_level
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.loop import TrainResult, train
from disentangle_fas.training.options import KEEP_CHOICES, KeepCheckpoints
from disentangle_fas.training.protocol_report import RunRecord
from disentangle_fas.training.protocol_stats import TargetScores
from disentangle_fas.training.run_record import read_record, write_failure, write_record
from disentangle_fas.training.scoring import score_dataset
from disentangle_fas.training.tasks import content_spec
from disentangle_fas.training.units import config_fingerprint, unit_key

__all__ = [
    "KEEP_CHOICES",
    "AfterRun",
    "Job",
    "KeepCheckpoints",
    "check_keep",
    "do_job",
    "environment",
    "forget_built",
    "prune_run",
]

#: ``after_run(variant, task, seed, result)``: called in the process that ran the run,
#: while its data is in memory; what it returns is kept as :attr:`RunRecord.extra`.
AfterRun = Callable[[str, TaskData, int, TrainResult], Any]


def check_keep(keep: str) -> None:
    """Refuse an unknown ``keep``.

    Raises:
        ValueError: ``keep`` is not one of :data:`KEEP_CHOICES`.
    """
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, got {keep!r}")


@dataclass(frozen=True)
class Job:
    """One run of a protocol: everything a worker needs to do it.

    Attributes:
        index: its position in the protocol's run order.
        variant: the variant or method name.
        task: the task's name as given.
        seed: the run's seed.
        cfg: the run's full configuration.
        score_target: keep the chosen checkpoint's video-level target scores (one seed).
        keep: which weight files stay after the run.
    """

    index: int
    variant: str
    task: str
    seed: int
    cfg: TrainConfig
    score_target: bool
    keep: KeepCheckpoints

    @property
    def number(self) -> int:
        """Its unit number, 1..U in plan order."""
        return self.index + 1

    @property
    def key(self) -> str:
        """Its unit key, ``<variant>/<task>/seed<S>``."""
        return unit_key(self.variant, self.task, self.seed)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of what it computes (its settings and what its record holds)."""
        return config_fingerprint(
            self.cfg, variant=self.variant, score_target=self.score_target, keep=self.keep
        )

    @property
    def out(self) -> Path:
        """Its run folder."""
        return Path(self.cfg.out)

    def finished(self) -> RunRecord | None:
        """Its valid record when it finished earlier, else ``None``."""
        return read_record(self.out, self.fingerprint)


def environment(cfg: TrainConfig, threads: int | None = None) -> dict[str, Any]:
    """What a result depends on beyond its configuration: torch and numpy versions, the
    device, torch's intra-op thread count (``threads``, or this process's), the processor
    and Python version.
    """
    dev = resolve_device(cfg.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": f"{dev.type} ({name or platform.machine()})",
        "threads": torch.get_num_threads() if threads is None else threads,
    }


def do_job(
    job: Job,
    task_builder: Callable[[TrainConfig], TaskData],
    after_run: AfterRun | None,
    progress: bool,
    label: str | None = None,
) -> RunRecord:
    """Do one job and write its record; on an error, write its failure and re-raise.

    Args:
        job: the unit.
        task_builder: builds its task's data (once per process for consecutive units of
            one task and seed).
        after_run: the protocol's per-run callback, or ``None``.
        progress: show the run's progress bar.
        label: what the progress bar calls the run.

    Returns:
        Its record (also written to ``record.json`` in its folder).
    """
    try:
        rec = _run_job(job, task_builder, after_run, progress, label)
        write_record(
            job.out,
            rec,
            key=job.key,
            fingerprint=job.fingerprint,
            env=environment(job.cfg, threads=torch.get_num_threads()),
        )
    except RunLockedError:
        raise  # another process is doing this unit: its folder is not ours to write
    except Exception as exc:
        with contextlib.suppress(OSError):  # the folder itself is the problem: the error says so
            write_failure(job.out, key=job.key, error=exc)
        raise
    return rec


def _run_job(
    job: Job,
    task_builder: Callable[[TrainConfig], TaskData],
    after_run: AfterRun | None,
    progress: bool,
    label: str | None = None,
) -> RunRecord:
    """Build the job's data (cached per process and on disk), train, score, prune."""
    cfg = job.cfg.replace(progress=progress)
    task = _task_for(cfg, task_builder)
    res = train(cfg, task, label=label)
    scores = _target_scores(res, task, cfg) if job.score_target else None
    extra = after_run(job.variant, task, job.seed, res) if after_run is not None else None
    prune_run(res.checkpoint, job.keep)
    return RunRecord(
        variant=job.variant,
        task=task.name,
        seed=job.seed,
        result=res.result,
        history=res.history,
        checkpoint=res.checkpoint,
        seconds=res.seconds,
        target_scores=scores,
        extra=extra,
        source_val_split=task.source_val_split,
    )


def forget_built() -> None:
    """Drop this process's cached task data (the next call may build tasks differently)."""
    _BUILT.clear()


#: The process's last built task: (name, seed, needs content) -> data. Jobs come
#: seed-major, so consecutive runs of one worker reuse it.
_BUILT: dict[tuple[str, int], TaskData] = {}


def _task_for(cfg: TrainConfig, task_builder: Callable[[TrainConfig], TaskData]) -> TaskData:
    """The data of ``cfg``'s task and seed, built once per process for every variant.

    Variants differ only in their model and objective, so one build serves them all: a
    variant without a content target gets the built task with ``content=None``, and the
    task is built again only when a variant needs the content target that the first build
    left out.
    """
    needs_content = content_spec(cfg) is not None
    key = (cfg.task, cfg.seed)
    task = _BUILT.get(key)
    if task is None or (needs_content and task.content is None):
        _BUILT.clear()
        task = _BUILT[key] = task_builder(cfg)
    return task if needs_content else dataclasses.replace(task, content=None)


def _target_scores(res: TrainResult, task: TaskData, cfg: TrainConfig) -> TargetScores:
    """Video-level target scores of the run's chosen checkpoint."""
    dev = resolve_device(cfg.device)
    model = res.chosen_model(dev)
    scored = score_dataset(model, task.target_test, device=dev)
    v = video_level(scored.scores, scored.labels, scored.video_ids)
    return TargetScores(v.scores, v.labels, float(res.metrics.threshold))


def prune_run(chosen: Path, keep: KeepCheckpoints) -> list[Path]:
    """Delete the weight files of a finished run that ``keep`` does not keep.

    Args:
        chosen: the run's chosen checkpoint (its folder is the run's folder).
        keep: ``"all"``, ``"chosen"`` or ``"none"`` (see :func:`run_protocol`).

    Returns:
        The files removed.

    Raises:
        ValueError: an unknown ``keep``.
    """
    check_keep(keep)
    if keep == "all":
        return []
    removed = []
    for path in sorted(Path(chosen).parent.glob("*.safetensors")):
        if keep == "none" or path.name != Path(chosen).name:
            path.unlink()
            removed.append(path)
    return removed
