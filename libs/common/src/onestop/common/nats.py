"""NATS JetStream: connect, provision a service's own stream, request/reply under onestop.rpc.>."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from onestop.common.errors import Unavailable
from onestop.contracts.events.base import stream_name

log = structlog.get_logger("onestop.nats")

RPC_PREFIX = "onestop.rpc"


async def connect(url: str, *, name: str, connect_timeout: float = 5.0) -> Client:
    """Connect once (failing fast with a clear sentence), then reconnect forever on outages."""

    async def _disconnected() -> None:
        log.warning("nats_disconnected")

    async def _reconnected() -> None:
        log.info("nats_reconnected")

    async def _error(exc: Exception) -> None:
        log.warning("nats_error", error_type=type(exc).__name__)

    try:
        # the client retries forever once connected; the first connection gets a deadline
        async with asyncio.timeout(connect_timeout * 2):
            return await nats.connect(
                [u.strip() for u in url.split(",")],
                name=name,
                connect_timeout=connect_timeout,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                allow_reconnect=True,
                disconnected_cb=_disconnected,
                reconnected_cb=_reconnected,
                error_cb=_error,
            )
    except Exception as exc:
        raise Unavailable(
            f"NATS is not reachable at NATS_URL ({redact_url(url)}): start it with `make run` / `onestop up`, "
            "or point NATS_URL at a running nats-server -js"
        ) from exc


def redact_url(url: str) -> str:
    """A NATS_URL fit for a message or a log line: any `user:password@` removed."""
    return ",".join(
        urlunsplit((u.scheme, u.netloc.rsplit("@", 1)[-1], u.path, "", ""))
        for u in (urlsplit(p.strip()) for p in url.split(","))
    )


async def ensure_stream(js: JetStreamContext, owner: str, *, replicas: int = 1,
                        max_age_s: float | None = None) -> str:
    """Create or update the owning service's stream `ONESTOP_<OWNER>` on `onestop.<owner>.>`.

    `max_age_s` bounds how far back a subscriber can replay (ONESTOP_STREAM_MAX_AGE_DAYS); an update that
    shortens it drops the older messages at once."""
    name = stream_name(owner)
    config = StreamConfig(
        name=name,
        subjects=[f"onestop.{owner}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=120.0,
        num_replicas=replicas,
        max_age=max_age_s,
    )
    try:
        await js.stream_info(name)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)
    return name


def cancelling() -> bool:
    """True when the current task has been asked to stop: nats-py can turn the CancelledError of a request or
    a fetch into its own timeout error, and a loop that catches Exception would then never end (a shutdown
    that hangs in `gather(*tasks)`)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def wait_for_stream(js: JetStreamContext, name: str, stop: asyncio.Event | None = None) -> None:
    """A consumer of another service's stream waits until that service has provisioned it."""
    delay = 0.2
    while True:
        try:
            await js.stream_info(name)
            return
        except Exception:
            if (stop is not None and stop.is_set()) or cancelling():
                raise asyncio.CancelledError from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def rpc_subject(service: str, method: str) -> str:
    """Request/reply subjects live under onestop.rpc.>, which no stream captures."""
    return f"{RPC_PREFIX}.{service}.{method}"
