"""The pure generator of nats-server users and permissions (issue 15): what each subscriber may touch, the
configuration's checks, and the file it writes (hashes only). The server's own answers are in
tests/test_nats_permissions.py."""

from __future__ import annotations

import stat
from pathlib import Path

import bcrypt
import pytest

from onestop.cli.nats_auth import (
    Bureau,
    CreditFeed,
    Fund,
    Subscribers,
    SubscribersError,
    consumer_names,
    grants,
    load_subscribers,
    region_pattern,
    render_authorization,
    service_permissions,
    subscriber_permissions,
    user_names,
)
from onestop.cli.nats_credentials import password, with_user, write_server_config
from onestop.common.nats import redact_url

DEFAULT = Path(__file__).resolve().parents[3] / "deploy" / "subscribers.toml"


def test_a_region_filters_as_a_county_a_city_or_a_province() -> None:
    assert region_pattern("150222") == "150000.150200.150222"
    assert region_pattern("150200") == "150000.150200.*"
    assert region_pattern("150000") == "150000.>"  # one wildcard (DESIGN §6)


def test_a_county_bureau_creates_only_its_names_with_its_region_filters() -> None:
    config = Subscribers()
    guyang = Bureau(name="guyang", region_code="150222")
    p = subscriber_permissions(guyang, config)
    assert consumer_names("guyang", config) == ["guyang_1", "guyang_2", "guyang_3", "guyang_replay"]
    creates = [s for s in p.publish_allow if s.startswith("$JS.API.CONSUMER.CREATE.")]
    assert "$JS.API.CONSUMER.CREATE.ONESTOP_LEDGER.guyang_1.onestop.ledger.*.*.150000.150200.150222" in creates
    assert all(s.split(".")[5].startswith("guyang_") for s in creates)  # no wildcard in the consumer's name
    assert all(s.endswith("150000.150200.150222") for s in creates)
    assert not any("DURABLE.CREATE" in s or s.endswith(".>") and "CONSUMER.CREATE" in s for s in p.publish_allow)
    assert not any(s.startswith(("onestop.", "$JS.API.STREAM", "$KV")) for s in p.publish_allow)
    assert p.subscribe_allow[0] == "_INBOX_guyang.>"
    assert "onestop.rpc.>" in p.subscribe_deny and "onestop.>" in p.publish_deny
    assert not p.allow_responses


def test_a_fund_and_the_credit_feed_read_one_thing_each() -> None:
    assert [(g.stream, g.filter) for g in grants(Fund(name="fund_basic", payer="basic"))] == [
        ("ONESTOP_CLEARING", "onestop.clearing.*.*.basic.>")]
    assert grants(Fund(name="fund_a", payer="assistance", region_code="411203"))[0].filter == (
        "onestop.clearing.*.*.assistance.410000.411200.411203")
    assert [(g.stream, g.filter) for g in grants(CreditFeed(name="credit_feed"))] == [
        ("ONESTOP_IDENTITY", "onestop.identity.credit.changed.>")]


def test_a_service_publishes_its_own_subjects_and_never_deletes_a_stream() -> None:
    p = service_permissions("ledger")
    assert "onestop.ledger.>" in p.publish_allow and "onestop.clearing.>" in p.publish_deny
    assert "$JS.API.STREAM.DELETE.>" in p.publish_deny and p.allow_responses
    assert "onestop.rpc.ledger.>" in p.subscribe_allow and "onestop.rpc.rules.>" not in p.subscribe_allow


def test_the_default_configuration_has_every_seed_region_the_funds_and_the_credit_feed() -> None:
    config = load_subscribers(DEFAULT)
    regions = {b.region_code for b in config.bureau}
    for county, city, province in (("653221", "653200", "650000"), ("411203", "411200", "410000"),
                                   ("140224", "140200", "140000"), ("150222", "150200", "150000"),
                                   ("320681", "320600", "320000")):
        assert {county, city, province} <= regions
    assert sorted(f.payer for f in config.fund) == sorted(["basic", "critical_illness", "assistance", "gap_fill"])
    assert [c.name for c in config.credit_feed] == ["credit_feed"]
    assert config.find("150222", None) == Bureau(name="guyang", region_code="150222")
    found = config.find("150222", "basic")
    assert isinstance(found, Fund) and found.name == "fund_basic"
    assert config.find("999999", None) is None


