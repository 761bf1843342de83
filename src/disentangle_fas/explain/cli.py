"""``disentangle-fas explain``: Grad-CAM pictures and disentanglement probes of a checkpoint.

Writes into ``--out``: ``gradcam.png`` (Fig. 2-style grid), ``projection_pca.png`` (and
``projection_tsne.png`` with ``--projection tsne|both``), ``probes.json`` and
``report.md``. The data is the built-in synthetic benchmark: Grad-CAM shows the held-out
target domain recorded in the checkpoint (all benchmark domains when none is recorded),
and the probes use the source domains and the target together, since a domain probe
needs several domains. ``--compare`` adds the Grad-CAM rows of other checkpoints (SSDG-R
or an ablation) on the same images, as in the paper's Fig. 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.builders import BUILDER_HELP, builder_option
from disentangle_fas.checkpoint import load_model
from disentangle_fas.contracts import LivenessModel
from disentangle_fas.errors import ArgumentParser, UsageError, command
from disentangle_fas.explain.disentanglement import probe_disentanglement
from disentangle_fas.explain.features import extract_features
from disentangle_fas.explain.gradcam import (
    CAM_METHODS,
    CamTarget,
    GradCAMResult,
    liveness_gradcam,
)
from disentangle_fas.explain.grid import save_gradcam_grid
from disentangle_fas.explain.probes import binary_auc
from disentangle_fas.explain.projection import ProjectionMethod, save_projection_plot
from disentangle_fas.explain.references import reference_probes, reference_table
from disentangle_fas.explain.report import CamSample, DomainScore, ExplainReport

if TYPE_CHECKING:
    from disentangle_fas.synthetic import SyntheticFAS

__all__ = [
    "build_parser",
    "checkpoint_names",
    "classifier_scores",
    "main",
    "pick_cam_samples",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command."""
    p = ArgumentParser(
        prog="disentangle-fas explain",
        description="Grad-CAM maps of the liveness path and linear probes of how well the "
        "liveness, content and domain representations are disentangled.",
    )
    p.add_argument("--checkpoint", required=True, help="a .safetensors model checkpoint")
    p.add_argument("--builder", default=None, metavar="MODULE:FUNCTION", help=BUILDER_HELP)
    p.add_argument("--data", default="synthetic", help="dataset: 'synthetic' (built-in benchmark)")
    p.add_argument("--out", default="explain", help="output folder (default: ./explain)")
    p.add_argument("--num-samples", type=int, default=8, help="columns of the Grad-CAM grid")
    p.add_argument(
        "--probe-samples", type=int, default=100, help="probe samples per domain (default 100)"
    )
    p.add_argument("--image-size", type=int, default=None, help="default: the model's size")
    p.add_argument(
        "--domains",
        nargs="+",
        default=None,
        help="synthetic domain codes to use for both parts (default: from the checkpoint)",
    )
    p.add_argument("--split", default="test", help="synthetic split (default: test)")
    p.add_argument(
        "--cam-target",
        choices=("predicted", "live", "spoof", "label"),
        default="predicted",
        help="class each map explains ('label': the ground truth)",
    )
    p.add_argument(
        "--cam-layer",
        nargs="+",
        default=None,
        help="layer(s) of E_L, one picture row each, e.g. layer4 layer3 "
        "(default: the last block of layer4)",
    )
    p.add_argument("--cam-method", choices=sorted(CAM_METHODS), default="gradcam")
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="CHECKPOINT",
        help="other checkpoints (e.g. SSDG-R or an ablation) whose Grad-CAM rows are drawn "
        "below the model's, on the same images",
    )
    p.add_argument("--projection", choices=("pca", "tsne", "both", "none"), default="pca")
    p.add_argument(
        "--references",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="probe the untrained architecture and the pooled pixels too, and print every "
        "probe beside them (default: on)",
    )
    p.add_argument("--prefix", default="", help="prefix of every output file name")
    p.add_argument("--seed", type=int, default=0, help="data seed and probe split seed")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=0, help="processes rendering synthetic data")
    p.add_argument("--device", default="cpu")
    return p


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


