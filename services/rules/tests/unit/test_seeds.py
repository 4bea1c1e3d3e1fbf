"""Each seed's rule as a named test; the numbers are worked by hand in the comments (yuan)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rules_unit_helpers import POOR, A, amounts, quote

from onestop.contracts.money import half_up
from onestop.rules.domain import to_nhsa

C = "ZZ0000001"  # 营养餐, class C


def test_003_95_percent_rule_self_pay_is_half_up_of_5_percent(registry, mk):
    # 150222, registered poor, county inpatient, one A line 12345.67 (in scope).
    # basic: deductible 300 × 50% = 150, ratio 75% + 5 = 80%: (12345.67 − 150) × 0.80 = 9756.536 → 9756.54
    # critical illness: base 12345.67 − 9756.54 = 2589.13 < threshold 13000 × 50% = 6500 → 0
    # commercial: 2589.13 below its 10000 deductible → 0
    # assistance: 2589.13 × 60% = 1553.478 → 1553.48
    # gap_fill: target self-pay = half_up(12345.67 × 5%) = 617.2835 → 617.28;
    #           remaining 12345.67 − 9756.54 − 1553.48 = 1035.65 → pays 1035.65 − 617.28 = 418.37
    q = quote(registry, mk(categories=POOR, lines=[(A, "A", "12345.67")]))
    assert amounts(q) == {"basic": 975654, "critical_illness": 0, "commercial": 0, "assistance": 155348,
                          "gap_fill": 41837}
    assert q.self_pay == 61728 == half_up(q.total * Decimal("0.05"))
    assert str(q.effective_ratio) == "0.9500"
    assert [p.payer for p in q.payers] == ["basic", "critical_illness", "commercial", "assistance", "gap_fill"]


def test_003_gap_fill_counts_out_of_scope_cost_too(registry, mk):
    # 实际花销 is the whole bill: A 1000 + C 1000 at county, poor.
    # basic (1000 − 150) × 80% = 680; CI 0; assistance (1000 − 680) × 60% = 192;
    # remaining 2000 − 872 = 1128; target 2000 × 5% = 100 → gap_fill 1028; self 100.
    q = quote(registry, mk(categories=POOR, lines=[(A, "A", "1000.00"), (C, "C", "1000.00")]))
    assert amounts(q)["gap_fill"] == 102800 and q.self_pay == 10000


def test_003_tilt_deductible_halved_and_ratio_plus_5(registry, mk):
    # county: deductible 300 → 150, ratio 75% → 80%; non-poor: 300 and 75%
    poor = quote(registry, mk(categories=["subsistence_allowance"], lines=[(A, "A", "1000.00")]))
    basic = poor.payers[0].trace
    assert (basic.deductible, str(basic.ratio)) == (15000, "0.80")
    assert poor.payers[0].amount == 68000  # (1000 − 150) × 0.80
    other = quote(registry, mk(categories=[], lines=[(A, "A", "1000.00")]))
    assert (other.payers[0].trace.deductible, str(other.payers[0].trace.ratio)) == (30000, "0.75")
    assert other.payers[0].amount == 52500  # (1000 − 300) × 0.75


def test_003_tilt_critical_illness_threshold_halved_and_tiers_plus_5(registry, mk):
    # CI threshold 13000 → 6500; tiers 55/65/75% → 60/70/80%
    q = quote(registry, mk(categories=["extreme_poverty"], lines=[(A, "A", "100.00")]))
    ci = next(p for p in q.payers if p.payer == "critical_illness").trace
    assert ci.deductible == 650000 and str(ci.ratio) == "0.60"


def test_003_repeat_stay_same_level_waives_basic_deductible(registry, mk):
    acc = {"stays": {"inpatient": {"county": 1}}}
    q = quote(registry, mk(categories=POOR, lines=[(A, "A", "1000.00")], accumulators=acc))
    assert q.payers[0].trace.deductible == 0 and q.payers[0].amount == 80000  # 1000 × 80%
    # a waiver beats the halving: 0, not 75
    assert "tilts.repeat_stay_waiver_payers" in q.payers[0].trace.lines
    assert "tilts.deductible_factor" not in q.payers[0].trace.lines
    # a stay at another level earlier this year does not waive it: 150
    acc2 = {"stays": {"inpatient": {"township": 2}}}
    q2 = quote(registry, mk(categories=POOR, lines=[(A, "A", "1000.00")], accumulators=acc2))
    assert q2.payers[0].trace.deductible == 15000
    # the CI threshold is not waived by a repeat stay (only halved): 6500
    ci = next(p for p in q.payers if p.payer == "critical_illness").trace
    assert ci.deductible == 650000


def test_003_disabled_child_and_severe_waived_at_county_and_below(registry, mk):
    for disability, level in (("disabled_child", "county"), ("severe", "township")):
        q = quote(registry, mk(categories=["poor_disabled"], disability=disability, level=level,
                               lines=[(A, "A", "1000.00")]))
        assert q.payers[0].trace.deductible == 0, (disability, level)
    # at city level only the halving: 600 → 300
    q = quote(registry, mk(categories=["poor_disabled"], disability="severe", level="city",
                           lines=[(A, "A", "1000.00")]))
    assert q.payers[0].trace.deductible == 30000


def test_003_outpatient_county_and_below_70_to_80(registry, mk):
    q = quote(registry, mk(categories=POOR, kind="outpatient", level="township", lines=[(A, "A", "100.00")]))
    assert str(q.payers[0].trace.ratio) == "0.80" and q.payers[0].amount == 8000
    other = quote(registry, mk(kind="outpatient", level="township", lines=[(A, "A", "100.00")]))
    assert str(other.payers[0].trace.ratio) == "0.70" and other.payers[0].amount == 7000
    city = quote(registry, mk(categories=POOR, kind="outpatient", level="city", lines=[(A, "A", "100.00")]))
    assert str(city.payers[0].trace.ratio) == "0.50"  # above county: no tilt
    # no +5 points on outpatient: the floor replaces, it does not add
    assert "tilts.inpatient_ratio_points" not in q.payers[0].trace.lines


def test_003_package_price_and_hosp_part_amt(registry, mk):
    # 胃癌 C16.9 at a Baotou city hospital, poor; itemised A 50000, package price 42000 (illustrative)
    # hosp_part_amt = 8000; basic city: deductible 600 → 300, ratio 65 + 5 = 70%:
    #   (42000 − 300) × 0.70 = 29190
    # CI: base 42000 − 29190 = 12810; above 6500: 6310 × 60% = 3786
    # commercial: 12810 − 3786 = 9024 below its 10000 deductible → 0
    # assistance: (12810 − 3786) × 60% = 5414.40
    # gap_fill: remaining 42000 − 29190 − 3786 − 5414.40 = 3609.60, target 2100 → 1509.60; self 2100
    q = quote(registry, mk(categories=POOR, level="city", disease_code="C16.9", lines=[(A, "A", "50000.00")]))
    assert (q.total, q.itemised_total, q.hosp_part_amt) == (4200000, 5000000, 800000)
    assert amounts(q) == {"basic": 2919000, "critical_illness": 378600, "commercial": 0, "assistance": 541440,
                          "gap_fill": 150960}
    assert q.self_pay == 210000
    n = to_nhsa(q)
    assert n.medfee_sumamt == "50000.00" and n.hosp_part_amt == "8000.00"


def test_003_children_packages_only_for_children(registry, mk):
    adult = quote(registry, mk(categories=POOR, level="city", disease_code="Q21.0", age=30,
                               lines=[(A, "A", "50000.00")]))
    assert adult.hosp_part_amt == 0 and adult.total == 5000000
    child = quote(registry, mk(categories=POOR, level="city", disease_code="Q21.0", age=6,
                               lines=[(A, "A", "50000.00")]))
    assert child.total == 3000000 and child.hosp_part_amt == 2000000


def test_000_hotan_reaches_95_percent_for_registered_poor(registry, mk):
    # A 20000 + C 5000, county: basic (20000 − 300) × 85% = 16745; CI 3255 < 12000 → 0;
    # assistance 3255 × 70% = 2278.50; remaining 25000 − 19023.50 = 5976.50;
    # ci_supplement (gap_fill 95%): target 1250 → 4726.50; self 1250, effective 95%.
    q = quote(registry, mk("653200", categories=POOR, lines=[(A, "A", "20000.00"), (C, "C", "5000.00")]))
    assert amounts(q) == {"basic": 1674500, "critical_illness": 0, "assistance": 227850,
                          "ci_supplement": 472650}
    assert q.self_pay == 125000 and str(q.effective_ratio) == "0.9500"
    # already above 95% (A 20000 only): self 976.50 < 1000, ci_supplement pays 0
    q2 = quote(registry, mk("653200", categories=POOR, lines=[(A, "A", "20000.00")]))
    assert amounts(q2)["ci_supplement"] == 0 and q2.self_pay == 97650
    assert q2.effective_ratio >= Decimal("0.95")
    n = to_nhsa(q)
    assert n.oth_pay_detail == {} and n.hifmi_pay == "4726.50"  # 390300, the resident CI supplement


def test_002_lingqiu_four_party_40_35_none_above_county_and_replaces_assistance(registry, mk):
    lines = [(A, "A", "1000.00"), (C, "C", "200.00")]
    # township: basic (1000 − 100) × 90% = 810; CI 0; four_party (1200 − 810) × 40% = 156; self 234
    q = quote(registry, mk("140224", categories=POOR, disease_class="A", level="township", lines=lines))
    assert amounts(q) == {"basic": 81000, "critical_illness": 0, "four_party": 15600}
    assert q.self_pay == 23400
    assert any(s.code == "replaces" for s in q.trace)
    # county: basic (1000 − 400) × 80% = 480; four_party (1200 − 480) × 35% = 252; self 468
    q = quote(registry, mk("140224", categories=POOR, disease_class="C", level="county", lines=lines))
    assert amounts(q)["four_party"] == 25200 and q.self_pay == 46800
    # city: no share, and still no assistance
    q = quote(registry, mk("140224", categories=POOR, disease_class="B", level="city", lines=lines))
    assert amounts(q)["four_party"] == 0 and "assistance" not in amounts(q)
    # not a member: assistance (1000 − 810) × 60% = 114
    q = quote(registry, mk("140224", categories=POOR, level="township", lines=lines))
    assert amounts(q)["assistance"] == 11400 and "four_party" not in amounts(q)


def test_002_lingqiu_charity_grant_once_per_year(registry, mk):
    lines = [(A, "A", "1000.00"), (C, "C", "200.00")]
    q = quote(registry, mk("140224", categories=POOR, disease_class="A", level="township", lines=lines,
                           unable=True))
    assert amounts(q)["charity"] == 23400 and q.self_pay == 0  # min(2000, 234)
    assert q.delta.grants_used == {"charity": 1}
    q2 = quote(registry, mk("140224", categories=POOR, disease_class="A", level="township", lines=lines,
                            unable=True, accumulators={"grants_used": {"charity": 1}}))
    assert amounts(q2)["charity"] == 0 and q2.self_pay == 23400


def test_001_henan_payers_in_order(registry, mk):
    # 411203 (inherits 410000), registered poor, confirmed unable to pay, A 50000 at county:
    # basic (50000 − 300) × 80% = 39760; CI 10240 < 15000 → 0;
    # ci_supplement (10240 − 3000) × 50% = 3620; assistance (10240 − 3620) × 70% = 4634;
    # emergency_assistance (50000 − 39760 − 3620 − 4634) × 50% = 1986 × 50% = 993; self 993
    q = quote(registry, mk("411203", categories=POOR, lines=[(A, "A", "50000.00")], unable=True))
    assert [p.payer for p in q.payers] == ["basic", "critical_illness", "ci_supplement", "assistance",
                                           "emergency_assistance"]
    assert [p.amount for p in q.payers] == [3976000, 0, 362000, 463400, 99300]
    assert q.self_pay == 99300
    assert q.policy.id == "411203" and [(p.id, p.version) for p in q.policy.parents] == [("410000", 1)]
    agencies = {p.payer: p.agency for p in q.payers}
    assert agencies["assistance"] == "民政局"


def test_critical_illness_marginal_tiers(registry, mk):
    # 410000 non-poor, A 100000 at county, CI cumulative self-pay before 40000:
    # basic (100000 − 300) × 80% = 79760; CI base 20240 moves 40000 → 60240:
    # [40000, 50000) × 50% = 5000 + [50000, 60240) × 60% = 6144 → 11144; self 9096
    q = quote(registry, mk("410000", lines=[(A, "A", "100000.00")],
                           accumulators={"cumulative_self_pay": {"critical_illness": "40000.00"}}))
    assert amounts(q) == {"basic": 7976000, "critical_illness": 1114400}
    assert q.self_pay == 909600
    assert q.delta.cumulative_self_pay == {"critical_illness": 2024000}


def test_annual_cap_left(registry, mk):
    # basic cap 150000, already paid 149000: pays at most 1000
    acc = {"paid": {"basic": "149000.00"}}
    q = quote(registry, mk("410000", lines=[(A, "A", "10000.00")], accumulators=acc))
    assert q.payers[0].amount == 100000 and q.payers[0].trace.cap_left == 100000


def test_004_qidong_employee_and_resident(registry, mk):
    emp = quote(registry, mk("320681", insurance="employee", lines=[(A, "A", "1000.00")]))
    res = quote(registry, mk("320681", insurance="resident", lines=[(A, "A", "1000.00")]))
    assert emp.payers[0].amount == 35200 and emp.payers[0].trace.nhsa_code == "310100"  # (1000 − 600) × 88%
    assert res.payers[0].amount == 37500 and res.payers[0].trace.nhsa_code == "390100"  # (1000 − 500) × 75%
    tf = registry.treat_first("320681", date(2024, 1, 1))
    assert tf.hospital_scope == "city" and tf.public_hospitals_only and tf.blacklist_blocks_direct_settlement
    assert tf.agreement_scope == "city" and tf.blacklist_scope == "city"
    assert [g.insurance for g in tf.groups] == [["employee"]]
