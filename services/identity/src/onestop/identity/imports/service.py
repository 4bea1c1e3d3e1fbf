"""Use case: import a register file in batches, each batch one transaction with its events."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.common.clock import now, today
from onestop.common.errors import InvalidInput, Unavailable, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.events.base import region_tokens
from onestop.contracts.events.identity import ImportCompleted
from onestop.identity.domain import registers as reg
from onestop.identity.domain.changes import KnownPerson, plan
from onestop.identity.imports import files
from onestop.identity.imports.prepare import Batch, BatchPreparer, PersonRows
from onestop.identity.store import imports as runs
from onestop.identity.store import outbox_bulk
from onestop.identity.store import registers as store

log = structlog.get_logger("onestop.identity.imports")
# Failures of the database under a batch (away, restarted, a relation missing): a 503 naming the run.
_DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError, OSError)

SOURCES = ("poverty_office", "civil_affairs", "disabled_federation", "insurance")
INLINE_REJECTIONS = 1000
# A row is reported, not dropped: its status (of this import's region) is recorded; the person-wide profile is
# another region's to change.
_PROFILE_OUTSIDE = ("the person's domicile is in another region: the row's status was recorded, but the "
                    "profile (name, domicile, household, …) was left unchanged")


@dataclass(frozen=True)
class ImportRequest:
    """An uploaded file (already on disk) and what the caller said about it."""

    path: Path
    filename: str | None
    source: str
    region_code: str | None


def common_region(regions: set[str]) -> str:
    """The narrowest region holding every row's region (000000 when rows span provinces)."""
    if not regions:
        return "000000"
    for digits, pad in ((6, ""), (4, "00"), (2, "0000")):
        prefixes = {r[:digits] for r in regions}
        if len(prefixes) == 1:
            return prefixes.pop() + pad
    return "000000"


def _uuids(n: int) -> Iterator[str]:
    """n random (version 4) UUIDs from one urandom call, formatted from hex (uuid.UUID costs 3x more)."""
    h = os.urandom(16 * n).hex()
    return (f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{_VARIANT[h[i + 16]]}{h[i + 17:i + 20]}-"
            f"{h[i + 20:i + 32]}" for i in range(0, 32 * n, 32))


# RFC 4122 variant bits (10xx) on the 17th hex digit: keep its two low bits.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


