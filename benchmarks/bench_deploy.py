"""Deployment latency on one CPU core, per 640x480 frame: face detection, crop and score.

Measured in one run, one torch / ONNX Runtime thread, batch 1, medians over many calls
taken in interleaved rounds (so that a change in the machine's load hits every model
alike):

1. **The liveness model per face**: the deploy model (E_L + C_L, MobileNetV3-Small at
   ``--image-size``; the ``--checkpoint`` given, else random weights of that
   architecture) in PyTorch eager and ONNX Runtime, beside a MiniFASNet-sized reference
   network (``_minifas.py``: 80x80, about 0.4 M parameters and 0.08 G multiply-adds,
   random weights; PReLU as published, and with ReLU, which ONNX Runtime fuses into the
   convolutions) in both engines, and the library's default E_L + C_L (ResNet-18 at
   224 px) in eager. Ratios are to the reference in the same engine.
2. **The stages of a frame**: decoding (PyAV, MPEG-4 640x480), face detection (MTCNN and
   OpenCV's cascade, on the full frame and on the reduced copy), the crop.
3. **Whole frames, video mode**: :class:`~disentangle_fas.inference.StreamScorer` over a
   synthetic moving face (detector on every ``--every``-th frame of a reduced copy, box
   tracked in between, the score, the temporal verdict), per detector and engine; and
   photo mode (MTCNN on the full frame, then the score) for comparison.

Usage::

    python benchmarks/bench_deploy.py [--checkpoint deploy.safetensors] [--onnx deploy.onnx]
        [--image-size 112] [--repeats 300] [--frames 300] [--every 5] [--detect-side 160]
        [--sweep 64,80,96,112,128]

Takes a few minutes on a loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _common import cpu_model, load_average
from _minifas import MiniFASLike, count_macs, count_params, with_relu

from disentangle_fas.data.faces import MTCNNFaceDetector, crop_face
from disentangle_fas.inference import LivenessDetector, StreamReader, StreamScorer
from disentangle_fas.inference.demo import moving_face_frames, write_video
from disentangle_fas.inference.onnx import OnnxLivenessModel, export_onnx
from disentangle_fas.inference.tracking import reduce_frame
from disentangle_fas.model import DisentangledFAS

Fn = Callable[[], object]


def interleaved(fns: dict[str, Fn], repeats: int, rounds: int = 10) -> dict[str, list[float]]:
    """Milliseconds of each call, ``repeats`` per function, in ``rounds`` alternating rounds."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        for _ in range(5):
            fn()
    per = max(1, repeats // rounds)
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(per):
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def p90(xs: list[float]) -> float:
    return float(np.percentile(xs, 90))


class _Probability(torch.nn.Module):
    """``images -> P(live)`` of a liveness model (what is timed and exported)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p: torch.Tensor = self.model.live_score(x)  # type: ignore[operator]
        return p


def onnx_runner(model: torch.nn.Module, size: int, path: Path) -> Callable[[np.ndarray], object]:
    """Export a plain ``images -> p`` module and return an ONNX Runtime call on one thread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(), (torch.rand(1, 3, size, size),), str(path), dynamo=False,
            input_names=["images"], output_names=["p_live"], opset_version=17,
        )  # fmt: skip
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"images": x})


def deploy_detector(args: argparse.Namespace) -> LivenessDetector:
    if args.checkpoint:
        return LivenessDetector.from_checkpoint(args.checkpoint, device="cpu", face_detector=None)
    model = DisentangledFAS.build(
        num_domains=3, backbone="mobilenet_v3_small", image_size=args.image_size, warn_random=False
    )
    return LivenessDetector(model, device="cpu", face_detector=None)


