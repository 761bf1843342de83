"""Training-step throughput of the full model against three bare ResNet-18s, naive vs optimised.

One training step is what ``disentangle_fas.training.loop`` does per batch, minus data
loading, augmentation and logging: forward, the loss, backward, gradient clipping
(``TrainConfig.grad_clip``) and the AdamW step.

* full: ``DisentangledFAS`` (variant ``full``: E_L, E_C, E_D with one shared stem, C_L,
  C_D, D_C) and its six-term objective through ``DisentanglementMethod.loss``, with the
  content target given as a precomputed tensor (the cached-target path: no teacher runs).
* ceiling: three bare torchvision ``resnet18`` (2-class fc, cross-entropy each) at the same
  batch and resolution, with the same clipping and optimizer over their parameters. The
  full model shares its stem (a little less conv work than three full ResNets) but adds
  heads, the content decoder and the confusion terms.

Settings: ``naive`` is fp32, NCHW, eager, for-loop AdamW, torch's default thread count.
``optimised`` is, on CUDA, bf16 autocast + channels_last + fused AdamW (+ ``torch.compile``
with ``--compile``), i.e. the loop's defaults; on CPU the options that measured faster on
the project's 2-core machine (see ``docs/performance.md``; ``--explore`` re-measures each
option on its own).

All variants run in one process, round-robin (the order rotates every round), after
warm-up; the table gives the median over rounds and the ratios are medians of per-round
ratios, so slow phases of a shared machine hit all variants alike.

    python benchmarks/bench_train.py                      # CPU defaults, 1.5-3 minutes
    python benchmarks/bench_train.py --explore            # CPU: each option on its own
    python benchmarks/bench_train.py --device cuda --size 256 --batch 128 --compile
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple, cast

import torch
import torchvision
from _common import cpu_model, load_average
from torch import Tensor, nn

from disentangle_fas.methods.disentangle import DisentanglementMethod
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.methods import method_context

SOURCE_DOMAINS = ["O", "C", "I"]


@dataclass(frozen=True)
class Setting:
    """How a step runs (everything else is the same model and data)."""

    name: str
    amp: bool = False  # bf16 autocast around forward + loss
    channels_last: bool = False
    optimizer: str = "for-loop"  # AdamW implementation: for-loop, foreach or fused
    compile: bool = False
    threads: int | None = None  # torch.set_num_threads while the variant runs
    flush_denormal: bool = False
    cudnn_benchmark: bool = False


NAIVE = Setting("naive fp32")
CUDA_OPTIMISED = Setting("bf16+CL+fused", amp=True, channels_last=True, optimizer="fused")
# Chosen from `--explore` runs on the 2-core machine (docs/performance.md): one thread
# avoids OpenMP stalls when other processes share the two cores, fused AdamW (CPU kernel)
# cuts the optimizer's share. channels_last, CPU bf16 autocast, foreach AdamW at one
# thread and torch.compile measured no faster there.
CPU_OPTIMISED = Setting("1 thread+fused", optimizer="fused", threads=1)


class Batch(NamedTuple):
    images: Tensor
    labels: Tensor
    domains: Tensor
    content: Tensor


@dataclass
class Variant:
    model: str  # "full" or "ceiling"
    setting: Setting
    step: Callable[[], None]
    params: int

    @property
    def name(self) -> str:
        return f"{self.model} / {self.setting.name}"


def make_batch(batch: int, size: int, content_size: int, device: torch.device) -> Batch:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, size, size, generator=g)
    labels = torch.arange(batch) % 2
    domains = (torch.arange(batch) // 2) % len(SOURCE_DOMAINS)
    content = torch.rand(batch, 1, content_size, content_size, generator=g)
    return Batch(images.to(device), labels.to(device), domains.to(device), content.to(device))


def _optimizer(params: list[nn.Parameter], cfg: TrainConfig, kind: str) -> torch.optim.AdamW:
    flags = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **flags[kind])


def _make_step(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, Tensor], Tensor],
    images: Tensor,
    setting: Setting,
    cfg: TrainConfig,
    device: torch.device,
) -> Callable[[], None]:
    if setting.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = _optimizer(params, cfg, setting.optimizer)
    step_model = cast(nn.Module, torch.compile(model)) if setting.compile else model
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=setting.amp):
            loss = loss_fn(step_model, images)
        loss.backward()  # type: ignore[no-untyped-call]
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()

    return step


def build_full(setting: Setting, cfg: TrainConfig, data: Batch, device: torch.device) -> Variant:
    context = method_context(cfg.replace(task=f"{''.join(SOURCE_DOMAINS)}->M"), warn_random=False)
    method = DisentanglementMethod(context)
    model = method.model.to(device)

    def loss(step_model: nn.Module, images: Tensor) -> Tensor:
        out = method.loss(step_model, images, data.labels, data.domains, data.content, 0.0)
        return out.total

    step = _make_step(model, loss, data.images, setting, cfg, device)
    return Variant("full", setting, step, sum(p.numel() for p in model.parameters()))


class ThreeResNet18(nn.Module):
    """Three independent torchvision ResNet-18s; the loss is the sum of their CE losses."""

    def __init__(self) -> None:
        super().__init__()
        self.nets = nn.ModuleList(torchvision.models.resnet18(num_classes=2) for _ in range(3))

    def forward(self, x: Tensor) -> list[Tensor]:
        return [net(x) for net in self.nets]


def build_ceiling(setting: Setting, cfg: TrainConfig, data: Batch, device: torch.device) -> Variant:
    model = ThreeResNet18().to(device)
    ce = nn.CrossEntropyLoss()

    def loss(step_model: nn.Module, images: Tensor) -> Tensor:
        return cast(Tensor, sum(ce(logits, data.labels) for logits in step_model(images)))

    step = _make_step(model, loss, data.images, setting, cfg, device)
    return Variant("ceiling", setting, step, sum(p.numel() for p in model.parameters()))


@contextlib.contextmanager
def applied(setting: Setting) -> Iterator[None]:
    """Apply the process-wide parts of a setting (threads, denormals) while a variant runs."""
    threads, benchmark = torch.get_num_threads(), torch.backends.cudnn.benchmark
    if setting.threads is not None:
        torch.set_num_threads(setting.threads)
    if setting.flush_denormal:
        torch.set_flush_denormal(True)
    torch.backends.cudnn.benchmark = setting.cudnn_benchmark
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)
        torch.backends.cudnn.benchmark = benchmark


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    variants: list[Variant],
    steps: int,
    warmup: int,
    rounds: int,
    device: torch.device,
    min_time: float,
) -> dict[str, list[float]]:
    """Seconds per step of every variant in every round (round-robin, rotating order).

    A variant runs at least ``steps`` steps per round, and more until ``min_time`` seconds
    have passed, so fast variants get more samples without slow ones taking longer.
    """
    for v in variants:
        t0 = time.perf_counter()
        with applied(v.setting):
            for _ in range(warmup):
                v.step()
            sync(device)
        print(f"  warm-up {v.name}: {time.perf_counter() - t0:.1f} s", flush=True)
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    for r in range(rounds):
        k = r % len(variants)
        for v in variants[k:] + variants[:k]:
            with applied(v.setting):
                sync(device)
                t0 = time.perf_counter()
                done, elapsed = 0, 0.0
                while done < steps or elapsed < min_time:
                    v.step()
                    done += 1
                    if done >= steps:  # sync only once the step count is reached
                        sync(device)
                    elapsed = time.perf_counter() - t0
                times[v.name].append(elapsed / done)
        print(f"  round {r + 1}/{rounds} done", flush=True)
    return times


def profile(variant: Variant, device: torch.device, steps: int, rows: int) -> None:
    """Print torch.profiler's top operators (self time) over ``steps`` steps."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as run_profiler

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with applied(variant.setting), run_profiler(activities=activities) as prof:
        for _ in range(steps):
            variant.step()
        sync(device)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"\ntorch.profiler, {variant.name}, {steps} steps, top {rows} operators by {key}:")
    print(prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=40))


