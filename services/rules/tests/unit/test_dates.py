"""Issue 11 point 8: seed dates of their own — 和田's payers from 2018, its treat-first from 2019;
启东's pilot hospitals from the quarter the seed names."""

from __future__ import annotations

from datetime import date

import pytest

from onestop.rules.domain import NoPolicyInForce, compute_quote

A, C = "250101001", "ZZ0000001"


def test_000_hotan_four_guarantees_from_2018_treat_first_from_2019(registry, mk):
    # 2018-06-01, registered poor, county inpatient, A 20000 + C 5000 (the same bill as the 2019 test):
    # basic (20000 − 300) × 85% = 16745; CI 3255 < 12000 → 0; assistance 3255 × 70% = 2278.50;
    # ci_supplement to 95%: remaining 5976.50 − target 1250 = 4726.50; self 1250
    req = mk("653200", categories=["registered_poor"], on="2018-06-01",
             lines=[(A, "A", "20000.00"), (C, "C", "5000.00")])
    q = compute_quote(registry.resolve("653200", date(2018, 6, 1)), req)
    assert {p.payer: p.amount for p in q.payers} == {"basic": 1674500, "critical_illness": 0,
                                                      "assistance": 227850, "ci_supplement": 472650}
    assert q.self_pay == 125000
    # …while treat-first is not in force before 2019 (全面实行 in 2019)
    with pytest.raises(NoPolicyInForce):
        registry.treat_first("653200", date(2018, 12, 31))
    rule = registry.treat_first("653200", date(2019, 1, 1))
    assert rule.valid_from == date(2019, 1, 1)
    # 2017: nothing of 和田's is in force yet
    with pytest.raises(NoPolicyInForce):
        registry.resolve("653200", date(2017, 12, 31))


def test_004_qidong_pilot_hospitals_start_in_their_quarter(registry):
    # 004 一(三): 第二季度在市人民医院启动试点；第三季度在市中医院启动试点 (first day of the quarter, illustrative)
    def codes(on: date) -> list[str]:
        return [h.hospital_code for h in registry.hospitals("320681", on)]

    assert codes(date(2020, 3, 31)) == []
    assert codes(date(2020, 4, 1)) == ["H320681001"]
    assert codes(date(2020, 6, 30)) == ["H320681001"]
    assert codes(date(2020, 7, 1)) == ["H320681001", "H320681002"]
    upcoming = {h.hospital_code: h.valid_from for h in registry.hospitals("320681", date(2020, 5, 1), upcoming=True)}
    assert upcoming == {"H320681001": date(2020, 4, 1), "H320681002": date(2020, 7, 1)}
