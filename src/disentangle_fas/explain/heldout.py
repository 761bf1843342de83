"""Probes fitted on one set of samples and scored on another (source-train -> source-val).

Two probe kinds read a label from frozen features:

* ``"linear"``: the multinomial logistic regression of
  :func:`~disentangle_fas.explain.fit_linear_probe`;
* ``"mlp"``: :func:`fit_mlp_probe`, one hidden layer of ReLU units on standardised features,
  fitted in float64 with full-batch L-BFGS on the mean cross-entropy plus
  ``l2 / 2 * (|W1|^2 + |W2|^2)``, from a seeded initialisation (deterministic given the
  seed on one thread).

:func:`score_heldout` fits a probe on the training features and scores it on the
held-out ones only: balanced accuracy (mean per-class recall, chance ``1 / K``) and ROC
AUC (one-vs-rest, macro over the classes present, chance 0.5; for two classes the AUC of
class 1), and the share of the label's uncertainty the probe removes on held-out data
(:func:`usable_information`: one minus the ratio of the probe's held-out cross-entropy to
that of the constant prediction of the training part's class frequencies; chance 0,
negative when the probe predicts worse than that constant). A probe seed draws a
stratified bootstrap resample of the training features (and the MLP's initialisation), so
repeating a probe over seeds gives an interval of how much the figure depends on which
samples it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.explain.names import PROBE_KINDS, ProbeKind
from disentangle_fas.explain.probes import DEFAULT_L2, binary_auc, fit_linear_probe
from disentangle_fas.threads import one_torch_thread

__all__ = [
    "PROBE_KINDS",
    "HeldOutScore",
    "MLPProbe",
    "ProbeKind",
    "balanced_accuracy",
    "fit_mlp_probe",
    "macro_auc",
    "score_heldout",
    "stratified_bootstrap",
    "usable_information",
]

#: Hidden units of the MLP probe.
DEFAULT_HIDDEN = 32


def _standardise(x: Tensor) -> tuple[Tensor, Tensor]:
    mean = x.mean(dim=0)
    std = x.std(dim=0, unbiased=False)
    return mean, torch.where(std > 1e-12, std, torch.ones_like(std))


@dataclass(frozen=True)
class MLPProbe:
    """A fitted one-hidden-layer probe: standardise, ``relu(x W1 + b1) W2 + b2``.

    Attributes:
        mean: ``(d,)`` training feature means.
        std: ``(d,)`` their standard deviations (1 where constant).
        w1: ``(d, h)``; b1: ``(h,)``; w2: ``(h, K)``; b2: ``(K,)``.
    """

    mean: Tensor
    std: Tensor
    w1: Tensor
    b1: Tensor
    w2: Tensor
    b2: Tensor

    def logits(self, features: Tensor) -> Tensor:
        """Return ``(N, K)`` float64 logits of ``(N, d)`` features."""
        x = (features.detach().to("cpu", torch.float64) - self.mean) / self.std
        return torch.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2

    def predict_proba(self, features: Tensor) -> Tensor:
        """Return ``(N, K)`` class probabilities."""
        return torch.softmax(self.logits(features), dim=1)


def fit_mlp_probe(
    features: Tensor,
    labels: Tensor,
    *,
    num_classes: int,
    hidden: int = DEFAULT_HIDDEN,
    l2: float = DEFAULT_L2,
    max_iter: int = 100,
    seed: int = 0,
) -> MLPProbe:
    """Fit a one-hidden-layer ReLU probe (see the module docstring).

    Args:
        features: ``(N, d)`` training features.
        labels: ``(N,)`` class indices ``0 .. num_classes - 1``.
        num_classes: K.
        hidden: hidden units.
        l2: weight decay of both weight matrices (> 0).
        max_iter: L-BFGS iterations.
        seed: seed of the initialisation (uniform in ``+-1/sqrt(fan_in)``, as torch's
            ``nn.Linear``).

    Returns:
        The fitted :class:`MLPProbe`.

    Raises:
        ValueError: bad shapes, labels out of range, ``hidden < 1`` or ``l2 <= 0``.
    """
    x = features.detach().to("cpu", torch.float64)
    y = labels.detach().reshape(-1).cpu().long()
    if x.ndim != 2 or x.shape[0] != y.numel() or x.shape[0] == 0:
        raise ValueError(
            f"features (N, d) and labels (N,) needed, got {tuple(x.shape)}, {y.numel()}"
        )
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes - 1}]")
    if hidden < 1 or not l2 > 0:
        raise ValueError(f"need hidden >= 1 and l2 > 0, got {hidden} and {l2}")
    mean, std = _standardise(x)
    xs = (x - mean) / std
    gen = torch.Generator().manual_seed(seed)
    d = x.shape[1]

    def uniform(shape: tuple[int, ...], fan_in: int) -> Tensor:
        bound = fan_in**-0.5
        t: Tensor = (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        return t.requires_grad_(True)

    w1, b1 = uniform((d, hidden), d), uniform((hidden,), d)
    w2, b2 = uniform((hidden, num_classes), hidden), uniform((num_classes,), hidden)
    opt = torch.optim.LBFGS(
        [w1, b1, w2, b2],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        opt.zero_grad()
        logits = torch.relu(xs @ w1 + b1) @ w2 + b2
        loss = F.cross_entropy(logits, y) + 0.5 * l2 * (w1.pow(2).sum() + w2.pow(2).sum())
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad(), one_torch_thread():
        opt.step(closure)  # type: ignore[no-untyped-call]
    return MLPProbe(mean, std, w1.detach(), b1.detach(), w2.detach(), b2.detach())


def balanced_accuracy(pred: Tensor, labels: Tensor) -> float:
    """Mean recall over the classes present in ``labels``.

    Args:
        pred: ``(N,)`` predicted classes.
        labels: ``(N,)`` true classes.

    Example:
        >>> balanced_accuracy(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1]))
        0.8333333333333333
    """
    y = labels.reshape(-1)
    recalls = [float((pred[y == c] == c).double().mean()) for c in torch.unique(y)]
    return sum(recalls) / len(recalls)


def macro_auc(proba: Tensor, labels: Tensor) -> float | None:
    """ROC AUC of class probabilities: for two classes the AUC of class 1, else the mean
    over the classes present of the one-vs-rest AUC of ``proba[:, c]`` (scikit-learn's
    ``roc_auc_score(multi_class="ovr", average="macro")`` when every class is present).

    Args:
        proba: ``(N, K)`` class probabilities.
        labels: ``(N,)`` classes in ``0 .. K-1``.

    Returns:
        The AUC, or ``None`` when fewer than two classes are present.
    """
    y = labels.reshape(-1)
    present = [int(c) for c in torch.unique(y)]
    if len(present) < 2:
        return None
    if proba.shape[1] == 2:
        return binary_auc(proba[:, 1], y == 1)
    aucs = [binary_auc(proba[:, c], y == c) for c in present]
    return sum(aucs) / len(aucs)


def usable_information(proba: Tensor, labels: Tensor, prior: Tensor) -> float:
    """The share of a label's uncertainty a probe removes on held-out samples.

    ``1 - CE(probe) / CE(prior)``, where ``CE`` is the mean held-out cross-entropy (nats)
    of the probe's class probabilities and of the constant prediction ``prior`` (the class
    frequencies of the probe's training part). It is the predictive V-information of Xu et
    al. ("A Theory of Usable Information under Computational Constraints", ICLR 2020)
    estimated on held-out samples, as a share of the label's V-entropy: 0 when the probe
    predicts no better than the prior, 1 when it is certain and right, and negative when
    it predicts worse than the prior (a probe that overfits noise). Unlike accuracy, it
    is built on a convex loss (the cross-entropy), the kind LEACE's guarantee covers.

    Args:
        proba: ``(N, K)`` the probe's class probabilities.
        labels: ``(N,)`` classes ``0 .. K-1``.
        prior: ``(K,)`` class probabilities of the constant prediction (all positive for
            the classes in ``labels``).

    Returns:
        The share, a float at most 1.

    Example:
        >>> prior = torch.tensor([0.5, 0.5])
        >>> y = torch.tensor([0, 1])
        >>> usable_information(prior.expand(2, 2), y, prior)
        0.0
        >>> round(usable_information(torch.tensor([[0.9, 0.1], [0.1, 0.9]]), y, prior), 3)
        0.848
    """
    y = labels.reshape(-1).long()
    tiny = torch.finfo(torch.float64).tiny
    ce = -proba.double()[torch.arange(y.numel()), y].clamp_min(tiny).log().mean()
    ce_prior = -prior.double()[y].clamp_min(tiny).log().mean()
    if float(ce_prior) <= 0.0:
        raise ValueError("the prior predicts the held-out labels with certainty")
    return float(1.0 - ce / ce_prior)


def stratified_bootstrap(labels: Tensor, *, seed: int) -> Tensor:
    """Indices of a bootstrap resample drawn within each class (every class keeps its count).

    Args:
        labels: ``(N,)`` classes.
        seed: the resample's seed.

    Returns:
        ``(N,)`` long indices, grouped by class.
    """
    y = labels.reshape(-1).cpu()
    gen = torch.Generator().manual_seed(seed)
    parts = []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).reshape(-1)
        parts.append(idx[torch.randint(idx.numel(), (idx.numel(),), generator=gen)])
    return torch.cat(parts)


@dataclass(frozen=True)
class HeldOutScore:
    """A probe fitted on the training features and scored on held-out ones.

    Attributes:
        balanced_accuracy: mean per-class recall on the held-out part (chance ``1 / K``).
        auc: ROC AUC on the held-out part (see :func:`macro_auc`; chance 0.5).
        information: the share of the label's uncertainty the probe removes on the
            held-out part (see :func:`usable_information`; chance 0).
        num_classes: K, the classes of the training part.
        n_train: training samples; n_val: held-out samples.
    """

    balanced_accuracy: float
    auc: float | None
    num_classes: int
    n_train: int
    n_val: int
    information: float = float("nan")

    @property
    def chance(self) -> float:
        """Chance level of :attr:`balanced_accuracy`, ``1 / K``."""
        return 1.0 / self.num_classes


def score_heldout(
    train_features: Tensor,
    train_labels: Tensor,
    val_features: Tensor,
    val_labels: Tensor,
    *,
    kind: ProbeKind = "linear",
    seed: int | None = 0,
    l2: float = DEFAULT_L2,
    max_iter: int = 100,
) -> HeldOutScore:
    """Fit a probe on the training features, score it on the held-out features only.

    Labels are mapped to ``0 .. K-1`` by the classes of the training part; held-out
    samples of a class the training part lacks are left out.

    Args:
        train_features: ``(N, d)`` features the probe is fitted on.
        train_labels: ``(N,)`` their classes.
        val_features: ``(M, d)`` held-out features the probe is scored on.
        val_labels: ``(M,)`` their classes.
        kind: ``"linear"`` or ``"mlp"``.
        seed: the stratified bootstrap resample of the training part and the MLP's
            initialisation; ``None`` fits on the training part as it is (MLP seed 0).
        l2: the probe's weight decay.
        max_iter: L-BFGS iterations of the fit.

    Returns:
        :class:`HeldOutScore`.

    Raises:
        ValueError: fewer than two training classes, an unknown kind, or no held-out
            sample of a training class.
    """
    if kind not in PROBE_KINDS:
        raise ValueError(f"unknown probe kind {kind!r}: choose from {list(PROBE_KINDS)}")
    classes, y_train = torch.unique(train_labels.reshape(-1).cpu().long(), return_inverse=True)
    if classes.numel() < 2:
        raise ValueError(f"a probe needs at least two classes, got {classes.tolist()}")
    y_val_raw = val_labels.reshape(-1).cpu().long()
    keep = torch.isin(y_val_raw, classes)
    if not bool(keep.any()):
        raise ValueError("no held-out sample belongs to a class of the training part")
    y_val = torch.searchsorted(classes, y_val_raw[keep])
    x_val = val_features.detach().cpu()[keep]
    x_train = train_features.detach().cpu()
    if seed is not None:
        idx = stratified_bootstrap(y_train, seed=seed)
        x_train, y_train = x_train[idx], y_train[idx]
    k = int(classes.numel())
    prior = torch.bincount(y_train, minlength=k).double() / y_train.numel()
    if kind == "linear":
        probe = fit_linear_probe(x_train, y_train, num_classes=k, l2=l2, max_iter=max_iter)
        proba = probe.predict_proba(x_val)
    else:
        mlp = fit_mlp_probe(
            x_train, y_train, num_classes=k, l2=l2, max_iter=max_iter, seed=seed or 0
        )
        proba = mlp.predict_proba(x_val)
    return HeldOutScore(
        balanced_accuracy=balanced_accuracy(proba.argmax(dim=1), y_val),
        auc=macro_auc(proba, y_val),
        num_classes=k,
        n_train=int(y_train.numel()),
        n_val=int(y_val.numel()),
        information=usable_information(proba, y_val, prior),
    )
