"""One prepared GPU check: training step and loop throughput at 256 px, in one table.

Rows (images per second of training, median over timed steps; peak GPU memory per row):

* the training step (forward, the objective, backward, grad clipping, AdamW) on a batch
  already on the device, of the full model (three ResNet-18 encoders with a shared stem,
  heads, content decoder, six losses) and of the ceiling (three bare torchvision
  ResNet-18s, cross-entropy each), in three settings: naive fp32 (NCHW, eager, for-loop
  AdamW, no cuDNN autotuning), bf16 autocast + channels-last + fused AdamW + cuDNN
  autotuning (the training loop's defaults on CUDA), and the same with ``torch.compile``;
* the real training loop, ``train()``, end to end from a packed store (synthetic faces
  rendered and packed here, then repeated to fill it): uint8 batches from loader workers,
  pinned, copied and converted on the device, flips, the step, logging; once with the
  PRNet teacher run live on every batch (random weights: for timing only, a random
  teacher is no content target) and once with the targets cached (the cache filled first
  by a pre-pass of the teacher on the device, whose speed is printed too).

Targets printed at the end: full model >= 0.8x the ceiling (bf16, eager), bf16 >= 2.5x
naive fp32 (full model), loop with cached targets >= 0.9x the bare step (bf16, eager).

    python benchmarks/gpu_check.py                       # one H100/H200: under 5 minutes
    python benchmarks/gpu_check.py --device cpu --quick  # a smoke run on a CPU, ~1-2 min
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import NAIVE, Setting, build_ceiling, build_full, machine, make_batch

from disentangle_fas.data.manifest import ManifestEntry, write_manifest
from disentangle_fas.synthetic import SyntheticFAS
from disentangle_fas.targets import PRNet, PRNetTarget, TargetCache, as_provider, save_prnet
from disentangle_fas.training import TrainConfig, train
from disentangle_fas.training.data import IndexedSubset
from disentangle_fas.training.tasks import build_store_task

OPTIMISED = Setting("bf16+CL+fused", amp=True, channels_last=True, optimizer="fused",
                    cudnn_benchmark=True)  # fmt: skip
COMPILED = dataclasses.replace(OPTIMISED, name="bf16+CL+fused+compile", compile=True)
DOMAINS = ("O", "C", "I", "M")


class Row:
    """One line of the table."""

    def __init__(self, name: str, images_per_s: float, peak: float | None, note: str = "") -> None:
        self.name, self.images_per_s, self.peak, self.note = name, images_per_s, peak, note


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def time_step(step: Callable[[], None], device: torch.device, args: argparse.Namespace) -> float:
    """Median seconds per step after warm-up: at least ``--steps`` steps and ``--min-time`` s."""
    for _ in range(args.warmup):
        step()
    sync(device)
    times: list[float] = []
    t_start = time.perf_counter()
    while len(times) < args.steps or time.perf_counter() - t_start < args.min_time:
        t0 = time.perf_counter()
        step()
        sync(device)  # per step: the median needs single steps (the loop rows do not sync)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def step_rows(args: argparse.Namespace, device: torch.device) -> list[Row]:
    cfg = TrainConfig(image_size=args.size, batch_size=args.batch, content_size=32)
    data = make_batch(args.batch, args.size, 32, device)
    settings = [NAIVE, OPTIMISED] + ([COMPILED] if args.compile else [])
    rows = []
    for setting in settings:
        for model, build in (("full", build_full), ("ceiling", build_ceiling)):
            reset_peak(device)
            t0 = time.perf_counter()
            variant = build(setting, cfg, data, device)
            torch.backends.cudnn.benchmark = setting.cudnn_benchmark
            seconds = time_step(variant.step, device, args)
            rows.append(Row(f"step {model} / {setting.name}", args.batch / seconds,
                            peak_gib(device), f"{time.perf_counter() - t0:.0f} s incl. warm-up"))  # fmt: skip
            print(f"  {rows[-1].name}: {rows[-1].images_per_s:.0f} images/s ({rows[-1].note})",
                  flush=True)  # fmt: skip
            del variant
    return rows


# -- the loop from a packed store -----------------------------------------------------------
def pack_synthetic_store(root: Path, args: argparse.Namespace) -> int:
    """Render ``--render`` faces per domain and split, upsample to ``--size``, and write a
    store of ``--rows`` rows per domain and split (renders repeated, as new videos).
    """
    root.mkdir(parents=True)
    counts = {}
    for split in ("train", "test"):
        images, entries = [], []
        for code in DOMAINS:
            ds = SyntheticFAS([code], samples_per_domain=args.render, image_size=args.render_size,
                              split=split, seed=0, pre_render=True,
                              num_workers=min(8, os.cpu_count() or 1))  # fmt: skip
            pixels = torch.from_numpy(ds.images_uint8(range(len(ds)))).permute(0, 3, 1, 2)
            if args.render_size != args.size:
                up = F.interpolate(pixels.float(), size=(args.size, args.size), mode="bilinear",
                                   align_corners=False)  # fmt: skip
                pixels = up.round().clamp(0, 255).to(torch.uint8)
            pixels_hwc = pixels.permute(0, 2, 3, 1).numpy()
            for k in range(args.rows):
                i = k % len(ds)
                rec = ds.records[i]
                images.append(pixels_hwc[i])
                entries.append(ManifestEntry(
                    path=f"crops/{code}/{split}/{k}.png", label=rec.label, attack=rec.attack,
                    domain=code, subject=f"{rec.subject}-{k // len(ds)}", split=split,
                    video_id=f"{rec.video_id}-{k // len(ds)}", frame=rec.frame,
                ))  # fmt: skip
        np.save(root / f"{split}.npy", np.stack(images))
        write_manifest(root / f"{split}.jsonl", entries)
        counts[split] = len(entries)
    meta = {"format": "disentangle-fas-store", "version": 1, "height": args.size,
            "width": args.size, "splits": counts}  # fmt: skip
    (root / "store.json").write_text(json.dumps(meta))
    return sum(counts.values())


def loop_images_per_s(cfg: TrainConfig) -> float:
    """Median images/s of the loop's log intervals, the first (warm-up) left out."""
    rows = [json.loads(line) for line in (Path(cfg.out) / "log.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in rows if r["kind"] == "train"]
    return float(statistics.median(rates[1:] if len(rates) > 1 else rates))


def loop_rows(args: argparse.Namespace, device: torch.device, tmp: Path) -> list[Row]:
    t0 = time.perf_counter()
    store = tmp / "store"
    n = pack_synthetic_store(store, args)
    print(f"  store: {n} rows at {args.size} px packed in {time.perf_counter() - t0:.0f} s",
          flush=True)  # fmt: skip
    torch.manual_seed(0)
    weights = tmp / "prnet-random.safetensors"
    save_prnet(PRNet().eval(), weights)  # random weights: timing only
    cuda = device.type == "cuda"
    cfg = TrainConfig(
        data=str(store), task="OCI->M", image_size=args.size, content_size=32, variant="full",
        steps=args.loop_steps, eval_every=args.loop_steps, log_every=args.log_every,
        batch_size=args.batch, warmup_steps=2, num_workers=args.workers,
        prnet_weights=str(weights), device=str(device), amp=cuda, channels_last=True,
        progress=False, out=str(tmp / "run-live"),
    )  # fmt: skip
    task = build_store_task(cfg)
    cache = task.content
    assert isinstance(cache, TargetCache)
    live = dataclasses.replace(task, content=as_provider(PRNetTarget(
        str(weights), mode="depth", output_size=(32, 32)).to(device)))  # fmt: skip
    rows = []
    reset_peak(device)
    train(cfg, live)
    rows.append(Row("loop, store, live PRNet teacher (random weights)",
                    loop_images_per_s(cfg), peak_gib(device)))  # fmt: skip
    print(f"  {rows[-1].name}: {rows[-1].images_per_s:.0f} images/s", flush=True)
    parent = task.train.parent  # type: ignore[attr-defined]
    everything = IndexedSubset(parent, np.arange(len(parent)), task.train.batch_transform)  # type: ignore[attr-defined]
    reset_peak(device)
    t0 = time.perf_counter()
    filled = cache.fill(everything, batch_size=64, num_workers=args.workers, device=device,
                        progress=False)  # fmt: skip
    sync(device)
    fill_s = time.perf_counter() - t0
    rows.append(Row("cache pre-pass, PRNet on the device (random weights)",
                    filled / fill_s, peak_gib(device), f"{filled} targets"))  # fmt: skip
    cached_cfg = cfg.replace(out=str(tmp / "run-cached"))
    reset_peak(device)
    train(cached_cfg, task)
    rows.append(Row("loop, store, cached targets", loop_images_per_s(cached_cfg),
                    peak_gib(device)))  # fmt: skip
    print(f"  {rows[-1].name}: {rows[-1].images_per_s:.0f} images/s", flush=True)
    return rows


def verdicts(rows: list[Row]) -> list[str]:
    by = {r.name: r.images_per_s for r in rows}
    out = []

    def check(text: str, value: float, target: float) -> None:
        out.append(f"target {text} >= {target}x: {'met' if value >= target else 'MISSED'} "
                   f"({value:.2f}x)")  # fmt: skip

    full, ceiling = f"step full / {OPTIMISED.name}", f"step ceiling / {OPTIMISED.name}"
    check("full model vs ceiling (bf16, eager)", by[full] / by[ceiling], 0.8)
    check("bf16 vs naive fp32 (full model)", by[full] / by[f"step full / {NAIVE.name}"], 2.5)
    if "loop, store, cached targets" in by:
        check("loop (cached targets) vs bare step", by["loop, store, cached targets"] / by[full],
              0.9)  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run on a CPU")
    p.add_argument("--size", type=int, help="image side (default 256; 64 with --quick)")
    p.add_argument("--batch", type=int, help="batch (default 126; 6 with --quick)")
    p.add_argument("--steps", type=int, help="min timed steps per row (default 15; 2)")
    p.add_argument("--min-time", type=float, help="min timed seconds per row (default 4; 0)")
    p.add_argument("--warmup", type=int, help="untimed steps first (default 3; 1)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="include the torch.compile rows (default: on CUDA)")  # fmt: skip
    p.add_argument("--loop-steps", type=int, help="loop steps per run (default 40; 4)")
    p.add_argument("--log-every", type=int, help="loop log interval (default 5; 2)")
    p.add_argument("--workers", type=int, help="loader workers (default min(8, cores - 2))")
    p.add_argument("--render", type=int, help="faces rendered per domain and split (32; 4)")
    p.add_argument("--render-size", type=int, help="render side, upsampled (128; 32)")
    p.add_argument("--rows", type=int, help="store rows per domain and split (512; 12)")
    p.add_argument("--skip-loop", action="store_true")
    args = p.parse_args(argv)
    quick = {"size": 64, "batch": 6, "steps": 2, "min_time": 0.0, "warmup": 1, "loop_steps": 4,
             "log_every": 2, "render": 4, "render_size": 32, "rows": 12, "workers": 0}  # fmt: skip
    full = {"size": 256, "batch": 126, "steps": 15, "min_time": 4.0, "warmup": 3,
            "loop_steps": 40, "log_every": 5, "render": 32, "render_size": 128, "rows": 512,
            "workers": max(0, min(8, (os.cpu_count() or 1) - 2))}  # fmt: skip
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    device = torch.device(args.device)
    if args.compile is None:
        args.compile = device.type == "cuda"
    if device.type == "cpu":
        torch.set_num_threads(1)  # shared CPUs: see docs/performance.md
    warnings.filterwarnings("ignore", message=".*random initialisation.*")
    warnings.filterwarnings("ignore", message=".*no ImageNet weights.*")
    print("\n".join(machine(device)))
    print(f"batch {args.batch}, {args.size}x{args.size} px, content target 32x32; PRNet "
          "teacher with RANDOM weights (timing only)", flush=True)  # fmt: skip
    t_start = time.perf_counter()
    rows = step_rows(args, device)
    if not args.skip_loop:
        with tempfile.TemporaryDirectory() as name:
            rows += loop_rows(args, device, Path(name))
    print(f"\n| {'measurement':<56} | images/s | peak memory (GiB) | note |")
    print(f"| {'-' * 56} | ---: | ---: | --- |")
    for r in rows:
        peak = "n/a" if r.peak is None else f"{r.peak:.1f}"
        rate = f"{r.images_per_s:.0f}" if r.images_per_s >= 100 else f"{r.images_per_s:.1f}"
        print(f"| {r.name:<56} | {rate} | {peak} | {r.note} |")
    print()
    print("\n".join(verdicts(rows)))
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; load average at the end: "
          "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))  # fmt: skip
    return 0 if math.isfinite(sum(r.images_per_s for r in rows)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
