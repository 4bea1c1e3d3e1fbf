"""The daily repayment check (issue 13 point 3): `POST /v1/repayment-checks {"as_of"}` and the scheduler run this
one use case. For every region with active plans it reads the region's terms from rules (`repayment.grace_days`,
`repayment.reminder_lead_days`, operations policy data), finds the unpaid instalments in one query, and gives each
notice once (recorded in `repayment_notice`, so a second run of a day, or two replicas, tell nothing twice):
`ledger.repayment.reminder_due.v1` some days before a due date; after the grace period
`ledger.repayment.overdue.v1` (identity opens a suspected-default case from it) and a home-visit task (入户走访,
000 §3.3) for the person's county. The county is the insurance county identity answered at admission: rural
residents' insurance is enrolled where the household is registered (户籍地参保), so it is the domicile county.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from onestop.common.clock import as_shanghai, now
from onestop.common.service_app import Runtime
from onestop.contracts.events.base import EventPayload
from onestop.contracts.events.ledger import RepaymentOverdue, RepaymentReminderDue
from onestop.contracts.money import format_fen
from onestop.ledger.clients import RulesClient
from onestop.ledger.domain.plans import notices
from onestop.ledger.store import checks

log = structlog.get_logger(__name__)


async def run(runtime: Runtime, as_of: date) -> dict[str, Any]:
    """Reminders, overdue notices and visit tasks as of a date; answers what it told, per region."""
    rules: RulesClient = runtime.extras["rules"]
    async with runtime.db.transaction() as session:
        regions = await checks.regions(session)
    out: dict[str, Any] = {"as_of": as_of.isoformat(), "reminders": 0, "overdue": 0, "visits": 0, "regions": []}
    for region in sorted(regions):
        terms = await rules.repayment_terms(region, as_of)
        grace, leads = terms if terms else (0, ())
        told = await _region(runtime, region, as_of, grace, leads)
        out["regions"].append({"region_code": region, "grace_days": grace, "reminder_lead_days": list(leads),
                               **told})
        for k in ("reminders", "overdue", "visits"):
            out[k] += told[k]
    return out


async def _region(runtime: Runtime, region: str, as_of: date, grace: int, leads: tuple[int, ...]) -> dict[str, int]:
    at = now()
    async with runtime.db.transaction() as session:
        rows = await checks.unpaid(session, region, as_of, [as_of + timedelta(days=d) for d in leads])
        meta = {str(r["plan_id"]): r for r in rows}
        reminders, overdue = notices([(str(r["plan_id"]), r["number"], r["due_date"], r["unpaid_fen"]) for r in rows],
                                     as_of, grace, leads)
        keys = [(x.plan_id, x.number, f"reminder-{x.days_before}") for x in reminders]
        keys += [(x.plan_id, 0, "overdue") for x in overdue]
        new = await checks.claim_notices(session, keys, as_of, at)
        events: list[EventPayload] = []
        for x in reminders:
            if (x.plan_id, x.number, f"reminder-{x.days_before}") in new:
                m = meta[x.plan_id]
                events.append(RepaymentReminderDue(
                    plan_id=x.plan_id, stay_id=str(m["stay_id"]), person_ref=str(m["person_ref"]),
                    region_code=region, hospital_code=m["hospital_code"], number=x.number, due_date=x.due_date,
                    amount=format_fen(x.unpaid), days_before=x.days_before, as_of=as_of))  # type: ignore[arg-type]
        visits = []
        for o in overdue:
            if (o.plan_id, 0, "overdue") not in new:
                continue
            m = meta[o.plan_id]
            events.append(RepaymentOverdue(
                person_ref=str(m["person_ref"]), region_code=region, hospital_code=m["hospital_code"],
                plan_id=o.plan_id, stay_id=str(m["stay_id"]), overdue_amount=format_fen(o.overdue),  # type: ignore[arg-type]
                due_date=o.due_date, days_overdue=o.days_overdue, detected_at=at))
            visits.append({"visit_id": str(uuid.uuid4()), "plan_id": o.plan_id, "stay_id": str(m["stay_id"]),
                           "person_ref": str(m["person_ref"]), "region_code": region,
                           "hospital_code": m["hospital_code"], "overdue_fen": o.overdue, "due_date": o.due_date,
                           "state": "open", "created_at": at})
        await checks.add_visits(session, visits)
        await runtime.outbox.add_many(session, events, at=at)
    told_reminders = sum(1 for e in events if isinstance(e, RepaymentReminderDue))
    return {"reminders": told_reminders, "overdue": len(visits), "visits": len(visits)}


class Scheduler:
    """Runs the check once a day (Asia/Shanghai) at or after `hour`; `clock` is injectable (tests drive `tick`)."""

    def __init__(self, runtime: Runtime, *, hour: int = 6, clock: Callable[[], datetime] = now,
                 interval_s: float = 60.0) -> None:
        self.runtime, self.hour, self.clock, self.interval_s = runtime, hour, clock, interval_s
        self.last_run: date | None = None

    async def tick(self) -> dict[str, Any] | None:
        local = as_shanghai(self.clock())
        if local.hour < self.hour or self.last_run == local.date():
            return None
        result = await run(self.runtime, local.date())
        self.last_run = local.date()
        log.info("repayment check", as_of=result["as_of"], reminders=result["reminders"], overdue=result["overdue"])
        return result

    async def loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:  # rules or the database away: try again next interval, the day is not lost
                log.warning("repayment check failed", error=type(exc).__name__)
            await asyncio.sleep(self.interval_s)
