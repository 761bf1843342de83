"""The attack vocabulary: ids, names, and the attacks seen and held out by default.

Attack ids: ``0`` live (bona fide), ``1`` print, ``2`` replay, ``3`` mask (the attack held
out as "unseen" by default). The package exports every name defined here.
"""

from __future__ import annotations

#: Attack ids.
LIVE, PRINT, REPLAY, MASK = 0, 1, 2, 3
#: Attack names by id (``ATTACK_NAMES[attack_id]``).
ATTACK_NAMES: tuple[str, ...] = ("live", "print", "replay", "mask")
#: Attack id by name.
ATTACKS: dict[str, int] = {name: i for i, name in enumerate(ATTACK_NAMES)}
#: Spoof types of the source domains in the paper's protocols.
SEEN_ATTACKS: tuple[int, ...] = (PRINT, REPLAY)
#: Spoof types held out for the unseen-attack task.
UNSEEN_ATTACKS: tuple[int, ...] = (MASK,)
