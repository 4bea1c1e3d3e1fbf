"""SQL of the books: open and lock accounts, post transfers with their balance updates, read legs, sum it all.

Balances change only in `post`: one statement inserts the transfers (`ON CONFLICT (id) DO NOTHING`, so a replay
is a no-op) and adds exactly the inserted ones' effects to their accounts, whose limits are CHECK constraints
(store/tables.py): a transfer that would break one fails the whole statement, and nothing is half-posted. The
accounts are locked first, in id order, so two workers posting to the same accounts never deadlock. Within one
call the limits are checked on the batch's net effect (the settlement legs of a fetched batch); a use case that
needs TigerBeetle's one-by-one check (a disbursement) posts its transfers in a call of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.domain.accounts import LIMITS, AccountKey, Code, Fund
from onestop.clearing.domain.invariants import Totals
from onestop.clearing.domain.transfers import Kind, Transfer

_OPEN = text("""
INSERT INTO account (id, hospital_code, payer, region_code, code, debits_must_not_exceed_credits,
                     credits_must_not_exceed_debits)
SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:hospital AS text[]), CAST(:payer AS text[]),
                     CAST(:region AS text[]), CAST(:code AS text[]), CAST(:dmnec AS boolean[]),
                     CAST(:cmned AS boolean[]))
