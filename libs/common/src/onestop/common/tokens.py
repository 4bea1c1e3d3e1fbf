"""Bearer tokens (DESIGN §9): Ed25519-signed JWTs, client tokens from the issuer, service tokens per service.

- Client tokens (hospital, bureau, payer, operator, credit_feed) are signed with the issuer's private key,
  which only `onestop token` holds; `aud` is `onestop`.
- Each service signs its own `service` tokens with its own key pair (`ServiceTokenMinter`); `aud` is the
  service called. A verifier accepts a service's key only for `role=service` naming that very service, so
  a service whose key leaks cannot mint an operator token, nor speak for another service.
- Every token has a `jti`, an `iat` and a lifetime no longer than its role's maximum, and is refused once
  revoked (`RevocationList`, fed by a JetStream key-value bucket: revocation.py).

A verifying key's id (`kid`, in the token's header) is derived from the key itself (keys.py), so rotating
the issuer's key is: add the new public key everywhere, mint with the new private key, drop the old one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator, Mapping, Sequence
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from onestop.common.auth import Principal
from onestop.common.errors import Unauthorized
from onestop.common.keys import key_id, private_key, public_key
from onestop.contracts.enums import Role

ISSUER = "onestop"
CLIENT_AUDIENCE = "onestop"
_YEAR = 366 * 86400
# The longest each role's token may live (settings: ONESTOP_TOKEN_MAX_TTL_S): a HIS's integration token is
# renewed yearly (a new one before the old expires; both are valid meanwhile), an operator's lasts a shift.
DEFAULT_MAX_TTL_S: dict[str, int] = {"hospital": _YEAR, "bureau": _YEAR, "payer": _YEAR, "credit_feed": _YEAR,
                                     "operator": 8 * 3600, "service": 600}
SERVICE_TOKEN_TTL_S = 300
LEEWAY_S = 30  # clock skew between the machine that minted a token and the one verifying it
_VERIFIED_MAX = 4096  # verified tokens remembered per process (cleared when full)
_ALGORITHM = "EdDSA"


class Revocations(Protocol):
    def revoked(self, jti: str, subject: str, issued_at: float) -> bool: ...


def service_subject(service: str) -> str:
    return f"service:{service}"


def _scope(role: Role, hospital_code: str | None, region_code: str | None, payer: str | None) -> dict[str, str]:
    if role is Role.hospital and not hospital_code:
        raise ValueError("a hospital token needs --hospital-code")
    if role is Role.bureau and not region_code:
        raise ValueError("a bureau token needs --region-code")
    if role is Role.payer and not (payer and region_code):
        raise ValueError("a payer token needs --payer and --region-code")
    if role is Role.credit_feed and not region_code:  # it resolves the feed entries of its region only
        raise ValueError("a credit_feed token needs --region-code")
    return {k: v for k, v in (("hospital_code", hospital_code), ("region_code", region_code), ("payer", payer)) if v}


def _lifetime(role: Role, ttl_s: int | None, max_ttl_s: Mapping[str, int]) -> int:
    longest = max_ttl_s.get(role.value)
    if longest is None:
        raise ValueError(f"no maximum lifetime is set for role {role.value} (ONESTOP_TOKEN_MAX_TTL_S)")
    ttl = longest if ttl_s is None else ttl_s
    if not 0 < ttl <= longest:
        raise ValueError(f"a {role.value} token lives at most {longest} s (ONESTOP_TOKEN_MAX_TTL_S), asked {ttl}")
    return ttl


class ClientTokenIssuer:
    """Mints client tokens with the issuer's private key (the operator's `onestop token`, and tests)."""

    def __init__(self, issuer_key: str, max_ttl_s: Mapping[str, int] = DEFAULT_MAX_TTL_S) -> None:
        self._key = private_key(issuer_key, "the issuer key (ONESTOP_ISSUER_KEY)")
        self._kid = key_id(self._key)
        self.max_ttl_s = dict(max_ttl_s)

    def mint(self, role: Role | str, *, subject: str | None = None, hospital_code: str | None = None,
             region_code: str | None = None, payer: str | None = None, ttl_s: int | None = None,
             issued_at: int | None = None) -> str:
        """A signed token; `ttl_s` defaults to the role's maximum and may not exceed it."""
        role = Role(role)
        if role is Role.service:
            raise ValueError("service tokens are minted by each service with its own key, not by the issuer")
        scope = _scope(role, hospital_code, region_code, payer)
        ttl = _lifetime(role, ttl_s, self.max_ttl_s)
        now = int(time.time()) if issued_at is None else issued_at
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": CLIENT_AUDIENCE, "jti": uuid.uuid4().hex, "iat": now, "exp": now + ttl,
            "sub": subject or f"{role.value}:{hospital_code or payer or region_code or 'ops'}",
            "role": role.value, **scope,
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM, headers={"kid": self._kid})


