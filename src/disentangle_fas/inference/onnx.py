"""ONNX export of E_L + C_L and a small ONNX Runtime scorer (optional extra ``onnx``).

The exported graph takes ``images``: ``(B, 3, H, W)`` float32 RGB in ``[0, 1]`` (the
ImageNet normalisation is inside the graph) and returns ``p_live``: ``(B,)`` P(live); the
batch axis is dynamic, ``H = W`` is fixed at export. The decision threshold and the image
size are stored in the model's metadata (``metadata_props``).
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessModel, LivenessPath

__all__ = ["OnnxLivenessModel", "export_onnx", "require_onnx", "require_onnxruntime"]

_EXTRA = 'pip install "disentangle-fas[onnx]"'
INPUT_NAME = "images"
OUTPUT_NAME = "p_live"


def require_onnx() -> Any:
    """Import ``onnx`` or raise an ImportError naming the extra."""
    try:
        import onnx
    except ImportError as err:
        raise ImportError(f"ONNX export needs the onnx package: {_EXTRA}") from err
    return onnx


def require_onnxruntime() -> Any:
    """Import ``onnxruntime`` or raise an ImportError naming the extra."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(f"running ONNX models needs onnxruntime: {_EXTRA}") from err
    return onnxruntime


class _LiveScore(nn.Module):
    """``images -> P(live)`` through the model's inference path only."""

    def __init__(self, path: LivenessPath) -> None:
        super().__init__()
        self.path = path

    def forward(self, images: Tensor) -> Tensor:
        return self.path.live_score(images)


def export_onnx(
    model: LivenessModel,
    path: str | os.PathLike[str],
    *,
    image_size: int | None = None,
    opset: int = 17,
    threshold: float | None = None,
    exporter: Literal["torchscript", "dynamo"] = "torchscript",
    metadata: dict[str, str] | None = None,
) -> Path:
    """Export the inference path (E_L + C_L) of a model to ONNX.

    The model is copied to the CPU in eval mode; the original is left untouched.

    Args:
        model: a :class:`~disentangle_fas.model.DisentangledFAS` (E_L + C_L are exported)
            or an :class:`~disentangle_fas.ssdg.SSDGR` (its ``live_score`` path).
        path: destination ``.onnx`` file.
        image_size: input side; defaults to ``model.config.image_size`` (required when the
            config has none).
        opset: ONNX opset version.
        threshold: decision threshold to store in the metadata (``None``: not stored).
        exporter: ``"torchscript"`` (PyTorch's TorchScript-based exporter: fast, needs only
            ``onnx``) or ``"dynamo"`` (the ``torch.export``-based one; also needs
            ``onnxscript``).
        metadata: extra string metadata to store.

    Returns:
        The path written.

    Raises:
        ImportError: ``onnx`` (or, for ``"dynamo"``, ``onnxscript``) is not installed.
        ValueError: no image size known, or an unknown exporter.

    Shape:
        - ONNX input ``images``: ``(B, 3, image_size, image_size)``, ``B`` dynamic.
        - ONNX output ``p_live``: ``(B,)``.
    """
    onnx = require_onnx()
    spec = model.input_spec
    size = image_size if image_size is not None else (None if spec is None else spec.image_size)
    if size is None or size < 1:
        raise ValueError(
            "image_size is unknown: the model declares no input_spec; pass image_size="
        )
    if exporter not in ("torchscript", "dynamo"):
        raise ValueError(f"exporter must be 'torchscript' or 'dynamo', got {exporter!r}")
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A CPU copy of the inference path only (E_L + C_L); the model itself is not touched.
    wrapper = _LiveScore(copy.deepcopy(model.liveness_path())).cpu().eval()
    example = torch.rand(2, 3, size, size)

    def export(**exporter_options: Any) -> None:
        torch.onnx.export(
            wrapper,
            (example,),
            str(dest),
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            **exporter_options,
        )

    if exporter == "dynamo":
        try:
            import onnxscript  # noqa: F401
        except ImportError as err:
            raise ImportError(
                "the dynamo exporter needs onnxscript: pip install onnxscript"
            ) from err
        batch = torch.export.Dim("batch", min=1)
        export(dynamo=True, dynamic_shapes=({0: batch},), external_data=False, verbose=False)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", getattr(torch.jit, "TracerWarning", UserWarning))
            export(dynamo=False, dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    proto = onnx.load(str(dest))
    props = {"image_size": str(size), "input_range": "[0, 1] RGB", "output": "P(live)"}
    if spec is not None:
        props["mean"] = ",".join(repr(v) for v in spec.mean)
        props["std"] = ",".join(repr(v) for v in spec.std)
    if threshold is not None:
        props["threshold"] = repr(float(threshold))
    props.update(metadata or {})
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(dest))
    return dest


class OnnxLivenessModel:
    """Score face crops with an exported model on ONNX Runtime.

    Args:
        path: the ``.onnx`` file written by :func:`export_onnx`.
        providers: ONNX Runtime execution providers (default: CPU).
        intra_op_threads: threads per operator (``None``: ONNX Runtime's default).

    Attributes:
        image_size: the input side stored at export.
        threshold: the stored decision threshold, or ``None``.

    Raises:
        ImportError: onnxruntime is not installed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        providers: list[str] | None = None,
        intra_op_threads: int | None = None,
    ) -> None:
        ort = require_onnxruntime()
        options = ort.SessionOptions()
        if intra_op_threads is not None:
            options.intra_op_num_threads = intra_op_threads
        self.session: Any = ort.InferenceSession(
            str(path), options, providers=providers or ["CPUExecutionProvider"]
        )
        meta: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.metadata = meta
        self.image_size = int(meta["image_size"]) if "image_size" in meta else None
        self.threshold = float(meta["threshold"]) if "threshold" in meta else None

    def __call__(self, images: NDArray[np.float32] | Tensor) -> NDArray[np.float32]:
        """Return P(live) of a ``(B, 3, H, W)`` float batch in ``[0, 1]``.

        Args:
            images: the batch (numpy or tensor).

        Returns:
            ``(B,)`` float32 scores.

        Shape:
            - Input: ``(B, 3, image_size, image_size)``.
            - Output: ``(B,)``.
        """
        x = images.detach().cpu().numpy() if isinstance(images, Tensor) else images
        out = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x, np.float32)})
        scores: NDArray[np.float32] = out[0]
        return scores
