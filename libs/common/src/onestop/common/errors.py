"""Domain errors carrying an RFC 9457 problem type, mapped to application/problem+json in one place."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import structlog
from asyncpg import PostgresError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from onestop.common.logging import redacted_path

PROBLEM_BASE = "https://onestop.example/problems/"
PROBLEM_JSON = "application/problem+json"

log = structlog.get_logger("onestop.errors")


class Problem(Exception):
    """Base of every error a caller may see. Subclasses set `kind`, `title` and `status`."""

    kind = "about:blank"
    title = "Error"
    status = 400

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


class Unauthorized(Problem):
    kind, title, status = "unauthorized", "Missing or invalid bearer token", 401


class Forbidden(Problem):
    kind, title, status = "forbidden", "Not within your scope", 403


class NotFound(Problem):
    kind, title, status = "not-found", "Not found", 404


class Conflict(Problem):
    kind, title, status = "conflict", "Conflict with the current state", 409


class InvalidInput(Problem):
    kind, title, status = "invalid-input", "Invalid input", 422


class IdempotencyKeyRequired(Problem):
    kind, title, status = "idempotency-key-required", "Idempotency-Key header required", 428


class IdempotencyKeyReused(Problem):
    kind, title, status = "idempotency-key-reused", "Idempotency-Key reused with another body", 422


class IdempotencyKeyInFlight(Problem):
    kind, title, status = "idempotency-key-in-flight", "A request with this Idempotency-Key is in flight", 409


class Unavailable(Problem):
    kind, title, status = "unavailable", "A dependency is unavailable, retry later", 503


def field_error(field: str, reason: str) -> dict[str, str]:
    return {"field": field, "reason": reason}


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    headers = getattr(problem, "headers", None) or ({"Retry-After": "1"} if problem.status == 503 else None)
    # `instance` is the request's path: a caller who put an ID number or a name in a URL must not get it
    # echoed in the problem (nor does it reach a log: the same redaction).
    return JSONResponse(problem.body(redacted_path(instance) if instance else None), status_code=problem.status,
                        media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves as problem+json; validation errors name the field, never echo the input."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [field_error(_loc(e.get("loc", ())), _reason(e)) for e in exc.errors()]
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(InvalidInput(f"invalid field(s): {fields}", errors=errors), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's only 400: a body its declared content type cannot parse
            return problem_response(InvalidInput("the body could not be parsed", errors=[
                field_error("body", "not readable as the declared content type")]), request.url.path)
        p = Problem(str(exc.detail))
        p.status = exc.status_code
        p.title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        p.kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(p, request.url.path)

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        problem = input_refused(exc, request.url.query)
        if problem is None:  # anything else the database refuses is a bug: on to the 500 below
            raise exc
        return problem_response(problem, request.url.path)

    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(PostgresError, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A 5xx is a bug: log the class only (the message may carry personal data), answer without a trace.
        # The route's template, not the path: a path segment may be a name or an ID number.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("unhandled_error", error_type=type(exc).__name__, route=route)
        p = Problem("an internal error occurred; it has been logged")
        p.status, p.title, p.kind = 500, "Internal error", "internal"
        return problem_response(p, request.url.path)


def input_refused(exc: BaseException, query: str = "") -> InvalidInput | None:
    """The 422 for a database error that the caller's input caused, else None.

    PostgreSQL text cannot hold a NUL character (SQLSTATE 22021, through SQLAlchemy or asyncpg directly):
    named as the query parameter that has one, else as the body."""
    seen: BaseException | None = exc
    while seen is not None and getattr(seen, "sqlstate", None) != "22021":
        seen = seen.__cause__
    if seen is None:
        return None
    fields = [name for name, value in parse_qsl(query, keep_blank_values=True) if "\x00" in name + value]
    return InvalidInput("a text contains a NUL character, which cannot be stored",
                        errors=[field_error(f, "contains a NUL character") for f in fields or ["body"]])


def _reason(e: dict[str, Any]) -> str:
    msg = str(e.get("msg", "invalid"))
    # pydantic prefixes custom errors with "Value error, "; the rest is ours and never echoes input.
    return msg.removeprefix("Value error, ")
