"""SQL of fee lines (a stay's bill)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.domain.bill import Line
from onestop.ledger.store.tables import fee_line, stay

_LINE_COLUMNS = ("line_id", "code", "name", "fee_class", "amount_fen", "occurred_at", "occurred_on", "quantity",
                 "unit_price_fen", "refunds_line_id", "settlement_id")


# A batch's new lines in one INSERT of one row of arrays (unnest), whatever its size: one statement prepared
# once, instead of SQLAlchemy's multi-row VALUES with 11 parameters a line (a statement per batch size).
_ADD_COLUMNS = {"stay_id": "uuid", "line_id": "text", "code": "text", "name": "text", "fee_class": "text",
                "amount_fen": "bigint", "occurred_at": "timestamptz", "occurred_on": "date", "quantity": "numeric",
                "unit_price_fen": "bigint", "refunds_line_id": "text"}
_ADD = text(f"INSERT INTO fee_line ({', '.join(_ADD_COLUMNS)}) SELECT * FROM unnest("
            + ", ".join(f"CAST(:{k} AS {t}[])" for k, t in _ADD_COLUMNS.items()) + ")")
_IDS = bindparam("ids", type_=ARRAY(String))  # a line-id list as one array parameter (= ANY), not N parameters


def _line(row: Any) -> Line:
    return Line(**{k: row[k] for k in _LINE_COLUMNS})


async def existing(session: AsyncSession, stay_id: str, line_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stay's lines with these ids (withdrawn ones included), by id."""
    rows = (await session.execute(select(fee_line).where(
        fee_line.c.stay_id == stay_id, fee_line.c.line_id == func.any(_IDS)), {"ids": list(line_ids)})).mappings()
    return {r["line_id"]: dict(r) for r in rows}


async def refunded(session: AsyncSession, stay_id: str, line_ids: Sequence[str]) -> dict[str, int]:
    """What live refunds already took off each of these lines (a positive fen amount)."""
    rows = await session.execute(select(fee_line.c.refunds_line_id, func.sum(fee_line.c.amount_fen)).where(
        fee_line.c.stay_id == stay_id, fee_line.c.refunds_line_id.in_(list(line_ids)),
        fee_line.c.withdrawn_at.is_(None)).group_by(fee_line.c.refunds_line_id))
    return {k: -int(v) for k, v in rows}


async def add(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(_ADD, {k: [r[k] for r in rows] for k in _ADD_COLUMNS})


async def reinstate(session: AsyncSession, stay_id: str, line_ids: Sequence[str]) -> None:
    """Withdrawn lines posted again with the same content are live again."""
    if line_ids:
        await session.execute(update(fee_line).where(fee_line.c.stay_id == stay_id,
                                                     fee_line.c.line_id.in_(list(line_ids)))
                              .values(withdrawn_at=None))


async def live(session: AsyncSession, stay_id: str) -> list[Line]:
    """The stay's lines that are not withdrawn, in posting order."""
    rows = (await session.execute(select(fee_line).where(
        fee_line.c.stay_id == stay_id, fee_line.c.withdrawn_at.is_(None)).order_by(fee_line.c.seq))).mappings()
    return [_line(r) for r in rows]


async def withdraw_unsettled(session: AsyncSession, stay_id: str, at: datetime) -> tuple[int, int]:
    """Withdraw every live unsettled line (NHSA 2302): (how many, their net amount)."""
    rows = (await session.execute(update(fee_line).where(
        fee_line.c.stay_id == stay_id, fee_line.c.withdrawn_at.is_(None), fee_line.c.settlement_id.is_(None))
        .values(withdrawn_at=at).returning(fee_line.c.amount_fen))).all()
    return len(rows), sum(r[0] for r in rows)


async def stay_total(session: AsyncSession, stay_id: str) -> int:
    return int((await session.execute(select(func.coalesce(func.sum(fee_line.c.amount_fen), 0)).where(
        fee_line.c.stay_id == stay_id, fee_line.c.withdrawn_at.is_(None)))).scalar_one())


async def take(session: AsyncSession, stay_id: str, line_ids: Sequence[str], settlement_id: str | None) -> None:
    """Mark lines as taken by a settlement (or, `None`, give them back on its reversal)."""
    if line_ids:
        await session.execute(update(fee_line).where(fee_line.c.stay_id == stay_id,
                                                     fee_line.c.line_id == func.any(_IDS))
                              .values(settlement_id=settlement_id), {"ids": list(line_ids)})


async def give_back(session: AsyncSession, stay_id: str, settlement_id: str) -> None:
    """A reversal gives its settlement's lines back to the stay (within the stay's lines: the primary key's
    prefix, not a scan of every fee line by settlement_id, which has no index)."""
    await session.execute(update(fee_line).where(fee_line.c.stay_id == stay_id,
                                                 fee_line.c.settlement_id == settlement_id)
                          .values(settlement_id=None))


async def bump_version(session: AsyncSession, stay_id: str) -> None:
    await session.execute(update(stay).where(stay.c.stay_id == stay_id)
                          .values(lines_version=stay.c.lines_version + 1))
