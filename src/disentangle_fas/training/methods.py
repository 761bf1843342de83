"""Training methods: what the loop builds and minimises, behind one contract.

A method (:class:`~disentangle_fas.contracts.TrainingMethod`) is a model plus the objective
that trains it. The library's methods are registered by name (``--method``):

* ``disentangle`` -- the paper's model (:class:`~disentangle_fas.model.DisentangledFAS`)
  and its six-term objective, with the Table 3 variants and any backbone.
* ``ssdg-r`` -- SSDG-R (:class:`~disentangle_fas.ssdg.SSDGR`), the strongest method the
  paper compares with, trained by the same loop on the same data.
* ``ssan-r`` -- SSAN-R (:class:`~disentangle_fas.ssan.SSANR`, Wang et al., CVPR 2022).
* ``sa-fas`` -- SA-FAS (:class:`~disentangle_fas.safas.SAFAS`, Sun et al., CVPR 2023); its
  heads' alignment runs in :meth:`SAFASMethod.after_step`.

A method of one's own is registered with :func:`register_method`, or passed directly to
:func:`~disentangle_fas.training.train` (e.g. an :class:`ObjectiveMethod` wrapping a
custom model and objective).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, Self, TypeVar

import torch
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessModel, Losses, TrainingMethod
from disentangle_fas.losses import DisentanglementObjective, LossWeights
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.safas import SAFAS, SAFASConfig, SAFASObjective
from disentangle_fas.ssan import SSANR, SSANConfig, SSANObjective, shuffle_styles
from disentangle_fas.ssdg import OFFICIAL_LOSS_WEIGHTS, SSDGR, SSDGConfig, SSDGObjective
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData

__all__ = [
    "DisentanglementMethod",
    "Losses",
    "MethodBuilder",
    "ObjectiveMethod",
    "SAFASMethod",
    "SSANMethod",
    "SSDGMethod",
    "TrainingMethod",
    "available_methods",
    "build_method",
    "register_method",
]

#: Builds a method from the run's configuration and data: ``builder(cfg, task, warn_random)``.
MethodBuilder = Callable[[TrainConfig, TaskData, bool], TrainingMethod]


class _FromConfig(Protocol):
    @classmethod
    def from_config(cls, config: Any, *, weights: str | None, warn_random: bool) -> Self: ...


_M = TypeVar("_M", bound=_FromConfig)


class _FloatTerms:
    """A bare loss tensor dressed as a terms tuple (``as_floats`` for logs)."""

    def __init__(self, total: Tensor) -> None:
        self.total = total

    def as_floats(self) -> dict[str, float]:
        return {"total": float(self.total.detach())}


class ObjectiveMethod:
    """Any liveness model and any objective, as a training method.

    Each step computes ``objective(step_model(images), labels, domains, content_target)``.
    The objective returns a tensor (the total loss) or a NamedTuple-like object with a
    ``total`` tensor (and ``as_floats()`` for logging, like
    :class:`~disentangle_fas.losses.ObjectiveTerms`).

    Args:
        model: the model to train.
        objective: the loss function.
        uses_content: whether the objective needs the content target (the task's content
            target provider is then called every step).

    Example:
        >>> model = DisentangledFAS.build(num_domains=3, variant="baseline", depth=10,
        ...                               image_size=32, warn_random=False)
        >>> obj = DisentanglementObjective(model.liveness_head, None, variant="baseline")
        >>> method = ObjectiveMethod(model, obj)
    """

    def __init__(
        self, model: LivenessModel, objective: Callable[..., Any], *, uses_content: bool = False
    ) -> None:
        if not isinstance(model, LivenessModel):
            raise TypeError(
                f"the model ({type(model).__name__}) must derive from "
                "disentangle_fas.contracts.LivenessModel"
            )
        self.model = model
        self.objective = objective
        self.uses_content = uses_content

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """Forward through ``step_model`` and apply the objective (``progress`` unused)."""
        del progress
        terms = self.objective(step_model(images), labels, domains, content_target)
        if isinstance(terms, Tensor):
            return Losses(terms, _FloatTerms(terms))
        total = getattr(terms, "total", None)
        if not isinstance(total, Tensor):
            raise TypeError("the objective must return a tensor or an object with a `total` tensor")
        return Losses(total, terms if hasattr(terms, "as_floats") else _FloatTerms(total))

    def after_step(self, progress: float) -> None:
        """Nothing to do after an optimizer step."""


class DisentanglementMethod(ObjectiveMethod):
    """The paper's method; ``cfg.variant`` picks the Table 3 row, ``cfg.backbone`` the encoders."""

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        config = ModelConfig(
            num_domains=len(task.source_names),
            variant=cfg.variant,
            depth=cfg.depth,
            image_size=cfg.image_size,
            content_shape=task.content_shape,
            scale=cfg.lmcl_scale,
            margin=cfg.lmcl_margin,
            backbone=cfg.backbone or None,
        )
        model = DisentangledFAS.from_config(
            config, weights=cfg.imagenet_weights or None, warn_random=warn_random
        )
        weights = LossWeights(cfg.w_dom, cfg.w_cont, cfg.w_cont_cnf, cfg.w_dom_cnf, cfg.w_live_cnf)
        objective = DisentanglementObjective(
            model.liveness_head, model.domain_head, variant=cfg.variant, weights=weights
        )
        super().__init__(model, objective, uses_content=cfg.variant.uses_content)
        self.model: DisentangledFAS = model


