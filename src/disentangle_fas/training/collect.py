"""A protocol's tables from its run folders alone (``disentangle-fas protocol --collect``).

The plan file (:mod:`~disentangle_fas.training.units`) names every unit and its run
folder; each finished unit left ``record.json`` there, each failed one ``failure.json``
(:mod:`~disentangle_fas.training.run_record`). :func:`collect` reads them: when every unit
has a valid record it assembles the tables exactly as a serial run does and writes
``results.md``/``.csv``/``.json``; otherwise it says which units are missing, which failed
and with what error, and the one command that runs only those.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from disentangle_fas._io import atomic_write_text
from disentangle_fas.training.protocol_report import ProtocolResult, RunRecord, assemble_result
from disentangle_fas.training.run_record import (
    RECORD_NAME,
    read_failure,
    read_record,
    read_record_data,
)
from disentangle_fas.training.rundir import LOCK_NAME
from disentangle_fas.training.units import Plan, PlanUnit, format_units, read_plan

__all__ = [
    "Collected",
    "UnitState",
    "UnitStatus",
    "assemble_plan",
    "collect",
    "merged_environment",
    "write_tables",
]

#: ``finished``: a valid record; ``failed``: a failure record; ``stale``: a record of
#: another configuration; ``started``: files but no record (running, or interrupted);
#: ``missing``: nothing yet.
UnitState = Literal["finished", "failed", "stale", "started", "missing"]


@dataclass(frozen=True)
class UnitStatus:
    """Where one unit stands.

    Attributes:
        unit: the unit.
        state: see :data:`UnitState`.
        error: the failure's one line (``failed``, ``stale``), else ``None``.
        host: the machine that wrote its record or failure, when known.
    """

    unit: PlanUnit
    state: UnitState
    error: str | None = None
    host: str | None = None

    def line(self) -> str:
        """One line: number, key, state and error, e.g.
        ``"unit 3 full/OCI->M/seed1: failed on node7: ValueError: ..."``.
        """
        where = f" on {self.host}" if self.host else ""
        what = {
            "finished": "finished",
            "failed": f"failed{where}: {self.error}",
            "stale": f"record of another configuration: {self.error}",
            "started": "started, no record (running, or interrupted: it continues from its "
            "last saved state when run again)",
            "missing": "not started",
        }[self.state]
        return f"unit {self.unit.number} {self.unit.key}: {what}"


@dataclass
class Collected:
    """The state of a protocol's run folders.

    Attributes:
        root: the protocol's output folder.
        plan: its plan.
        statuses: one per unit, in plan order.
        records: unit number -> record of every finished unit.
        result: the tables, when every unit finished.
        envs: unit number -> the environment its record names.
    """

    root: Path
    plan: Plan
    statuses: list[UnitStatus]
    records: dict[int, RunRecord] = field(default_factory=dict)
    result: ProtocolResult | None = None
    envs: dict[int, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every unit has a valid record."""
        return all(s.state == "finished" for s in self.statuses)

    @property
    def unfinished(self) -> list[UnitStatus]:
        """The units without a valid record."""
        return [s for s in self.statuses if s.state != "finished"]

    def finished_seeds(self) -> list[int]:
        """The seeds whose every unit (each task and variant) finished, in plan order."""
        done: dict[int, bool] = {}
        for s in self.statuses:
            done[s.unit.seed] = done.get(s.unit.seed, True) and s.state == "finished"
        return [seed for seed in self.plan.seeds if done.get(seed, False)]

    def interim(self) -> ProtocolResult | None:
        """The tables over :meth:`finished_seeds` alone (every task and variant has each of
        them, so the comparisons stay paired), or ``None`` when no seed has finished.
        """
        seeds = self.finished_seeds()
        if not seeds:
            return None
        units = tuple(u for u in self.plan.units if u.seed in seeds)
        sub = dataclasses.replace(self.plan, units=units, seeds=tuple(seeds))
        return assemble_plan(sub, self.records, [self.envs[u.number] for u in units])

    def resubmit_command(self) -> str | None:
        """The command that runs only the unfinished units, or ``None`` (all finished, or
        the protocol was started from Python).
        """
        left = [s.unit.number for s in self.unfinished]
        if not left or not self.plan.command:
            return None
        return shlex.join([*self.plan.command, "--units", format_units(left)])

    def report(self) -> str:
        """What was collected: counts, each unfinished unit's line and the command that
        runs them.
        """
        n, done = len(self.statuses), len(self.records)
        lines = [f"{self.root}: {done} of {n} units finished"]
        by_state: dict[str, int] = {}
        for s in self.unfinished:
            by_state[s.state] = by_state.get(s.state, 0) + 1
        if by_state:
            lines[0] += " (" + ", ".join(f"{k} {v}" for k, v in by_state.items()) + ")"
        lines += [f"  {s.line()}" for s in self.unfinished]
        cmd = self.resubmit_command()
        if cmd:
            lines.append(f"run only these: {cmd}")
        elif self.unfinished:
            lines.append(
                f"run only these: the same protocol again with units "
                f"{format_units([s.unit.number for s in self.unfinished])} (finished runs "
                "are not run again)"
            )
        return "\n".join(lines)


