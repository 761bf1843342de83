"""A protocol as a list of run units, and the plan file that names them.

A unit is one run: (variant or method, task, seed, the run's full settings). Units are
numbered 1..U in plan order (seed-major, then task, then variant). Its key
``<variant>/<task>/seed<S>`` names it for people; its configuration fingerprint (a hash of
every setting that changes what the run computes) tells a record of this run from one of
another configuration in the same folder.

``--shard K/N`` gives shard ``K`` the units whose number ``u`` has ``(u - 1) % N == K - 1``:
a deterministic subset that does not depend on which units are finished, so ``N`` job-array
tasks cover every unit exactly once. ``--units 3,5-7`` names units explicitly.

The plan file ``<out>/plan.json`` lists every unit of the protocol (not only those a
process runs), with the tables' settings and the command that started it;
:mod:`disentangle_fas.training.collect` assembles the tables from it and the run folders.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from disentangle_fas._io import atomic_write_text
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.rundir import RESUME_IGNORED_FIELDS

__all__ = [
    "PLAN_NAME",
    "Plan",
    "PlanUnit",
    "config_fingerprint",
    "format_units",
    "parse_shard",
    "parse_units",
    "read_plan",
    "shard_numbers",
    "unit_key",
    "write_plan",
]

#: The plan file in a protocol's output folder.
PLAN_NAME = "plan.json"
_PLAN_VERSION = 1


def unit_key(variant: str, task: str, seed: int) -> str:
    """A unit's readable name.

    Example:
        >>> unit_key("full", "OCI->M", 2)
        'full/OCI->M/seed2'
    """
    return f"{variant}/{task}/seed{seed}"


def config_fingerprint(cfg: TrainConfig, **also: Any) -> str:
    """A hash of every setting of ``cfg`` that changes what a run computes (the fields a
    resumed run may change, such as ``out`` or ``device``, are left out), and of ``also``.

    Example:
        >>> a = config_fingerprint(TrainConfig(steps=10, out="a"))
        >>> a == config_fingerprint(TrainConfig(steps=10, out="b"))
        True
        >>> a == config_fingerprint(TrainConfig(steps=11, out="a"))
        False
    """
    data = {k: v for k, v in cfg.to_dict().items() if k not in RESUME_IGNORED_FIELDS}
    data["_also"] = also
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"K/N"`` (shard K of N, 1-based).

    Raises:
        ValueError: not two positive integers with ``K <= N``.

    Example:
        >>> parse_shard("2/3")
        (2, 3)
    """
    parts = text.split("/")
    try:
        k, n = (int(p) for p in parts) if len(parts) == 2 else (0, 0)
    except ValueError:
        k, n = 0, 0
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 1/4")
    return k, n


def shard_numbers(total: int, k: int, n: int) -> list[int]:
    """The unit numbers (1-based) of shard ``k`` of ``n`` among ``total`` units.

    Example:
        >>> shard_numbers(7, 2, 3)
        [2, 5]
    """
    return [u for u in range(1, total + 1) if (u - 1) % n == k - 1]


def parse_units(text: str) -> list[int]:
    """Parse unit numbers: ``"3,5-7"`` -> ``[3, 5, 6, 7]`` (sorted, each once).

    Raises:
        ValueError: not a comma-separated list of positive numbers and ranges.
    """
    out: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(
                f"--units {text!r}: expected unit numbers and ranges such as 3,5-7"
            ) from None
        if a < 1 or b < a:
            raise ValueError(f"--units {text!r}: {part!r} is not a range of positive numbers")
        out.update(range(a, b + 1))
    return sorted(out)


def format_units(numbers: Sequence[int]) -> str:
    """Unit numbers as short ranges: ``[1, 2, 3, 5]`` -> ``"1-3,5"``.

    Example:
        >>> format_units([5, 1, 2, 3])
        '1-3,5'
    """
    nums = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ",".join(parts)


@dataclass(frozen=True)
class PlanUnit:
    """One unit of a plan.

    Attributes:
        number: its number, 1..U in plan order.
        key: ``<variant>/<task>/seed<S>``.
        variant: the variant or method.
        task: the task's name as given.
        seed: the seed.
        out: its run folder.
        fingerprint: its configuration fingerprint.
    """

    number: int
    key: str
    variant: str
    task: str
    seed: int
    out: str
    fingerprint: str


