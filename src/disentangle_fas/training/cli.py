"""``disentangle-fas train``, ``protocol`` and ``evaluate``.

Errors follow the commands' one error policy (:mod:`disentangle_fas.errors`): exit 2 for a
bad option or config, 1 for a runtime failure, 3 for a non-finite run, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from disentangle_fas.builders import BUILDER_HELP, builder_option
from disentangle_fas.errors import ArgumentParser, UsageError, command
from disentangle_fas.training.cluster_cli import (
    add_cluster_arguments,
    check_cluster_args,
    collect_main,
    plan_command,
    runner_from_args,
    selected_units,
)
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.config_io import add_config_arguments, config_from_args
from disentangle_fas.training.options import KEEP_CHOICES, check_options
from disentangle_fas.training.presets import (
    PAPER_PRESET,
    STUDY_PRESETS,
    SYNTHETIC_PROTOCOL_PRESET,
    StudyPreset,
)

__all__ = [
    "EVALUATE_FIELDS",
    "PAPER_PRESET",
    "PROTOCOL_SEEDS",
    "SYNTHETIC_PROTOCOL_PRESET",
    "check_run_options",
    "evaluate_main",
    "main",
    "protocol_main",
]

#: The protocol's defaults on a training store: the paper's preset, in its own folder.
_REAL_PROTOCOL_PRESET = PAPER_PRESET.replace(out=SYNTHETIC_PROTOCOL_PRESET.out)

#: Seeds of the main command (``disentangle-fas protocol`` with no flags).
PROTOCOL_SEEDS = 3


def _preset(
    synthetic_base: TrainConfig, real_base: TrainConfig = PAPER_PRESET
) -> Callable[[str], TrainConfig]:
    """The defaults of a run on ``data``: ``synthetic_base`` on the built-in benchmark, the
    paper's preset on a store (chosen after the config file is read: ``--data``, else the
    file's ``data``).
    """

    def base(data: str) -> TrainConfig:
        return synthetic_base if data == "synthetic" else real_base

    return base


def _checked(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with its method settings checked and typed (before any work)."""
    from disentangle_fas.training.methods import check_method_settings

    return check_method_settings(cfg)


#: Where the method settings are listed (building the list imports every method).
_METHODS_EPILOG = "methods and their settings (--set KEY=VALUE): disentangle-fas methods"


def _check(cfg: TrainConfig, tasks: Sequence[str] | None = None) -> None:
    """Every check of ``cfg`` that needs no torch, then the option combinations, then the
    method settings (these import the method) -- all before any data is built.
    """
    try:
        check_options(cfg, tasks)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_run_options(cfg)


def check_run_options(cfg: TrainConfig) -> None:
    """Refuse option combinations that would be silently ignored.

    Raises:
        UsageError: ``prnet_weights`` given while the content target is not PRNet.
    """
    uses_prnet = cfg.content_target == "prnet" or (
        cfg.content_target == "auto" and cfg.data != "synthetic"
    )
    if cfg.prnet_weights and not uses_prnet:
        raise UsageError(
            f"--prnet-weights is used only when the content target is PRNet; here it is "
            f"{'geometry' if cfg.data == 'synthetic' else cfg.content_target!r} "
            f"(--content-target {cfg.content_target}, --data {cfg.data}): pass "
            "--content-target prnet or drop --prnet-weights"
        )


def _refuse_variant_setting(args: argparse.Namespace) -> None:
    """Refuse ``--variant`` (or ``--set variant=...``) in a protocol: ``--variants`` sets
    the variant of every run, so it would be silently replaced.
    """
    sets = [str(item).split("=", 1)[0].strip() for item in getattr(args, "method_set", None) or []]
    if getattr(args, "variant", None) is not None or "variant" in sets:
        raise UsageError(
            "--variant (or --set variant=...) would be replaced in every run by --variants: "
            "name the variants to compare with --variants"
        )


