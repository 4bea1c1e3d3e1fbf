"""The pre-settlement (预结算, DESIGN §9.1 `POST /v1/stays/{id}/estimate`): the quote the settlement would ask for
the stay's unsettled lines (its next part, as `settlements.service.read_part` builds it) against the current
accumulators. It changes nothing but an audit row (who, when, the stay, total, self-pay), so it takes no
Idempotency-Key (DESIGN §9). The quote is asked before any lock and with no transaction open: rules down is a 503.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from onestop.common.auth import Principal, require_role
from onestop.common.clock import now
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.domain import bill
from onestop.ledger.quotes import QuoteClient
from onestop.ledger.settlements.service import Discharge, fund_rows, part_request, read_part
from onestop.ledger.store import statements


async def quote_part(runtime: Runtime, principal: Principal, stay_id: str, d: Discharge, *,
                     field: str | None = None) -> tuple[dict[str, Any], bill.Part, dict[str, Any]]:
    """(stay, part, quote): the part read in a short transaction of its own, then quoted with none open."""
    async with runtime.db.transaction() as session:
        stay, part, lines, _year, state, _version = await read_part(session, principal, stay_id, d, field=field)
    quotes: QuoteClient = runtime.extras["quotes"]
    return stay, part, await quotes.quote(part_request(stay, part, lines, state, d))


def view(quote: dict[str, Any], part: bill.Part, through: date) -> dict[str, Any]:
    """A quote of a part as the estimate, the statement and the notice show it (the settlement's field names)."""
    funds = fund_rows(quote)
    total = parse_yuan(quote["total"])
    return {
        "part_index": part.index, "starts_on": part.starts_on.isoformat(), "through": through.isoformat(),
        "policy": quote["policy"], "total": quote["total"], "itemised_total": quote.get("itemised_total"),
        "policy_scope": quote["policy_scope"], "out_of_scope": quote["out_of_scope"],
        "class_c_amount": quote.get("class_c_amount"), "over_limit_amount": quote.get("over_limit_amount"),
        "copay_first_amount": quote.get("copay_first_amount"), "payers": quote["payers"],
        "funds": [{"payer": f["payer"], "name": f["name"], "agency": f["agency"], "nhsa_code": f["nhsa_code"],
                   "amount": format_fen(f["amount_fen"])} for f in funds],
        "fund_pay": format_fen(sum(f["amount_fen"] for f in funds)), "self_pay": quote["self_pay"],
        "hosp_part_amt": quote.get("hosp_part_amt", "0.00"), "effective_ratio": quote["effective_ratio"],
        "billed_before": format_fen(part.billed_before_fen),
        "stay_total": format_fen(part.billed_before_fen + total),
        "trace": quote["trace"], "catalogue_notes": quote.get("catalogue_notes", []),
        "illustrative": quote.get("illustrative", []),
    }


async def estimate(runtime: Runtime, principal: Principal, stay_id: str, d: Discharge) -> dict[str, Any]:
    require_role(principal, Role.hospital, Role.operator)
    stay, part, quote = await quote_part(runtime, principal, stay_id, d)
    stay_id = stay["stay_id"]
    estimate_id, at = str(uuid.uuid4()), now()
    async with runtime.db.transaction() as session:
        await statements.audit_estimate(session, {
            "estimate_id": estimate_id, "stay_id": stay_id, "estimated_by": principal.subject, "estimated_at": at,
            "through": d.through, "total_fen": parse_yuan(quote["total"]),
            "self_pay_fen": parse_yuan(quote["self_pay"])})
    return {"estimate_id": estimate_id, "stay_id": stay_id, **view(quote, part, d.through),
            "estimated_by": principal.subject, "estimated_at": at.isoformat()}

