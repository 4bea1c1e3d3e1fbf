"""The person facts a quote needs, as identity answers them to the ledger's `service` token at admission.

Pure: the decision, the person's current profile and the birth date read from the ID number go in; the
quote request's `person` (libs/contracts quote.Person) comes out, so the ledger snapshots it on the stay
and sends it to rules unchanged. A hospital is never given these facts (eligibility's answer to it is the
decision only): disease class and labour capacity are 精准识别 data of the poverty office (002).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from onestop.contracts.enums import Disability, Household
from onestop.contracts.quote import Person
from onestop.identity.domain.eligibility import EligibilityDecision


def age_on(birth_date: date, on: date) -> int:
    """Completed years on `on` (周岁): a person born 2020-03-10 is 5 on 2025-03-09 and 6 on 2025-03-10.
    One born on 29 February has their birthday on 1 March in a common year."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return max(0, on.year - birth_date.year - before_birthday)


def quote_person(decision: EligibilityDecision, *, birth_date: date, on: date, household: str | None,
                 disability: str | None, disease_class: str | None, labour: bool | None) -> dict[str, Any] | None:
    """The quote's `person` on `on`, JSON-ready; None when no insurance enrolment is in force that day
    (a quote needs the scheme, and no fund pays for a person who is not insured).

    `categories` are every assistance category in force on the date (`active_categories`), not only those
    that admitted the person to treat-first: a quote's funds are conditioned on all of them (e.g. civil
    affairs' assistance for a subsistence-allowance holder admitted as registered poor)."""
    if decision.insurance is None:
        return None
    person = Person(
        categories=list(decision.active_categories),
        insurance=decision.insurance.scheme,
        disability=Disability(disability) if disability else None,
        disease_class=disease_class or None,  # the register's A–D, checked at import (domain/registers.py)
        labour=labour,
        household=Household(household) if household else None,
        age=age_on(birth_date, on),
    )
    return person.model_dump(mode="json")
