"""The import's plain-dict status events are the JSON the pydantic contract path would write."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from onestop.common.clock import TZ
from onestop.contracts.events.identity import PersonStatusChanged, StatusChange
from onestop.identity.domain.changes import Change
from onestop.identity.store.outbox_bulk import StatusChangedRows, envelope_row


@pytest.mark.parametrize("at", [datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=TZ),
                                datetime(2026, 3, 1, 9, 30, tzinfo=TZ)])
@pytest.mark.parametrize("region", ["150222", "410000", "411200"])
def test_plain_rows_equal_the_contract_path(at: datetime, region: str) -> None:
    changes = [Change("registered_poor", date(2024, 1, 1), None, "added", region),
               Change("insured", date(2023, 7, 1), date(2024, 6, 30), "ended", region)]
    fast = StatusChangedRows(source="/onestop/identity", at=at).row("e1", "p1", region, changes)
    slow = envelope_row("e1", PersonStatusChanged(
        person_id="p1", region_code=region, changed_at=at,
        changes=[StatusChange(category=c.category, valid_from=c.valid_from, valid_to=c.valid_to,
                              change=c.change) for c in changes]), source="/onestop/identity", at=at)  # type: ignore[arg-type]
    assert fast[:3] == slow[:3]
    assert json.loads(fast[3]) == json.loads(slow[3])
    assert fast[3] == slow[3]
    PersonStatusChanged.model_validate(json.loads(fast[3])["data"])


def test_batch_uuids_are_distinct_version_4_uuids_in_canonical_form() -> None:
    import uuid

    from onestop.identity.imports.service import _uuids

    made = list(_uuids(5000))
    assert len(set(made)) == 5000
    for text in made:
        u = uuid.UUID(text)
        assert (u.version, u.variant, str(u)) == (4, uuid.RFC_4122, text)
