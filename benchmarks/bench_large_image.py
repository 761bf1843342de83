"""Peak memory and time of MTCNN face detection on one large image, in a fresh process.

Each size runs in its own subprocess (so that peak RSS is that of one detection): decode
the JPEG with :func:`disentangle_fas.inference.io.load_image`, then detect with
:class:`~disentangle_fas.data.faces.MTCNNFaceDetector`, reduced to ``--max-side``
(the library's ``DETECTION_MAX_SIDE`` by default; ``0`` = no reduction, the old
behaviour). Prints the machine and a Markdown table.

    python benchmarks/bench_large_image.py --sizes 1000 4000 8000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import cpu_model

CHILD = r"""
import resource, sys, time
import numpy as np
from PIL import Image
from disentangle_fas.data.faces import MTCNNFaceDetector
from disentangle_fas.inference.io import load_image
path, max_side = sys.argv[1], int(sys.argv[2])
det = MTCNNFaceDetector(max_side=max_side or 10**9)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
image = load_image(path)
box = det(image)
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{image.shape[1]}x{image.shape[0]} {dt:.2f} {base / 1024:.0f} {peak / 1024:.0f} {box is not None}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 8000])
    parser.add_argument("--max-side", type=int, nargs="+", default=[1024, 0])
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"date: {dt.datetime.now():%Y-%m-%d %H:%M}, load average {load[0]:.1f}")
    print()
    print("| image | max side | seconds | RSS before (MB) | peak RSS (MB) | face |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"{size}.jpg"
            rng = np.random.default_rng(0)
            small = rng.integers(0, 255, (size // 50, size // 50, 3), dtype=np.uint8)
            Image.fromarray(small).resize((size, size)).save(path, quality=80)
            for max_side in args.max_side:
                res = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path), str(max_side)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if res.returncode:
                    line = (res.stderr.strip().splitlines() or ["failed"])[-1]
                    print(f"| {size}x{size} | {max_side or 'none'} | failed: {line} | | | |")
                    continue
                shape, secs, base, peak, face = res.stdout.split()
                print(f"| {shape} | {max_side or 'none'} | {secs} | {base} | {peak} | {face} |")


if __name__ == "__main__":
    main()
