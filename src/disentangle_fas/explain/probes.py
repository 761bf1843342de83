"""Linear probes: how much of a label can a linear classifier read from frozen features?

A probe is a multinomial logistic regression on standardised features, fitted in float64
with full-batch L-BFGS on the mean cross-entropy plus ``l2 / 2 * |W|^2`` (the bias is not
penalised; the same objective as scikit-learn's ``LogisticRegression(C=1 / (l2 * N))``).
It is trained on one part of the samples and scored on the rest (stratified split).
The optimisation is small and runs on one CPU thread (``torch.set_num_threads`` is
restored afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.threads import one_torch_thread

__all__ = [
    "DEFAULT_L2",
    "DEFAULT_TEST_FRACTION",
    "LinearProbe",
    "ProbeScore",
    "binary_auc",
    "evaluate_probe",
    "fit_linear_probe",
    "stratified_split",
]

#: Default L2 weight of the probe (on standardised features, mean loss). Small enough for
#: the probe to find any linear signal, large enough to make the optimum unique.
DEFAULT_L2 = 1e-2
#: Default fraction of the samples held out to score the probe.
DEFAULT_TEST_FRACTION = 0.3


def _check_xy(features: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"features must have shape (N, d) with N > 0, got {tuple(features.shape)}")
    y = labels.reshape(-1)
    if y.numel() != features.shape[0]:
        raise ValueError(f"{y.numel()} labels for {features.shape[0]} feature vectors")
    if y.is_floating_point() or y.dtype == torch.bool:
        if y.is_floating_point() and not bool((y == y.round()).all()):
            raise ValueError("labels must be integer class indices")
        y = y.long()
    x = features.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("features contain NaN or infinite values")
    return x, y.detach().cpu().long()


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe: standardisation, then ``softmax(x W + b)``.

    Attributes:
        mean: ``(d,)`` feature means of the training samples.
        std: ``(d,)`` their standard deviations (1 where a feature is constant).
        weight: ``(d, K)``.
        bias: ``(K,)``.
    """

    mean: Tensor
    std: Tensor
    weight: Tensor
    bias: Tensor

    @property
    def num_classes(self) -> int:
        """Number of classes K."""
        return int(self.bias.numel())

    def logits(self, features: Tensor) -> Tensor:
        """Return ``(N, K)`` float64 logits for ``(N, d)`` features."""
        x = features.detach().to(device="cpu", dtype=torch.float64)
        return ((x - self.mean) / self.std) @ self.weight + self.bias

    def predict_proba(self, features: Tensor) -> Tensor:
        """Return ``(N, K)`` class probabilities."""
        return torch.softmax(self.logits(features), dim=1)

    def predict(self, features: Tensor) -> Tensor:
        """Return ``(N,)`` predicted classes."""
        return self.logits(features).argmax(dim=1)


