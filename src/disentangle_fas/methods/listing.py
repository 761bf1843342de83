"""``disentangle-fas methods``: every registered method with its settings and defaults."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence

from disentangle_fas.errors import ArgumentParser, command
from disentangle_fas.methods.registry import available_methods, method_builder

__all__ = ["describe_methods", "main"]


def _value(value: object) -> str:
    return (
        "none" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    )


def describe_methods(names: Sequence[str] | None = None, *, width: int = 88) -> str:
    """Plain text listing each method: its summary, named variants and settings.

    Args:
        names: the methods to list (default: every registered one).
        width: line width.

    Returns:
        The text (no trailing newline).

    Raises:
        ValueError: an unknown method name.
    """
    blocks = []
    for name in names or available_methods():
        spec = method_builder(name)
        lines = [f"{name}: {spec.summary}" if spec.summary else name]
        if spec.variants:
            lines.append(f"  variants (protocol --variants): {', '.join(spec.variants)}")
        settings = spec.settings()
        if not settings:
            lines.append("  no settings")
        for s in settings.values():
            head = f"  {s.name} = {_value(s.default)}  ({s.kind})"
            lines.append(head)
            if s.description:
                lines += textwrap.wrap(
                    s.description, width, initial_indent="      ", subsequent_indent="      "
                )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


@command("disentangle-fas methods")
def main(argv: Sequence[str] | None = None) -> int:
    """List the registered methods and their settings (``disentangle-fas methods``)."""
    parser = ArgumentParser(
        prog="disentangle-fas methods",
        description="List the registered methods (built-in and installed plugins), their "
        "named variants, and every setting with its default and source: set one with "
        "train/protocol --set KEY=VALUE or a [method] table in the config file.",
    )
    parser.add_argument("names", nargs="*", help="methods to list (default: all)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    print(describe_methods(args.names))
    return 0
