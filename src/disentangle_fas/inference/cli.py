"""``disentangle-fas predict`` and ``disentangle-fas export``.

Exit codes: 0 when every input was scored (whatever the verdicts), 1 when some input could
not be read (the others are still scored and printed) or the export failed, 2 for bad
arguments or an unusable checkpoint. Errors that end a command follow the one error policy
of :mod:`disentangle_fas.errors`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from disentangle_fas.builders import BUILDER_HELP, builder_option
from disentangle_fas.errors import ArgumentParser, UsageError, command
from disentangle_fas.inference.errors import NoFaceDetectorWarning
from disentangle_fas.inference.stream_cli import (
    add_stream_options,
    check_stream_options,
    run_stream,
)

if TYPE_CHECKING:  # torch is imported once the options are checked
    from disentangle_fas.inference.results import LivenessResult, VideoResult

__all__ = ["export_main", "parse_box", "parse_threshold", "predict_main"]

#: Environment variable naming the default checkpoint of ``predict``.
CHECKPOINT_ENV = "DISENTANGLE_FAS_CHECKPOINT"

#: Checkpoint looked for in the working directory when neither ``--checkpoint`` nor
#: ``$DISENTANGLE_FAS_CHECKPOINT`` is given.
DEFAULT_CHECKPOINT = "model.safetensors"

#: Decimals of P(live) and of the threshold in the table (enough to read the verdict).
SCORE_DECIMALS = 6

#: ``predict --face-detector``: ``auto`` (MTCNN when installed), ``mtcnn``, ``haar``
#: (OpenCV's bundled cascade, the fast fallback) or ``none``.
PREDICT_DETECTORS = ("auto", "mtcnn", "haar", "none")


def parse_threshold(text: str) -> float:
    """Parse a decision threshold on P(live): a number in ``[0, 1]``.

    Raises:
        argparse.ArgumentTypeError: not a number in ``[0, 1]``.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a threshold on P(live) in [0, 1], got {text!r}")
    return value


def parse_box(text: str) -> tuple[float, float, float, float]:
    """Parse ``"x0,y0,x1,y1"`` into a box.

    Raises:
        argparse.ArgumentTypeError: not four comma-separated numbers with x1 > x0, y1 > y0.
    """
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected x0,y0,x1,y1 (four numbers), got {text!r}")
    x0, y0, x1, y1 = values
    if not (x1 > x0 and y1 > y0):
        raise argparse.ArgumentTypeError(f"a box needs x1 > x0 and y1 > y0, got {text!r}")
    return (x0, y0, x1, y1)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _image_side(text: str) -> int:
    """A positive input side no larger than :data:`~disentangle_fas.contracts.MAX_IMAGE_SIZE`
    whose forward pass fits the memory limit (:mod:`disentangle_fas.limits`).
    """
    from disentangle_fas.contracts import MAX_IMAGE_SIZE
    from disentangle_fas.limits import MemoryLimitError, check_memory, inference_bytes

    value = _positive_int(text)
    if value > MAX_IMAGE_SIZE:
        raise argparse.ArgumentTypeError(
            f"expected a side of at most {MAX_IMAGE_SIZE} px, got {value}"
        )
    try:  # a model traced at this side: refused before anything is allocated
        check_memory(inference_bytes(value), f"a {value}x{value} input")
    except MemoryLimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:  # --help, or an argument error (already printed)
        return exc.code if isinstance(exc.code, int) else 2


def _expand(paths: Sequence[str]) -> list[str]:
    """Replace directories by the image and video files they hold (sorted, not recursive).

    Raises:
        UsageError: a directory holds no image or video file.
    """
    from PIL import Image

    from disentangle_fas.inference.io import VIDEO_SUFFIXES

    known = set(Image.registered_extensions()) | VIDEO_SUFFIXES
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = [
                str(f)
                for f in sorted(Path(p).iterdir())
                if f.is_file() and f.suffix.lower() in known
            ]
            if not found:
                raise UsageError(
                    f"{p} holds no image or video file (looked for .jpg, .png, ... and "
                    f"{', '.join(sorted(VIDEO_SUFFIXES)[:4])}, ...)"
                )
            out.extend(found)
        else:
            out.append(p)
    return out


