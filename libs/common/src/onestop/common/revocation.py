"""The revocation list: a JetStream key-value bucket every service watches, and `onestop token revoke`.

Keys are `jti.<jti>` (that one token) and `sub.<base64url subject>` (every token of the subject issued at or
before the revocation, so a HIS whose token leaked is issued a new one and goes on). A value is JSON
`{"at": <unix seconds>}`. Each service loads the whole bucket before it serves and then applies every
change as JetStream pushes it (an ordered consumer, watched afresh after every reconnect), so a revocation
is honoured within a second on every replica. Entries are tiny and rare and are kept: a
subject's entry must outlive every token it refuses.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time

import nats.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from onestop.common.nats import cancelling

BUCKET = "onestop_revocations"
_JTI = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

log = structlog.get_logger("onestop.revocation")


def jti_key(jti: str) -> str:
    if not _JTI.match(jti):
        raise ValueError("a token id (jti) is 1-128 letters, digits, '_' or '-'")
    return f"jti.{jti}"


def subject_key(subject: str) -> str:
    if not subject:
        raise ValueError("the subject is empty")
    return "sub." + base64.urlsafe_b64encode(subject.encode("utf-8")).decode("ascii")


class RevocationList:
    """The revoked token ids and subjects, as this process last heard them from the bucket."""

    def __init__(self) -> None:
        self._jtis: set[str] = set()
        self._subjects: dict[str, float] = {}  # subject key -> revoked at
        self.loaded = asyncio.Event()

    def revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        """Is a token with this id, subject and issue time revoked?"""
        if jti in self._jtis:
            return True
        if not self._subjects:
            return False
        at = self._subjects.get(subject_key(subject))
        return at is not None and issued_at <= at

    def apply(self, key: str, value: bytes | None) -> None:
        """One bucket entry (a None value: the entry was deleted or purged)."""
        kind, _, name = key.partition(".")
        at: float | None = None
        if value:
            try:
                at = float(json.loads(value)["at"])
            except (ValueError, KeyError, TypeError):
                at = time.time()  # unreadable: refuse rather than ignore
        if kind == "jti":
            (self._jtis.add if at is not None else self._jtis.discard)(name)
        elif kind == "sub":
            if at is None:
                self._subjects.pop(key, None)
            else:
                self._subjects[key] = at

    async def follow(self, nc: Client, replicas: int = 1) -> None:
        """Load the bucket, set `loaded`, then apply changes for ever. The watch starts afresh after a failure
        and after every reconnect: nats.py's ordered consumer notices a dead push subscription only after
        missed heartbeats (~18 s measured), and a fresh watch replays the bucket at once."""
        delay = 0.2
        while True:
            watcher = None
            try:
                reconnects = nc.stats["reconnects"]
                kv = await open_bucket(nc.jetstream(), replicas)
                watcher = await kv.watchall()
                while nc.stats["reconnects"] == reconnects:
                    try:
                        entry = await watcher.updates(timeout=0.5)
                    except nats.errors.TimeoutError:
                        continue
                    if entry is None:  # the marker after the bucket's current entries
                        self.loaded.set()
                        continue
                    deleted = entry.operation in ("DEL", "PURGE")
                    self.apply(entry.key, None if deleted else entry.value)
                    delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if cancelling():
                    raise asyncio.CancelledError from None
                log.warning("revocation_watch_failed", error_type=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if watcher is not None:
                    try:
                        await watcher.stop()
                    except Exception:
                        pass


async def open_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The revocation bucket, created on first use (by a service starting or by the CLI); raised to `replicas`
    when a replica asks for more than it has (a one-replica worker may have started first)."""
    try:
        kv = await js.key_value(BUCKET)
        if replicas > 1:
            info = await js.stream_info(f"KV_{BUCKET}")
            if (info.config.num_replicas or 1) < replicas:
                info.config.num_replicas = replicas
                await js.update_stream(info.config)
        return kv
    except BucketNotFoundError:
        return await js.create_key_value(bucket=BUCKET, history=1, replicas=replicas,
                                         description="revoked onestop tokens (onestop token revoke)")


async def revoke(js: JetStreamContext, *, jti: str | None = None, subject: str | None = None,
                 replicas: int = 1) -> str:
    """Revoke one token or every token of a subject issued until now; returns the bucket key written."""
    if (jti is None) == (subject is None):
        raise ValueError("revoke either a token id or a subject")
    key = jti_key(jti) if jti is not None else subject_key(subject or "")
    kv = await open_bucket(js, replicas)
    await kv.put(key, json.dumps({"at": time.time()}).encode())
    return key
