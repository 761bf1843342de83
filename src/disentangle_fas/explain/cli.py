"""``disentangle-fas explain``: Grad-CAM pictures and disentanglement probes of a checkpoint.

Writes into ``--out``: ``gradcam.png`` (Fig. 2-style grid), ``projection_pca.png`` (and
``projection_tsne.png`` with ``--projection tsne|both``), ``probes.json`` and
``report.md``. The data is the built-in synthetic benchmark: Grad-CAM shows the held-out
target domain recorded in the checkpoint (all benchmark domains when none is recorded),
and the probes use the source domains and the target together, since a domain probe
needs several domains.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.checkpoint import load_model
from disentangle_fas.explain.disentanglement import probe_disentanglement
from disentangle_fas.explain.features import extract_features
from disentangle_fas.explain.gradcam import CAM_METHODS, CamTarget, liveness_gradcam
from disentangle_fas.explain.grid import save_gradcam_grid
from disentangle_fas.explain.projection import ProjectionMethod, save_projection_plot
from disentangle_fas.explain.report import CamSample, ExplainReport

__all__ = ["build_parser", "main", "pick_cam_samples"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command."""
    p = argparse.ArgumentParser(
        prog="disentangle-fas explain",
        description="Grad-CAM maps of the liveness path and linear probes of how well the "
        "liveness, content and domain representations are disentangled.",
    )
    p.add_argument("--checkpoint", required=True, help="a .safetensors model checkpoint")
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
    p.add_argument("--projection", choices=("pca", "tsne", "both", "none"), default="pca")
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


def _domains(args: argparse.Namespace, info: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """Return (probe domain codes, Grad-CAM domain codes, description of the choice)."""
    from disentangle_fas.synthetic.dataset import DEFAULT_DOMAINS, resolve_domains
    from disentangle_fas.synthetic.domains import DOMAINS

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


def _run(args: argparse.Namespace) -> int:
    if args.data != "synthetic":
        raise ValueError(
            f"--data {args.data!r}: the command supports the built-in 'synthetic' benchmark; "
            "for other data use the Python API (disentangle_fas.explain.liveness_gradcam, "
            "extract_features, probe_disentanglement) with any Dataset of FASSample"
        )
    if args.num_samples < 1 or args.probe_samples < 4:
        raise ValueError("need --num-samples >= 1 and --probe-samples >= 4")
    try:
        from disentangle_fas.synthetic.dataset import SyntheticFAS
    except ImportError as err:
        raise ImportError("the synthetic benchmark (disentangle_fas.synthetic) is missing") from err

    loaded = load_model(args.checkpoint, map_location=args.device)
    model, config = loaded.model, loaded.config
    size = int(args.image_size or config.image_size)
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

    # Grad-CAM on the chosen domains.
    codes = np.array([r.domain for r in data.records])
    picks = pick_cam_samples(data.labels, np.isin(codes, cam_domains), args.num_samples)
    batch = [data[i] for i in picks]
    images = torch.stack([s.image for s in batch])
    labels = torch.tensor([int(s.label) for s in batch])
    target: CamTarget = labels if args.cam_target == "label" else args.cam_target
    rows: dict[str, Tensor] = {}
    notes: list[str] = []
    for layer in args.cam_layer or [None]:
        cam = liveness_gradcam(
            model, images, target=target, target_layer=layer, method=args.cam_method
        )
        h, w = cam.layer_size
        rows[f"{layer or 'layer4[-1]'} ({h}x{w})"] = cam.maps
        if h * w == 1:
            notes.append(
                f"E_L's {layer or 'layer4[-1]'} is 1x1 at {size} px, so its map is constant "
                "(drawn as zero); use larger images or an earlier layer (--cam-layer layer3)."
            )
    captions = [str(codes[i]) for i in picks]
    save_gradcam_grid(
        out / names["gradcam.png"],
        images,
        rows,
        scores=dict.fromkeys(rows, cam.scores),
        labels=labels,
        captions=captions,
    )

    # Probes and projections on every probe domain.
    feats = extract_features(model, data, batch_size=args.batch_size, device=args.device)
    probes = probe_disentanglement(feats, seed=args.seed)
    all_methods: tuple[ProjectionMethod, ...] = ("pca", "tsne")
    methods = [m for m in all_methods if args.projection in (m, "both")]
    projections = []
    for m in methods:
        name = f"{args.prefix}projection_{m}.png"
        save_projection_plot(
            out / name, feats, method=m, domain_names=data.domain_codes, seed=args.seed
        )
        projections.append(name)

    report = ExplainReport(
        checkpoint=str(args.checkpoint),
        config=config,
        threshold=loaded.threshold,
        threshold_strategy=loaded.threshold_strategy,
        cam_data=f"{len(picks)} synthetic `{data.split}` images of {', '.join(cam_domains)} ({why})",
        cam_image=names["gradcam.png"],
        cam_method=args.cam_method,
        cam_layers=list(rows),
        cam_notes=notes,
        cam_target={"label": "ground-truth"}.get(args.cam_target, args.cam_target),
        cam_samples=[
            CamSample(captions[j], int(labels[j]), float(cam.scores[j]), int(cam.targets[j]))
            for j in range(len(picks))
        ],
        probe_data=f"{len(data)} synthetic `{data.split}` images, {args.probe_samples} per "
        f"domain of {', '.join(data.domain_codes)}, {size} px",
        probes=probes,
        projection_images=projections,
        info=dict(loaded.info),
    )
    (out / names["report.md"]).write_text(report.to_markdown(), encoding="utf-8")
    probe_rows = [
        {"target": r.target, "features": r.representation, **asdict(r.score)} for r in probes.rows
    ]
    payload = {"domains": list(data.domain_codes), "rows": probe_rows, "notes": list(probes.notes)}
    (out / names["probes.json"]).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(probes.to_markdown())
    print(f"wrote {out / names['report.md']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``disentangle-fas explain``.

    Args:
        argv: arguments after the subcommand name; ``sys.argv[1:]`` when ``None``.

    Returns:
        0 on success, 2 on a usage or input error (reported on stderr).
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return _run(args)
    except (FileNotFoundError, ValueError, ImportError) as err:
        print(f"disentangle-fas explain: error: {err}", file=sys.stderr)
        return 2