def fit_linear_probe(
    features: Tensor,
    labels: Tensor,
    *,
    num_classes: int | None = None,
    l2: float = DEFAULT_L2,
    max_iter: int = 300,
) -> LinearProbe:
    """Fit a multinomial logistic regression on standardised features.

    Args:
        features: training features.
        labels: class indices ``0 .. K-1``.
        num_classes: K (default: ``labels.max() + 1``, at least 2).
        l2: weight of ``l2 / 2 * |W|^2`` added to the mean cross-entropy (> 0).
        max_iter: L-BFGS iterations.

    Returns:
        The fitted :class:`LinearProbe`.

    Shape:
        - features: ``(N, d)``; labels: ``(N,)``.

    Raises:
        ValueError: bad shapes, labels out of range, or ``l2 <= 0``.
    """
    x, y = _check_xy(features, labels)
    k = max(2, int(y.max()) + 1) if num_classes is None else int(num_classes)
    if int(y.min()) < 0 or int(y.max()) >= k:
        raise ValueError(f"labels must be in [0, {k - 1}], got [{int(y.min())}, {int(y.max())}]")
    if not l2 > 0:
        raise ValueError(f"l2 must be positive, got {l2}")
    mean = x.mean(dim=0)
    std = x.std(dim=0, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    xs = (x - mean) / std
    weight = torch.zeros(x.shape[1], k, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-10,
        tolerance_change=1e-14,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(xs @ weight + bias, y) + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad(), one_torch_thread():
        opt.step(closure)  # type: ignore[no-untyped-call]
    return LinearProbe(mean, std, weight.detach(), bias.detach())


def stratified_split(
    labels: Tensor, test_fraction: float = DEFAULT_TEST_FRACTION, *, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Split indices into train and test parts with the same class proportions.

    Each class with at least two samples puts ``round(n * test_fraction)`` of them
    (at least one, at most ``n - 1``) into the test part; singletons go to training.

    Args:
        labels: ``(N,)`` class labels.
        test_fraction: share of each class held out, in ``(0, 1)``.
        seed: seed of the permutation.

    Returns:
        ``(train_idx, test_idx)``, sorted ``long`` tensors.

    Raises:
        ValueError: ``test_fraction`` outside ``(0, 1)``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    y = labels.reshape(-1).cpu()
    gen = torch.Generator().manual_seed(seed)
    train: list[Tensor] = []
    test: list[Tensor] = []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).reshape(-1)
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        n_test = (
            0
            if idx.numel() < 2
            else min(idx.numel() - 1, max(1, round(idx.numel() * test_fraction)))
        )
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def binary_auc(scores: Tensor, labels: Tensor) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2.

    Args:
        scores: ``(N,)`` higher means class 1.
        labels: ``(N,)`` 0/1.

    Returns:
        The AUC in ``[0, 1]``.

    Raises:
        ValueError: one of the classes is absent.
    """
    s = scores.detach().reshape(-1).double().cpu()
    y = labels.detach().reshape(-1).cpu().bool()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes among the labels")
    # Mid-ranks (average rank of tied values), then the Mann-Whitney statistic.
    _, inverse, counts = torch.unique(s, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    mid = ends - (counts.double() - 1) / 2
    ranks = mid[inverse]
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class ProbeScore:
    """How well a probe reads a label on held-out samples.

    Attributes:
        accuracy: test accuracy.
        chance: accuracy of always answering the most frequent test class.
        balanced_accuracy: mean per-class recall on the test part (chance: 1 / K).
        auc: ROC AUC of P(class 1) for binary labels (chance 0.5), else ``None``.
        num_classes: K, the number of distinct labels.
        n_train: training samples.
        n_test: test samples.
    """

    accuracy: float
    chance: float
    balanced_accuracy: float
    auc: float | None
    num_classes: int
    n_train: int
    n_test: int

    @property
    def balanced_chance(self) -> float:
        """Chance level of :attr:`balanced_accuracy`, ``1 / K``."""
        return 1.0 / self.num_classes


def evaluate_probe(
    features: Tensor,
    labels: Tensor,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    l2: float = DEFAULT_L2,
    seed: int = 0,
    max_iter: int = 300,
) -> ProbeScore:
    """Split, fit a :class:`LinearProbe` on the training part, score it on the test part.

    Labels may be any integers (domain ids need not be contiguous); they are mapped to
    ``0 .. K-1`` in increasing order, so for 0/1 labels the AUC is that of class 1.

    Args:
        features: frozen features.
        labels: class labels.
        test_fraction: see :func:`stratified_split`.
        l2: see :func:`fit_linear_probe`.
        seed: seed of the split.
        max_iter: L-BFGS iterations.

    Returns:
        :class:`ProbeScore`.

    Shape:
        - features: ``(N, d)``; labels: ``(N,)``.

    Raises:
        ValueError: fewer than two classes, or too few samples for a split.
    """
    x, y = _check_xy(features, labels)
    classes, y = torch.unique(y, return_inverse=True)
    k = int(classes.numel())
    if k < 2:
        raise ValueError(f"a probe needs at least two classes, got only {classes.tolist()}")
    train_idx, test_idx = stratified_split(y, test_fraction, seed=seed)
    if test_idx.numel() == 0 or train_idx.numel() == 0:
        raise ValueError(f"too few samples ({y.numel()}) to split into train and test parts")
    probe = fit_linear_probe(x[train_idx], y[train_idx], num_classes=k, l2=l2, max_iter=max_iter)
    y_test = y[test_idx]
    proba = probe.predict_proba(x[test_idx])
    pred = proba.argmax(dim=1)
    counts = torch.bincount(y_test, minlength=k)
    recalls = [
        float((pred[y_test == c] == c).double().mean()) for c in range(k) if int(counts[c]) > 0
    ]
    auc = None
    if k == 2 and int(counts.min()) > 0:
        auc = binary_auc(proba[:, 1], y_test)
    return ProbeScore(
        accuracy=float((pred == y_test).double().mean()),
        chance=float(counts.max()) / float(y_test.numel()),
        balanced_accuracy=sum(recalls) / len(recalls),
        auc=auc,
        num_classes=k,
        n_train=int(train_idx.numel()),
        n_test=int(test_idx.numel()),
    )
