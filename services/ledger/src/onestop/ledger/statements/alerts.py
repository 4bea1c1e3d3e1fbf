"""Cost alerts (启东 004 二(三): 对费用较大或者预计超过限额的患者，要及时提醒、告知用费情况): when a stay's estimate
reaches one of its region's thresholds (rules' operations `cost_alerts.thresholds`, estimated totals of the stay,
settled parts included), `ledger.stay.cost_alert.v1` once per threshold per stay (the `cost_alert` table).
Not 超限价, the quote's `over_limit_amount`.

The estimate is the settlement's part quote as of the last unsettled line's date. It runs after the fee-line batch
has committed, never inside it (see events/cost_alerts.py); a bill rules will not quote, or that a settlement
could not take yet (a stay crossing 31 December), raises nothing and is checked again on the next batch.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from time import monotonic
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.clock import TZ, now
from onestop.common.errors import Problem
from onestop.common.service_app import Runtime
from onestop.contracts.events.ledger import StayCostAlert
from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.clients import RulesClient
from onestop.ledger.domain import bill, statement
from onestop.ledger.quotes import QuoteClient
from onestop.ledger.settlements.service import Discharge, part_request, read_part
from onestop.ledger.store import fees, statements, stays

log = structlog.get_logger("onestop.ledger.alerts")


class Thresholds:
    """The regions' thresholds by (region, date), kept a minute: operational data, a batch a second per stay."""

    def __init__(self, rules: RulesClient, ttl_s: float = 60.0) -> None:
        self._rules, self._ttl = rules, ttl_s
        self._cache: dict[tuple[str, date], tuple[float, list[int]]] = {}

    async def of(self, region_code: str, on: date) -> list[int]:
        hit = self._cache.get((region_code, on))
        if hit is not None and monotonic() - hit[0] < self._ttl:
            return hit[1]
        values = await self._rules.cost_alert_thresholds(region_code, on)
        self._cache[(region_code, on)] = (monotonic(), values)
        return values


class CostAlerts:
    """The check the consumer runs, with the quote client and thresholds it was built with (its own: a test or a
    caller swapping `runtime.extras["quotes"]` does not reach it)."""

    def __init__(self, runtime: Runtime, quotes: QuoteClient, thresholds: Thresholds) -> None:
        self._runtime, self._quotes, self._thresholds = runtime, quotes, thresholds

    async def check(self, session: AsyncSession, stay_id: str) -> list[int]:
        """Estimate the stay's bill as it stands and raise the thresholds it reached for the first time (fen)."""
        row = await stays.get(session, stay_id)
        if row is None or row["state"] != "open":
            return []
        seen = await statements.checked_version(session, stay_id)
        if seen is not None and seen >= row["lines_version"]:
            return []  # a later batch's event was handled first and estimated this bill already
        raised = await self._raise(session, row)
        await statements.mark_checked(session, stay_id, row["lines_version"])
        return raised

    async def _raise(self, session: AsyncSession, row: dict[str, Any]) -> list[int]:
        stay_id = row["stay_id"]
        unsettled = bill.net(bill.part_lines(await fees.live(session, stay_id), None))
        if not unsettled:
            return []
        through = max(n.line.occurred_on for n in unsettled)
        raised = {a["threshold_fen"] for a in await statements.alerts(session, stay_id)}
        pending = [t for t in await self._thresholds.of(row["insurance_region_code"], through) if t not in raised]
        if not pending:
            return []
        d = Discharge(at=datetime.combine(through, time(12), tzinfo=TZ), through=through)
        try:
            stay, part, lines, _year, state, _version = await read_part(session, None, stay_id, d)
            quote = await self._quotes.quote(part_request(stay, part, lines, state, d))
        except Problem as exc:
            if exc.status >= 500:
                raise  # rules away: retried by the consumer until it answers
            log.info("cost_alert_not_estimated", stay_id=stay_id, problem=exc.kind)
            return []
        total = part.billed_before_fen + parse_yuan(quote["total"])
        self_pay = parse_yuan(quote["self_pay"])
        out = []
        at = now()
        for threshold in statement.crossed(pending, total, raised):
            alert = {"stay_id": stay_id, "threshold_fen": threshold, "alert_id": str(uuid.uuid4()),
                     "estimated_total_fen": total, "estimated_self_pay_fen": self_pay, "through": through,
                     "raised_at": at}
            if not await statements.raise_alert(session, alert):
                continue  # another replica raised it meanwhile
            await self._runtime.outbox.add(session, StayCostAlert(
                alert_id=alert["alert_id"], stay_id=stay_id, person_ref=stay["person_ref"],
                region_code=stay["insurance_region_code"], hospital_code=stay["hospital_code"],
                threshold=format_fen(threshold), estimated_total=format_fen(total),  # type: ignore[arg-type]
                estimated_self_pay=format_fen(self_pay), through=through, raised_at=at))  # type: ignore[arg-type]
            out.append(threshold)
        return out