def _row(path: str, result: LivenessResult | VideoResult, width: int) -> str:
    from disentangle_fas.inference.results import VideoResult

    if isinstance(result, VideoResult):
        kind, frames = "video", f"{result.num_scored}/{len(result.frames)}"
        region = "/".join(sorted({f.region for f in result.frames}))
    else:
        kind, frames, region = "image", "-", result.region
    d = SCORE_DECIMALS
    if math.isnan(result.p_live):
        score, verdict = "-", "no face"
    else:
        score, verdict = f"{result.p_live:.{d}f}", "live" if result.is_live else "spoof"
    return (
        f"{path.ljust(width)}  {kind:<5}  {frames:>6}  {score:>{d + 2}}  {verdict:<7}  "
        f"{result.threshold:>{max(9, d + 2)}.{d}f}  {region}"
    )


def _checkpoint(arg: str | None) -> str:
    if arg:
        return arg
    env = os.environ.get(CHECKPOINT_ENV)
    if env:
        return env
    if Path(DEFAULT_CHECKPOINT).is_file():
        return DEFAULT_CHECKPOINT
    raise UsageError(
        f"no checkpoint: pass --checkpoint FILE (training writes best_source_val.safetensors, "
        f"last.safetensors and best_oracle.safetensors into its --out folder), set "
        f"${CHECKPOINT_ENV}, or put a {DEFAULT_CHECKPOINT} in the working directory"
    )


