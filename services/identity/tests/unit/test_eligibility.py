from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.contracts.enums import Category, Disability, HospitalLevel, Household, Insurance
from onestop.contracts.regions import region_matches, region_within
from onestop.contracts.treat_first import AdmissionGroup, TreatFirstRule
from onestop.identity.domain.eligibility import (
    REASONS_ZH,
    BlacklistEntry,
    Enrolment,
    Hospital,
    PersonSnapshot,
    Status,
    decide,
)

ON = date(2026, 3, 10)
C = Category

# 001 二(一)(二): Henan domicile, resident-insured, one of four categories, in-county.
HENAN = TreatFirstRule(
    region_code="410000", valid_from=date(2017, 5, 14), seed="001 二", hospital_scope="county",
    groups=[AdmissionGroup(id="henan_poor", name_zh="具有我省户口、参加城乡居民医保的困难群众",
                           categories=[C.registered_poor, C.extreme_poverty, C.subsistence_allowance,
                                       C.child_in_distress],
                           insurance=[Insurance.resident], domicile="province", seed="001 二(一)1-4")],
)
# 000 §2.1: four ways in.
HOTAN = TreatFirstRule(
    region_code="653200", valid_from=date(2019, 1, 1), seed="000 2.1", hospital_scope="county",
    groups=[
        AdmissionGroup(id="rural_resident", name_zh="参加城乡居民医疗保险的农村户籍人口",
                       insurance=[Insurance.resident], household=[Household.rural], seed="000 2.1"),
        AdmissionGroup(id="urban_special", name_zh="经民政部门核实的城镇特困群体",
                       categories=[C.urban_special], subgroups=["低保", "五保", "三无", "城镇孤儿"],
                       seed="000 2.1"),
        AdmissionGroup(id="urban_resident", name_zh="其他城镇居民医疗保险患者",
                       insurance=[Insurance.resident], household=[Household.urban], seed="000 2.1"),
        AdmissionGroup(id="employee", name_zh="城镇职工医疗保险非国家公职人员",
                       insurance=[Insurance.employee], civil_servant=False, seed="000 2.1"),
    ],
)
# 004 二(二)-(四): employees first, any public hospital of the city, blacklist city-wide, also blocks
# direct insurance settlement.
QIDONG = TreatFirstRule(
    region_code="320681", valid_from=date(2020, 1, 1), seed="004 二", hospital_scope="city",
    public_hospitals_only=True, agreement_scope="city", blacklist_scope="city",
    blacklist_blocks_direct_settlement=True,
    groups=[AdmissionGroup(id="employee", name_zh="职工医疗保险参保人员", insurance=[Insurance.employee],
                           seed="004 二(二)")],
)
# 003 一: the poor population (registered poor, rural subsistence allowance, extreme poverty, poor disabled).
GUYANG = TreatFirstRule(
    region_code="150222", valid_from=date(2017, 1, 1), seed="003", hospital_scope="county",
    groups=[AdmissionGroup(id="poor_population", name_zh="农村贫困人口",
                           categories=[C.registered_poor, C.subsistence_allowance, C.extreme_poverty,
                                       C.poor_disabled], seed="003 一")],
)

SHANZHOU_HOSP = Hospital("H411203001", "411203", HospitalLevel.county, True)
HOTAN_HOSP = Hospital("H653200001", "653200", HospitalLevel.city, True)  # registered at prefecture level
HOTAN_COUNTY_HOSP = Hospital("H653221001", "653221", HospitalLevel.county, True)
QIDONG_HOSP = Hospital("H320681001", "320681", HospitalLevel.county, True)
QIDONG_PRIVATE = Hospital("H320681900", "320681", HospitalLevel.county, False)
NANTONG_HOSP = Hospital("H320602001", "320602", HospitalLevel.city, True)
GUYANG_HOSP = Hospital("H150222001", "150222", HospitalLevel.county, True)
BAOTOU_HOSP = Hospital("H150200001", "150200", HospitalLevel.city, True)


def person(*statuses: Status, insured: tuple[Insurance, str] | None = (Insurance.resident, "411203"),
           domicile: str = "411203", household: Household | None = Household.rural,
           civil_servant: bool | None = None, blacklist: tuple[BlacklistEntry, ...] = (),
           disability: Disability | None = None) -> PersonSnapshot:
    enrolments = () if insured is None else (Enrolment(insured[0], insured[1], date(2020, 1, 1)),)
    return PersonSnapshot(statuses=statuses, enrolments=enrolments, domicile_region=domicile,
                          household=household, civil_servant=civil_servant, blacklist=blacklist,
                          disability=disability)


