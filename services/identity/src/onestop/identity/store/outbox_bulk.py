"""Many outbox rows in one COPY: an import of a million persons cannot afford one INSERT per event.

The rows are exactly what `Outbox.add` writes (same table, same envelope), so the relay treats them alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import asyncpg
from pydantic import TypeAdapter

from onestop.contracts.events.base import EventPayload, region_tokens, subject
from onestop.contracts.events.identity import PersonStatusChanged
from onestop.identity.domain.changes import Change

_SEPARATORS = (", ", ": ")


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


_STATUS_CHANGED = PersonStatusChanged.model_fields["type"].default
_TIME = TypeAdapter(datetime)


class StatusChangedRows:
    """`person.status.changed` outbox rows for one batch, built as plain dicts: the same JSON `envelope_row`
    makes from a `PersonStatusChanged` (a unit test holds them equal) at a fraction of the cost per person."""

    def __init__(self, *, source: str, at: datetime) -> None:
        self._source = source
        self._time = at.isoformat()  # the envelope's time, as envelope_row writes it
        self._changed_at = _TIME.dump_python(at, mode="json")  # the payload's, as pydantic writes it
        self._subjects: dict[str, str] = {}

    def _subject(self, region_code: str) -> str:
        s = self._subjects.get(region_code)
        if s is None:
            s = self._subjects[region_code] = subject(PersonStatusChanged.owner, PersonStatusChanged.entity,
                                                      PersonStatusChanged.verb, *region_tokens(region_code))
        return s

    def row(self, event_id: str, person_id: str, region_code: str,
            changes: Iterable[Change]) -> tuple[str, str, str, str]:
        data = {"type": _STATUS_CHANGED, "person_id": person_id, "region_code": region_code,
                "changes": [{"category": c.category, "valid_from": c.valid_from.isoformat(),
                             "valid_to": None if c.valid_to is None else c.valid_to.isoformat(),
                             "change": c.change} for c in changes],
                "changed_at": self._changed_at}
        envelope = {"specversion": "1.0", "id": event_id, "source": self._source, "type": _STATUS_CHANGED,
                    "subject": person_id, "time": self._time, "datacontenttype": "application/json", "data": data}
        return (event_id, self._subject(region_code), _STATUS_CHANGED,
                json.dumps(envelope, ensure_ascii=False, separators=_SEPARATORS))
