"""The answer key is an oracle (issue 14, item 3): it shares no code with what it
checks, and nothing the pipeline runs imports the generator.

- The oracle modules (``answer_key``, ``dates``, ``ids`` and whatever they import
  inside ``pipelines/synthetic``) import nothing from ``core/``,
  ``expectations/``, ``assets/`` or ``reports/``.
- No module of ``core/``, ``expectations/``, ``assets/`` or ``reports/`` imports
  ``pipelines.synthetic`` (tests/test_import_graph.py forbids every upward
  import; this names the generator so a future exception there cannot let it in).
- The generator's non-oracle parts take contract facts from ``core/``: every
  Chinese header it writes is a contract alias and every enum label a contract
  label.
"""
from __future__ import annotations

import ast
from pathlib import Path

from core.contract import ENUMS, TABLES

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO / "pipelines" / "synthetic"
ORACLE = ("answer_key", "dates", "ids")
CHECKED = ("core", "expectations", "assets", "reports")


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(absolute module names, sibling module names of relative imports) of one file."""
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            absolute |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                absolute.add(node.module)
            elif node.level == 1:
                relative |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return absolute, relative


def oracle_leaks(package: Path, roots=ORACLE) -> dict[str, set[str]]:
    """{module: imports of checked code} over the roots and their relative imports, transitively."""
    todo, seen, leaks = list(roots), set(), {}
    while todo:
        mod = todo.pop()
        path = package / f"{mod}.py"
        if mod in seen or not path.is_file():
            continue
        seen.add(mod)
        absolute, relative = _imports(path)
        bad = {n for n in absolute if n.split(".")[0] in CHECKED}
        if bad:
            leaks[mod] = bad
        todo += sorted(relative)
    return leaks


def test_the_oracle_imports_nothing_it_checks():
    assert oracle_leaks(GENERATOR) == {}


def test_the_leak_check_follows_relative_imports(tmp_path):
    """A helper imported by the answer key that reaches into core/ is caught (so {} means something)."""
    (tmp_path / "answer_key.py").write_text("from .helper import f\n", encoding="utf-8")
    (tmp_path / "helper.py").write_text("def f():\n    from core.dates import add_months\n", encoding="utf-8")
    assert oracle_leaks(tmp_path) == {"helper": {"core.dates"}}


def test_nothing_the_pipeline_runs_imports_the_generator():
    bad = []
    for layer in CHECKED:
        for path in sorted((REPO / layer).rglob("*.py")):
            absolute, _ = _imports(path)
            bad += [f"{path.relative_to(REPO)} imports {n}" for n in absolute if n.startswith("pipelines.synthetic")]
    assert bad == []


def test_written_headers_and_labels_are_the_contracts():
    from pipelines.synthetic import writer

    for table, cols in writer.ZH.items():
        for col, header in cols.items():
            assert header in TABLES[table].column(col).aliases, (table, col, header)
    for (table, col), labels in writer.LABELS.items():
        contract = ENUMS[TABLES[table].column(col).enum]
        assert set(labels) == set(contract), (table, col)
        assert all(lb in contract[code].split("/") for code, lb in labels.items()), (table, col)
    assert writer.WAN_HEADER in dict(TABLES["employers"].column("registered_capital_cny").scaled_aliases)
