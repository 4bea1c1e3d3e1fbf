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
_TYPE_JSON = json.dumps(_STATUS_CHANGED)
_TIME = TypeAdapter(datetime)


class StatusChangedRows:
    """`person.status.changed` outbox rows for one batch, written from a template: the same JSON, byte for byte,
    that `envelope_row` makes from a `PersonStatusChanged` (a unit test holds them equal) at a fraction of the
    cost per person. Every value that is not a generated UUID or an ISO date goes through `json.dumps` (memoised)."""

    def __init__(self, *, source: str, at: datetime) -> None:
        self._source = json.dumps(source, ensure_ascii=False)
        self._time = json.dumps(at.isoformat())  # the envelope's time, as envelope_row writes it
        self._changed_at = json.dumps(_TIME.dump_python(at, mode="json"))  # the payload's, as pydantic writes it
        self._subjects: dict[str, str] = {}
        self._strings: dict[str, str] = {}

    def _subject(self, region_code: str) -> str:
        s = self._subjects.get(region_code)
        if s is None:
            s = self._subjects[region_code] = subject(PersonStatusChanged.owner, PersonStatusChanged.entity,
                                                      PersonStatusChanged.verb, *region_tokens(region_code))
        return s

    def _json(self, text: str) -> str:
        out = self._strings.get(text)
        if out is None:
            out = self._strings[text] = json.dumps(text, ensure_ascii=False)
        return out

    def _change(self, c: Change) -> str:
        valid_to = "null" if c.valid_to is None else f'"{c.valid_to.isoformat()}"'
        return (f'{{"category": {self._json(c.category)}, "valid_from": "{c.valid_from.isoformat()}", '
                f'"valid_to": {valid_to}, "change": {self._json(c.change)}}}')

    def row(self, event_id: str, person_id: str, region_code: str,
            changes: Iterable[Change]) -> tuple[str, str, str, str]:
        """(event_id, subject, type, envelope JSON); `event_id` and `person_id` are UUIDs this service made."""
        event, person, region = f'"{event_id}"', f'"{person_id}"', self._json(region_code)
        envelope = (f'{{"specversion": "1.0", "id": {event}, "source": {self._source}, "type": {_TYPE_JSON}, '
                    f'"subject": {person}, "time": {self._time}, "datacontenttype": "application/json", '
                    f'"data": {{"type": {_TYPE_JSON}, "person_id": {person}, "region_code": {region}, '
                    f'"changes": [{", ".join([self._change(c) for c in changes])}], '
                    f'"changed_at": {self._changed_at}}}}}')
        return event_id, self._subject(region_code), _STATUS_CHANGED, envelope
