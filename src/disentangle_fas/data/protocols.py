"""Cross-domain protocols: which domains, splits and attack types train and test a model.

A :class:`CrossDomainProtocol` names ``S`` source domains and one unseen target domain. It
works with any domain names (the five benchmarks ``"O"``, ``"C"``, ``"I"``, ``"M"``,
``"Cb"``, the synthetic benchmark's domains, your own).

Splits. The DG-FAS literature (MADDG, SSDG and the papers that copy their tables) trains
on every split of each source dataset except its dev split and tests on every split of
the target except its dev split. That is the default here
(:data:`DEFAULT_SOURCE_SPLITS` = :data:`DEFAULT_TARGET_SPLITS` = ``("train", "test")``;
CASIA-FASD, MSU-MFSD and CelebA-Spoof have no dev split, so all their data is used).
Pass other splits to :class:`CrossDomainProtocol` or :func:`leave_one_out` to change it,
e.g. ``target_splits=("test",)`` to test on the official test split only, or add
``"dev"`` to the sources.

Attack filters. A filter is the set of attack ids kept (0 is live). The paper's Table 2
tests on CelebA-Spoof's live images and its unseen attack, 3D masks (spoof type 10):
``target_attack_filter = {0, 10}``, the default whenever the target is ``"Cb"``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

__all__ = [
    "BENCHMARK_DOMAINS",
    "CELEBA_3D_MASK_FILTER",
    "DEFAULT_SOURCE_SPLITS",
    "DEFAULT_TARGET_SPLITS",
    "TABLE1_TASKS",
    "TABLE2_TASKS",
    "CrossDomainProtocol",
    "Selection",
    "benchmark_protocols",
    "leave_one_out",
    "leave_one_out_protocols",
    "parse_task",
]

BENCHMARK_DOMAINS: tuple[str, ...] = ("O", "C", "I", "M", "Cb")
DEFAULT_SOURCE_SPLITS: tuple[str, ...] = ("train", "test")
DEFAULT_TARGET_SPLITS: tuple[str, ...] = ("train", "test")
#: live + CelebA-Spoof spoof type 10 (3D mask).
CELEBA_3D_MASK_FILTER: frozenset[int] = frozenset({0, 10})
#: The paper's Table 1 (print and replay attacks, O/C/I/M leave-one-out).
TABLE1_TASKS: tuple[str, ...] = ("OCI->M", "OMI->C", "OCM->I", "ICM->O")
#: The paper's Table 2 (target CelebA-Spoof, unseen 3D-mask attack).
TABLE2_TASKS: tuple[str, ...] = ("OCI->Cb", "OMI->Cb", "OCM->Cb", "ICM->Cb")
_VALID_SPLITS = frozenset({"train", "dev", "test"})


class _Labelled(Protocol):
    @property
    def domain(self) -> str: ...
    @property
    def split(self) -> str: ...
    @property
    def attack(self) -> int: ...


T = TypeVar("T", bound=_Labelled)


@dataclass(frozen=True)
class Selection:
    """What one side of a protocol reads; pass as keyword arguments to a crop dataset.

    Attributes:
        domains: domain name -> domain index (sources ``0 .. S-1``; the target ``S``).
        splits: splits read.
        attacks: attack ids kept, or ``None`` for all.
    """

    domains: dict[str, int]
    splits: tuple[str, ...]
    attacks: frozenset[int] | None

    def as_kwargs(self) -> dict[str, Any]:
        """``{"domains": ..., "splits": ..., "attacks": ...}`` for dataset constructors."""
        return {"domains": dict(self.domains), "splits": self.splits, "attacks": self.attacks}


def _name(sources: Sequence[str], target: str) -> str:
    joiner = "" if all(len(s) == 1 for s in sources) else "&"
    return f"{joiner.join(sources)}->{target}"


@dataclass(frozen=True)
class CrossDomainProtocol:
    """Train on ``sources``, test on the unseen ``target``.

    Args:
        sources: source domain names; their order gives the domain indices ``0 .. S-1``.
        target: target domain name (not a source).
        name: display name; default like ``"OCI->M"`` (``"A&B&C->D"`` for longer names).
        source_splits: splits of the sources used for training.
        target_splits: splits of the target used for testing.
        target_attack_filter: attack ids of the target kept (0 live), ``None``: all.
        source_attack_filter: attack ids of the sources kept, ``None``: all.

    Raises:
        ValueError: no sources, duplicates, target among the sources, unknown split.
    """

    sources: tuple[str, ...]
    target: str
    name: str = ""
    source_splits: tuple[str, ...] = DEFAULT_SOURCE_SPLITS
    target_splits: tuple[str, ...] = DEFAULT_TARGET_SPLITS
    target_attack_filter: frozenset[int] | None = None
    source_attack_filter: frozenset[int] | None = field(default=None)

    def __post_init__(self) -> None:
        if isinstance(self.sources, str):
            raise TypeError("sources must be a sequence of domain names, not one string")
        sources = tuple(str(s) for s in self.sources)
        if not sources:
            raise ValueError("a protocol needs at least one source domain")
        if len(set(sources)) != len(sources):
            raise ValueError(f"duplicate source domains: {sources}")
        if self.target in sources:
            raise ValueError(f"target {self.target!r} is also a source: it must be unseen")
        object.__setattr__(self, "sources", sources)
        for attr in ("source_splits", "target_splits"):
            splits = tuple(getattr(self, attr))
            bad = [s for s in splits if s not in _VALID_SPLITS]
            if not splits or bad:
                raise ValueError(f"{attr} must be non-empty, from train/dev/test; got {splits}")
            object.__setattr__(self, attr, splits)
        for attr in ("target_attack_filter", "source_attack_filter"):
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, frozenset(int(a) for a in value))
        if not self.name:
            object.__setattr__(self, "name", _name(sources, self.target))

    @property
    def num_sources(self) -> int:
        """``S``, the number of source domains."""
        return len(self.sources)

    @property
    def domain_index(self) -> dict[str, int]:
        """Source name -> index ``0 .. S-1``, target -> ``S``."""
        index = {name: i for i, name in enumerate(self.sources)}
        index[self.target] = len(self.sources)
        return index

    def selection(self, role: str) -> Selection:
        """The domains, splits and attacks of one side.

        Args:
            role: ``"source"`` or ``"target"``.

        Returns:
            The selection (target domain index ``S``).

        Raises:
            ValueError: unknown role.
        """
        if role == "source":
            domains = {name: i for i, name in enumerate(self.sources)}
            return Selection(domains, self.source_splits, self.source_attack_filter)
        if role == "target":
            domains = {self.target: len(self.sources)}
            return Selection(domains, self.target_splits, self.target_attack_filter)
        raise ValueError(f"role must be 'source' or 'target', got {role!r}")

    def selects(self, role: str, domain: str, split: str, attack: int) -> bool:
        """Whether an item with these fields belongs to one side."""
        sel = self.selection(role)
        return (
            domain in sel.domains
            and split in sel.splits
            and (sel.attacks is None or attack in sel.attacks)
        )

    def filter(self, items: Iterable[T], role: str) -> list[T]:
        """The items (records, manifest entries, ...) of one side, in order.

        Args:
            items: objects with ``domain``, ``split`` and ``attack`` attributes.
            role: ``"source"`` or ``"target"``.

        Returns:
            The selected items.
        """
        return [i for i in items if self.selects(role, i.domain, i.split, i.attack)]

    def with_splits(
        self, source: Sequence[str] | None = None, target: Sequence[str] | None = None
    ) -> CrossDomainProtocol:
        """A copy using other splits (``None`` keeps the current ones)."""
        return replace(
            self,
            source_splits=tuple(source) if source is not None else self.source_splits,
            target_splits=tuple(target) if target is not None else self.target_splits,
        )


def parse_task(text: str, known: Sequence[str] = BENCHMARK_DOMAINS) -> tuple[list[str], str]:
    """Split a task name into sources and target.

    Accepted: ``"OCI->M"``, ``"O&C&I->M"``, ``"O&C&I to M"``, ``"O,C,I→M"``, and any
    ``&``- or comma-separated names (``"A&B&C->D"``). Undelimited sources are read as a
    run of ``known`` names (longest first, so ``"CbO"`` is ``Cb``, ``O``); benchmark names
    are matched case-insensitively.

    Args:
        text: the task name.
        known: names that undelimited sources are made of.

    Returns:
        ``(sources, target)``.

    Raises:
        ValueError: the text is not a task name.
    """
    norm = text.strip().replace("→", "->")
    norm = re.sub(r"\s+to\s+", "->", norm, flags=re.IGNORECASE)
    if norm.count("->") != 1:
        raise ValueError(f"task {text!r} must look like 'OCI->M' or 'A&B&C->D'")
    left, right = (part.strip() for part in norm.split("->"))
    canon = {k.lower(): k for k in known}
    if re.search(r"[&,+]", left):
        sources = [s.strip() for s in re.split(r"[&,+]", left)]
    else:
        sources, rest = [], left.replace(" ", "")
        by_length = sorted(known, key=len, reverse=True)
        while rest:
            hit = next((k for k in by_length if rest.lower().startswith(k.lower())), None)
            if hit is None:
                raise ValueError(
                    f"cannot read sources {left!r} of task {text!r}: separate names with '&'"
                )
            sources.append(hit)
            rest = rest[len(hit) :]
    if not right or any(not s for s in sources):
        raise ValueError(f"task {text!r} has an empty domain name")
    sources = [canon.get(s.lower(), s) for s in sources]
    return sources, canon.get(right.lower(), right)


_UNSET: Any = object()


def leave_one_out(
    name: str,
    *,
    source_splits: Sequence[str] = DEFAULT_SOURCE_SPLITS,
    target_splits: Sequence[str] = DEFAULT_TARGET_SPLITS,
    target_attack_filter: Collection[int] | None = _UNSET,
    source_attack_filter: Collection[int] | None = None,
) -> CrossDomainProtocol:
    """The protocol of a task name, e.g. ``"OCI->M"`` or ``"O&C&I->Cb"``.

    The paper's eight tasks (:data:`TABLE1_TASKS`, :data:`TABLE2_TASKS`) are recognised
    whatever the order or spelling of their sources and get their canonical name and
    source order. A ``"Cb"`` target keeps live images and 3D masks by default
    (:data:`CELEBA_3D_MASK_FILTER`). Other names (``"A&B&C->D"``) give a protocol over
    those domains.

    Args:
        name: the task.
        source_splits: splits of the sources for training.
        target_splits: splits of the target for testing.
        target_attack_filter: target attack ids kept; default: live + 3D mask for ``"Cb"``,
            all otherwise (pass ``None`` to keep all for ``"Cb"`` too).
        source_attack_filter: source attack ids kept (``None``: all).

    Returns:
        The protocol.

    Raises:
        ValueError: the name cannot be parsed or names the target as a source.
    """
    sources, target = parse_task(name)
    key = (frozenset(sources), target)
    for task in TABLE1_TASKS + TABLE2_TASKS:
        task_sources, task_target = parse_task(task)
        if key == (frozenset(task_sources), task_target) and len(task_sources) == len(sources):
            sources = task_sources
    if target_attack_filter is _UNSET:
        target_attack_filter = CELEBA_3D_MASK_FILTER if target == "Cb" else None
    return CrossDomainProtocol(
        sources=tuple(sources),
        target=target,
        source_splits=tuple(source_splits),
        target_splits=tuple(target_splits),
        target_attack_filter=None
        if target_attack_filter is None
        else frozenset(target_attack_filter),
        source_attack_filter=None
        if source_attack_filter is None
        else frozenset(source_attack_filter),
    )


def leave_one_out_protocols(domains: Sequence[str], **kwargs: Any) -> list[CrossDomainProtocol]:
    """Every leave-one-domain-out protocol over ``domains`` (e.g. the synthetic benchmark's).

    Args:
        domains: domain names (at least two).
        **kwargs: split and filter options of :class:`CrossDomainProtocol`.

    Returns:
        One protocol per domain as target, the others (in the given order) as sources.

    Raises:
        ValueError: fewer than two domains or duplicates.
    """
    names = list(domains)
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"need at least two distinct domains, got {names}")
    return [
        CrossDomainProtocol(sources=tuple(n for n in names if n != target), target=target, **kwargs)
        for target in names
    ]


def benchmark_protocols(table: str, **kwargs: Any) -> list[CrossDomainProtocol]:
    """The paper's task sets: ``"table1"`` (O/C/I/M leave-one-out) or ``"table2"`` (-> Cb).

    Args:
        table: ``"table1"`` or ``"table2"``.
        **kwargs: options of :func:`leave_one_out`.

    Returns:
        The four protocols.

    Raises:
        ValueError: unknown table.
    """
    tasks = {"table1": TABLE1_TASKS, "table2": TABLE2_TASKS}.get(table.lower())
    if tasks is None:
        raise ValueError(f"unknown table {table!r}: choose 'table1' or 'table2'")
    return [leave_one_out(t, **kwargs) for t in tasks]
