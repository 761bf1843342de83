"""docs/architecture.md names only modules and objects that exist."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
NAME = re.compile(r"\bdisentangle_fas(?:\.\w+)+")


def _resolve(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or a module followed by one attribute of it."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:  # a parent is a module, not a package
            spec = None
        if spec is not None:
            rest = parts[cut:]
            if not rest:
                return True
            return len(rest) == 1 and hasattr(importlib.import_module(module), rest[0])
    return False


def test_every_named_module_exists() -> None:
    names = sorted(set(NAME.findall(DOC.read_text())))
    assert len(names) > 30  # the page is read, not skipped
    missing = [n for n in names if not _resolve(n)]
    assert missing == []


def test_the_resolver_rejects_what_does_not_exist() -> None:
    assert _resolve("disentangle_fas.training.loop.train")
    assert not _resolve("disentangle_fas.training.nothing_here")
    assert not _resolve("disentangle_fas.training.loop.no_such_function")
