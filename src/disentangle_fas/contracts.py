"""The contracts every part of the library obeys, in one place.

Three kinds of parts meet at the harness (training loop, evaluation, checkpoints,
:class:`~disentangle_fas.inference.LivenessDetector`, ONNX export, Grad-CAM, probes):

* an **encoder** (:class:`Encoder`): any ``nn.Module`` whose ``forward(x)`` maps normalised
  images ``(B, 3, H, W)`` to a feature map ``(B, num_features, h, w)`` and that has an
  integer ``num_features``. An encoder whose first layer can be shared with other encoders
  is a :class:`StemmedEncoder` (``stem`` + ``forward_trunk``).
* a **liveness model** (:class:`LivenessModel`): an ``nn.Module`` that scores P(live) from
  RGB images in ``[0, 1]``, exposes its inference sub-module (:class:`LivenessPath`: input
  normalisation, liveness encoder, optional embedding, classifier head) and the input it
  expects (:class:`InputSpec`). Every model of the library derives from it, and so can a
  user's own model.
* a **training method** (:class:`TrainingMethod`): a model plus the objective that trains
  it, and whether it needs a content target.

Types that several packages share (:class:`Variant`, :class:`DisentangledFeatures`,
:class:`Losses`) live here too. This module imports ``torch`` and :mod:`disentangle_fas.nn` only.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple, Protocol, cast, runtime_checkable

import torch
from torch import Tensor, nn

from disentangle_fas.nn import pool

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_IMAGE_SIZE",
    "Autocast",
    "DisentangledFeatures",
    "Encoder",
    "InputSpec",
    "LivenessModel",
    "LivenessPath",
    "LogitHead",
    "Losses",
    "StemmedEncoder",
    "TrainingMethod",
    "Variant",
    "compute_gradients",
    "loss_backward",
    "num_features_of",
    "pool_map",
]

#: The largest input side a model may state (an input spec above it is refused): a
#: checkpoint is untrusted input, and a side of 100000 px would ask for tens of gigabytes
#: per image before anything else could fail.
MAX_IMAGE_SIZE = 4096

#: ImageNet statistics used by torchvision's ImageNet weights (RGB, images in ``[0, 1]``).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class Variant(StrEnum):
    """Which disentanglement branches are used (the rows of the paper's Table 3).

    * ``BASELINE``: E_L and C_L only; ``L_live``.
    * ``CONTENT``: + E_C, D_C; ``L_cont`` and the liveness half of ``L_cont^cnf`` (there is
      no C_D to confuse in this variant).
    * ``DOMAIN``: + E_D, C_D; ``L_dom``, ``L_dom^cnf`` and ``L_live^cnf``.
    * ``FULL``: all six terms.
    """

    BASELINE = "baseline"
    CONTENT = "content"
    DOMAIN = "domain"
    FULL = "full"

    @property
    def uses_content(self) -> bool:
        """Whether E_C and D_C are part of the model."""
        return self in (Variant.CONTENT, Variant.FULL)

    @property
    def uses_domain(self) -> bool:
        """Whether E_D and C_D are part of the model."""
        return self in (Variant.DOMAIN, Variant.FULL)


class DisentangledFeatures(NamedTuple):
    """What the three encoders (and the content decoder) produce for one batch.

    Attributes:
        liveness: E_L(x), ``(B, d)`` or map ``(B, d, h, w)``.
        content: E_C(x) or ``None`` when the content branch is off.
        domain: E_D(x) or ``None`` when the domain branch is off.
        content_pred: D_C(E_C(x)), ``(B, C, H, W)``, or ``None``.
    """

    liveness: Tensor
    content: Tensor | None = None
    domain: Tensor | None = None
    content_pred: Tensor | None = None


def num_features_of(encoder: object) -> int:
    """Return an encoder's integer ``num_features``.

    Raises:
        ValueError: the encoder has none (it does not follow :class:`Encoder`).
    """
    value = getattr(encoder, "num_features", None)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"{type(encoder).__name__} is not an encoder: it needs an integer `num_features` "
            "(the channels of the (B, C, h, w) map its forward returns)"
        )
    return value


#: Global average pooling of a map (:func:`disentangle_fas.nn.pool`; the same function).
pool_map = pool


@dataclass(frozen=True)
class InputSpec:
    """The input a liveness model expects; stored in every checkpoint.

    Images enter the model as RGB in ``[0, 1]`` at ``image_size x image_size``; the model
    normalises them itself with ``mean`` / ``std`` (kept here so that a user of an exported
    model, or a reader of the checkpoint, knows them).

    Attributes:
        image_size: side length of the square input.
        mean: per-channel mean subtracted inside the model.
        std: per-channel standard deviation divided inside the model.
    """

    image_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if isinstance(self.image_size, bool) or int(self.image_size) != self.image_size:
            raise ValueError(f"image_size must be an integer, got {self.image_size!r}")
        if not 1 <= self.image_size <= MAX_IMAGE_SIZE:
            raise ValueError(f"image_size must lie in [1, {MAX_IMAGE_SIZE}], got {self.image_size}")
        mean = tuple(float(v) for v in self.mean)
        std = tuple(float(v) for v in self.std)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std need 3 values (RGB), got {mean} and {std}")
        if not all(math.isfinite(v) for v in mean + std):
            raise ValueError(f"mean and std must be finite, got {mean} and {std}")
        if not all(s > 0 for s in std):
            raise ValueError(f"std values must be positive, got {std}")
        object.__setattr__(self, "image_size", int(self.image_size))
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSpec:
        """Build from :meth:`to_dict` output.

        Raises:
            ValueError: a key is missing or a value is invalid.
        """
        try:
            return cls(int(data["image_size"]), tuple(data["mean"]), tuple(data["std"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"invalid input spec {dict(data)!r}: {exc}") from exc


@runtime_checkable
class Encoder(Protocol):
    """An encoder: ``forward(x)`` maps ``(B, 3, H, W)`` to ``(B, num_features, h, w)``.

    Any ``nn.Module`` with an integer ``num_features`` attribute and that forward qualifies
    (see :func:`disentangle_fas.encoders.create_encoder`).
    """

    num_features: int

    def __call__(self, x: Tensor) -> Tensor:
        """Return the last feature map ``(B, num_features, h, w)``."""
        ...


@runtime_checkable
class StemmedEncoder(Encoder, Protocol):
    """An encoder whose first layer (``stem``) can be one module shared by several encoders.

    ``forward(x) == forward_trunk(stem(x))``; a set of encoders sharing one stem runs it once.
    """

    stem: nn.Module

    def forward_trunk(self, h: Tensor) -> Tensor:
        """Run everything after the stem on the stem's output ``h``."""
        ...


class LogitHead(Protocol):
    """A classifier head with ``logits(features) -> (B, 2)``; class 1 is live."""

    def logits(self, features: Tensor) -> Tensor:
        """Return ``(B, num_classes)`` logits (softmax gives the class probabilities)."""
        ...


class LivenessPath(nn.Module):
    """The inference path of a liveness model: normalise, encode, embed, classify.

    The modules are the model's own (shared, not copied), so gradients and hooks on them
    reach the model. Grad-CAM hooks layers of ``encoder``; ONNX export traces this module.

    Args:
        encoder: the liveness encoder (an :class:`Encoder`).
        head: the classifier, with ``logits(features) -> (B, 2)`` (:class:`LogitHead`).
        normalize: input normalisation (images enter in ``[0, 1]``); ``None`` for none.
        embedding: an optional module between the encoder and the head.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - :meth:`forward`: ``(B, 2)`` logits; :meth:`live_score`: ``(B,)`` P(live).
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module,
        normalize: nn.Module | None = None,
        *,
        embedding: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not callable(getattr(head, "logits", None)):
            raise TypeError(f"the head ({type(head).__name__}) must have logits(features)")
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.encoder = encoder
        self.embedding = embedding if embedding is not None else nn.Identity()
        self.head = head

    def features(self, images: Tensor) -> Tensor:
        """Return what the head sees: the embedding of the encoder's map (or the map)."""
        out: Tensor = self.embedding(self.encoder(self.normalize(images)))
        return out

    def classify(self, features: Tensor) -> Tensor:
        """Return the head's ``(B, 2)`` logits for :meth:`features` output."""
        head = cast(LogitHead, self.head)
        return head.logits(features)

    def forward(self, images: Tensor) -> Tensor:
        """Return ``(B, 2)`` logits; shapes in the class docstring."""
        return self.classify(self.features(images))

    def live_score(self, images: Tensor) -> Tensor:
        """Return ``(B,)`` P(live) = ``softmax(logits)[:, 1]``."""
        return torch.softmax(self(images), dim=1)[:, 1]


class LivenessModel(nn.Module, ABC):
    """Base class of every model the harness trains, saves, scores, exports and explains.

    A subclass implements :meth:`liveness_path` and :attr:`input_spec`; the other methods
    have defaults built on them. Custom models may derive from this class to get
    evaluation, :class:`~disentangle_fas.inference.LivenessDetector`, ONNX export, Grad-CAM
    and probes for free.

    Shape:
        - :meth:`live_score`: ``(B, 3, H, W)`` in ``[0, 1]`` to ``(B,)`` P(live).
    """

    @property
    @abstractmethod
    def input_spec(self) -> InputSpec | None:
        """The expected input (size and normalisation); ``None`` when unknown."""

    @abstractmethod
    def liveness_path(self) -> LivenessPath:
        """The sub-module used at inference (shares the model's parameters)."""

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live) for ``(B, 3, H, W)`` images in ``[0, 1]``, shape ``(B,)``."""
        return self.liveness_path().live_score(images)

    def liveness_only(self) -> LivenessModel:
        """Return the smallest model with the same :meth:`live_score` (default: ``self``).

        Models with training-only branches (the paper's E_C, E_D, C_D, D_C) return a copy
        holding the inference path only; it is what :func:`save_liveness_model` writes.
        """
        return self

    def representations(self, images: Tensor) -> dict[str, Tensor]:
        """Pooled representations by name, for probes: ``{"liveness": (B, d), ...}``.

        The default returns the liveness path's features (pooled when a map).
        """
        return {"liveness": pool_map(self.liveness_path().features(images))}


class Losses(NamedTuple):
    """The total loss of a step and every term (``terms`` has ``as_floats()`` for logs)."""

    total: Tensor
    terms: Any


@runtime_checkable
class TrainingMethod(Protocol):
    """What the training loop needs from a method: a model and the objective that trains it.

    The two attributes may be plain attributes or properties. A method that draws from
    random streams of its own (e.g. augmented views) may also have ``generators``, a
    ``dict[str, torch.Generator]``: the loop saves their states with the training state
    and restores them on resume, so a resumed run draws what an uninterrupted one would.
    Draws from torch's global generator (dropout, ``torch.randperm``) are restored too.

    Each step the loop zeroes the gradients, calls :func:`compute_gradients` (the method's
    ``backward`` when it has one, else :func:`loss_backward`: :meth:`loss` then one
    backward pass), clips the gradients, takes the optimizer step and calls
    :meth:`after_step`. A method whose gradient is not that of one loss (a sharpness-aware
    ascent, per-domain gradients) defines ``backward`` with :func:`loss_backward`'s
    signature: it leaves the step's gradient in the parameters' ``.grad`` and returns the
    step's :class:`Losses`, and it restores any weights it perturbed. The library's method
    bases define ``backward`` as :func:`loss_backward`.
    """

    @property
    def model(self) -> LivenessModel:
        """The :class:`LivenessModel` that is trained, checkpointed and evaluated."""
        ...

    @property
    def uses_content(self) -> bool:
        """Whether :meth:`loss` needs a content target (the loop then asks the task's
        content target provider for one).
        """
        ...

    def loss(
        self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
        content_target: Tensor | None, progress: float,
    ) -> Losses:  # fmt: skip
        """Forward ``images`` through ``step_model`` (the model, possibly wrapped by DDP or
        ``torch.compile``) and return the loss.

        Args:
            step_model: call this, not ``self.model``, so that wrappers take effect.
            images: ``(B, 3, H, W)`` in ``[0, 1]`` on the training device.
            labels: ``(B,)`` 1 live, 0 spoof.
            domains: ``(B,)`` source-domain indices.
            content_target: ``(B, C, h, w)`` or ``None``.
            progress: fraction of training done, in ``[0, 1)``.
        """
        ...

    def after_step(self, progress: float) -> None:
        """Called after every optimizer step (e.g. a projection of the heads' weights)."""
        ...


#: A context factory the loop wraps around forwards (bf16 autocast on CUDA, else nothing).
Autocast = Callable[[], AbstractContextManager[Any]]


def loss_backward(
    method: TrainingMethod,
    step_model: nn.Module,
    images: Tensor,
    labels: Tensor,
    domains: Tensor,
    content_target: Tensor | None,
    progress: float,
    *,
    autocast: Autocast = nullcontext,
) -> Losses:
    """The gradient of one loss: ``method.loss(...)`` under ``autocast``, then one backward
    pass (outside it); the arguments are :meth:`TrainingMethod.loss`'s.

    Returns:
        The step's :class:`Losses`; the gradient is accumulated into ``.grad``.
    """
    with autocast():
        losses = method.loss(step_model, images, labels, domains, content_target, progress)
    losses.total.backward()  # type: ignore[no-untyped-call]
    return losses


def compute_gradients(
    method: TrainingMethod,
    step_model: nn.Module,
    images: Tensor,
    labels: Tensor,
    domains: Tensor,
    content_target: Tensor | None,
    progress: float,
    *,
    autocast: Autocast = nullcontext,
) -> Losses:
    """One training step's gradient by ``method``'s rule: its ``backward`` when it defines
    one (a method that owns its step), else :func:`loss_backward`.

    Returns:
        The step's :class:`Losses`; the gradient is in the parameters' ``.grad``.
    """
    owned = getattr(method, "backward", None)
    rule = owned if callable(owned) else partial(loss_backward, method)
    losses: Losses = rule(
        step_model, images, labels, domains, content_target, progress, autocast=autocast
    )
    return losses
