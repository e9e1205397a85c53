"""The CA boundary holds: adapters import only certsvc's public, storage-free modules.

A plug-in gets its options and a narrow ledger, never certsvc's settings, database or
service layers; this checks every module under ``ca_adapters/`` (the suite included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "ca_adapters"
ALLOWED = ("certsvc.errors", "certsvc.clock", "certsvc.logging", "certsvc.domain")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _allowed(module: str) -> bool:
    top = module.partition(".")[0]
    if top == "sqlalchemy":
        return False
    if top != "certsvc":
        return True
    return any(module == allowed or module.startswith(f"{allowed}.") for allowed in ALLOWED)


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_ca_adapters_import_nothing_of_storage_or_the_service_layers(path: Path) -> None:
    refused = [module for module in _imports(path) if not _allowed(module)]
    assert refused == [], f"{path.relative_to(ROOT.parent)} imports {refused}"
