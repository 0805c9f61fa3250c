"""The import direction of the layers (README, "Layout"): the library imports no run-time, wiring or
command code; ``runs`` only the library; ``results`` the library and ``runs``; ``training`` the
library, ``runs`` (its records) and ``results`` (its figures); ``experiment`` everything but
``cli``; nothing imports ``cli``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "overlapvae"
LIBRARY = {"data", "models", "losses", "frameworks", "metrics", "analysis", "utils"}
ROOMS = LIBRARY | {"runs", "results", "training", "experiment", "cli"}
ALLOWED = {
    **dict.fromkeys(LIBRARY, LIBRARY),
    "runs": LIBRARY | {"runs"},
    "results": LIBRARY | {"runs", "results"},
    "training": LIBRARY | {"runs", "results", "training"},
    "experiment": ROOMS - {"cli"},
    "cli": ROOMS,
}


def imported_rooms(path: Path) -> dict[str, int]:
    """``{room: line}`` of every ``overlapvae.<room>`` a file imports, at any depth of its code."""
    rooms = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "overlapvae" and len(parts) > 1 and parts[1] in ROOMS:
                rooms.setdefault(parts[1], node.lineno)
    return rooms


def test_every_module_is_in_a_room():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside the rooms: {loose}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == ROOMS


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_a_room_imports_only_the_rooms_below_it(room):
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports overlapvae.{imported}"
        for path in sorted((PACKAGE / room).rglob("*.py"))
        for imported, line in imported_rooms(path).items()
        if imported not in ALLOWED[room]
    ]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("folder", ["tests", "benchmarks", "notebooks", "src/hydra_plugins"])
def test_nothing_outside_the_commands_imports_them(folder):
    importers = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for imported, line in imported_rooms(path).items()
        if imported == "cli"
    ]
    assert not importers, f"modules importing overlapvae.cli: {importers}"


def test_the_walk_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from overlapvae.cli.train import main\n\nimport overlapvae.runs\n")
    assert imported_rooms(module) == {"cli": 2, "runs": 4}
