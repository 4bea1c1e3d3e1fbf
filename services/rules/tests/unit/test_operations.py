"""Operational policy data (issue 11 point 9): schema checks at load, inheritance, dating."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from onestop.rules.domain import PolicyRegistry, validate_policy_text

POLICIES = Path(__file__).resolve().parents[2] / "policies"
GUYANG = (POLICIES / "150222" / "policy.v1.yaml").read_text("utf-8")


def errors(text: str) -> list[tuple[str, str]]:
    return [(e.path, e.reason) for e in validate_policy_text("150222/policy.v1.yaml", text)]


def test_operations_are_validated_on_load():
    assert errors(GUYANG) == []
    bad = GUYANG.replace('thresholds: ["10000.00", "30000.00", "50000.00"]', 'thresholds: ["30000.00", "10000.00"]', 1)
    (path, reason), = errors(bad)
    assert path == "operations.cost_alerts" and "ascending" in reason
    (path, reason), = errors(GUYANG.replace("apply_by_day: 10", "apply_by_day: 31"))
    assert path == "operations.claims.apply_by_day" and "less than or equal to 28" in reason
    (path, reason), = errors(GUYANG.replace("returned_on: payment", "returned_on: discharge"))
    assert path == "operations.documents.returned_on"
    (path, reason), = errors(GUYANG.replace("    - payer: gap_fill\n", "    - payer: lottery\n"))
    assert path == "operations.funds[0].payer" and "no payer 'lottery'" in reason
    (path, reason), = errors(GUYANG.replace("grace_days: 30, ", "grace_days: 30, colour: red, "))
    assert path == "operations.repayment.colour"
    # a number must say where it comes from
    got = errors(GUYANG.replace("claims: {illustrative: true, apply_by_day: 10, review_days: 30}",
                                "claims: {apply_by_day: 10, review_days: 30}"))
    assert [p for p, _ in got] == ["operations.claims.apply_by_day", "operations.claims.review_days"]
    assert all("names no seed" in r for _, r in got)


def test_a_county_overrides_one_part_and_inherits_the_rest(tmp_path):
    for code in ("410000", "411203"):
        (tmp_path / code).mkdir()
        (tmp_path / code / "policy.v1.yaml").write_text((POLICIES / code / "policy.v1.yaml").read_text("utf-8"))
    child = tmp_path / "411203" / "policy.v1.yaml"
    child.write_text(child.read_text("utf-8") + """
operations:
  repayment:
    grace_days: {by_date: [{from: 2017-06-30, value: 30}, {from: 2024-01-01, value: 60}], illustrative: true}
""", encoding="utf-8")
    reg = PolicyRegistry.load(tmp_path)
    old, new = (reg.resolve("411203", d).operations for d in (date(2023, 12, 31), date(2024, 1, 1)))
    assert old is not None and new is not None
    assert (old.repayment.grace_days, new.repayment.grace_days) == (30, 60)  # type: ignore[union-attr]
    assert new.repayment.reminder_lead_days == [7, 3, 1]  # type: ignore[union-attr]  # 河南's
    assert new.documents == reg.resolve("410000", date(2024, 1, 1)).operations.documents  # type: ignore[union-attr]
