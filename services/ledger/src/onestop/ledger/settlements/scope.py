"""Who reads which settlements (DESIGN §9, §9.1): a hospital its own; a bureau those insured in its region (a
bureau of 410000 reads 411203's, one of 411203 not 410000's); a payer the settlements its fund paid, in its
region (a fund is payer × insurance region: `basic` of 150222 is not `basic` of 410000); an operator and clearing's
`service` token (its reconciliation) all. Other services read none: a service is granted only what it needs.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from onestop.common.auth import Principal, region_within
from onestop.common.errors import Forbidden
from onestop.common.tokens import service_subject
from onestop.contracts.enums import Role
from onestop.contracts.regions import significant_digits
from onestop.ledger.store.settlement_lists import SettlementFilter

READERS = frozenset({service_subject("clearing")})  # services that read settlements: clearing reconciles


@dataclass(frozen=True)
class Asked:
    """The list's query as the caller sent it (already validated in form by the router)."""

    hospital_code: str | None = None
    region_code: str | None = None
    payer: str | None = None
    period: str | None = None  # YYYY-MM


def region_prefix(code: str) -> str:
    """The leading digits a region stands for: 410000 → "41", 411200 → "4112", 411203 → itself."""
    return code[:significant_digits(code)]


def period_bounds(period: str) -> tuple[date, date]:
    """[first day, first day of the next month) of a YYYY-MM."""
    year, month = int(period[:4]), int(period[5:7])
    days = calendar.monthrange(year, month)[1]
    start = date(year, month, 1)
    return start, date.fromordinal(start.toordinal() + days)


def _narrow_region(principal: Principal, asked: str | None) -> str:
    """The region a bureau or payer lists: the one asked, if inside its own; its own otherwise."""
    own = principal.region_code
    if own is None:
        raise Forbidden("this token names no region")
    if asked is None:
        return own
    if not region_within(asked, own):
        raise Forbidden("region_code is outside your region")
    return asked


def list_filter(principal: Principal, asked: Asked) -> SettlementFilter:
    """The caller's query narrowed by its scope; asking outside it is a 403 naming what."""
    hospital, region, payer = asked.hospital_code, asked.region_code, asked.payer
    if principal.role is Role.hospital:
        if hospital is not None and hospital != principal.hospital_code:
            raise Forbidden("hospital_code is not your hospital")
        hospital = principal.hospital_code
    elif principal.role is Role.bureau:
        region = _narrow_region(principal, region)
    elif principal.role is Role.payer:
        if principal.payer is None:
            raise Forbidden("this token names no fund")
        if payer is not None and payer != principal.payer:
            raise Forbidden("payer is not your fund")
        payer, region = principal.payer, _narrow_region(principal, region)
    elif not (principal.role is Role.operator or (principal.role is Role.service and principal.subject in READERS)):
        raise Forbidden("settlements are listed for a hospital, a bureau, a fund, an operator or clearing")
    starts, ends = period_bounds(asked.period) if asked.period else (None, None)
    return SettlementFilter(hospital_code=hospital, region_prefix=region_prefix(region) if region else None,
                            payer=payer, starts=starts, ends=ends)


def can_read(principal: Principal, row: dict[str, Any], paid_by: Collection[str]) -> bool:
    """One settlement, as the list would show it (`paid_by`: the funds that paid something in it); the stay's
    own scope (a bureau of the hospital's region too) is checked by the caller for hospital and bureau."""
    if principal.role is Role.operator or (principal.role is Role.service and principal.subject in READERS):
        return True
    if principal.role is Role.payer:
        return principal.payer in paid_by and principal.can_see_region(row["insurance_region_code"])
    return False