@pytest.mark.parametrize(("text", "says"), [
    ('[[bureau]]\nname = "Guyang"\nregion_code = "150222"\n', "bureau.0.name"),
    ('[[bureau]]\nname = "guyang"\nregion_code = "15022"\n', "bureau.0.region_code"),
    ('[[fund]]\nname = "f_x"\npayer = "charity"\n', "fund.0.payer"),
    ('[[bureau]]\nname = "ledger"\nregion_code = "150222"\n', "is used twice or is a service's"),
    ('[[bureau]]\nname = "a_b"\nregion_code = "150222"\n[[fund]]\nname = "a_b"\npayer = "basic"\n', "used twice"),
    ('durables = ["replay"]\n', "durables"),
    ('[[bureau]]\nname = "guyang"\nregion_code = "150222"\nextra = 1\n', "bureau.0.extra"),
    ("[[bureau]\n", "not TOML"),
])
def test_a_bad_configuration_is_refused_naming_the_field(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "subscribers.toml"
    path.write_text(text)
    with pytest.raises(SubscribersError) as caught:
        load_subscribers(path)
    assert says in str(caught.value)


def test_the_generated_file_holds_hashes_and_the_passwords_stay_private(tmp_path: Path) -> None:
    config = load_subscribers(DEFAULT)
    keys = tmp_path / "keys"
    out = write_server_config(config, keys, tmp_path / "auth.conf", rounds=4)
    text = out.read_text()
    pw = password(keys, "guyang")
    assert pw is not None and pw not in text
    for user in user_names(config):
        assert f'user: "{user}"' in text
    stored = (keys / "nats" / "guyang.bcrypt").read_text().strip()
    assert bcrypt.checkpw(pw.encode(), stored.encode()) and stored in text
    assert stat.S_IMODE((keys / "nats").stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "nats" / "guyang.password").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = write_server_config(config, keys, tmp_path / "auth.conf", rounds=4).read_text()
    assert again == text  # a restart reuses the passwords and their hashes


def test_render_is_one_authorization_block_nats_server_reads() -> None:
    text = render_authorization([])
    assert text.startswith("authorization {") and "users = [" in text


def test_a_url_gets_a_user_and_loses_it_for_messages() -> None:
    url = with_user("nats://n1:4222,nats://n2:4222", "ledger", "p/w@x")
    assert url == "nats://ledger:p%2Fw%40x@n1:4222,nats://ledger:p%2Fw%40x@n2:4222"
    assert redact_url(url) == "nats://n1:4222,nats://n2:4222"


def test_every_ledger_rules_and_clearing_subject_has_the_shape_the_grants_filter_on() -> None:
    """The grants filter `onestop.<owner>.*.*.<region>` (clearing: `.*.*.<payer>.<region>`): an event whose
    entity has two tokens would be outside every bureau's filter, silently."""
    import importlib
    import pkgutil

    import onestop.contracts.events as package
    from onestop.contracts.events.base import EventPayload

    for module in pkgutil.iter_modules(package.__path__):  # every stream's models, clearing's when it lands
        importlib.import_module(f"{package.__name__}.{module.name}")

    def subclasses(cls: type[EventPayload]) -> list[type[EventPayload]]:
        return [c for s in cls.__subclasses__() for c in (s, *subclasses(s))]

    models = [m for m in subclasses(EventPayload) if getattr(m, "owner", None) in ("ledger", "rules", "clearing")]
    assert len(models) >= 10
    for model in models:
        assert "." not in model.entity and "." not in model.verb, model.__name__


def test_each_service_of_the_local_run_connects_as_its_own_user(tmp_path: Path) -> None:
    from onestop.cli.nats_credentials import ensure_passwords
    from onestop.cli.stack import Stack
    from onestop.common.keys import KeySet

    ensure_passwords(tmp_path / "keys", ["ledger", "rules"], rounds=4)
    stack = Stack(data_dir=tmp_path, keys=KeySet.generate(), nats_url="nats://127.0.0.1:4222", nats_auth=True)
    ledger, rules = stack.service_env("ledger")["NATS_URL"], stack.service_env("rules")["NATS_URL"]
    assert ledger == f"nats://ledger:{password(tmp_path / 'keys', 'ledger')}@127.0.0.1:4222"
    assert rules.startswith("nats://rules:") and ledger != rules
    assert Stack(data_dir=tmp_path, keys=KeySet.generate(), nats_url="nats://h:1").service_env("ledger")[
        "NATS_URL"] == "nats://h:1"  # an external NATS_URL is used as given
