"""The paper's training adapter and its registration (``--method disentangle``)."""

from __future__ import annotations

from typing import Any

from disentangle_fas.contracts import Variant
from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ObjectiveMethod
from disentangle_fas.methods.disentangle.config import ModelConfig
from disentangle_fas.methods.disentangle.model import DisentangledFAS
from disentangle_fas.methods.disentangle.objective import DisentanglementObjective

__all__ = ["DisentanglementMethod", "configure", "needs_content"]


def configure(context: MethodContext) -> ModelConfig:
    """The model config of a run: the context's domains, input size, trunk and content
    shape, then its settings (``variant``, ``scale``, ``w_dom``, ...).
    """
    shape: dict[str, Any] = (
        {} if context.content_shape is None else {"content_shape": context.content_shape}
    )
    return ModelConfig(
        num_domains=context.num_domains,
        depth=context.depth,
        image_size=context.image_size,
        backbone=context.backbone,
        **shape,
        **context.settings,
    )


def needs_content(config: ModelConfig) -> bool:
    """Whether the config's Table 3 variant trains E_C on a content target."""
    return Variant(config.variant).uses_content


class DisentanglementMethod(ObjectiveMethod):
    """The paper's method: E_L, E_C, E_D and the six-term objective; the ``variant``
    setting picks the Table 3 row, the context's backbone the encoders.

    Args:
        context: the run (its settings are :class:`ModelConfig` fields).
        config: the config to use; :func:`configure` of ``context`` when ``None``.
    """

    def __init__(self, context: MethodContext, config: ModelConfig | None = None) -> None:
        config = config or configure(context)
        model = DisentangledFAS.from_config(
            config, weights=context.imagenet_weights or None, warn_random=context.warn_random
        )
        objective = DisentanglementObjective.from_model(model)
        super().__init__(model, objective, uses_content=needs_content(config))
        self.model: DisentangledFAS = model
