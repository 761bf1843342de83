"""The records of a disentanglement measurement: figures over seeds, probe rows,
dependence rows, and the whole measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from disentangle_fas.explain.features import Representation
from disentangle_fas.explain.names import ProbeKind
from disentangle_fas.metrics.uncertainty import t_interval

__all__ = [
    "MEASURE_TARGETS",
    "DependenceRow",
    "DisentanglementMeasure",
    "MeasureRow",
    "MeasureTarget",
    "Metric",
    "Spread",
]

MeasureTarget = Literal["liveness", "domain", "attack"]
Metric = Literal["balanced_accuracy", "auc", "information"]
#: The labels probed, in report order.
MEASURE_TARGETS: tuple[MeasureTarget, ...] = ("liveness", "domain", "attack")
#: Which representation a disentangled model reads each label from (attack types are
#: spoof cues, part of liveness).
HIGH_FROM: dict[MeasureTarget, Representation] = {
    "liveness": "liveness",
    "domain": "domain",
    "attack": "liveness",
}


@dataclass(frozen=True)
class Spread:
    """Values of one figure over seeds, with their mean, standard deviation and 95 %
    t-interval of the mean (``nan`` ends for a single value).

    Example:
        >>> s = Spread((0.8, 0.9))
        >>> round(s.mean, 3), round(s.std, 4)
        (0.85, 0.0707)
    """

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        """The mean."""
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float:
        """The sample standard deviation (0 for one value)."""
        n = len(self.values)
        if n < 2:
            return 0.0
        return math.sqrt(sum((v - self.mean) ** 2 for v in self.values) / (n - 1))

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % t-interval of the mean, ``(low, high)``."""
        ci = t_interval(list(self.values))
        return ci.low, ci.high


@dataclass(frozen=True)
class MeasureRow:
    """One probe: a label read from one representation by one probe kind, one metric.

    Attributes:
        target: ``"liveness"``, ``"domain"`` or ``"attack"``.
        representation: ``"liveness"`` (f_L), ``"content"`` (f_C) or ``"domain"`` (f_D).
        kind: ``"linear"`` or ``"mlp"``.
        metric: ``"balanced_accuracy"``, ``"auc"`` or ``"information"`` (the share of the
            label's uncertainty the probe removes on held-out samples).
        chance: the metric's chance level (``1 / K``, 0.5 or 0).
        trained: the trained representation over probe seeds.
        untrained: the untrained copy's same representation (``None`` without references).
        pixels: the pooled pixels (``None`` without references).
        difference: ``trained - untrained`` per probe seed (paired).
    """

    target: MeasureTarget
    representation: Representation
    kind: ProbeKind
    metric: Metric
    chance: float
    trained: Spread
    untrained: Spread | None = None
    pixels: Spread | None = None
    difference: Spread | None = None

    @property
    def expected(self) -> str:
        """``"high"`` where a disentangled model carries the label, else ``"chance"``."""
        return "high" if HIGH_FROM[self.target] == self.representation else "chance"

    @property
    def verdict(self) -> str:
        """``"below untrained"`` when the difference's interval lies below 0 (one seed: the
        difference is negative), ``"not below"`` otherwise, ``"–"`` without references.
        """
        if self.difference is None:
            return "–"
        d = self.difference
        high = d.mean if len(d.values) < 2 else d.interval[1]
        return "below untrained" if high < 0 else "not below"


@dataclass(frozen=True)
class DependenceRow:
    """Kernel dependence of a representation with the domain labels, or of two
    representations.

    Attributes:
        name: e.g. ``"f_L ~ domain"`` or ``"f_L ~ f_C"``.
        cka: :func:`kernel_cka` of the trained model's features.
        hsic: the un-normalised HSIC of the same.
        untrained_cka: the same pair on the untrained copy (``None`` without references).
        pixels_cka: the pooled pixels with the domain labels (domain rows only).
    """

    name: str
    cka: float
    hsic: float
    untrained_cka: float | None = None
    pixels_cka: float | None = None


@dataclass(frozen=True)
class DisentanglementMeasure:
    """Everything measured on one model (see the module docstring).

    Attributes:
        rows: the probes, by label, representation, kind and metric.
        dependence: the kernel dependences.
        notes: what was skipped and why.
        n_train: train samples; n_val: held-out samples; seeds: the probe seeds.
        kernel_samples: held-out samples the kernel measures use.
        seconds: wall time of the measurement.
    """

    rows: tuple[MeasureRow, ...]
    dependence: tuple[DependenceRow, ...]
    notes: tuple[str, ...]
    n_train: int
    n_val: int
    seeds: tuple[int, ...]
    kernel_samples: int
    seconds: float = 0.0

    def get(
        self,
        target: MeasureTarget,
        representation: Representation,
        kind: ProbeKind = "linear",
        metric: Metric = "balanced_accuracy",
    ) -> MeasureRow | None:
        """The row of one probe, or ``None`` when it was not run."""
        for r in self.rows:
            if (r.target, r.representation, r.kind, r.metric) == (
                target,
                representation,
                kind,
                metric,
            ):
                return r
        return None
