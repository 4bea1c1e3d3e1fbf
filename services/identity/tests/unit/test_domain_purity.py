"""identity's domain core reads no files and no clock (STYLE: a use case passes `today` and parsed rows in)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "onestop" / "identity" / "domain"
# pii.py seals values (it needs a nonce source) and is not a pure core; these are.
PURE = ("registers.py", "id_number.py", "changes.py", "eligibility.py", "person_facts.py")
NO_IO = {"io", "os", "csv", "codecs", "tempfile", "zipfile", "openpyxl", "pathlib", "zoneinfo", "time", "asyncio"}
CLOCK = {"now", "today", "utcnow", "today_shanghai"}


@pytest.mark.parametrize("name", PURE)
def test_a_pure_domain_module_imports_no_io_and_reads_no_clock(name: str) -> None:
    tree = ast.parse((DOMAIN / name).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & NO_IO, f"{name} imports {sorted(imported & NO_IO)}"
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & CLOCK, f"{name} calls {sorted(calls & CLOCK)}"
    assert "open" not in calls, f"{name} opens files"
