"""Selecting domains and attack types by code, name or id."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from disentangle_fas.synthetic.domains import DOMAINS
from disentangle_fas.synthetic.labels import ATTACK_NAMES, ATTACKS

__all__ = ["resolve_attacks", "resolve_domains"]


def resolve_domains(domains: Sequence[str | int] | str | int) -> tuple[int, ...]:
    """Turn domain codes, names or global indices into global domain ids.

    Args:
        domains: one domain or a sequence of them (codes such as ``"O"`` or ``"cb"`` are
            case-insensitive; names such as ``"webcam-lowres"``; or indices into
            :data:`~disentangle_fas.synthetic.DOMAINS`).

    Returns:
        The global ids, in the given order.

    Raises:
        ValueError: an unknown or repeated domain, or an empty selection.
        TypeError: an entry that is neither a string nor an integer.
    """
    items = [domains] if isinstance(domains, (str, int)) else list(domains)
    if not items:
        raise ValueError("select at least one domain")
    lookup = {d.code.lower(): i for i, d in enumerate(DOMAINS)}
    lookup.update({d.name.lower(): i for i, d in enumerate(DOMAINS)})
    out: list[int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, np.integer)):
            raise TypeError(f"a domain is a code, a name or an index, got {item!r}")
        if isinstance(item, str):
            if item.lower() not in lookup:
                known = ", ".join(f"{d.code} ({d.name})" for d in DOMAINS)
                raise ValueError(f"unknown synthetic domain {item!r}; known domains: {known}")
            gid = lookup[item.lower()]
        else:
            gid = int(item)
            if not 0 <= gid < len(DOMAINS):
                raise ValueError(f"domain index {gid} out of range 0..{len(DOMAINS) - 1}")
        if gid in out:
            raise ValueError(f"domain {DOMAINS[gid].code!r} selected twice")
        out.append(gid)
    return tuple(out)


def resolve_attacks(attacks: Sequence[str | int] | str | int) -> tuple[int, ...]:
    """Turn attack names or ids into spoof attack ids (1 print, 2 replay, 3 mask).

    Args:
        attacks: one attack or a sequence; ``"all"`` selects every spoof type.

    Returns:
        The attack ids, in the given order.

    Raises:
        ValueError: unknown, repeated or live (0) attack types, or an empty selection.
    """
    if attacks == "all":
        return tuple(range(1, len(ATTACK_NAMES)))
    items = [attacks] if isinstance(attacks, (str, int)) else list(attacks)
    if not items:
        raise ValueError("select at least one attack type (or set live_fraction=1)")
    out: list[int] = []
    for item in items:
        aid = ATTACKS.get(item.lower(), -1) if isinstance(item, str) else int(item)
        if not 1 <= aid < len(ATTACK_NAMES):
            raise ValueError(
                f"unknown spoof attack {item!r}; choose from "
                + ", ".join(f"{i} {n}" for i, n in enumerate(ATTACK_NAMES) if i > 0)
            )
        if aid in out:
            raise ValueError(f"attack {ATTACK_NAMES[aid]!r} selected twice")
        out.append(aid)
    return tuple(out)