def status(category: Category, start: date = date(2019, 1, 1), end: date | None = None,
           subgroup: str | None = None) -> Status:
    return Status(category, start, end, subgroup, "poverty_office")


def codes(decision: object) -> list[str]:
    return [r.code for r in decision.reasons]  # type: ignore[attr-defined]


# --- region helpers ---------------------------------------------------------------------------

def test_region_matches() -> None:
    assert region_matches("county", "411203", "411203")
    assert not region_matches("county", "411203", "411202")
    assert region_matches("city", "411203", "411202")
    assert not region_matches("city", "411203", "410102")
    assert region_matches("province", "411203", "410102")
    assert not region_matches("province", "411203", "320681")
    # A code registered at a coarser level stands for its whole area.
    assert region_matches("county", "653200", "653221")
    assert region_matches("county", "410000", "411203")
    assert region_within("411203", "410000") and region_within("653221", "653200")
    assert region_within("320681", "320681") and not region_within("320602", "320681")
    assert not region_within("150200", "150222") and not region_within("410000", "411203")


@given(st.from_regex(r"[1-6][1-5]\d{2}[0-9][1-9]", fullmatch=True),
       st.from_regex(r"[1-6][1-5]\d{2}[0-9][1-9]", fullmatch=True))
def test_region_scopes_nest(a: str, b: str) -> None:
    # Same county implies same city implies same province; the relation is symmetric.
    for scope in ("county", "city", "province"):
        assert region_matches(scope, a, b) == region_matches(scope, b, a)
    if region_matches("county", a, b):
        assert region_matches("city", a, b)
    if region_matches("city", a, b):
        assert region_matches("province", a, b)


# --- unknown and lapsed persons ----------------------------------------------------------------

def test_unknown_person_is_not_an_error() -> None:
    d = decide(None, HENAN, SHANZHOU_HOSP, ON)
    assert not d.eligible and codes(d) == ["not_on_register"]
    assert d.reasons[0].text_zh == "未在任何登记名册中"
    assert d.as_dict()["reasons"] == [{"code": "not_on_register", "text_zh": "未在任何登记名册中"}]


def test_person_whose_statuses_and_enrolments_all_lapsed() -> None:
    p = PersonSnapshot(statuses=(status(C.registered_poor, end=date(2020, 12, 31)),),
                       enrolments=(Enrolment(Insurance.resident, "411203", date(2019, 1, 1),
                                             date(2020, 12, 31)),))
    d = decide(p, HENAN, SHANZHOU_HOSP, ON)
    assert not d.eligible and codes(d) == ["not_on_register"]


# --- Henan 001 二 -------------------------------------------------------------------------------

@pytest.mark.parametrize("category", [C.registered_poor, C.extreme_poverty, C.subsistence_allowance,
                                      C.child_in_distress])
def test_henan_admits_its_four_categories(category: Category) -> None:
    d = decide(person(status(category), status(C.monitored)), HENAN, SHANZHOU_HOSP, ON)
    assert d.eligible and d.reasons == ()
    assert d.categories == (category,) and d.matched_groups == ("henan_poor",)
    assert set(d.active_categories) == {category, C.monitored}
    assert d.insurance is not None and d.insurance.scheme is Insurance.resident
    assert d.direct_settlement_allowed and not d.blacklisted


def test_henan_refusals() -> None:
    assert codes(decide(person(status(C.monitored)), HENAN, SHANZHOU_HOSP, ON)) == ["category_not_admitted"]
    assert codes(decide(person(status(C.registered_poor), insured=(Insurance.employee, "411203")),
                        HENAN, SHANZHOU_HOSP, ON)) == ["insurance_not_admitted"]
    assert codes(decide(person(status(C.registered_poor), domicile="320681"),
                        HENAN, SHANZHOU_HOSP, ON)) == ["domicile_outside"]
    d = decide(person(status(C.registered_poor), insured=None), HENAN, SHANZHOU_HOSP, ON)
    assert codes(d) == ["not_insured"] and not d.direct_settlement_allowed
    # Insured in 湖滨区 (411202), admitted in 陕州区: not in-county.
    p = person(status(C.registered_poor), insured=(Insurance.resident, "411202"))
    d = decide(p, HENAN, SHANZHOU_HOSP, ON)
    assert codes(d) == ["hospital_out_of_scope"] and "县域内" in d.reasons[0].text_zh


