"""Fund budgets (003 二(三)2: 医疗扶贫救助基金, 市县1:1, 1045万元 for 2017–2020): the policy's `funds` (rules'
operations) against the fund's consumption from clearing's postings, and `clearing.budget.threshold_reached.v1`
once at 80% and once at 100%. Nothing is refused: a fund over its budget still owes what it owes (the hospital
advanced it; the budget is the funders' concern, 市县 top it up).

The check runs in a loop of its own (every `ONESTOP_BUDGET_CHECK_INTERVAL_S`) over the regions with postings,
after their posting transactions committed: the posting path stays as fast as it is, and a threshold row
(store/budgets.mark) plus the event in the outbox, in one transaction, make each event go out exactly once even
with two processes checking.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import structlog

from onestop.clearing.reconciliation.service import SHANGHAI
from onestop.clearing.store import budgets as store
from onestop.common.money import format_fen, parse_yuan
from onestop.common.service_app import Runtime
from onestop.contracts.events.clearing import BudgetThresholdReached

RULES = "rules_client"  # Runtime.extras key
THRESHOLDS = (80, 100)  # percent of the budget (issue 14 point 9)
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Budget:
    payer: str
    name_zh: str
    region_code: str
    amount: int  # fen
    start: date
    end: date  # included
    shares: dict[str, int]

    def bounds(self) -> tuple[datetime, datetime]:
        """[first day 00:00, the day after the last 00:00) in Asia/Shanghai: the policy's days are China's."""
        return (datetime.combine(self.start, time(), SHANGHAI),
                datetime.combine(self.end + timedelta(days=1), time(), SHANGHAI))


def reached_now(consumed: int, amount: int) -> list[int]:
    """The thresholds a consumption has reached (integer arithmetic: 80% of 1045万 is exactly 836万)."""
    return [t for t in THRESHOLDS if consumed * 100 >= amount * t]


async def budgets_of(runtime: Runtime, region_code: str) -> list[Budget]:
    """The region's fund budgets as its policy in force today states them (every fund with its period)."""
    ops = await runtime.extras[RULES].operations(region_code, datetime.now(SHANGHAI).date())
    return [Budget(f["payer"], f.get("name_zh", ""), region_code, parse_yuan(f["amount"]),
                   date.fromisoformat(f["period"]["start"]), date.fromisoformat(f["period"]["end"]),
                   dict(f.get("shares") or {}))
            for f in ops.get("funds") or []]


async def consumption(runtime: Runtime, b: Budget) -> int:
    async with runtime.db.transaction() as session:
        return await store.consumed(session, b.payer, b.region_code, *b.bounds())


async def check(runtime: Runtime) -> int:
    """Record and announce every threshold newly reached; returns how many events were written."""
    async with runtime.db.transaction() as session:
        regions = await store.regions(session)
    written = 0
    for region in regions:
        for b in await budgets_of(runtime, region):
            async with runtime.db.transaction() as session:
                fen = await store.consumed(session, b.payer, b.region_code, *b.bounds())
                for t in reached_now(fen, b.amount):
                    if await store.mark(session, b.payer, b.region_code, b.start, t, fen):
                        await runtime.outbox.add(session, BudgetThresholdReached(
                            payer=b.payer, region_code=b.region_code, period_start=b.start, period_end=b.end,
                            threshold_percent=t, budget=format_fen(b.amount), consumed=format_fen(fen),
                            reached_at=datetime.now(UTC)))
                        written += 1
    return written


async def loop(runtime: Runtime, interval_s: float) -> None:
    while True:
        try:
            await check(runtime)
        except Exception as exc:  # rules away, the database restarting: the next round tries again
            log.warning("budget_check_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval_s)


def status(b: Budget, consumed: int, reached: list[int]) -> dict[str, Any]:
    return {"payer": b.payer, "name_zh": b.name_zh, "region_code": b.region_code,
            "period": {"start": b.start.isoformat(), "end": b.end.isoformat()}, "shares": b.shares,
            "budget": format_fen(b.amount), "consumed": format_fen(consumed),
            "remaining": format_fen(b.amount - consumed),
            "percent": str((Decimal(consumed * 100) / b.amount).quantize(Decimal("0.01"))),
            "thresholds_reached": reached}
