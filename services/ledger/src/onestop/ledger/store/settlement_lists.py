"""SQL of the settlements list (GET /v1/settlements): a page by `seq`, the totals over the whole filtered set,
the per-fund rows of a page, and the lines a settlement took."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import fee_line, settlement, settlement_fund, settlement_line

s, f = settlement.c, settlement_fund.c
_paid = settlement_fund.alias("paid")  # the payer filter's own copy: the totals join settlement_fund as well


@dataclass(frozen=True)
class SettlementFilter:
    """What the caller asked for, narrowed by its scope. `region_prefix`: the leading digits of a region code
    (410000 → "41"), matched against the insurance region (参保地)."""

    hospital_code: str | None = None
    region_prefix: str | None = None
    payer: str | None = None
    starts: date | None = None  # the period: `through` in [starts, ends)
    ends: date | None = None


def _where(flt: SettlementFilter) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = []
    if flt.hospital_code is not None:
        conds.append(s.hospital_code == flt.hospital_code)
    if flt.region_prefix is not None:
        conds.append(s.insurance_region_code.startswith(flt.region_prefix, autoescape=True))
    if flt.payer is not None:  # the fund paid (or, in a reversal, paid back) something in this settlement
        conds.append(exists().where(_paid.c.settlement_id == s.settlement_id, _paid.c.payer == flt.payer,
                                    _paid.c.amount_fen != 0).correlate(settlement))
    if flt.starts is not None and flt.ends is not None:
        conds.append(and_(s.through >= flt.starts, s.through < flt.ends))
    return and_(true(), *conds)


async def page(session: AsyncSession, flt: SettlementFilter, *, after_seq: int | None,
               limit: int) -> list[dict[str, Any]]:
    """`limit` rows after `after_seq`, by seq: a cursor stays valid while settlements are added."""
    q = select(settlement).where(_where(flt))
    if after_seq is not None:
        q = q.where(s.seq > after_seq)
    rows = (await session.execute(q.order_by(s.seq).limit(limit))).mappings()
    return [dict(r) for r in rows]


async def totals(session: AsyncSession, flt: SettlementFilter) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """(count and sums over the filtered set, each payer's sum over it in first-seen order)."""
    where = _where(flt)
    row = (await session.execute(select(
        func.count(), func.coalesce(func.sum(s.total_fen), 0), func.coalesce(func.sum(s.fund_pay_fen), 0),
        func.coalesce(func.sum(s.self_pay_fen), 0), func.coalesce(func.sum(s.hosp_part_fen), 0))
        .where(where))).one()
    sums = {"count": int(row[0]), "total": int(row[1]), "fund_pay": int(row[2]), "self_pay": int(row[3]),
            "hosp_part": int(row[4])}
    payers = await session.execute(
        select(f.payer, func.sum(f.amount_fen)).select_from(settlement_fund.join(settlement))
        .where(where).group_by(f.payer).order_by(func.min(f.position), f.payer))
    return sums, [(p, int(v)) for p, v in payers]


async def funds_of(session: AsyncSession, settlement_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The per-fund rows of several settlements at once (a page), in waterfall order."""
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in settlement_ids}
    if settlement_ids:
        rows = (await session.execute(select(settlement_fund).where(f.settlement_id.in_(list(settlement_ids)))
                                      .order_by(f.settlement_id, f.position))).mappings()
        for r in rows:
            out[r["settlement_id"]].append(dict(r))
    return out


async def payers_of(session: AsyncSession, settlement_id: str) -> set[str]:
    """The funds that paid something in a settlement (a payer token's scope)."""
    rows = await session.execute(select(f.payer).where(f.settlement_id == settlement_id, f.amount_fen != 0))
    return {r[0] for r in rows}


async def record_lines(session: AsyncSession, settlement_id: str, stay_id: str) -> None:
    """Which lines a settlement took (fee_line.settlement_id, just set), kept after a reversal gives them back
    (GET /v1/settlements/{id}/lines): one INSERT … SELECT, however many lines, within the stay's own lines
    (the primary key's prefix: no scan of the whole fee_line table)."""
    taken = select(fee_line.c.settlement_id, fee_line.c.stay_id, fee_line.c.line_id).where(
        fee_line.c.stay_id == stay_id, fee_line.c.settlement_id == settlement_id)
    await session.execute(insert(settlement_line).from_select(["settlement_id", "stay_id", "line_id"], taken))


async def lines(session: AsyncSession, settlement_id: str) -> list[dict[str, Any]]:
    """The fee lines a settlement took, in posting order."""
    sl = settlement_line.c
    rows = (await session.execute(select(fee_line).join(settlement_line, and_(
        sl.stay_id == fee_line.c.stay_id, sl.line_id == fee_line.c.line_id)).where(sl.settlement_id == settlement_id)
        .order_by(fee_line.c.seq))).mappings()
    return [dict(r) for r in rows]
