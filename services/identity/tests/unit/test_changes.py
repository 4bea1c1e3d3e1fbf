"""changes.plan: statuses keyed with their region; a scoped import changes a profile only inside its scope."""

from __future__ import annotations

from datetime import date

from onestop.identity.domain.changes import PROFILE_FACTS, Incoming, KnownPerson, Profile, StatusFact, plan

START = date(2024, 1, 1)


def _known(domicile: str | None) -> KnownPerson:
    values = dict.fromkeys(PROFILE_FACTS) | {"domicile_region": domicile, "household": "rural"}
    return KnownPerson("p1", Profile(values=values, secrets={}, id=7),
                       [StatusFact("registered_poor", None, "poverty_office", "411203", START, None, id=11)], [])


def _incoming(region: str, valid_to: date | None, household: str) -> Incoming:
    inc = Incoming()
    s = StatusFact("registered_poor", None, "poverty_office", region, START, valid_to)
    inc.statuses[s.key()] = s
    inc.add_profile({"domicile_region": region, "household": household}, {}, row=2)
    return inc


def test_another_regions_row_adds_its_own_status_and_leaves_the_profile() -> None:
    w = plan(_known("411203"), _incoming("150222", date(2025, 6, 30), "urban"), "150222")
    assert w.superseded_statuses == [] and [s.region_code for s in w.new_statuses] == ["150222"]
    assert [c.change for c in w.changes] == ["added"]
    assert w.new_profile is None and w.profile_outside_scope


def test_the_own_region_supersedes_its_status_and_changes_the_profile() -> None:
    w = plan(_known("411203"), _incoming("411203", date(2025, 12, 31), "urban"), "411203")
    assert w.superseded_statuses == [11] and [c.change for c in w.changes] == ["ended"]
    assert w.new_profile is not None and w.new_profile.values["household"] == "urban"
    assert not w.profile_outside_scope and w.superseded_profile == 7


def test_an_unscoped_import_and_a_person_without_domicile_change_the_profile() -> None:
    assert plan(_known("411203"), _incoming("150222", None, "urban"), None).new_profile is not None
    assert plan(_known(None), _incoming("150222", None, "urban"), "150222").new_profile is not None
    # a province's bureau reaches its counties' profiles
    assert plan(_known("411203"), _incoming("411203", None, "urban"), "410000").new_profile is not None
