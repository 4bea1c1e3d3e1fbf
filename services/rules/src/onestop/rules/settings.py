"""Settings of the rules service (environment, prefix ONESTOP_; DATABASE_URL and NATS_URL unprefixed)."""

from pathlib import Path

from pydantic import Field

from onestop.common.settings import ServiceSettings

SHIPPED_POLICIES = Path(__file__).resolve().parents[3] / "policies"


class Settings(ServiceSettings):
    service: str = "rules"
    policy_dir: Path = Field(SHIPPED_POLICIES, description="ONESTOP_POLICY_DIR: the shipped policy files")