def machine(device: torch.device) -> list[str]:
    dev = str(device)
    if device.type == "cuda":
        dev += f" ({torch.cuda.get_device_name(device)})"
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; torch default threads "
        f"{torch.get_num_threads()}",
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}",
        f"device: {dev}",
        f"load average (1/5/15 min): {load_average()}",
    ]


def ratio(times: dict[str, list[float]], num: str, den: str) -> float:
    """Median over rounds of time(num) / time(den) (> 1: num is slower)."""
    return statistics.median(ratios(times, num, den))


def ratios(times: dict[str, list[float]], num: str, den: str) -> list[float]:
    """Per-round time(num) / time(den)."""
    return [a / b for a, b in zip(times[num], times[den], strict=True)]


def report(
    variants: list[Variant], times: dict[str, list[float]], batch: int, explore: bool
) -> None:
    print("\n| variant | params (M) | images/s (median) | range | ms/step |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for v in variants:
        t = times[v.name]
        med = statistics.median(t)
        print(
            f"| {v.name} | {v.params / 1e6:.1f} | {batch / med:.1f} | "
            f"{batch / max(t):.1f}-{batch / min(t):.1f} | {1000 * med:.0f} |"
        )
    names = {(v.model, v.setting.name): v.name for v in variants}
    print()
    if explore:
        base = names[("full", NAIVE.name)]
        one = names.get(("full", "1 thread"))
        for v in variants:
            if v.name == base:
                continue
            line = f"{v.name}: {ratio(times, base, v.name):.2f}x faster than {NAIVE.name}"
            if one is not None and v.setting.name.startswith("1 thr+"):
                line += f", {ratio(times, one, v.name):.2f}x faster than 1 thread alone"
            print(line)
        return
    for (model, setting), name in names.items():
        if model == "full" and ("ceiling", setting) in names:
            per_round = ratios(times, name, names[("ceiling", setting)])
            r = statistics.median(per_round)
            print(
                f"{setting}: full-model step = {r:.2f}x the three-ResNet-18 step "
                f"(rounds {min(per_round):.2f}-{max(per_round):.2f}; throughput "
                f"{1 / r:.2f}x the ceiling)"
            )
    settings = sorted({s for _, s in names} - {NAIVE.name})
    for model in ("full", "ceiling"):
        for s in settings:
            if (model, s) in names and (model, NAIVE.name) in names:
                r = ratio(times, names[(model, NAIVE.name)], names[(model, s)])
                print(f"{model}: {s} is {r:.2f}x faster than {NAIVE.name}")


def targets(
    variants: list[Variant],
    times: dict[str, list[float]],
    batch: int,
    size: int,
    device: torch.device,
    optimised: Setting,
) -> None:
    """Print the project's throughput targets that this run can speak to, met or missed."""
    names = {(v.model, v.setting.name): v.name for v in variants}
    full, ceiling = names.get(("full", optimised.name)), names.get(("ceiling", optimised.name))
    naive = names.get(("full", NAIVE.name))

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print()
    if full is not None and ceiling is not None:
        r = ratio(times, full, ceiling)
        if device.type == "cpu":
            print(f"target (CPU) full step <= 1.25x ceiling step: {verdict(r <= 1.25)} ({r:.2f}x)")
        else:
            print(
                f"target (GPU) full throughput >= 0.75x ceiling: {verdict(1 / r >= 0.75)} "
                f"({1 / r:.2f}x)"
            )
    if device.type == "cuda" and full is not None:
        ips = batch / statistics.median(times[full])
        note = "" if size == 256 and optimised.amp else " (the target is set for 256 px, bf16)"
        print(f"target (H100) full >= 2000 images/s: {verdict(ips >= 2000)} ({ips:.0f}){note}")
        if naive is not None:
            r = ratio(times, naive, full)
            print(f"target (GPU) optimised >= 2.5x naive fp32: {verdict(r >= 2.5)} ({r:.2f}x)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=8, help="images per step")
    p.add_argument("--size", type=int, default=64, help="image side in pixels")
    p.add_argument("--content-size", type=int, default=32, help="content target side")
    p.add_argument("--steps", type=int, default=1, help="min timed steps per variant and round")
    p.add_argument(
        "--min-time", type=float, default=3.0, help="min timed seconds per variant and round"
    )
    p.add_argument(
        "--warmup", type=int, help="untimed steps per variant first (default 1; 3 on CUDA)"
    )
    p.add_argument("--rounds", type=int, default=2, help="round-robin rounds")
    p.add_argument("--compile", action="store_true", help="torch.compile the optimised path")
    p.add_argument("--threads", type=int, help="torch threads of the optimised CPU path")
    p.add_argument(
        "--cudnn-benchmark", action="store_true", help="optimised CUDA path: cudnn autotuning"
    )
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="after timing, profile STEPS steps of the optimised full model and ceiling",
    )
    p.add_argument(
        "--settings",
        choices=("both", "naive", "optimised"),
        default="both",
        help="which settings to compare full vs ceiling in (default both)",
    )
    p.add_argument(
        "--explore", action="store_true", help="full model only: each CPU option on its own"
    )
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if args.warmup is None:
        args.warmup = 3 if device.type == "cuda" or args.compile else 1
    warnings.filterwarnings("ignore", message=".*random initialisation.*")
    torch.manual_seed(0)
    print("\n".join(machine(device)))
    cfg = TrainConfig(image_size=args.size, batch_size=args.batch, content_size=args.content_size)
    data = make_batch(args.batch, args.size, args.content_size, device)
    print(
        f"batch {args.batch}, {args.size}x{args.size} px, content target "
        f"{args.content_size}x{args.content_size}, AdamW lr {cfg.lr} wd {cfg.weight_decay}, "
        f"grad clip {cfg.grad_clip}; {args.rounds} rounds of >= {args.steps} step(s) and "
        f">= {args.min_time:g} s per variant, after {args.warmup} warm-up step(s)"
    )
    if device.type == "cuda":
        optimised = replace(
            CUDA_OPTIMISED, compile=args.compile, cudnn_benchmark=args.cudnn_benchmark
        )
        if args.cudnn_benchmark:
            optimised = replace(optimised, name=optimised.name + "+cudnn.benchmark")
        if args.compile:
            optimised = replace(optimised, name=optimised.name + "+compile")
    else:
        optimised = CPU_OPTIMISED
        if args.threads is not None:
            optimised = replace(optimised, threads=args.threads, name=f"{args.threads} thr+fused")
        if args.compile:
            optimised = replace(optimised, compile=True, name=optimised.name + "+compile")
    builders: list[tuple[Callable[..., Variant], Setting]]
    if args.explore:
        # Two threads stall badly when other processes share the cores, which would hide
        # every other effect: the options are measured on top of one thread as well.
        one = Setting("1 thread", threads=1)
        options = [
            NAIVE,
            Setting("foreach AdamW", optimizer="foreach"),
            one,
            replace(one, name="1 thr+foreach", optimizer="foreach"),
            replace(one, name="1 thr+fused AdamW", optimizer="fused"),
            replace(one, name="1 thr+channels_last", channels_last=True),
            replace(one, name="1 thr+bf16 autocast", amp=True),
            replace(one, name="1 thr+flush denormals", flush_denormal=True),
        ]
        if args.compile:
            options.append(replace(one, name="1 thr+compile", compile=True))
        builders = [(build_full, s) for s in options]
    else:
        settings = {"both": [NAIVE, optimised], "naive": [NAIVE], "optimised": [optimised]}
        builders = [(b, s) for s in settings[args.settings] for b in (build_full, build_ceiling)]
    variants = [build(s, cfg, data, device) for build, s in builders]
    times = measure(variants, args.steps, args.warmup, args.rounds, device, args.min_time)
    report(variants, times, args.batch, args.explore)
    if not args.explore:
        targets(variants, times, args.batch, args.size, device, optimised)
    if args.profile > 0:
        for v in variants:
            if v.setting == optimised or (args.explore and v.setting.name == "1 thread"):
                profile(v, device, args.profile, rows=12)
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
