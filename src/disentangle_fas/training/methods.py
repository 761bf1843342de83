"""Training methods: what the loop builds and minimises.

* ``disentangle`` -- the paper's model (:class:`~disentangle_fas.model.DisentangledFAS`)
  and its six-term objective, with the Table 3 variants.
* ``ssdg-r`` -- SSDG-R (:class:`~disentangle_fas.ssdg.SSDGR`), the strongest method the
  paper compares with, trained by the same loop on the same data and evaluated by the
  same code.

Both models expose ``live_score(images)`` and a ``config``, so checkpoints, evaluation
and inference treat them alike.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from torch import Tensor, nn

from disentangle_fas.checkpoint import LivenessModel
from disentangle_fas.losses import DisentanglementObjective, LossWeights
from disentangle_fas.model import DisentangledFAS, ModelConfig
from disentangle_fas.ssdg import OFFICIAL_LOSS_WEIGHTS, SSDGR, SSDGConfig, SSDGObjective
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData

__all__ = [
    "METHODS",
    "DisentanglementMethod",
    "Losses",
    "SSDGMethod",
    "TrainingMethod",
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


#: ``--method`` values.
METHODS: dict[str, type[DisentanglementMethod] | type[SSDGMethod]] = {
    "disentangle": DisentanglementMethod,
    "ssdg-r": SSDGMethod,
}


def build_method(cfg: TrainConfig, task: TaskData, *, warn_random: bool = True) -> TrainingMethod:
    """Build the method named by ``cfg.method``.

    Raises:
        ValueError: unknown method.
    """
    if cfg.method not in METHODS:
        raise ValueError(f"unknown method {cfg.method!r}; choose one of {sorted(METHODS)}")
    if cfg.method == "ssdg-r":
        return SSDGMethod(cfg, task, warn_random=warn_random)
    return DisentanglementMethod(cfg, task, warn_random=warn_random)
