"""The parts of ``disentangle-fas explain`` that pick and draw: which domains, which
Grad-CAM samples, C_L's scores per domain, and the Grad-CAM picture.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.contracts import LivenessModel
from disentangle_fas.explain.gradcam import CamTarget, GradCAMResult, liveness_gradcam
from disentangle_fas.explain.grid import save_gradcam_grid
from disentangle_fas.explain.probes import binary_auc
from disentangle_fas.explain.report import CamSample, DomainScore

if TYPE_CHECKING:
    from disentangle_fas.synthetic import SyntheticFAS

__all__ = [
    "CamPart",
    "Domains",
    "choose_domains",
    "classifier_scores",
    "gradcam_part",
    "pick_cam_samples",
]


def pick_cam_samples(labels: np.ndarray, allowed: np.ndarray, n: int) -> list[int]:
    """Choose ``n`` sample indices among ``allowed``: live and spoof alternately, spread evenly.

    Args:
        labels: ``(N,)`` 1 live / 0 spoof.
        allowed: ``(N,)`` boolean mask of candidates.
        n: how many to pick (fewer when there are fewer candidates).

    Returns:
        Indices, live first, alternating while both classes last.
    """
    pools = [np.flatnonzero(allowed & (labels == c)) for c in (1, 0)]
    want = [min(len(pools[0]), (n + 1) // 2), min(len(pools[1]), n // 2)]
    for i in (0, 1):  # give the other class's shortfall to this class
        want[i] = min(len(pools[i]), n - want[1 - i])
    chosen = [
        pool[np.linspace(0, len(pool) - 1, k).round().astype(int)] if k else pool[:0]
        for pool, k in zip(pools, want, strict=True)
    ]
    out: list[int] = []
    for j in range(max(want)):
        out += [int(c[j]) for c in chosen if j < len(c)]
    return out


def classifier_scores(
    scores: Tensor, labels: Tensor, domains: Tensor, names: Sequence[str], threshold: float
) -> list[DomainScore]:
    """Return C_L's AUC and accuracy per domain and over all samples.

    Args:
        scores: ``(N,)`` P(live).
        labels: ``(N,)`` 1 live / 0 spoof.
        domains: ``(N,)`` domain indices into ``names``.
        names: domain names.
        threshold: decision threshold on P(live).

    Returns:
        One :class:`DomainScore` per domain present, then one for ``"all"``.
    """
    out: list[DomainScore] = []
    groups = [(names[int(d)], domains == d) for d in torch.unique(domains)]
    for name, sel in [*groups, ("all", torch.ones_like(labels, dtype=torch.bool))]:
        s, y = scores[sel], labels[sel]
        auc = binary_auc(s, y) if 0 < int(y.sum()) < int(y.numel()) else None
        acc = float(((s >= threshold).long() == y).double().mean())
        out.append(DomainScore(name, int(y.numel()), auc, acc))
    return out


class Domains(NamedTuple):
    """The synthetic domains the command uses.

    Attributes:
        data: domain codes of the Grad-CAM / classifier data (the sources, then the target).
        sources: the domains the probes are fitted and scored on (the checkpoint's sources;
            every domain of ``data`` when no target is recorded).
        cam: domain codes of the Grad-CAM picture's columns.
        why: a description of the choice.
    """

    data: list[str]
    sources: list[str]
    cam: list[str]
    why: str


def choose_domains(args: argparse.Namespace, info: dict[str, Any]) -> Domains:
    """Which synthetic domains the command uses.

    Args:
        args: the parsed options (``args.domains`` overrides the checkpoint).
        info: the checkpoint's stored information (``sources``, ``target``).

    Returns:
        :class:`Domains`.
    """
    from disentangle_fas.synthetic import DEFAULT_DOMAINS, DOMAINS, resolve_domains

    def codes(items: Sequence[str | int]) -> list[str]:
        return [DOMAINS[g].code for g in resolve_domains(list(items))]

    if args.domains:
        chosen = codes(args.domains)
        return Domains(chosen, chosen, chosen, "the domains given with --domains")
    target = info.get("target")
    if isinstance(target, str):
        try:
            tgt = codes([target])
        except ValueError:
            tgt = []
        if tgt:
            sources = info.get("sources")
            try:
                src = codes(sources) if isinstance(sources, list) else list(DEFAULT_DOMAINS)
            except (ValueError, TypeError):
                src = list(DEFAULT_DOMAINS)
            src = [d for d in src if d != tgt[0]]
            why = f"held-out target domain {tgt[0]} recorded in the checkpoint"
            return Domains(src + tgt, src, tgt, why)
    every = list(DEFAULT_DOMAINS)
    why = "no target domain recorded in the checkpoint: all benchmark domains"
    return Domains(every, every, every, why)


class CamPart(NamedTuple):
    """What the Grad-CAM part returns: the columns, the row names, remarks."""

    samples: list[CamSample]
    layers: list[str]
    notes: list[str]


def gradcam_part(
    args: argparse.Namespace,
    models: Sequence[tuple[str, LivenessModel]],
    data: SyntheticFAS,
    cam_domains: Sequence[str],
    path: Path,
) -> CamPart:
    """Pick samples of ``cam_domains``, compute Grad-CAM per model and layer, draw the grid.

    Args:
        args: the parsed options (``num_samples``, ``cam_target``, ``cam_layer``,
            ``cam_method``).
        models: ``(name, model)``; ``models[0]`` is the explained model, the others are
            drawn below it for comparison.
        data: the rendered samples.
        cam_domains: domain codes the columns are drawn from.
        path: the PNG to write.

    Returns:
        :class:`CamPart`.
    """
    codes = np.array([r.domain for r in data.records])
    picks = pick_cam_samples(data.labels, np.isin(codes, list(cam_domains)), args.num_samples)
    if not picks:
        raise ValueError(f"no samples of the domains {list(cam_domains)} to show")
    images = torch.stack([data[i].image for i in picks])
    labels = torch.as_tensor(data.labels[picks])
    target: CamTarget = labels if args.cam_target == "label" else args.cam_target
    rows: dict[str, Tensor] = {}
    row_scores: dict[str, Tensor] = {}
    results: list[GradCAMResult] = []
    notes: list[str] = []
    size = int(images.shape[-1])
    for name, model in models:
        for layer in args.cam_layer or [None]:
            cam = liveness_gradcam(
                model, images, target=target, target_layer=layer, method=args.cam_method
            )
            h, w = cam.layer_size
            where = layer or "layer4[-1]"
            key = f"{where} ({h}x{w})" if len(models) == 1 else f"{name}: {where} ({h}x{w})"
            rows[key], row_scores[key] = cam.maps, cam.scores
            if h * w == 1:
                notes.append(
                    f"{name}'s {where} is 1x1 at {size} px, so its map is constant (drawn as "
                    "zero); use larger images or an earlier layer (--cam-layer layer3)."
                )
        results.append(cam)
    captions = [str(codes[i]) for i in picks]
    save_gradcam_grid(path, images, rows, scores=row_scores, labels=labels, captions=captions)
    main_cam = results[0]
    samples = [
        CamSample(
            captions[j],
            int(labels[j]),
            float(main_cam.scores[j]),
            int(main_cam.targets[j]),
            tuple(float(r.scores[j]) for r in results[1:]),
        )
        for j in range(len(picks))
    ]
    return CamPart(samples, list(rows), notes)
