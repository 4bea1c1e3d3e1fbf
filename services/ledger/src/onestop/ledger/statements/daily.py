"""The daily statement (一日清单, 000 §2.4: 严格执行住院费用"一日清单"制度，每天向患者出示费用清单): a day's lines,
refunds shown with the line they refund, the running totals by class up to and including the day, the running
estimate per fund and the patient's share (a quote of the unsettled lines up to the day, against the current
accumulators), and the cost alerts raised so far (启东 004 二(三)). It reads; the quote is asked with no
transaction open (rules down: 503).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from onestop.common.auth import Principal
from onestop.common.clock import as_shanghai
from onestop.common.errors import InvalidInput, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.money import format_fen
from onestop.ledger.domain import bill, statement
from onestop.ledger.quotes import QuoteClient
from onestop.ledger.statements.estimate import view
from onestop.ledger.stays.service import audited_read
from onestop.ledger.store import accumulators, fees, settlements, statements


async def daily(runtime: Runtime, principal: Principal, stay_id: str, day: date) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        stay = await audited_read(session, principal, stay_id, "GET /v1/stays/{stay_id}/daily-statement",
                                  detail=f"date={day.isoformat()}")
        admitted_on = as_shanghai(stay["admitted_at"]).date()
        if day < admitted_on:
            raise InvalidInput("the date is before the admission",
                               errors=[field_error("date", f"before the admission date {admitted_on.isoformat()}")])
        lines = await fees.live(session, stay["stay_id"])
        alerts = await statements.alerts(session, stay["stay_id"])
        earlier = [bill.EarlierPart(p["through"], p["total_fen"], bill.deductible_borne(p["quote"]))
                   for p in await settlements.standing_parts(session, stay["stay_id"])]
        state, _version = await accumulators.read(session, stay["person_ref"], stay["newborn"], day.year)
    today, late = statement.day_lines(lines, day)
    by_class = statement.class_totals(lines, day)
    estimate, note = None, None
    netted = bill.net(statement.unsettled_through(lines, day))
    part = bill.next_part(admitted_on, earlier, final=True)
    if stay["state"] == "cancelled":
        note = "the admission was cancelled"
    elif not netted:
        note = "no unsettled fee line up to this date" + (": see the stay's settlements" if earlier else "")
    elif day < part.starts_on:
        note = "this date is inside a settled part: its late lines go into the next part"
    elif day.year != part.starts_on.year:
        note = f"the stay crosses 31 December: mid-settle through {part.starts_on.year}-12-31 first"
    else:
        request = bill.quote_request(stay, netted, state, on=day, admitted_on=admitted_on, part=part,
                                     disease_code=stay["disease_code"])
        quotes: QuoteClient = runtime.extras["quotes"]
        estimate = view(await quotes.quote(request), part, day)
    return {
        "stay_id": stay["stay_id"], "date": day.isoformat(), "state": stay["state"],
        "hospital_code": stay["hospital_code"], "admitted_on": admitted_on.isoformat(),
        "lines": [{**_line(d.line), "refunds": [_refund(r) for r in d.refunds], "net": format_fen(d.net_fen)}
                  for d in today],
        "refunds_of_earlier_lines": [{**_refund(x.refund), "refunds_line": _line(x.of)} for x in late],
        "day_total": format_fen(statement.day_total_fen(lines, day)),
        "to_date": {"by_class": {k: format_fen(v) for k, v in by_class.items()},
                    "total": format_fen(sum(by_class.values()))},
        "estimate": estimate, "estimate_note": note,
        "cost_alerts": [alert_view(a) for a in alerts],
    }


def alert_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"alert_id": row["alert_id"], "threshold": format_fen(row["threshold_fen"]),
            "estimated_total": format_fen(row["estimated_total_fen"]),
            "estimated_self_pay": format_fen(row["estimated_self_pay_fen"]), "through": row["through"].isoformat(),
            "raised_at": row["raised_at"].isoformat()}


def _line(x: bill.Line) -> dict[str, Any]:
    return {"line_id": x.line_id, "code": x.code, "name": x.name, "class": x.fee_class,
            "amount": format_fen(x.amount_fen), "occurred_at": x.occurred_at.isoformat(),
            "occurred_on": x.occurred_on.isoformat(),
            "quantity": None if x.quantity is None else format(x.quantity.normalize(), "f"),
            "unit_price": None if x.unit_price_fen is None else format_fen(x.unit_price_fen),
            "settled": x.settlement_id is not None}


def _refund(x: bill.Line) -> dict[str, Any]:
    return {"line_id": x.line_id, "amount": format_fen(x.amount_fen), "occurred_at": x.occurred_at.isoformat(),
            "occurred_on": x.occurred_on.isoformat(), "refunds_line_id": x.refunds_line_id}
