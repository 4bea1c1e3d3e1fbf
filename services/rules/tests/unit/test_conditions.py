"""Issue 11 point 4: conditions that 003 needs, and the generic condition language (yuan in comments)."""

from __future__ import annotations

from pathlib import Path

from rules_unit_helpers import A, amounts, quote

from onestop.contracts.quote import QuoteRequest
from onestop.rules.domain import PolicyRegistry, validate_policy_text

GUYANG = (Path(__file__).resolve().parents[2] / "policies" / "150222" / "policy.v1.yaml").read_text("utf-8")


def with_household(req: QuoteRequest, household: str | None, chronic: bool = False) -> QuoteRequest:
    body = req.model_dump(mode="json", by_alias=True)
    body["person"]["household"] = household
    body["stay"]["chronic"] = chronic
    return QuoteRequest.model_validate(body)


def test_003_urban_subsistence_allowance_gets_no_tilt_nor_gap_fill(registry, mk):
    # 150222 county inpatient, A 1000. 003 一: the plan is for the *rural* poor (农村低保对象).
    # urban 低保: basic (1000 − 300) × 75% = 525; CI 475 < 13000 → 0; no commercial (poor only);
    #   assistance (医疗救助对象 include urban 低保) 475 × 60% = 285; no gap fill; self 190
    base = mk(categories=["subsistence_allowance"], lines=[(A, "A", "1000.00")])
    urban = quote(registry, with_household(base, "urban"))
    assert amounts(urban) == {"basic": 52500, "critical_illness": 0, "assistance": 28500}
    assert urban.self_pay == 19000
    assert (urban.payers[0].trace.deductible, str(urban.payers[0].trace.ratio)) == (30000, "0.75")
    assert not any(s.code == "tilts" for s in urban.trace)
    # rural 低保: basic (1000 − 150) × 80% = 680; CI 0; commercial 320 < 10000 → 0;
    #   assistance 320 × 60% = 192; remaining 128, target 1000 × 5% = 50 → gap fill 78; self 50
    rural = quote(registry, with_household(base, "rural"))
    assert amounts(rural) == {"basic": 68000, "critical_illness": 0, "commercial": 0, "assistance": 19200,
                              "gap_fill": 7800}
    assert rural.self_pay == 5000
    # household not stated: counted rural (the seed's categories are rural ones), as before this rule
    assert amounts(quote(registry, with_household(base, None))) == amounts(rural)


def test_003_chronic_outpatient_topped_up_to_95_percent(registry, mk):
    # 003 二(三)2 对慢性病、特殊病用药人群由政府扶贫资金补足95%: poor, outpatient at a township, A 200, 门诊慢特病
    # basic outpatient 70% → 80% (tilt): 160; assistance (200 − 160) × 60% = 24; remaining 16,
    # target 200 × 5% = 10 → chronic_gap_fill 6; self 10
    base = mk(categories=["registered_poor"], kind="outpatient", level="township", lines=[(A, "A", "200.00")])
    q = quote(registry, with_household(base, "rural", chronic=True))
    assert amounts(q) == {"basic": 16000, "assistance": 2400, "chronic_gap_fill": 600}
    assert q.self_pay == 1000 and str(q.effective_ratio) == "0.9500"
    top = next(p for p in q.payers if p.payer == "chronic_gap_fill")
    assert top.trace.nhsa_code == "640100" and top.trace.kind == "gap_fill"
    # the same visit not flagged chronic: no top-up, self 16
    plain = quote(registry, with_household(base, "rural", chronic=False))
    assert "chronic_gap_fill" not in amounts(plain) and plain.self_pay == 1600
    # an urban 低保 person is not among the poor: 80% as 医疗救助对象 at a township, but no top-up; self 16
    urban = quote(registry, with_household(
        mk(categories=["subsistence_allowance"], kind="outpatient", level="township", lines=[(A, "A", "200.00")]),
        "urban", chronic=True))
    assert amounts(urban) == {"basic": 16000, "assistance": 2400} and urban.self_pay == 1600


def test_003_township_80_percent_for_medical_assistance_recipients(registry, mk):
    # 003 二(三)2 贫困人口和医疗救助对象在镇卫生院或村卫生室就诊报销比例提高到80%. urban_special is a
    # 医疗救助对象, not poor. Outpatient A 100 at a township: basic 80; assistance 20 × 60% = 12; self 8
    q = quote(registry, mk(categories=["urban_special"], kind="outpatient", level="township",
                           lines=[(A, "A", "100.00")]))
    assert amounts(q) == {"basic": 8000, "assistance": 1200} and q.self_pay == 800
    assert "tilts.outpatient" in q.payers[0].trace.lines
    assert any(s.code == "tilts" and "医疗救助对象" in s.text_zh for s in q.trace)
    # at the county hospital the raise is the poor's only (二(三)1 旗县区级及以下): 70; assistance 18; self 12
    county = quote(registry, mk(categories=["urban_special"], kind="outpatient", level="county",
                                lines=[(A, "A", "100.00")]))
    assert amounts(county) == {"basic": 7000, "assistance": 1800}
    poor = quote(registry, mk(categories=["registered_poor"], kind="outpatient", level="county",
                              lines=[(A, "A", "100.00")]))
    assert poor.payers[0].amount == 8000
    assert any(s.code == "tilts" and s.text_zh == "您属于贫困人口，享受倾斜支付政策。" for s in poor.trace)
    # nobody in either population: 70%
    other = quote(registry, mk(categories=["monitored"], kind="outpatient", level="township",
                               lines=[(A, "A", "100.00")]))
    assert other.payers[0].amount == 7000