class Importer:
    """Runs one import; `work` is the idempotent unit whose answer is stored with the key."""

    def __init__(self, runtime: Runtime, principal: Principal, request: ImportRequest) -> None:
        self.runtime, self.principal, self.request = runtime, principal, request
        self.import_id = str(uuid.uuid4())
        self.regions: set[str] = set()
        self.inline: list[reg.RowError] = []
        self.committed_rows = 0  # file rows (accepted and rejected) of the batches committed so far

    def _open(self) -> files.RegisterReader:
        try:
            return files.open_register(self.request.path, filename=self.request.filename, today=today())
        except reg.RegisterFormatError as exc:
            raise InvalidInput(f"the file cannot be imported: {exc.reason}",
                               errors=[field_error(exc.field, exc.reason)]) from None

    async def work(self, session: AsyncSession) -> tuple[int, dict[str, Any]]:
        """Check the file, import every batch, then complete the run with its event (in `session`)."""
        reader = await asyncio.to_thread(self._open)
        try:
            async with self.runtime.db.transaction() as s:
                await runs.create(s, import_id=self.import_id, source=self.request.source,
                                  region_code=self.request.region_code, started_by=self.principal.subject)
            preparer = BatchPreparer(reader, self.runtime.extras["pii"], source=self.request.source,
                                     scope=self.request.region_code, size=self.runtime.settings.import_batch_rows)
            # Parsed on the loop, not in a thread: a CPU-bound thread makes every GIL release of the
            # loop (socket writes, urandom) wait a switch interval, which measured 2x slower overall.
            # Pipelined instead (see _write_all). Every replica's relay waits until the rows are in (the
            # import lock is the relays' hold_lock, see OutboxRelay._held), then publishes their events.
            try:
                await self._write_all(preparer)
                completed = await self._complete(session, reader)
            except (Exception, asyncio.CancelledError) as exc:
                # shielded: a cancelled request (server stopping) still records why the run ended
                await asyncio.shield(self._fail(exc))
                if isinstance(exc, _DATABASE_ERRORS):
                    raise Unavailable("the import stopped and is marked failed; see GET /v1/imports/{import_id}",
                                      dependency="database", import_id=self.import_id) from exc
                raise
        finally:
            reader.close()
        return 201, completed

    async def _fail(self, exc: BaseException) -> None:
        """Mark the run failed with where and why (the class only: a message may carry a cell's value).
        The batches committed before stay: a re-import of the same file completes the rest as a no-op."""
        reason = f"the import stopped after {self.committed_rows} rows were committed: {type(exc).__name__}"
        try:
            async with self.runtime.db.transaction() as s:
                await runs.fail(s, self.import_id, reason=reason, at=now())
        except Exception as again:  # the database that failed the batch may refuse this too
            log.warning("import_failure_not_recorded", import_id=self.import_id, error_type=type(again).__name__)

    async def _write_all(self, preparer: BatchPreparer) -> None:
        """Three stages kept busy at once: batch k's COPY and commit run in PostgreSQL while batch k+1 is
        parsed, its stored persons read and its rows planned here. One batch is written at a time, in file
        order; a batch sharing a person with the one being written waits for its commit before reading."""
        async with store.import_lock(self.runtime.db):
            writing: asyncio.Task[None] | None = None
            in_flight: dict[str, PersonRows] = {}
            try:
                while True:
                    batch = await preparer.next_batch_async()
                    if writing is not None and not in_flight.keys().isdisjoint(batch.persons):
                        await writing
                    async with self.runtime.db.transaction() as session:
                        known = await store.load_known(await store.raw_connection(session), list(batch.persons))
                    writes = self._plan(batch, known)
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(self._store(batch, writes))
                    in_flight = batch.persons
                    if batch.done:
                        break
                await writing
            finally:
                if writing is not None and not writing.done():
                    # a parse error or a cancellation: the batch being written commits or fails on its own
                    await asyncio.gather(writing, return_exceptions=True)

    def _plan(self, batch: Batch, known: dict[str, KnownPerson]) -> store.BatchWrites:
        """The rows and events a batch writes, given what is stored of its persons (pure Python)."""
        self.regions |= batch.regions
        changed = outbox_bulk.StatusChangedRows(source=self.runtime.outbox.source, at=now())
        out = store.BatchWrites()
        imp, source = self.import_id, self.request.source
        ids, event_ids = _uuids(len(batch.persons)), _uuids(len(batch.persons))
        for idx, rows in batch.persons.items():
            have = known.get(idx)
            w = plan(have, rows.incoming, self.request.region_code)
            if w.profile_outside_scope:
                batch.errors += [reg.RowError(r, "region_code", _PROFILE_OUTSIDE) for r in rows.incoming.rows]
            if have is None:
                person_id = next(ids)
                out.persons.append((person_id, idx, rows.id_cipher, rows.birth_date, rows.sex))
            else:
                person_id = have.person_id
            if w.new_profile is not None:
                v, sec = w.new_profile.values, w.new_profile.secrets
                out.profiles.append((person_id, sec.get("name_cipher"), v["name_hash"], sec.get("guardian_cipher"),
                                     v["guardian_hash"], v["domicile_region"], v["household"], v["civil_servant"],
                                     v["disability"], v["disease_class"], v["labour"], v["card_no"], source, imp))
                if w.superseded_profile is not None:
                    out.superseded["person_profile"].append(w.superseded_profile)
            out.statuses += [(person_id, s.category, s.subgroup, s.source, s.region_code, s.valid_from, s.valid_to,
                              imp) for s in w.new_statuses]
            out.enrolments += [(person_id, e.scheme, e.region_code, e.source, e.valid_from, e.valid_to, imp)
                               for e in w.new_enrolments]
            out.superseded["person_status"] += w.superseded_statuses
            out.superseded["insurance_enrolment"] += w.superseded_enrolments
            if w.changes:
                if w.profile_outside_scope:
                    # the person lives in another region: this import's change is announced to its own region's
                    # subscribers, not to the domicile's (who would learn of another register's entry)
                    region = w.changes[0].region_code
                else:
                    region = (w.new_profile.values if w.new_profile else have.profile.values  # type: ignore[union-attr]
                              )["domicile_region"] or w.changes[0].region_code
                out.events.append(changed.row(next(event_ids), person_id, region, w.changes))
        room = INLINE_REJECTIONS - len(self.inline)
        if room > 0:
            self.inline.extend(batch.errors[:room])
        return out

    async def _store(self, batch: Batch, writes: store.BatchWrites) -> None:
        """One transaction: the batch's rows, its rejections, its events and the run's progress."""
        async with self.runtime.db.transaction() as session:
            conn = await store.raw_connection(session)
            await store.write_batch(conn, writes)
            await runs.add_rejections(conn, self.import_id, batch.errors)
            await outbox_bulk.add_many(conn, writes.events)
            await runs.add_progress(conn, self.import_id, accepted=batch.accepted, rejected=len(batch.errors),
                                    rejected_rows=len({e.row for e in batch.errors}), changed=len(writes.events))
        self.committed_rows += batch.rows

    async def _complete(self, session: AsyncSession, reader: files.RegisterReader) -> dict[str, Any]:
        region = self.request.region_code or common_region(self.regions)
        at = now()
        run = await runs.complete(session, self.import_id, region_code=region, file_kind=reader.kind,
                                  encoding=reader.encoding, ignored=reader.ignored_columns, at=at)
        region_tokens(region)  # a region that cannot route an event fails here, before the outbox
        await self.runtime.outbox.add(session, ImportCompleted(
            import_id=self.import_id, source=self.request.source, region_code=region, accepted=run["accepted"],
            rejected=run["rejected_rows"], changed_persons=run["changed_persons"], completed_at=at))
        return answer(run, self.inline)


def answer(run: dict[str, Any], inline: list[reg.RowError]) -> dict[str, Any]:
    """The import's JSON answer: counts, the first rejections inline, where the full report is."""
    import_id = str(run["import_id"])
    return {
        "import_id": import_id,
        "state": run["state"],
        "source": run["source"],
        "region_code": run["region_code"],
        "file_kind": run["file_kind"],
        "encoding": run["encoding"],
        "accepted": run["accepted"],
        "rejected": [{"row": e.row, "field": e.field, "reason": e.reason} for e in inline],
        "rejected_count": run["rejected"],
        "rejected_rows": run["rejected_rows"],
        "rejected_truncated": run["rejected"] > len(inline),
        "changed_persons": run["changed_persons"],
        "ignored_columns": run["ignored_columns"],
        "started_at": run["started_at"].isoformat(),
        "completed_at": run["completed_at"].isoformat() if run["completed_at"] else None,
        "failure_reason": run.get("failure_reason"),
        "report_url": f"/v1/imports/{import_id}/report.csv",
    }
