"""The paper's training adapter and its registration (``--method disentangle``)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from disentangle_fas.contracts import LivenessModel, Losses, Variant
from disentangle_fas.losses.erasure import require_concept_erasure
from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ObjectiveMethod
from disentangle_fas.methods.disentangle.config import ModelConfig
from disentangle_fas.methods.disentangle.erase import SourceBatches, erase_and_refit
from disentangle_fas.methods.disentangle.model import DisentangledFAS
from disentangle_fas.methods.disentangle.objective import DisentanglementObjective

__all__ = ["DisentanglementMethod", "configure", "needs_content"]


def configure(context: MethodContext) -> ModelConfig:
    """The model config of a run: the context's domains, input size, trunk and content
    shape, then its settings (``variant``, ``scale``, ``w_dom``, ...).

    Raises:
        ImportError: ``erase="leace"`` without the ``concept-erasure`` package (before any
            work: the message names the extra to install).
    """
    shape: dict[str, Any] = (
        {} if context.content_shape is None else {"content_shape": context.content_shape}
    )
    if context.settings.get("erase") == "leace":
        require_concept_erasure()
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
        self.objective: DisentanglementObjective = objective

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """The objective on ``step_model(images)``; ``progress`` sets the adversaries'
        gradient-reversal strength (``domain_removal="adversarial"``).
        """
        features = step_model(images)
        terms = self.objective(features, labels, domains, content_target, progress=progress)
        return Losses(terms.total, terms)

    def finalize(self, model: LivenessModel, batches: SourceBatches) -> LivenessModel:
        """The post-training step the harness runs on every model it is about to score and
        save: with ``erase="leace"``, a copy with the domain erased from f_L by LEACE fitted
        on the source-training features and C_L refit on them
        (:func:`~disentangle_fas.methods.disentangle.erase.erase_and_refit`); otherwise
        ``model`` itself.

        Args:
            model: the model to score (the trained weights or their average).
            batches: ``batches()`` iterates the source-training set.
        """
        if isinstance(model, DisentangledFAS) and model.eraser is not None:
            return erase_and_refit(model, batches)
        return model
