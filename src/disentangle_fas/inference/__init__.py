"""Inference: score face images and videos with E_L + C_L, and export them to ONNX.

Example:
    >>> from disentangle_fas.inference import LivenessDetector
    >>> det = LivenessDetector.from_checkpoint("model.safetensors")  # doctest: +SKIP
    >>> print(det("face.jpg").p_live)  # doctest: +SKIP

Optional dependencies are imported only when used: PyAV for videos and facenet-pytorch for
MTCNN (``pip install "disentangle-fas[video]"``), onnx and onnxruntime for export
(``pip install "disentangle-fas[onnx]"``).
"""

from disentangle_fas.data.faces import FaceDetector, MTCNNFaceDetector, crop_face
from disentangle_fas.inference.detector import LivenessDetector
from disentangle_fas.inference.errors import CheckpointError, InputError, NoFaceDetectorWarning
from disentangle_fas.inference.faces import resolve_face_detector
from disentangle_fas.inference.io import load_image, read_video_frames, sample_indices
from disentangle_fas.inference.loading import default_device, load_checkpoint
from disentangle_fas.inference.onnx import OnnxLivenessModel, export_onnx
from disentangle_fas.inference.results import LivenessResult, Region, VideoResult, decide
from disentangle_fas.types import Box

__all__ = [
    "Box",
    "CheckpointError",
    "FaceDetector",
    "InputError",
    "LivenessDetector",
    "LivenessResult",
    "MTCNNFaceDetector",
    "NoFaceDetectorWarning",
    "OnnxLivenessModel",
    "Region",
    "VideoResult",
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
