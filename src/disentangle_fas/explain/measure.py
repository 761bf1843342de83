"""Measured disentanglement: how much liveness, domain and attack-type information each
representation carries, beside the same measure on two references.

For a model exposing representations (``model.representations(images)``: f_L, and f_C /
f_D where the model has them), :func:`measure_disentanglement`

1. extracts pooled features on the source-*train* samples and on held-out source-*val*
   samples, for the trained model, for its untrained copy
   (:func:`~disentangle_fas.explain.references.untrained_copy`) and for the images pooled
   to 8 x 8 (:func:`~disentangle_fas.explain.references.pixel_features`);
2. fits probes (``"linear"`` and ``"mlp"``, :func:`~disentangle_fas.explain.heldout.score_heldout`)
   on the train features and scores them on the val features only, once per probe seed
   (a stratified bootstrap resample of the train features, the same resample for the
   model and its references), for the labels liveness, domain and attack type (among the
   spoof samples, where at least two attack types are present);
3. measures the kernel dependence (:func:`kernel_cka`, normalised HSIC with Gaussian
   kernels) between each representation and the one-hot domain labels, and between pairs
   of representations.

A probe of the trained representation is *below untrained* when the 95 % t-interval of
its paired difference to the untrained copy over probe seeds lies below zero (with one
seed: when the difference is negative): "removed" means below the untrained encoder, not
near chance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.contracts import LivenessModel
from disentangle_fas.explain.dependence import dependence_rows, kernel_cka
from disentangle_fas.explain.features import (
    SYMBOLS,
    PooledFeatures,
    Representation,
    extract_features,
)
from disentangle_fas.explain.heldout import HeldOutScore, score_heldout
from disentangle_fas.explain.measure_types import (
    MEASURE_TARGETS,
    DependenceRow,
    DisentanglementMeasure,
    MeasureRow,
    MeasureTarget,
    Metric,
    Spread,
)
from disentangle_fas.explain.names import PROBE_KINDS, ProbeKind
from disentangle_fas.explain.references import pixel_features, untrained_copy
from disentangle_fas.types import FASSample

__all__ = [
    "MEASURE_TARGETS",
    "DependenceRow",
    "DisentanglementMeasure",
    "FeaturePair",
    "MeasureRow",
    "MeasureTarget",
    "Metric",
    "Spread",
    "kernel_cka",
    "measure_disentanglement",
    "measure_features",
]

#: ``(train, val)`` features of one source (the model, its untrained copy, the pixels).
FeaturePair = tuple[PooledFeatures, PooledFeatures]


def _labels(feats: PooledFeatures, target: MeasureTarget) -> tuple[Tensor, Tensor] | None:
    """``(labels, row selection)`` of a target; attack types among spoof samples only."""
    if target == "liveness":
        return feats.labels, torch.ones_like(feats.labels, dtype=torch.bool)
    if target == "domain":
        return feats.domains, torch.ones_like(feats.domains, dtype=torch.bool)
    if feats.attacks is None:
        return None
    return feats.attacks, feats.attacks > 0


def _slot(feats: PooledFeatures, rep: Representation) -> Tensor | None:
    value: Tensor | None = getattr(feats, rep)
    return value


def _scores(
    pair: FeaturePair, rep: Representation, target: MeasureTarget, kind: ProbeKind, seed: int
) -> HeldOutScore:
    (train, val), out = pair, []
    for part in (train, val):
        labels, sel = _labels(part, target)  # type: ignore[misc]  # checked by the caller
        feats = _slot(part, rep)
        assert feats is not None
        out.append((feats[sel], labels[sel]))
    return score_heldout(out[0][0], out[0][1], out[1][0], out[1][1], kind=kind, seed=seed)


def _skip_reason(train: PooledFeatures, val: PooledFeatures, target: MeasureTarget) -> str:
    for name, part in (("train", train), ("val", val)):
        got = _labels(part, target)
        if got is None:
            return f"{target} probes skipped: the {name} samples record no attack types"
        labels, sel = got
        if int(torch.unique(labels[sel]).numel()) < 2:
            what = "spoof samples" if target == "attack" else "samples"
            return f"{target} probes skipped: the {name} {what} hold fewer than two classes"
    return ""


def measure_features(
    train: PooledFeatures,
    val: PooledFeatures,
    *,
    untrained: FeaturePair | None = None,
    pixels: FeaturePair | None = None,
    kinds: Sequence[ProbeKind] = PROBE_KINDS,
    seeds: Sequence[int] = (0, 1, 2),
    kernel_samples: int = 512,
    echo: Callable[[str], None] | None = None,
) -> DisentanglementMeasure:
    """Probe and measure already extracted features (see the module docstring).

    Args:
        train: the model's features on the source-train samples (probes are fitted here).
        val: its features on held-out source-val samples (probes are scored here).
        untrained: the untrained copy's ``(train, val)`` features.
        pixels: the pooled pixels' ``(train, val)`` features (in the ``liveness`` slot).
        kinds: probe kinds.
        seeds: probe seeds (at least one).
        kernel_samples: held-out samples the kernel measures use (a seeded random subset).
        echo: where a progress line per label goes.

    Returns:
        :class:`DisentanglementMeasure`.

    Raises:
        ValueError: no seeds, or an unknown probe kind.
    """
    if not seeds:
        raise ValueError("measure_features needs at least one probe seed")
    bad = [k for k in kinds if k not in PROBE_KINDS]
    if bad:
        raise ValueError(f"unknown probe kinds {bad}: choose from {list(PROBE_KINDS)}")
    t0 = time.perf_counter()
    rows: list[MeasureRow] = []
    notes: list[str] = []
    missing = [SYMBOLS[n] for n in ("content", "domain") if _slot(val, n) is None]
    if missing:
        notes.append(
            f"the model has no {' / '.join(missing)}: only its representations are measured"
        )
    for target in MEASURE_TARGETS:
        reason = _skip_reason(train, val, target)
        if reason:
            notes.append(reason)
            continue
        if echo is not None:
            echo(f"  probing {target} ({', '.join(kinds)}; {len(seeds)} seeds)")
        pixel_scores: dict[ProbeKind, list[HeldOutScore]] = {}
        if pixels is not None:  # one pixel reference serves every representation
            for kind in kinds:
                pixel_scores[kind] = [_scores(pixels, "liveness", target, kind, s) for s in seeds]
        for rep, _ in val.available():
            for kind in kinds:
                got = {"trained": [_scores((train, val), rep, target, kind, s) for s in seeds]}
                if untrained is not None and _slot(untrained[1], rep) is not None:
                    got["untrained"] = [_scores(untrained, rep, target, kind, s) for s in seeds]
                if kind in pixel_scores:
                    got["pixels"] = pixel_scores[kind]
                rows += _rows(target, rep, kind, got)
    dependence = dependence_rows(
        val, None if untrained is None else untrained[1], None if pixels is None else pixels[1],
        kernel_samples,
    )  # fmt: skip
    return DisentanglementMeasure(
        tuple(rows),
        tuple(dependence),
        tuple(notes),
        int(train.labels.numel()),
        int(val.labels.numel()),
        tuple(seeds),
        min(kernel_samples, int(val.labels.numel())),
        time.perf_counter() - t0,
    )


def _rows(
    target: MeasureTarget, rep: Representation, kind: ProbeKind, got: dict[str, list[HeldOutScore]]
) -> list[MeasureRow]:
    out = []
    metrics: tuple[Metric, ...] = ("balanced_accuracy", "auc", "information")
    for metric in metrics:
        per: dict[str, list[float]] = {}
        for source, scores in got.items():
            vals = [getattr(s, metric) for s in scores]
            if all(v is not None for v in vals):
                per[source] = [float(v) for v in vals]
        if "trained" not in per:
            continue
        chance = {"balanced_accuracy": got["trained"][0].chance, "auc": 0.5}.get(metric, 0.0)
        base = per.get("untrained")
        diff = (
            None
            if base is None
            else Spread(tuple(a - b for a, b in zip(per["trained"], base, strict=True)))
        )
        out.append(
            MeasureRow(
                target, rep, kind, metric, chance, Spread(tuple(per["trained"])),
                None if base is None else Spread(tuple(base)),
                Spread(tuple(per["pixels"])) if "pixels" in per else None,
                diff,
            )
        )  # fmt: skip
    return out


def measure_disentanglement(
    model: LivenessModel,
    train_data: Dataset[FASSample] | Iterable[FASSample],
    val_data: Dataset[FASSample] | Iterable[FASSample],
    *,
    references: bool = True,
    kinds: Sequence[ProbeKind] = PROBE_KINDS,
    seeds: Sequence[int] = (0, 1, 2),
    untrained_seed: int = 0,
    kernel_samples: int = 512,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    echo: Callable[[str], None] | None = None,
) -> DisentanglementMeasure:
    """Measure how much liveness, domain and attack-type information each of ``model``'s
    representations carries, beside its untrained copy and the pixels.

    Works for any :class:`~disentangle_fas.contracts.LivenessModel`: the paper's model
    (f_L, f_C, f_D by variant), SSDG-R, SSAN-R, SA-FAS, GAC-FAS or a custom model (whatever
    ``representations`` returns).

    Args:
        model: the trained model (left unchanged).
        train_data: source-train samples (the probes are fitted on them).
        val_data: held-out source-val samples (the probes are scored on them).
        references: also measure the untrained copy and the pooled pixels.
        kinds: probe kinds (``"linear"``, ``"mlp"``).
        seeds: probe seeds.
        untrained_seed: the untrained copy's initialisation seed.
        kernel_samples: held-out samples of the kernel measures.
        batch_size: images per batch of feature extraction.
        device: where the encoders run (default: the model's device).
        echo: where progress lines go.

    Returns:
        :class:`DisentanglementMeasure` (its ``seconds`` include feature extraction).

    Example:
        >>> from disentangle_fas.model import DisentangledFAS
        >>> from disentangle_fas.synthetic import SyntheticFAS
        >>> m = DisentangledFAS.build(num_domains=2, depth=10, image_size=32, warn_random=False)
        >>> tr = SyntheticFAS(["O", "C"], samples_per_domain=8, image_size=32, split="train")
        >>> va = SyntheticFAS(["O", "C"], samples_per_domain=8, image_size=32, split="dev")
        >>> out = measure_disentanglement(m, tr, va, kinds=["linear"], seeds=[0])
        >>> out.get("domain", "liveness").verdict in ("below untrained", "not below")
        True
    """
    t0 = time.perf_counter()
    say = echo or (lambda _line: None)
    say("  extracting features (trained model)")
    train = extract_features(model, train_data, batch_size=batch_size, device=device)
    val = extract_features(model, val_data, batch_size=batch_size, device=device)
    untrained = pixels = None
    if references:
        say("  extracting features (untrained copy, pixels)")
        fresh = untrained_copy(model, seed=untrained_seed)
        untrained = (
            extract_features(fresh, train_data, batch_size=batch_size, device=device),
            extract_features(fresh, val_data, batch_size=batch_size, device=device),
        )
        pixels = (pixel_features(train_data), pixel_features(val_data))
    out = measure_features(
        train, val, untrained=untrained, pixels=pixels, kinds=kinds, seeds=seeds,
        kernel_samples=kernel_samples, echo=echo,
    )  # fmt: skip
    return DisentanglementMeasure(
        out.rows, out.dependence, out.notes, out.n_train, out.n_val, out.seeds,
        out.kernel_samples, time.perf_counter() - t0,
    )  # fmt: skip
