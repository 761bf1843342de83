"""``disentangle-fas preprocess``: videos -> 256x256 face crops + a JSONL manifest.

The run is resumable: each finished video leaves a shard (``shards/*.json``, written
atomically after its crops), a rerun skips videos whose shard exists, matches the
settings and names only existing crops, and the manifest (``manifest.jsonl``) and report
(``report.json``) are merged from the shards at the end. A video whose file changed
(size or modification time, recorded in ``sources.json``) since its shard was written is
redone. Problems with single items (unreadable video, missing annotation, frames without a
face) go to the report; they never stop the run.

Worker processes ignore Ctrl-C (the parent stops them) and end by themselves when the
parent process dies, even by SIGKILL.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path

from tqdm import tqdm

from disentangle_fas._io import atomic_write_text
from disentangle_fas.data.adapters.base import Skipped
from disentangle_fas.data.faces import FaceDetector
from disentangle_fas.data.manifest import ManifestEntry, write_manifest
from disentangle_fas.data.pipeline import (
    LazyDetector,
    PreprocessConfig,
    Problem,
    RecordOutcome,
    process_record,
    read_shard,
)
from disentangle_fas.data.records import Record

__all__ = [
    "PreprocessReport",
    "check_consistent_labels",
    "parse_shard",
    "preprocess_records",
    "select_shard",
    "source_signature",
]

#: Seconds between a worker's checks that its parent process is still alive.
PARENT_POLL_S = 0.5

DetectorFactory = Callable[[], FaceDetector]


@dataclass
class PreprocessReport:
    """Outcome of :func:`preprocess_records` (also written to ``report.json``).

    Attributes:
        videos: records given.
        skipped_done: records already finished by an earlier run (not redone).
        processed: records processed by this run with a shard written.
        failed: records that produced nothing (retried by the next run).
        crops: entries of the merged manifest.
        problems: every problem of the finished and failed records.
        listing_skipped: ``(path, reason)`` of items the adapter left out.
        manifest: path of ``manifest.jsonl``.
    """

    videos: int = 0
    skipped_done: int = 0
    processed: int = 0
    failed: int = 0
    crops: int = 0
    problems: list[Problem] = field(default_factory=list)
    listing_skipped: list[tuple[str, str]] = field(default_factory=list)
    manifest: str = ""

    def count(self, kind: str) -> int:
        """Number of problems of one kind."""
        return sum(1 for p in self.problems if p.kind == kind)

    def to_json(self) -> str:
        """The report as JSON, with problems grouped by kind."""
        grouped: dict[str, list[dict[str, object]]] = {}
        for p in self.problems:
            grouped.setdefault(p.kind, []).append(asdict(p))
        data = {
            "videos": self.videos,
            "skipped_done": self.skipped_done,
            "processed": self.processed,
            "failed": self.failed,
            "crops": self.crops,
            "problem_counts": {k: len(v) for k, v in grouped.items()},
            "problems": grouped,
            "listing_skipped": [{"path": p, "reason": r} for p, r in self.listing_skipped],
            "manifest": self.manifest,
        }
        return json.dumps(data, indent=2)


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"K/N"`` (``0 <= K < N``, e.g. ``$SLURM_ARRAY_TASK_ID/8``).

    Args:
        text: the option value.

    Returns:
        ``(K, N)``.

    Raises:
        ValueError: not two integers with ``0 <= K < N``.
    """
    k_text, sep, n_text = text.partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k, n = -1, 0
    if not sep or not 0 <= k < n:
        raise ValueError(f"--shard must be K/N with 0 <= K < N (e.g. 0/8), got {text!r}")
    return k, n


def select_shard(records: Sequence[Record], k: int, n: int) -> list[Record]:
    """The records of shard ``k`` of ``n``, chosen by a hash of each video id.

    The choice depends on the id only (not on order, ``--limit`` or other records), so the
    ``n`` shards partition any listing exactly.

    Args:
        records: all records.
        k: shard index, ``0 <= k < n``.
        n: number of shards.

    Returns:
        The records of shard ``k``, in their order.
    """
    return [
        r for r in records if int(hashlib.sha1(r.video_id.encode()).hexdigest()[:8], 16) % n == k
    ]


_WORKER_DETECTOR: FaceDetector | None = None