def _status(unit: PlanUnit) -> tuple[UnitStatus, RunRecord | None]:
    folder = Path(unit.out)
    rec = read_record(folder, unit.fingerprint)
    data = read_record_data(folder) if rec is None else None
    if rec is not None:
        return UnitStatus(unit, "finished"), rec
    failure = read_failure(folder)
    if failure is not None:
        return UnitStatus(unit, "failed", str(failure.get("error")), failure.get("host")), None
    if data is not None:
        why = (
            f"fingerprint {data.get('fingerprint')} != planned {unit.fingerprint}"
            if data.get("fingerprint") != unit.fingerprint
            else "unreadable record"
        )
        return UnitStatus(unit, "stale", why, data.get("host")), None
    if folder.is_dir() and any(p.name not in (LOCK_NAME, RECORD_NAME) for p in folder.iterdir()):
        return UnitStatus(unit, "started"), None
    return UnitStatus(unit, "missing"), None


def merged_environment(envs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One environment for the tables: each key's value when every run agrees, else its
    distinct values joined by ``"; "`` in first-seen order.

    Example:
        >>> merged_environment([{"torch": "2.3", "device": "cuda (A100)"},
        ...                     {"torch": "2.3", "device": "cuda (H100)"}])
        {'torch': '2.3', 'device': 'cuda (A100); cuda (H100)'}
    """
    values: dict[str, list[Any]] = {}
    for env in envs:
        for k, v in env.items():
            seen = values.setdefault(k, [])
            if v not in seen:
                seen.append(v)
    return {k: vs[0] if len(vs) == 1 else "; ".join(map(str, vs)) for k, vs in values.items()}


def assemble_plan(
    plan: Plan, records: Mapping[int, RunRecord], envs: Sequence[Mapping[str, Any]]
) -> ProtocolResult:
    """The tables of a plan whose every unit has a record (``records`` by unit number)."""
    return assemble_result(
        [records[u.number] for u in plan.units],
        variants=list(plan.variants),
        seeds=list(plan.seeds),
        threshold=plan.threshold,
        checkpoint_policy=plan.checkpoint_policy,
        data=plan.data,
        env=merged_environment(envs),
        bootstrap_resamples=plan.bootstrap_resamples,
        bootstrap_seed=plan.bootstrap_seed,
    )


def write_tables(root: str | Path, result: ProtocolResult) -> None:
    """Write ``results.md``, ``results.csv`` and ``results.json`` into ``root``, each
    atomically (several processes finishing at once write the same files).
    """
    out = Path(root)
    atomic_write_text(out / "results.md", result.to_markdown())
    atomic_write_text(out / "results.csv", result.to_csv())
    atomic_write_text(out / "results.json", json.dumps(result.to_dict(), indent=2))


def collect(root: str | Path, *, write: bool = True) -> Collected:
    """Read a protocol's plan and run folders; assemble (and with ``write``, write) its
    tables when every unit finished.

    Args:
        root: the protocol's output folder (``--out``).
        write: write ``results.*`` when complete.

    Returns:
        The :class:`Collected` state (its ``result`` is ``None`` unless complete).

    Raises:
        FileNotFoundError: ``root`` holds no plan.
        ValueError: an unreadable plan.
    """
    plan = read_plan(root)
    statuses: list[UnitStatus] = []
    records: dict[int, RunRecord] = {}
    envs: dict[int, Mapping[str, Any]] = {}
    for unit in plan.units:
        status, rec = _status(unit)
        statuses.append(status)
        if rec is not None:
            records[unit.number] = rec
            data = read_record_data(unit.out) or {}
            envs[unit.number] = data.get("env") or {}
    out = Collected(Path(root), plan, statuses, records, envs=envs)
    if out.complete:
        out.result = assemble_plan(plan, records, list(envs.values()))
        if write:
            write_tables(root, out.result)
    return out
