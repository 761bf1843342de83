"""CPU latency of the LivenessDetector's model (E_L + C_L, ResNet-18) at batch 1 and 64.

Compares, in one run and on the same inputs:

* the detector's model (``LivenessDetector.score_crops``: E_L + C_L with ImageNet
  normalisation, under ``torch.inference_mode``),
* torchvision ``resnet18`` (random weights; the same trunk with a 1000-way fc),
* the same E_L + C_L exported to ONNX and run with ONNX Runtime (CPU provider),
* the whole detector on a photo with a given box at batch 1 (decode-free: crop, resize,
  score).

Usage::

    python benchmarks/bench_inference.py [--image-size 224] [--threads N] [--no-onnx]

Keeps to about a minute on 2 cores: a short warm-up, few timed iterations, medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from _common import cpu_model

from disentangle_fas.inference import LivenessDetector
from disentangle_fas.model import DisentangledFAS


def timeit(fn: Callable[[], object], warmup: int, iters: int) -> float:
    """Median seconds of ``fn()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--threads", type=int, default=None, help="torch / ORT intra-op threads")
    p.add_argument("--no-onnx", action="store_true")
    p.add_argument("--iters-1", type=int, default=10, help="timed iterations at batch 1")
    p.add_argument("--iters-64", type=int, default=2, help="timed iterations at batch 64")
    args = p.parse_args()
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    size = args.image_size

    torch.manual_seed(0)
    model = DisentangledFAS.build(
        num_domains=3, variant="baseline", depth=18, image_size=size, warn_random=False
    )
    det = LivenessDetector(model, device="cpu", face_detector=None)
    tv = torchvision.models.resnet18().eval()

    def tv_forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return tv(x)

    ort_run = None
    ort_version = "-"
    if not args.no_onnx:
        try:
            import onnxruntime

            from disentangle_fas.inference import OnnxLivenessModel, export_onnx

            tmp = Path(tempfile.mkdtemp()) / "liveness.onnx"
            export_onnx(det.model, tmp, image_size=size)
            runner = OnnxLivenessModel(tmp, intra_op_threads=threads)
            ort_run = runner
            ort_version = onnxruntime.__version__
        except ImportError as exc:
            warnings.warn(f"skipping ONNX Runtime: {exc}", stacklevel=1)

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"date:        {dt.datetime.now().isoformat(timespec='seconds')}")
    print(f"machine:     {cpu_model()}, {os.cpu_count()} CPUs, load avg {load[0]:.2f}")
    print(
        f"python:      {platform.python_version()}, torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}, onnxruntime {ort_version}"
    )
    print(f"threads:     {threads}; input {size}x{size} fp32; median of timed iterations")
    print()
    header = f"{'backend':<38} {'batch':>5} {'ms/batch':>10} {'ms/image':>9} {'images/s':>9}"
    print(header)
    print("-" * len(header))

    rng = np.random.default_rng(0)
    rows: list[tuple[str, int, float]] = []
    for batch, iters, warm in ((1, args.iters_1, 3), (64, args.iters_64, 1)):
        x = torch.from_numpy(rng.random((batch, 3, size, size), dtype=np.float32))
        xn = x.numpy()
        cases: list[tuple[str, Callable[[], object]]] = [
            ("detector model (E_L+C_L, eager)", lambda x=x: det.score_crops(x)),
            ("torchvision resnet18 (eager)", lambda x=x: tv_forward(x)),
        ]
        if ort_run is not None:
            cases.append(("detector model (ONNX Runtime)", lambda xn=xn: ort_run(xn)))
        for name, fn in cases:
            sec = timeit(fn, warm, iters)
            rows.append((name, batch, sec))
            print(
                f"{name:<38} {batch:>5} {sec * 1e3:>10.1f} {sec * 1e3 / batch:>9.2f} "
                f"{batch / sec:>9.1f}",
                flush=True,
            )

    # the whole pipeline on a photo: crop around a given box, resize, score
    photo = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
    sec = timeit(lambda: det(photo, box=(200, 100, 440, 380)), 3, args.iters_1)
    name = "detector end to end (640x480 + box)"
    print(f"{name:<38} {1:>5} {sec * 1e3:>10.1f} {sec * 1e3:>9.2f} {1 / sec:>9.1f}")


if __name__ == "__main__":
    main()
