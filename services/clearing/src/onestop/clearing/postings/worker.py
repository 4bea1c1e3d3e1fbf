"""A posting worker: its group's durable pull consumer on the ledger's settlement events, a batch per transaction.

Each fetched batch is posted in one transaction: every event is checked against the parked events of its
settlement (a reversal waits behind its parked original), claimed in the group's inbox, and its legs of the
group's payers posted; the batch is acked after that commit. If the batch's transaction fails for any reason
(the database away, one event that cannot be applied), the batch is applied again one event per transaction by
the common consumer (onestop.common.consumer), which retries a transient failure in place and parks what can
never apply (an unknown fund shape, a reversal whose original this group never posted, after its retries),
never dropping it. A worker killed after a commit and before its ack gets the batch again, from any replica:
the inbox, and beneath it the transfer ids, make that a no-op. Replicas of a group share its durable.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Histogram

from onestop.clearing.postings.groups import Group
from onestop.clearing.postings.service import FILTER, FINALIZED, REVERSED, post_settlements
from onestop.clearing.store.tables import metadata
from onestop.common.consumer import StreamConsumer
from onestop.common.db import Database
from onestop.common.inbox import Inbox
from onestop.common.metrics import EVENTS_APPLIED
from onestop.common.parked import aggregate_of
from onestop.contracts.events.base import Envelope, stream_name

log = structlog.get_logger("onestop.clearing.postings")
# settlement commit in the ledger -> its legs' commit here (issue 14: p99 <= 200 ms under the settlement bench);
# the transfers store both instants too (settled_at, posted_at) for the benchmark to read exactly
POSTING_LAG = Histogram("onestop_clearing_posting_lag_seconds", "Ledger settlement commit to clearing posting "
                        "commit", ["group"], buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 60))


class PostingWorker(StreamConsumer):
    """The consumer of one worker group (postings/groups.py)."""

    def __init__(self, db: Database, js: Any, group: Group, *, batch: int = 200, park_after: int = 3,
                 retry_max_s: float = 30.0) -> None:
        self.group = group
        super().__init__(db, Inbox(metadata, group.durable), js, stream=stream_name("ledger"),
                         durable=group.durable, filter_subject=FILTER,
                         handlers={FINALIZED: self._apply_one, REVERSED: self._apply_one}, batch=batch,
                         park_after=park_after, retry_max_s=retry_max_s)
        self.batches_posted = 0  # batches that went through in one transaction (the tests look)

    async def _apply_one(self, session: Any, envelope: Envelope) -> None:
        """The inbox handler of the one-event-at-a-time path (and of an operator's retry of a parked event)."""
        await post_settlements(session, [envelope], await self.group.mine(session))

    async def _handle_batch(self, msgs: list[Any]) -> None:
        if await self._post_together(msgs):
            return
        await super()._handle_batch(msgs)

    async def _post_together(self, msgs: list[Any]) -> bool:
        """The whole batch in one transaction, then acked; False (nothing written) when it must go one by one."""
        try:
            envelopes = [Envelope.read(json.loads(m.data)) for m in msgs]
        except Exception:
            return False  # an unreadable message: the common path counts and terminates it
        if any(e.type not in self.handlers for e in envelopes):
            return False  # another version of a handled type (parked there) or a type to ignore
        applied: list[Envelope] = []
        try:
            async with self.db.transaction() as session:
                held = await self.parked.held_aggregates(session, envelopes)
                ready = []
                for msg, envelope in zip(msgs, envelopes, strict=True):
                    # only an event whose settlement has a parked one is looked at (and recorded) one by one
                    if aggregate_of(envelope) in held and await self.parked.hold_back(session, envelope,
                                                                                      msg.subject):
                        continue
                    ready.append(envelope)
                claimed = await self.inbox.claim_many(session, ready)
                applied = list({e.id: e for e in ready if e.id in claimed}.values())  # an id twice: applied once
                await post_settlements(session, applied, await self.group.mine(session))
        except Exception as exc:
            log.info("batch_falls_back", consumer=self.durable, events=len(msgs), error_type=type(exc).__name__)
            return False
        self.batches_posted += 1
        committed = datetime.now().astimezone()
        for e in applied:
            EVENTS_APPLIED.labels(self.durable, e.type).inc()
            try:
                POSTING_LAG.labels(self.group.name).observe(
                    max(0.0, (committed - datetime.fromisoformat(e.data["settled_at"])).total_seconds()))
            except (KeyError, TypeError, ValueError):  # posted, so it read: a metric never fails a batch
                pass
        await self._ack(msgs)
        return True

    async def _ack(self, msgs: list[Any]) -> None:
        """Ack a committed batch; a failure (NATS away, the worker killed) only means it comes again."""
        for m in msgs:
            try:
                await m.ack()
            except Exception as exc:
                log.warning("ack_failed", consumer=self.durable, error_type=type(exc).__name__)
