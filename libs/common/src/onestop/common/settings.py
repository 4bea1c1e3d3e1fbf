"""Settings read once from the environment (prefix ONESTOP_), failing fast on bad values.

`DATABASE_URL` names a PostgreSQL server; each service uses its own database on it
(`onestop_<service>`), unless `<SERVICE>_DATABASE_URL` names one outright.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from onestop.common.tokens import (
    DEFAULT_MAX_TTL_S,
    SERVICE_TOKEN_TTL_S,
    Revocations,
    ServiceTokenMinter,
    TokenVerifier,
)


class ConnectionSettings(BaseSettings):
    """Where PostgreSQL and NATS are: all that `onestop migrate` and `onestop token revoke` need."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    service: str = "unset"
    database_url: str = Field(
        "postgresql+asyncpg://postgres@localhost:5432/postgres", validation_alias="DATABASE_URL"
    )
    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias="NATS_URL")
    database_name: str | None = Field(None, description="this service's database on DATABASE_URL's server")
    stream_replicas: int = Field(1, ge=1, le=5, description="JetStream replicas of this service's stream")
    # issue 15: how far back a subscriber can replay; 13 months covers a settlement year and its audit
    stream_max_age_days: int = Field(396, ge=1, le=3660, description="ONESTOP_STREAM_MAX_AGE_DAYS: events "
                                     "older than this leave the service's stream (JetStream max_age)")

    @field_validator("database_url")
    @classmethod
    def _pg_only(cls, v: str) -> str:
        url = make_url(v)
        if not url.drivername.startswith("postgresql"):
            raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql+asyncpg://...)")
        return v

    @field_validator("nats_url")
    @classmethod
    def _nats(cls, v: str) -> str:
        for part in v.split(","):
            if not part.strip().startswith(("nats://", "tls://")):
                raise ValueError("NATS_URL must look like nats://host:port (comma-separated for a cluster)")
        return v

    def service_database_url(self) -> str:
        """The asyncpg URL of this service's own database."""
        own = os.environ.get(f"{self.service.upper()}_DATABASE_URL")
        if own:
            return _asyncpg(own)
        name = self.database_name or f"onestop_{self.service}"
        url = make_url(_asyncpg(self.database_url)).set(database=name)
        return url.render_as_string(hide_password=False)




class TokenSettings(BaseSettings):
    """The longest each role's token may live: `onestop token` mints within it, services refuse beyond it."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    token_max_ttl_s: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_TTL_S),
        description='ONESTOP_TOKEN_MAX_TTL_S: seconds per role, JSON {"operator": 28800, ...}; '
        "roles not named keep their default (hospital, bureau, payer, credit_feed a year; operator 8 h; "
        "service 10 min)",
    )

    @field_validator("token_max_ttl_s", mode="before")
    @classmethod
    def _ttl_json(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = json.loads(v)
        if isinstance(v, dict):
            return {**DEFAULT_MAX_TTL_S, **v}
        return v


class ServiceSettings(ConnectionSettings, TokenSettings):
    """What every service needs; each service subclasses it and sets `service`.

    No key has a default: a service started without ONESTOP_ISSUER_PUBLIC_KEYS, ONESTOP_SERVICE_KEY and
    ONESTOP_SERVICE_PUBLIC_KEYS refuses to start (`onestop keys generate` prints a set; deploy/README.md).
    """

    issuer_public_keys: list[str] = Field(
        description='ONESTOP_ISSUER_PUBLIC_KEYS: the issuer\'s Ed25519 public keys, JSON ["<base64>", ...] '
        "(two during a rotation)")
    service_key: str = Field(description="ONESTOP_SERVICE_KEY: this service's own Ed25519 private key, base64")
    service_public_keys: dict[str, list[str]] = Field(
        description='ONESTOP_SERVICE_PUBLIC_KEYS: every service\'s public keys, JSON {"identity": ["<base64>"], ...}')
    log_level: str = "INFO"
    relay_interval_s: float = 0.2
    relay_hold_max_s: float = Field(600.0, gt=0, description="longest a bulk import may pause the outbox relay")
    idempotency_ttl_days: int = Field(7, ge=7)
    idempotency_claim_ttl_s: float = Field(60.0, gt=0, le=3600, description="a key claimed in flight by a "
                                           "process that died is free again after this (longer than any slow "
                                           "step a use case runs outside its transaction)")
    # issue 10: consumers never give up on a transient failure; retention windows of the platform tables
    consumer_park_after: int = Field(3, ge=1, le=100, description="attempts before an event that cannot be "
                                     "applied (invalid payload, unknown version, domain error) is parked")
    consumer_retry_max_s: float = Field(30.0, gt=0, le=600, description="longest pause between two attempts "
                                        "of an event while the database or a dependency is unavailable")
    outbox_retention_hours: float = Field(72.0, ge=1, description="published outbox rows are purged after this")
    inbox_retention_days: int = Field(90, ge=7, description="processed event ids are kept this long; longer "
                                      "than any redelivery (the streams' dedupe window is 2 minutes)")

    @field_validator("issuer_public_keys", "service_public_keys", mode="before")
    @classmethod
    def _keys_json(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v)
            except json.JSONDecodeError:
                raise ValueError("must be JSON (see `onestop keys generate`)") from None
        return v

    @model_validator(mode="after")
    def _keys_usable(self) -> ServiceSettings:
        try:
            self.token_verifier()
            self.service_tokens()
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self

    def token_verifier(self, revocations: Revocations | None = None) -> TokenVerifier:
        """The verifier of tokens sent to this service."""
        return TokenVerifier(self.service, self.issuer_public_keys, self.service_public_keys,
                             max_ttl_s=self.token_max_ttl_s, revocations=revocations)

    def service_tokens(self) -> ServiceTokenMinter:
        """This service's own `service` tokens for the calls it makes to others."""
        return ServiceTokenMinter(self.service, self.service_key,
                                  ttl_s=min(SERVICE_TOKEN_TTL_S, self.token_max_ttl_s["service"]))


def _asyncpg(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def describe_settings_error(exc: Exception) -> str:
    """One line naming the bad setting(s) and why, for a start-up error."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    missing, bad = [], []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"])
        name = loc if loc.isupper() else f"ONESTOP_{loc.upper()}"
        if e["type"] == "missing":
            missing.append(name)
        else:
            message = e["msg"].removeprefix("Value error, ")
            bad.append(f"{name}: {message}" if loc else message)
    parts = []
    if missing:
        hint = " (`onestop keys generate` prints a set of keys)" if any("KEY" in n for n in missing) else ""
        parts.append("missing setting " + ", ".join(missing) + hint)
    if bad:
        parts.append("bad setting " + "; ".join(bad))
    return "; ".join(parts)
