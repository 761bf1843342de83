"""docs/architecture.md names only modules and objects that exist."""

from __future__ import annotations

import ast
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


SRC = Path(__file__).resolve().parents[1] / "src"
ROW = re.compile(r"^\| (`disentangle_fas[^|]*)\|[^|]*\|([^|]*)\|$")


def _package_map() -> list[tuple[list[str], str]]:
    """The rows of the package map: the modules each names and its "may import" cell."""
    rows = []
    for line in DOC.read_text().splitlines():
        m = ROW.match(line.strip())
        if m:
            rows.append((re.findall(r"`(disentangle_fas[\w.]*)`", m.group(1)), m.group(2).strip()))
    return rows


def _within(module: str, names: list[str]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def _row_of(module: str, rows: list[tuple[list[str], str]]) -> int | None:
    """The row whose most specific name holds ``module`` (``training.cli`` before ``training``)."""
    best: tuple[int, int] | None = None
    for i, (names, _) in enumerate(rows):
        for n in names:
            if _within(module, [n]) and (best is None or len(n) > best[1]):
                best = (i, len(n))
    return None if best is None else best[0]


def _allowed(i: int, rows: list[tuple[list[str], str]]) -> list[str]:
    """The modules row ``i`` may import: what its cell names, and the foundation (last row)."""
    cell = rows[i][1]
    below = [n for names, _ in rows[i + 1 :] for n in names]
    if cell == "everything below":
        return below
    models = _row_of("disentangle_fas.model", rows)
    assert models is not None
    named: list[str] = []
    if cell != "nothing of the library":
        for token in re.sub(r"\(.*?\)", "", cell).split(","):
            token = token.strip().strip("`")
            # "models" is the row of the models; every other word names a package.
            named += rows[models][0] if token == "models" else [f"disentangle_fas.{token}"]
    return named + rows[-1][0]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The library modules ``path`` imports, at any depth (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        # ``from pkg import name`` imports ``pkg``, and ``pkg.name`` when that is a module.
        found.update(n for n in candidates if n.startswith("disentangle_fas") and _is_module(n))
    return found


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def test_every_module_has_a_row_and_every_row_imports_only_below() -> None:
    rows = _package_map()
    assert len(rows) >= 10  # the table is read
    for i, _ in enumerate(rows):
        for name in _allowed(i, rows):
            j = _row_of(name, rows)
            assert j is not None and (j > i or j == len(rows) - 1), (rows[i][0][0], name)
    modules = [_module_name(p) for p in (SRC / "disentangle_fas").rglob("*.py")]
    assert [m for m in modules if m != "disentangle_fas" and _row_of(m, rows) is None] == []


def test_imports_run_down_the_package_map() -> None:
    rows = _package_map()
    wrong = []
    for path in sorted((SRC / "disentangle_fas").rglob("*.py")):
        module = _module_name(path)
        i = _row_of(module, rows)
        if i is None:  # the root package: it holds the version and imports nothing
            assert module == "disentangle_fas" and _imports(path) == set()
            continue
        for target in _imports(path):
            j = _row_of(target, rows)
            if j == i or target == "disentangle_fas":  # the same room, or the version
                continue
            if j is None or not _within(target, _allowed(i, rows)):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_import_check_sees_an_upward_import(tmp_path: Path) -> None:
    rows = _package_map()
    data = _row_of("disentangle_fas.data.records", rows)
    assert data is not None
    assert not _within("disentangle_fas.training.loop", _allowed(data, rows))
    assert _within("disentangle_fas.types", _allowed(data, rows))
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from disentangle_fas.training.loop import train\n")
    assert _imports(probe) == {"disentangle_fas.training.loop"}
