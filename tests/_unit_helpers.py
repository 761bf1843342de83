"""Helpers of the unit, shard and cluster tests (importable by their subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from disentangle_fas.training import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.loop import TrainResult

TESTS = Path(__file__).resolve().parent

#: What every test protocol runs: one task, two variants, one seed (two units).
PROTOCOL: dict[str, Any] = dict(tasks=["OCI->M"], variants=["baseline", "full"], seeds=1,
                                keep="chosen", bootstrap_resamples=200)  # fmt: skip


def synthetic_config(out: Path | str, **changes: Any) -> TrainConfig:
    """The smallest synthetic protocol that trains and evaluates (32 px, 4 steps)."""
    base: dict[str, Any] = dict(
        out=str(out), steps=4, eval_every=2, batch_size=6, depth=10, image_size=32,
        warmup_steps=1, progress=False, device="cpu", synthetic_train_per_domain=6,
        synthetic_eval_per_domain=4, content_size=16,
    )  # fmt: skip
    base.update(changes)
    return TrainConfig(**base)


def shared_cache(factory: Any) -> Path:
    """One render cache for the whole test session (``factory``: pytest's
    ``tmp_path_factory``), so the synthetic splits are rendered once.
    """
    return Path(factory.getbasetemp()) / "synthetic-cache"


def subprocess_env() -> dict[str, str]:
    """This process's environment with the tests folder importable (for child processes)."""
    env = dict(os.environ)
    src = str(TESTS.parent / "src")
    parts = [str(TESTS), src, env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
    env["OMP_NUM_THREADS"] = "1"
    return env


class HangOnFull:
    """An ``after_run`` that hangs once the ``full`` variant has trained (its folder then
    holds every file but its record), after writing its process id to ``marker``.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, variant: str, task: TaskData, seed: int, res: TrainResult) -> None:
        if variant == "full":
            Path(self.marker).write_text(str(os.getpid()))
            time.sleep(600)


def shard_process(
    out: Path, shard: str, hang_marker: Path | None = None, workers: int = 1
) -> subprocess.Popen[str]:
    """Start ``python -m _unit_helpers OUT K/N WORKERS [MARKER]``: one shard of
    :data:`PROTOCOL`.
    """
    args = [sys.executable, "-m", "_unit_helpers", str(out), shard, str(workers)]
    if hang_marker is not None:
        args.append(str(hang_marker))
    return subprocess.Popen(
        args, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _main(argv: list[str]) -> None:
    from disentangle_fas.training.protocol import run_units
    from disentangle_fas.training.units import parse_shard, shard_numbers

    out, shard, workers = argv[0], argv[1], int(argv[2])
    after = HangOnFull(argv[3]) if len(argv) > 3 else None
    k, n = parse_shard(shard)
    units = shard_numbers(len(PROTOCOL["variants"]) * PROTOCOL["seeds"], k, n)
    run_units(synthetic_config(out), units=units, after_run=after, workers=workers, **PROTOCOL)


if __name__ == "__main__":
    _main(sys.argv[1:])
