"""JWT bearer auth: roles hospital, bureau, payer, operator and their scopes (DESIGN §9).

Tokens are HS256 with a key id (`kid`) so signing keys rotate without downtime: add the new key,
make it current, drop the old one once its tokens have expired.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from onestop.common.errors import Forbidden, Unauthorized, problem_response
from onestop.contracts.enums import Role
from onestop.contracts.regions import region_within

__all__ = ["region_within"]  # re-exported: callers import it from here as well as from contracts.regions

_VERIFIED_MAX = 4096  # verified tokens remembered per process (cleared when full)
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


class TokenIssuer:
    """Signs and verifies tokens with a key ring."""

    def __init__(self, keys: dict[str, str], current_kid: str, issuer: str = "onestop") -> None:
        self.keys, self.current_kid, self.issuer = keys, current_kid, issuer
        # token -> (exp, principal): a HIS sends the same token for hours; checking its signature and claims
        # again on every request cost a few percent of a request's CPU. Expiry is still checked every time.
        self._verified: dict[str, tuple[float, Principal]] = {}

    def mint(
        self,
        role: Role | str,
        *,
        subject: str | None = None,
        hospital_code: str | None = None,
        region_code: str | None = None,
        payer: str | None = None,
        ttl_s: int = 8 * 3600,
    ) -> str:
        role = Role(role)
        if role is Role.hospital and not hospital_code:
            raise ValueError("a hospital token needs --hospital-code")
        if role is Role.bureau and not region_code:
            raise ValueError("a bureau token needs --region-code")
        if role is Role.payer and not (payer and region_code):
            raise ValueError("a payer token needs --payer and --region-code")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject or f"{role.value}:{hospital_code or payer or region_code or 'ops'}",
            "role": role.value,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        for k, v in (("hospital_code", hospital_code), ("region_code", region_code), ("payer", payer)):
            if v:
                claims[k] = v
        return jwt.encode(claims, self.keys[self.current_kid], algorithm="HS256",
                          headers={"kid": self.current_kid})

    def verify_authorization(self, header: str) -> Principal:
        """The caller of an `Authorization: Bearer <token>` header value (raises Unauthorized)."""
        if not header.lower().startswith("bearer "):
            raise Unauthorized("send Authorization: Bearer <token>")
        return self.verify(header[7:].strip())

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and time.time() < known[0]:
            return known[1]
        principal, exp = self._verify(token)
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (exp, principal)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.get(kid or "")
            if key is None:
                raise Unauthorized("the token's signing key is unknown")
            claims = jwt.decode(token, key, algorithms=["HS256"], issuer=self.issuer,
                                options={"require": ["exp", "sub", "iss"]})
            return Principal(
                subject=claims["sub"],
                role=Role(claims["role"]),
                hospital_code=claims.get("hospital_code"),
                region_code=claims.get("region_code"),
                payer=claims.get("payer"),
            ), float(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise Unauthorized("the token is malformed or badly signed") from exc


class BearerAuthMiddleware:
    """Checks the bearer token before anything reads the body, so an anonymous call is a 401 first."""

    def __init__(self, app: ASGIApp, issuer: TokenIssuer) -> None:
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
