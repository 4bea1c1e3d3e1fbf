"""Event contracts: subjects, envelope, and a JSON-schema snapshot so a change is a conscious one."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from onestop.contracts.asyncapi import build, event_classes
from onestop.contracts.events.base import Envelope, region_tokens, subject
from onestop.contracts.events.rules import PolicyPublished

SNAPSHOT = Path(__file__).parent / "event_schemas.json"
ASYNCAPI = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_region_tokens() -> None:
    assert region_tokens("411203") == ["410000", "411200", "411203"]
    assert region_tokens("410000") == ["410000", "410000", "410000"]
    assert region_tokens("653200") == ["650000", "653200", "653200"]
    with pytest.raises(ValueError):
        region_tokens("41120")


def test_subject_rejects_wildcards() -> None:
    assert subject("ledger", "settlement", "finalized", "410000") == "onestop.ledger.settlement.finalized.410000"
    with pytest.raises(ValueError):
        subject("ledger", "settlement", "finalized", "*")


def test_policy_published_subject_and_envelope() -> None:
    p = PolicyPublished(policy_id="411203", version=2, region_code="411203", valid_from=date(2026, 1, 1),
                        published_at=datetime(2026, 1, 1, tzinfo=UTC), published_by="operator:a")
    assert p.nats_subject() == "onestop.rules.policy.published.410000.411200.411203"
    env = Envelope.wrap(p, source="/onestop/rules", time=datetime(2026, 1, 1, tzinfo=UTC))
    assert env.specversion == "1.0" and env.type == "rules.policy.published.v1"
    assert PolicyPublished.model_validate(env.data) == p


def test_schema_snapshot() -> None:
    current = {c.model_fields["type"].default: c.model_json_schema() for c in event_classes()}
    if not SNAPSHOT.exists():  # first run writes it; afterwards a change must update it on purpose
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True))
    assert json.loads(SNAPSHOT.read_text()) == json.loads(json.dumps(current, sort_keys=True)), (
        "an event schema changed: bump its version or update event_schemas.json deliberately"
    )


def test_asyncapi_document_is_current() -> None:
    assert json.loads(ASYNCAPI.read_text()) == json.loads(json.dumps(build())), "run `make asyncapi`"
