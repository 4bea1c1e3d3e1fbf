"""A route class for hot JSON endpoints: a valid body goes straight from bytes to the endpoint.

On the 2-CPU bench machine FastAPI's request handling (reading the body, `json.loads`, validating the
dicts, solving the dependency graph, then checking the answer) cost an eligibility check about as much
CPU as the decision itself. `fast_json_route` builds an `APIRoute` subclass that, for a request with
`Content-Type: application/json` whose body the model validates, calls the endpoint directly with the
model and the arguments `extra(request)` gives (the runtime, the principal the auth middleware put in
the scope). Everything else (another content type, a body that fails validation) takes FastAPI's own
path, so every error answer and the OpenAPI description are exactly FastAPI's. The endpoint must be an
`async def` whose parameters are the body and the names `extra` supplies, nothing else.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Extra = Callable[[Request], dict[str, Any]]


def fast_json_route(body_param: str, model: type[BaseModel], extra: Extra) -> type[APIRoute]:
    """An APIRoute class whose endpoints take `body_param: model` plus the keywords `extra(request)` returns."""

    class FastJsonRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            slow = super().get_route_handler()
            endpoint = self.endpoint
            if not inspect.iscoroutinefunction(endpoint):
                raise TypeError(f"{endpoint.__name__}: a fast JSON route needs an async endpoint")
            validate = model.model_validate_json

            async def app(request: Request) -> Response:
                if not _utf8_json(request.headers.get("content-type")):
                    return await slow(request)
                try:
                    body = validate(await request.body())
                except ValidationError:
                    return await slow(request)  # FastAPI answers the 422 (the body is cached on the request)
                try:
                    kwargs = extra(request)
                except KeyError:
                    return await slow(request)
                result = await endpoint(**{body_param: body}, **kwargs)
                return result if isinstance(result, Response) else JSONResponse(result)

            return app

    return FastJsonRoute


def _utf8_json(content_type: str | None) -> bool:
    """`application/json`, with no charset or UTF-8 (what pydantic-core parses from bytes)."""
    if content_type is None:
        return False
    if content_type == "application/json":
        return True
    main, _, params = content_type.partition(";")
    if main.strip().lower() != "application/json":
        return False
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    return charset in ("", "utf-8", "utf8")


def runtime_and_principal(request: Request) -> dict[str, Any]:
    """`runtime` (the running service) and `principal` (the caller the auth middleware verified)."""
    return {"runtime": request.app.state.runtime, "principal": request.scope["state"]["principal"]}
