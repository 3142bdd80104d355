"""The package's layers: each may import only those below it (ARCHITECTURE's order), an
import inside a function included; no import circles; no module past 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ncf"

#: low to high; a layer imports only from lower ones (or from itself)
LAYERS = (
    ("errors", "random", "version"),
    ("runtime",),
    ("data",),
    ("models", "evaluation"),
    ("training", "inference"),
    ("reporting", "serving"),
    ("experiment",),
    ("cli",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The ``ncf`` modules a file imports, anywhere in it but under TYPE_CHECKING."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module:
                found.add(child.module)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name.split(".")[0] == "ncf"}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package's own __init__


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) is not None))
def test_imports_point_down(module: str) -> None:
    own = RANK[layer(module)]  # type: ignore[index]
    upward = [
        name
        for name in imported(MODULES[module])
        if layer(name) is None or RANK.get(layer(name), -1) > own  # type: ignore[arg-type]
    ]
    assert not upward, f"{module} (layer {own}) imports from above: {upward}"


def test_no_circles_and_small_modules() -> None:
    graph = {m: {n for n in imported(p) if n in MODULES and n != m} for m, p in MODULES.items()}
    graph = {m: e for m, e in graph.items() if not MODULES[m].name == "__init__.py"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and not seen.add(nxt) and reaches(nxt, goal, seen)):
                return True
        return False

    circles = sorted(m for m in graph if reaches(m, m, set()))
    assert not circles, f"modules on an import circle: {circles}"
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"modules past 500 lines: {long}"
    root = [m for m, p in MODULES.items() if p.parent == SRC and p.name != "__init__.py"]
    assert len(root) <= 6, f"modules at the package root: {root}"


def test_the_public_api_loads_on_first_use() -> None:
    import subprocess
    import sys

    import ncf

    assert sorted(ncf.__all__) == sorted([*ncf._WHERE, "__version__"])
    assert all(getattr(ncf, name) is not None for name in ncf.__all__)
    # `ncf --version` and `ncf --help` answer without torch
    probe = "import sys, ncf.cli; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
        == "False\n"
    )
