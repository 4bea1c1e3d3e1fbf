"""Shared by clearing's integration tests: settlement events as the ledger publishes them, a publisher on the
ledger's stream, clearing apps to start and stop, and reads of the books."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import nats
from sqlalchemy import text

from onestop.clearing.app import WORKER, create_app
from onestop.common.money import format_fen
from onestop.common.nats import ensure_stream
from onestop.common.testing import running, session_keys
from onestop.common.tokens import ServiceTokenMinter
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.ledger import FundAmount, SettlementFinalized, SettlementReversed

REGION, HOSPITAL = "150222", "H150222001"  # 000 Hotan's figures are not needed: any county works


def finalized(funds: dict[str, int], *, hospital: str = HOSPITAL, region: str = REGION, hosp_part: int = 0,
              self_pay: int = 10_00) -> SettlementFinalized:
    """A settlement of `funds` (payer -> fen) as the ledger's contract has it; total = funds + self_pay + hosp_part."""
    fund_pay = sum(funds.values())
    total = fund_pay + self_pay + hosp_part
    return SettlementFinalized(
        settlement_id=str(uuid.uuid4()), stay_id=str(uuid.uuid4()), person_ref=str(uuid.uuid4()),
        region_code=region, hospital_code=hospital, hospital_region_code=region, hospital_level="county",
        kind="inpatient", part_index=1, final=True, year=2026, admitted_on=date(2026, 3, 1),
        discharged_on=date(2026, 3, 8), total=format_fen(total),
        funds=[FundAmount(payer=p, name=p, amount=format_fen(a)) for p, a in funds.items()],
        fund_pay=format_fen(fund_pay), self_pay=format_fen(self_pay), hosp_part_amt=format_fen(hosp_part),
        effective_ratio="0.9000", categories=["registered_poor"], policy_id="p", policy_version=1,
        settled_at=datetime.now(UTC))


def reversal_of(s: SettlementFinalized) -> SettlementReversed:
    """The ledger's reversal: a new record with every amount negated, naming the original."""
    data = s.model_dump(mode="python", exclude={"type"})
    neg = {k: format_fen(-getattr(s, k)) for k in ("total", "fund_pay", "self_pay", "hosp_part_amt")}
    funds = [FundAmount(payer=f.payer, name=f.name, amount=format_fen(-f.amount)) for f in s.funds]
    return SettlementReversed(**{**data, **neg, "funds": funds, "settlement_id": str(uuid.uuid4()),
                                 "reverses_settlement_id": s.settlement_id, "settled_at": datetime.now(UTC)})


class Ledger:
    """Publishes onto the ledger's stream as its outbox relay does (the event id is the Nats-Msg-Id)."""

    def __init__(self, nc: Any) -> None:
        self.nc, self.js = nc, nc.jetstream()

    async def publish(self, payload: SettlementFinalized | SettlementReversed, *, event_id: str | None = None,
                      dedupe: bool = True) -> Envelope:
        env = Envelope.wrap(payload, source="/onestop/ledger", time=datetime.now(UTC), event_id=event_id)
        await self.publish_envelope(env, payload.nats_subject(), dedupe=dedupe)
        return env

    async def publish_envelope(self, env: Envelope, subject: str, *, dedupe: bool = True) -> None:
        # dedupe=False: a copy JetStream's duplicate window would not catch (a re-publish long after)
        headers = {"Nats-Msg-Id": env.id} if dedupe else None
        await self.js.publish(subject, env.model_dump_json().encode(), headers=headers, timeout=5)

    async def publish_raw(self, subject: str, env: dict[str, Any]) -> None:
        await self.js.publish(subject, json.dumps(env).encode(), timeout=5)


@asynccontextmanager
async def ledger_stream(nats_url: str) -> AsyncIterator[Ledger]:
    nc = await nats.connect(nats_url)
    try:
        await ensure_stream(nc.jetstream(), "ledger")
        yield Ledger(nc)
    finally:
        await nc.close()


@asynccontextmanager
async def clearing(settings_for: Any, database_name: str, nats_url: str, *, payer: str | None = None,
                   **extra: Any) -> AsyncIterator[tuple[Any, Any]]:
    """A clearing process (API + the posting worker of its group) on `database_name`: (app, http client)."""
    settings = settings_for("clearing", database_name=database_name, nats=nats_url, payer=payer,
                            consumer_retry_max_s=0.5, **extra)
    app = create_app(settings)
    async with running(app) as client:
        yield app, client


def service_bearer(caller: str = "ledger") -> dict[str, str]:
    """Another service's own token for clearing (the least-privilege `service` role)."""
    token = ServiceTokenMinter(caller, session_keys().service_keys[caller]).token_for("clearing")
    return {"Authorization": f"Bearer {token}"}


def worker(app: Any) -> Any:
    return app.state.runtime.extras[WORKER]


async def rows(app: Any, sql: str, **params: Any) -> list[Any]:
    async with app.state.runtime.db.transaction() as s:
        return list(await s.execute(text(sql), params))


async def transfers(app: Any) -> list[Any]:
    return await rows(app, "SELECT t.*, d.code AS debit_code, c.code AS credit_code FROM transfer t "
                           "JOIN account d ON d.id = t.debit_account_id JOIN account c ON c.id = t.credit_account_id "
                           "ORDER BY t.posted_at, t.id")


async def balances(app: Any) -> dict[tuple[str, str, str], int]:
    """(hospital, payer, code) -> posted debits less credits, in fen."""
    return {(r.hospital_code, r.payer, r.code): int(r.debits_posted) - int(r.credits_posted)
            for r in await rows(app, "SELECT * FROM account")}


async def count_transfers(app: Any) -> int:
    return int((await rows(app, "SELECT count(*) AS n FROM transfer"))[0].n)
