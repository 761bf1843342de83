"""Run directories that cannot be lost or mixed up.

:class:`RunDirectory` guards ``--out`` for the whole run:

- an exclusive lock (``out/.lock``, ``fcntl.flock``; released by the kernel when the
  process dies, even by SIGKILL): a second run on the same folder fails at once with
  :class:`~disentangle_fas.errors.RunLockedError` naming the holder. The lock file is
  removed when the run ends (a lock taken on a file that was meanwhile removed is
  detected and retried, so removing it is safe);
- a folder that holds anything is refused unless ``resume`` or ``overwrite`` is set
  (:class:`~disentangle_fas.errors.RunDirectoryError`);
- ``resume`` compares the stored ``config.json`` with the new configuration and refuses
  a changed model, data or optimisation setting unless ``allow_config_change``; with no
  ``state.safetensors`` it says that there is nothing to resume and starts at step 0;
- :meth:`RunDirectory.prepare` (called only once every option has been validated and
  the state restored) is the first thing that changes the folder: with ``overwrite`` it
  removes the previous run's files, it removes temporary files orphaned by a killed
  write, cuts ``log.jsonl`` back to the restored step and writes ``config.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

from disentangle_fas._io import atomic_write_text, leftover_temporaries, remove_temporaries
from disentangle_fas.errors import RunDirectoryError, RunLockedError
from disentangle_fas.training.logging import trim_log

__all__ = [
    "LOCK_NAME",
    "RESUME_IGNORED_FIELDS",
    "RUN_FILES",
    "RunDirectory",
    "config_changes",
    "orphaned_temporaries",
]

LOCK_NAME = ".lock"

#: What a training run writes into its folder (removed by ``overwrite``).
RUN_FILES: tuple[str, ...] = (
    "config.json",
    "log.jsonl",
    "state.safetensors",
    "last.safetensors",
    "best_source_val.safetensors",
    "best_oracle.safetensors",
    "result.json",
    "tb",
)

#: Config fields that may change between a run and its resumption: where and how it runs,
#: not what it computes.
RESUME_IGNORED_FIELDS: frozenset[str] = frozenset(
    {
        "out",
        "resume",
        "overwrite",
        "allow_config_change",
        "device",
        "num_workers",
        "compile",
        "tensorboard",
        "progress",
        "log_every",
        "eval_every",
    }
)


def orphaned_temporaries(out: Path) -> list[Path]:
    """Temporaries of atomic writes a killed writer left in ``out``
    (:func:`~disentangle_fas._io.leftover_temporaries`: ``.NAME.*.tmp`` folders and files,
    ``.NAME.link``).

    Only what a killed writer can leave behind; remove them only while holding the run's lock.
    """
    return leftover_temporaries(out)


def config_changes(stored: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value differs between a stored and a new configuration.

    Fields in :data:`RESUME_IGNORED_FIELDS` are not compared; a field missing on one side
    (written by another version) is compared with the other side's value only when both
    have it.

    Returns:
        ``{field: (stored value, new value)}``.
    """
    return {
        k: (stored[k], current[k])
        for k in sorted(set(stored) & set(current))
        if k not in RESUME_IGNORED_FIELDS and stored[k] != current[k]
    }


def _holder_text() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"


def _locked(out: Path, holder: str) -> RunLockedError:
    """The error of a run folder another process holds."""
    return RunLockedError(
        f"{out} is in use by another run ({holder}); wait for it to end or choose another --out",
        holder,
    )


