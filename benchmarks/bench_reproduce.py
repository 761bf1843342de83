"""Time the CPU-only steps of the reproduction kit: convert-prnet and check-data.

* ``convert-prnet`` on a full-size checkpoint in the official layout (the 245 resfcn256
  variables with random values, Adam slots for one variable, written by the tests' own
  tensor-bundle writer), with and without the CRC32C checks;
* CRC32C throughput of the pure-Python implementation;
* ``check-data`` (listing only) of a tree with the 4,950 OULU-NPU video names, their eye
  files and the 30 protocol files.

    python benchmarks/bench_reproduce.py
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import cpu_model, load_average

from _tf_checkpoint import random_prnet_weights, write_checkpoint
from disentangle_fas.data.check import check_dataset
from disentangle_fas.targets.crc32c import crc32c
from disentangle_fas.targets.prnet_tf import convert_prnet_checkpoint
from test_data_check import oulu_full_tree


def _timed(fn: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    """Print the machine and a table of timings."""
    print(
        f"cpu: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}, torch {torch.__version__}"
    )
    print(f"load average (1/5/15 min): {load_average()}")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        weights = random_prnet_weights(0)
        weights["resfcn256/Conv/weights/Adam"] = np.zeros((4, 4, 3, 16), np.float32)
        prefix = root / "256_256_resfcn256_weight"
        write_checkpoint(prefix, weights)
        size = sum(v.nbytes for v in weights.values()) / 1e6
        out = root / "prnet.safetensors"
        t_fast = _timed(lambda: convert_prnet_checkpoint(prefix, out, verify_checksums=False))
        rows.append((f"convert-prnet, {size:.1f} MB, no CRC check (best of 3)", f"{t_fast:.2f} s"))
        data = os.urandom(16_000_000)
        t_crc = _timed(lambda: crc32c(data), repeat=2)
        rows.append(("CRC32C, pure Python", f"{16 / t_crc:.1f} MB/s"))
        rows.append(
            (
                f"convert-prnet with CRC checks (estimate: + {size:.1f} MB of CRC)",
                f"{t_fast + size / (16 / t_crc):.2f} s",
            )
        )
        tree = root / "oulu"
        oulu_full_tree(tree)
        t_check = _timed(lambda: check_dataset("oulu", tree))
        rows.append(
            ("check-data oulu, 4,950 videos + eye + protocol files (best of 3)", f"{t_check:.2f} s")
        )
    print("\n| step | time |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
