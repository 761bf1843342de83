"""``disentangle-fas predict`` and ``disentangle-fas export``.

Exit codes: 0 when every input was scored (whatever the verdicts), 1 when some input could
not be read (the others are still scored and printed) or the export failed, 2 for bad
arguments or an unusable checkpoint.
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

from PIL import Image

from disentangle_fas.inference.errors import CheckpointError, NoFaceDetectorWarning
from disentangle_fas.inference.io import VIDEO_SUFFIXES
from disentangle_fas.inference.results import LivenessResult, VideoResult

__all__ = ["export_main", "parse_box", "predict_main"]

#: Environment variable naming the default checkpoint of ``predict``.
CHECKPOINT_ENV = "DISENTANGLE_FAS_CHECKPOINT"


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


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:  # --help, or an argument error (already printed)
        return exc.code if isinstance(exc.code, int) else 2


def _expand(paths: Sequence[str]) -> list[str]:
    """Replace directories by the image and video files they hold (sorted, not recursive)."""
    known = set(Image.registered_extensions()) | VIDEO_SUFFIXES
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(
                str(f)
                for f in sorted(Path(p).iterdir())
                if f.is_file() and f.suffix.lower() in known
            )
        else:
            out.append(p)
    return out


def _row(path: str, result: LivenessResult | VideoResult, width: int) -> str:
    if isinstance(result, VideoResult):
        kind, frames = "video", f"{result.num_scored}/{len(result.frames)}"
        region = "/".join(sorted({f.region for f in result.frames}))
    else:
        kind, frames, region = "image", "-", result.region
    if math.isnan(result.p_live):
        score, verdict = "-", "no face"
    else:
        score, verdict = f"{result.p_live:.4f}", "live" if result.is_live else "spoof"
    return (
        f"{path.ljust(width)}  {kind:<5}  {frames:>6}  {score:>6}  {verdict:<7}  "
        f"{result.threshold:>9.4f}  {region}"
    )


def predict_main(argv: Sequence[str]) -> int:
    """Score images and videos with a checkpoint and print a table or JSON lines.

    Args:
        argv: the arguments after ``predict``.

    Returns:
        0 when every input was scored, 1 when some could not be read, 2 on bad arguments or
        an unusable checkpoint.
    """
    parser = argparse.ArgumentParser(
        prog="disentangle-fas predict",
        description="Score face images and videos: P(live) and the live/spoof decision at the "
        "checkpoint's stored threshold. Directories are expanded to the images and videos "
        "they hold. Spoof verdicts do not change the exit code.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image or video files")
    parser.add_argument(
        "--checkpoint",
        default=os.environ.get(CHECKPOINT_ENV, "model.safetensors"),
        help=f"model checkpoint (default: ${CHECKPOINT_ENV} or model.safetensors)",
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
        choices=("auto", "mtcnn", "none"),
        default="auto",
        help="auto: MTCNN when facenet-pytorch is installed, else the whole image is scored",
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="override the stored threshold"
    )
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args

    from disentangle_fas.inference.detector import LivenessDetector

    try:
        det = LivenessDetector.from_checkpoint(
            args.checkpoint,
            device=args.device,
            face_detector=None if args.face_detector == "none" else args.face_detector,
            threshold=args.threshold,
            num_frames=args.frames,
            batch_size=args.batch_size,
        )
    except (FileNotFoundError, CheckpointError, ImportError, ValueError, RuntimeError) as exc:
        print(f"disentangle-fas predict: {exc}", file=sys.stderr)
        return 2

    paths = _expand(args.paths)
    width = max([len(p) for p in paths] + [4])
    if not args.json:
        print(
            f"{'path'.ljust(width)}  kind   frames  p_live  verdict  threshold  region",
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
                print(f"disentangle-fas predict: {path}: {exc}", file=sys.stderr, flush=True)
            continue
        if args.json:
            print(json.dumps(result.to_dict()), flush=True)
        else:
            print(_row(path, result, width), flush=True)
    if failures:
        print(f"disentangle-fas predict: {failures} of {len(paths)} inputs failed", file=sys.stderr)
    return 1 if failures else 0


def export_main(argv: Sequence[str]) -> int:
    """Export E_L + C_L of a checkpoint to ONNX.

    Args:
        argv: the arguments after ``export``.

    Returns:
        0 on success, 1 when the export failed (e.g. onnx missing), 2 on bad arguments or an
        unusable checkpoint.
    """
    parser = argparse.ArgumentParser(
        prog="disentangle-fas export",
        description="Export the inference path (E_L + C_L) to ONNX: input 'images' "
        "(B, 3, S, S) float32 RGB in [0, 1], output 'p_live' (B,), dynamic batch axis; the "
        "stored threshold goes into the ONNX metadata.",
    )
    parser.add_argument("--onnx", required=True, metavar="OUT", help="destination .onnx file")
    parser.add_argument("--checkpoint", required=True, help="model checkpoint (.safetensors)")
    parser.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset (default 17)")
    parser.add_argument(
        "--image-size", type=_positive_int, default=None, help="input side (default: config)"
    )
    parser.add_argument(
        "--exporter",
        choices=("torchscript", "dynamo"),
        default="torchscript",
        help="PyTorch exporter (dynamo also needs onnxscript)",
    )
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args

    from disentangle_fas.inference.loading import checkpoint_image_size, load_checkpoint
    from disentangle_fas.inference.onnx import export_onnx

    try:
        loaded = load_checkpoint(args.checkpoint)
    except (FileNotFoundError, CheckpointError) as exc:
        print(f"disentangle-fas export: {exc}", file=sys.stderr)
        return 2
    size = args.image_size or checkpoint_image_size(loaded)
    try:
        out = export_onnx(
            loaded.model,
            args.onnx,
            image_size=size,
            opset=args.opset,
            threshold=loaded.threshold,
            exporter=args.exporter,
            metadata={"threshold_strategy": loaded.threshold_strategy},
        )
    except (ImportError, RuntimeError, ValueError, OSError) as exc:
        print(f"disentangle-fas export: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {out}: input 'images' (B, 3, {size}, {size}) in [0, 1], output 'p_live' (B,), "
        f"threshold {loaded.threshold:.6g} ({loaded.threshold_strategy})"
    )
    return 0