def test_henan_status_validity_is_inclusive() -> None:
    s = status(C.registered_poor, date(2026, 3, 10), date(2026, 3, 10))
    assert decide(person(s), HENAN, SHANZHOU_HOSP, ON).eligible
    assert not decide(person(s), HENAN, SHANZHOU_HOSP, date(2026, 3, 11)).eligible
    assert not decide(person(s), HENAN, SHANZHOU_HOSP, date(2026, 3, 9)).eligible
    # An exit from poverty: valid_to set, the person is no longer admitted afterwards.
    exited = status(C.registered_poor, date(2016, 1, 1), date(2020, 12, 31))
    assert codes(decide(person(exited), HENAN, SHANZHOU_HOSP, ON)) == ["category_not_admitted"]


# --- Hotan 000 §2.1 -----------------------------------------------------------------------------

def hotan(*statuses: Status, **kw: object) -> PersonSnapshot:
    kw.setdefault("insured", (Insurance.resident, "653221"))
    kw.setdefault("domicile", "653221")
    return person(*statuses, **kw)  # type: ignore[arg-type]


def test_hotan_rural_resident_needs_no_category() -> None:
    d = decide(hotan(), HOTAN, HOTAN_HOSP, ON)
    assert d.eligible and d.matched_groups == ("rural_resident",) and d.categories == ()


def test_hotan_urban_special_subgroups() -> None:
    for sub in ("低保", "五保", "三无", "城镇孤儿"):
        p = hotan(status(C.urban_special, subgroup=sub), household=Household.urban,
                  insured=(Insurance.employee, "653221"), civil_servant=True)
        d = decide(p, HOTAN, HOTAN_HOSP, ON)
        assert d.eligible and d.matched_groups == ("urban_special",) and d.categories == (C.urban_special,)
    p = hotan(status(C.urban_special, subgroup="其他"), household=Household.urban,
              insured=(Insurance.employee, "653221"), civil_servant=True)
    d = decide(p, HOTAN, HOTAN_HOSP, ON)
    assert not d.eligible
    assert set(codes(d)) >= {"category_not_admitted", "civil_servant_excluded"}


def test_hotan_other_urban_residents_and_employees() -> None:
    d = decide(hotan(household=Household.urban), HOTAN, HOTAN_HOSP, ON)
    assert d.eligible and d.matched_groups == ("urban_resident",)
    d = decide(hotan(household=Household.urban, insured=(Insurance.employee, "653221"), civil_servant=False),
               HOTAN, HOTAN_HOSP, ON)
    assert d.eligible and d.matched_groups == ("employee",)
    d = decide(hotan(household=Household.urban, insured=(Insurance.employee, "653221"), civil_servant=True),
               HOTAN, HOTAN_HOSP, ON)
    assert not d.eligible and "civil_servant_excluded" in codes(d)
    assert REASONS_ZH["civil_servant_excluded"] in [r.text_zh for r in d.reasons]


def test_hotan_county_scope() -> None:
    assert decide(hotan(), HOTAN, HOTAN_COUNTY_HOSP, ON).eligible
    other_county = Hospital("H653222001", "653222", HospitalLevel.county, True)
    assert codes(decide(hotan(), HOTAN, other_county, ON)) == ["hospital_out_of_scope"]
    # A hospital outside the rule's region is never governed by it.
    assert codes(decide(hotan(), HOTAN, SHANZHOU_HOSP, ON)) == ["hospital_out_of_scope"]


# --- Qidong 004 ---------------------------------------------------------------------------------

def qidong(**kw: object) -> PersonSnapshot:
    kw.setdefault("insured", (Insurance.employee, "320681"))
    kw.setdefault("domicile", "320681")
    kw.setdefault("household", Household.urban)
    return person(**kw)  # type: ignore[arg-type]


def test_qidong_employees_at_any_public_hospital_of_the_city() -> None:
    d = decide(qidong(), QIDONG, QIDONG_HOSP, ON)
    assert d.eligible and d.matched_groups == ("employee",) and d.categories == ()
    assert codes(decide(qidong(), QIDONG, QIDONG_PRIVATE, ON)) == ["not_public_hospital"]
    assert codes(decide(qidong(insured=(Insurance.resident, "320681")), QIDONG, QIDONG_HOSP, ON)) == \
        ["insurance_not_admitted"]
    # Nantong's own hospitals are outside Qidong's rule.
    assert codes(decide(qidong(), QIDONG, NANTONG_HOSP, ON)) == ["hospital_out_of_scope"]


