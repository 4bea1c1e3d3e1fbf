"""Posting a stay's fee lines day by day (费用明细上传, NHSA 2301), refunds (退费) and withdrawal (NHSA 2302).

A batch commits whole or not at all. A `line_id` seen before with the same content is a no-op (an HIS retrying
a batch); with other content it is a 409 naming it. A refund is a new line with a negative amount naming the line
it refunds (`refunds_line_id`, NHSA `init_feedetl_sn`); refunds never take a line below zero, and a line a
settlement already took cannot be refunded until that settlement is reversed. A line for a settled or cancelled
stay is a 409; a line dated inside a part a mid-stay settlement already took goes into the next part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import as_shanghai, now
from onestop.common.errors import Conflict, InvalidInput, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import FeesPosted
from onestop.contracts.money import format_fen
from onestop.ledger.stays.service import check_scope, get_row
from onestop.ledger.store import fees

COMPARED = ("code", "name", "fee_class", "amount_fen", "occurred_at", "quantity", "unit_price_fen",
            "refunds_line_id")


@dataclass(frozen=True)
class PostedLine:
    line_id: str
    code: str
    name: str
    fee_class: str
    amount_fen: int
    occurred_at: datetime
    quantity: Decimal | None = None
    unit_price_fen: int | None = None
    refunds_line_id: str | None = None

    def row(self, stay_id: str) -> dict[str, Any]:
        at = as_shanghai(self.occurred_at)
        return {"stay_id": stay_id, "line_id": self.line_id, "code": self.code, "name": self.name,
                "fee_class": self.fee_class, "amount_fen": self.amount_fen, "occurred_at": at,
                "occurred_on": at.date(), "quantity": self.quantity, "unit_price_fen": self.unit_price_fen,
                "refunds_line_id": self.refunds_line_id}


def _same(row: dict[str, Any], new: dict[str, Any]) -> bool:
    for k in COMPARED:
        a, b = row[k], new[k]
        if k == "quantity" and a is not None and b is not None:
            a, b = Decimal(a), Decimal(b)
        if a != b:
            return False
    return True


def _refusal(i: int, name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"lines[{i}].{name}: {reason}", errors=[field_error(f"lines.{i}.{name}", reason)])


async def post(runtime: Runtime, principal: Principal, session: AsyncSession, stay_id: str,
               lines: Sequence[PostedLine]) -> tuple[int, dict[str, Any]]:
    require_role(principal, Role.hospital, Role.operator)
    stay = await get_row(session, stay_id, for_update=True)  # serialises with other batches and the settlement
    check_scope(principal, stay, change=True)
    if stay["state"] != "open":
        raise Conflict(f"the stay is {stay['state']}: no fee line can be added", stay_state=stay["state"])
    admitted_on = as_shanghai(stay["admitted_at"]).date()
    batch: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, line in enumerate(lines):
        new = line.row(stay_id)
        if new["occurred_on"] < admitted_on:
            raise _refusal(i, "occurred_at", f"before the admission date {admitted_on.isoformat()}")
        seen = batch.get(line.line_id)
        if seen is not None and not _same(seen[1], new):
            raise _refusal(i, "line_id", f"line_id {line.line_id!r} twice in the batch with other content")
        batch.setdefault(line.line_id, (i, new))
    stored = await fees.existing(session, stay_id, list(batch))
    differing = [k for k, (_, new) in batch.items() if k in stored and not _same(stored[k], new)]
    if differing:
        raise Conflict("a line_id was posted before with other content", line_ids=differing[:50])
    fresh = {k: v for k, v in batch.items() if k not in stored}
    await _check_refunds(session, stay_id, fresh, stored)
    rows = [new for _, new in fresh.values()]
    await fees.add(session, rows)
    back = [k for k in batch if k in stored and stored[k]["withdrawn_at"] is not None]
    await fees.reinstate(session, stay_id, back)
    changed = len(rows) + len(back)
    total = await fees.stay_total(session, stay_id)
    amount = sum(r["amount_fen"] for r in rows) + sum(stored[k]["amount_fen"] for k in back)
    if changed:
        await fees.bump_version(session, stay_id)
        await runtime.outbox.add(session, FeesPosted(
            stay_id=stay_id, person_ref=stay["person_ref"], region_code=stay["insurance_region_code"],
            hospital_code=stay["hospital_code"], lines_added=changed,
            refunds_added=sum(1 for r in rows if r["refunds_line_id"]),
            amount_added=format_fen(amount), stay_total=format_fen(total), posted_at=now()))  # type: ignore[arg-type]
    return 201, {"stay_id": stay_id, "accepted": changed, "already_posted": len(batch) - changed,
                 "amount_added": format_fen(amount), "stay_total": format_fen(total)}


async def _check_refunds(session: AsyncSession, stay_id: str, fresh: dict[str, tuple[int, dict[str, Any]]],
                         stored: dict[str, dict[str, Any]]) -> None:
    """A refund is negative, names a live charge line of this stay (stored or earlier in the batch) that no
    settlement has taken, and all its refunds together never exceed it."""
    charges = {k: new for k, (_, new) in fresh.items() if new["refunds_line_id"] is None}
    for i, new in fresh.values():
        if new["refunds_line_id"] is None and new["amount_fen"] < 0:
            raise _refusal(i, "amount", "a negative amount is a refund and names the line it refunds "
                                        "(refunds_line_id)")
        if new["refunds_line_id"] is not None and new["amount_fen"] >= 0:
            raise _refusal(i, "amount", "a refund's amount is negative")
        if new["quantity"] is not None and (new["quantity"] < 0) != (new["refunds_line_id"] is not None):
            raise _refusal(i, "quantity", "negative exactly for a refund")
    targets = {new["refunds_line_id"] for _, new in fresh.values() if new["refunds_line_id"] is not None}
    if not targets:
        return
    known = dict(await fees.existing(session, stay_id, [t for t in targets if t not in charges]))
    already = await fees.refunded(session, stay_id, list(targets))
    left = {}
    for t in targets:
        original = charges.get(t) or known.get(t)
        if original is not None and original.get("withdrawn_at") is None and original["refunds_line_id"] is None:
            left[t] = original["amount_fen"] - already.get(t, 0)
    for i, new in sorted(fresh.values(), key=lambda v: v[0]):
        t = new["refunds_line_id"]
        if t is None:
            continue
        if t not in left:
            raise _refusal(i, "refunds_line_id", f"no charge line {t!r} on this stay to refund")
        original = charges.get(t) or known[t]
        if original.get("settlement_id") is not None:
            raise Conflict(f"line {t!r} was settled: reverse that settlement before refunding it", line_ids=[t])
        left[t] += new["amount_fen"]
        if left[t] < 0:
            raise _refusal(i, "amount", f"the refunds of line {t!r} would exceed it")


async def withdraw(runtime: Runtime, principal: Principal, session: AsyncSession,
                   stay_id: str) -> tuple[int, dict[str, Any]]:
    """NHSA 2302: every live line no settlement has taken is withdrawn (kept, marked); the HIS posts again."""
    require_role(principal, Role.hospital, Role.operator)
    stay = await get_row(session, stay_id, for_update=True)
    check_scope(principal, stay, change=True)
    if stay["state"] != "open":
        raise Conflict(f"the stay is {stay['state']}", stay_state=stay["state"])
    at = now()
    count, amount = await fees.withdraw_unsettled(session, stay_id, at)
    total = await fees.stay_total(session, stay_id)
    if count:
        await fees.bump_version(session, stay_id)
        await runtime.outbox.add(session, FeesPosted(
            stay_id=stay_id, person_ref=stay["person_ref"], region_code=stay["insurance_region_code"],
            hospital_code=stay["hospital_code"], lines_added=0, refunds_added=0, lines_withdrawn=count,
            amount_added=format_fen(-amount), stay_total=format_fen(total), posted_at=at))  # type: ignore[arg-type]
    return 200, {"stay_id": stay_id, "withdrawn": count, "amount_withdrawn": format_fen(amount),
                 "stay_total": format_fen(total)}
