"""The ``disentangle-fas`` command line: one entry point, one subcommand per task.

Subcommands are imported lazily, so that ``disentangle-fas --help`` stays fast and a
missing optional dependency of one subcommand does not break the others. Every subcommand
runs under one error policy (:mod:`disentangle_fas.errors`): one line on stderr and exit
code 1 (runtime failure), 2 (usage or configuration), 3 (non-finite run) or 130
(interrupted); ``--debug`` or ``DISENTANGLE_FAS_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from disentangle_fas.errors import run_command

__all__ = ["SUBCOMMANDS", "main"]

#: name -> ("module:function", one-line help). Each function takes ``argv`` (the
#: arguments after the subcommand name) and returns a process exit code.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("disentangle_fas.training.cli:main", "train a model (synthetic data by default)"),
    "protocol": (
        "disentangle_fas.training.cli:protocol_main",
        "train and evaluate every task of a protocol and print the table",
    ),
    "evaluate": ("disentangle_fas.training.cli:evaluate_main", "evaluate a checkpoint"),
    "methods": (
        "disentangle_fas.methods.listing:main",
        "list the methods and their settings (--set KEY=VALUE)",
    ),
    "preprocess": (
        "disentangle_fas.data.preprocess_cli:main",
        "decode videos, crop faces, write 256x256 crops and a manifest",
    ),
    "pack": ("disentangle_fas.data.store:main", "pack preprocessed crops into a training store"),
    "convert-prnet": (
        "disentangle_fas.targets.prnet_tf:main",
        "convert the official PRNet TensorFlow checkpoint to safetensors",
    ),
    "check-data": (
        "disentangle_fas.data.check:main",
        "check a dataset copy against the official counts (lists files only)",
    ),
    "predict": ("disentangle_fas.inference.cli:predict_main", "score images or videos"),
    "export": ("disentangle_fas.inference.cli:export_main", "export E_L + C_L to ONNX"),
    "explain": ("disentangle_fas.explain.cli:main", "Grad-CAM maps and disentanglement probes"),
}


def _usage() -> str:
    lines = ["usage: disentangle-fas <command> [options]", "", "commands:"]
    width = max(len(n) for n in SUBCOMMANDS)
    for name, (_, help_text) in SUBCOMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {help_text}")
    lines.append("")
    lines.append("Run 'disentangle-fas <command> --help' for the options of a command.")
    lines.append("--debug (before or after the command) shows tracebacks of errors.")
    return "\n".join(lines)


def _resolve(target: str) -> Callable[[list[str]], int]:
    module_name, func_name = target.split(":")
    module = importlib.import_module(module_name)
    func: Callable[[list[str]], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``disentangle-fas`` command line.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The process exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = bool(args) and args[0] == "--debug"
    if debug:
        args = args[1:]
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    if args[0] == "--version":
        from disentangle_fas import __version__

        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"disentangle-fas: unknown command {name!r}\n", file=sys.stderr)
        print(_usage(), file=sys.stderr)
        return 2
    target, sub_argv = SUBCOMMANDS[name][0], ["--debug", *rest] if debug else rest

    def dispatch(_: list[str]) -> int:  # the subcommand applies the policy to its own argv
        return _resolve(target)(sub_argv)

    return run_command(f"disentangle-fas {name}", dispatch, sub_argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