def model_section(args: argparse.Namespace, det: LivenessDetector, tmp: Path) -> Path:
    size = det.image_size
    onnx_path = Path(args.onnx) if args.onnx else tmp / "deploy.onnx"
    if not args.onnx:
        export_onnx(det.model, onnx_path, image_size=size, threshold=det.threshold)
    deploy_ort = OnnxLivenessModel(onnx_path, intra_op_threads=1)
    ref = MiniFASLike().eval()
    ref_ort = onnx_runner(ref, 80, tmp / "ref.onnx")
    relu = with_relu(MiniFASLike()).eval()
    relu_ort = onnx_runner(relu, 80, tmp / "relu.onnx")
    resnet = DisentangledFAS.build(num_domains=3, depth=18, image_size=224, warn_random=False)
    resnet_path = resnet.liveness_only().eval()
    x_dep, x_ref, x_res = (torch.rand(1, 3, s, s) for s in (size, 80, 224))
    n_dep, n_ref = x_dep.numpy(), x_ref.numpy()

    def eager(m: Callable[[torch.Tensor], object], x: torch.Tensor) -> Fn:
        def run() -> object:
            with torch.inference_mode():
                return m(x)

        return run

    fns = {
        "deploy eager": eager(det.model.live_score, x_dep),
        "deploy onnx": lambda: deploy_ort(n_dep),
        "reference eager": eager(ref, x_ref),
        "reference onnx": lambda: ref_ort(n_ref),
        "ref-relu eager": eager(relu, x_ref),
        "ref-relu onnx": lambda: relu_ort(n_ref),
        "resnet18 eager": eager(resnet_path.live_score, x_res),
    }
    times = interleaved(fns, args.repeats)
    wrapped = _Probability(det.model)
    sizes = {
        "deploy": (size, count_params(det.model), count_macs(wrapped, size)),
        "reference": (80, count_params(ref), count_macs(ref, 80)),
        "ref-relu": (80, count_params(relu), count_macs(relu, 80)),
        "resnet18": (224, count_params(resnet_path), count_macs(_Probability(resnet_path), 224)),
    }
    print("\n1. liveness model per face (batch 1, one thread)")
    print(
        f"{'model':<18} {'input':>6} {'params':>8} {'GMACs':>7} {'median':>9} {'p90':>9} "
        f"{'x ref':>6} {'x relu':>6}"
    )
    for name, t in times.items():
        kind, engine = name.split()
        side, params, macs = sizes[kind]
        ratio = med(t) / med(times[f"reference {engine}"])
        ratio_relu = med(t) / med(times[f"ref-relu {engine}"])
        print(
            f"{name:<18} {side:>4}px {params / 1e6:>7.2f}M {macs / 1e9:>7.3f} "
            f"{med(t):>7.2f}ms {p90(t):>7.2f}ms {ratio:>6.2f} {ratio_relu:>6.2f}"
        )
    return onnx_path


