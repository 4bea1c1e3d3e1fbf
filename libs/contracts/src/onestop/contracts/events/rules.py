"""Events the rules service publishes (stream ONESTOP_RULES)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from onestop.contracts.events.base import EventPayload, region_tokens
from onestop.contracts.treat_first import TreatFirstRule


class PolicyPublished(EventPayload):
    """A new version of a region's policy is in force from `valid_from`."""

    owner, entity, verb = "rules", "policy", "published"
    type: Literal["rules.policy.published.v1"] = "rules.policy.published.v1"
    policy_id: str
    version: int
    region_code: str
    valid_from: date
    published_at: datetime
    published_by: str
    parts: list[str] = Field(default_factory=list, description="the parts this version changed")
    treat_first: TreatFirstRule | None = None

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return f"{self.policy_id}@{self.version}"


RulesEvent = Annotated[PolicyPublished, Field(discriminator="type")]
