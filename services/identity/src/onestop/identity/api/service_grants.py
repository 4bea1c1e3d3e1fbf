"""Least privilege for `service` callers (DESIGN §9, issue 10 point 3): which other service may call which of
identity's endpoints, as data in one place, and the middleware that refuses every other call with 403.

A service token is minted by the calling service with its own key (onestop.common.tokens), so it proves which
service calls, not what it may do. Identity's use cases check client roles (hospital, bureau, …) themselves;
a `service` caller is refused here first unless this table grants it the endpoint. The refusal is the default:
an endpoint added later is closed to services until a line here opens it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from onestop.common.auth import Principal
from onestop.common.errors import Forbidden, Unauthorized, problem_response
from onestop.common.tokens import service_subject
from onestop.contracts.enums import Role

SERVICE_GRANTS: Mapping[str, tuple[str, ...]] = {
    # The ledger asks eligibility as of the admission date and snapshots the person facts on the stay
    # (DESIGN §9.1 POST /v1/stays), and the name and masked ID number its printed documents show (issue 13
    # point 5: fetched when rendered, never stored in the ledger). Nothing else: no person view, no list, no
    # import, no credit case.
    "ledger": ("POST /v1/eligibility", "GET /v1/persons/{person_id}/name"),
    # rules and clearing call nothing of identity (identity calls rules, not the other way).
}
"""calling service -> the endpoints ("METHOD /path/{template}") its `service` token may call."""


def _compiled(grants: Mapping[str, tuple[str, ...]]) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    out: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for service, endpoints in grants.items():
        for endpoint in endpoints:
            method, _, template = endpoint.partition(" ")
            out.setdefault(service_subject(service), []).append((method, compile_path(template)[0]))
    return out


_GRANTED = _compiled(SERVICE_GRANTS)


def service_may_call(principal: Principal, method: str, path: str) -> bool:
    """True unless the caller is a service that SERVICE_GRANTS does not grant this (method, path)."""
    if principal.role is not Role.service:
        return True
    return any(m == method and pattern.match(path) for m, pattern in _GRANTED.get(principal.subject, ()))


class ServiceGrants:
    """Outermost (before the fast lane, which answers eligibility without the app's routing): a `service`
    token on a /v1 endpoint not granted to its service is a 403 problem. Other tokens pass untouched; a token
    that does not verify passes too, and the app answers its 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            principal = _principal(scope, header.decode("latin-1")) if header else None
            if principal is not None and not service_may_call(principal, scope["method"], scope["path"]):
                refusal = Forbidden(f"a {principal.subject} token may not call this endpoint of identity "
                                    "(services are granted only what their call needs)")
                await problem_response(refusal, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _principal(scope: Scope, header: str) -> Principal | None:
    tokens = getattr(scope["app"].state, "tokens", None)
    if tokens is None:
        return None
    try:
        return tokens.verify_authorization(header)  # remembered per token: a dict lookup after the first call
    except Unauthorized:
        return None
