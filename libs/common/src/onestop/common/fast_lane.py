"""The fast lane: a hot JSON endpoint answered before Starlette's middleware stack and routing.

Measured in-process on the 2-CPU bench machine, an eligibility request cost ~250 µs of CPU in identity's
own code (read, audit, decision) and ~200 µs more in the layers around it: the auth and metrics
middleware, Starlette's exception middleware and router, FastAPI's request handling and response. At the
eligibility bench's rate that was most of one core. `FastLaneMiddleware` sits outermost (inside only
Starlette's ServerErrorMiddleware) and answers a request for one of its routes itself when it can:

- a `(method, path)` it knows, `Content-Type: application/json` (no charset or UTF-8) and a bearer token
  the issuer verifies; otherwise the request goes on unchanged and the app answers it (the 401 with its
  `WWW-Authenticate`, FastAPI's validation, other content types);
- the handler gets the runtime, the verified principal and the body's bytes, and returns the JSON answer's
  bytes (200). If it raises pydantic's `ValidationError` the request is handed on to the app with its
  body replayed, so the 422 problem naming the field is FastAPI's own; a `Problem` is answered as the
  app's problem handler would (`problem_response`); any other exception propagates to
  ServerErrorMiddleware, which logs its class and answers 500 as for every route;
- the request is counted in the same Prometheus series, under its path (the route template);
- the service's per-token rate limit (ratelimit.py, `rate_limiter` in the runtime's extras) is applied
  before the handler, as the routes' `RateLimited` dependency would: 429 with Retry-After.

The app keeps an ordinary route for the same path: it is what `/docs` describes and what answers whatever
the lane hands on. A handler must therefore validate the body with the route's own model.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestop.common.auth import Principal, Verifier
from onestop.common.errors import Problem, Unauthorized, input_refused, problem_response
from onestop.common.metrics import RequestMetrics
from onestop.common.ratelimit import already_counted, limiter_of

if TYPE_CHECKING:
    from onestop.common.service_app import Runtime

FastHandler = Callable[["Runtime", Principal, bytes], Awaitable[bytes]]
_JSON_HEADERS = [(b"content-type", b"application/json")]


class FastLaneMiddleware:
    """Answers the requests of `routes` ((method, path) -> handler) itself; see the module's text."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], FastHandler], issuer: Verifier,
                 service: str) -> None:
        self.app, self.routes, self.issuer = app, dict(routes), issuer
        self.metrics = RequestMetrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get((scope.get("method", ""), scope.get("path", ""))) \
            if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        content_type = authorization = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"authorization":
                authorization = value
        principal = self._principal(authorization) if utf8_json(content_type) else None
        if principal is None:
            await self.app(scope, receive, send)  # the app answers: 401, another content type, …
            return
        start = time.perf_counter()
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        runtime = scope["app"].state.runtime
        try:
            limiter = limiter_of(runtime)
            if limiter is not None:
                limiter.check(principal)  # the route's RateLimited dependency, which this lane passes by
            answer = await handler(runtime, principal, body)
        except ValidationError:
            # FastAPI's own 422, counted by the app; the rate limit has counted this request already
            await self.app(already_counted(scope), _replay(body), send)
            return
        except Problem as exc:
            await problem_response(exc, scope["path"])(scope, receive, send)
            status = exc.status
        except Exception as exc:
            problem = input_refused(exc)  # input the database cannot store (a NUL): the route's own 422
            if problem is None:
                self.metrics.observe(scope["method"], scope["path"], 500, time.perf_counter() - start)
                raise  # ServerErrorMiddleware logs the class and answers 500, as for any route
            await problem_response(problem, scope["path"])(scope, receive, send)
            status = problem.status
        else:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]})
            await send({"type": "http.response.body", "body": answer})
            status = 200
        self.metrics.observe(scope["method"], scope["path"], status, time.perf_counter() - start)

    def _principal(self, authorization: bytes) -> Principal | None:
        try:
            return self.issuer.verify_authorization(authorization.decode("latin-1"))
        except Unauthorized:
            return None  # the app's auth middleware answers the 401


def utf8_json(content_type: bytes | str | None) -> bool:
    """`application/json`, with no charset or UTF-8 (what pydantic-core parses from bytes)."""
    if not content_type:
        return False
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    if content_type == "application/json":
        return True
    main, _, params = content_type.partition(";")
    if main.strip().lower() != "application/json":
        return False
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    return charset in ("", "utf-8", "utf8")


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive

