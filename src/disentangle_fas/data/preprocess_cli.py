"""The ``disentangle-fas preprocess`` command line: options, recipes, shards, the data check."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import sys
from pathlib import Path

from disentangle_fas.data.adapters import ADAPTERS, DatasetAdapter, ListAdapter, OuluNPU
from disentangle_fas.data.check import check_dataset, make_adapter
from disentangle_fas.data.faces import MTCNNFaceDetector, add_detector_option
from disentangle_fas.data.pipeline import PreprocessConfig
from disentangle_fas.data.preprocess import (
    DetectorFactory,
    parse_shard,
    preprocess_records,
    select_shard,
)
from disentangle_fas.data.recipes import RECIPES, get_recipe
from disentangle_fas.data.records import SPLITS, Record
from disentangle_fas.data.video import SAMPLING_RULES
from disentangle_fas.errors import ArgumentParser, UsageError, command

__all__ = ["build_config", "main", "run"]

#: command-line option -> PreprocessConfig field (options default to None: recipe wins).
_OPTIONS = {
    "frames": "frames",
    "sampling": "sampling",
    "offset": "offset",
    "size": "size",
    "crop_scale": "crop_scale",
    "format": "image_format",
    "jpeg_quality": "jpeg_quality",
    "eye_box_factor": "eye_box_factor",
}


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="disentangle-fas preprocess",
        description="Decode videos, crop faces and write 256x256 crops plus manifest.jsonl "
        "and report.json. Rerunning resumes: finished videos are skipped.",
    )
    p.add_argument("--dataset", required=True, choices=[*ADAPTERS, "list"])
    p.add_argument("--root", type=Path, help="dataset root (for --dataset list: base folder)")
    p.add_argument("--list", type=Path, dest="list_file", help="CSV/JSONL list (--dataset list)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--split", action="append", choices=SPLITS, help="repeatable; default all")
    p.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="a named pipeline of the literature (frames, crops, boxes, splits); explicit "
        "options override it. See docs/datasets.md",
    )
    p.add_argument(
        "--allow-split-leak",
        action="store_true",
        help="accept a recipe that preprocesses every split for training (safas)",
    )
    p.add_argument(
        "--face-locations",
        type=Path,
        help="folder of Bob .face files laid out like the videos (casia, replay)",
    )
    p.add_argument(
        "--shard",
        help="K/N: process only shard K (0 <= K < N) of the videos, e.g. "
        "$SLURM_ARRAY_TASK_ID/8; writes manifest-K-of-N.jsonl (pack merges them)",
    )
    d = PreprocessConfig()
    p.add_argument("--frames", type=int, help=f"frames per video (default {d.frames})")
    p.add_argument("--sampling", choices=SAMPLING_RULES, help=f"default {d.sampling}")
    p.add_argument("--offset", type=int, help=f"first frame (default {d.offset})")
    p.add_argument("--size", type=int, help=f"crop side in pixels (default {d.size})")
    p.add_argument("--crop-scale", type=float, help=f"default {d.crop_scale}")
    p.add_argument("--format", choices=("png", "jpg"), help=f"default {d.image_format}")
    p.add_argument("--jpeg-quality", type=int, help=f"default {d.jpeg_quality}")
    p.add_argument("--eye-box-factor", type=float, help=f"default {d.eye_box_factor}")
    p.add_argument("--ignore-rotation", action="store_true", help="keep frames as stored")
    add_detector_option(p, "--detector", "MTCNN only when items have no face annotation")
    p.add_argument(
        "--detector-fallback",
        action="store_true",
        help="use the detector where an annotation is missing or has no face",
    )
    p.add_argument("--device", default="cpu", help="torch device of the detector")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--oulu-protocol", type=int, choices=(1, 2, 3, 4))
    p.add_argument("--oulu-fold", type=int)
    p.add_argument("--limit", type=int, help="process only the first N items (trial runs)")
    p.add_argument("--no-check", action="store_true", help="skip the check against official counts")
    p.add_argument("--strict", action="store_true", help="exit 1 when any item failed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def build_config(args: argparse.Namespace, base: PreprocessConfig) -> PreprocessConfig:
    """The run's settings: ``base`` (a recipe's or the defaults) with explicit options applied.

    Args:
        args: parsed options.
        base: settings before the options.

    Returns:
        The settings.
    """
    changes: dict[str, object] = {
        field: getattr(args, option)
        for option, field in _OPTIONS.items()
        if getattr(args, option) is not None
    }
    if args.frames is not None:
        changes["split_frames"] = ()  # an explicit --frames applies to every split
    changes["honour_rotation"] = not args.ignore_rotation
    changes["detector_fallback"] = args.detector_fallback
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _adapter(args: argparse.Namespace) -> DatasetAdapter:
    if args.dataset == "list":
        if args.list_file is None:
            raise UsageError("--dataset list needs --list FILE")
        return ListAdapter(args.list_file, root=args.root)
    if args.root is None:
        raise UsageError(f"--dataset {args.dataset} needs --root (your local copy)")
    if args.dataset == "oulu":
        return OuluNPU(args.root, protocol=args.oulu_protocol, fold=args.oulu_fold)
    return make_adapter(args.dataset, args.root, face_locations=args.face_locations)


def _warn_if_different(args: argparse.Namespace) -> None:
    if args.dataset == "list" or args.no_check:
        return
    check = check_dataset(args.dataset, args.root, face_locations=args.face_locations)
    if not check.ok:
        bad = sum(not r.ok for r in check.rows)
        print(
            f"disentangle-fas preprocess: warning: this copy of {args.dataset} differs from "
            f"the official release ({bad} counts differ, {len(check.missing)} files missing, "
            f"{len(check.missing_annotations)} annotations missing); see disentangle-fas "
            f"check-data --dataset {args.dataset} --root {args.root}",
            file=sys.stderr,
        )


def run(argv: list[str]) -> int:
    """Run ``disentangle-fas preprocess``.

    Args:
        argv: command-line arguments after the subcommand.

    Returns:
        0 on success (item problems are in the report), 1 with ``--strict`` when an item
        failed. Usage and dataset-layout errors raise; the command's error policy
        (:mod:`disentangle_fas.errors`) prints them in one line with exit code 2.
    """
    args = _parser().parse_args(argv)
    recipe = (
        None
        if args.recipe is None
        else get_recipe(args.recipe, allow_split_leak=args.allow_split_leak)
    )
    config = build_config(args, PreprocessConfig() if recipe is None else recipe.config)
    shard = None if args.shard is None else parse_shard(args.shard)
    if args.face_locations is not None and args.dataset not in ("casia", "replay"):
        raise ValueError(f"--face-locations applies to casia and replay, not {args.dataset}")
    adapter = _adapter(args)
    _warn_if_different(args)
    splits = args.split or (recipe.splits if recipe is not None else None) or [None]
    records: list[Record] = []
    for split in splits:
        if split is None or split in adapter.SPLITS:
            records.extend(adapter.records(split))
    if recipe is not None and recipe.detector_everywhere and args.face_locations is None:
        records = [dataclasses.replace(r, box_source="detector", annotation=None) for r in records]
    if shard is not None:
        records = select_shard(records, *shard)
    if args.limit is not None:
        records = records[: args.limit]
    if not records:
        where = args.root if args.dataset != "list" else args.list_file
        print(
            f"disentangle-fas preprocess: warning: 0 items: no videos found in {where} "
            f"for --dataset {args.dataset}"
            + (f" (splits {', '.join(args.split)})" if args.split else "")
            + "; check --root and the dataset's folder layout (docs/datasets.md)",
            file=sys.stderr,
        )
    wants = any(r.box_source == "detector" for r in records) or args.detector_fallback
    factory: DetectorFactory | None = None
    if args.detector == "mtcnn" or (args.detector == "auto" and wants):
        if importlib.util.find_spec("facenet_pytorch") is None:
            raise ImportError(
                "these items need face detection (MTCNN from facenet-pytorch): "
                'pip install "disentangle-fas[video]"'
            )
        # Every face MTCNN accepts, on full-resolution frames: the crops the datasets' boxes give.
        factory = functools.partial(
            MTCNNFaceDetector, device=args.device, min_confidence=0.0, max_side=None
        )
    report = preprocess_records(
        records,
        args.out,
        config,
        detector_factory=factory,
        workers=args.workers,
        progress=not args.quiet,
        listing_skipped=adapter.skipped,
        shard=shard,
    )
    counts = ", ".join(f"{k}={report.count(k)}" for k in sorted({p.kind for p in report.problems}))
    print(
        f"{report.videos} items: {report.processed} processed, {report.skipped_done} already "
        f"done, {report.failed} failed; {report.crops} crops in {report.manifest}"
        + (f"; problems: {counts}" if counts else "")
    )
    return 1 if args.strict and report.failed else 0


@command("disentangle-fas preprocess")
def main(argv: list[str]) -> int:
    """Run ``disentangle-fas preprocess`` under the commands' error policy (see :func:`run`).

    Args:
        argv: command-line arguments after the subcommand.

    Returns:
        The process exit code.
    """
    return run(argv)