def _domains(args: argparse.Namespace, info: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """Return (probe domain codes, Grad-CAM domain codes, description of the choice)."""
    from disentangle_fas.synthetic import DEFAULT_DOMAINS, DOMAINS, resolve_domains

    def codes(items: Sequence[str | int]) -> list[str]:
        return [DOMAINS[g].code for g in resolve_domains(list(items))]

    if args.domains:
        chosen = codes(args.domains)
        return chosen, chosen, "the domains given with --domains"
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
            probe = [d for d in src if d != tgt[0]] + tgt
            return probe, tgt, f"held-out target domain {tgt[0]} recorded in the checkpoint"
    every = list(DEFAULT_DOMAINS)
    return every, every, "no target domain recorded in the checkpoint: all benchmark domains"


class _CamPart(NamedTuple):
    samples: list[CamSample]
    layers: list[str]
    notes: list[str]


def _gradcam_part(
    args: argparse.Namespace,
    models: Sequence[tuple[str, LivenessModel]],
    data: SyntheticFAS,
    cam_domains: Sequence[str],
    path: Path,
) -> _CamPart:
    """Pick samples of ``cam_domains``, compute Grad-CAM per model and layer, draw the grid.

    ``models[0]`` is the explained model; the others are drawn below it for comparison.
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
    return _CamPart(samples, list(rows), notes)


def checkpoint_names(checkpoints: list[str]) -> list[str]:
    """Short, distinct names for checkpoints: ``parent/stem`` (training runs name files by
    policy), with as many more parent folders as it takes to tell two apart, and ``(2)``,
    ``(3)`` ... after a path given twice.

    Example:
        >>> checkpoint_names(["full/M/seed0/best.safetensors", "base/M/seed0/best.safetensors"])
        ['full/M/seed0/best', 'base/M/seed0/best']
    """
    paths = [Path(c) for c in checkpoints]

    def tail(p: Path, depth: int) -> str:
        parts = [*p.parent.parts[-depth:], p.stem] if depth else [p.stem]
        return "/".join(parts)

    depth = 1
    longest = max((len(p.parent.parts) for p in paths), default=0)
    while depth < longest and len({tail(p, depth) for p in set(paths)}) < len(set(paths)):
        depth += 1
    names, seen = [], dict[str, int]()
    for p in paths:
        name = tail(p, min(depth, len(p.parent.parts)))
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _run(args: argparse.Namespace) -> int:
    if args.data != "synthetic":
        raise UsageError(
            f"--data {args.data!r}: the command supports the built-in 'synthetic' benchmark; "
            "for other data use the Python API (disentangle_fas.explain.liveness_gradcam, "
            "extract_features, probe_disentanglement) with any Dataset of FASSample"
        )
    if args.num_samples < 1 or args.probe_samples < 4:
        raise UsageError(
            f"need --num-samples >= 1 and --probe-samples >= 4, got {args.num_samples} and "
            f"{args.probe_samples}"
        )
    from disentangle_fas.synthetic import SyntheticFAS
    from disentangle_fas.training.distributed import resolve_device

    resolve_device(args.device)  # a usage error for a device this machine lacks
    builder = builder_option(args.builder)
    loaded = load_model(args.checkpoint, map_location=args.device, builder=builder)
    model, config = loaded.model, loaded.config
    if args.image_size:
        size = int(args.image_size)
    elif loaded.input_spec is not None:
        size = loaded.input_spec.image_size
    else:
        raise ValueError(
            f"{args.checkpoint} stores no input size (it predates stored input specs); "
            "pass --image-size with the size the model was trained at"
        )
    labels = checkpoint_names([args.checkpoint, *args.compare])
    compared = [
        (label, load_model(c, map_location=args.device, builder=builder).model)
        for label, c in zip(labels[1:], args.compare, strict=True)
    ]
    probe_domains, cam_domains, why = _domains(args, loaded.info)
    data = SyntheticFAS(
        probe_domains,
        samples_per_domain=args.probe_samples,
        image_size=size,
        split=args.split,
        seed=args.seed,
        pre_render=True,
        num_workers=args.workers,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = {k: f"{args.prefix}{k}" for k in ("gradcam.png", "report.md", "probes.json")}

    models = [(labels[0], model), *compared]
    cam_part = _gradcam_part(args, models, data, cam_domains, out / names["gradcam.png"])
    feats = extract_features(model, data, batch_size=args.batch_size, device=args.device)
    probes = probe_disentanglement(feats, seed=args.seed)
    refs = None
    if args.references:
        refs = reference_probes(model, data, features=feats, seed=args.seed,
                                batch_size=args.batch_size, device=args.device)  # fmt: skip
    with torch.no_grad():
        path = model.liveness_path()
        device = next(path.head.parameters()).device
        live = torch.softmax(path.classify(feats.liveness.to(device)), dim=1)[:, 1].cpu()
    classifier = classifier_scores(
        live, feats.labels, feats.domains, data.domain_codes, loaded.threshold
    )
    all_methods: tuple[ProjectionMethod, ...] = ("pca", "tsne")
    projections = []
    for m in [m for m in all_methods if args.projection in (m, "both")]:
        name = f"{args.prefix}projection_{m}.png"
        save_projection_plot(
            out / name, feats, method=m, domain_names=data.domain_codes, seed=args.seed
        )
        projections.append(name)

    report = ExplainReport(
        checkpoint=str(args.checkpoint),
        config=config,
        kind=loaded.kind,
        threshold=loaded.threshold,
        threshold_strategy=loaded.threshold_strategy,
        cam_data=f"{len(cam_part.samples)} synthetic `{data.split}` images of "
        f"{', '.join(cam_domains)} ({why})",
        cam_image=names["gradcam.png"],
        cam_method=args.cam_method,
        cam_layers=cam_part.layers,
        cam_notes=cam_part.notes,
        cam_target={"label": "ground-truth"}.get(args.cam_target, args.cam_target),
        cam_samples=cam_part.samples,
        probe_data=f"{len(data)} synthetic `{data.split}` images, {args.probe_samples} per "
        f"domain of {', '.join(data.domain_codes)}, {size} px",
        probes=probes,
        projection_images=projections,
        info=dict(loaded.info),
        classifier=classifier,
        compared=[name for name, _ in compared],
        references="" if refs is None else reference_table(refs),
    )
    (out / names["report.md"]).write_text(report.to_markdown(), encoding="utf-8")
    probe_rows = [
        {"target": r.target, "features": r.representation, **asdict(r.score)} for r in probes.rows
    ]
    payload: dict[str, object] = {
        "domains": list(data.domain_codes),
        "rows": probe_rows,
        "notes": list(probes.notes),
    }
    if refs is not None:
        payload["references"] = {
            name: [{"target": r.target, "features": r.representation, **asdict(r.score)}
                   for r in table.rows]
            for name, table in (("untrained", refs.untrained), ("pixels", refs.pixels))
        }  # fmt: skip
        payload["hsic_domain"] = refs.hsic_domain
    (out / names["probes.json"]).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(probes.to_markdown())
    if refs is not None:
        print(reference_table(refs))
    print(f"wrote {out / names['report.md']}")
    return 0


@command("disentangle-fas explain")
def main(argv: Sequence[str] | None = None) -> int:
    """Run ``disentangle-fas explain``.

    Args:
        argv: arguments after the subcommand name; ``sys.argv[1:]`` when ``None``.

    Returns:
        0 on success; errors follow the commands' error policy (2 for a usage or input
        error, 1 for a runtime failure, one line on stderr).
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    return _run(args)
