"""Shared enumerations, named with the glossary's identifiers (DESIGN §8)."""

from enum import StrEnum


class Category(StrEnum):
    registered_poor = "registered_poor"  # 建档立卡贫困人口
    extreme_poverty = "extreme_poverty"  # 特困供养人员
    subsistence_allowance = "subsistence_allowance"  # 低保对象
    child_in_distress = "child_in_distress"  # 困境儿童
    poor_disabled = "poor_disabled"  # 贫困残疾人
    monitored = "monitored"  # 防返贫监测对象
    urban_special = "urban_special"  # 城镇特困 (低保、五保、三无、城镇孤儿)


class Insurance(StrEnum):
    resident = "resident"  # 城乡居民医保
    employee = "employee"  # 职工医保


class Disability(StrEnum):
    severe = "severe"  # 重度残疾
    disabled_child = "disabled_child"  # 残疾儿童


class Household(StrEnum):
    rural = "rural"
    urban = "urban"


class HospitalLevel(StrEnum):
    village = "village"
    township = "township"
    county = "county"
    city = "city"
    province = "province"


class StayKind(StrEnum):
    inpatient = "inpatient"
    outpatient = "outpatient"


class FeeClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Role(StrEnum):
    hospital = "hospital"
    bureau = "bureau"
    payer = "payer"
    operator = "operator"
    service = "service"  # one service calling another, with its own key (onestop.common.tokens)
