"""Bearer auth: who is calling (roles hospital, bureau, payer, operator, service and their scopes, DESIGN §9),
the middleware that checks the token first, and the role check. Tokens themselves are in tokens.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from onestop.common.errors import Forbidden, Unauthorized, problem_response
from onestop.contracts.enums import Role
from onestop.contracts.regions import region_within

__all__ = ["region_within"]  # re-exported: callers import it from here as well as from contracts.regions

PUBLIC_PATHS = ("/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/redoc", "/asyncapi")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, role and scope."""

    subject: str
    role: Role
    hospital_code: str | None = None
    region_code: str | None = None
    payer: str | None = None

    def can_see_hospital(self, hospital_code: str) -> bool:
        return self.role is Role.operator or (self.role is Role.hospital and self.hospital_code == hospital_code)

    def can_see_region(self, region_code: str) -> bool:
        """A bureau or payer of 410000 sees 411203; one of 411203 does not see 410000."""
        if self.role is Role.operator:
            return True
        if self.region_code is None:
            return False
        return region_within(region_code, self.region_code)


class Verifier(Protocol):
    """What checks a bearer token (tokens.TokenVerifier): the caller, or Unauthorized."""

    def verify_authorization(self, header: str) -> Principal: ...


class BearerAuthMiddleware:
    """Checks the bearer token before anything reads the body, so an anonymous call is a 401 first."""

    def __init__(self, app: ASGIApp, issuer: Verifier) -> None:
        self.app, self.issuer = app, issuer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        try:
            principal = self.issuer.verify_authorization(header)
        except Unauthorized as exc:
            response = problem_response(exc, scope["path"])
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


_bearer = HTTPBearer(auto_error=False, description="A JWT from `onestop token --role …`")


async def current_principal(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> Principal:
    """The caller, as the auth middleware verified it (the dependency documents the scheme in /docs)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:  # pragma: no cover - the middleware guarantees it on /v1
        raise Unauthorized("send Authorization: Bearer <token>")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    """403 unless the caller has one of the roles."""
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"this call is for the role(s): {allowed}")
