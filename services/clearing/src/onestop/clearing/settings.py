"""Settings of the clearing service (environment, prefix ONESTOP_; DATABASE_URL and NATS_URL unprefixed)."""

from onestop.common.settings import ServiceSettings


class Settings(ServiceSettings):
    service: str = "clearing"
