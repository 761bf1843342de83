"""The options of ``disentangle-fas protocol`` that spread its runs over processes,
job arrays and clusters, and ``--collect``.

Checked without importing torch (the command's ``--help`` and option errors stay fast);
:func:`collect_main` and :func:`runner_from_args` import the heavy modules when called.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from disentangle_fas.errors import UsageError

__all__ = [
    "CLUSTER_CHOICES",
    "add_cluster_arguments",
    "check_cluster_args",
    "collect_main",
    "plan_command",
    "runner_from_args",
    "selected_units",
]

#: submitit's executors (``--cluster``).
CLUSTER_CHOICES = ("slurm", "local", "debug")

#: Options that select units or replace runs: left out of the command a plan stores.
_DROPPED = {
    "--shard": True,
    "--units": True,
    "--overwrite": False,
    "--collect": True,
    "--interim": False,
}


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--collect``, ``--shard``, ``--units``, ``--launcher`` and the submitit options."""
    g = parser.add_argument_group(
        "units, shards and clusters",
        "each run (task, variant, seed) is a unit with its own run folder and record; the "
        "tables are assembled from the records, so any mix of processes, job-array shards "
        "and schedulers gives the same tables; finished units are never run again "
        "(docs/cluster.md)",
    )
    g.add_argument(
        "--collect",
        metavar="OUT",
        default=None,
        help="assemble the tables of the protocol in OUT from its run folders alone; when "
        "units are missing or failed, list them (with the error) and print the command that "
        "runs only those (exit 1)",
    )
    g.add_argument(
        "--interim",
        action="store_true",
        help="with --collect, while units are left: also assemble the tables over the seeds "
        "every task and variant has finished (paired as the final ones are) into OUT/interim/",
    )
    g.add_argument(
        "--shard",
        metavar="K/N",
        default=None,
        help="do shard K of N: the units numbered u with (u - 1) mod N = K - 1 (e.g. with "
        "#SBATCH --array=1-N: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); shards may run at "
        "once into one --out; the last to finish writes the tables",
    )
    g.add_argument(
        "--units",
        metavar="LIST",
        default=None,
        help="do only these unit numbers, e.g. 3,5-7 (what --collect prints for the units left)",
    )
    g.add_argument(
        "--launcher",
        choices=("local", "submitit"),
        default="local",
        help="local: this process and --workers processes; submitit: submit the units as a "
        "job array (extra 'cluster': pip install 'disentangle-fas[cluster]'), wait, retry "
        "failed units and collect (default: local)",
    )
    g.add_argument(
        "--cluster",
        choices=CLUSTER_CHOICES,
        default=None,
        help="submitit's executor: slurm, local (subprocesses on this machine) or debug (this "
        "process) (default: slurm when sbatch is found, else local)",
    )
    g.add_argument("--slurm-partition", default=None, help="SLURM partition of each unit's job")
    g.add_argument("--slurm-account", default=None, help="SLURM account, if the cluster needs one")
    g.add_argument(
        "--gpus-per-run", type=int, default=1, help="GPUs of each unit's job (default: 1)"
    )
    g.add_argument(
        "--cpus-per-run", type=int, default=4, help="CPU cores of each unit's job (default: 4)"
    )
    g.add_argument(
        "--mem-gb", type=float, default=None, help="memory of each unit's job in GB (default: "
        "the partition's)"
    )  # fmt: skip
    g.add_argument(
        "--timeout-min",
        type=int,
        default=240,
        help="time limit of each unit's job in minutes; a job stopped by it (or preempted) is "
        "requeued and continues from its last saved state (default: 240)",
    )
    g.add_argument(
        "--array-parallelism",
        type=int,
        default=None,
        help="at most this many unit jobs at once (SLURM's array throttle; with --cluster "
        "local the units are grouped into this many jobs) (default: 256 on SLURM; locally "
        "one job per --gpus-per-run GPUs, or per core without GPUs)",
    )
    g.add_argument(
        "--retries",
        type=int,
        default=1,
        help="times a failed unit is submitted again (default: 1)",
    )
    g.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the units are submitted; the job that finishes the last unit "
        "writes the tables (--collect OUT shows where things stand)",
    )


