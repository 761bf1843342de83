"""Inference: score face images, videos and streams with E_L + C_L, and export them to ONNX.

Example:
    >>> from disentangle_fas.inference import LivenessDetector
    >>> det = LivenessDetector.from_checkpoint("model.safetensors")  # doctest: +SKIP
    >>> print(det("face.jpg").p_live)  # doctest: +SKIP

Streams (a video file, a camera, a URL) are scored frame by frame with a tracked face and a
verdict over time by :class:`StreamScorer` over a :class:`StreamReader`.

The names are imported on first use, and optional dependencies only when used: PyAV for
videos and streams and facenet-pytorch for MTCNN (``pip install "disentangle-fas[video]"``),
OpenCV for the Haar cascade (``pip install "disentangle-fas[opencv]"``), onnx and
onnxruntime for export (``pip install "disentangle-fas[onnx]"``).
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

if TYPE_CHECKING:
    from disentangle_fas.data.faces import FaceDetector, MTCNNFaceDetector, crop_face
    from disentangle_fas.inference.calibration import bona_fide_threshold
    from disentangle_fas.inference.cascade import HaarFaceDetector
    from disentangle_fas.inference.detector import LivenessDetector
    from disentangle_fas.inference.errors import (
        CheckpointError,
        InputError,
        NoFaceDetectorWarning,
    )
    from disentangle_fas.inference.faces import resolve_face_detector
    from disentangle_fas.inference.io import load_image, read_video_frames, sample_indices
    from disentangle_fas.inference.live import StreamResult, StreamScorer
    from disentangle_fas.inference.loading import default_device, load_checkpoint
    from disentangle_fas.inference.onnx import OnnxLivenessModel, export_onnx
    from disentangle_fas.inference.results import LivenessResult, Region, VideoResult, decide
    from disentangle_fas.inference.stream import Frame, StreamReader
    from disentangle_fas.inference.temporal import TemporalVerdict, Verdict
    from disentangle_fas.inference.tracking import FaceTracker, TrackState
    from disentangle_fas.types import Box

__all__ = [
    "Box",
    "CheckpointError",
    "FaceDetector",
    "FaceTracker",
    "Frame",
    "HaarFaceDetector",
    "InputError",
    "LivenessDetector",
    "LivenessResult",
    "MTCNNFaceDetector",
    "NoFaceDetectorWarning",
    "OnnxLivenessModel",
    "Region",
    "StreamReader",
    "StreamResult",
    "StreamScorer",
    "TemporalVerdict",
    "TrackState",
    "Verdict",
    "VideoResult",
    "bona_fide_threshold",
    "crop_face",
    "decide",
    "default_device",
    "export_onnx",
    "load_checkpoint",
    "load_image",
    "read_video_frames",
    "resolve_face_detector",
    "sample_indices",
]

_EXPORTS = {
    "Box": "disentangle_fas.types",
    "CheckpointError": "disentangle_fas.inference.errors",
    "FaceDetector": "disentangle_fas.data.faces",
    "FaceTracker": "disentangle_fas.inference.tracking",
    "Frame": "disentangle_fas.inference.stream",
    "HaarFaceDetector": "disentangle_fas.inference.cascade",
    "InputError": "disentangle_fas.inference.errors",
    "LivenessDetector": "disentangle_fas.inference.detector",
    "LivenessResult": "disentangle_fas.inference.results",
    "MTCNNFaceDetector": "disentangle_fas.data.faces",
    "NoFaceDetectorWarning": "disentangle_fas.inference.errors",
    "OnnxLivenessModel": "disentangle_fas.inference.onnx",
    "Region": "disentangle_fas.inference.results",
    "StreamReader": "disentangle_fas.inference.stream",
    "StreamResult": "disentangle_fas.inference.live",
    "StreamScorer": "disentangle_fas.inference.live",
    "TemporalVerdict": "disentangle_fas.inference.temporal",
    "TrackState": "disentangle_fas.inference.tracking",
    "Verdict": "disentangle_fas.inference.temporal",
    "VideoResult": "disentangle_fas.inference.results",
    "bona_fide_threshold": "disentangle_fas.inference.calibration",
    "crop_face": "disentangle_fas.data.faces",
    "decide": "disentangle_fas.inference.results",
    "default_device": "disentangle_fas.inference.loading",
    "export_onnx": "disentangle_fas.inference.onnx",
    "load_checkpoint": "disentangle_fas.inference.loading",
    "load_image": "disentangle_fas.inference.io",
    "read_video_frames": "disentangle_fas.inference.io",
    "resolve_face_detector": "disentangle_fas.inference.faces",
    "sample_indices": "disentangle_fas.inference.io",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
