"""What every benchmark prints about the machine, and how it runs its stages.

The benchmarks import this module by its file name (``from _common import ...``): a
script run as ``python benchmarks/bench_x.py`` has ``benchmarks/`` first on its path.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["cpu_model", "load_average", "run_stages", "store_parser"]

Stage = Callable[[argparse.Namespace, Path], None]


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, ``"nan nan nan"`` where the OS has none."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return "{:.2f} {:.2f} {:.2f}".format(*load)


def run_stages(
    args: argparse.Namespace, tmp: Path | None, stages: Sequence[tuple[bool, Stage]]
) -> int:
    """Run each ``(skip, stage)`` not skipped in one temporary folder under ``tmp``.

    Prints the load average at the end, so that a reader sees how loaded the machine
    was while the numbers were taken.

    Returns:
        0, the script's exit status.
    """
    with tempfile.TemporaryDirectory(dir=tmp) as name:
        for skip, stage in stages:
            if not skip:
                stage(args, Path(name))
    print(f"\nload average at the end: {load_average()}")
    return 0


def store_parser(
    doc: str | None, *, images: int, batch: int, batch_help: str, read: int
) -> argparse.ArgumentParser:
    """The options of a benchmark that reads a temporary store of random crops.

    ``--images`` (crops in the store), ``--size`` (their side), ``--batch``, ``--read``
    (images per path and round) and ``--tmp`` (the folder of the temporary files).
    """
    p = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    p.add_argument("--images", type=int, default=images, help="crops in the temporary store")
    p.add_argument("--size", type=int, default=256, help="crop side in pixels")
    p.add_argument("--batch", type=int, default=batch, help=batch_help)
    p.add_argument("--read", type=int, default=read, help="images per path and round")
    p.add_argument("--tmp", type=Path, help="folder for the temporary files (default: system)")
    return p
