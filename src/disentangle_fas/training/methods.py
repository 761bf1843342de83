"""Training methods: what the loop builds and minimises, behind one contract.

A method (:class:`~disentangle_fas.contracts.TrainingMethod`) is a model plus the objective
that trains it. The library's methods are registered by name (``--method``):

* ``disentangle`` -- the paper's model (:class:`~disentangle_fas.model.DisentangledFAS`)
  and its six-term objective, with the Table 3 variants and any backbone.
* ``ssdg-r`` -- SSDG-R (:class:`~disentangle_fas.ssdg.SSDGR`), the strongest method the
  paper compares with, trained by the same loop on the same data.

A method of one's own is registered with :func:`register_method`, or passed directly to
:func:`~disentangle_fas.training.train` (e.g. an :class:`ObjectiveMethod` wrapping a
custom model and objective).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from disentangle_fas.contracts import LivenessModel, Losses, TrainingMethod, Variant
from disentangle_fas.losses import DisentanglementObjective, LossWeights
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.ssdg import OFFICIAL_LOSS_WEIGHTS, SSDGR, SSDGConfig, SSDGObjective
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData

__all__ = [
    "DisentanglementMethod",
    "Losses",
    "MethodBuilder",
    "ObjectiveMethod",
    "SSDGMethod",
    "TrainingMethod",
    "available_methods",
    "build_method",
    "register_method",
]

#: Builds a method from the run's configuration and data: ``builder(cfg, task, warn_random)``.
MethodBuilder = Callable[[TrainConfig, TaskData, bool], TrainingMethod]


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
        super().__init__(model, objective, uses_content=Variant(cfg.variant).uses_content)
        self.model: DisentangledFAS = model


class SSDGMethod:
    """SSDG-R with the official loss weights of the task's target when it is O, C, I or M."""

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

    def after_step(self, progress: float) -> None:
        """Nothing to do after an optimizer step."""


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
