"""Layers point down (issue 14, item 4): wiring (pipelines) -> graph (assets)
-> builders (reports) -> rule book (expectations) -> core. Every import of every
production module (also imports inside functions) is read with ``ast`` and
checked against that order; test support is imported by tests only; core and
the rule book never import Dagster; ingest never imports Great Expectations."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAYERS = ["core", "expectations", "reports", "assets", "pipelines"]  # each may import those before it
TEST_SUPPORT = {"expectations.testing", "assets.marts.sample", "tests"}
# modules allowed to import test support: none in production, except these benchmark / sample scripts
SUPPORT_USERS = {"assets.marts.sample", "assets.marts.bench", "reports.site.synthetic", "reports.site.bench",
                 "expectations.testing"}


def modules() -> dict[str, Path]:
    out = {}
    for layer in LAYERS:
        for path in (REPO / layer).rglob("*.py"):
            mod = ".".join(path.relative_to(REPO).with_suffix("").parts)
            out[mod.removesuffix(".__init__")] = path
    return out


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def violations() -> list[str]:
    bad = []
    for mod, path in sorted(modules().items()):
        layer = LAYERS.index(mod.split(".")[0])
        for name in sorted(imports_of(path)):
            top = name.split(".")[0]
            if top in LAYERS and LAYERS.index(top) > layer:
                bad.append(f"{mod} imports {name} (a layer above)")
            if any(name == s or name.startswith(s + ".") for s in TEST_SUPPORT) and mod not in SUPPORT_USERS:
                bad.append(f"{mod} imports test support {name}")
            if top == "dagster" and mod.split(".")[0] in ("core", "expectations", "reports"):
                bad.append(f"{mod} imports Dagster")
            if top == "great_expectations" and mod.split(".")[0] != "expectations":
                bad.append(f"{mod} imports Great Expectations")
            if mod.startswith("assets.ingest") and (name.startswith("expectations.gx_suites")
                                                    or top == "great_expectations"):
                bad.append(f"{mod} starts the rule step's GX import")
    return bad


def test_layers_point_down_only():
    assert violations() == []


def test_the_check_sees_a_violation(tmp_path, monkeypatch):
    """The checker itself catches an upward import (so an empty list means something)."""
    fake = REPO / "core" / "_import_graph_probe.py"
    fake.write_text("def f():\n    from assets.warehouse import sql_str\n", encoding="utf-8")
    try:
        assert violations() == ["core._import_graph_probe imports assets.warehouse (a layer above)",
                                "core._import_graph_probe imports assets.warehouse.sql_str (a layer above)"]
    finally:
        fake.unlink()