@command("disentangle-fas train")
def main(argv: Sequence[str] | None = None) -> int:
    """Train one model on one task (``disentangle-fas train``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(
        prog="disentangle-fas train",
        description="Train one method (the paper's model by default) on one task. Without "
        "--data it uses the built-in synthetic benchmark; with a training store directory it "
        "uses real data.",
        epilog=_METHODS_EPILOG,
    )
    add_config_arguments(parser, TrainConfig(), PAPER_PRESET)
    cfg = config_from_args(parser.parse_args(args_list), _preset(TrainConfig()))
    _check(cfg)
    from disentangle_fas.training.rundir import RunDirectory

    RunDirectory.check_free(cfg.out)  # a busy folder: refused before torch is imported
    cfg = _checked(cfg)
    from disentangle_fas.training.loop import train

    res = train(cfg)
    print(res.metrics.task, f"HTER {100 * res.metrics.hter:.2f}%  AUC {100 * res.metrics.auc:.2f}%")
    print(
        f"threshold: {res.metrics.threshold_strategy.value}; checkpoint: {res.metrics.checkpoint_policy.value}"
    )
    print(f"checkpoint file: {res.checkpoint}")
    return 0


@command("disentangle-fas protocol")
def protocol_main(argv: Sequence[str] | None = None) -> int:
    """Run every leave-one-out task for several variants (``disentangle-fas protocol``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(
        prog="disentangle-fas protocol",
        description="Train and evaluate every task of a protocol and print a Table 1-style "
        "summary. With no arguments: the synthetic leave-one-domain-out protocol, full model "
        "against the baseline, 3 seeds each, with mean ± std, paired AUC differences and "
        "Holm-adjusted p-values.",
        epilog=_METHODS_EPILOG,
    )
    parser.add_argument(
        "--preset",
        choices=sorted(STUDY_PRESETS),
        default=None,
        help="run a study instead, on the eight tasks with every model measured against "
        "its references: 'study' / 'study-cpu' the Table 3 ablation and SSDG-R, 'removal' / "
        "'removal-cpu' the baseline, the full model and its removal mechanisms (5 seeds; "
        "the first of each pair at the converged scale for a GPU, the -cpu one at the main "
        "command's scale for 2 CPU cores). Other flags change the preset's settings",
    )
    parser.add_argument(
        "--tasks", default=None, help="comma-separated task names (default: all; a preset's)"
    )
    parser.add_argument(
        "--variants",
        default=None,
        help="comma-separated: full, baseline, content, domain (Table 3 rows) and/or "
        "registered methods: ssdg-r, ssan-r, sa-fas, gac-fas, a plugin's (default: full,baseline; a "
        "preset's)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per (task, variant): seed s of --seed S .. S+N-1 draws the data and "
        "the model (initialisation, batch order) of every variant, so variants are paired "
        f"by seed (default: {PROTOCOL_SEEDS}; a preset's)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="runs done at once, each in its own process with one torch thread; results do "
        "not depend on it (default: the number of available cores on CPU, 1 on a GPU)",
    )
    parser.add_argument(
        "--keep-checkpoints",
        choices=KEEP_CHOICES,
        default=None,
        help="weight files kept of each finished run: all (resumable state, last, best "
        "source-val and oracle checkpoints; the state also holds the optimizer moments and "
        "the weight average), "
        "chosen (the checkpoint the policy chose) or none (default: chosen; none with "
        "--preset). config.json, log.jsonl, result.json and record.json always stay: a "
        "finished run is read from its record, never trained again (--overwrite does)",
    )
    add_config_arguments(parser, SYNTHETIC_PROTOCOL_PRESET, _REAL_PROTOCOL_PRESET)
    add_cluster_arguments(parser)
    args = parser.parse_args(args_list)
    if args.collect is not None:
        rest = [a for a in args_list if a != "--interim"]
        if len(rest) != (1 if rest[0].startswith("--collect=") else 2):
            raise UsageError(
                "--collect OUT takes no other options but --interim (the plan in OUT has them)"
            )
        return collect_main(args.collect, interim=args.interim)
    if args.interim:
        raise UsageError("--interim goes with --collect OUT")
    check_cluster_args(args)
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: must be a positive integer (1, 2, 3, ...)")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be a positive integer (1, 2, ...)")
    preset = STUDY_PRESETS[args.preset] if args.preset else None
    base = preset.config if preset else _preset(SYNTHETIC_PROTOCOL_PRESET, _REAL_PROTOCOL_PRESET)
    cfg = config_from_args(args, base)
    if preset is not None and cfg.data != "synthetic":
        raise UsageError(f"--preset {preset.name} runs on the built-in synthetic data: drop --data")
    tasks = None if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
    _refuse_variant_setting(args)
    default_variants = ",".join(preset.variants) if preset else "full,baseline"
    args.variants = default_variants if args.variants is None else args.variants
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    _check(cfg, tasks or (preset.tasks if preset else None))
    from disentangle_fas.methods import variant_names
    from disentangle_fas.training.protocol import check_variants, default_workers

    known = variant_names()
    unknown = [v for v in variants if v not in known]
    if unknown or not variants:
        raise UsageError(
            f"--variants {args.variants!r}: unknown {unknown}; choose from {', '.join(known)}"
        )
    check_variants(cfg, variants, tasks)
    workers = default_workers(cfg.device) if args.workers is None else args.workers
    return _run_protocol_units(args, args_list, cfg, preset, tasks, variants, workers)


