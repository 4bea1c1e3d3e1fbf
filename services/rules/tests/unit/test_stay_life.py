"""Issue 11 points 1, 2, 3, 5: yearly deductibles, a stay settled in parts (中途结算), the policy's date
basis, 按病种 below the package price, and a package stay settled in parts billing the package once.
Numbers worked by hand in the comments (yuan)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from rules_unit_helpers import POOR, A, amounts
from rules_unit_helpers import quote as q

from onestop.contracts.money import format_fen
from onestop.contracts.quote import Accumulators, QuoteRequest, apply_delta
from onestop.rules.domain import PolicyRegistry
from onestop.rules.service import Policies, quote

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def trace(res, payer):
    return next(p.trace for p in res.payers if p.payer == payer)


def acc_json(acc: Accumulators) -> dict[str, Any]:
    return acc.model_dump(mode="json")


def part_request(mk, region, *, index, final, on, amount, acc=None, starts_on=None, admitted_at=None,
                 borne=None, before=None, categories=POOR, level="county", **kw) -> QuoteRequest:
    base = mk(region, categories=categories, level=level, lines=[(A, "A", amount)], accumulators=acc, on=on, **kw)
    body = base.model_dump(mode="json", by_alias=True)
    part: dict[str, Any] = {"index": index, "final": final}
    if starts_on:
        part["starts_on"] = starts_on
    if borne:
        part["deductible_borne"] = borne
    if before:
        part["billed_before"] = before
    body["stay"].update(part=part, admitted_at=admitted_at)
    return QuoteRequest.model_validate(body)


# --------------------------------------------------------------------------- point 1: deductible basis


def test_001_henan_ci_supplement_deductible_is_yearly_basic_stays_per_stay(registry, mk):
    # 410000, registered poor, county, A 20000 (all in scope):
    # basic (20000 − 300) × 80% = 15760; CI base 4240 < 15000 → 0;
    # ci_supplement: base 4240, yearly deductible 3000 → (4240 − 3000) × 50% = 620, bears 3000;
    # assistance (4240 − 620) × 70% = 2534; self 1086
    first = q(registry, mk("410000", categories=POOR, lines=[(A, "A", "20000.00")]))
    assert amounts(first) == {"basic": 1576000, "critical_illness": 0, "ci_supplement": 62000, "assistance": 253400}
    assert first.self_pay == 108600 and first.delta.deductible_paid["ci_supplement"] == 300000
    # the second stay of the year: basic charges its 300 again (per inpatient stay); ci_supplement's
    # deductible is used up: 4240 × 50% = 2120; assistance (4240 − 2120) × 70% = 1484; self 636
    acc = apply_delta(Accumulators(), first.delta)
    second = q(registry, mk("410000", categories=POOR, lines=[(A, "A", "20000.00")], accumulators=acc_json(acc)))
    assert amounts(second) == {"basic": 1576000, "critical_illness": 0, "ci_supplement": 212000,
                               "assistance": 148400}
    assert trace(second, "basic").deductible == 30000 and trace(second, "ci_supplement").deductible == 0
    assert second.self_pay == 63600 and "ci_supplement" not in second.delta.deductible_paid
    assert "本年剩余起付线0.00元" in trace(second, "ci_supplement").text_zh
    # part used: 1000 of it borne earlier this year → 2000 left: (4240 − 2000) × 50% = 1120
    third = q(registry, mk("410000", categories=POOR, lines=[(A, "A", "20000.00")],
                           accumulators={"deductible_paid": {"ci_supplement": "1000.00"}}))
    assert amounts(third)["ci_supplement"] == 112000 and third.delta.deductible_paid["ci_supplement"] == 200000


def test_the_yearly_deductible_is_marked_illustrative(registry):
    text = (POLICIES / "410000" / "policy.v1.yaml").read_text(encoding="utf-8")
    block = text[text.index("  - id: ci_supplement"):text.index("  - id: assistance")]
    assert "deductible_basis: per_year" in block and "illustrative: true" in block
    rp = registry.resolve("410000", date(2024, 3, 10))
    assert rp.payer("ci_supplement").params[None].deductible_basis == "per_year"
    assert rp.payer("basic").params[None].deductible_basis == "per_stay"


# --------------------------------------------------------------------------- point 2: parts of a stay


def test_a_stay_crossing_new_year_settles_in_two_parts_carrying_the_deductible(registry, mk):
    # 410000, registered poor, county. Part 1 (up to 31 Dec 2024): A 200:
    # basic base 200 < 300 → 0, bears 200; CI 0; ci_supplement 200 < 3000 → 0, bears 200; assistance 200 × 70% = 140
    p1 = q(registry, part_request(mk, "410000", index=1, final=False, on="2024-12-31", amount="200.00",
                                  admitted_at="2024-12-20"))
    assert amounts(p1) == {"basic": 0, "critical_illness": 0, "ci_supplement": 0, "assistance": 14000}
    assert p1.delta.deductible_paid == {"basic": 20000, "critical_illness": 20000, "ci_supplement": 20000}
    assert trace(p1, "basic").deductible_borne == 20000
    assert p1.delta.stays == {"inpatient": {"county": 1}}  # the stay counts once, in its admission year
    # Part 2 (2025, final): A 10000 against 2025's empty accumulators, basic's 200 carried over:
    # basic (10000 − 100) × 80% = 7920; CI 0; ci_supplement: a new year's deductible 3000 > 2080 → 0;
    # assistance 2080 × 70% = 1456; self 624
    p2 = q(registry, part_request(mk, "410000", index=2, final=True, on="2025-01-08", amount="10000.00",
                                  starts_on="2025-01-01", admitted_at="2024-12-20",
                                  borne={"basic": "200.00", "ci_supplement": "200.00"}))
    assert amounts(p2) == {"basic": 792000, "critical_illness": 0, "ci_supplement": 0, "assistance": 145600}
    assert trace(p2, "basic").deductible == 10000 and trace(p2, "ci_supplement").deductible == 300000
    assert p2.self_pay == 62400 and p2.delta.stays == {}
    assert "本次住院剩余起付线100.00元" in trace(p2, "basic").text_zh


def test_a_later_part_does_not_waive_on_its_own_first_part(registry, mk):
    # 150222, registered poor, county: basic deductible 300 × 50% = 150, ratio 80%.
    # Part 1: A 100 → basic 0, bears 100; the year's stays now count this stay once.
    p1 = q(registry, part_request(mk, "150222", index=1, final=False, on="2024-05-31", amount="100.00",
                                  admitted_at="2024-05-20"))
    acc = apply_delta(Accumulators(), p1.delta)
    assert acc_json(acc)["stays"] == {"inpatient": {"county": 1}}
    # Part 2 (same year): no repeat-stay waiver for the stay's own earlier part: (1000 − 50) × 80% = 760
    p2 = q(registry, part_request(mk, "150222", index=2, final=True, on="2024-06-05", amount="1000.00",
                                  starts_on="2024-06-01", admitted_at="2024-05-20", acc=acc_json(acc),
                                  borne={"basic": "100.00"}))
    assert trace(p2, "basic").deductible == 5000 and amounts(p2)["basic"] == 76000
    # an earlier, separate stay at the county this year does waive it: 1000 × 80% = 800
    acc2 = apply_delta(acc, Accumulators.model_validate({"stays": {"inpatient": {"county": 1}}}))
    p2b = q(registry, part_request(mk, "150222", index=2, final=True, on="2024-06-05", amount="1000.00",
                                   starts_on="2024-06-01", admitted_at="2024-05-20", acc=acc_json(acc2),
                                   borne={"basic": "100.00"}))
    assert trace(p2b, "basic").deductible == 0 and amounts(p2b)["basic"] == 80000


def test_a_policy_may_charge_the_deductible_again_on_each_part(tmp_path, mk):
    text = (POLICIES / "410000" / "policy.v1.yaml").read_text(encoding="utf-8")
    text = text.replace("      base: policy_scope\n      inpatient:",
                        "      base: policy_scope\n      part_deductible: each_part\n      inpatient:", 1)
    (tmp_path / "410000").mkdir()
    (tmp_path / "410000" / "policy.v1.yaml").write_text(text, encoding="utf-8")
    reg = PolicyRegistry.load(tmp_path)
    # part 2 charges basic's 300 in full though part 1 bore 200: (10000 − 300) × 80% = 7760
    p2 = q(reg, part_request(mk, "410000", index=2, final=True, on="2025-01-08", amount="10000.00",
                             starts_on="2025-01-01", admitted_at="2024-12-20", borne={"basic": "200.00"}))
    assert trace(p2, "basic").deductible == 30000 and amounts(p2)["basic"] == 776000


def test_package_and_grant_apply_to_the_final_part_only(registry, mk):
    # 150222 C16 at a city hospital: a non-final part is billed on its lines, the final part takes the package
    kw = dict(level="city", disease_code="C16.9", admitted_at="2024-05-01")
    p1 = q(registry, part_request(mk, "150222", index=1, final=False, on="2024-05-31", amount="50000.00", **kw))
    assert not any(s.code == "package" for s in p1.trace) and p1.total == 5000000
    p2 = q(registry, part_request(mk, "150222", index=2, final=True, on="2024-06-10", amount="50000.00",
                                  starts_on="2024-06-01", **kw))
    # (this part sends no billed_before, as if nothing were billed before it: the full package)
    assert any(s.code == "package" for s in p2.trace) and p2.total == 4200000
    # 140224's charity grant (confirmed unable to pay): the final part only
    kw2 = dict(categories=POOR, disease_class="A", unable=True, admitted_at="2024-05-01", level="township")
    g1 = q(registry, part_request(mk, "140224", index=1, final=False, on="2024-05-31", amount="9000.00", **kw2))
    g2 = q(registry, part_request(mk, "140224", index=2, final=True, on="2024-06-10", amount="9000.00",
                                  starts_on="2024-06-01", **kw2))
    assert "charity" not in amounts(g1) and amounts(g2)["charity"] > 0
    assert g1.delta.grants_used == {} and g2.delta.grants_used == {"charity": 1}


# --------------------------------------------------------------------------- point 3: date basis


def _two_versions(tmp_path: Path, basis: str) -> Policies:
    """410000 v1 (2017-05-14) and a v2 from 2025-01-01 paying 90% at the county, counting by `basis`."""
    v1 = (POLICIES / "410000" / "policy.v1.yaml").read_text(encoding="utf-8")
    v2 = v1.replace("version: 1", "version: 2").replace("valid_from: 2017-05-14", "valid_from: 2025-01-01")
    v2 = v2.replace("date_basis: discharge", f"date_basis: {basis}")
    v2 = v2.replace('county: {deductible: "300.00", ratio: "0.80"}', 'county: {deductible: "300.00", ratio: "0.90"}')
    (tmp_path / "410000").mkdir(parents=True)
    (tmp_path / "410000" / "policy.v1.yaml").write_text(v1, encoding="utf-8")
    (tmp_path / "410000" / "policy.v2.yaml").write_text(v2, encoding="utf-8")
    return Policies.from_dir(tmp_path)


def _stay(mk, *, on="2025-01-05", admitted_at=None, discharged_at=None) -> QuoteRequest:
    body = mk("410000", lines=[(A, "A", "1000.00")], on=on).model_dump(mode="json", by_alias=True)
    body["stay"].update(admitted_at=admitted_at, discharged_at=discharged_at)
    return QuoteRequest.model_validate(body)


def test_the_policy_in_force_on_its_basis_date_is_used(tmp_path, mk):
    # admitted 2024-12-20 under v1 (80%), discharged 2025-01-05 under v2 (90%): (1000 − 300) × r
    dates = dict(admitted_at="2024-12-20", discharged_at="2025-01-05")
    by_admission = _two_versions(tmp_path / "a", "admission")
    res = quote(by_admission, _stay(mk, **dates))
    assert res.policy.version == 1 and res.payers[0].amount == 56000  # 700 × 80%
    by_discharge = _two_versions(tmp_path / "d", "discharge")
    res = quote(by_discharge, _stay(mk, **dates))
    assert res.policy.version == 2 and res.payers[0].amount == 63000  # 700 × 90%
    # a caller that sends only `date` keeps today's behaviour: the version in force on it
    assert quote(by_admission, _stay(mk, on="2025-01-05")).policy.version == 2
    assert quote(by_admission, _stay(mk, on="2024-12-31")).policy.version == 1


def test_each_part_picks_its_version_by_its_own_basis_date(tmp_path, mk):
    by_admission = _two_versions(tmp_path, "admission")
    # part 2 starts 2025-01-01: under an admission-date policy its own start picks v2
    p2 = part_request(mk, "410000", index=2, final=True, on="2025-01-08", amount="1000.00", categories=[],
                      starts_on="2025-01-01", admitted_at="2024-12-20")
    assert quote(by_admission, p2).policy.version == 2
    p1 = part_request(mk, "410000", index=1, final=False, on="2024-12-31", amount="1000.00", categories=[],
                      admitted_at="2024-12-20")
    assert quote(by_admission, p1).policy.version == 1


def test_the_request_documents_the_new_fields():
    schema = QuoteRequest.model_json_schema()
    stay, part = schema["$defs"]["Stay"]["properties"], schema["$defs"]["StayPart"]["properties"]
    for props, name in ((stay, "admitted_at"), (stay, "discharged_at"), (stay, "part"), (part, "index"),
                        (part, "final"), (part, "starts_on"), (part, "deductible_borne")):
        assert props[name].get("description"), name
    assert "ledger" in schema["$defs"]["StayPart"]["description"]


# --------------------------------------------------------------------------- point 5: package below its price


def test_003_guyang_bills_an_itemised_bill_below_the_package_price(registry, mk):
    # 150222, registered poor, C16 胃癌 at a city hospital, itemised 10000 < package 42000 → billed 10000:
    # basic (10000 − 300) × 70% = 6790; CI 3210 < 6500 → 0; commercial 3210 < 10000 → 0;
    # assistance 3210 × 60% = 1926;
    # gap_fill: 10000 − 8716 = 1284 above the target 500 → 784; the patient pays 500 (5% of 实际花销), not 2100
    res = q(registry, mk(categories=POOR, level="city", disease_code="C16.9", lines=[(A, "A", "10000.00")]))
    assert res.total == 1000000 and res.itemised_total == 1000000 and res.hosp_part_amt == 0
    assert amounts(res) == {"basic": 679000, "critical_illness": 0, "commercial": 0, "assistance": 192600,
                            "gap_fill": 78400}
    assert res.self_pay == 50000
    step = next(s for s in res.trace if s.code == "package")
    assert "按实际费用10000.00元结算" in step.text_zh and "payers.package.params.when_itemised_lower" in step.lines
    # above the price the package still bills 42000, the excess the hospital's
    big = q(registry, mk(categories=POOR, level="city", disease_code="C16.9", lines=[(A, "A", "50000.00")]))
    assert big.total == 4200000 and big.hosp_part_amt == 800000


def test_a_policy_that_does_not_say_bills_the_package_price(tmp_path, mk):
    text = (POLICIES / "150222" / "policy.v1.yaml").read_text(encoding="utf-8")
    text = "\n".join(ln for ln in text.splitlines() if "when_itemised_lower" not in ln) + "\n"
    (tmp_path / "150222").mkdir()
    (tmp_path / "150222" / "policy.v1.yaml").write_text(text, encoding="utf-8")
    res = q(PolicyRegistry.load(tmp_path),
            mk(categories=POOR, level="city", disease_code="C16.9", lines=[(A, "A", "10000.00")]))
    assert res.total == 4200000 and res.self_pay == 210000  # 42000 × 5%


# --------------------------------------------------------------------------- points 2 and 5: a package stay in parts


def _guyang_text() -> str:
    return (POLICIES / "150222" / "policy.v1.yaml").read_text(encoding="utf-8")


def _package_region(tmp_path: Path) -> PolicyRegistry:
    """150222 as a region that bills the package price also below it (`when_itemised_lower: package`)."""
    text = _guyang_text().replace("when_itemised_lower: {value: itemised", "when_itemised_lower: {value: package")
    assert "value: package" in text
    (tmp_path / "150222").mkdir()
    (tmp_path / "150222" / "policy.v1.yaml").write_text(text, encoding="utf-8")
    return PolicyRegistry.load(tmp_path)


C16 = dict(level="city", disease_code="C16.9", admitted_at="2024-05-01")


def _in_parts(reg, mk, first: str, second: str):
    """Two parts of one 150222 C16 stay at a city hospital in 2024 (registered poor): part 1 up to 31 May,
    part 2 (final) from 1 June carrying what part 1 billed and the deductibles it bore."""
    p1 = q(reg, part_request(mk, "150222", index=1, final=False, on="2024-05-31", amount=first, **C16))
    acc = acc_json(apply_delta(Accumulators(), p1.delta))
    borne = {k: format_fen(v) for k, v in p1.delta.deductible_paid.items()}
    p2 = q(reg, part_request(mk, "150222", index=2, final=True, on="2024-06-10", amount=second,
                             starts_on="2024-06-01", acc=acc, borne=borne, before=format_fen(p1.total), **C16))
    return p1, p2


def _whole(reg, mk, amount: str):
    return q(reg, mk(categories=POOR, level="city", disease_code="C16.9", lines=[(A, "A", amount)],
                             on="2024-06-10"))


def test_a_package_stay_in_two_parts_bills_what_one_settlement_bills(registry, mk):
    # 150222, registered poor, C16 胃癌 (package 42000) at a city hospital: basic deductible 600 × 50% = 300,
    # ratio 65% + 5 = 70%; critical illness threshold 13000 × 50% = 6500, 55% + 5 = 60%; commercial
    # deductible 10000; assistance 60%; gap fill to 95%.
    # One settlement of itemised 50000: billed 42000, the hospital bears 8000;
    # basic (42000 − 300) × 70% = 29190; CI (12810 − 6500) × 60% = 3786; commercial 9024 < 10000 → 0;
    # assistance 9024 × 60% = 5414.40; gap fill 3609.60 − 2100 = 1509.60; the patient 2100 (5%)
    whole = _whole(registry, mk, "50000.00")
    assert (whole.total, whole.hosp_part_amt, whole.self_pay) == (4200000, 800000, 210000)
    assert amounts(whole) == {"basic": 2919000, "critical_illness": 378600, "commercial": 0, "assistance": 541440,
                              "gap_fill": 150960}
    # Part 1, itemised 20000 (not final: billed itemised): basic (20000 − 300) × 70% = 13790; CI 6210 < 6500 → 0;
    # commercial 0; assistance 6210 × 60% = 3726; gap fill 2484 − 1000 = 1484; the patient 1000.
    # Part 2, itemised 30000, billed_before 20000: billed min(42000, 20000 + 30000) − 20000 = 22000, the
    # hospital bears 30000 − 22000 = 8000; basic 22000 × 70% = 15400 (deductible borne by part 1);
    # CI (6210 + 6600 − 6500) × 60% = 3786; commercial 0; assistance 2814 × 60% = 1688.40;
    # gap fill 1125.60 − 1100 = 25.60; the patient 1100
    p1, p2 = _in_parts(registry, mk, "20000.00", "30000.00")
    assert (p1.total, p1.hosp_part_amt, p1.self_pay) == (2000000, 0, 100000)
    assert amounts(p1) == {"basic": 1379000, "critical_illness": 0, "commercial": 0, "assistance": 372600,
                           "gap_fill": 148400}
    assert (p2.total, p2.itemised_total, p2.hosp_part_amt, p2.self_pay) == (2200000, 3000000, 800000, 110000)
    assert amounts(p2) == {"basic": 1540000, "critical_illness": 378600, "commercial": 0, "assistance": 168840,
                           "gap_fill": 2560}
    assert p1.total + p2.total == whole.total and p1.hosp_part_amt + p2.hosp_part_amt == whole.hosp_part_amt
    assert {k: amounts(p1)[k] + amounts(p2)[k] for k in amounts(whole)} == amounts(whole)
    assert p1.self_pay + p2.self_pay == whole.self_pay
    for res in (p1, p2):  # conservation per part, to the fen
        assert sum(amounts(res).values()) + res.self_pay == res.total
    step = next(s for s in p2.trace if s.code == "package")
    assert "此前中途结算已计费20000.00元" in step.text_zh and "余额22000.00元" in step.text_zh


def test_the_gap_fill_reaches_its_target_per_part_not_over_the_stay(registry, mk):
    # the same stay split 30000 + 20000. Part 1: basic (30000 − 300) × 70% = 20790; CI (9210 − 6500) × 60% = 1626;
    # assistance 7584 × 60% = 4550.40; gap fill 3033.60 − 1500 = 1533.60; the patient 1500.
    # Part 2 billed 42000 − 30000 = 12000 (hospital 8000): basic 8400, CI 3600 × 60% = 2160, assistance
    # 1440 × 60% = 864; 576 is left, below the part's target 600: the gap fill pays 0, the patient 576.
    # The stay is billed 42000 as one settlement would, but the patient pays 2076, not 2100, and the gap
    # fill 24 more: each settlement is held to 95% on its own (DESIGN §5 gap_fill), not the stay as a whole
    whole = _whole(registry, mk, "50000.00")
    p1, p2 = _in_parts(registry, mk, "30000.00", "20000.00")
    assert amounts(p1) == {"basic": 2079000, "critical_illness": 162600, "commercial": 0, "assistance": 455040,
                           "gap_fill": 153360}
    assert amounts(p2) == {"basic": 840000, "critical_illness": 216000, "commercial": 0, "assistance": 86400,
                           "gap_fill": 0}
    assert (p1.self_pay, p2.self_pay, p2.total, p2.hosp_part_amt) == (150000, 57600, 1200000, 800000)
    assert p1.total + p2.total == whole.total
    assert whole.self_pay - (p1.self_pay + p2.self_pay) == 2400
    assert amounts(p1)["gap_fill"] + amounts(p2)["gap_fill"] - amounts(whole)["gap_fill"] == 2400


def test_a_first_part_above_the_package_price_leaves_the_final_part_billed_nothing(registry, tmp_path, mk):
    # part 1 bills itemised 45000 > 42000: the final part (itemised 5000) bills max(0, min(42000, 50000) − 45000)
    # = 0 under 固阳's rule, and max(0, 42000 − 45000) = 0 under `package`; the hospital bears its 5000
    for reg in (registry, _package_region(tmp_path)):
        p1, p2 = _in_parts(reg, mk, "45000.00", "5000.00")
        assert p1.total == 4500000 and not any(s.code == "package" for s in p1.trace)
        assert (p2.total, p2.itemised_total, p2.hosp_part_amt, p2.self_pay) == (0, 500000, 500000, 0)
        assert set(amounts(p2).values()) == {0} and p2.delta.paid == {}
        assert "本次不再计费" in next(s for s in p2.trace if s.code == "package").text_zh


def test_a_region_billing_the_package_price_bills_the_rest_of_it_on_the_final_part(registry, tmp_path, mk):
    reg = _package_region(tmp_path)
    # itemised 30000 < 42000, billed at the package price 42000 as one settlement (the patient 2100, 5%)
    whole = _whole(reg, mk, "30000.00")
    assert (whole.total, whole.hosp_part_amt, whole.self_pay) == (4200000, 0, 210000)
    # parts 20000 + 10000: part 2 bills 42000 − 20000 = 22000 (above its itemised 10000: nothing for the
    # hospital), its payers as in the first test's part 2: basic 15400, CI 3786, assistance 1688.40,
    # gap fill 25.60, the patient 1100; the two parts bill 42000 and the patient 2100, as one settlement
    p1, p2 = _in_parts(reg, mk, "20000.00", "10000.00")
    assert (p2.total, p2.itemised_total, p2.hosp_part_amt, p2.self_pay) == (2200000, 1000000, 0, 110000)
    assert amounts(p2) == {"basic": 1540000, "critical_illness": 378600, "commercial": 0, "assistance": 168840,
                           "gap_fill": 2560}
    assert p1.total + p2.total == whole.total and p1.self_pay + p2.self_pay == whole.self_pay
    # 固阳 (the lower) bills the same split 20000 + 10000 = 30000 in all, as one settlement of 30000
    g1, g2 = _in_parts(registry, mk, "20000.00", "10000.00")
    assert g2.total == 1000000 and g1.total + g2.total == _whole(registry, mk, "30000.00").total
    assert "合计低于病种收费标准" in next(s for s in g2.trace if s.code == "package").text_zh


def test_billed_before_is_not_negative_and_not_on_a_first_part(mk):
    body = mk("150222").model_dump(mode="json", by_alias=True)
    for part, why in (({"index": 2, "final": True, "starts_on": "2024-03-05", "billed_before": "-1.00"},
                       "negative"),
                      ({"index": 2, "final": True, "starts_on": "2024-03-05", "billed_before": "12.345"}, "decimal"),
                      ({"index": 1, "final": False, "billed_before": "10.00"}, "earlier parts")):
        body["stay"].update(admitted_at="2024-03-01", part=part)
        with pytest.raises(ValidationError) as err:
            QuoteRequest.model_validate(body)
        assert [e["loc"] for e in err.value.errors()] == [("stay", "part", "billed_before")], why
        assert err.value.errors()[0]["type"] != "extra_forbidden", why
    body["stay"]["part"] = {"index": 2, "final": True, "starts_on": "2024-03-05", "billed_before": "20000.50"}
    assert QuoteRequest.model_validate(body).stay.part.billed_before == 2000050  # type: ignore[union-attr]