def check_cluster_args(args: argparse.Namespace) -> None:
    """Refuse bad or conflicting unit and cluster options (no torch imported).

    Raises:
        UsageError: one line naming the option.
    """
    from disentangle_fas.training.units import parse_shard, parse_units

    try:
        if args.shard is not None:
            parse_shard(args.shard)
        if args.units is not None:
            parse_units(args.units)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.shard is not None and args.units is not None:
        raise UsageError("--shard and --units exclude each other: pick one")
    for name in ("cpus_per_run", "timeout_min", "array_parallelism"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be 1 or more")
    for name in ("gpus_per_run", "retries"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be 0 or more")
    if args.mem_gb is not None and args.mem_gb <= 0:
        raise UsageError(f"--mem-gb {args.mem_gb}: must be positive")
    if args.launcher != "submitit":
        given = [
            f"--{n.replace('_', '-')}"
            for n in ("cluster", "slurm_partition", "slurm_account")
            if getattr(args, n) is not None
        ] + (["--no-wait"] if args.no_wait else [])
        if given:
            raise UsageError(f"{', '.join(given)} apply to --launcher submitit only")
        return
    if args.shard is not None:
        raise UsageError(
            "--shard is for a scheduler's job array of your own; --launcher submitit makes "
            "its own array: drop one of them"
        )
    if args.workers is not None:
        raise UsageError("--workers applies to --launcher local; use --array-parallelism")
    if importlib.util.find_spec("submitit") is None:
        raise UsageError(
            "--launcher submitit needs submitit: pip install 'disentangle-fas[cluster]' "
            "(or: pip install 'submitit>=1.5')"
        )


def selected_units(args: argparse.Namespace, total: int) -> list[int] | None:
    """The unit numbers this process does (``None``: all)."""
    from disentangle_fas.training.units import parse_shard, parse_units, shard_numbers

    if args.shard is not None:
        return shard_numbers(total, *parse_shard(args.shard))
    if args.units is not None:
        return parse_units(args.units)
    return None


def plan_command(argv: Sequence[str]) -> list[str]:
    """The command a plan stores: ``disentangle-fas protocol`` and ``argv`` without
    ``--shard``, ``--units``, ``--collect`` (and their values) and ``--overwrite``.

    Example:
        >>> plan_command(["--seeds", "2", "--shard", "1/2", "--units=3", "--overwrite"])
        ['disentangle-fas', 'protocol', '--seeds', '2']
    """
    out: list[str] = ["disentangle-fas", "protocol"]
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _DROPPED:
            skip = _DROPPED[name] and "=" not in arg
            continue
        out.append(arg)
    return out


def runner_from_args(args: argparse.Namespace, out: str) -> Any:
    """The runner of ``--launcher submitit`` (``None`` for local), its folder under ``out``."""
    if args.launcher != "submitit":
        return None
    from pathlib import Path

    from disentangle_fas.training.launch import ClusterOptions, submitit_runner

    options = ClusterOptions(
        cluster=args.cluster,
        folder=str(Path(out) / "submitit"),
        gpus_per_run=args.gpus_per_run,
        cpus_per_run=args.cpus_per_run,
        mem_gb=args.mem_gb,
        timeout_min=args.timeout_min,
        partition=args.slurm_partition,
        account=args.slurm_account,
        array_parallelism=args.array_parallelism,
        retries=args.retries,
        wait=not args.no_wait,
        poll_seconds=1.0 if args.cluster in ("local", "debug") else 15.0,
    )
    return submitit_runner(options, root=out)


def collect_main(root: str, *, interim: bool = False) -> int:
    """``protocol --collect OUT``: print the tables (and the study's probes) when every unit
    finished (exit 0), else what is missing or failed and the command that runs it (exit 1).
    With ``interim``, an unfinished protocol's tables over the seeds every task and variant
    has finished are printed and written into ``OUT/interim/`` (exit 1 all the same: the
    protocol is not finished).

    Raises:
        UsageError: ``OUT`` holds no readable plan.
    """
    from disentangle_fas.training.units import read_plan

    try:
        read_plan(root)  # a missing or unreadable plan is refused before torch is imported
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--collect {root}: {exc}") from None
    from disentangle_fas.training.collect import collect

    got = collect(root)
    print(got.report())
    result, out, seeds, note = got.result, Path(root), list(got.plan.seeds), ""
    if result is None and interim:
        result, out, seeds = got.interim(), Path(root) / "interim", got.finished_seeds()
        listed = ", ".join(map(str, seeds))
        note = f"; interim: seeds {listed} of {len(got.plan.seeds)}"
        print(
            f"interim tables over seeds {listed} (every task and variant)"
            if result is not None
            else "interim: no seed has finished every task and variant yet"
        )
    if result is None:
        return 1
    out.mkdir(parents=True, exist_ok=True)
    if got.result is None:  # interim: collect() writes only the final tables itself
        from disentangle_fas.training.collect import write_tables

        write_tables(out, result)
    if got.plan.kind == "study":
        from disentangle_fas.study import write_study

        seconds = sum(got.records[u.number].seconds for u in got.plan.units if u.seed in seeds)
        study = write_study(
            result,
            got.plan.description + note,
            seconds,
            out,
            echo=lambda _: None,
            time_label="run time summed over runs",
        )
        print(study.to_markdown())
        print(f"written: {out}/study.md, results.*, probes.csv, probes.json")
    else:
        print()
        print(result.to_markdown())
        print(f"written: {out}/results.md, results.csv, results.json")
    return 0 if got.result is not None else 1
