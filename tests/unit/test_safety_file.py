"""The clinical safety file points only at tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAFETY = ROOT / "docs" / "clinical" / "safety.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_mitigation_names_an_existing_test() -> None:
    """Each hazard's proof is a real test, so a renamed test cannot leave the log stale."""
    text = SAFETY.read_text(encoding="utf-8")
    references = REFERENCE.findall(text)
    assert len(references) >= 30
    missing = [
        f"{file}::{name}"
        for file, name in references
        if not (ROOT / file).exists() or name not in _test_names(ROOT / file)
    ]
    assert missing == []


def test_every_hazard_has_a_proof() -> None:
    """No hazard row is left without at least one test."""
    rows = [
        line for line in SAFETY.read_text(encoding="utf-8").splitlines() if line.startswith("| H")
    ]
    assert len(rows) >= 15
    unproved = [
        row.split("|")[1].strip() for row in rows if not REFERENCE.search(row.split("|")[-2])
    ]
    assert unproved == []