def _watch_parent(parent: int) -> None:
    """End this worker as soon as its parent is gone (re-parented to another pid)."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(factory: DetectorFactory | None, parent: int | None = None) -> None:
    global _WORKER_DETECTOR
    _WORKER_DETECTOR = None if factory is None else LazyDetector(factory)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def source_signature(record: Record) -> list[int]:
    """``[size, mtime_ns]`` of a record's file (``[-1, -1]`` when it cannot be read)."""
    try:
        st = Path(record.path).stat()
    except OSError:
        return [-1, -1]
    return [int(st.st_size), int(st.st_mtime_ns)]


def _run_one(record: Record, out_dir: Path, config: PreprocessConfig) -> RecordOutcome:
    return _safe_process(record, out_dir, config, _WORKER_DETECTOR)


def _safe_process(
    record: Record, out_dir: Path, config: PreprocessConfig, detector: FaceDetector | None
) -> RecordOutcome:
    try:
        return process_record(record, out_dir, config, detector)
    except Exception as err:  # one broken item must not end the run
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
        problem = Problem("error", record.video_id, str(record.path), detail)
        return RecordOutcome(record.video_id, ok=False, problems=[problem])


def _pool(workers: int, ctx: BaseContext, factory: DetectorFactory | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(factory, os.getpid()),
    )


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers now (not after their current item)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # the pool's own
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=5)


def _run_parallel(
    todo: Sequence[Record],
    out: Path,
    config: PreprocessConfig,
    factory: DetectorFactory | None,
    workers: int,
    ctx: BaseContext,
    finish: Callable[[RecordOutcome], None],
) -> None:
    """Process ``todo`` in a pool; if a worker dies (e.g. a decoder crash), redo the
    unfinished items one process each, so that only the culprit is lost.
    """
    done: set[str] = set()
    pool = _pool(workers, ctx, factory)
    try:
        futures = [pool.submit(_run_one, r, out, config) for r in todo]
        for future in as_completed(futures):
            result = future.result()
            done.add(result.video_id)
            finish(result)
    except BrokenProcessPool:
        pool.shutdown(wait=True)
        for record in todo:
            if record.video_id in done:
                continue
            again = read_shard(out, record.video_id, config.fingerprint())
            if again is None:
                try:
                    with _pool(1, ctx, factory) as single:
                        again = single.submit(_run_one, record, out, config).result()
                except BrokenProcessPool:
                    detail = "the worker process died while processing this item"
                    problem = Problem("error", record.video_id, str(record.path), detail)
                    again = RecordOutcome(record.video_id, ok=False, problems=[problem])
            finish(again)
    except BaseException:
        _stop(pool)
        raise
    else:
        pool.shutdown(wait=True)


def check_consistent_labels(records: Sequence[Record]) -> None:
    """Refuse a source file listed twice with different labels (live/spoof, attack,
    domain, subject or split): its crops would carry two contradicting labels.

    Args:
        records: the items to preprocess.

    Raises:
        ValueError: naming both items and what differs.
    """
    first: dict[Path, Record] = {}
    for record in records:
        other = first.setdefault(record.path, record)
        if other is record:
            continue
        a, b = other.labels(), record.labels()
        differ = sorted(k for k in a if k != "video_id" and a[k] != b.get(k))
        if differ:
            raise ValueError(
                f"{record.path} is listed twice with contradicting labels "
                f"({', '.join(f'{k}: {a[k]!r} vs {b[k]!r}' for k in differ)}): as "
                f"{other.video_id!r} and as {record.video_id!r}; keep one"
            )


