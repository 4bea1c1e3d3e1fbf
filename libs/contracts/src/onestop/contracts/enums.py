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


class DischargeWay(StrEnum):
    """How a stay ended (离院方式), recorded at settlement."""

    normal = "normal"
    against_advice = "against_advice"  # 自动出院 / 未遵医嘱
    transfer = "transfer"  # 转院
    death = "death"
    absconded = "absconded"  # 逃逸


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
    credit_feed = "credit_feed"  # 司法/金融/征信 (004 二(四)): resolves a credit-feed entry's person, nothing else


class CreditReason(StrEnum):
    """Why a person was blacklisted or lifted, as the credit feed says it (the operator's words stay inside)."""

    malicious_default = "malicious_default"  # 恶意逃费 (004 二(四)): the one ground for a blacklisting
    repaid = "repaid"  # 已还清: the debt was paid
    decision_reversed = "decision_reversed"  # 复核撤销: the blacklisting was found wrong on review
    other = "other"
