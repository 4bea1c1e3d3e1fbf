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


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it and sets `service`."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    service: str = "unset"
    database_url: str = Field(
        "postgresql+asyncpg://postgres@localhost:5432/postgres", validation_alias="DATABASE_URL"
    )
    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias="NATS_URL")
    jwt_keys: dict[str, str] = Field(
        default_factory=lambda: {"dev": "onestop-dev-signing-key-change-me-0123456789"},
        description='signing keys by key id, JSON: {"k2": "...", "k1": "..."}',
    )
    jwt_current_kid: str = "dev"
    jwt_issuer: str = "onestop"
    database_name: str | None = Field(None, description="this service's database on DATABASE_URL's server")
    log_level: str = "INFO"
    relay_interval_s: float = 0.2
    relay_hold_max_s: float = Field(600.0, gt=0, description="longest a bulk import may pause the outbox relay")
    stream_replicas: int = Field(1, ge=1, le=5, description="JetStream replicas of this service's stream")
    idempotency_ttl_days: int = Field(7, ge=7)
    # issue 10: consumers never give up on a transient failure; retention windows of the platform tables
    consumer_park_after: int = Field(3, ge=1, le=100, description="attempts before an event that cannot be "
                                     "applied (invalid payload, unknown version, domain error) is parked")
    consumer_retry_max_s: float = Field(30.0, gt=0, le=600, description="longest pause between two attempts "
                                        "of an event while the database or a dependency is unavailable")
    outbox_retention_hours: float = Field(72.0, ge=1, description="published outbox rows are purged after this")
    inbox_retention_days: int = Field(90, ge=7, description="processed event ids are kept this long; longer "
                                      "than any redelivery (the streams' dedupe window is 2 minutes)")

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _keys_json(cls, v: Any) -> Any:
        if isinstance(v, str):
            return json.loads(v)
        return v

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

    @model_validator(mode="after")
    def _kid_known(self) -> ServiceSettings:
        if self.jwt_current_kid not in self.jwt_keys:
            raise ValueError(f"ONESTOP_JWT_CURRENT_KID {self.jwt_current_kid!r} is not in ONESTOP_JWT_KEYS")
        for kid, key in self.jwt_keys.items():
            if len(key) < 32:
                raise ValueError(f"signing key {kid!r} is shorter than 32 characters")
        return self

    def service_database_url(self) -> str:
        """The asyncpg URL of this service's own database."""
        own = os.environ.get(f"{self.service.upper()}_DATABASE_URL")
        if own:
            return _asyncpg(own)
        name = self.database_name or f"onestop_{self.service}"
        url = make_url(_asyncpg(self.database_url)).set(database=name)
        return url.render_as_string(hide_password=False)


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
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "settings"
        name = loc if loc.isupper() else f"ONESTOP_{loc.upper()}"
        parts.append(f"{name}: {e['msg'].removeprefix('Value error, ')}")
    return "bad setting " + "; ".join(parts)
