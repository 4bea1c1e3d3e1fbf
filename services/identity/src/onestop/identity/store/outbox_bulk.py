"""Many outbox rows in one COPY: an import of a million persons cannot afford one INSERT per event.

The rows are exactly what `Outbox.add` writes (same table, same envelope), so the relay treats them alike.
"""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from onestop.contracts.events.base import EventPayload


def envelope_row(event_id: str, payload: EventPayload, *, source: str, at: datetime) -> tuple[str, str, str, str]:
    """(event_id, subject, type, envelope JSON) as Envelope.wrap would build it."""
    envelope = {"specversion": "1.0", "id": event_id, "source": source, "type": payload.type,
                "subject": payload.entity_id(), "time": at.isoformat(), "datacontenttype": "application/json",
                "data": payload.model_dump(mode="json")}
    return event_id, payload.nats_subject(), payload.type, json.dumps(envelope, ensure_ascii=False)


async def add_many(conn: asyncpg.Connection, rows: list[tuple[str, str, str, str]]) -> None:
    """COPY prepared envelope rows into the outbox inside the caller's transaction."""
    if rows:
        await conn.copy_records_to_table("outbox", columns=["event_id", "subject", "type", "envelope"], records=rows)
