"""Shared fixtures for the rules domain tests: the shipped policies and a request builder."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from onestop.contracts.quote import QuoteRequest
from onestop.rules.domain import PolicyRegistry

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # rules_unit_helpers.py, importable under --import-mode=importlib
    sys.path.insert(0, _HERE)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
ON = date(2024, 3, 10)


@pytest.fixture(scope="session")
def registry() -> PolicyRegistry:
    return PolicyRegistry.load(POLICIES)


def build_request(region: str = "150222", *, categories: list[str] | None = None, insurance: str = "resident",
                  disability: str | None = None, kind: str = "inpatient", level: str = "county",
                  lines: list[tuple[str, str, str]] | None = None, accumulators: dict | None = None,
                  disease_code: str | None = None, disease_class: str | None = None, age: int | None = None,
                  unable: bool = False, on: str = "2024-03-10") -> QuoteRequest:
    """lines: (code, class, amount yuan)."""
    person: dict[str, Any] = {"categories": categories or [], "insurance": insurance,
                              "disability": disability}
    if disease_class:
        person["disease_class"] = disease_class
    if age is not None:
        person["age"] = age
    return QuoteRequest.model_validate({
        "region_code": region, "date": on, "person": person,
        "stay": {"kind": kind, "hospital_level": level, "disease_code": disease_code,
                 "confirmed_unable_to_pay": unable},
        "accumulators": accumulators or {},
        "lines": [{"line_id": f"L{i}", "code": c, "name": c, "class": k, "amount": a}
                  for i, (c, k, a) in enumerate(lines or [])],
    })


@pytest.fixture
def mk():
    return build_request
