"""The work of ``disentangle-fas explain`` once its options are checked: load, render, draw
Grad-CAM, measure disentanglement against references, write the report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import get_args

import torch

from disentangle_fas.builders import builder_option
from disentangle_fas.checkpoint import load_model
from disentangle_fas.explain.cli_parts import choose_domains, classifier_scores, gradcam_part
from disentangle_fas.explain.features import extract_features
from disentangle_fas.explain.measure import measure_disentanglement
from disentangle_fas.explain.measure_markdown import measure_dict, measure_table
from disentangle_fas.explain.projection import ProjectionMethod, save_projection_plot
from disentangle_fas.explain.report import ExplainReport

__all__ = ["OUTPUT_FILES", "run_explain"]

#: The files the command writes into ``--out`` (each name after ``--prefix``).
OUTPUT_FILES = ("gradcam.png", "report.md", "probes.json")


def run_explain(args: argparse.Namespace, names: list[str]) -> int:
    """Run the command on checked options.

    Args:
        args: the parsed, checked options.
        names: display names of ``[args.checkpoint, *args.compare]``.

    Returns:
        0.
    """
    from disentangle_fas.synthetic import SyntheticFAS
    from disentangle_fas.training.distributed import resolve_device

    resolve_device(args.device)  # a usage error for a device this machine lacks
    builder = builder_option(args.builder)
    loaded = load_model(args.checkpoint, map_location=args.device, builder=builder)
    model = loaded.model
    if args.image_size:
        size = int(args.image_size)
    elif loaded.input_spec is not None:
        size = loaded.input_spec.image_size
    else:
        raise ValueError(
            f"{args.checkpoint} stores no input size (it predates stored input specs); "
            "pass --image-size with the size the model was trained at"
        )
    compared = [
        (label, load_model(c, map_location=args.device, builder=builder).model)
        for label, c in zip(names[1:], args.compare, strict=True)
    ]
    domains = choose_domains(args, loaded.info)
    sources, cam_domains = domains.sources, domains.cam
    common = {"image_size": size, "seed": args.seed, "pre_render": True,
              "num_workers": args.workers}  # fmt: skip
    data = SyntheticFAS(domains.data, samples_per_domain=args.probe_samples,
                        split=args.split, **common)  # fmt: skip
    probe_train = SyntheticFAS(sources, samples_per_domain=args.probe_samples, split="train",
                               **common)  # fmt: skip
    probe_val = SyntheticFAS(sources, samples_per_domain=args.probe_samples, split="dev",
                             **common)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {k: f"{args.prefix}{k}" for k in OUTPUT_FILES}

    models = [(names[0], model), *compared]
    cam_part = gradcam_part(args, models, data, cam_domains, out / files["gradcam.png"])
    feats = extract_features(model, data, batch_size=args.batch_size, device=args.device)
    print(f"measuring disentanglement on {', '.join(sources)} (train -> dev)", flush=True)
    measure = measure_disentanglement(
        model, probe_train, probe_val, references=args.references, kinds=args.probe_kinds,
        seeds=list(range(args.probe_seeds)), untrained_seed=args.seed,
        batch_size=args.batch_size, device=args.device, echo=lambda s: print(s, flush=True),
    )  # fmt: skip
    with torch.no_grad():
        path = model.liveness_path()
        device = next(path.head.parameters()).device
        live = torch.softmax(path.classify(feats.liveness.to(device)), dim=1)[:, 1].cpu()
    classifier = classifier_scores(
        live, feats.labels, feats.domains, data.domain_codes, loaded.threshold
    )
    projections = []
    for m in [m for m in get_args(ProjectionMethod) if args.projection in (m, "both")]:
        name = f"{args.prefix}projection_{m}.png"
        save_projection_plot(
            out / name, feats, method=m, domain_names=data.domain_codes, seed=args.seed
        )
        projections.append(name)
    table = measure_table(measure)
    report = ExplainReport(
        checkpoint=str(args.checkpoint),
        config=loaded.config,
        kind=loaded.kind,
        threshold=loaded.threshold,
        threshold_strategy=loaded.threshold_strategy,
        cam_data=f"{len(cam_part.samples)} synthetic `{data.split}` images of "
        f"{', '.join(cam_domains)} ({domains.why})",
        cam_image=files["gradcam.png"],
        cam_method=args.cam_method,
        cam_layers=cam_part.layers,
        cam_notes=cam_part.notes,
        cam_target={"label": "ground-truth"}.get(args.cam_target, args.cam_target),
        cam_samples=cam_part.samples,
        classifier_data=f"{len(data)} synthetic `{data.split}` images, {args.probe_samples} "
        f"per domain of {', '.join(data.domain_codes)}, {size} px",
        probe_data=f"source domains {', '.join(sources)}: {len(probe_train)} synthetic "
        f"`train` images to fit, {len(probe_val)} held-out `dev` images (other people) to "
        f"score, {size} px",
        measure=table,
        projection_images=projections,
        info=dict(loaded.info),
        classifier=classifier,
        compared=[name for name, _ in compared],
    )
    (out / files["report.md"]).write_text(report.to_markdown(), encoding="utf-8")
    payload = {"domains": sources, "fit": "train", "score": "dev", **measure_dict(measure)}
    (out / files["probes.json"]).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(table)
    print(f"wrote {out / files['report.md']}")
    return 0
