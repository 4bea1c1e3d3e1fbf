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


def test_consumers_read_a_newer_minor_version_producers_stay_strict() -> None:
    rule = {"region_code": "150222", "valid_from": "2026-01-01", "seed": "000", "added_later": True,
            "groups": [{"id": "g1", "name_zh": "建档立卡", "categories": ["registered_poor"], "seed": "000 §1",
                        "also_added": 1}]}
    data = {"type": "rules.policy.published.v1", "policy_id": "150222", "version": 2, "region_code": "150222",
            "valid_from": "2026-01-01", "published_at": "2026-01-01T00:00:00Z", "published_by": "t",
            "treat_first": rule, "new_top_level": "x"}
    event = PolicyPublished.read(data)  # unknown fields ignored at every depth, known ones validated
    assert event.version == 2 and event.treat_first is not None and event.treat_first.groups[0].seed == "000 §1"
    with pytest.raises(ValueError):
        PolicyPublished.model_validate(data)  # the producer's model still forbids them
    with pytest.raises(ValueError):
        PolicyPublished.read({**data, "version": "not a number"})