def preprocess_records(
    records: Sequence[Record],
    out_dir: str | Path,
    config: PreprocessConfig | None = None,
    *,
    detector_factory: DetectorFactory | None = None,
    workers: int = 1,
    progress: bool = True,
    start_method: str = "spawn",
    listing_skipped: Sequence[Skipped] = (),
    shard: tuple[int, int] | None = None,
) -> PreprocessReport:
    """Preprocess records into ``out_dir`` (resumable), then merge manifest and report.

    Args:
        records: items to process (video ids must be distinct).
        out_dir: output folder: ``crops/``, ``shards/``, ``manifest.jsonl``,
            ``report.json``, ``preprocess.json``.
        config: settings (defaults of :class:`PreprocessConfig` when ``None``).
        detector_factory: picklable zero-argument callable building a face detector; it is
            called at most once per process, and only when an item needs it.
        workers: worker processes; ``<= 1`` runs in this process. With the default
            ``"spawn"`` start method a script calling this must guard its entry point
            with ``if __name__ == "__main__":``. A worker that dies (a decoder crash) costs
            only the item it was processing, which is reported as an ``"error"``.
        progress: show a tqdm progress bar.
        start_method: multiprocessing start method of the workers.
        listing_skipped: the adapter's skipped items, copied into the report.
        shard: ``(K, N)`` when ``records`` are shard ``K`` of ``N`` (see
            :func:`select_shard`): the manifest and report are then
            ``manifest-K-of-N.jsonl`` and ``report-K-of-N.json``, so that the ``N`` jobs can
            share ``out_dir``; ``pack`` merges the manifests.

    Returns:
        The report (also written to ``out_dir/report.json``).

    Raises:
        ValueError: duplicate video ids, one source file listed with contradicting labels,
            or items need a detector and none is given.
    """
    config = config or PreprocessConfig()
    ids = [r.video_id for r in records]
    if len(set(ids)) != len(ids):
        seen: dict[str, int] = {}
        for i, vid in enumerate(ids):
            if vid in seen:
                a, b = records[seen[vid]], records[i]
                raise ValueError(
                    f"records must have distinct video_id values: {vid!r} is shared by "
                    f"{a.path} and {b.path} (rows {seen[vid] + 1} and {i + 1}); in a CSV list "
                    "give each video its own video_id (frames of one video are one record)"
                )
            seen[vid] = i
    check_consistent_labels(records)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    needs = sum(r.box_source == "detector" for r in records)
    if needs and detector_factory is None:
        raise ValueError(
            f"{needs} item(s) have no face annotation (box_source='detector', e.g. CASIA-FASD) "
            "and need a face detector: pass detector_factory (CLI: --detector mtcnn)"
        )
    fingerprint = config.fingerprint()
    settings = {"config": asdict(config), "fingerprint": fingerprint}
    atomic_write_text(out / "preprocess.json", json.dumps(settings, indent=2))

    sources_path = out / "sources.json"
    try:
        stored = json.loads(sources_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    stored = stored if isinstance(stored, dict) else {}
    current = {r.video_id: source_signature(r) for r in records}
    results: dict[str, RecordOutcome] = {}
    todo: list[Record] = []
    for record in records:
        old = stored.get(record.video_id)
        changed = old is not None and old != current[record.video_id]
        done = None if changed else read_shard(out, record.video_id, fingerprint)
        if done is None:
            todo.append(record)
        else:
            results[record.video_id] = done
    # Recorded before processing: a video changed after a killed run is redone next time.
    atomic_write_text(sources_path, json.dumps({**stored, **current}, indent=1, sort_keys=True))
    report = PreprocessReport(videos=len(records), skipped_done=len(results))
    bar = tqdm(
        total=len(records),
        initial=len(results),
        disable=not progress,
        unit="video",
        desc="preprocess",
    )
    try:
        if workers <= 1:
            detector = None if detector_factory is None else LazyDetector(detector_factory)
            for record in todo:
                results[record.video_id] = _safe_process(record, out, config, detector)
                bar.update(1)
        else:
            ctx = multiprocessing.get_context(start_method)

            def finish(result: RecordOutcome) -> None:
                results[result.video_id] = result
                bar.update(1)

            _run_parallel(todo, out, config, detector_factory, workers, ctx, finish)
    except KeyboardInterrupt:
        finished = len(results)
        raise KeyboardInterrupt(
            f"interrupted after {finished} of {len(records)} videos; finished videos are "
            "kept: run the same command again to continue"
        ) from None
    finally:
        bar.close()

    entries: list[ManifestEntry] = []
    for record in records:
        result = results[record.video_id]
        report.problems.extend(result.problems)
        if result.ok:
            entries.extend(sorted(result.entries, key=lambda e: e.frame))
        else:
            report.failed += 1
    report.processed = sum(1 for r in todo if results[r.video_id].ok)
    report.crops = len(entries)
    report.listing_skipped = [(str(p), reason) for p, reason in listing_skipped]
    tag = "" if shard is None else f"-{shard[0]}-of-{shard[1]}"
    manifest = out / f"manifest{tag}.jsonl"
    write_manifest(manifest, entries)
    report.manifest = str(manifest)
    atomic_write_text(out / f"report{tag}.json", report.to_json())
    return report
