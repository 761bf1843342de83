"""Disentanglement in numbers: linear probes of liveness and domain on f_L, f_C and f_D.

For a well disentangled model a linear probe reads liveness from f_L but not from f_C
or f_D, and reads the domain from f_D but not from f_L or f_C. "Not" means: near the
chance level, which the table prints beside every number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from disentangle_fas.explain.features import SYMBOLS, PooledFeatures, Representation
from disentangle_fas.explain.probes import (
    DEFAULT_L2,
    DEFAULT_TEST_FRACTION,
    ProbeScore,
    evaluate_probe,
)

__all__ = [
    "DisentanglementProbes",
    "ProbeRow",
    "ProbeTarget",
    "expected_level",
    "probe_disentanglement",
]

ProbeTarget = Literal["liveness", "domain"]

#: Which representation should carry which label in a disentangled model.
_EXPECT_HIGH: dict[ProbeTarget, Representation] = {"liveness": "liveness", "domain": "domain"}


def expected_level(target: ProbeTarget, representation: Representation) -> str:
    """What a disentangled model shows when ``target`` is read from ``representation``.

    Returns:
        ``"high"`` (liveness from f_L, domain from f_D) or ``"chance"`` (everything else).
    """
    return "high" if _EXPECT_HIGH[target] == representation else "chance"


@dataclass(frozen=True)
class ProbeRow:
    """One probe: a label read from one representation.

    Attributes:
        target: the label probed (``"liveness"`` or ``"domain"``).
        representation: the features probed (``"liveness"``, ``"content"``, ``"domain"``).
        score: the held-out result.
    """

    target: ProbeTarget
    representation: Representation
    score: ProbeScore

    @property
    def expected(self) -> str:
        """``"high"`` when a disentangled model should carry the label here, else ``"chance"``."""
        return expected_level(self.target, self.representation)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.1f}"


@dataclass(frozen=True)
class DisentanglementProbes:
    """All probes of one model on one set of samples.

    Attributes:
        rows: the probes, liveness probes first.
        notes: why a probe is missing (e.g. a single domain, or no E_C in the model).
    """

    rows: tuple[ProbeRow, ...]
    notes: tuple[str, ...] = ()

    def get(self, target: ProbeTarget, representation: Representation) -> ProbeScore | None:
        """Return the score of one probe, or ``None`` when it was not run."""
        for row in self.rows:
            if row.target == target and row.representation == representation:
                return row.score
        return None

    def to_markdown(self) -> str:
        """Render a Markdown table (percentages) with chance levels and notes."""
        lines = [
            "| label probed | features | accuracy | chance (majority) | balanced acc. "
            "| chance (1/K) | AUC (chance 50) | disentangled model | train / test |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for r in self.rows:
            s = r.score
            lines.append(
                f"| {r.target} ({s.num_classes} classes) | {SYMBOLS[r.representation]} "
                f"| {_pct(s.accuracy)} | {_pct(s.chance)} | {_pct(s.balanced_accuracy)} "
                f"| {_pct(s.balanced_chance)} | {_pct(s.auc)} | {r.expected} "
                f"| {s.n_train} / {s.n_test} |"
            )
        text = "\n".join(lines)
        if self.notes:
            text += "\n\n" + "\n".join(f"- {n}" for n in self.notes)
        return text + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def probe_disentanglement(
    features: PooledFeatures,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    l2: float = DEFAULT_L2,
    seed: int = 0,
) -> DisentanglementProbes:
    """Probe liveness and domain from every representation the model has.

    Args:
        features: pooled features with labels and domains
            (:func:`~disentangle_fas.explain.extract_features`).
        test_fraction: share of the samples held out to score each probe.
        l2: probe regularisation (see :func:`~disentangle_fas.explain.fit_linear_probe`).
        seed: seed of the train/test split (the same split for every representation).

    Returns:
        :class:`DisentanglementProbes`; probes of a label with a single value are left
        out and explained in ``notes``.
    """
    reps = features.available()
    rows: list[ProbeRow] = []
    notes: list[str] = []
    missing = [SYMBOLS[n] for n in ("content", "domain") if getattr(features, n) is None]
    if missing:
        notes.append(f"the model has no {' / '.join(missing)}: only its representations are probed")
    targets: tuple[tuple[ProbeTarget, Tensor], ...] = (
        ("liveness", features.labels),
        ("domain", features.domains),
    )
    for target, values in targets:
        if int(torch.unique(values).numel()) < 2:
            notes.append(f"{target} probes skipped: all samples share one {target} value")
            continue
        for name, feats in reps:
            score = evaluate_probe(feats, values, test_fraction=test_fraction, l2=l2, seed=seed)
            rows.append(ProbeRow(target, name, score))
    return DisentanglementProbes(tuple(rows), tuple(notes))
