"""Durable JetStream consumers that never give up on an event, never reorder one aggregate's, never block.

- A transient failure (database unreachable, a timeout) is retried in place with backoff and without limit,
  the message kept in progress meanwhile, so nothing is redelivered around it (which would reorder).
- An event that can never be applied (invalid payload of a handled type, an unknown version of it, a domain
  error of the handler) is parked after `park_after` attempts (parked.py); its aggregate's later events wait.
- Types the consumer does not handle are acked and ignored.
- A consumer that dies is restarted by `supervise`; a failed ack is logged (the inbox makes the redelivery
  harmless); `state` and `lag` are what /readyz shows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from onestop.common.db import Database
from onestop.common.failures import UnknownVersion, is_transient
from onestop.common.inbox import Handler, Inbox
from onestop.common.metrics import CONSUMER_RESTARTS, EVENTS_RETRIED, EVENTS_UNREADABLE
from onestop.common.nats import cancelling, wait_for_stream
from onestop.common.parked import ParkedEvents, describe
from onestop.contracts.events.base import Envelope

log = structlog.get_logger("onestop.consumer")

ACK_WAIT_S = 60.0  # a message being retried is touched (in_progress) well within this
_TOUCH_EVERY_S = 10.0
CONSUMERS = "consumers"  # Runtime.extras key: {durable: StreamConsumer}


def family(event_type: str) -> str:
    """'ledger.repayment.overdue.v2' -> 'ledger.repayment.overdue'."""
    head, _, version = event_type.rpartition(".")
    return head if version[:1] == "v" and version[1:].isdigit() else event_type


class StreamConsumer:
    """A durable pull consumer on another service's stream, shared by replicas (queue semantics)."""

    def __init__(self, db: Database, inbox: Inbox, js: JetStreamContext, *, stream: str, durable: str,
                 filter_subject: str, handlers: dict[str, Handler], batch: int = 50, park_after: int = 3,
                 retry_max_s: float = 30.0) -> None:
        self.db, self.inbox, self.js = db, inbox, js
        self.stream, self.durable, self.filter_subject = stream, durable, filter_subject
        self.handlers, self.batch = handlers, batch
        self.park_after, self.retry_max_s = park_after, retry_max_s
        self.parked = ParkedEvents(inbox.table.metadata, durable)
        self._families = {family(t) for t in handlers}
        self.state = "starting"  # starting | waiting | running | retrying | down
        self.restarts = 0
        self.last_error: str | None = None

    def handler_for(self, event_type: str) -> Handler:
        """The handler of a type; UnknownVersion for another version of a handled type; KeyError otherwise."""
        handler = self.handlers.get(event_type)
        if handler is not None:
            return handler
        if family(event_type) in self._families:
            raise UnknownVersion(f"{event_type} is a version of a handled type this consumer does not know")
        raise KeyError(event_type)

    async def supervise(self) -> None:
        """Run the consumer for ever: a consumer that dies is restarted (1 s, doubling to 30 s)."""
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if cancelling():
                    raise asyncio.CancelledError from None
                self.state, self.last_error = "down", type(exc).__name__
                self.restarts += 1
                CONSUMER_RESTARTS.labels(self.durable).inc()
                log.error("consumer_died", consumer=self.durable, error_type=type(exc).__name__, restart_in_s=delay)
                delay = 1.0 if time.monotonic() - started > 60 else delay
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _subscribe(self) -> Any:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=-1,  # never dropped: a failure is retried here or parked in the database
            ack_wait=ACK_WAIT_S,
            filter_subject=self.filter_subject,
        )
        # create or update: a durable made by an older release (max_deliver=50) gets the new limits
        await self.js.add_consumer(self.stream, config)
        return await self.js.pull_subscribe(self.filter_subject, durable=self.durable, stream=self.stream)

    async def run(self) -> None:
        """One life of the consumer: raises when it cannot go on (its durable vanished, a bug)."""
        self.state = "waiting"
        await wait_for_stream(self.js, self.stream)
        sub = await self._subscribe()
        self.state, failures = "running", 0
        while True:
            try:
                msgs = await sub.fetch(self.batch, timeout=1.0)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # timeout when idle, or NATS away: both just loop
                if cancelling():
                    raise asyncio.CancelledError from None
                if type(exc).__name__ in ("TimeoutError", "FetchTimeoutError"):
                    continue
                failures += 1
                log.debug("fetch_failed", consumer=self.durable, error_type=type(exc).__name__)
                if failures % 5 == 0 and self.js._nc.is_connected:  # noqa: SLF001 - connected, yet failing
                    await self._check_durable()
                await asyncio.sleep(0.5)
                continue
            await self._handle_batch(msgs)

    async def _handle_batch(self, msgs: list[Any]) -> None:
        """Apply a fetched batch, one event (one inbox transaction) at a time, in order. A consumer that applies
        a whole batch in one transaction overrides this and falls back to it when that fails."""
        for i, msg in enumerate(msgs):
            await self._handle(msg, msgs[i + 1:])

    async def _check_durable(self) -> None:
        try:
            await self.js.consumer_info(self.stream, self.durable, timeout=2)
        except NotFoundError as exc:
            raise RuntimeError(f"durable consumer {self.durable} is gone") from exc
        except Exception:
            pass

    async def lag(self) -> int | None:
        """Messages of the stream this consumer has not yet been given (None when NATS cannot say)."""
        try:
            info = await self.js.consumer_info(self.stream, self.durable, timeout=1)
        except Exception:
            return None
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def _handle(self, msg: Any, behind: list[Any]) -> None:
        try:
            envelope = Envelope.read(json.loads(msg.data))
        except Exception:  # not an envelope at all: no id, no type to park it under; counted, never silent
            EVENTS_UNREADABLE.labels(self.durable).inc()
            log.error("event_unreadable", consumer=self.durable, subject=msg.subject)
            await _settle(msg.term, self.durable)
            return
        try:
            handler = self.handler_for(envelope.type)
        except KeyError:  # an event type this consumer does not act on: remember nothing, ack
            await _settle(msg.ack, self.durable)
            return
        except UnknownVersion as exc:
            await self._park(msg, behind, envelope, describe(exc), attempts=1)
            return

        async def guard(session: Any, env: Envelope) -> bool:
            return await self.parked.hold_back(session, env, msg.subject)

        held, attempts = [msg, *behind], [0]

        def give_up(exc: Exception, attempt: int) -> bool:
            transient = is_transient(exc)
            EVENTS_RETRIED.labels(self.durable, "transient" if transient else "permanent").inc()
            log.warning("event_apply_failed", consumer=self.durable, type=envelope.type, event_id=envelope.id,
                        error_type=type(exc).__name__, attempt=attempt, transient=transient)
            self.state = "retrying" if transient else self.state
            attempts[0] = attempt
            return not transient and attempt >= self.park_after

        failure = await self._until_done(lambda: self.inbox.apply(self.db, envelope, handler, guard), held, give_up)
        if failure is not None:
            await self._park(msg, behind, envelope, describe(failure), attempts=attempts[0])
            return
        self.state = "running"
        await _settle(msg.ack, self.durable)

    async def _park(self, msg: Any, behind: list[Any], envelope: Envelope, reason: str, attempts: int) -> None:
        """Park (retrying the write itself while the database is away), then ack."""

        def never(exc: Exception, attempt: int) -> bool:
            log.warning("event_park_failed", consumer=self.durable, event_id=envelope.id,
                        error_type=type(exc).__name__, attempt=attempt)
            self.state = "retrying"
            return False

        await self._until_done(lambda: self.parked.park(self.db, envelope, msg.subject, reason, attempts),
                               [msg, *behind], never)
        log.error("event_parked", consumer=self.durable, type=envelope.type, event_id=envelope.id, reason=reason)
        self.state = "running"
        await _settle(msg.ack, self.durable)

    async def _until_done(self, work: Callable[[], Awaitable[Any]], held: list[Any],
                          give_up: Callable[[Exception, int], bool]) -> Exception | None:
        """Run `work` until it succeeds (None) or `give_up(error, attempt)` says stop (that error), pausing
        between attempts with a backoff that doubles from 0.5 s to `retry_max_s`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await work()
                return None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if cancelling():
                    raise asyncio.CancelledError from None
                if give_up(exc, attempt):
                    return exc
                await self._pause(min(0.5 * 2 ** (attempt - 1), self.retry_max_s), held)

    async def _pause(self, seconds: float, held: list[Any]) -> None:
        """Sleep, telling JetStream every few seconds that the held messages are still being worked on (else
        they would be redelivered, possibly to another replica, out of order)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            for m in held:
                try:
                    await m.in_progress()
                except Exception:  # NATS away: the message will be redelivered, the inbox dedupes it
                    break
            await asyncio.sleep(min(left, _TOUCH_EVERY_S))


async def _settle(action: Any, consumer: str) -> None:
    """Ack or term; a failure (NATS away) is logged, never fatal: the event comes again and the inbox or the
    parked table recognises it."""
    try:
        await action()
    except Exception as exc:
        log.warning("ack_failed", consumer=consumer, error_type=type(exc).__name__)


def start_consumers(runtime: Any, consumers: list[StreamConsumer]) -> None:
    """Register `consumers` on the runtime (for /readyz and the parked-events API) and run them supervised."""
    registry: dict[str, StreamConsumer] = runtime.extras.setdefault(CONSUMERS, {})
    for c in consumers:
        registry[c.durable] = c
        runtime.spawn(c.supervise(), f"consume-{c.durable}")


async def consumer_states(extras: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    """Whether every consumer is alive, and each one's state and lag, for /readyz."""
    registry: dict[str, StreamConsumer] = extras.get(CONSUMERS, {})
    lags = await asyncio.gather(*(c.lag() for c in registry.values()))
    states = [{"name": c.durable, "stream": c.stream, "state": c.state, "lag": lag, "restarts": c.restarts}
              for c, lag in zip(registry.values(), lags, strict=True)]
    return all(c.state != "down" for c in registry.values()), states