ORDER BY 1
ON CONFLICT (id) DO NOTHING
""")


async def open_and_lock(session: AsyncSession, keys: Iterable[AccountKey]) -> None:
    """Open the accounts that do not exist yet (a fund's first posting) and lock them all, in id order."""
    ordered = sorted(set(keys), key=lambda k: k.id)
    if not ordered:
        return
    await session.execute(_OPEN, {
        "id": [k.id for k in ordered], "hospital": [k.hospital_code for k in ordered],
        "payer": [k.fund.payer for k in ordered], "region": [k.fund.region_code for k in ordered],
        "code": [str(k.code) for k in ordered],
        "dmnec": [LIMITS[k.code].debits_must_not_exceed_credits for k in ordered],
        "cmned": [LIMITS[k.code].credits_must_not_exceed_debits for k in ordered]})
    await session.execute(text("SELECT id FROM account WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
                          {"ids": [k.id for k in ordered]})


_POST = text("""
WITH v AS (
    SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:debit AS uuid[]), CAST(:credit AS uuid[]),
                         CAST(:amount AS bigint[]), CAST(:kind AS text[]), CAST(:code AS text[]),
                         CAST(:pending_id AS uuid[]), CAST(:corrects_id AS uuid[]), CAST(:hospital AS text[]),
                         CAST(:payer AS text[]), CAST(:region AS text[]), CAST(:settlement AS text[]),
                         CAST(:event AS text[]), CAST(:reason AS text[]), CAST(:settled_at AS timestamptz[]),
                         CAST(:d_pending AS bigint[]), CAST(:d_posted AS bigint[]))
        AS v(id, debit_account_id, credit_account_id, amount, kind, code, pending_id, corrects_id, hospital_code,
             payer, region_code, settlement_id, event_id, reason, settled_at, d_pending, d_posted)
), new AS (
    INSERT INTO transfer (id, debit_account_id, credit_account_id, amount, kind, code, pending_id, corrects_id,
                          hospital_code, payer, region_code, settlement_id, event_id, reason, settled_at)
    SELECT id, debit_account_id, credit_account_id, amount, kind, code, pending_id, corrects_id, hospital_code,
           payer, region_code, settlement_id, event_id, reason, settled_at FROM v
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), moves AS (
    SELECT v.debit_account_id AS account_id, v.d_pending AS dp, v.d_posted AS dpo, 0::bigint AS cp, 0::bigint AS cpo
    FROM v JOIN new USING (id)
    UNION ALL
    SELECT v.credit_account_id, 0, 0, v.d_pending, v.d_posted FROM v JOIN new USING (id)
), per_account AS (
    SELECT account_id, sum(dp)::bigint AS dp, sum(dpo)::bigint AS dpo, sum(cp)::bigint AS cp, sum(cpo)::bigint AS cpo
    FROM moves GROUP BY account_id
), upd AS (
    UPDATE account a SET debits_pending = a.debits_pending + p.dp, debits_posted = a.debits_posted + p.dpo,
                         credits_pending = a.credits_pending + p.cp, credits_posted = a.credits_posted + p.cpo
    FROM per_account p WHERE a.id = p.account_id
    RETURNING a.id
)
SELECT (SELECT count(*) FROM new) AS inserted, (SELECT count(*) FROM upd) AS accounts
""")


async def post(session: AsyncSession, transfers: Sequence[Transfer]) -> int:
    """Post `transfers` (accounts opened and locked first); returns how many were new (a replay's are not)."""
    unique: dict[Any, Transfer] = {}
    for t in transfers:  # a duplicate in one statement would be inserted once but joined twice (balances x2)
        unique.setdefault(t.id, t)
    transfers = list(unique.values())
    if not transfers:
        return 0
    await open_and_lock(session, [k for t in transfers for k in (t.debit, t.credit)])
    effects = [t.effect() for t in transfers]
    row = (await session.execute(_POST, {
        "id": [t.id for t in transfers], "debit": [t.debit.id for t in transfers],
        "credit": [t.credit.id for t in transfers], "amount": [t.amount for t in transfers],
        "kind": [str(t.kind) for t in transfers], "code": [t.code for t in transfers],
        "pending_id": [t.pending_id for t in transfers], "corrects_id": [t.corrects_id for t in transfers],
        "hospital": [t.hospital_code for t in transfers], "payer": [t.fund.payer for t in transfers],
        "region": [t.fund.region_code for t in transfers], "settlement": [t.settlement_id for t in transfers],
        "event": [t.event_id for t in transfers], "reason": [t.reason for t in transfers],
        "settled_at": [t.settled_at for t in transfers], "d_pending": [e[0] for e in effects],
        "d_posted": [e[1] for e in effects],
    })).one()
    return int(row.inserted)


_LEGS = text("""
SELECT t.*, d.code AS debit_code, c.code AS credit_code FROM transfer t
JOIN account d ON d.id = t.debit_account_id JOIN account c ON c.id = t.credit_account_id
WHERE t.settlement_id = ANY(:ids) AND t.code = :code
""")


def _transfer(r: Any) -> Transfer:
    fund = Fund(r.payer, r.region_code)
    return Transfer(r.id, AccountKey(r.hospital_code, fund, Code(r.debit_code)),
                    AccountKey(r.hospital_code, fund, Code(r.credit_code)), int(r.amount), r.code, Kind(r.kind),
                    pending_id=r.pending_id, corrects_id=r.corrects_id, settlement_id=r.settlement_id,
                    event_id=r.event_id, settled_at=r.settled_at, reason=r.reason)


async def legs(session: AsyncSession, settlement_ids: Sequence[str], code: str) -> dict[tuple[str, Fund], Transfer]:
    """The transfers of `code` (advance, reversal …) made for these settlements, by (settlement, fund)."""
    if not settlement_ids:
        return {}
    rows = await session.execute(_LEGS, {"ids": list(settlement_ids), "code": code})
    return {(r.settlement_id, Fund(r.payer, r.region_code)): _transfer(r) for r in rows}


async def claimed_legs(session: AsyncSession, settlement_ids: Sequence[str]) -> set[tuple[str, Fund]]:
    """The (settlement, fund) legs in a claim that was not withdrawn (claims post `claim` pending transfers; a
    withdrawal voids them): a reversal of those goes to `owed_back`."""
    if not settlement_ids:
        return set()
    rows = await session.execute(text("""
        SELECT t.settlement_id, t.payer, t.region_code FROM transfer t
        WHERE t.settlement_id = ANY(:ids) AND t.code = 'claim' AND t.kind = 'pending'
          AND NOT EXISTS (SELECT 1 FROM transfer v WHERE v.pending_id = t.id AND v.kind = 'void_pending')
    """), {"ids": list(settlement_ids)})
    return {(r.settlement_id, Fund(r.payer, r.region_code)) for r in rows}


_DRIFT = text("""
WITH eff AS (
    SELECT t.debit_account_id, t.credit_account_id,
           CASE t.kind WHEN 'pending' THEN t.amount WHEN 'posted' THEN 0 ELSE -p.amount END AS dpend,
           CASE WHEN t.kind IN ('posted', 'post_pending') THEN t.amount ELSE 0 END AS dpost
    FROM transfer t LEFT JOIN transfer p ON p.id = t.pending_id
), sums AS (
    SELECT account_id, sum(dp) AS dp, sum(dpo) AS dpo, sum(cp) AS cp, sum(cpo) AS cpo FROM (
        SELECT debit_account_id AS account_id, dpend AS dp, dpost AS dpo, 0 AS cp, 0 AS cpo FROM eff
        UNION ALL SELECT credit_account_id, 0, 0, dpend, dpost FROM eff) m
    GROUP BY account_id
)
SELECT a.id FROM account a LEFT JOIN sums s ON s.account_id = a.id
WHERE a.debits_pending <> coalesce(s.dp, 0) OR a.debits_posted <> coalesce(s.dpo, 0)
   OR a.credits_pending <> coalesce(s.cp, 0) OR a.credits_posted <> coalesce(s.cpo, 0)
ORDER BY a.id LIMIT 10
""")

_UNBALANCED = text("""
SELECT t.id FROM transfer t JOIN account d ON d.id = t.debit_account_id JOIN account c ON c.id = t.credit_account_id
WHERE t.amount < 0 OR d.id = c.id
   OR (d.hospital_code, d.payer, d.region_code) <> (c.hospital_code, c.payer, c.region_code)
   OR (t.hospital_code, t.payer, t.region_code) <> (d.hospital_code, d.payer, d.region_code)
ORDER BY t.id LIMIT 10
""")

_OVER = text("""
SELECT id FROM account
WHERE least(debits_pending, debits_posted, credits_pending, credits_posted) < 0
   OR (debits_must_not_exceed_credits AND debits_pending + debits_posted > credits_posted)
   OR (credits_must_not_exceed_debits AND credits_pending + credits_posted > debits_posted)
ORDER BY id LIMIT 10
""")


async def totals(session: AsyncSession) -> Totals:
    """The books summed in SQL, for the invariants (a REPEATABLE READ snapshot: one consistent view)."""
    n = (await session.execute(text("SELECT count(*) FROM transfer"))).scalar_one()
    a = (await session.execute(text(
        "SELECT count(*) AS n, coalesce(sum(debits_pending), 0) AS dp, coalesce(sum(debits_posted), 0) AS dpo, "
        "coalesce(sum(credits_pending), 0) AS cp, coalesce(sum(credits_posted), 0) AS cpo FROM account"))).one()
    unbalanced = [str(r.id) for r in await session.execute(_UNBALANCED)]
    drifted = [str(r.id) for r in await session.execute(_DRIFT)]
    over = [str(r.id) for r in await session.execute(_OVER)]
    return Totals(int(n), unbalanced, int(a.dp), int(a.dpo), int(a.cp), int(a.cpo), int(a.n), drifted, over)


_OUTSTANDING = text("""
SELECT hospital_code, payer, region_code,
       coalesce(sum(credits_posted - debits_posted) FILTER (WHERE code = 'fund_payable'), 0)
     - coalesce(sum(debits_posted - credits_posted) FILTER (WHERE code = 'rejected'), 0) AS outstanding
FROM account
WHERE code IN ('fund_payable', 'rejected')
  AND (CAST(:hospital AS text) IS NULL OR hospital_code = :hospital)
  AND (CAST(:payer AS text) IS NULL OR payer = :payer)
  AND region_code LIKE :region_prefix
  AND (CAST(:after_h AS text) IS NULL OR (hospital_code, payer, region_code) > (:after_h, :after_p, :after_r))
GROUP BY hospital_code, payer, region_code
ORDER BY hospital_code, payer, region_code
LIMIT :limit
""")


async def outstanding(session: AsyncSession, *, hospital_code: str | None, payer: str | None, region_prefix: str,
                      after: tuple[str, str, str] | None, limit: int) -> list[Any]:
    """Per hospital × fund, what the fund still owes: charged to it and not paid, less what it rejected
    (fund_payable's credit balance less rejected's debit balance), in key order after `after`."""
    h, p, r = after or (None, None, None)
    return list(await session.execute(_OUTSTANDING, {
        "hospital": hospital_code, "payer": payer, "region_prefix": f"{region_prefix}%", "after_h": h,
        "after_p": p, "after_r": r, "limit": limit}))
