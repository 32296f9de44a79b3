"""The packages' layering: a package imports only packages of its own layer or below.

From the bottom: the root modules; the event contracts; Kafka plumbing (clusters, clients,
security, settings); the vessel's devices, the MQTT bridge and the link; the edge, the shore
services, commands and reports; the read model's projections; the API; the orchestration of a
whole fleet (plan, supervisor, chaos, story, check); the CLI on top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import fleetedge

LAYERS: list[set[str]] = [
    {"exceptions", "logs", "files", "__init__", "__main__"},
    {"events"},
    {"runtime", "security", "settings"},
    {"devices", "ingest", "link"},
    {"edge", "shore", "commands", "reports"},
    {"projections"},
    {"api"},
    {"orchestration", "roles", "deploy"},
    {"cli"},
]
ROOT = Path(fleetedge.__file__).parent


def _layer(package: str) -> int:
    for i, members in enumerate(LAYERS):
        if package in members:
            return i
    raise AssertionError(f"{package} is in no layer: add it to LAYERS")


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """The fleetedge packages ``path`` imports, with the line of each import."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "fleetedge" and len(parts) > 1:
                yield parts[1], node.lineno


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def test_every_package_is_in_a_layer() -> None:
    packages = {_package(p) for p in ROOT.rglob("*.py")}
    for package in packages:
        _layer(package)


def test_no_package_imports_one_above_it() -> None:
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _package(path)
        for imported, line in _imports(path):
            if _layer(imported) > _layer(own):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports fleetedge.{imported}")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from fleetedge.orchestration.chaos import Chaos\nimport fleetedge.cli\n")
    assert [name for name, _ in _imports(bad)] == ["orchestration", "cli"]
    assert _layer("orchestration") > _layer("api")
