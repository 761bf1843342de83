"""Names the explain command checks before importing torch: CAM methods and probe kinds."""

from __future__ import annotations

from typing import Literal

__all__ = ["CAM_METHODS", "PROBE_KINDS", "ProbeKind"]

#: Names accepted by ``liveness_gradcam(method=...)`` -> class in :mod:`pytorch_grad_cam`.
CAM_METHODS: dict[str, str] = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
}

ProbeKind = Literal["linear", "mlp"]
#: The probe kinds, in report order: logistic regression and a one-hidden-layer MLP.
PROBE_KINDS: tuple[ProbeKind, ...] = ("linear", "mlp")
