"""Every error an operation can answer is documented in its OpenAPI, as problem+json (RFC 9457).

`document_problems(app)` post-processes the document FastAPI generates, so a route added by any service
gets the answers the shared machinery gives it without saying so: 401 and 403 (the bearer middleware and
the scope checks) on `/v1`, 404 where the path names a resource, 422 where anything is validated, 409 and
428 with an `Idempotency-Key`, 503 where the database or NATS is needed. A dependency that can answer a
status of its own says so with `@declares_problems(429)`, and every route depending on it documents it; a
route adds the statuses only it answers with `responses=problem_responses(413)`. Every error answer's
content becomes the one `Problem` schema under `application/problem+json` (FastAPI would document its own
422 body as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from onestop.common.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each field that was refused and why.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a stable URI per kind of error"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["reason"],
                # `field` for a request's fields; a policy file's errors name `file` and `path` in it
                "properties": {"field": {"type": "string"}, "file": {"type": "string"},
                               "path": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, expired, revoked or badly signed bearer token",
    403: "The token's role or scope (hospital, region, fund) does not reach this",
    404: "No such resource, or not one the caller may see",
    409: "Conflicts with the current state, or a request with this Idempotency-Key is in flight",
    413: "The upload is larger than the service accepts",
    422: "A field is invalid (each is named in `errors`), or an Idempotency-Key reused with another body",
    428: "This state-changing call needs an Idempotency-Key header",
    429: "Too many requests for this token; retry after `Retry-After` seconds",
    503: "A dependency (database, NATS, another service) is unavailable; retry after `Retry-After` seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of one problem status."""
    out: dict[str, Any] = {"description": description or DESCRIPTIONS.get(status, "Error"),
                           "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
    if status in (429, 503):
        out["headers"] = _RETRY_AFTER
    return out


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's own error statuses, for `@router.get(..., responses=problem_responses(404, 409))`."""
    return {status: problem_response(status) for status in statuses}


F = TypeVar("F", bound=Callable[..., Any])


def declares_problems(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency: every route that depends on it (directly, or through its router) may answer these."""

    def mark(func: F) -> F:
        func.problem_statuses = statuses  # type: ignore[attr-defined]
        return func

    return mark


def _declared(dependant: Dependant) -> set[int]:
    statuses = set(getattr(dependant.call, "problem_statuses", ()))
    for sub in dependant.dependencies:
        statuses |= _declared(sub)
    return statuses


def _defaults(path: str, operation: dict[str, Any]) -> set[int]:
    params = operation.get("parameters", [])
    statuses: set[int] = set()
    if path.startswith("/v1"):
        statuses |= {401, 403, 503}
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if params or "requestBody" in operation:
        statuses.add(422)
    if any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in params):
        statuses |= {409, 422, 428}
    return statuses


def add_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the problem answers of every operation of a generated OpenAPI document (in place)."""
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status in _defaults(path, operation):
                responses.setdefault(str(status), problem_response(status))
            for code, response in responses.items():
                if code[:1] in ("4", "5"):
                    # FastAPI adds an application/json body to every declared response; ours are problems.
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
                    if code == "422":
                        response["description"] = DESCRIPTIONS[422]
            operation["responses"] = dict(sorted(responses.items()))
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    # FastAPI's own 422 body, once nothing refers to it
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(schema):
            del schemas[name]
    return schema


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json, /docs) document every operation's problem answers."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for route in app.routes:
                if isinstance(route, APIRoute):
                    for status in _declared(route.dependant):
                        route.responses.setdefault(status, problem_response(status))
            app.openapi_schema = add_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
