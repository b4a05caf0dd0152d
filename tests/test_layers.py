"""The layers are a checked contract: core ← units ← quotas ← campaigns ← stations ← ops ← bench.

A module may import from its own layer and the layers below it, never from one above: `core`
is plumbing that knows no domain, `units` the jurisdictions and units, `quotas` the plans and
notices, `campaigns` donations and the figures over all of them, `stations` the blood station's
records, `ops` operations over all of them (backup and restore, recounts, demo data), `bench`
the benchmark commands (development only: not in the production settings). Imports are read from
the source (every `import` and `from … import`, also inside functions), so a lazy import cannot
hide a dependency running up the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["core", "units", "quotas", "campaigns", "stations", "ops", "bench"]
RANK = {name: rank for rank, name in enumerate(LAYERS)}

# Known debts, each with its reason; the test also fails when one is paid and not struck out.
ALLOWED: dict[tuple[str, str], str] = {}


def _imports(path: Path) -> set[str]:
    """Top-level packages this module imports (relative imports resolve to its own package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(path.relative_to(ROOT).parts[0])
            elif node.module:
                found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def _violations() -> set[tuple[str, str]]:
    found = set()
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            for imported in _imports(path):
                if RANK[imported] > RANK[layer]:
                    found.add((path.relative_to(ROOT).as_posix(), imported))
    return found


def test_no_import_runs_up_the_layers():
    violations = _violations()
    unexpected = sorted(violations - set(ALLOWED))
    assert not unexpected, "imports from a higher layer: " + ", ".join(f"{m} → {i}" for m, i in unexpected)
    paid = sorted(set(ALLOWED) - violations)
    assert not paid, f"no longer imported, strike from ALLOWED: {paid}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from campaigns.models import Donation", {"campaigns"}),
        ("def f():\n    import quotas.services", {"quotas"}),
        ("from . import models", {"units"}),
        ("import json", set()),
    ],
)
def test_the_import_reader_sees_every_form(tmp_path, source, expected, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / "units" / "x.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    assert _imports(path) == expected