def _run_protocol_units(
    args: Any,
    argv: Sequence[str],
    cfg: TrainConfig,
    preset: StudyPreset | None,
    tasks: list[str] | None,
    variants: list[str],
    workers: int,
) -> int:
    """Do the selected units of the protocol (or the preset's study) in this process,
    in ``workers`` processes or with submitit, then print the tables when every unit has
    finished, else what is left.
    """
    import time

    from disentangle_fas.study import ProbeRun, study_setup, write_study
    from disentangle_fas.training.protocol import count_units, run_units

    t0 = time.perf_counter()
    common: dict[str, Any] = {
        "workers": workers,
        "command": plan_command(argv),
        "runner": runner_from_args(args, cfg.out),
    }
    description = ""
    if preset is not None:
        setup = study_setup(
            preset,
            config=cfg if cfg != preset.config else None,
            tasks=tasks,
            variants=variants,
            seeds=args.seeds,
        )
        description = setup.description
        print(description)
        total = count_units(setup.tasks, setup.variants, setup.seeds)
        collected, outcome = run_units(
            setup.config,
            tasks=setup.tasks,
            variants=setup.variants,
            seeds=setup.seeds,
            after_run=ProbeRun(cfg.device),
            keep=args.keep_checkpoints or "none",
            units=selected_units(args, total),
            kind="study",
            description=description,
            **common,
        )
    else:
        seeds = PROTOCOL_SEEDS if args.seeds is None else args.seeds
        total = count_units(tasks, variants, seeds)
        collected, outcome = run_units(
            cfg,
            tasks=tasks,
            variants=variants,
            seeds=seeds,
            keep=args.keep_checkpoints or "chosen",
            units=selected_units(args, total),
            **common,
        )
    if collected.result is None:
        print(collected.report())
        print(
            f"the tables are written when every unit has finished (by the process that "
            f"finishes the last one, or: disentangle-fas protocol --collect {cfg.out})"
        )
    elif preset is not None:
        study = write_study(collected.result, description, time.perf_counter() - t0, cfg.out)
        print()
        print(study.protocol.to_markdown())
        print(study.probes.to_markdown())
        print(f"{study.description}; wall time {study.seconds / 60:.1f} min")
        print(f"written: {cfg.out}/study.md, results.*, probes.csv, probes.json")
    else:
        print()
        print(collected.result.to_markdown())
        print(f"written: {cfg.out}/results.md, results.csv, results.json")
    if outcome.failures:
        raise next(iter(outcome.failures.values()))
    return 0


#: The configuration fields ``evaluate`` uses (the data of the task and the device; the
#: image size is the checkpoint's).
EVALUATE_FIELDS = (
    "data",
    "task",
    "synthetic_train_per_domain",
    "synthetic_eval_per_domain",
    "num_workers",
    "threshold",
    "seed",
    "device",
)


@command("disentangle-fas evaluate")
def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """Evaluate a checkpoint on a task (``disentangle-fas evaluate``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(
        prog="disentangle-fas evaluate",
        description="Evaluate a checkpoint on a task's source validation and target test "
        "sets (the task stored in the checkpoint by default).",
    )
    parser.add_argument("checkpoint", help="model checkpoint (.safetensors)")
    parser.add_argument("--builder", default=None, metavar="MODULE:FUNCTION", help=BUILDER_HELP)
    add_config_arguments(parser, TrainConfig(), PAPER_PRESET, fields=EVALUATE_FIELDS)
    args = parser.parse_args(args_list)
    from disentangle_fas.checkpoint import load_model
    from disentangle_fas.metrics import CheckpointPolicy, Report
    from disentangle_fas.training.distributed import resolve_device
    from disentangle_fas.training.run_checkpoints import POLICY_FILES
    from disentangle_fas.training.scoring import evaluate_model
    from disentangle_fas.training.tasks import build_task

    loaded = load_model(args.checkpoint, builder=builder_option(args.builder))
    stored = loaded.info
    base = _preset(TrainConfig())(args.data or "synthetic")
    if stored.get("task") and args.task is None:
        base = base.replace(task=str(stored["task"]))
    size = getattr(loaded.config, "image_size", None)
    cfg = config_from_args(args, base if size is None else base.replace(image_size=size))
    task = build_task(cfg)
    dev = resolve_device(cfg.device)
    result = evaluate_model(loaded.model.to(dev), task.source_val, task.target_test, device=dev)
    name = Path(args.checkpoint).name
    chosen_by = {file: policy for policy, file in POLICY_FILES.items()}.get(name)
    report = Report.from_results(
        {task.name: result},
        threshold_strategy=cfg.threshold,
        checkpoint_policy=chosen_by or CheckpointPolicy.LAST,
        method=args.checkpoint,
    )
    print(report.to_markdown(detailed=True))
    if chosen_by is None:
        print(
            f"(checkpoint {name}: not a file a run names after its policy, so how it was "
            "chosen is unknown; the table says 'last')"
        )
    return 0
