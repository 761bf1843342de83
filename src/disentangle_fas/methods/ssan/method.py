"""SSAN-R's training adapter and its registration (``--method ssan-r``)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ComparedMethod
from disentangle_fas.methods.ssan.config import SSANConfig
from disentangle_fas.methods.ssan.model import SSANR
from disentangle_fas.methods.ssan.objective import SSANObjective, shuffle_styles

__all__ = ["SSANMethod", "configure"]


def configure(context: MethodContext) -> SSANConfig:
    """SSAN-R's config for a run: the official hyperparameters, ``assembly_stride`` 1 below
    64 px (at the official stride 2 the assembled maps would be 1x1, where AdaIN is
    undefined), then the context's settings.

    Raises:
        ValueError: a backbone other than the ResNet trunk (the style path reads ResNet
            layers 1-3).
    """
    if context.backbone and context.backbone != f"resnet{context.depth}":
        raise ValueError(
            f"ssan-r reads ResNet layers 1-3 (depth 10, 18 or 34); --backbone "
            f"{context.backbone!r} is not supported, use --depth"
        )
    fields: dict[str, Any] = {
        "assembly_stride": 2 if context.image_size >= 64 else 1,
        **context.settings,
    }
    return SSANConfig(
        num_domains=context.num_domains,
        depth=context.depth,
        image_size=context.image_size,
        **fields,
    )


class SSANMethod(ComparedMethod):
    """SSAN-R: classification, assembly contrast and domain adversarial terms; every step
    shuffles the batch's styles.

    Args:
        context: the run (its settings are :class:`SSANConfig` fields).
        config: the config to use; :func:`configure` of ``context`` when ``None``.
    """

    model_cls = SSANR
    objective_cls = SSANObjective
    configure = staticmethod(configure)
    config: SSANConfig
    model: SSANR
    objective: SSANObjective

    def _forward(self, step_model: nn.Module, images: Tensor) -> Any:
        """The forward with the batch's styles shuffled."""
        return step_model(images, shuffle_styles(images.shape[0], images.device))
