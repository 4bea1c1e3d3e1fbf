"""The ledger's events of an agreement's life after its signing (stream ONESTOP_LEDGER; in the ledger's union,
events/ledger.py): its end, its reopening by a reversal, and the hand-back of the documents kept at signing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from onestop.contracts.events.base import EventPayload, region_tokens

EndReason = Literal["with_stay", "cancelled", "expired", "blacklisted"]


class AgreementEnded(EventPayload):
    """A treat-first agreement stopped admitting: with its stay (the final settlement), its stay cancelled, its
    period over (found when it was used), or its person blacklisted (identity.credit.changed; a city-wide agreement
    stops at every hospital). The cards the hospital holds stay held until returned (documents.returned)."""

    owner, entity, verb = "ledger", "agreement", "ended"
    type: Literal["ledger.agreement.ended.v1"] = "ledger.agreement.ended.v1"
    agreement_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str = Field(description="where it was signed")
    reason: EndReason
    stay_id: str | None = Field(None, description="the stay it ended with (with_stay, cancelled)")
    ended_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.agreement_id


class AgreementReopened(EventPayload):
    """An agreement that had ended with its stay admits again: the stay's final settlement was reversed (结算撤销),
    so the stay is open again and is settled again under the same agreement."""

    owner, entity, verb = "ledger", "agreement", "reopened"
    type: Literal["ledger.agreement.reopened.v1"] = "ledger.agreement.reopened.v1"
    agreement_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    stay_id: str = Field(description="the stay reopened by the reversal")
    reopened_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.agreement_id


class DocumentsReturned(EventPayload):
    """Cards and copies the hospital kept at signing were handed back (document custody, 000 §2.5: 结清费用后…
    即时归还收存的患者相关证件资料): which kinds, to whom by relation (never a name), when."""

    owner, entity, verb = "ledger", "documents", "returned"
    type: Literal["ledger.documents.returned.v1"] = "ledger.documents.returned.v1"
    agreement_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str = Field(description="the hospital that held them (where the agreement was signed)")
    documents: list[str] = Field(description="the kinds returned: insurance_card, id_copy, poverty_card")
    returned_to: str = Field(description="the receiver's relation to the patient (self, spouse, guardian …)")
    returned_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.agreement_id
