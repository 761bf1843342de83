"""GAC-FAS's training adapter (``--method gac-fas``): two views per image, and a step that
owns its backward (the per-domain ascent of :func:`gac_backward`).
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import Tensor, nn

from disentangle_fas.contracts import Autocast, Losses
from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ComparedMethod
from disentangle_fas.methods.common.views import random_views
from disentangle_fas.methods.gac_fas.config import GACFASConfig
from disentangle_fas.methods.gac_fas.model import GACFAS
from disentangle_fas.methods.gac_fas.objective import GACFASObjective, GACFASTerms
from disentangle_fas.methods.gac_fas.step import gac_backward
from disentangle_fas.methods.gac_fas.views import random_cutout
from disentangle_fas.seeds import derive_seed

__all__ = ["GACFASMethod", "configure"]


def configure(context: MethodContext) -> GACFASConfig:
    """GAC-FAS's config for a run: the official hyperparameters, then the context's settings."""
    return GACFASConfig(
        num_domains=context.num_domains,
        depth=context.depth,
        image_size=context.image_size,
        backbone=context.backbone,
        **context.settings,
    )


class GACFASMethod(ComparedMethod):
    """GAC-FAS: per-domain logistic and SupCon terms on two augmented views, and from
    ``ascent_start`` on a step with one ascent point per source domain.

    The loop hands over one batch; :meth:`backward` draws two views of every image
    (rotation, random resized square crop, flip, cutout: the official training transform)
    from a generator seeded with ``derive_seed(seed, "views", rank)`` (in
    :attr:`generators`, so a resumed run continues its stream), computes the terms, and
    leaves in ``.grad`` the ERM gradient before ``ascent_start`` (and always with
    ``released=True``, as the released code trains), GAC-FAS's gradient after.

    Args:
        context: the run (its settings are :class:`GACFASConfig` fields).
        config: the config to use; :func:`configure` of ``context`` when ``None``.
    """

    objective_takes_progress = False

    model_cls = GACFAS
    objective_cls = GACFASObjective
    configure = staticmethod(configure)
    config: GACFASConfig
    model: GACFAS
    objective: GACFASObjective

    def __init__(self, context: MethodContext, config: GACFASConfig | None = None) -> None:
        super().__init__(context, config)
        self.generator = torch.Generator().manual_seed(
            derive_seed(context.seed, "views", context.rank)
        )

    @property
    def generators(self) -> dict[str, torch.Generator]:
        """The views' generator, which the loop saves and restores with the run."""
        return {"views": self.generator}

    def views(self, images: Tensor) -> Tensor:
        """Two augmented views of every image: ``(2 B, 3, H, W)``, view 0 then view 1."""
        cfg = self.config
        views = random_views(images, 2, rotation_degrees=cfg.rotation_degrees,
                             crop_scale_min=cfg.crop_scale_min, hflip=cfg.hflip,
                             generator=self.generator)  # fmt: skip
        return random_cutout(views, cfg.cutout, generator=self.generator)

    def _forward(self, step_model: nn.Module, images: Tensor) -> object:
        return step_model(self.views(images))

    def ascends(self, progress: float) -> bool:
        """Whether the step at ``progress`` takes the ascent points."""
        return not self.config.released and progress >= self.config.ascent_start

    def backward(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float, *, autocast: Autocast = nullcontext,
    ) -> Losses:  # fmt: skip
        """The step's gradient into ``.grad`` (see the class docstring).

        Raises:
            NotImplementedError: the ascent under several processes (its per-domain
                gradients are not all-reduced).
        """
        del content_target
        views = self.views(images)
        with autocast():
            terms: GACFASTerms = self.objective(step_model(views), labels, domains)
        if not self.ascends(progress):
            terms.total.backward()  # type: ignore[no-untyped-call]
            return Losses(terms.total, terms)
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            raise NotImplementedError(
                "gac-fas: the ascent step runs in one process (its per-domain gradients "
                "are not all-reduced); train with one process or --set released=true"
            )

        def loss_at() -> Tensor:
            with autocast():
                return self.objective.classification(step_model(views).logits, labels, domains)

        cfg = self.config
        gac_backward(self.model, terms.per_domain, terms.total, loss_at, rho=cfg.rho,
                     alpha=cfg.alpha, eta=cfg.eta, adaptive=cfg.adaptive)  # fmt: skip
        return Losses(terms.total, terms)
