"""identity's rule cache forgets a rule only after the publication that replaced it has committed (point 8)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from identity_api_helpers import drained

from onestop.contracts.events.base import Envelope
from onestop.contracts.events.rules import PolicyPublished
from onestop.contracts.treat_first import AdmissionGroup, TreatFirstRule
from onestop.identity.events import policy

REGION = "120101"  # a county no shipped policy covers: rules answers no rule for it
ON = date(2026, 3, 10)


async def test_a_read_while_the_publication_commits_does_not_keep_the_old_rule(identity) -> None:  # type: ignore[no-untyped-def]
    app, _client = identity
    runtime = app.state.runtime
    book = runtime.extras["rulebook"]
    assert await book.rule(REGION, ON) is None  # cached: no policy covers the county
    rule = TreatFirstRule(region_code=REGION, valid_from=date(2026, 1, 1), seed="test",
                          groups=[AdmissionGroup(id="all_poor", name_zh="贫困人口", categories=["registered_poor"],
                                                 seed="test")])
    event = PolicyPublished(policy_id="test-120101", version=1, region_code=REGION, valid_from=date(2026, 1, 1),
                            published_at=datetime.now(UTC), published_by="operator:test", treat_first=rule)
    envelope = Envelope.wrap(event, source="/onestop/rules", time=datetime.now(UTC))
    handler = policy.make_handler(runtime)
    async with runtime.db.transaction() as session:
        await handler(session, envelope)
        # Another request reads the rule now, before the commit: it sees the old state (no rule)…
        assert await book.rule(REGION, ON) is None
    # …and once the publication has committed the cache must not answer with what that read saw.
    got = await book.rule(REGION, ON)
    assert got is not None and got.origin == "policy.published" and got.policy_id == "test-120101"


async def test_a_publication_that_rolls_back_keeps_the_cache(identity) -> None:  # type: ignore[no-untyped-def]
    app, _client = identity
    runtime = app.state.runtime
    book = runtime.extras["rulebook"]
    await drained(app)  # the earlier publication's policy.applied has gone out and landed
    await asyncio.sleep(0.3)
    before = book._generation
    event = PolicyPublished(policy_id="test-150298", version=1, region_code="150298", valid_from=date(2026, 1, 1),
                            published_at=datetime.now(UTC), published_by="operator:test", treat_first=None)
    try:
        async with runtime.db.transaction() as session:
            await policy.make_handler(runtime)(session, Envelope.wrap(event, source="/onestop/rules",
                                                                      time=datetime.now(UTC)))
            raise RuntimeError("the inbox transaction fails")
    except RuntimeError:
        pass
    assert book._generation == before


async def test_eligibility_where_no_policy_is_in_force_is_422_not_503(identity) -> None:  # type: ignore[no-untyped-def]
    # rules answers 422 no-policy-in-force for such a region; identity took that for rules failing (503).
    from identity_api_helpers import auth, make_id

    app, client = identity
    r = await client.post("/v1/eligibility", headers=auth(app),
                          json={"id_number": make_id("320681", 7), "region_code": "320999",
                                "hospital_code": "H320681001", "date": "2026-03-10"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "region_code"


async def test_other_replicas_drop_their_cache_on_identitys_policy_applied_not_on_rules_publication(
        identity, nats_url) -> None:  # type: ignore[no-untyped-def]
    # policy.applied leaves through identity's outbox, i.e. after the applying replica's commit; rules'
    # policy.published arrives before it, and a replica dropping its cache then could re-read the old rule.
    import nats

    app, _client = identity
    book = app.state.runtime.extras["rulebook"]
    nc = await nats.connect(nats_url)
    try:
        before = book._generation
        await nc.publish("onestop.rules.policy.published.320000.320600.320681", b"{}")
        await nc.flush()
        await asyncio.sleep(0.3)
        assert book._generation == before
        await nc.publish("onestop.identity.policy.applied.320000.320600.320681", b"{}")
        await nc.flush()
        for _ in range(50):
            if book._generation != before:
                break
            await asyncio.sleep(0.05)
        assert book._generation == before + 1
    finally:
        await nc.close()
