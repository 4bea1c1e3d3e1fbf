"""The reconciliation use case: ask the ledger for its settlements (clearing's `service` token), read clearing's
legs, both as of one cut-off, and compare them (compare.py). Who may ask what is narrowed here.

The cut-off (default: `ONESTOP_RECONCILIATION_LAG_S` ago) bounds both sides by the ledger's commit time,
`settled_at`, which the ledger lists and clearing stores on every transfer: a settlement committed after it, and
the postings of it, do not count, so events in flight are not differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from onestop.clearing.reconciliation.compare import GroupKey, Leg, Result, compare
from onestop.clearing.store import reconciliations
from onestop.common.auth import Principal
from onestop.common.errors import Forbidden, InvalidInput, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.regions import region_within, significant_digits

LEDGER = "ledger_client"  # Runtime.extras key
SHANGHAI = ZoneInfo("Asia/Shanghai")  # NHSA's months are China's


@dataclass(frozen=True)
class Asked:
    hospital_code: str | None = None
    payer: str | None = None
    region_code: str | None = None
    period: str | None = None  # YYYY-MM


def narrowed(principal: Principal, asked: Asked) -> Asked:
    """The query within the caller's scope: operator all, a bureau its region, a hospital its own, a payer its
    fund (payer and region); asking beyond it is a 403 naming what."""
    hospital, payer, region = asked.hospital_code, asked.payer, asked.region_code
    if principal.role is Role.hospital:
        if hospital not in (None, principal.hospital_code):
            raise Forbidden("hospital_code is not your hospital")
        hospital = principal.hospital_code
    elif principal.role in (Role.bureau, Role.payer):
        if principal.role is Role.payer:
            if principal.payer is None or payer not in (None, principal.payer):
                raise Forbidden("payer is not your fund")
            payer = principal.payer
        own = principal.region_code
        if own is None:
            raise Forbidden("this token names no region")
        if region is not None and not region_within(region, own):
            raise Forbidden("region_code is outside your region")
        region = region or own
    elif principal.role is not Role.operator:
        raise Forbidden("reconciliation is for operators, bureaus, hospitals and funds")
    return Asked(hospital, payer, region, asked.period)


def cutoff_of(runtime: Runtime, asked: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if asked is None:
        return now - timedelta(seconds=getattr(runtime.settings, "reconciliation_lag_s", 5.0))
    if asked.tzinfo is None:
        raise InvalidInput("cutoff needs a time zone", errors=[field_error("cutoff", "give an offset, e.g. +08:00")])
    if asked > now:
        raise InvalidInput("cutoff is in the future",
                           errors=[field_error("cutoff", "must not be later than now: events in flight would count")])
    return asked


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM in Asia/Shanghai."""
    year, month = int(period[:4]), int(period[5:7])
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


async def reconcile(runtime: Runtime, asked: Asked, cutoff: datetime) -> Result:
    """Both sides as of `cutoff`, compared; `asked` is already narrowed to the caller's scope."""
    items = await runtime.extras[LEDGER].settlements(hospital_code=asked.hospital_code, payer=asked.payer,
                                                     region_code=asked.region_code, period=asked.period)
    ledger: list[Leg] = []
    for item in items:
        if item.settled_at > cutoff:
            continue
        for f in item.funds:
            if asked.payer is not None and f.payer != asked.payer:
                continue  # the ledger lists the settlements the fund paid, with every fund's amount
            ledger.append(Leg(item.settlement_id, GroupKey(item.hospital_code, f.payer, item.region_code,
                                                           item.period), int(f.amount)))
    prefix = asked.region_code[:significant_digits(asked.region_code)] if asked.region_code else ""
    month = month_bounds(asked.period) if asked.period else None
    async with runtime.db.transaction() as session:
        rows = await reconciliations.legs(session, cutoff=cutoff, hospital_code=asked.hospital_code,
                                          payer=asked.payer, region_prefix=prefix, month=month,
                                          ids=sorted({leg.settlement_id for leg in ledger}))
    clearing = [Leg(r.settlement_id, GroupKey(r.hospital_code, r.payer, r.region_code,
                                              r.settled_at.astimezone(SHANGHAI).strftime("%Y-%m")), int(r.amount))
                for r in rows]
    return compare(ledger, clearing)


def may_see(principal: Principal, scope: Any) -> bool:
    """Whether a recorded run (its narrowed filter) is within the caller's scope: a caller sees a run whose
    filter is at least as narrow as its own scope."""
    if principal.role is Role.operator:
        return True
    if principal.role is Role.hospital:
        return scope.hospital_code == principal.hospital_code
    if principal.role in (Role.bureau, Role.payer):
        if principal.role is Role.payer and scope.payer != principal.payer:
            return False
        return scope.region_code is not None and region_within(scope.region_code, principal.region_code or "")
    return False
