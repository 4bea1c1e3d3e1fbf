"""Issue 11 point 6: national fund codes (fund_pay_type) are policy data, defaulting to the national table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rules_unit_helpers import POOR, A, quote

from onestop.rules.domain import PolicyRegistry, to_nhsa

OTHER_FUND = "999997"
POLICIES = Path(__file__).resolve().parents[2] / "policies"


def codes(q):
    return {p.payer: p.trace.nhsa_code for p in q.payers}


def test_guyang_gap_fill_is_government_gap_fill_640100_not_assistance(registry, mk):
    q = quote(registry, mk(categories=POOR, lines=[(A, "A", "12345.67")]))
    assert codes(q) == {"basic": "390100", "critical_illness": "390200", "commercial": "999997",
                        "assistance": "610100", "gap_fill": "640100"}
    n = to_nhsa(q)
    # 640100 has no national field of its own: oth_pay, named; medical assistance (maf) is assistance alone
    # (commercial, 999997, pays nothing on this bill: below its illustrative 10000 deductible)
    assert n.maf_pay == "1553.48" and n.oth_pay_detail == {"commercial": "0.00", "gap_fill": "418.37"}


def test_henan_ci_supplement_is_390300_in_the_critical_illness_field(registry, mk):
    q = quote(registry, mk("410000", categories=POOR, lines=[(A, "A", "30000.00")]))
    assert codes(q)["ci_supplement"] == "390300"
    n = to_nhsa(q)
    ci = sum(p.amount for p in q.payers if p.payer in ("critical_illness", "ci_supplement"))
    assert "ci_supplement" not in n.oth_pay_detail and n.hifmi_pay == f"{ci // 100}.{ci % 100:02d}"


def test_employee_critical_illness_takes_the_regions_code(registry, mk):
    # 启东 names 330200 for employees' large-amount insurance; residents keep 390200
    lines = [(A, "A", "30000.00")]
    # employee, county: basic (30000 − 600) × 88% = 25872; CI on 4128 above a cumulative 20000 × 60% = 2476.80
    acc = {"cumulative_self_pay": {"critical_illness": "20000.00"}}
    emp = quote(registry, mk("320681", insurance="employee", lines=lines, accumulators=acc))
    res = quote(registry, mk("320681", insurance="resident", lines=lines))
    assert codes(emp)["critical_illness"] == "330200" and codes(res)["critical_illness"] == "390200"
    n = to_nhsa(emp)
    assert n.hifmi_pay == "0.00" and n.hifob_pay == "2476.80"


@pytest.mark.parametrize(("payer", "given", "resident", "employee"), [
    ("basic", None, "390100", "310100"),
    ("critical_illness", None, "390200", OTHER_FUND),  # employee: the region's table, else other
    ("ci_supplement", None, "390300", OTHER_FUND),
    ("assistance", None, "610100", "610100"),
    ("gap_fill", None, "640100", "640100"),
    ("charity", None, OTHER_FUND, OTHER_FUND),
    ("commercial", None, "999997", "999997"),
    ("four_party", "610200", "610200", "610200"),
    ("critical_illness", {"employee": "330200"}, "390200", "330200"),
])
def test_fund_codes_default_to_the_national_table(payer, given, resident, employee):
    from onestop.contracts.enums import Insurance
    from onestop.rules.domain.payer import fund_codes

    if isinstance(given, dict):
        given = {Insurance(k): v for k, v in given.items()}
    got = fund_codes(payer, given)
    assert (got[Insurance.resident], got[Insurance.employee]) == (resident, employee)


def test_a_policy_names_its_payers_fund_code(tmp_path):
    from onestop.contracts.enums import Insurance

    text = (POLICIES / "410000" / "policy.v1.yaml").read_text(encoding="utf-8")
    at = "  - id: emergency_assistance\n"
    text = text.replace(at, at + '    fund_pay_type: "610300"\n')
    (tmp_path / "410000").mkdir()
    (tmp_path / "410000" / "policy.v1.yaml").write_text(text, encoding="utf-8")
    rp = PolicyRegistry.load(tmp_path).resolve("410000", date(2024, 3, 10))
    assert rp.payer("emergency_assistance").nhsa == {Insurance.resident: "610300", Insurance.employee: "610300"}
    assert PolicyRegistry.load(POLICIES).resolve("410000", date(2024, 3, 10)).payer(
        "emergency_assistance").nhsa[Insurance.resident] == OTHER_FUND