def _failure_line(path: str, exc: BaseException) -> str:
    """One line for an input that failed; the path once, even when the message has it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if path in text else f"{path}: {text}"


@command("disentangle-fas predict")
def predict_main(argv: Sequence[str]) -> int:
    """Score images and videos with a checkpoint and print a table or JSON lines.

    Args:
        argv: the arguments after ``predict``.

    Returns:
        0 when every input was scored, 1 when some could not be read, 2 on bad arguments or
        an unusable checkpoint.
    """
    parser = ArgumentParser(
        prog="disentangle-fas predict",
        description="Score face images and videos: P(live) and the live/spoof decision at the "
        "checkpoint's stored threshold. Directories are expanded to the images and videos "
        "they hold. Spoof verdicts do not change the exit code. With --stream, score every "
        "frame of a video, camera or URL with a verdict over time.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="image or video files")
    parser.add_argument(
        "--checkpoint",
        default=None,
        help=f"model checkpoint, e.g. RUN/best_source_val.safetensors (default: "
        f"${CHECKPOINT_ENV}, else {DEFAULT_CHECKPOINT} in the working directory)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.add_argument(
        "--box",
        type=parse_box,
        default=None,
        metavar="x0,y0,x1,y1",
        help="face box used for every input instead of the face detector",
    )
    parser.add_argument(
        "--frames", type=_positive_int, default=8, metavar="N", help="frames per video"
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    parser.add_argument(
        "--face-detector",
        choices=PREDICT_DETECTORS,
        default="auto",
        help="auto: MTCNN when facenet-pytorch is installed, else the whole image is scored; "
        "haar: OpenCV's bundled cascade (fast, frontal faces)",
    )
    parser.add_argument(
        "--threshold",
        type=parse_threshold,
        default=None,
        help="override the stored threshold (a P(live) in [0, 1])",
    )
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--builder", default=None, metavar="MODULE:FUNCTION", help=BUILDER_HELP)
    add_stream_options(parser)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    check_stream_options(args)
    if args.stream is not None:
        if args.device:
            from disentangle_fas.training.distributed import resolve_device

            resolve_device(args.device)
        return run_stream(args, lambda: _checkpoint(args.checkpoint))

    from disentangle_fas.inference.detector import LivenessDetector

    builder = builder_option(args.builder)
    paths = _expand(args.paths)
    if args.device:
        from disentangle_fas.training.distributed import resolve_device

        resolve_device(args.device)  # a usage error for a device this machine lacks
    det = LivenessDetector.from_checkpoint(
        _checkpoint(args.checkpoint),
        device=args.device,
        face_detector=None if args.face_detector == "none" else args.face_detector,
        threshold=args.threshold,
        num_frames=args.frames,
        batch_size=args.batch_size,
        builder=builder,
    )
    width = max([len(p) for p in paths] + [4])
    if not args.json:
        d = SCORE_DECIMALS
        print(
            f"{'path'.ljust(width)}  kind   frames  {'p_live':>{d + 2}}  verdict  "
            f"{'threshold':>{max(9, d + 2)}}  region",
            flush=True,
        )
    failures = 0
    for path in paths:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NoFaceDetectorWarning)
                result = det(path, box=args.box, num_frames=args.frames)
            for w in caught:  # shown once per run as a plain note
                print(f"disentangle-fas predict: note: {w.message}", file=sys.stderr)
        except (OSError, ValueError, ImportError, RuntimeError) as exc:
            failures += 1
            if args.json:
                print(json.dumps({"source": path, "error": str(exc)}), flush=True)
            else:
                print(
                    f"disentangle-fas predict: {_failure_line(path, exc)}",
                    file=sys.stderr,
                    flush=True,
                )
            continue
        if args.json:
            print(json.dumps(result.to_dict()), flush=True)
        else:
            print(_row(path, result, width), flush=True)
    if failures:
        print(f"disentangle-fas predict: {failures} of {len(paths)} inputs failed", file=sys.stderr)
    return 1 if failures else 0


@command("disentangle-fas export")
def export_main(argv: Sequence[str]) -> int:
    """Export E_L + C_L of a checkpoint to ONNX.

    Args:
        argv: the arguments after ``export``.

    Returns:
        0 on success, 1 when the export failed at run time, 2 on bad arguments, an unusable
        checkpoint or a missing optional dependency (onnx).
    """
    parser = ArgumentParser(
        prog="disentangle-fas export",
        description="Export the inference path (E_L + C_L) to ONNX: input 'images' "
        "(B, 3, S, S) float32 RGB in [0, 1], output 'p_live' (B,), dynamic batch axis; the "
        "stored threshold goes into the ONNX metadata. --liveness writes the same path as a "
        "small safetensors checkpoint (what predict and LivenessDetector need; the run's "
        "full checkpoints stay for resuming and explaining).",
    )
    parser.add_argument("--onnx", default=None, metavar="OUT", help="destination .onnx file")
    parser.add_argument(
        "--liveness",
        default=None,
        metavar="OUT",
        help="destination .safetensors holding the inference path only, with the threshold",
    )
    parser.add_argument("--checkpoint", required=True, help="model checkpoint (.safetensors)")
    parser.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset (default 17)")
    parser.add_argument(
        "--image-size", type=_image_side, default=None, help="input side (default: config)"
    )
    parser.add_argument(
        "--exporter",
        choices=("torchscript", "dynamo"),
        default="torchscript",
        help="PyTorch exporter (dynamo also needs onnxscript)",
    )
    parser.add_argument("--builder", default=None, metavar="MODULE:FUNCTION", help=BUILDER_HELP)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    if args.onnx is None and args.liveness is None:
        raise UsageError("nothing to write: pass --onnx OUT.onnx and/or --liveness OUT.safetensors")

    from disentangle_fas.inference.loading import checkpoint_image_size, load_checkpoint

    loaded = load_checkpoint(args.checkpoint, builder=builder_option(args.builder))
    size = args.image_size or checkpoint_image_size(loaded)
    if args.liveness is not None:
        from disentangle_fas.checkpoint import save_liveness_model

        written = save_liveness_model(
            loaded.model,
            args.liveness,
            threshold=loaded.threshold,
            threshold_strategy=loaded.threshold_strategy,
            info=loaded.info,
            config=loaded.config if isinstance(loaded.config, dict) else None,
            builder=args.builder,
        )
        mb = written.stat().st_size / 2**20
        print(f"wrote {written}: the inference path only ({mb:.1f} MB), threshold "
              f"{loaded.threshold:.6g} ({loaded.threshold_strategy})")  # fmt: skip
    if args.onnx is None:
        return 0
    from disentangle_fas.inference.onnx import export_onnx

    out = export_onnx(
        loaded.model,
        args.onnx,
        image_size=size,
        opset=args.opset,
        threshold=loaded.threshold,
        exporter=args.exporter,
        metadata={"threshold_strategy": loaded.threshold_strategy},
    )
    print(
        f"wrote {out}: input 'images' (B, 3, {size}, {size}) in [0, 1], output 'p_live' (B,), "
        f"threshold {loaded.threshold:.6g} ({loaded.threshold_strategy})"
    )
    return 0
