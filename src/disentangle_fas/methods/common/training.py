"""The bases of a method's training adapter: what the loop builds and minimises, behind the
:class:`~disentangle_fas.contracts.TrainingMethod` contract.

* :class:`ObjectiveMethod` -- any liveness model and any objective (a custom model passed to
  :func:`~disentangle_fas.training.train`, or a method folder's adapter).
* :class:`ComparedMethod` -- the base of the compared methods' adapters (no content target,
  ImageNet trunk from the context).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any, ClassVar, Protocol, Self, TypeVar, cast

from torch import Tensor, nn

from disentangle_fas.contracts import (
    Autocast,
    LivenessModel,
    Losses,
    TrainingMethod,
    loss_backward,
)
from disentangle_fas.methods.common.context import MethodContext

__all__ = ["ComparedMethod", "ObjectiveMethod"]


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


class _OneLossBackward:
    """The default step rule of the bases: the gradient of :meth:`loss` (a subclass that
    owns its step overrides :meth:`backward`).
    """

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """The step's loss (each base defines it)."""
        raise NotImplementedError

    def backward(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float, *, autocast: Autocast = nullcontext,
    ) -> Losses:  # fmt: skip
        """The step's gradient: :meth:`loss`, then one backward pass
        (:func:`~disentangle_fas.contracts.loss_backward`).
        """
        method = cast(TrainingMethod, self)  # the subclasses complete the contract
        return loss_backward(
            method, step_model, images, labels, domains, content_target, progress,
            autocast=autocast,
        )  # fmt: skip


class ObjectiveMethod(_OneLossBackward):
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
        checkpoint_config: for a model the checkpoints cannot rebuild by kind (one
            assembled by hand), the JSON config its builder needs; the run's checkpoints
            store it.
        builder: that builder as ``"module:function"``, stored as a hint (``predict
            --builder module:function`` loads the checkpoints).

    Example:
        >>> from disentangle_fas.methods.disentangle import DisentangledFAS
        >>> from disentangle_fas.losses import DisentanglementObjective
        >>> model = DisentangledFAS.build(num_domains=3, variant="baseline", depth=10,
        ...                               image_size=32, warn_random=False)
        >>> obj = DisentanglementObjective(model.liveness_head, None, variant="baseline")
        >>> method = ObjectiveMethod(model, obj)
    """

    def __init__(
        self,
        model: LivenessModel,
        objective: Callable[..., Any],
        *,
        uses_content: bool = False,
        checkpoint_config: Mapping[str, Any] | None = None,
        builder: str | None = None,
    ) -> None:
        if not isinstance(model, LivenessModel):
            raise TypeError(
                f"the model ({type(model).__name__}) must derive from "
                "disentangle_fas.contracts.LivenessModel"
            )
        self.model = model
        self.objective = objective
        self.uses_content = uses_content
        self.checkpoint_config = None if checkpoint_config is None else dict(checkpoint_config)
        self.builder = builder

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


class ComparedMethod(_OneLossBackward):
    """What the compared methods' training adapters share: no content target, the model
    built from the context's ImageNet weights, a loss from the objective's terms on
    :meth:`_forward`'s outputs, nothing after a step.
    """

    uses_content = False
    #: the model class (``from_config(config, weights=, warn_random=)``).
    model_cls: ClassVar[type[Any]]
    #: the objective class (``from_model(model)``).
    objective_cls: ClassVar[Any]

    def __init__(self, context: MethodContext, config: Any = None) -> None:
        """Build the model from ``config`` (:meth:`configure` of ``context`` when ``None``)
        and its objective.
        """
        self.config = config if config is not None else self.configure(context)
        self.model = self._build(self.model_cls, self.config, context)
        self.objective = self.objective_cls.from_model(self.model)

    @staticmethod
    def configure(context: MethodContext) -> Any:
        """The method's config for ``context`` (a subclass's own)."""
        raise NotImplementedError

    @staticmethod
    def _build(model_cls: type[_M], config: Any, context: MethodContext) -> _M:
        """``model_cls.from_config(config)`` with the run's ImageNet weights, if any."""
        return model_cls.from_config(
            config, weights=context.imagenet_weights or None, warn_random=context.warn_random
        )

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
