"""identity's answer at `POST /v1/eligibility` (DESIGN §9), for its callers to parse: the ledger validates
identity's answer to its `service` token with `EligibilityAnswer` and snapshots `person` on the stay.

Not strict (unknown fields are ignored): identity may add optional fields in a minor change, as producers of
events may (issue 10 point 1); identity's own route documents its answer with this model.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from onestop.contracts.enums import Category, Disability, Insurance
from onestop.contracts.quote import Person


class InsuranceUsed(BaseModel):
    """The enrolment the decision was made with (a person enrolled twice: the one that admits them)."""

    scheme: Insurance
    region_code: str = Field(description="the insurance region (参保地) of the enrolment the decision used")


class Reason(BaseModel):
    """Why a person is not (or not fully) eligible."""

    code: str = Field(description="stable code, e.g. not_insured, blacklisted")
    text_zh: str = Field(description="the sentence for the window, in Chinese")


class PolicyUsed(BaseModel):
    """The treat-first rule's policy: its region (inherited rules name the parent), id and version."""

    region_code: str
    policy_id: str | None
    version: int | None
    valid_from: date
    origin: str = Field(description="how identity learnt the rule: from rules' policy.published event or over HTTP")


class EligibilityAnswer(BaseModel):
    """The decision, for every caller; a `service` caller (the ledger, at admission) is also given `age` and
    `person`, the person facts a quote needs, which no hospital, bureau or operator answer carries.

    `person` has the shape of `person` in `POST /v1/quotes` (rules), so the ledger snapshots it on the stay
    and quotes with it unchanged: `categories` (every assistance category in force on the date, not only
    those that admitted the person), `insurance` (the scheme of the enrolment used), `household`,
    `disability`, `disease_class` and `labour` (002 精准识别, from the poverty office's register) and `age`
    (completed years on the date). It is null for a person identity does not know or who has no insurance
    enrolment in force on the date. No answer carries the ID number or the name in clear, nor the birth
    date: the number masked, with the birth year."""

    model_config = ConfigDict(populate_by_name=True)

    id_number_masked: str = Field(description="e.g. 4112**********5162: the first four and last four characters")
    birth_year: int
    person_id: str | None = Field(description="identity's id of the person; null when not on any register")
    region_code: str
    hospital_code: str
    on: date = Field(alias="date", description="the date decided for")
    eligible: bool
    categories: list[Category] = Field(description="the categories that admitted the person (empty if not eligible)")
    active_categories: list[Category] = Field(description="every category in force on the date")
    matched_groups: list[str] = Field(description="the ids of the rule's admission groups the person falls in")
    insurance: InsuranceUsed | None
    blacklisted: bool
    direct_settlement_allowed: bool
    disability: Disability | None
    reasons: list[Reason]
    policy: PolicyUsed
    age: int | None = Field(None, ge=0, description="`service` callers only: completed years (周岁) on the date")
    # The description sits beside anyOf, not on Person's shared schema (see rules' api/operations.py for why
    # that matters).
    person: Person | None = Field(None, description="`service` callers only: the quote request's `person` on the "
                                                    "date; null for an unknown or uninsured person")
