"""Weight averaging (none / EMA / SWAD) against the swing of the target AUC between evaluations.

Trains the same runs (same tasks, seeds and data; the baseline E_L + C_L) on the built-in
synthetic benchmark once per ``averaging`` setting, through
:func:`~disentangle_fas.training.protocol.run_protocol` (``--workers`` processes, one
torch thread each), and prints, per setting, over every run:

* the between-evaluation swing: the mean absolute change of the target AUC from one
  evaluation to the next, over the evaluations after the first third of training
  (pairs of consecutive evaluations both past ``steps / 3``), and its largest value;
* the source-validation AUC at the end of training;
* the target AUC of the honest checkpoint (best source-validation EER), and its gap to the
  oracle's (the best target AUC of any evaluation);
* the mean wall time of a run;

then the paired differences to ``none`` (per run: same task and seed) with 95 %
t-intervals, and the honest target AUC per task.

    python benchmarks/bench_weight_averaging.py --tasks "O&C&I->M" --seeds 2 --steps 120 \\
        --eval-every 10 --image-size 32 --depth 10 --batch-size 18 \\
        --train-per-domain 200 --eval-per-domain 100 --workers 2
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, load_average

from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.metrics.uncertainty import t_interval
from disentangle_fas.training import TrainConfig
from disentangle_fas.training.protocol import default_workers, run_protocol
from disentangle_fas.training.tasks import protocol_tasks

SETTINGS = ("none", "ema", "swad")


@dataclass(frozen=True)
class RunFigures:
    """The figures of one run."""

    task: str
    seed: int
    swings: tuple[float, ...]
    source_val_auc_end: float
    honest_target_auc: float
    oracle_target_auc: float
    seconds: float


def swings(history: Sequence[dict[str, Any]], steps: int) -> tuple[float, ...]:
    """|Δ target AUC| between consecutive evaluations, both after the first third."""
    late = [h["target_auc"] for h in history if h["step"] > steps / 3]
    return tuple(abs(b - a) for a, b in itertools.pairwise(late))


def figures(records: Sequence[Any], steps: int) -> list[RunFigures]:
    """The figures of every run of a protocol result (its ``records``)."""
    out = []
    for rec in records:
        hist = rec.history
        out.append(
            RunFigures(
                task=rec.task,
                seed=rec.seed,
                swings=swings(hist, steps),
                source_val_auc_end=hist[-1]["source_val_auc"],
                honest_target_auc=rec.result.auc,
                oracle_target_auc=max(h["target_auc"] for h in hist),
                seconds=rec.seconds,
            )
        )
    return out


def _pct(values: Sequence[float]) -> str:
    """Mean in percent points, with the 95 % t-interval's half-width when there are several."""
    ci = t_interval(values)
    if ci.method == "none":
        return f"{100 * ci.estimate:.1f}"
    return f"{100 * ci.estimate:.1f} ± {100 * (ci.high - ci.estimate):.1f}"