def test_qidong_blacklist_is_city_wide_and_blocks_direct_settlement() -> None:
    listed = qidong(blacklist=(BlacklistEntry("320681", active=True),))
    d = decide(listed, QIDONG, QIDONG_HOSP, ON)
    assert not d.eligible and d.blacklisted and not d.direct_settlement_allowed
    assert codes(d) == ["blacklisted"] and "医保直接报销" in d.reasons[0].text_zh
    lifted = qidong(blacklist=(BlacklistEntry("320681", active=False),))
    d = decide(lifted, QIDONG, QIDONG_HOSP, ON)
    assert d.eligible and not d.blacklisted and d.direct_settlement_allowed
    elsewhere = qidong(blacklist=(BlacklistEntry("410000", active=True),))
    assert decide(elsewhere, QIDONG, QIDONG_HOSP, ON).eligible


def test_the_blacklist_is_the_one_in_force_on_the_date_asked() -> None:
    # decided on 1 February, lifted on 1 March: in force 1 Feb – 28 Feb, not before, not from the lift on
    entry = BlacklistEntry("320681", since=date(2026, 2, 1), until=date(2026, 3, 1))
    listed = qidong(blacklist=(entry,))
    for on, blacklisted in ((date(2026, 1, 31), False), (date(2026, 2, 1), True), (date(2026, 2, 28), True),
                            (date(2026, 3, 1), False)):
        assert decide(listed, QIDONG, QIDONG_HOSP, on).blacklisted is blacklisted, on
    open_ended = qidong(blacklist=(BlacklistEntry("320681", since=date(2026, 2, 1)),))
    assert decide(open_ended, QIDONG, QIDONG_HOSP, date(2030, 1, 1)).blacklisted


def test_county_blacklist_elsewhere_does_not_reach_and_keeps_direct_settlement() -> None:
    p = person(status(C.registered_poor), blacklist=(BlacklistEntry("411202"),))
    assert decide(p, HENAN, SHANZHOU_HOSP, ON).eligible
    p = person(status(C.registered_poor), blacklist=(BlacklistEntry("411203"),))
    d = decide(p, HENAN, SHANZHOU_HOSP, ON)
    assert not d.eligible and d.blacklisted and d.direct_settlement_allowed  # Henan's rule does not block it


# --- Guyang 003 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("category", [C.registered_poor, C.subsistence_allowance, C.extreme_poverty,
                                      C.poor_disabled])
def test_guyang_poor_population(category: Category) -> None:
    p = person(status(category), insured=(Insurance.resident, "150222"), domicile="150222",
               disability=Disability.severe)
    d = decide(p, GUYANG, GUYANG_HOSP, ON)
    assert d.eligible and d.categories == (category,) and d.disability is Disability.severe
    assert d.as_dict()["insurance"] == {"scheme": "resident", "region_code": "150222"}


def test_guyang_refuses_others_and_city_hospitals() -> None:
    p = person(status(C.child_in_distress), insured=(Insurance.resident, "150222"), domicile="150222")
    assert codes(decide(p, GUYANG, GUYANG_HOSP, ON)) == ["category_not_admitted"]
    p = person(status(C.registered_poor), insured=(Insurance.resident, "150222"), domicile="150222")
    # Treat-first runs at the county's own institutions (003 二(三)3), not Baotou's city hospitals.
    assert codes(decide(p, GUYANG, BAOTOU_HOSP, ON)) == ["hospital_out_of_scope"]


# --- general ------------------------------------------------------------------------------------

def test_two_enrolments_either_may_admit() -> None:
    p = PersonSnapshot(statuses=(status(C.registered_poor),), domicile_region="411203",
                       enrolments=(Enrolment(Insurance.resident, "411203", date(2020, 1, 1)),
                                   Enrolment(Insurance.employee, "411203", date(2024, 1, 1))))
    d = decide(p, HENAN, SHANZHOU_HOSP, ON)
    assert d.eligible and d.insurance is not None and d.insurance.scheme is Insurance.resident


def test_rule_without_groups_admits_nobody() -> None:
    empty = HENAN.model_copy(update={"groups": []})
    d = decide(person(status(C.registered_poor)), empty, SHANZHOU_HOSP, ON)
    assert codes(d) == ["category_not_admitted"]


def test_every_reason_has_chinese_text() -> None:
    for code, text in REASONS_ZH.items():
        assert code.isascii() and text and not text.isascii()
