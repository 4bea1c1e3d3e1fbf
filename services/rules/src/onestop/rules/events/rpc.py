"""Quotes over NATS request/reply on onestop.rpc.rules.quote (the ledger's path).

A queue group spreads requests over replicas; the subject is under onestop.rpc.>, which no stream
captures, so personal data in a request is never stored. Answers: {"ok": true, "result": …} or
{"ok": false, "problem": {...}} with the same problem body HTTP would give.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from nats.aio.msg import Msg
from pydantic import ValidationError

from onestop.common.errors import InvalidInput, Problem, field_error
from onestop.common.nats import rpc_subject
from onestop.common.service_app import Runtime
from onestop.contracts.quote import QuoteRequest
from onestop.rules.service import Policies, quote

log = structlog.get_logger("onestop.rules.rpc")
QUOTE_SUBJECT = rpc_subject("rules", "quote")


def answer(policies: Policies, data: bytes) -> dict[str, Any]:
    try:
        request = QuoteRequest.model_validate_json(data)
        return {"ok": True, "result": quote(policies, request).model_dump(mode="json")}
    except ValidationError as exc:
        errors = [field_error(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
                  for e in exc.errors()]
        return {"ok": False, "problem": InvalidInput("invalid quote request", errors=errors).body()}
    except Problem as exc:
        return {"ok": False, "problem": exc.body()}


async def serve_quotes(runtime: Runtime) -> None:
    policies: Policies = runtime.extras["policies"]

    async def handle(msg: Msg) -> None:
        try:
            await msg.respond(json.dumps(answer(policies, msg.data), ensure_ascii=False).encode())
        except Exception as exc:  # the requester times out and retries; never crash the subscription
            log.error("rpc_quote_failed", error_type=type(exc).__name__)

    await runtime.nc.subscribe(QUOTE_SUBJECT, queue="rules", cb=handle)