def report(results: dict[str, list[RunFigures]]) -> None:
    """Print the summary, the paired differences to ``none`` and the per-task table."""
    print("\n| averaging | swing, mean (AUC points) | swing, max | source-val AUC at end (%) "
          "| honest target AUC (%) | oracle - honest (points) | s per run |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, runs in results.items():
        swing = [s for r in runs for s in r.swings]
        mean_swing = 100 * statistics.fmean(swing) if swing else float("nan")
        max_swing = 100 * max(swing) if swing else float("nan")
        print(
            f"| {name} | {mean_swing:.1f} | {max_swing:.1f} "
            f"| {_pct([r.source_val_auc_end for r in runs])} "
            f"| {_pct([r.honest_target_auc for r in runs])} "
            f"| {_pct([r.oracle_target_auc - r.honest_target_auc for r in runs])} "
            f"| {statistics.fmean(r.seconds for r in runs):.0f} |"
        )
    base = results.get("none")
    others = [n for n in results if n != "none"]
    if base is not None and others:
        print("\npaired differences to none (per run: same task and seed), mean ± 95 % t:")
        print("| averaging | Δ swing, mean per run (points) | Δ honest target AUC (points) |")
        print("| --- | ---: | ---: |")
        for name in others:
            runs = results[name]
            d_swing = [
                statistics.fmean(r.swings) - statistics.fmean(b.swings)
                for r, b in zip(runs, base, strict=True)
                if r.swings and b.swings
            ]
            d_auc = [
                r.honest_target_auc - b.honest_target_auc for r, b in zip(runs, base, strict=True)
            ]
            print(f"| {name} | {_pct(d_swing) if d_swing else 'n/a'} | {_pct(d_auc)} |")
    tasks = list(dict.fromkeys(r.task for runs in results.values() for r in runs))
    print("\nhonest target AUC (%) per task, mean over seeds:")
    print("| task | " + " | ".join(results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for task in tasks:
        cells = [
            _pct([r.honest_target_auc for r in runs if r.task == task]) for runs in results.values()
        ]
        print(f"| {task} | " + " | ".join(cells) + " |")


def _echo(setting: str, line: str) -> None:
    print(f"{setting}: {line}", flush=True)


def main() -> None:
    """Parse the arguments, train every setting, print the report."""
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--tasks", nargs="+", default=protocol_tasks(), help="leave-one-out tasks")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 per task")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--train-per-domain", type=int, default=600)
    p.add_argument("--eval-per-domain", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--depth", type=int, default=18)
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--workers", type=int, default=default_workers("cpu"))
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    p.add_argument("--ema-decay", type=float, default=TrainConfig.ema_decay)
    p.add_argument("--average-start", type=float, default=TrainConfig.average_start)
    args = p.parse_args()
    # The canonical names ("O&C&I->M" is "OCI->M"), which the runs' records carry.
    args.tasks = list(dict.fromkeys(leave_one_out(task).name for task in args.tasks))
    for task in args.tasks:  # fail early on a bad batch size
        sources = len(leave_one_out(task).sources)
        if args.batch_size % (2 * sources):
            p.error(f"--batch-size must be a multiple of 2 x {sources} source domains ({task})")
    base = TrainConfig(
        variant="baseline",
        image_size=args.image_size,
        steps=args.steps,
        batch_size=args.batch_size,
        depth=args.depth,
        synthetic_train_per_domain=args.train_per_domain,
        synthetic_eval_per_domain=args.eval_per_domain,
        eval_every=args.eval_every,
        warmup_steps=args.warmup_steps,
        ema_decay=args.ema_decay,
        average_start=args.average_start,
        device="cpu",
        progress=False,
    )
    print("# weight averaging: between-evaluation swing of the target AUC")
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, {args.workers} workers of one torch "
        f"thread; load average at start {load_average()}"
    )
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"{datetime.datetime.now().isoformat(timespec='seconds')}"
    )
    print(
        f"baseline (E_L + C_L), ResNet-{args.depth}, {args.image_size} px, {args.steps} steps "
        f"({args.warmup_steps} warm-up), batch {args.batch_size}, {args.train_per_domain} train "
        f"/ {args.eval_per_domain} eval images per domain, evaluation every {args.eval_every} "
        f"steps; tasks {args.tasks}, seeds 0..{args.seeds - 1}; EMA decay {args.ema_decay}, "
        f"average start {args.average_start}; honest checkpoint: best source-val EER"
    )
    t0 = time.perf_counter()
    results: dict[str, list[RunFigures]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.settings:
            cfg = base.replace(averaging=name, out=os.path.join(tmp, name))
            res = run_protocol(
                cfg,
                tasks=args.tasks,
                variants=("baseline",),
                seeds=args.seeds,
                workers=args.workers,
                keep="none",
                bootstrap_resamples=100,
                echo=functools.partial(_echo, name),
            )
            results[name] = figures(res.records, args.steps)
    report(results)
    print(f"\nwall time {time.perf_counter() - t0:.0f} s; load average at the end {load_average()}")


if __name__ == "__main__":
    main()