def test_003_commercial_insurance_before_civil_affairs_assistance(registry, mk):
    # poor, county inpatient, A 100000:
    # basic (100000 − 150) × 80% = 79880; CI base 20120 over the halved 6500: 13620 × 60% = 8172;
    # commercial (illustrative: deductible 10000, 50%): (20120 − 8172 − 10000) × 50% = 974;
    # assistance (11948 − 974) × 60% = 6584.40; remaining 4389.60 < target 5000 → gap fill 0
    q = quote(registry, mk(categories=["registered_poor"], lines=[(A, "A", "100000.00")]))
    assert [p.payer for p in q.payers] == ["basic", "critical_illness", "commercial", "assistance", "gap_fill"]
    assert amounts(q) == {"basic": 7988000, "critical_illness": 817200, "commercial": 97400,
                          "assistance": 658440, "gap_fill": 0}
    assert q.self_pay == 438960
    commercial = q.payers[2]
    assert commercial.trace.nhsa_code == "999997" and commercial.agency == "商业保险公司"


# --------------------------------------------------------------------------- the generic language

CHILD = """
  - id: child_care
    name: 儿童医疗救助
    kind: ratio_cap
    agency: 民政局
    seed: "test"
    when:
      match:
        - {field: person.age, op: lt, value: 15}
        - {field: stay.hospital_code, op: in, value: ["H150222001"]}
    params:
      illustrative: true
      base: remaining
      ratio: "0.50"
"""


def test_conditions_name_age_bands_and_any_request_field(tmp_path, mk):
    # a children's payer by age band and hospital, written as data: monitored (no other help), age 6,
    # county inpatient at H150222001, A 1000: basic (1000 − 300) × 75% = 525; CI 0;
    # child_care 50% of the remaining 475 = 237.50; self 237.50
    d = tmp_path / "150222"
    d.mkdir()
    (d / "policy.v1.yaml").write_text(GUYANG + CHILD, encoding="utf-8")
    reg = PolicyRegistry.load(tmp_path)

    def body(age: int | None, hospital: str | None) -> QuoteRequest:
        b = mk(categories=["monitored"], age=age, lines=[(A, "A", "1000.00")]).model_dump(mode="json", by_alias=True)
        b["stay"]["hospital_code"] = hospital
        return QuoteRequest.model_validate(b)

    q = quote(reg, body(6, "H150222001"))
    assert amounts(q) == {"basic": 52500, "critical_illness": 0, "child_care": 23750} and q.self_pay == 23750
    assert "child_care" not in amounts(quote(reg, body(15, "H150222001")))  # the band ends below 15
    assert "child_care" not in amounts(quote(reg, body(None, "H150222001")))  # no age stated: no condition holds
    assert "child_care" not in amounts(quote(reg, body(6, "H150222002")))


def _errors(extra: str) -> list[tuple[str, str]]:
    return [(e.path, e.reason) for e in validate_policy_text("150222/policy.v1.yaml", GUYANG + extra)]


def test_bad_conditions_are_load_errors_naming_the_path():
    n = 8  # child_care comes after the 8 shipped payers (package … charity)
    unknown = _errors(CHILD.replace("person.age", "person.shoe_size"))
    assert len(unknown) == 1 and unknown[0][0] == f"payers[{n}].when.match[0]"
    assert "unknown field 'person.shoe_size'" in unknown[0][1] and "person.household" in unknown[0][1]
    (path, reason), = _errors(CHILD.replace("{field: person.age, op: lt, value: 15}",
                                            "{field: person.household, op: lt, value: urban}"))
    assert path == f"payers[{n}].when.match[0]" and "cannot be ordered" in reason
    (path, reason), = _errors(CHILD.replace("{field: person.age, op: lt, value: 15}",
                                            "{field: person.household, op: eq, value: suburban}"))
    assert "does not fit person.household" in reason
    (path, reason), = _errors(CHILD.replace("{field: person.age, op: lt, value: 15}",
                                            "{field: person.categories, op: eq, value: registered_poor}"))
    assert "is a list" in reason
    (path, reason), = _errors(CHILD.replace("    when:\n", "    when:\n      population: [rich]\n"))
    assert path == f"payers[{n}].when.population" and "no population 'rich'" in reason
    assert _errors(CHILD) == []


def test_population_may_only_name_person_fields():
    src = GUYANG.replace("- {field: person.household, op: ne, value: urban}",
                      "- {field: stay.hospital_level, op: eq, value: county}")
    errs = validate_policy_text("150222/policy.v1.yaml", src)
    assert errs and errs[0].path == "populations.poor" and "not a person field" in errs[0].reason