class ServiceTokenMinter:
    """A service's own `service` tokens, one per service it calls, renewed well before they expire."""

    def __init__(self, service: str, service_key: str, ttl_s: int = SERVICE_TOKEN_TTL_S) -> None:
        self.service, self.ttl_s = service, ttl_s
        self._key = private_key(service_key, "the service key (ONESTOP_SERVICE_KEY)")
        self._kid = key_id(self._key)
        self._tokens: dict[str, tuple[float, str]] = {}  # audience -> (renew after, token)

    def token_for(self, audience: str, *, fresh: bool = False) -> str:
        """A valid token for calls to `audience`; a new one once two thirds of the old one's life are gone."""
        now = time.time()
        held = self._tokens.get(audience)
        if held is None or fresh or now >= held[0]:
            iat = int(now)
            claims = {"iss": service_subject(self.service), "sub": service_subject(self.service), "aud": audience,
                      "role": Role.service.value, "jti": uuid.uuid4().hex, "iat": iat, "exp": iat + self.ttl_s}
            token = jwt.encode(claims, self._key, algorithm=_ALGORITHM, headers={"kid": self._kid})
            held = self._tokens[audience] = (now + self.ttl_s * 2 / 3, token)
        return held[1]

    def auth(self, audience: str) -> ServiceAuth:
        """An httpx auth sending this service's token for `audience`."""
        return ServiceAuth(self, audience)


class ServiceAuth(httpx.Auth):
    """httpx auth for a service-to-service call: a current service token, and one retry with a fresh one
    on a 401 (the callee may have been given a rotated key list, or a clock may have jumped)."""

    def __init__(self, minter: ServiceTokenMinter, audience: str) -> None:
        self.minter, self.audience = minter, audience

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.minter.token_for(self.audience)}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.minter.token_for(self.audience, fresh=True)}"
            yield request


class TokenVerifier:
    """Verifies bearer tokens for one service: issuer keys for client roles, service keys for `service`."""

    def __init__(self, audience: str, issuer_public_keys: Sequence[str],
                 service_public_keys: Mapping[str, Sequence[str]], *,
                 max_ttl_s: Mapping[str, int] = DEFAULT_MAX_TTL_S, revocations: Revocations | None = None) -> None:
        self.audience, self.max_ttl_s, self.revocations = audience, dict(max_ttl_s), revocations
        # kid -> (key, the service that owns it; None for the issuer)
        self._keys: dict[str, tuple[Ed25519PublicKey, str | None]] = {}
        for text in issuer_public_keys:
            self._add(public_key(text, "an issuer public key (ONESTOP_ISSUER_PUBLIC_KEYS)"), None)
        for service, texts in service_public_keys.items():
            for text in texts:
                self._add(public_key(text, f"a public key of {service} (ONESTOP_SERVICE_PUBLIC_KEYS)"), service)
        # token -> (exp, principal, jti, iat): a HIS sends the same token for hours; checking its signature and
        # claims again on every request cost a few percent of a request's CPU. Expiry and revocation are still
        # checked every time.
        self._verified: dict[str, tuple[float, Principal, str, float]] = {}

    def _add(self, key: Ed25519PublicKey, owner: str | None) -> None:
        kid = key_id(key)
        if kid in self._keys and self._keys[kid][1] != owner:
            raise ValueError("one public key is listed for two owners (issuer and a service, or two services)")
        self._keys[kid] = (key, owner)

    def verify_authorization(self, header: str) -> Principal:
        """The caller of an `Authorization: Bearer <token>` header value (raises Unauthorized)."""
        if not header.lower().startswith("bearer "):
            raise Unauthorized("send Authorization: Bearer <token>")
        return self.verify(header[7:].strip())

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is None or time.time() >= known[0]:
            known = self._verify(token)
            if len(self._verified) >= _VERIFIED_MAX:
                self._verified.clear()
            self._verified[token] = known
        exp, principal, jti, iat = known
        if self.revocations is not None and self.revocations.revoked(jti, principal.subject, iat):
            raise Unauthorized("the token has been revoked")
        return principal

    def _verify(self, token: str) -> tuple[float, Principal, str, float]:
        try:
            header = jwt.get_unverified_header(token)
            entry = self._keys.get(str(header.get("kid") or ""))
            if entry is None or header.get("alg") != _ALGORITHM:
                raise Unauthorized("the token's signing key is unknown")
            key, owner = entry
            audience = CLIENT_AUDIENCE if owner is None else self.audience
            claims = jwt.decode(token, key, algorithms=[_ALGORITHM], audience=audience, leeway=LEEWAY_S,
                                issuer=ISSUER if owner is None else service_subject(owner),
                                options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]})
            role = Role(claims["role"])
            if (owner is None) == (role is Role.service) or (owner and claims["sub"] != service_subject(owner)):
                # the issuer mints no service token; a service's key speaks only for that service
                raise Unauthorized("the token's role does not match the key that signed it")
            longest = self.max_ttl_s.get(role.value)
            if longest is None or float(claims["exp"]) - float(claims["iat"]) > longest:
                raise Unauthorized(f"the token lives longer than a {role.value} token may")
            principal = Principal(subject=claims["sub"], role=role, hospital_code=claims.get("hospital_code"),
                                  region_code=claims.get("region_code"), payer=claims.get("payer"))
            return float(claims["exp"]), principal, str(claims["jti"]), float(claims["iat"])
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("the token is for another audience") from exc
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("the token is malformed or badly signed") from exc
