"""``disentangle-fas explain``: Grad-CAM pictures and measured disentanglement of a checkpoint.

Writes into ``--out``: ``gradcam.png`` (Fig. 2-style grid), ``projection_pca.png`` (and
``projection_tsne.png`` with ``--projection tsne|both``), ``probes.json`` and
``report.md``. The data is the built-in synthetic benchmark: Grad-CAM shows the held-out
target domain recorded in the checkpoint (all benchmark domains when none is recorded);
the probes are fitted on the source domains' `train` images and scored on their held-out
`dev` images (other people), beside the untrained architecture and the pixels
(:func:`~disentangle_fas.explain.measure.measure_disentanglement`). ``--compare`` adds the
Grad-CAM rows of other checkpoints (SSDG-R or an ablation) on the same images, as in the
paper's Fig. 2.

The options are checked before torch is imported: ``--help`` and an option error (a
``--prefix`` that would leave ``--out``, a bad count) answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from disentangle_fas.builders import BUILDER_HELP
from disentangle_fas.errors import ArgumentParser, UsageError, command
from disentangle_fas.explain.names import CAM_METHODS, PROBE_KINDS

__all__ = ["build_parser", "check_prefix", "checkpoint_names", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command."""
    p = ArgumentParser(
        prog="disentangle-fas explain",
        description="Grad-CAM maps of the liveness path and measured disentanglement: linear "
        "and MLP probes of liveness, domain and attack type on each representation (fitted on "
        "source train images, scored on held-out source images) and kernel dependences, "
        "beside the untrained architecture and the pixels.",
    )
    p.add_argument("--checkpoint", required=True, help="a .safetensors model checkpoint")
    p.add_argument("--builder", default=None, metavar="MODULE:FUNCTION", help=BUILDER_HELP)
    p.add_argument("--data", default="synthetic", help="dataset: 'synthetic' (built-in benchmark)")
    p.add_argument("--out", default="explain", help="output folder (default: ./explain)")
    p.add_argument("--num-samples", type=int, default=8, help="columns of the Grad-CAM grid")
    p.add_argument(
        "--probe-samples",
        type=int,
        default=100,
        help="images per domain of each probe part (train, held-out) and of the Grad-CAM "
        "data (default 100)",
    )
    p.add_argument(
        "--probe-seeds",
        type=int,
        default=3,
        help="probe seeds: bootstrap resamples of the train features (default 3)",
    )
    p.add_argument(
        "--probe-kinds",
        nargs="+",
        choices=PROBE_KINDS,
        default=list(PROBE_KINDS),
        help="probe kinds: linear (logistic regression) and/or mlp (one hidden layer) "
        "(default: both)",
    )
    p.add_argument("--image-size", type=int, default=None, help="default: the model's size")
    p.add_argument(
        "--domains",
        nargs="+",
        default=None,
        help="synthetic domain codes to use for both parts (default: from the checkpoint)",
    )
    p.add_argument(
        "--split", default="test", help="synthetic split of the Grad-CAM data (default: test)"
    )
    p.add_argument(
        "--cam-target",
        choices=("predicted", "live", "spoof", "label"),
        default="predicted",
        help="class each map explains ('label': the ground truth)",
    )
    p.add_argument(
        "--cam-layer",
        nargs="+",
        default=None,
        help="layer(s) of E_L, one picture row each, e.g. layer4 layer3 "
        "(default: the last block of layer4)",
    )
    p.add_argument("--cam-method", choices=sorted(CAM_METHODS), default="gradcam")
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="CHECKPOINT",
        help="other checkpoints (e.g. SSDG-R or an ablation) whose Grad-CAM rows are drawn "
        "below the model's, on the same images",
    )
    p.add_argument("--projection", choices=("pca", "tsne", "both", "none"), default="pca")
    p.add_argument(
        "--references",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure the untrained architecture and the pooled pixels too, and print every "
        "figure beside them (default: on)",
    )
    p.add_argument(
        "--prefix",
        default="",
        help="prefix of every output file name (a plain name: no path separator, no '..')",
    )
    p.add_argument("--seed", type=int, default=0, help="data seed and probe split seed")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=0, help="processes rendering synthetic data")
    p.add_argument("--device", default="cpu")
    return p


def checkpoint_names(checkpoints: list[str]) -> list[str]:
    """Short, distinct names for checkpoints: ``parent/stem`` (training runs name files by
    policy), with as many more parent folders as it takes to tell two apart, and ``(2)``,
    ``(3)`` ... after a path given twice.

    Example:
        >>> checkpoint_names(["full/M/seed0/best.safetensors", "base/M/seed0/best.safetensors"])
        ['full/M/seed0/best', 'base/M/seed0/best']
    """
    paths = [Path(c) for c in checkpoints]

    def tail(p: Path, depth: int) -> str:
        parts = [*p.parent.parts[-depth:], p.stem] if depth else [p.stem]
        return "/".join(parts)

    depth = 1
    longest = max((len(p.parent.parts) for p in paths), default=0)
    while depth < longest and len({tail(p, depth) for p in set(paths)}) < len(set(paths)):
        depth += 1
    names, seen = [], dict[str, int]()
    for p in paths:
        name = tail(p, min(depth, len(p.parent.parts)))
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def check_prefix(prefix: str) -> None:
    r"""Refuse a ``--prefix`` that could put a file anywhere but directly in ``--out``.

    Args:
        prefix: the option's value.

    Raises:
        UsageError: the prefix holds a path separator (``/`` or ``\\``), is absolute or
            drive-qualified, starts with ``..`` or holds a NUL byte.

    Example:
        >>> check_prefix("full_")
        >>> check_prefix("../../x")
        Traceback (most recent call last):
        ...
        disentangle_fas.errors.UsageError: --prefix '../../x' would write outside --out: ...
    """
    seps = {"/", "\\", os.sep, *(s for s in [os.altsep] if s)}
    bad = (
        any(sep in prefix for sep in seps)
        or prefix.startswith("..")
        or "\0" in prefix
        or PurePosixPath(prefix).is_absolute()
        or bool(PureWindowsPath(prefix).drive)
    )
    if bad:
        raise UsageError(
            f"--prefix {prefix!r} would write outside --out: give a plain file-name prefix "
            "(no path separator, no leading '..'), and choose the folder with --out"
        )


def _check(args: argparse.Namespace) -> None:
    """Every option check that needs no model, before torch is imported."""
    check_prefix(args.prefix)
    if args.data != "synthetic":
        raise UsageError(
            f"--data {args.data!r}: the command supports the built-in 'synthetic' benchmark; "
            "for other data use the Python API (disentangle_fas.explain.liveness_gradcam, "
            "measure_disentanglement) with any Dataset of FASSample"
        )
    if args.num_samples < 1 or args.probe_samples < 4 or args.probe_seeds < 1:
        raise UsageError(
            f"need --num-samples >= 1, --probe-samples >= 4 and --probe-seeds >= 1, got "
            f"{args.num_samples}, {args.probe_samples} and {args.probe_seeds}"
        )
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a folder")


@command("disentangle-fas explain")
def main(argv: Sequence[str] | None = None) -> int:
    """Run ``disentangle-fas explain``.

    Args:
        argv: arguments after the subcommand name; ``sys.argv[1:]`` when ``None``.

    Returns:
        0 on success; errors follow the commands' error policy (2 for a usage or input
        error, 1 for a runtime failure, one line on stderr).
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    _check(args)
    from disentangle_fas.explain.command import run_explain

    return run_explain(args, checkpoint_names([args.checkpoint, *args.compare]))
