"""Policy files: validation errors naming file/path/reason, inheritance, periods, publishing."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from onestop.contracts.quote import QuoteRequest
from onestop.rules.domain import (
    NoPolicyInForce,
    PolicyInvalid,
    PolicyRegistry,
    compute_quote,
    parse_policy_text,
    simulate,
    validate_policy_text,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
GUYANG = (POLICIES / "150222" / "policy.v1.yaml").read_text(encoding="utf-8")

MINI = """
id: "999901"
version: 1
region_code: "999901"
name: 测试县
level: county
valid_from: 2020-01-01
seed: "test"
payers:
  - id: basic
    name: 基本医保
    kind: deductible_ratio_cap
    agency: 医保局
    params:
      illustrative: true
      inpatient:
        county: {deductible: "300.00", ratio: "RATIO"}
"""


def errors_of(text, name="999901/policy.v1.yaml", registry=None):
    return [(e.file, e.path, e.reason) for e in validate_policy_text(name, text, registry)]


def test_shipped_policies_are_valid(registry):
    assert registry.errors == ()
    assert {v[0] for v in registry.policies()} == {"150222", "410000", "411203", "653200", "140224", "320681"}


def test_ratio_out_of_range_names_file_path_reason():
    errs = errors_of(MINI.replace("RATIO", "1.5"))
    assert errs and errs[0][0] == "999901/policy.v1.yaml"
    assert errs[0][1] == "payers[0].params.inpatient.county.ratio"
    assert "less than or equal to 1" in errs[0][2]
    assert errors_of(MINI.replace("RATIO", "0.80")) == []


def test_number_without_seed_or_illustrative_is_refused():
    text = MINI.replace("      illustrative: true\n", "").replace("RATIO", "0.80")
    errs = errors_of(text)
    paths = {p for _, p, _ in errs}
    assert "payers[0].params.inpatient.county.ratio" in paths
    assert any("names no seed" in r for _, _, r in errs)


def test_float_is_refused():
    errs = errors_of(MINI.replace('"RATIO"', "0.8"))
    assert any(p == "payers[0].params.inpatient.county.ratio" and "not floats" in r for _, p, r in errs)


def test_unknown_replaces_and_tilts_payer():
    text = MINI.replace("RATIO", "0.80") + "    replaces: [assistance]\n"
    assert ("999901/policy.v1.yaml", "payers[0].replaces[0]", "no other payer 'assistance' to replace") in \
        errors_of(text)


def test_unknown_kind_and_missing_agency():
    errs = errors_of(MINI.replace("RATIO", "0.80").replace("deductible_ratio_cap", "lottery"))
    assert any(p == "payers[0].kind" for _, p, _ in errs)
    errs = errors_of(MINI.replace("RATIO", "0.80").replace("    agency: 医保局\n", ""))
    reason = "required (not given here nor in the parent)"
    assert ("999901/policy.v1.yaml", "payers[0].agency", reason) in errs


def test_bad_yaml():
    errs = errors_of("id: [unclosed")
    assert errs and "not valid YAML" in errs[0][2]


def test_by_date_values_and_gaps():
    periodic = MINI.replace('"RATIO"', '{by_date: [{from: 2020-01-01, value: "0.80"}, {from: 2022-01-01, '
                                       'value: "0.90"}]}')
    parsed, errs = parse_policy_text("999901/policy.v1.yaml", periodic)
    assert errs == []
    reg = PolicyRegistry().with_version(parsed)
    def ratio(on):
        return str(reg.resolve("999901", on).payers[0].params_for("resident").inpatient["county"].ratio)

    assert ratio(date(2021, 6, 1)) == "0.80"
    assert ratio(date(2023, 6, 1)) == "0.90"
    late = periodic.replace("{from: 2020-01-01", "{from: 2021-01-01")
    errs = errors_of(late)
    path = "payers[0].params.inpatient.county.ratio"
    assert any(p == path and "no value in force" in r for _, p, r in errs)
    bad_later = periodic.replace('value: "0.90"', 'value: "9.0"')
    assert any(p == "payers[0].params.inpatient.county.ratio" for _, p, _ in errors_of(bad_later))


def test_inheritance_411203_from_410000(registry):
    shanzhou = registry.resolve("411203", date(2024, 1, 1))
    henan = registry.resolve("410000", date(2024, 1, 1))
    assert [p.id for p in shanzhou.payers] == [p.id for p in henan.payers]
    assert [(r.id, r.version) for r in shanzhou.ref.parents] == [("410000", 1)]
    names = [h.name for h in registry.hospitals("411203")]
    assert "三门峡市陕州区人民医院" in names
    tf = registry.treat_first("411203", date(2024, 1, 1))
    assert tf.region_code == "411203" and tf.hospital_scope == "county"
    assert set(tf.groups[0].categories) == {"registered_poor", "extreme_poverty", "subsistence_allowance",
                                            "child_in_distress"}
    assert tf.groups[0].insurance == ["resident"] and tf.groups[0].domicile == "province"
    assert {e.code for e in registry.catalogue("411203", date(2024, 1, 1))} == \
        {e.code for e in registry.catalogue("410000", date(2024, 1, 1))}


def test_in_force_dates_and_fallback(registry):
    assert registry.resolve("411203", date(2017, 6, 30)).id == "411203"
    assert registry.resolve("411203", date(2017, 6, 1)).id == "410000"  # county not yet: province
    with pytest.raises(NoPolicyInForce) as exc:
        registry.resolve("411203", date(2017, 5, 13))
    assert exc.value.region_code == "411203" and exc.value.date == date(2017, 5, 13)
    with pytest.raises(NoPolicyInForce):
        registry.resolve("150222", date(2016, 12, 31))
    # 和田: the policy (its four guarantees) from 2018, its treat-first from 2019 (test_dates)
    assert registry.resolve("653200", date(2018, 1, 1)).valid_from == date(2018, 1, 1)
    with pytest.raises(NoPolicyInForce):
        registry.resolve("999999", date(2024, 1, 1))


def test_child_without_parent_is_refused(registry):
    child = (POLICIES / "411203" / "policy.v1.yaml").read_text(encoding="utf-8")
    child = child.replace('"410000"', '"420000"')
    errs = errors_of(child, "411203/policy.v2.yaml", registry=PolicyRegistry())
    assert errs and errs[0][1] == "parent"


def test_hospitals_named_by_seeds(registry):
    guyang = {h.name: h.level for h in registry.hospitals("150222")}
    for name in ("固阳县人民医院", "固阳县中蒙医院"):
        assert guyang[name] == "county"
    for name in ("包头市中心医院", "包头医学院第一附属医院", "包钢医院", "包头市肿瘤医院"):
        assert guyang[name] == "city"
    assert any(lv == "township" for lv in guyang.values())
    assert {h.level for h in registry.hospitals("140224")} == {"county", "township", "village"}
    assert [h.name for h in registry.hospitals("653200")] == ["和田地区人民医院"]
    assert {h.name for h in registry.hospitals("320681")} == {"启东市人民医院", "启东市中医院"}


def test_treat_first_rules(registry):
    hotan = registry.treat_first("653200", date(2024, 1, 1))
    assert [g.id for g in hotan.groups] == ["rural_resident", "urban_special", "urban_resident", "employee"]
    assert hotan.groups[1].subgroups == ["低保", "五保", "三无", "城镇孤儿"]
    assert hotan.groups[3].civil_servant is False
    for region in ("150222", "140224"):
        assert registry.treat_first(region, date(2024, 1, 1)).hospital_scope == "county"


def test_with_version_publishes_and_simulate_compares(registry, mk):
    v2 = GUYANG.replace("version: 1", "version: 2")
    v2 = v2.replace("valid_from: 2017-01-01", "valid_from: 2025-01-01")
    v2 = v2.replace('county: {deductible: "300.00", ratio: "0.75"}',
                    'county: {deductible: "300.00", ratio: "0.85"}')
    parsed, errs = parse_policy_text("150222/policy.v2.yaml", v2)
    assert errs == []
    reg2 = registry.with_version(parsed)
    assert registry.resolve("150222", date(2025, 6, 1)).version == 1  # the old registry is unchanged
    a, b = reg2.resolve("150222", date(2024, 6, 1)), reg2.resolve("150222", date(2025, 6, 1))
    assert (a.version, b.version) == (1, 2)
    with pytest.raises(PolicyInvalid):
        reg2.with_version(parsed)  # same version again
    reqs = [mk(categories=[], lines=[("250101001", "A", f"{1000 * (i + 1)}.00")]) for i in range(5)]
    reqs += [mk(categories=["registered_poor"], lines=[("250101001", "A", "5000.00")])]
    sim = simulate(reqs, a, b)
    assert sim.stays == 6
    basic = next(p for p in sim.payers if p.payer == "basic")
    # non-poor: (x − 300) × 10 points more; x = 1000..5000 → Σ(x − 300) = 13500 → +1350.00;
    # poor stay: (5000 − 150) × (85 + 5 − 75 − 5 = 10 points) = +485.00 (its self-pay stays 5%)
    assert basic.b - basic.a == 135000 + 48500
    assert sim.most_changed[0].index == 4 and sum(sim.ratio_a.histogram) == 6
    assert sim.model_dump(mode="json")["policy_b"]["version"] == 2


def test_quote_request_rejects_unknown_enums(mk):
    body = {"region_code": "150222", "date": "2026-03-10",
            "person": {"categories": ["registered_poor"], "insurance": "resident", "disability": None},
            "stay": {"kind": "inpatient", "hospital_level": "county", "disease_code": None},
            "accumulators": {},
            "lines": [{"line_id": "L1", "code": "250101001", "name": "血常规", "class": "A",
                       "amount": "35.00"}]}
    req = QuoteRequest.model_validate(body)  # the pinned §9.1 example
    assert req.lines[0].amount == 3500
    for path, value in ((("lines", 0, "class"), "D"), (("stay", "hospital_level"), "hamlet"),
                        (("person", "categories"), ["rich"]), (("region_code",), "15022"),
                        (("lines", 0, "amount"), 35.0), (("person", "disease_class"), "E")):
        bad = copy.deepcopy(body)
        node = bad
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        with pytest.raises(ValidationError) as exc:
            QuoteRequest.model_validate(bad)
        locs = [".".join(str(x) for x in e["loc"]) for e in exc.value.errors()]
        assert any(loc.startswith(".".join(str(x) for x in path)) for loc in locs), locs


def test_empty_bill(registry, mk):
    q = compute_quote(registry.resolve("150222", date(2024, 1, 1)), mk(categories=["registered_poor"]))
    assert q.total == 0 and q.self_pay == 0 and str(q.effective_ratio) == "0.0000"


def test_agreement_terms(registry):
    # 000/001 sign per admission, 002/003 are silent (with_stay chosen); 启东 004 signs once (365 days illustrative)
    for region in ("653200", "410000", "411203", "140224", "150222"):
        rule = registry.treat_first(region, date(2024, 1, 1))
        assert (rule.agreement_ends, rule.agreement_period_days) == ("with_stay", None), region
    qidong = registry.treat_first("320681", date(2024, 1, 1))
    assert (qidong.agreement_ends, qidong.agreement_period_days) == ("period", 365)


def test_agreement_period_without_days_is_refused():
    tf = ('treat_first:\n  seed: "test"\n  agreement_ends: period\n'
          '  groups:\n    - {id: all, name_zh: 所有人, seed: "test"}\n')
    errs = errors_of(MINI.replace("RATIO", "0.80") + tf)
    assert errs and all(p.startswith("treat_first") for _, p, _ in errs), errs
    assert any("agreement_period_days" in r for _, _, r in errs), errs
    days = tf.replace("period\n", "period\n  agreement_period_days: 30\n")
    assert errors_of(MINI.replace("RATIO", "0.80") + days) == []