class _ComparedMethod:
    """What the compared methods share: no content target, the model built from
    ``cfg.imagenet_weights``, a loss from :meth:`_terms`, nothing after a step.
    """

    uses_content = False

    @staticmethod
    def _build(model_cls: type[_M], config: Any, cfg: TrainConfig, warn_random: bool) -> _M:
        """``model_cls.from_config(config)`` with the run's ImageNet weights, if any."""
        weights = cfg.imagenet_weights or None
        return model_cls.from_config(config, weights=weights, warn_random=warn_random)

    #: the objective: ``objective(outputs, labels, domains[, progress]) -> terms``.
    objective: Any
    #: whether the objective takes the training progress in ``[0, 1]`` (GRL schedules).
    objective_takes_progress = True

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """The objective's terms on :meth:`_forward`'s outputs, and their total."""
        del content_target
        extra = (progress,) if self.objective_takes_progress else ()
        terms = self.objective(self._forward(step_model, images), labels, domains, *extra)
        return Losses(terms.total, terms)

    def _forward(self, step_model: nn.Module, images: Tensor) -> Any:
        """The model's outputs on one batch: a plain forward."""
        return step_model(images)

    def after_step(self, progress: float) -> None:
        """Nothing to do after an optimizer step."""


class SSDGMethod(_ComparedMethod):
    """SSDG-R with the official loss weights of the task's target when it is O, C, I or M.

    Its loss: classification, single-side adversarial and asymmetric triplet terms.
    """

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        target = task.target_name.upper()
        base: dict[str, Any] = dict(
            num_domains=len(task.source_names),
            depth=cfg.depth,
            scale=cfg.lmcl_scale,
            image_size=cfg.image_size,
            backbone=cfg.backbone or None,
        )
        config = (
            SSDGConfig.official(target, **base)
            if target in OFFICIAL_LOSS_WEIGHTS
            else SSDGConfig(**base)
        )
        self.model: SSDGR = self._build(SSDGR, config, cfg, warn_random)
        self.objective = SSDGObjective.from_model(self.model)


class SSANMethod(_ComparedMethod):
    """SSAN-R with the official hyperparameters; every step shuffles the batch's styles.

    Inputs below 64 px assemble at layer3's resolution (``assembly_stride=1``): at the
    official stride their assembled maps would be 1x1, where AdaIN is undefined. The style
    path reads ResNet layers 1-3, so ``cfg.backbone`` must name no other trunk. Its loss:
    classification, assembly contrast and domain adversarial terms.
    """

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        if cfg.backbone and cfg.backbone != f"resnet{cfg.depth}":
            raise ValueError(
                f"ssan-r reads ResNet layers 1-3 (depth 10, 18 or 34); --backbone "
                f"{cfg.backbone!r} is not supported, use --depth"
            )
        config = SSANConfig(
            num_domains=len(task.source_names),
            depth=cfg.depth,
            assembly_stride=2 if cfg.image_size >= 64 else 1,
            image_size=cfg.image_size,
        )
        self.model: SSANR = self._build(SSANR, config, cfg, warn_random)
        self.objective = SSANObjective.from_model(self.model)

    def _forward(self, step_model: nn.Module, images: Tensor) -> Any:
        """The forward with the batch's styles shuffled."""
        return step_model(images, shuffle_styles(images.shape[0], images.device))


class SAFASMethod(_ComparedMethod):
    """SA-FAS with the official hyperparameters; two augmented views per image.

    The loop hands over one batch (after its own optional flip); :meth:`loss` draws two
    views of every image with the official training augmentation (rotation, random
    resized square crop, flip: :func:`~disentangle_fas.safas.random_views`) from a
    generator seeded with ``cfg.seed`` (in :attr:`generators`, so a resumed run continues
    its stream); :meth:`after_step` aligns the heads from
    ``align_start`` on. Evaluation uses the model's deterministic centre crop. Its loss:
    per-domain logistic and supervised contrastive terms on the two views.
    """

    objective_takes_progress = False

    def __init__(self, cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> None:
        self.config = SAFASConfig(
            num_domains=len(task.source_names),
            depth=cfg.depth,
            image_size=cfg.image_size,
            backbone=cfg.backbone or None,
        )
        self.model: SAFAS = self._build(SAFAS, self.config, cfg, warn_random)
        self.objective = SAFASObjective.from_model(self.model)
        self.generator = torch.Generator().manual_seed(cfg.seed * 7919 + 1)

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


_METHODS: dict[str, MethodBuilder] = {}


def register_method(name: str, builder: MethodBuilder, *, replace: bool = False) -> None:
    """Register a training method under a ``--method`` name.

    Args:
        name: the name (``disentangle-fas train --method NAME``, ``protocol --variants``).
        builder: ``builder(cfg, task, warn_random) -> TrainingMethod``.
        replace: allow replacing an existing registration.

    Raises:
        ValueError: empty name, or ``name`` taken (without ``replace``).
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"a method needs a non-empty name, got {name!r}")
    if name in _METHODS and _METHODS[name] is not builder and not replace:
        raise ValueError(f"method {name!r} is already registered; pass replace=True")
    _METHODS[name] = builder


def available_methods() -> list[str]:
    """Return the registered method names, sorted."""
    return sorted(_METHODS)


def build_method(cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> TrainingMethod:
    """Build the method named by ``cfg.method``.

    Raises:
        ValueError: unknown method (the message lists the registered ones).
    """
    if cfg.method not in _METHODS:
        raise ValueError(f"unknown method {cfg.method!r}; choose one of {available_methods()}")
    return _METHODS[cfg.method](cfg, task, warn_random)


register_method(
    "disentangle", lambda cfg, task, warn: DisentanglementMethod(cfg, task, warn_random=warn)
)
register_method("ssdg-r", lambda cfg, task, warn: SSDGMethod(cfg, task, warn_random=warn))
register_method("ssan-r", lambda cfg, task, warn: SSANMethod(cfg, task, warn_random=warn))
register_method("sa-fas", lambda cfg, task, warn: SAFASMethod(cfg, task, warn_random=warn))
