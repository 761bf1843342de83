"""Base of the named evaluation choices (threshold strategies, checkpoint policies).

A choice is a string enum whose members say whether they look at the target test labels
(their value starts with ``"oracle"``), describe themselves for reports, and are looked up
from their string value with an error that lists the accepted ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import Self

__all__ = ["NamedChoice"]


class NamedChoice(str, Enum):  # noqa: UP042 (StrEnum formats members differently)
    """A string enum of evaluation choices.

    Subclasses list their members as ``NAME = "value", "one-line description"``: the
    value is the member's string (``member.value``, ``str(member)`` comparisons, lookup
    by value), the description its :attr:`description`. :meth:`kind` (the noun used in
    errors) comes from the class name. :attr:`is_oracle` is true for a member that looks at
    the target test labels (its value starts with ``oracle``); :meth:`coerce` accepts a
    member or its string value.
    """

    _description: str

    def __new__(cls, value: str, description: str) -> Self:
        """Make the member ``value``, described by ``description``."""
        member = str.__new__(cls, value)
        member._value_ = value
        member._description = description
        return member

    @classmethod
    def kind(cls) -> str:
        """What a member is called in messages: the class name in lower-case words
        (``CheckpointPolicy`` is ``"checkpoint policy"``).
        """
        return re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__.lstrip("_")).lower()

    @classmethod
    def descriptions(cls) -> Mapping[NamedChoice, str]:
        """One human-readable line per member."""
        return {member: member.description for member in cls}

    @property
    def is_oracle(self) -> bool:
        """Whether the choice looks at the target test labels."""
        return str(self.value).startswith("oracle")

    @property
    def description(self) -> str:
        """One-line human-readable description, used in reports."""
        return self._description

    @classmethod
    def coerce(cls, value: Self | str) -> Self:
        """Return ``value`` as a member, accepting its string value.

        Raises:
            ValueError: when ``value`` names no member; the message lists the accepted ones.
        """
        for member in cls:
            if member.value == value:
                return member
        accepted = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"unknown {cls.kind()} {value!r}; choose one of {accepted}")