@dataclass(frozen=True)
class Plan:
    """Everything needed to assemble a protocol's tables from its run folders.

    Attributes:
        units: every unit, in plan order.
        variants: the variants, in table order.
        seeds: the seeds, in run order.
        threshold: the configured threshold strategy.
        checkpoint_policy: the configured checkpoint policy.
        data: ``"synthetic"`` or the data's path.
        bootstrap_resamples: resamples of the single-seed bootstrap.
        bootstrap_seed: its generator's seed.
        command: the command line that runs the protocol (without ``--shard``/``--units``),
            or empty when it was started from Python.
        kind: ``"protocol"``, or ``"study"`` for ``--preset`` studies (they add probes).
        description: the study's description line (empty for a protocol).
        config: the base configuration (``TrainConfig.to_dict()``).
    """

    units: tuple[PlanUnit, ...]
    variants: tuple[str, ...]
    seeds: tuple[int, ...]
    threshold: str
    checkpoint_policy: str
    data: str
    bootstrap_resamples: int
    bootstrap_seed: int
    command: tuple[str, ...] = ()
    kind: str = "protocol"
    description: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible values (:meth:`from_dict` reverses it)."""
        d = asdict(self)
        d["version"] = _PLAN_VERSION
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        """Read what :meth:`to_dict` wrote.

        Raises:
            ValueError: another plan version or a malformed plan.
        """
        if d.get("version") != _PLAN_VERSION:
            raise ValueError(f"plan version {d.get('version')!r}, expected {_PLAN_VERSION}")
        try:
            return cls(
                units=tuple(PlanUnit(**u) for u in d["units"]),
                variants=tuple(d["variants"]),
                seeds=tuple(int(s) for s in d["seeds"]),
                threshold=str(d["threshold"]),
                checkpoint_policy=str(d["checkpoint_policy"]),
                data=str(d["data"]),
                bootstrap_resamples=int(d["bootstrap_resamples"]),
                bootstrap_seed=int(d["bootstrap_seed"]),
                command=tuple(d.get("command", ())),
                kind=str(d.get("kind", "protocol")),
                description=str(d.get("description", "")),
                config=dict(d.get("config", {})),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed plan ({exc!r})") from None

    def same_study(self, other: Plan) -> bool:
        """Whether ``other`` plans the same runs and tables: the command, the description
        and the settings a run may change when resumed (:data:`RESUME_IGNORED_FIELDS`:
        where and how it runs, e.g. ``progress``) may differ.
        """
        a, b = self.to_dict(), other.to_dict()
        for d in (a, b):
            d.pop("command")
            d.pop("description")
            d["config"] = {k: v for k, v in d["config"].items() if k not in RESUME_IGNORED_FIELDS}
        return a == b


def write_plan(root: str | Path, plan: Plan, *, replace: bool = False) -> Path:
    """Write ``root/plan.json`` atomically; an existing plan must plan the same study
    unless ``replace``.

    Raises:
        ValueError: ``root`` holds the plan of another study (other units, settings or
            tables): one line naming the folder.
    """
    path = Path(root) / PLAN_NAME
    try:
        old = None if replace or not path.is_file() else read_plan(root)
    except ValueError:
        old = None  # unreadable or of another version: this one replaces it
    if old is not None and not old.same_study(plan):
        raise ValueError(
            f"{root} holds another protocol's plan ({PLAN_NAME}: other units or settings); "
            "choose another --out, or pass --overwrite to replace its runs"
        )
    if old is None or old.to_dict() != plan.to_dict():
        atomic_write_text(path, json.dumps(plan.to_dict(), indent=1))
    return path


def read_plan(root: str | Path) -> Plan:
    """Read ``root/plan.json``.

    Raises:
        FileNotFoundError: no plan there (nothing was started in ``root``).
        ValueError: an unreadable or malformed plan.
    """
    path = Path(root) / PLAN_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{root}: no {PLAN_NAME} (not the output folder of a protocol started by this version)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is unreadable ({exc})") from None
    return Plan.from_dict(data)
