"""Error types of the library and the one error policy of its commands.

Library code raises typed exceptions; :func:`command` (wrapped around every subcommand of
``disentangle-fas``) turns them into one line on stderr and an exit code:

=====  ==========================================================================
code   meaning
=====  ==========================================================================
0      success
1      a runtime failure: unreadable input, refused file, full disk, read-only or
       locked folder, anything unexpected
2      a usage or configuration problem: a bad option or config value, a path that
       does not exist, a run folder refused without ``--resume``/``--overwrite``
3      a non-finite run (:class:`NonFiniteLossError`)
130    interrupted (Ctrl-C)
=====  ==========================================================================

``--debug`` (anywhere before a ``--``) or ``DISENTANGLE_FAS_DEBUG=1`` also prints the
traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

__all__ = [
    "DEBUG_ENV",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NONFINITE",
    "EXIT_USAGE",
    "ArgumentParser",
    "DeviceUnavailableError",
    "NonFiniteLossError",
    "NonFiniteWeightsError",
    "RunDirectoryError",
    "RunInterrupted",
    "RunLockedError",
    "UnreadableInputError",
    "UsageError",
    "classify",
    "command",
    "run_command",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NONFINITE = 3
EXIT_INTERRUPTED = 130

#: Environment variable that makes every command print tracebacks (``1``, ``true``, ``yes``).
DEBUG_ENV = "DISENTANGLE_FAS_DEBUG"


class UsageError(ValueError):
    """A bad option, config value or argument combination (exit code 2)."""


class RunDirectoryError(UsageError):
    """A run folder that cannot be used as asked: it holds another run and neither
    ``--resume`` nor ``--overwrite`` was given, or ``--resume`` would continue a run with a
    different configuration (exit code 2).
    """


class DeviceUnavailableError(UsageError, RuntimeError):
    """A device was asked for that this machine does not have (exit code 2)."""


class RunLockedError(RuntimeError):
    """Another process holds the run folder's lock (exit code 1).

    Attributes:
        holder: what the holder wrote into the lock file (pid, host, start time).
    """

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


class UnreadableInputError(Exception):
    """Mixin of errors about an input that could not be read (exit code 1)."""


class NonFiniteLossError(RuntimeError):
    """The loss, the weights or the scores became NaN or infinite; the last good
    checkpoint is left untouched (exit code 3).
    """


class NonFiniteWeightsError(NonFiniteLossError, ValueError):
    """A weights file (a checkpoint, ImageNet or PRNet weights) holds NaN or infinite
    values; it was refused before anything scored with it (exit code 3).

    Also a :class:`ValueError`: a bad file was given.
    """


class RunInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); the run folder holds the last checkpoint.

    Attributes:
        step: optimizer steps done when interrupted.
        saved_step: step of the last saved training state (0: none).
    """

    def __init__(self, step: int, saved_step: int) -> None:
        self.step, self.saved_step = step, saved_step
        if saved_step:
            tail = f"`--resume` continues from the checkpoint of step {saved_step}"
        else:
            tail = "no checkpoint was written yet; `--resume` starts again from step 0"
        super().__init__(f"interrupted at step {step}; {tail}")


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one line (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (usage: PROG --help)`` and exit with code 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (usage: {self.prog} --help)\n")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and "Original Traceback" in text and lines[0].startswith("Caught "):
        # torch re-raises a DataLoader worker's error with the worker's traceback in the
        # message; its last line is the error itself (which names the file).
        return lines[-1].split(": ", 1)[-1] if ": " in lines[-1] else lines[-1]
    return lines[0] if lines else type(exc).__name__


def _os_message(exc: OSError) -> str:
    what = exc.strerror or _first_line(exc)
    if exc.filename is not None:
        where = str(exc.filename)
        if exc.filename2 is not None:
            where += f" -> {exc.filename2}"
        return f"{what}: {where}"
    return what


def classify(exc: BaseException) -> tuple[int, str]:
    """Map an exception to the exit code and the one line a command prints.

    Args:
        exc: the exception that ended the command.

    Returns:
        ``(exit_code, message)``; the message has no newline.
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, _first_line(exc) if str(exc) else "interrupted"
    if isinstance(exc, NonFiniteLossError):
        return EXIT_NONFINITE, _first_line(exc)
    if isinstance(exc, RunLockedError | UnreadableInputError):
        return EXIT_FAILURE, _first_line(exc)
    if isinstance(exc, UsageError):
        return EXIT_USAGE, _first_line(exc)
    if isinstance(exc, pickle.UnpicklingError):
        return EXIT_FAILURE, (
            "refused to load a file that is not a plain tensor file (only weights-only "
            f"state dicts and safetensors are read): {_first_line(exc)}"
        )
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return EXIT_USAGE, _os_message(exc)
    if isinstance(exc, OSError):
        return EXIT_FAILURE, _os_message(exc)
    if isinstance(exc, ValueError | TypeError | ImportError):
        return EXIT_USAGE, _first_line(exc)
    if isinstance(exc, MemoryError):
        return EXIT_FAILURE, "out of memory"
    return EXIT_FAILURE, f"{type(exc).__name__}: {_first_line(exc)} (--debug shows the traceback)"


def _debug_wanted(argv: list[str]) -> tuple[bool, list[str]]:
    env = os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
    end = argv.index("--") if "--" in argv else len(argv)
    head = argv[:end]
    if "--debug" not in head:
        return env, argv
    return True, [a for a in head if a != "--debug"] + argv[end:]


def run_command(prog: str, func: Callable[[list[str]], int], argv: Sequence[str]) -> int:
    """Run one command under the error policy (see the module docstring).

    Args:
        prog: the command's name in messages, e.g. ``"disentangle-fas train"``.
        func: the command: takes the arguments, returns the exit code, raises on errors.
        argv: its arguments; ``--debug`` is taken out before ``func`` sees them.

    Returns:
        ``func``'s exit code, or the policy's code for the exception it raised.
    """
    debug, args = _debug_wanted(list(argv))
    try:
        return func(args)
    except SystemExit:  # argparse (--help, usage errors) has already printed its message
        raise
    except BaseException as exc:
        if not isinstance(exc, Exception | KeyboardInterrupt):
            raise
        code, message = classify(exc)
        if debug:
            traceback.print_exc()
        sep = ": " if code == EXIT_INTERRUPTED else ": error: "
        print(f"{prog}{sep}{message}", file=sys.stderr, flush=True)
        return code


def command(prog: str) -> Callable[[Callable[[list[str]], int]], Callable[..., int]]:
    """Decorate a command's ``main(argv)`` with :func:`run_command`.

    ``argv=None`` reads ``sys.argv[1:]``.

    Args:
        prog: the command's name in messages.

    Returns:
        The decorator.
    """

    def wrap(func: Callable[[list[str]], int]) -> Callable[..., int]:
        @functools.wraps(func)
        def main(argv: Sequence[str] | None = None) -> int:
            return run_command(prog, func, sys.argv[1:] if argv is None else list(argv))

        return main

    return wrap
