"""What a bureau's or a fund's own script does: connect with its credential, read its events from a point.

Two ways to read, both pull consumers under the subscriber's own names (`nats_auth`):
- an ad-hoc replay (`<user>_replay`): an ephemeral consumer, read by one fetcher in stream order with nothing
  to acknowledge, deleted at the end (and by the server after `REPLAY_INACTIVE_S` if the reader dies);
- a standing subscription (`<user>_<slot>`): a durable that remembers what was acknowledged, so a subscriber
  that was down gets what it missed. Its start point only counts when it is first created.
A start point is a time (JetStream `by_start_time`), a stream sequence (`by_start_sequence`), or the oldest
event the stream still keeps (`all`): `ONESTOP_STREAM_MAX_AGE_DAYS` (13 months) bounds how far that reaches.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from onestop.cli.nats_auth import REPLAY_SLOT, Bureau, CreditFeed, Fund, grants, inbox_prefix, region_pattern
from onestop.contracts.events.base import stream_name

REPLAY_INACTIVE_S = 60.0  # the server removes a replay consumer nobody has pulled from for this long
ErrorCallback = Callable[[Exception], Awaitable[None]]


@dataclass(frozen=True)
class Start:
    """Where reading starts: a time, a stream sequence, or the oldest retained event."""

    since: datetime | None = None
    seq: int | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.seq is not None:
            raise ValueError("give a time or a sequence, not both")
        if self.seq is not None and self.seq < 1:
            raise ValueError("a stream sequence starts at 1")

    def consumer_fields(self) -> dict[str, Any]:
        """The deliver policy of a consumer that starts here."""
        if self.seq is not None:
            return {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": self.seq}
        if self.since is not None:
            since = self.since if self.since.tzinfo else self.since.replace(tzinfo=UTC)
            # JetStream wants RFC 3339 in UTC
            return {"deliver_policy": DeliverPolicy.BY_START_TIME,
                    "opt_start_time": since.astimezone(UTC).isoformat().replace("+00:00", "Z")}
        return {"deliver_policy": DeliverPolicy.ALL}


def default_stream(user: Bureau | Fund | CreditFeed) -> str:
    """A bureau reads the ledger by default, a fund clearing, the credit feed identity."""
    if isinstance(user, Fund):
        return "clearing"
    return "identity" if isinstance(user, CreditFeed) else "ledger"


def filter_subject(user: Bureau | Fund | CreditFeed, owner: str, region_code: str | None = None) -> str:
    """The subscriber's filter on `owner`'s stream: its own grant, narrowed to `region_code` for a fund of
    all regions (a fund of one region, a bureau and the credit feed have theirs fixed)."""
    mine: list[str] = [g.filter for g in grants(user) if g.stream == stream_name(owner)]
    if not mine:
        raise ValueError(f"{user.name} may not read the {owner} stream")
    if isinstance(user, Fund) and user.region_code is None and region_code:
        return f"onestop.clearing.*.*.{user.payer}.{region_pattern(region_code)}"
    return mine[0]


async def connect_as(url: str, user: str, password: str, error_cb: ErrorCallback | None = None) -> Client:
    """Connect as a subscriber, with its private inbox prefix (its only place to receive)."""

    async def _ignore(_: Exception) -> None:
        return None

    return await nats.connect([u.strip() for u in url.split(",")], user=user, password=password,
                              inbox_prefix=inbox_prefix(user), error_cb=error_cb or _ignore,
                              connect_timeout=5, max_reconnect_attempts=3, name=f"onestop-subscribe-{user}")


async def _create(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    await js.add_consumer(stream, config, timeout=5)


@dataclass
class Received:
    """One event: its CloudEvents envelope, with its stream sequence as the extension attribute `streamseq`
    (what `--seq` takes to resume), and its acknowledgement, which the reader sends once it has processed it
    (for a replay there is nothing to acknowledge)."""

    envelope: dict[str, Any]
    msg: Msg | None
    acked: bool = False

    async def ack(self) -> None:
        if self.msg is not None and not self.acked:
            await self.msg.ack()
        self.acked = True


async def events(nc: Client, user: str, owner: str, subject_filter: str, start: Start, *,
                 durable_slot: str | None = None, batch: int = 100, idle_s: float = 2.0,
                 follow: bool | None = None) -> AsyncIterator[Received]:
    """The subscriber's events in stream order. With `follow` (a durable's default) it waits for new events
    for ever; without (a replay's default) it ends once `idle_s` pass without one. A durable redelivers what
    was not acknowledged."""
    if follow is None:
        follow = durable_slot is not None
    js = nc.jetstream()
    stream = stream_name(owner)
    name = f"{user}_{durable_slot or REPLAY_SLOT}"
    if durable_slot is None:
        try:  # a replay always starts where it is told: a leftover of an earlier one goes first
            await js.delete_consumer(stream, name)
        except NotFoundError:
            pass
        await _create(js, stream, ConsumerConfig(
            name=name, filter_subject=subject_filter, ack_policy=AckPolicy.NONE, mem_storage=True,
            inactive_threshold=REPLAY_INACTIVE_S, num_replicas=1, **start.consumer_fields()))
    else:
        try:
            await js.consumer_info(stream, name, timeout=5)
        except NotFoundError:
            await _create(js, stream, ConsumerConfig(
                durable_name=name, name=name, filter_subject=subject_filter, ack_policy=AckPolicy.EXPLICIT,
                **start.consumer_fields()))
    sub = await js.pull_subscribe_bind(name, stream, inbox_prefix=f"{inbox_prefix(user)}.".encode())
    unsettled: list[Received] = []  # the batch being read
    try:
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=idle_s)
            except nats.errors.TimeoutError:
                if not follow:
                    return
                continue
            unsettled = [Received(_envelope(m), m if durable_slot is not None else None) for m in msgs]
            for received in unsettled:
                yield received
    finally:
        # a reader that stops mid-batch gives the rest back at once, not after the durable's ack wait
        for left in unsettled:
            if left.msg is not None and not left.acked:
                await left.msg.nak()
        await sub.unsubscribe()
        if durable_slot is None:
            try:
                await js.delete_consumer(stream, name)
            except Exception:  # the server drops it after REPLAY_INACTIVE_S anyway
                pass


def _envelope(msg: Msg) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(msg.data)
    envelope["streamseq"] = msg.metadata.sequence.stream
    return envelope


def parse_since(text: str) -> datetime:
    """`2026-11-01` (midnight, Beijing time: the programme's day) or an ISO instant `2026-11-01T08:00:00Z`."""
    from zoneinfo import ZoneInfo

    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