def sweep_section(args: argparse.Namespace, tmp: Path) -> None:
    print("\n1b. deploy architecture by input size (random weights; eager / ONNX Runtime)")
    fns: dict[str, Fn] = {}
    for s in (int(v) for v in args.sweep.split(",")):
        m = (
            DisentangledFAS.build(
                num_domains=3, backbone="mobilenet_v3_small", image_size=s, warn_random=False
            )
            .liveness_only()
            .eval()
        )
        x = torch.rand(1, 3, s, s)
        ort_run = onnx_runner(_Probability(m), s, tmp / f"sweep{s}.onnx")
        xn = x.numpy()

        def run(m: torch.nn.Module = m, x: torch.Tensor = x) -> object:
            with torch.inference_mode():
                return m.live_score(x)  # type: ignore[operator]

        def run_ort(r: Callable[[np.ndarray], object] = ort_run, xn: np.ndarray = xn) -> object:
            return r(xn)

        fns[f"{s} eager"] = run
        fns[f"{s} onnx"] = run_ort
    times = interleaved(fns, max(50, args.repeats // 3))
    for name, t in times.items():
        print(f"  {name:<10} {med(t):7.2f} ms")


def stage_section(args: argparse.Namespace, frames: list[np.ndarray], tmp: Path, size: int) -> None:
    video = write_video(tmp / "moving.mp4", frames[:60], fps=30)
    decode: list[float] = []
    with StreamReader(video) as reader:
        t0 = time.perf_counter()
        for _ in reader:
            t1 = time.perf_counter()
            decode.append((t1 - t0) * 1e3)
            t0 = time.perf_counter()
    side = args.detect_side
    mtcnn = MTCNNFaceDetector("cpu")
    fns: dict[str, Fn] = {}
    it = iter(range(10**9))

    def frame() -> np.ndarray:
        return frames[next(it) % len(frames)]

    fns[f"reduce to {side}px"] = lambda: reduce_frame(frame(), side)
    fns["MTCNN 640x480"] = lambda: mtcnn(frame())
    fns[f"MTCNN {side}px copy"] = lambda: mtcnn(reduce_frame(frame(), side)[0])
    try:
        from disentangle_fas.inference.cascade import HaarFaceDetector

        haar = HaarFaceDetector()
        fns["Haar 640x480"] = lambda: haar(frame())
        fns[f"Haar {side}px copy"] = lambda: haar(reduce_frame(frame(), side)[0])
    except ImportError as exc:
        print(f"(no Haar cascade: {exc})")
    box = (240.0, 160.0, 400.0, 340.0)
    fns[f"crop to {size}px"] = lambda: crop_face(frame(), box, size)
    times = interleaved(fns, max(30, args.repeats // 10), rounds=3)
    print(f"\n2. stages of a 640x480 frame (median of {len(decode)} decoded / many calls)")
    print(f"  {'decode (PyAV, MPEG-4)':<24} {med(decode):7.2f} ms")
    for name, t in times.items():
        print(f"  {name:<24} {med(t):7.2f} ms")


def video_section(
    args: argparse.Namespace, det: LivenessDetector, onnx_path: Path, frames: list[np.ndarray]
) -> None:
    detectors: dict[str, object] = {"MTCNN": MTCNNFaceDetector("cpu")}
    try:
        from disentangle_fas.inference.cascade import HaarFaceDetector

        detectors["Haar"] = HaarFaceDetector()
    except ImportError:
        pass
    print(
        f"\n3. whole frame, video mode: detect every {args.every} frames on a "
        f"{args.detect_side}px copy, track, crop, score, verdict ({args.frames} frames)"
    )
    print(f"  {'detector + engine':<20} {'median':>9} {'mean':>9} {'p90':>9} {'frames/s':>9}")
    opts = {"every": args.every, "detect_side": args.detect_side}
    for dname, fd in detectors.items():
        for engine in ("onnx", "eager"):
            if engine == "onnx":
                scorer = StreamScorer.from_onnx(onnx_path, face_detector=fd, **opts)
            else:
                scorer = StreamScorer.from_detector(det, face_detector=fd, **opts)
            lat = []
            for i in range(args.frames):
                t0 = time.perf_counter()
                scorer.process(frames[i % len(frames)], i, i / 30)
                lat.append((time.perf_counter() - t0) * 1e3)
            mean = statistics.fmean(lat)
            print(
                f"  {dname + ' + ' + engine:<20} {med(lat):7.2f}ms {mean:7.2f}ms "
                f"{p90(lat):7.2f}ms {1e3 / mean:9.1f}"
            )
    photo = LivenessDetector(det.model, device="cpu", face_detector="mtcnn")
    lat = []
    for i in range(10):
        t0 = time.perf_counter()
        photo.predict_image(frames[i])
        lat.append((time.perf_counter() - t0) * 1e3)
    print(f"  {'photo mode: MTCNN on the full frame + eager score':<50} {med(lat):7.2f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="deploy model (liveness .safetensors)")
    p.add_argument("--onnx", default=None, help="its ONNX export (default: exported here)")
    p.add_argument("--image-size", type=int, default=112, help="input side without --checkpoint")
    p.add_argument("--repeats", type=int, default=300, help="timed calls per model")
    p.add_argument("--frames", type=int, default=300, help="frames per video-mode run")
    p.add_argument("--every", type=int, default=5, help="detector on every k-th frame")
    p.add_argument("--detect-side", type=int, default=160, help="longest side the detector sees")
    p.add_argument("--sweep", default="", help="input sides to time the deploy architecture at")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    import onnxruntime

    print(f"cpu: {cpu_model()}; torch {torch.__version__}, onnxruntime {onnxruntime.__version__}")
    print(f"threads: 1; load average at the start: {load_average()}")
    det = deploy_detector(args)
    print(f"deploy model: {args.checkpoint or 'random weights'}, {det.image_size}px, "
          f"threshold {det.threshold:.4g}")  # fmt: skip
    frames = [f.image for f in moving_face_frames(120, seed=1)]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        onnx_path = model_section(args, det, tmp)
        if args.sweep:
            sweep_section(args, tmp)
        stage_section(args, frames, tmp, det.image_size)
        video_section(args, det, onnx_path, frames)
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
