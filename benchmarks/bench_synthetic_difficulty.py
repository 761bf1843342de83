"""Difficulty report of the built-in synthetic benchmark, measured with the baseline only.

Trains the baseline (E_L + C_L with the LMCL loss: ``variant="baseline"``, no content or
domain branch, no DG method) on every task of the synthetic benchmark, for several seeds,
and prints, per task, the held-out source-validation AUC and the unseen-target AUC of the
honestly chosen checkpoint (best source-validation EER) with 95 % t-intervals over seeds,
then the learning curve (both AUCs at each evaluation step, mean over seeds) that shows
whether the runs converged. The seed is the benchmark seed and the model seed at once
(each seed draws other people, sessions and cameras).

Each domain split is rendered once per seed in this process (one core) and shared by every
task that uses it. The run takes one core: ``torch.set_num_threads(1)``.

    python benchmarks/bench_synthetic_difficulty.py                    # all tasks, 3 seeds
    python benchmarks/bench_synthetic_difficulty.py --tasks 'OCI->M' 'OCI->Cb' --seeds 0
    # the main command's preset (SYNTHETIC_PROTOCOL_PRESET), for comparison:
    python benchmarks/bench_synthetic_difficulty.py --image-size 32 --steps 60 \
        --batch-size 12 --train-per-domain 300 --eval-per-domain 100 --eval-every 20 \
        --warmup-steps 5
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Any

import numpy as np
import torch

from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.metrics.uncertainty import t_interval
from disentangle_fas.synthetic import GENERATOR_VERSION
from disentangle_fas.training import TrainConfig, train
from disentangle_fas.training.tasks import build_synthetic_task

TASKS = ("ICM->O", "OMI->C", "OCM->I", "OCI->M", "OCI->Cb", "OMI->Cb", "OCM->Cb", "ICM->Cb")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _interval(values: list[float]) -> str:
    ci = t_interval(values)
    if ci.method == "none":
        return f"{100 * ci.estimate:.1f}"
    return f"{100 * ci.estimate:.1f} ± {100 * (ci.high - ci.estimate):.1f}"


def main() -> None:
    """Parse the arguments, train the baseline on every task and seed, print the report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tasks", nargs="+", default=list(TASKS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--train-per-domain", type=int, default=600)
    p.add_argument("--eval-per-domain", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--warmup-steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default="", help="also write every run's figures to this file")
    p.add_argument(
        "--merge", nargs="+", default=[], help="print the report of runs written by --json"
    )
    args = p.parse_args()
    if args.merge:
        merged: list[dict[str, Any]] = []
        for path in args.merge:
            with open(path, encoding="utf-8") as fh:
                merged += json.load(fh)["runs"]
        _report(merged, list(dict.fromkeys(r["task"] for r in merged)))
        return
    for task in args.tasks:
        leave_one_out(task)  # fail early on a bad name
    torch.set_num_threads(args.threads)
    print(f"# synthetic benchmark difficulty, generator version {GENERATOR_VERSION}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"machine: {_cpu_name()}, {os.cpu_count()} cores, torch threads {args.threads}, "
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"{datetime.datetime.now().isoformat(timespec='seconds')}"
    )
    print(
        f"baseline (E_L + C_L, LMCL), {args.image_size} px, {args.steps} steps, batch "
        f"{args.batch_size}, {args.train_per_domain} train / {args.eval_per_domain} eval "
        f"images per domain, {args.warmup_steps} warm-up steps, seeds {args.seeds}; "
        "checkpoint: best source-val EER (honest)"
    )
    t_start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for task in args.tasks:
                cfg = TrainConfig(
                    task=task,
                    variant="baseline",
                    image_size=args.image_size,
                    steps=args.steps,
                    batch_size=args.batch_size,
                    synthetic_train_per_domain=args.train_per_domain,
                    synthetic_eval_per_domain=args.eval_per_domain,
                    eval_every=args.eval_every,
                    warmup_steps=args.warmup_steps,
                    seed=seed,
                    device="cpu",
                    progress=False,
                    out=os.path.join(tmp, f"{seed}-{task.replace('>', '')}"),
                )
                t0 = time.perf_counter()
                data = build_synthetic_task(cfg, render_workers=0)  # this core only
                t1 = time.perf_counter()
                res = train(cfg, data)
                best = min(res.history, key=lambda h: h["source_val_eer"])
                runs.append(
                    {
                        "task": task,
                        "seed": seed,
                        "generator_version": GENERATOR_VERSION,
                        "source_val_auc": best["source_val_auc"],
                        "target_auc": res.metrics.auc,
                        "curve": [
                            [h["step"], h["source_val_auc"], h["target_auc"]] for h in res.history
                        ],
                    }
                )
                if args.json:
                    with open(args.json, "w", encoding="utf-8") as fh:
                        json.dump({"runs": runs}, fh, indent=1)
                print(
                    f"seed {seed} {task}: source-val AUC {100 * best['source_val_auc']:.1f} "
                    f"target AUC {100 * res.metrics.auc:.1f} (step {best['step']}; "
                    f"render {t1 - t0:.0f} s, train {res.seconds:.0f} s)",
                    flush=True,
                )
    _report(runs, args.tasks)
    print(f"wall time {time.perf_counter() - t_start:.0f} s")


def _report(runs: list[dict[str, Any]], tasks: list[str]) -> None:
    """Print the table (mean and 95 % interval over seeds) and the learning curves."""
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    curves: dict[str, dict[int, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        rows[r["task"]].append((r["source_val_auc"], r["target_auc"]))
        for step, src, tgt in r["curve"]:
            curves[r["task"]][int(step)].append((src, tgt))
    versions = sorted({int(r["generator_version"]) for r in runs})
    seeds = sorted({int(r["seed"]) for r in runs})
    print()
    print(f"generator version {versions}, seeds {seeds}")
    print("| task | source-val AUC (%) | target AUC (%) | gap (points) |")
    print("| --- | ---: | ---: | ---: |")
    for task in tasks:
        src = [s for s, _ in rows[task]]
        tgt = [t for _, t in rows[task]]
        gap = [s - t for s, t in rows[task]]
        print(f"| {task} | {_interval(src)} | {_interval(tgt)} | {_interval(gap)} |")
    print()
    print("learning curve: source-val AUC / target AUC (%), mean over seeds")
    steps = sorted({s for c in curves.values() for s in c})
    print("| task | " + " | ".join(f"step {s}" for s in steps) + " |")
    print("| --- |" + " ---: |" * len(steps))
    for task in tasks:
        cells = []
        for s in steps:
            pts = curves[task].get(s, [])
            if not pts:
                cells.append("")
                continue
            a = statistics.fmean(x for x, _ in pts)
            b = statistics.fmean(y for _, y in pts)
            cells.append(f"{100 * a:.1f} / {100 * b:.1f}")
        print(f"| {task} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
