"""``disentangle-fas predict --stream SOURCE``: one JSON line per frame of a video, camera or URL.

The options are parsed and checked by :mod:`disentangle_fas.inference.cli` before torch
is imported; :func:`run_stream` does the work. Ctrl-C stops the stream after the line of
the frame being scored, closes the source and exits with 130 (no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from disentangle_fas.errors import EXIT_INTERRUPTED, UsageError
from disentangle_fas.inference.temporal import DEFAULT_HOLD, DEFAULT_HYSTERESIS, DEFAULT_SMOOTHING
from disentangle_fas.inference.tracking import (
    DEFAULT_BOX_SMOOTHING,
    DEFAULT_DETECT_EVERY,
    DEFAULT_DETECT_SIDE,
)

__all__ = ["add_stream_options", "check_stream_options", "run_stream"]

PROG = "disentangle-fas predict"


def _fraction(low: float, high: float, *, open_low: bool = False) -> Any:
    """An argparse type: a number in ``[low, high]`` (``(low, high]`` with ``open_low``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = (value > low if open_low else value >= low) and value <= high
        if not ok:
            bracket = "(" if open_low else "["
            raise argparse.ArgumentTypeError(
                f"expected a number in {bracket}{low:g}, {high:g}], got {text!r}"
            )
        return value

    return parse


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


def add_stream_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``predict --stream`` to ``predict``'s parser."""
    g = parser.add_argument_group(
        "streams",
        "--stream SOURCE scores every frame of a video file, a camera (an index: 0) or an "
        "rtsp:// / http:// URL and prints one JSON line per frame: time, box, p_live, "
        "p_live_smoothed and a verdict over time (live / spoof / no_face)",
    )
    g.add_argument(
        "--stream", default=None, metavar="SOURCE", help="video file, camera index or URL"
    )
    g.add_argument(
        "--onnx",
        default=None,
        metavar="FILE",
        help="score with this exported model on ONNX Runtime instead of --checkpoint",
    )
    g.add_argument(
        "--detect-every",
        type=_count(1),
        default=DEFAULT_DETECT_EVERY,
        metavar="K",
        help=f"run the face detector on every K-th frame, track the box in between "
        f"(default {DEFAULT_DETECT_EVERY})",
    )
    g.add_argument(
        "--detect-side",
        type=_count(0),
        default=DEFAULT_DETECT_SIDE,
        metavar="PX",
        help=f"the detector sees a copy reduced to this longest side; 0: full frames "
        f"(default {DEFAULT_DETECT_SIDE})",
    )
    g.add_argument(
        "--box-smoothing",
        type=_fraction(0.0, 1.0, open_low=True),
        default=DEFAULT_BOX_SMOOTHING,
        metavar="A",
        help=f"weight of a new detection in the tracked box; 1: none "
        f"(default {DEFAULT_BOX_SMOOTHING})",
    )
    g.add_argument(
        "--smoothing",
        type=_fraction(0.0, 1.0, open_low=True),
        default=DEFAULT_SMOOTHING,
        metavar="A",
        help=f"weight of the newest frame in the smoothed P(live); 1: none "
        f"(default {DEFAULT_SMOOTHING})",
    )
    g.add_argument(
        "--hysteresis",
        type=_fraction(0.0, 0.5),
        default=DEFAULT_HYSTERESIS,
        metavar="H",
        help=f"the verdict becomes live at threshold + H and leaves it below threshold - H "
        f"(default {DEFAULT_HYSTERESIS})",
    )
    g.add_argument(
        "--hold",
        type=_count(1),
        default=DEFAULT_HOLD,
        metavar="N",
        help=f"frames in a row past the band before the verdict changes (default {DEFAULT_HOLD})",
    )
    g.add_argument(
        "--no-drop",
        action="store_true",
        help="read every frame in order even from a camera or URL (e.g. a recorded file "
        "served over HTTP); by default a live source keeps only its newest frame",
    )
    g.add_argument(
        "--max-frames", type=_count(1), default=None, metavar="N", help="stop after N frames"
    )
    g.add_argument(
        "--threads", type=_count(1), default=None, metavar="N", help="torch / ONNX Runtime threads"
    )


def check_stream_options(args: argparse.Namespace) -> None:
    """Refuse option combinations that make no sense, before anything heavy is imported.

    Raises:
        UsageError: ``--stream`` with paths, neither, or stream-only options without it.
    """
    if args.stream is not None and args.paths:
        raise UsageError("--stream reads one source: pass either PATH arguments or --stream")
    if args.stream is None and not args.paths:
        raise UsageError("nothing to score: pass image or video PATHs, or --stream SOURCE")
    if args.stream is None and args.onnx is not None:
        raise UsageError("--onnx is used with --stream")
    if args.onnx is not None and args.builder is not None:
        raise UsageError("--builder rebuilds a checkpoint; an --onnx model needs none")


def _scorer(args: argparse.Namespace, checkpoint: Any) -> Any:
    """Build the :class:`~disentangle_fas.inference.live.StreamScorer` the options ask for."""
    from disentangle_fas.builders import builder_option
    from disentangle_fas.inference.faces import resolve_face_detector
    from disentangle_fas.inference.live import StreamScorer

    options: dict[str, Any] = {
        "box": args.box,
        "every": args.detect_every,
        "detect_side": args.detect_side or None,
        "box_smoothing": args.box_smoothing,
        "smoothing": args.smoothing,
        "hysteresis": args.hysteresis,
        "hold": args.hold,
    }
    spec = None if args.face_detector == "none" else args.face_detector
    if args.onnx is not None:
        options["face_detector"] = None if args.box else resolve_face_detector(spec, "cpu")
        return StreamScorer.from_onnx(
            args.onnx, threshold=args.threshold, intra_op_threads=args.threads, **options
        )
    from disentangle_fas.inference.detector import LivenessDetector

    det = LivenessDetector.from_checkpoint(
        checkpoint(),
        device=args.device,
        face_detector=None if args.box else spec,
        threshold=args.threshold,
        builder=builder_option(args.builder),
    )
    return StreamScorer.from_detector(det, **options)


def run_stream(args: argparse.Namespace, checkpoint: Any) -> int:
    """Score a stream and print one JSON line per frame.

    Args:
        args: ``predict``'s parsed options.
        checkpoint: a callable returning the checkpoint path (used without ``--onnx``).

    Returns:
        0 at the end of the source (or ``--max-frames``, or when the reader of the
        lines closes the pipe), 130 on Ctrl-C.
    """
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    from disentangle_fas.inference.stream import StreamReader

    scorer = _scorer(args, checkpoint)
    if scorer.tracker is None and scorer.box is None:
        why = "none was chosen" if args.face_detector == "none" else "MTCNN is not installed"
        print(
            f"{PROG}: note: no face detector ({why}) and no --box: scoring whole frames "
            "(face_found false), which is reliable only when the frames are face crops",
            file=sys.stderr,
            flush=True,
        )
    n, dropped, total_ms = 0, 0, 0.0
    reader = StreamReader(args.stream, live=False if args.no_drop else None)
    try:
        for result in scorer.run(reader):
            print(json.dumps(result.to_dict()), flush=True)
            n += 1
            total_ms += result.latency_ms
            if args.max_frames is not None and n >= args.max_frames:
                break
    except KeyboardInterrupt:
        reader.close()
        sys.stdout.flush()
        print(f"{PROG}: interrupted after {n} frames", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of the lines went away (``| head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        reader.close()
        dropped = reader.dropped
    mean = total_ms / n if n else math.nan
    print(
        f"{PROG}: {n} frames from {args.stream}, {dropped} stale frames dropped, "
        f"{mean:.1f} ms per frame on average",
        file=sys.stderr,
        flush=True,
    )
    return 0
