"""Events the identity service publishes (stream ONESTOP_IDENTITY). No ID number or name ever."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from onestop.contracts.enums import CreditReason
from onestop.contracts.events.base import EventPayload, region_tokens


class ImportCompleted(EventPayload):
    """One register import finished; counts only."""

    owner, entity, verb = "identity", "import", "completed"
    type: Literal["identity.import.completed.v1"] = "identity.import.completed.v1"
    import_id: str
    source: str
    region_code: str
    accepted: int
    rejected: int
    changed_persons: int
    completed_at: datetime

    def routing(self) -> list[str]:
        return [self.source, *region_tokens(self.region_code)]

    def entity_id(self) -> str:
        return self.import_id


class StatusChange(BaseModel):
    """One status of a person that began, ended or changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    valid_from: date
    valid_to: date | None
    change: Literal["added", "ended", "changed"]


class PersonStatusChanged(EventPayload):
    """A person's register statuses really changed (an idempotent re-import publishes none)."""

    owner, entity, verb = "identity", "person.status", "changed"
    type: Literal["identity.person.status.changed.v1"] = "identity.person.status.changed.v1"
    person_id: str
    region_code: str
    changes: list[StatusChange]
    changed_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.person_id


class CreditChanged(EventPayload):
    """The credit feed (诚信黑名单) that 司法/金融/征信 subscribers follow (004 二(四)): a person blacklisted
    for malicious default, or lifted. Suspected and dismissed cases stay inside identity, as do the operator's
    own words: the feed carries codes, the deciding region and the reach. v2: v1 also carried `suspected` and
    `dismissed`, the free-text reason and the operator's subject. A subscriber resolves `person_id` to the ID
    number and name with a `credit_feed` token at GET /v1/credit-feed/{case_id}/person (audited)."""

    owner, entity, verb = "identity", "credit", "changed"
    type: Literal["identity.credit.changed.v2"] = "identity.credit.changed.v2"
    person_id: str
    region_code: str = Field(description="the region whose operator or bureau decided (the case's region)")
    case_id: str
    state: Literal["blacklisted", "lifted"]
    reason_code: CreditReason
    scope_region_code: str = Field(description="where the blacklisting reaches (the region's blacklist_scope)")
    blocks_direct_settlement: bool
    changed_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.person_id


class PolicyApplied(EventPayload):
    """Identity now decides with this policy version (lets operators see it took effect)."""

    owner, entity, verb = "identity", "policy", "applied"
    type: Literal["identity.policy.applied.v1"] = "identity.policy.applied.v1"
    policy_id: str
    version: int
    region_code: str

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)


IdentityEvent = Annotated[
    ImportCompleted | PersonStatusChanged | CreditChanged | PolicyApplied, Field(discriminator="type")
]
