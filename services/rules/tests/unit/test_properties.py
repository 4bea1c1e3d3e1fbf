"""Property tests over random bills, persons and accumulators, across every shipped policy."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.contracts.enums import Category, HospitalLevel
from onestop.contracts.money import format_fen, half_up, mul_ratio
from onestop.contracts.quote import Accumulators, FeeLine, QuoteRequest, apply_delta, negate
from onestop.rules.domain import compute_quote, to_nhsa
from onestop.rules.domain.waterfall import replay

REGIONS = ["150222", "410000", "411203", "653200", "140224", "320681", "411221"]
CODES = ["250101001", "110200001", "120100001", "XB01ABA001", "XL01XCQ003", "MZ0000001", "ZZ0000001",
         "UNKNOWN01", "UNKNOWN02"]
PAYERS = ["basic", "critical_illness", "ci_supplement", "assistance", "emergency_assistance", "gap_fill",
          "four_party", "charity"]
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

fen = st.integers(min_value=0, max_value=20_000_000)
lines_st = st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from("ABC"), st.integers(0, 3_000_000),
                              st.sampled_from([None, "1", "2", "3.5", "10"])), max_size=12)


def _lines(raw, start=0):
    out = []
    for i, (code, cls, amount, qty) in enumerate(raw):
        d = {"line_id": f"L{start + i}", "code": code, "name": code, "class": cls,
             "amount": format_fen(amount)}
        if qty:
            d["quantity"] = qty
        out.append(d)
    return out


accumulators_st = st.builds(
    lambda paid, ded, cum, stays, grants: {
        "paid": {k: format_fen(v) for k, v in paid.items()},
        "deductible_paid": {k: format_fen(v) for k, v in ded.items()},
        "cumulative_self_pay": {k: format_fen(v) for k, v in cum.items()},
        "stays": stays,
        "grants_used": grants,
    },
    st.dictionaries(st.sampled_from(PAYERS), fen, max_size=4),
    st.dictionaries(st.sampled_from(PAYERS), st.integers(0, 500_000), max_size=2),
    st.dictionaries(st.just("critical_illness"), fen, max_size=1),
    st.dictionaries(st.sampled_from(["inpatient", "outpatient"]),
                    st.dictionaries(st.sampled_from([lv.value for lv in HospitalLevel]), st.integers(0, 3),
                                    max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["charity"]), st.integers(0, 1), max_size=1),
)

request_st = st.builds(
    lambda region, cats, ins, dis, dclass, age, kind, level, code, unable, acc, lines: {
        "region_code": region, "date": "2024-06-30",
        "person": {"categories": cats, "insurance": ins, "disability": dis, "disease_class": dclass,
                   "age": age},
        "stay": {"kind": kind, "hospital_level": level, "disease_code": code,
                 "confirmed_unable_to_pay": unable},
        "accumulators": acc, "lines": _lines(lines),
    },
    st.sampled_from(REGIONS),
    st.lists(st.sampled_from([c.value for c in Category]), max_size=3, unique=True),
    st.sampled_from(["resident", "employee"]),
    st.sampled_from([None, "severe", "disabled_child"]),
    st.sampled_from([None, "A", "B", "C", "D"]),
    st.one_of(st.none(), st.integers(0, 90)),
    st.sampled_from(["inpatient", "outpatient"]),
    st.sampled_from([lv.value for lv in HospitalLevel]),
    st.sampled_from([None, "C16.9", "Q21.0", "N18.5", "C91.0", "J18.9"]),
    st.booleans(),
    accumulators_st,
    lines_st,
)


def _quote(registry, body):
    req = QuoteRequest.model_validate(body)
    return req, compute_quote(registry.resolve(req.region_code, req.date), req)


@SETTINGS
@given(body=request_st)
def test_invariants(registry, body):
    req, q = _quote(registry, body)
    assert sum(p.amount for p in q.payers) + q.self_pay == q.total
    assert q.policy_scope + q.out_of_scope == q.total
    assert q.class_c_amount + q.over_limit_amount + q.copay_first_amount == q.out_of_scope
    assert q.self_pay >= 0 and q.hosp_part_amt >= 0
    for p in q.payers:
        assert 0 <= p.amount <= p.trace.base, p
        if p.trace.cap_left is not None:
            assert p.amount <= p.trace.cap_left
        assert p.trace.text_zh
    # the result serialises and round-trips through JSON
    dumped = q.model_dump(mode="json", by_alias=True)
    assert type(q).model_validate(dumped).model_dump(mode="json") == dumped
    n = to_nhsa(q)
    fund = int(Decimal(n.fund_pay_sumamt) * 100)
    assert fund + int(Decimal(n.psn_part_amt) * 100) + q.hosp_part_amt == int(Decimal(n.medfee_sumamt) * 100)
    parts = (n.fulamt_ownpay_amt, n.overlmt_selfpay, n.preselfpay_amt, n.inscp_scp_amt)
    assert sum(int(Decimal(x) * 100) for x in parts) == q.total


@SETTINGS
@given(body=request_st)
def test_catalogue_notes_name_every_unknown_line_once(registry, body):
    """One note per (code, HIS class) the catalogue lacks; together they name each such line once."""
    req, q = _quote(registry, body)
    if any(s.code == "package" for s in q.trace):  # the package price is the bill: no line is classified
        assert q.catalogue_notes == []
        return
    catalogue = registry.resolve(req.region_code, req.date).catalogue
    unknown = [ln.line_id for ln in req.lines if ln.code not in catalogue]
    assert sorted(i for n in q.catalogue_notes for i in n.line_ids) == sorted(unknown)
    by_id = {ln.line_id: ln for ln in req.lines}
    for n in q.catalogue_notes:
        assert all(by_id[i].code == n.code and by_id[i].fee_class == n.his_class for i in n.line_ids)
        assert n.code in n.text_zh and f"{len(n.line_ids)}条" in n.text_zh and f"{n.his_class}类" in n.text_zh
    assert len({(n.code, n.his_class) for n in q.catalogue_notes}) == len(q.catalogue_notes)


@SETTINGS
@given(body=request_st)
def test_deterministic(registry, body):
    _, a = _quote(registry, body)
    _, b = _quote(registry, body)
    assert a.model_dump(mode="json") == b.model_dump(mode="json")


@SETTINGS
@given(body=request_st, extra=lines_st.filter(bool))
def test_adding_a_line_never_lowers_self_pay(registry, body, extra):
    _, before = _quote(registry, body)
    body2 = dict(body, lines=body["lines"] + _lines(extra, start=len(body["lines"])))
    _, after = _quote(registry, body2)
    assert after.self_pay >= before.self_pay
    assert after.total >= before.total


@SETTINGS
@given(body=request_st)
def test_delta_then_negation_restores_accumulators(registry, body):
    req, q = _quote(registry, body)
    acc = req.accumulators
    after = apply_delta(acc, q.delta)
    assert apply_delta(after, negate(q.delta)) == acc
    assert after.stays_at(req.stay.kind, req.stay.hospital_level) == acc.stays_at(
        req.stay.kind, req.stay.hospital_level) + 1
    # and the delta serialises as the ledger will store it
    assert Accumulators.model_validate(after.model_dump(mode="json")) == after


@SETTINGS
@given(body=request_st)
def test_gap_fill_self_pay_is_exactly_the_target(registry, body):
    stay = dict(body["stay"], kind="inpatient", confirmed_unable_to_pay=False)
    body = dict(body, region_code="150222", stay=stay)
    body["person"] = dict(body["person"], categories=["registered_poor"], insurance="resident")
    _, q = _quote(registry, body)
    gap = next(p for p in q.payers if p.payer == "gap_fill")
    target = half_up(Decimal(q.total) * Decimal("0.05"))
    assert q.self_pay == min(target, q.self_pay + gap.amount)
    assert q.self_pay <= target


@SETTINGS
@given(body=request_st)
def test_replay_amounts_equal_the_quote(registry, body):
    """Policy simulation's replay path answers exactly the quote's amounts, for every shipped policy."""
    req, q = _quote(registry, body)
    rp = registry.resolve(req.region_code, req.date)
    expected = (q.total, q.self_pay, q.effective_ratio, [(p.payer, p.amount) for p in q.payers])
    assert replay(rp, req) == expected
    lean = compute_quote(rp, req, explain=False)
    assert (lean.total, lean.self_pay, lean.effective_ratio, [(p.payer, p.amount) for p in lean.payers]) == expected
    assert lean.delta == q.delta


@given(amount=st.integers(0, 10**12), ratio=st.decimals(min_value=0, max_value=1, places=4))
def test_integer_copay_rounding_equals_mul_ratio(amount, ratio):
    num, den = ratio.as_integer_ratio()
    assert (2 * amount * num + den) // (2 * den) == mul_ratio(amount, ratio)


def test_fee_line_class_alias_and_errors():
    line = FeeLine.model_validate({"line_id": "L1", "code": "x", "name": "x", "class": "B", "amount": "1.00"})
    assert line.model_dump(by_alias=True)["class"] == "B"
