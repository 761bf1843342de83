"""Step time: live PRNet teacher at 256 px + a small student step, versus TargetCache read + step.

Random PRNet weights (timing only; a random teacher is not a content target).

    python benchmarks/bench_target_cache.py --steps 5 --batch-size 4 --device cpu
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.targets import PRNet, PRNetTarget, TargetCache


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _machine(device: torch.device) -> str:
    lines = [
        f"python {platform.python_version()}, torch {torch.__version__}, {platform.platform()}",
        f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} (other processes share the cores)",
        f"device: {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
    ]
    return "\n".join(lines)


def _student(out_channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, out_channels, 1),
    )


def _time(fn: Callable[[int], None], steps: int, device: torch.device) -> list[float]:
    fn(0)  # warm-up
    _sync(device)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        fn(i)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output-size", type=int, default=32, help="target/decoder resolution")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(_machine(device))

    target = PRNetTarget.from_module(
        PRNet(), mode="depth", output_size=args.output_size, allow_random=True
    ).to(device)
    n = args.batch_size * (args.steps + 1)
    images = torch.rand(n, 3, 256, 256)
    student = _student(1).to(device)
    opt = torch.optim.SGD(student.parameters(), lr=0.01)

    def batch(i: int) -> tuple[Tensor, Tensor]:
        idx = torch.arange(i * args.batch_size, (i + 1) * args.batch_size)
        return images[idx].to(device), idx

    def student_step(x: Tensor, t: Tensor) -> None:
        pred = F.adaptive_avg_pool2d(student(x), t.shape[-2:])
        loss = F.mse_loss(pred, t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def live(i: int) -> None:
        x, _ = batch(i)
        student_step(x, target(x))

    def teacher_only(i: int) -> None:
        target(batch(i)[0])

    with tempfile.TemporaryDirectory() as tmp:
        cache = TargetCache(tmp, target, num_items=n, image_size=(256, 256),
                            dataset_fingerprint="bench")  # fmt: skip
        t0 = time.perf_counter()
        for i in range(args.steps + 1):  # fill every entry the timed loop reads
            x, idx = batch(i)
            cache(x, idx)
        fill_s = time.perf_counter() - t0

        def cached(i: int) -> None:
            x, idx = batch(i)
            student_step(x, cache(x, idx))

        def read_only(i: int) -> None:
            x, idx = batch(i)
            cache(x, idx)

        results = {
            "teacher forward + student step": _time(live, args.steps, device),
            "cache read + student step": _time(cached, args.steps, device),
            "teacher forward only": _time(teacher_only, args.steps, device),
            "cache read only": _time(read_only, args.steps, device),
        }
        cache.close()

    print(f"batch {args.batch_size} at 256x256, target 1x{args.output_size}x{args.output_size}, "
          f"{args.steps} timed steps (median, min)")  # fmt: skip
    for name, times in results.items():
        print(f"  {name:32s} {1e3 * statistics.median(times):9.1f} ms  "
              f"{1e3 * min(times):9.1f} ms")  # fmt: skip
    live_ms = statistics.median(results["teacher forward + student step"])
    cache_ms = statistics.median(results["cache read + student step"])
    print(f"  speed-up per step: {live_ms / cache_ms:.1f}x; one-off cache fill of {n} images: "
          f"{fill_s:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
