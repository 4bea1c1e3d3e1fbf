"""The identity service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI

from onestop.common.inbox import Inbox, StreamConsumer
from onestop.common.service_app import Runtime, build_app
from onestop.contracts.events.base import stream_name
from onestop.identity.events.policy import make_handler
from onestop.identity.settings import Settings
from onestop.identity.store.tables import metadata


async def _start(runtime: Runtime) -> None:
    consumer = StreamConsumer(
        runtime.db, Inbox(metadata, "identity"), runtime.js,
        stream=stream_name("rules"), durable="identity-policy", filter_subject="onestop.rules.policy.published.>",
        handlers={"rules.policy.published.v1": make_handler(runtime)},
    )
    runtime.spawn(consumer.run(), "consume-policy-published")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS, provisions the stream, starts consumers."""
    return build_app(
        settings or Settings(),
        title="onestop identity",
        description="Persons, register statuses over time, the blacklist, and the treat-first eligibility decision.",
        metadata=metadata,
        routers=[],
        on_start=_start,
    )
