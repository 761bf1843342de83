"""Run logging: JSON lines always, TensorBoard optionally, a tqdm progress bar."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

__all__ = ["RunLogger", "trim_log"]


def trim_log(path: Path, step: int) -> int:
    """Cut a ``log.jsonl`` back to the rows of steps ``<= step`` (for a resumed run).

    Rows after the restored step were written by the killed run and will be written again;
    a torn last line (a kill during a write) is dropped too. The file is replaced
    atomically; a missing file is left missing.

    Args:
        path: the log file.
        step: the step the run continues from.

    Returns:
        The number of rows removed.
    """
    if not path.is_file():
        return 0
    kept: list[str] = []
    removed = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
            keep = isinstance(row, dict) and int(row.get("step", 0)) <= step
        except (ValueError, TypeError):
            keep = False
        if keep:
            kept.append(line)
        else:
            removed += 1
    if removed:
        from disentangle_fas._io import atomic_write_text

        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
    return removed


class _NullBar:
    def update(self, n: int = 1) -> None:
        del n

    def set_postfix(self, **kwargs: Any) -> None:
        del kwargs

    def close(self) -> None:
        pass


class RunLogger:
    """Writes ``log.jsonl`` (one JSON object per line: ``{"kind", "time", ...}``).

    Args:
        out: run directory.
        enabled: write anything at all (rank 0 only in distributed runs).
        tensorboard: also write TensorBoard scalars under ``out/tb`` (needs the
            ``tensorboard`` extra).
        resume: append to an existing log instead of starting a new one.
    """

    def __init__(
        self, out: Path, *, enabled: bool = True, tensorboard: bool = False, resume: bool = False
    ) -> None:
        self.enabled = enabled
        self.path = out / "log.jsonl"
        self._tb: Any = None
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        if not resume and self.path.exists():
            self.path.unlink()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError(
                    'TensorBoard logging needs: pip install "disentangle-fas[tensorboard]"'
                ) from exc
            self._tb = SummaryWriter(str(out / "tb"))

    def log(self, kind: str, row: dict[str, Any]) -> None:
        """Append one record (``kind`` is ``"train"`` or ``"eval"``)."""
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps({"kind": kind, "time": time.time(), **row}) + "\n")
        if self._tb is not None:
            step = int(row.get("step", 0))
            for key, value in row.items():
                if key != "step" and isinstance(value, int | float):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def progress(self, *, total: int, initial: int, desc: str, enabled: bool = True) -> Any:
        """A tqdm bar on stderr (a no-op object when disabled or not rank 0)."""
        if not (enabled and self.enabled):
            return _NullBar()
        return tqdm(
            total=total,
            initial=initial,
            desc=desc,
            file=sys.stderr,
            dynamic_ncols=True,
            leave=False,
        )

    def close(self) -> None:
        """Flush TensorBoard."""
        if self._tb is not None:
            self._tb.close()
