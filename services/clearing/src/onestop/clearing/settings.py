"""Settings of the clearing service (environment, prefix ONESTOP_; DATABASE_URL and NATS_URL unprefixed)."""

from pydantic import Field

from onestop.common.settings import ServiceSettings


class Settings(ServiceSettings):
    service: str = "clearing"
    payer: str | None = Field(
        None,
        description="ONESTOP_PAYER: when set, this replica is the worker of that payer fund (basic, "
        "critical_illness, …) and consumes only its share; unset, it serves the HTTP API",
    )
