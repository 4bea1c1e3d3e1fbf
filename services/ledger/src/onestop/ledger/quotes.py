"""Quotes from rules over NATS request/reply (`onestop.rpc.rules.quote`, DESIGN §6): the settlement's path.

A request that gets no answer within the timeout is asked again (rules' replicas share a queue group, so a
retry may reach another); after the last attempt the caller gets a 503 with Retry-After and nothing is written,
because every quote is asked before any lock is taken or row written. A problem rules answers (a bill no policy
covers, say) is passed on with rules' status and fields.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from onestop.common.errors import Problem, Unavailable
from onestop.common.nats import rpc_subject

log = structlog.get_logger("onestop.ledger.quotes")
QUOTE_SUBJECT = rpc_subject("rules", "quote")


class RulesRefused(Problem):
    """rules refused the quote request (status and fields as rules gave them)."""

    kind, title, status = "quote-refused", "The rules service refused to quote this bill", 422


class QuoteClient:
    def __init__(self, nc: Client, *, timeout_s: float, attempts: int) -> None:
        self._nc, self._timeout, self._attempts = nc, timeout_s, attempts

    async def quote(self, request: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(request, ensure_ascii=False).encode()
        for attempt in range(1, self._attempts + 1):
            try:
                msg = await self._nc.request(QUOTE_SUBJECT, data, timeout=self._timeout)
            except (TimeoutError, NatsTimeout, NoRespondersError, ConnectionClosedError) as exc:
                log.warning("quote_unanswered", attempt=attempt, error_type=type(exc).__name__)
                if attempt < self._attempts:
                    await asyncio.sleep(min(0.05 * 2 ** attempt, 0.5))
                continue
            answer = json.loads(msg.data)
            if answer.get("ok"):
                return dict(answer["result"])
            problem = answer.get("problem") or {}
            if problem.get("status", 422) >= 500:
                raise Unavailable("the rules service failed to quote", dependency="rules")
            raise RulesRefused(problem.get("detail", "rules refused the quote"), errors=problem.get("errors") or [])
        raise Unavailable("the rules service did not answer the quote", dependency="rules")

