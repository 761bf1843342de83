"""Training methods: what the loop builds and minimises.

* ``disentangle`` -- the paper's model (:class:`~disentangle_fas.model.DisentangledFAS`)
  and its six-term objective, with the Table 3 variants.
* ``ssdg-r`` -- SSDG-R (:class:`~disentangle_fas.ssdg.SSDGR`), the strongest method the
  paper compares with, trained by the same loop on the same data and evaluated by the
  same code.
* ``ssan-r`` -- SSAN-R (:class:`~disentangle_fas.ssan.SSANR`, Wang et al., CVPR 2022).
* ``sa-fas`` -- SA-FAS (:class:`~disentangle_fas.safas.SAFAS`, Sun et al., CVPR 2023).

Every model exposes ``live_score(images)`` and a ``config``, so checkpoints, evaluation
and inference treat them alike. All methods train on the same balanced batches with the
same optimizer and schedule; only the model and the objective change. ``after_step`` is
called by the loop after every optimizer step (SA-FAS aligns its heads there).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor, nn

from disentangle_fas.checkpoint import LivenessModel
from disentangle_fas.losses import DisentanglementObjective, LossWeights
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.safas import SAFAS, SAFASConfig, SAFASObjective
from disentangle_fas.ssan import SSANR, SSANConfig, SSANObjective, shuffle_styles
from disentangle_fas.ssdg import OFFICIAL_LOSS_WEIGHTS, SSDGR, SSDGConfig, SSDGObjective
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData

__all__ = [
    "METHODS",
    "DisentanglementMethod",
    "Losses",
    "SAFASMethod",
    "SSANMethod",
    "SSDGMethod",
    "TrainingMethod",
    "after_step",
    "build_method",
]


class Losses(NamedTuple):
    """The total loss of a step and every term as floats (for logging)."""

    total: Tensor
    terms: Any  # a NamedTuple of tensors with ``as_floats()``


class TrainingMethod(Protocol):
    """What the training loop needs from a method."""

    @property
    def model(self) -> LivenessModel:
        """The model (trained, checkpointed, evaluated with ``live_score``)."""
        ...

    @property
    def uses_content(self) -> bool:
        """Whether :meth:`loss` needs a content target."""
        ...

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """Forward ``images`` through ``step_model`` (the possibly DDP/compiled model) and
        return the loss.
        """
        ...


def after_step(method: object, progress: float) -> None:
    """Call ``method.after_step(progress)`` when the method has one (after ``optimizer.step()``)."""
    hook = getattr(method, "after_step", None)
    if hook is not None:
        hook(progress)


class DisentanglementMethod:
    """The paper's method; ``cfg.variant`` picks the Table 3 row."""

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        config = ModelConfig(
            num_domains=len(task.source_names),
            variant=cfg.variant,
            depth=cfg.depth,
            image_size=cfg.image_size,
            content_shape=task.content_shape,
            scale=cfg.lmcl_scale,
            margin=cfg.lmcl_margin,
        )
        self.model: DisentangledFAS = DisentangledFAS.from_config(
            config, weights=cfg.imagenet_weights or None, warn_random=warn_random
        )
        weights = LossWeights(cfg.w_dom, cfg.w_cont, cfg.w_cont_cnf, cfg.w_dom_cnf, cfg.w_live_cnf)
        self.objective = DisentanglementObjective(
            self.model.liveness_head, self.model.domain_head, variant=cfg.variant, weights=weights
        )
        self.uses_content = self.objective.variant.uses_content

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """The six-term objective (``progress`` is unused)."""
        del progress
        terms = self.objective(step_model(images), labels, domains, content_target)
        return Losses(terms.total, terms)


class SSDGMethod:
    """SSDG-R with the official loss weights of the task's target when it is O, C, I or M."""

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        target = task.target_name.upper()
        base = dict(num_domains=len(task.source_names), depth=cfg.depth, scale=cfg.lmcl_scale)
        config = (
            SSDGConfig.official(target, **base)  # type: ignore[arg-type]
            if target in OFFICIAL_LOSS_WEIGHTS
            else SSDGConfig(**base)  # type: ignore[arg-type]
        )
        self.model: SSDGR = SSDGR.from_config(
            config, weights=cfg.imagenet_weights or None, warn_random=warn_random
        )
        self.objective = SSDGObjective.from_model(self.model)
        self.uses_content = False

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """Classification + single-side adversarial + asymmetric triplet terms."""
        del content_target
        terms = self.objective(step_model(images), labels, domains, progress)
        return Losses(terms.total, terms)


class SSANMethod:
    """SSAN-R with the official hyperparameters; every step shuffles the batch's styles.

    Inputs below 64 px assemble at layer3's resolution (``assembly_stride=1``): at the
    official stride their assembled maps would be 1x1, where AdaIN is undefined.
    """

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        config = SSANConfig(
            num_domains=len(task.source_names),
            depth=cfg.depth,
            assembly_stride=2 if cfg.image_size >= 64 else 1,
            image_size=cfg.image_size,
        )
        self.model: SSANR = SSANR.from_config(
            config, weights=cfg.imagenet_weights or None, warn_random=warn_random
        )
        self.objective = SSANObjective.from_model(self.model)
        self.uses_content = False

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """Classification, assembly contrast and domain adversarial terms."""
        del content_target
        perm = shuffle_styles(images.shape[0], images.device)
        terms = self.objective(step_model(images, perm), labels, domains, progress)
        return Losses(terms.total, terms)


class SAFASMethod:
    """SA-FAS with the official hyperparameters; two augmented views per image.

    The loop hands over one batch (after its own optional flip); :meth:`loss` draws two
    views of every image with the official training augmentation (rotation, random
    resized square crop, flip: :func:`~disentangle_fas.safas.random_views`) from a
    generator seeded with ``cfg.seed``; :meth:`after_step` aligns the heads from
    ``align_start`` on. Evaluation uses the model's deterministic centre crop.
    """

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        self.config = SAFASConfig(
            num_domains=len(task.source_names), depth=cfg.depth, image_size=cfg.image_size
        )
        self.model: SAFAS = SAFAS.from_config(
            self.config, weights=cfg.imagenet_weights or None, warn_random=warn_random
        )
        self.objective = SAFASObjective.from_model(self.model)
        self.uses_content = False
        self.generator = torch.Generator().manual_seed(cfg.seed * 7919 + 1)

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """Per-domain logistic and supervised contrastive terms on two views per image."""
        del content_target, progress
        views = self.objective.views(images, self.config, generator=self.generator)
        terms = self.objective(step_model(views), labels, domains)
        return Losses(terms.total, terms)

    def after_step(self, progress: float) -> None:
        """Align the domain heads (from ``align_start`` on)."""
        self.objective.after_step(progress)


_MethodClass = type[DisentanglementMethod] | type[SSDGMethod] | type[SSANMethod] | type[SAFASMethod]

#: ``--method`` values.
METHODS: dict[str, _MethodClass] = {
    "disentangle": DisentanglementMethod,
    "ssdg-r": SSDGMethod,
    "ssan-r": SSANMethod,
    "sa-fas": SAFASMethod,
}


def build_method(cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> TrainingMethod:
    """Build the method named by ``cfg.method``.

    Raises:
        ValueError: unknown method.
    """
    if cfg.method not in METHODS:
        raise ValueError(f"unknown method {cfg.method!r}; choose one of {sorted(METHODS)}")
    method: TrainingMethod = METHODS[cfg.method](cfg, task, warn_random=warn_random)
    return method
