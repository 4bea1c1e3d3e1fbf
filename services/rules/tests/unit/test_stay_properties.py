"""Property tests for a stay's whole life (issue 11): yearly deductibles, parts of a stay, tilts, and the
patient's share against the year's accumulators."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.contracts.enums import HospitalLevel
from onestop.contracts.money import format_fen
from onestop.contracts.quote import Accumulators, QuoteRequest, apply_delta
from onestop.rules.domain import compute_quote
from onestop.rules.domain.plans import Plans

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CODES = ["250101001", "110200001", "120100001", "XB01ABA001", "XL01XCQ003", "ZZ0000001", "UNKNOWN01"]
LEVELS = [lv.value for lv in HospitalLevel]
CATEGORIES = ["registered_poor", "subsistence_allowance", "extreme_poverty", "poor_disabled", "monitored"]
PAYERS = ["basic", "critical_illness", "ci_supplement", "assistance", "emergency_assistance", "gap_fill",
          "four_party"]

line_st = st.tuples(st.sampled_from(CODES), st.sampled_from("ABC"), st.integers(0, 2_000_000),
                    st.sampled_from([None, "1", "2.5"]))
lines_st = st.lists(line_st, min_size=1, max_size=10)
money_map = st.dictionaries(st.sampled_from(PAYERS), st.integers(0, 5_000_000), max_size=3)
stays_st = st.dictionaries(st.sampled_from(LEVELS), st.integers(0, 2), max_size=2)


def _lines(raw: list, start: int = 0) -> list[dict[str, Any]]:
    out = []
    for i, (code, cls, amount, qty) in enumerate(raw):
        d: dict[str, Any] = {"line_id": f"L{start + i}", "code": code, "name": code, "class": cls,
                             "amount": format_fen(amount)}
        if qty:
            d["quantity"] = qty
        out.append(d)
    return out


def _acc(paid: dict, ded: dict, cum: int, stays: dict) -> dict[str, Any]:
    return {"paid": {k: format_fen(v) for k, v in paid.items()},
            "deductible_paid": {k: format_fen(v) for k, v in ded.items()},
            "cumulative_self_pay": {"critical_illness": format_fen(cum)}, "stays": {"inpatient": stays}}


def _body(region: str, cats: list[str], level: str, lines: list, acc: dict | None = None, *, ins: str = "resident",
          kind: str = "inpatient", code: str | None = None, on: str = "2024-06-30", start: int = 0,
          stay: dict | None = None) -> dict[str, Any]:
    return {"region_code": region, "date": on,
            "person": {"categories": cats, "insurance": ins, "disease_class": "A"},
            "stay": {"kind": kind, "hospital_level": level, "disease_code": code, **(stay or {})},
            "accumulators": acc or {}, "lines": _lines(lines, start)}


def _quote(registry, body: dict, rp=None):
    req = QuoteRequest.model_validate(body)
    return compute_quote(rp or registry.resolve(req.region_code, req.date), req)


@SETTINGS
@given(stays=st.lists(st.tuples(st.sampled_from(LEVELS), lines_st), min_size=1, max_size=5),
       region=st.sampled_from(["410000", "411203"]))
def test_a_yearly_deductible_is_charged_at_most_once_a_year(registry, stays, region):
    """Henan's 困难群众大病补充保险 (年度起付线 3000): over any sequence of the year's stays it bears at
    most 3000 in all, and each stay charges exactly what the year has not borne yet."""
    acc = Accumulators()
    borne = 0
    for i, (level, lines) in enumerate(stays):
        res = _quote(registry, _body(region, ["registered_poor"], level, lines, acc.model_dump(mode="json"),
                                     start=100 * i))
        sup = next((p.trace for p in res.payers if p.payer == "ci_supplement"), None)
        if sup is not None:
            assert sup.deductible == max(0, 300000 - borne)
            borne += sup.deductible_borne
        acc = apply_delta(acc, res.delta)
        assert borne <= 300000
        assert acc.deductible_paid.get("ci_supplement", 0) == borne


@SETTINGS
@given(region=st.sampled_from(["410000", "411203", "140224", "320681"]),
       cats=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
       ins=st.sampled_from(["resident", "employee"]), level=st.sampled_from(LEVELS),
       lines=st.lists(line_st, min_size=2, max_size=12), cut=st.integers(1, 11),
       paid=money_map, cum=st.integers(0, 3_000_000), prior=stays_st)
def test_two_parts_of_a_stay_pay_each_fund_what_one_settlement_would(registry, region, cats, ins, level, lines,
                                                                      cut, paid, cum, prior):
    """A stay settled in two parts of the same year pays each fund what one settlement of all its lines
    would, to within one fen per part (each part rounds once per payer). Regions whose chain has a
    gap fill (150222, 653200) are left out: a gap fill reaches its ratio on each settlement by design."""
    cut = min(cut, len(lines) - 1)
    acc = _acc(paid, {}, cum, prior)
    whole = _quote(registry, _body(region, cats, level, lines, acc, ins=ins, stay={"admitted_at": "2024-06-01"}))
    first = _quote(registry, _body(region, cats, level, lines[:cut], acc, ins=ins, on="2024-06-15",
                                   stay={"admitted_at": "2024-06-01", "part": {"index": 1, "final": False}}))
    acc2 = apply_delta(Accumulators.model_validate(acc), first.delta).model_dump(mode="json")
    borne = {k: format_fen(v) for k, v in first.delta.deductible_paid.items()}
    second = _quote(registry, _body(region, cats, level, lines[cut:], acc2, ins=ins, start=cut, stay={
        "admitted_at": "2024-06-01", "part": {"index": 2, "final": True, "starts_on": "2024-06-16",
                                              "deductible_borne": borne}}))
    by_part: dict[str, int] = {}
    for res in (first, second):
        for p in res.payers:
            by_part[p.payer] = by_part.get(p.payer, 0) + p.amount
    for p in whole.payers:
        assert abs(by_part.get(p.payer, 0) - p.amount) <= 2, (p.payer, by_part, [(x.payer, x.amount) for x in
                                                                                 whole.payers])
    assert set(by_part) <= {p.payer for p in whole.payers}
    assert abs(first.self_pay + second.self_pay - whole.self_pay) <= 2 * len(whole.payers)
    assert first.total + second.total == whole.total
    # the stay is counted once, by its first part
    assert first.delta.stays == whole.delta.stays and second.delta.stays == {}


@SETTINGS
@given(cats=st.lists(st.sampled_from(CATEGORIES[:4]), min_size=1, max_size=2, unique=True),
       level=st.sampled_from(LEVELS), kind=st.sampled_from(["inpatient", "outpatient"]), lines=lines_st,
       disability=st.sampled_from([None, "severe", "disabled_child"]), paid=money_map, cum=st.integers(0, 3_000_000),
       prior=stays_st, code=st.sampled_from([None, "C16.9", "J18.9"]))
def test_a_tilted_person_never_pays_more_than_an_untilted_one(registry, cats, level, kind, lines, disability, paid,
                                                               cum, prior, code):
    """The same person and bill under 150222 with its tilts and with them taken out."""
    body = _body("150222", cats, level, lines, _acc(paid, {}, cum, prior), kind=kind, code=code)
    body["person"]["disability"] = disability
    rp = registry.resolve("150222", QuoteRequest.model_validate(body).date)
    untilted = dataclasses.replace(rp, tilts=None, plans=Plans(rp.payers, rp.package, None, rp.default_copay))
    tilted = _quote(registry, body, rp)
    assert any(s.code == "tilts" for s in tilted.trace)
    assert tilted.self_pay <= _quote(registry, body, untilted).self_pay


@SETTINGS
@given(region=st.sampled_from(["150222", "410000", "411203", "653200", "140224", "320681"]),
       cats=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
       ins=st.sampled_from(["resident", "employee"]), level=st.sampled_from(LEVELS), lines=lines_st,
       paid=money_map, ded=money_map, cum=st.integers(0, 3_000_000), prior=stays_st,
       field=st.sampled_from(["paid", "deductible_paid", "cumulative_self_pay", "stays"]),
       payer=st.sampled_from(PAYERS), more=st.integers(1, 5_000_000))
def test_the_patients_share_moves_with_the_accumulators_one_way(registry, region, cats, ins, level, lines, paid,
                                                                 ded, cum, prior, field, payer, more):
    """More `paid` (caps nearer) never lowers the patient's share; more cumulative_self_pay,
    deductible_paid or stays never raise it."""
    before = _acc(paid, ded, cum, prior)
    if field == "paid":
        after = _acc({**paid, payer: paid.get(payer, 0) + more}, ded, cum, prior)
    elif field == "deductible_paid":
        after = _acc(paid, {**ded, payer: ded.get(payer, 0) + more}, cum, prior)
    elif field == "cumulative_self_pay":
        after = _acc(paid, ded, cum + more, prior)
    else:
        after = _acc(paid, ded, cum, {**prior, level: prior.get(level, 0) + 1})
    a = _quote(registry, _body(region, cats, level, lines, before, ins=ins)).self_pay
    b = _quote(registry, _body(region, cats, level, lines, after, ins=ins)).self_pay
    assert b >= a if field == "paid" else b <= a
