"""The quote person identity answers the ledger (domain/person_facts.py): age in completed years, categories in
force, null without insurance."""

from __future__ import annotations

from datetime import date

import pytest

from onestop.contracts.enums import Category, Insurance
from onestop.identity.domain.eligibility import EligibilityDecision, InsuranceInForce
from onestop.identity.domain.person_facts import age_on, quote_person


@pytest.mark.parametrize(("born", "on", "age"), [
    (date(2016, 3, 11), date(2026, 3, 10), 9), (date(2016, 3, 11), date(2026, 3, 11), 10),
    (date(2012, 2, 29), date(2026, 2, 28), 13), (date(2012, 2, 29), date(2026, 3, 1), 14),
    (date(2026, 3, 10), date(2026, 3, 10), 0), (date(2026, 3, 11), date(2026, 3, 10), 0)])
def test_age_is_completed_years_on_the_date(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


def test_the_quote_person_takes_every_category_in_force_and_needs_insurance() -> None:
    decision = EligibilityDecision(eligible=True, categories=(Category.registered_poor,),
                                   active_categories=(Category.registered_poor, Category.poor_disabled),
                                   insurance=InsuranceInForce(Insurance.resident, "411203"))
    person = quote_person(decision, birth_date=date(1970, 5, 17), on=date(2026, 3, 10), household="urban",
                          disability="severe", disease_class="A", labour=True)
    assert person == {"categories": ["registered_poor", "poor_disabled"], "insurance": "resident",
                      "disability": "severe", "disease_class": "A", "labour": True, "household": "urban", "age": 55}
    uninsured = EligibilityDecision(eligible=False, active_categories=(Category.registered_poor,))
    assert quote_person(uninsured, birth_date=date(1970, 5, 17), on=date(2026, 3, 10), household=None,
                        disability=None, disease_class=None, labour=None) is None
