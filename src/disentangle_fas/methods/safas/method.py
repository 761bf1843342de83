"""SA-FAS's training adapter and its registration (``--method sa-fas``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ComparedMethod
from disentangle_fas.methods.safas.config import SAFASConfig
from disentangle_fas.methods.safas.model import SAFAS
from disentangle_fas.methods.safas.objective import SAFASObjective
from disentangle_fas.seeds import derive_seed

__all__ = ["SAFASMethod", "configure"]


def configure(context: MethodContext) -> SAFASConfig:
    """SA-FAS's config for a run: the official hyperparameters, then the context's settings."""
    return SAFASConfig(
        num_domains=context.num_domains,
        depth=context.depth,
        image_size=context.image_size,
        backbone=context.backbone,
        **context.settings,
    )


class SAFASMethod(ComparedMethod):
    """SA-FAS: per-domain logistic and supervised contrastive terms on two augmented views.

    The loop hands over one batch (after its own optional flip); :meth:`loss` draws two
    views of every image with the official training augmentation (rotation, random
    resized square crop, flip: :func:`~disentangle_fas.methods.safas.random_views`) from a
    generator seeded with ``derive_seed(seed, "views", rank)`` (in :attr:`generators`, so a
    resumed run continues its stream); :meth:`after_step` aligns the heads from
    ``align_start`` on. Evaluation uses the model's deterministic centre crop.

    Args:
        context: the run (its settings are :class:`SAFASConfig` fields).
        config: the config to use; :func:`configure` of ``context`` when ``None``.
    """

    objective_takes_progress = False

    model_cls = SAFAS
    objective_cls = SAFASObjective
    configure = staticmethod(configure)
    config: SAFASConfig
    model: SAFAS
    objective: SAFASObjective

    def __init__(self, context: MethodContext, config: SAFASConfig | None = None) -> None:
        super().__init__(context, config)
        self.generator = torch.Generator().manual_seed(
            derive_seed(context.seed, "views", context.rank)
        )

    @property
    def generators(self) -> dict[str, torch.Generator]:
        """The views' generator, which the loop saves and restores with the run."""
        return {"views": self.generator}

    def _forward(self, step_model: nn.Module, images: Tensor) -> Any:
        """The forward on two augmented views per image."""
        views = self.objective.views(images, self.config, generator=self.generator)
        return step_model(views)

    def after_step(self, progress: float) -> None:
        """Align the domain heads (from ``align_start`` on)."""
        self.objective.after_step(progress)
