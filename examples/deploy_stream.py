"""Score a stream frame by frame with a tracked face and a verdict over time.

Prints each change of the verdict and a summary::

    python examples/deploy_stream.py --onnx deploy.onnx --source 0        # camera 0
    python examples/deploy_stream.py --checkpoint deploy.safetensors      # synthetic video

Without ``--source`` a synthetic moving-face video (``disentangle_fas.inference.demo``) is
written to a temporary folder and scored; without a model, a MobileNetV3-Small with random
weights is used (its verdicts mean nothing: it shows the plumbing). The face detector is
OpenCV's cascade when installed, else MTCNN. See docs/deploy.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import torch

from disentangle_fas.inference import LivenessDetector, StreamReader, StreamScorer
from disentangle_fas.inference.demo import moving_face_frames, write_video
from disentangle_fas.inference.faces import resolve_face_detector
from disentangle_fas.model import DisentangledFAS


def face_detector() -> Any:
    try:
        return resolve_face_detector("haar")
    except ImportError:
        return resolve_face_detector("mtcnn")


def build_scorer(args: argparse.Namespace) -> StreamScorer:
    options = {"face_detector": face_detector(), "every": args.every}
    if args.onnx:
        return StreamScorer.from_onnx(args.onnx, **options)
    if args.checkpoint:
        det = LivenessDetector.from_checkpoint(args.checkpoint, device="cpu", face_detector=None)
    else:
        model = DisentangledFAS.build(
            num_domains=3, backbone="mobilenet_v3_small", image_size=112, warn_random=False
        )
        det = LivenessDetector(model, device="cpu", face_detector=None)
    return StreamScorer.from_detector(det, **options)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="liveness .safetensors")
    p.add_argument("--onnx", default=None, help="exported .onnx (ONNX Runtime)")
    p.add_argument("--source", default=None, help="video file, camera index or URL")
    p.add_argument("--seconds", type=float, default=5.0, help="length of the synthetic video")
    p.add_argument("--every", type=int, default=5, help="detector on every k-th frame")
    args = p.parse_args()
    torch.set_num_threads(1)
    scorer = build_scorer(args)
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if source is None:
            frames = (f.image for f in moving_face_frames(round(30 * args.seconds), speed=0.5))
            source = str(write_video(Path(tmp) / "moving.mp4", frames, fps=30))
        n, last, total_ms = 0, None, 0.0
        with StreamReader(source) as reader:
            for result in scorer.run(reader):
                n += 1
                total_ms += result.latency_ms
                if result.verdict != last:
                    print(f"{result.time:7.2f} s  frame {result.frame_index:5d}  {result.verdict}")
                    last = result.verdict
    print(f"frames {n}, mean {total_ms / max(n, 1):.1f} ms per frame")


if __name__ == "__main__":
    main()