class RunDirectory:
    """The run folder of one training run (see the module docstring).

    Args:
        out: the folder.
        resume: continue the run in it.
        overwrite: replace the run in it.
        allow_config_change: let ``resume`` continue with a changed configuration.
        enabled: do anything at all (rank 0 only in distributed runs).

    Attributes:
        step: steps done so far in this process (kept up to date by the training loop,
            reported when interrupted).
        saved_step: step of the last training state written.
    """

    def __init__(
        self,
        out: str | Path,
        *,
        resume: bool = False,
        overwrite: bool = False,
        allow_config_change: bool = False,
        enabled: bool = True,
    ) -> None:
        self.out = Path(out)
        self.resume, self.overwrite = resume, overwrite
        self.allow_config_change = allow_config_change
        self.enabled = enabled
        self.step = 0
        self.saved_step = 0
        self._lock: IO[str] | None = None
        self._created = False

    @property
    def state_path(self) -> Path:
        """``out/state.safetensors``."""
        return self.out / "state.safetensors"

    def open(self, config: dict[str, Any]) -> RunDirectory:
        """Take the lock and check that the folder may be used as asked; changes nothing
        but the lock file (and the folder itself when it does not exist yet).

        Args:
            config: the new run's configuration (``TrainConfig.to_dict()``).

        Returns:
            ``self``.

        Raises:
            RunLockedError: another process holds the folder.
            RunDirectoryError: ``out`` is a file; it holds something and neither ``resume``
                nor ``overwrite`` is set; or ``resume`` with a changed configuration.
            OSError: the folder cannot be created or written (read-only, full disk).
        """
        if not self.enabled:
            return self
        if self.out.exists() and not self.out.is_dir():
            raise RunDirectoryError(f"--out {self.out} is a file, not a folder")
        self._created = not self.out.exists()
        self.out.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            self._check(config)
        except BaseException:
            self.close()
            raise
        self.saved_step = self._stored_step()
        return self

    @staticmethod
    def check_free(out: str | Path) -> None:
        """Refuse at once, before anything is imported or built, a folder whose lock another
        process holds (the lock is taken for real by :meth:`open`).

        Creates nothing: a folder without a lock file is free.

        Raises:
            RunLockedError: naming the holder.
        """
        path = Path(out) / LOCK_NAME
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: open() warns
            return
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError:
            return
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = handle.read().strip() or "another process"
                raise _locked(Path(out), holder) from None
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _acquire(self) -> None:
        for _ in range(5):
            if self._try_acquire():
                return
        raise RunLockedError(f"{self.out}: could not take the run lock (it keeps changing)")

    def _try_acquire(self) -> bool:
        """Take the lock; ``False`` when the lock file was replaced meanwhile (retry)."""
        path = self.out / LOCK_NAME
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, say so
            print(
                f"warning: no file locking on this platform; {self.out} is not protected "
                "against a second run",
                file=sys.stderr,
            )
            self._lock = handle
            return True
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise _locked(self.out, holder) from None
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed the file after we opened it
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(_holder_text() + "\n")
        handle.flush()
        self._lock = handle
        return True

    def _contents(self) -> list[str]:
        return sorted(p.name for p in self.out.iterdir() if p.name != LOCK_NAME)

    def _check(self, config: dict[str, Any]) -> None:
        contents = self._contents()
        if contents and not (self.resume or self.overwrite):
            shown = ", ".join(contents[:4]) + (", ..." if len(contents) > 4 else "")
            what = "a finished run" if "result.json" in contents else "files"
            raise RunDirectoryError(
                f"--out {self.out} already holds {what} ({shown}); pass --resume to continue "
                "it, --overwrite to replace it, or choose another --out"
            )
        if not self.resume:
            return
        if not self.state_path.is_file():
            print(
                f"note: nothing to resume in {self.out} (no state.safetensors): starting at step 0",
                file=sys.stderr,
            )
        stored_path = self.out / "config.json"
        if not stored_path.is_file() or self.allow_config_change:
            return
        try:
            stored = json.loads(stored_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunDirectoryError(
                f"{stored_path} is unreadable ({exc}); --resume cannot check the run's "
                "configuration: pass --allow-config-change to continue anyway"
            ) from exc
        changed = config_changes(stored, config) if isinstance(stored, dict) else {}
        if changed:
            shown = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in list(changed.items())[:4])
            raise RunDirectoryError(
                f"--resume would continue the run in {self.out} with a different "
                f"configuration ({shown}); pass --allow-config-change to accept it, or "
                "choose another --out"
            )

    def _stored_step(self) -> int:
        if not self.state_path.is_file():
            return 0
        try:
            from safetensors import safe_open

            with safe_open(str(self.state_path), framework="pt") as f:
                meta = json.loads((f.metadata() or {}).get("state", "{}"))
            return int(meta.get("step", 0))
        except Exception:  # an unreadable state is reported by the loader, not here
            return 0

    def prepare(self, config: dict[str, Any], step: int) -> None:
        """Make the folder ready for a run continuing at ``step`` (0: a new run).

        With ``overwrite`` the previous run's files (:data:`RUN_FILES`) are removed; then
        orphaned temporary files are removed, ``log.jsonl`` is cut back to rows of steps
        ``<= step`` and ``config.json`` is written atomically.

        Args:
            config: the run's configuration.
            step: the step the run continues from.
        """
        if not self.enabled:
            return
        if self.overwrite:
            for name in RUN_FILES:
                path = self.out / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                elif path.exists() or path.is_symlink():
                    path.unlink()
        remove_temporaries(self.out)
        trim_log(self.out / "log.jsonl", step)
        atomic_write_text(self.out / "config.json", json.dumps(config, indent=2))
        self.step = self.saved_step = step

    def close(self) -> None:
        """Remove the lock file and release the lock; a folder this run created and left
        empty is removed too.
        """
        if self._lock is None:
            return
        handle, self._lock = self._lock, None
        try:
            (self.out / LOCK_NAME).unlink(missing_ok=True)  # still held: nobody else has it
            if self._created and not any(self.out.iterdir()):
                self.out.rmdir()
        except OSError:
            pass
        finally:
            handle.close()

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
