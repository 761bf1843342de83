"""The training loop around the step: input-pipeline capacity, and the loop against the bare step.

Part 1, input pipeline (``--skip-pipeline`` to leave it out): a temporary store of random
crops at ``--size`` px (256 by default, written directly in the store format) and a
float16 target cache of its content targets (filled before timing, as after the first
epoch); then ``DeviceBatches``, the object the training loop takes its batches from, with
the model step replaced by a no-op: the balanced batch sampler, one uint8 gather per batch
with the cache rows read alongside (``BatchReads``), the transfer to the device, the
conversion to float32, the flips of images and targets. Two figures, in images per second
of CPU time (per core; other tenants disturb this much less than wall time):

* ``host side``: what a loader worker core does per batch on a GPU host (the read and the
  cache rows; pinning adds a memcpy there, not measurable without CUDA);
* ``whole pipeline, device = cpu``: the host side plus the device-side work (conversion,
  flip) done by this CPU, since there is no GPU here: a lower bound of a worker core's
  capacity.

With ``--workers N`` the whole pipeline also runs with ``N`` loader processes (wall clock).

Part 2, loop vs bare step (``--skip-loop`` to leave it out): on the synthetic benchmark at
``--loop-size`` px (64), alternately ``train()`` itself (the real loop: sampler, pipeline,
precomputed geometry targets, flips, the six-term step, AdamW, the non-finite guard,
per-step JSONL logging) and the bare training step of ``bench_train.py`` (the same model
and objective on a batch already in memory, a fresh model each round as the loop's is),
round after round. The loop's step time is
read from its own log (``images_per_s`` per step, warm-up steps and the step before the
final evaluation left out); by default the loop's step timer is pointed at this process's
CPU time for the run (``--clock cpu``; one torch thread, no workers: all the work is in
this process), and the bare step is timed the same way, because on a shared machine wall
times drift between the two. The ratio is loop images/s over bare-step images/s, the
median of per-round ratios.

    python benchmarks/bench_loop.py                         # about 3-4 minutes on 2 cores
    python benchmarks/bench_loop.py --skip-loop --workers 2 # pipeline only, with workers
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_stages, store_parser
from bench_data import write_store
from bench_train import CPU_OPTIMISED, applied, build_full, machine, make_batch

from disentangle_fas.data.sampler import DomainBalancedBatchSampler
from disentangle_fas.data.store import StoreDataset
from disentangle_fas.targets import ModuleTarget, TargetCache, make_fingerprint
from disentangle_fas.training import TrainConfig, train
from disentangle_fas.training.batches import BatchReads, DeviceBatches
from disentangle_fas.training.data import IndexedSubset

PIPELINE_TARGET = 1500.0  # images/s per core at 256 px
LOOP_TARGET = 0.95  # loop images/s >= this x the bare step's


# -- part 1: the input pipeline ---------------------------------------------------------------
def pipeline_parts(args: argparse.Namespace, tmp: Path) -> tuple[IndexedSubset, TargetCache]:
    """The training subset of a fresh store and its filled target cache."""
    root = tmp / "store"
    root.mkdir()
    write_store(root, args.images, args.size)
    store = StoreDataset(root)
    train_set = IndexedSubset(store, np.arange(len(store)))  # stored at the training size
    teacher = ModuleTarget(nn.AdaptiveAvgPool2d(args.content_size), name="pool")
    cache = TargetCache(
        tmp / "cache",
        teacher,
        num_items=len(store),
        image_size=(args.size, args.size),
        dataset_fingerprint=make_fingerprint("bench", args.images, args.size),
    )
    cache.fill(train_set, batch_size=64, progress=False)
    np.asarray(np.load(root / "train.npy", mmap_mode="r")).sum()  # page cache warm-up
    return train_set, cache


def bench_pipeline(args: argparse.Namespace, tmp: Path) -> None:
    t0 = time.perf_counter()
    train_set, cache = pipeline_parts(args, tmp)
    store = train_set.parent
    assert isinstance(store, StoreDataset)
    sampler = DomainBalancedBatchSampler(store.labels, store.domains, args.batch, seed=0)
    n = max(1, args.read // args.batch)
    print(
        f"\ninput pipeline: {args.images} random {args.size}x{args.size} crops in a store, "
        f"content cache {args.content_size}x{args.content_size} fp16 (filled), batch "
        f"{args.batch}, hflip on, {n} batches per path and round, {args.rounds} rounds, "
        f"model step replaced by a no-op; set up in {time.perf_counter() - t0:.1f} s"
    )
    reads = BatchReads(train_set, cache)
    inputs = DeviceBatches(train_set, sampler, torch.device("cpu"), content=cache, hflip=True,
                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    batches = iter(sampler)

    def host() -> int:
        nonlocal batches
        indices = next(batches, None)
        if indices is None:
            batches = iter(sampler)
            indices = next(batches)
        return int(reads[indices].sample.image.shape[0])

    def whole() -> int:
        return int(next(inputs).images.shape[0])

    paths = {"host side (read + cache rows)": host, "whole pipeline, device = cpu": whole}
    for fn in paths.values():
        fn()
    rates: dict[str, list[float]] = {k: [] for k in paths}
    for r in range(args.rounds):
        spent = {k: [0.0, 0] for k in paths}
        names = list(paths)
        for b in range(n):  # alternate batch by batch, rotating the order
            k = (b + r) % len(names)
            for name in names[k:] + names[:k]:
                c0 = time.process_time()
                spent[name][1] += paths[name]()
                spent[name][0] += time.process_time() - c0
        for name, (cpu, images) in spent.items():
            rates[name].append(images / max(cpu, 1e-9))
    inputs.close()
    print("\n| path | images/s per core (median) | rounds |")
    print("| --- | ---: | ---: |")
    for name, values in rates.items():
        print(f"| {name} | {statistics.median(values):.0f} | {min(values):.0f}-{max(values):.0f} |")
    if args.workers > 0:
        with_workers = DeviceBatches(train_set, sampler, torch.device("cpu"), content=cache,
                                   hflip=True, generator=torch.Generator().manual_seed(0),
                                   num_workers=args.workers)  # fmt: skip
        for _ in range(2 * args.workers):
            next(with_workers)
        walls = []
        for _ in range(args.rounds):
            w0 = time.perf_counter()
            images = sum(int(next(with_workers).images.shape[0]) for _ in range(n))
            walls.append(images / (time.perf_counter() - w0))
        with_workers.close()
        print(f"| whole pipeline, {args.workers} workers (wall) | {statistics.median(walls):.0f} "
              f"| {min(walls):.0f}-{max(walls):.0f} |")  # fmt: skip
    for name in paths:
        rate = statistics.median(rates[name])
        verdict = "met" if rate >= PIPELINE_TARGET else "MISSED"
        print(f"target >= {PIPELINE_TARGET:.0f} images/s per core at {args.size} px, {name}: "
              f"{verdict} ({rate:.0f})")  # fmt: skip


# -- part 2: the loop against the bare step --------------------------------------------------
def loop_config(args: argparse.Namespace, out: Path) -> TrainConfig:
    return TrainConfig(
        image_size=args.loop_size, batch_size=args.loop_batch, steps=args.loop_steps,
        eval_every=args.loop_steps, log_every=1, synthetic_train_per_domain=args.synthetic,
        synthetic_eval_per_domain=24, warmup_steps=2, progress=False, device="cpu",
        out=str(out),
    )  # fmt: skip


def loop_step_seconds(cfg: TrainConfig, skip: int, clock: str) -> list[float]:
    """Run ``train(cfg)`` and return the seconds of each logged step after ``skip``.

    With ``clock="cpu"`` the loop's own step timer reads this process's CPU time instead of
    the wall clock (the loop's module-level ``time`` is swapped for the run).
    """
    import types

    import disentangle_fas.training.loop as loop

    real = loop.time
    if clock == "cpu":
        loop.time = types.SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment]
    try:
        train(cfg)
    finally:
        loop.time = real
    rows = [json.loads(line) for line in (Path(cfg.out) / "log.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in rows if r["kind"] == "train"]
    return [cfg.batch_size / r for r in rates[skip:-1]]


def bench_loop(args: argparse.Namespace, tmp: Path) -> None:
    print(
        f"\nloop vs bare step: synthetic OCI->M, {args.loop_size} px, batch {args.loop_batch}, "
        f"full model, {args.loop_steps} loop steps per round (first {args.loop_skip} left "
        f"out), bare step for >= {args.loop_min_time:g} s per round, {args.rounds_loop} "
        f"rounds, torch threads 1, fused AdamW in both, {args.clock} clock"
    )
    cfg = loop_config(args, tmp / "run-0")
    data = make_batch(args.loop_batch, args.loop_size, cfg.content_size, torch.device("cpu"))
    loop_t, bare_t = [], []
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    with applied(CPU_OPTIMISED):
        loop_step_seconds(cfg, args.loop_skip, args.clock)  # renders the task once, warm-up
        for r in range(args.rounds_loop):
            order = ["loop", "bare"] if r % 2 == 0 else ["bare", "loop"]
            for which in order:
                if which == "loop":
                    steps = loop_step_seconds(loop_config(args, tmp / f"run-{r + 1}"),
                                              args.loop_skip, args.clock)  # fmt: skip
                    loop_t.append(statistics.median(steps))
                else:  # a fresh model each round, like the loop's (a model trained long
                    # on one fixed batch drifts to tiny gradients and denormal arithmetic)
                    torch.manual_seed(r)
                    bare = build_full(CPU_OPTIMISED, cfg, data, torch.device("cpu"))
                    bare.step()
                    times, t0 = [], time.perf_counter()
                    while time.perf_counter() - t0 < args.loop_min_time or len(times) < 3:
                        s0 = clock()
                        bare.step()
                        times.append(clock() - s0)
                    bare_t.append(statistics.median(times))
            print(f"  round {r + 1}/{args.rounds_loop}: loop {1000 * loop_t[-1]:.0f} ms, "
                  f"bare {1000 * bare_t[-1]:.0f} ms per step", flush=True)  # fmt: skip
    per_round = [b / lo for lo, b in zip(loop_t, bare_t, strict=True)]
    ratio = statistics.median(per_round)
    b = args.loop_batch
    print("\n| path | images/s (median) | ms/step |")
    print("| --- | ---: | ---: |")
    print(f"| loop (train()) | {b / statistics.median(loop_t):.1f} | "
          f"{1000 * statistics.median(loop_t):.0f} |")  # fmt: skip
    print(f"| bare step | {b / statistics.median(bare_t):.1f} | "
          f"{1000 * statistics.median(bare_t):.0f} |")  # fmt: skip
    verdict = "met" if ratio >= LOOP_TARGET else "MISSED"
    print(f"target loop >= {LOOP_TARGET:.2f}x the bare step: {verdict} ({ratio:.2f}x; rounds "
          f"{min(per_round):.2f}-{max(per_round):.2f})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = store_parser(
        __doc__, images=1200, batch=48, batch_help="pipeline batch (multiple of 6)", read=960
    )
    p.add_argument("--content-size", type=int, default=32, help="content target side")
    p.add_argument("--rounds", type=int, default=5, help="pipeline rounds")
    p.add_argument("--workers", type=int, default=0, help="also time N loader workers")
    p.add_argument("--loop-size", type=int, default=64)
    p.add_argument("--loop-batch", type=int, default=24)
    p.add_argument("--loop-steps", type=int, default=12)
    p.add_argument("--loop-skip", type=int, default=3, help="loop warm-up steps left out")
    p.add_argument("--loop-min-time", type=float, default=5.0)
    p.add_argument("--rounds-loop", type=int, default=4)
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="time steps by this process's CPU time (default) or wall time")  # fmt: skip
    p.add_argument("--synthetic", type=int, default=96, help="synthetic images per domain")
    p.add_argument("--skip-pipeline", action="store_true")
    p.add_argument("--skip-loop", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*random initialisation.*")
    warnings.filterwarnings("ignore", message=".*no ImageNet weights.*")
    print("\n".join(machine(torch.device("cpu"))))
    return run_stages(
        args, args.tmp, [(args.skip_pipeline, bench_pipeline), (args.skip_loop, bench_loop)]
    )


if __name__ == "__main__":
    raise SystemExit(main())
