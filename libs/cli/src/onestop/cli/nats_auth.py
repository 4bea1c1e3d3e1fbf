"""Who may read which events: nats-server users and subject permissions, generated from one configuration.

Pure: `load_subscribers` parses the configuration (deploy/subscribers.toml), `permissions` says what one
user may publish and subscribe to, `render_authorization` writes nats-server's `authorization { users = [...] }`
(one account) from users whose passwords are already hashed. Passwords and files are `nats_credentials`'s.

A subscriber reads JetStream through pull consumers, and nats-server checks the JetStream API by subject
(`$JS.API.CONSUMER.CREATE.<stream>.<consumer>.<filter>`, `…MSG.NEXT.<stream>.<consumer>`,
`$JS.ACK.<stream>.<consumer>.>`), so a permission on those subjects is a permission on a consumer's name and
filter. NATS wildcards are whole tokens: a name *prefix* cannot be expressed, so each subscriber gets a fixed
set of consumer names `<user>_<slot>` (its durables and one `<user>_replay`), and only filters inside its region
or payer. Push consumers are not allowed at all: their deliver subject is in the request body, which no
permission sees, and would let a subscriber make the server publish its events onto any subject.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from onestop.contracts.events.base import region_tokens, stream_name
from onestop.contracts.regions import significant_digits

SERVICES = ("identity", "ledger", "rules", "clearing")
OPERATOR = "operator"  # `onestop token revoke` and other operator tools: the revocation bucket, the JS API
PAYERS = ("basic", "critical_illness", "assistance", "gap_fill")
REPLAY_SLOT = "replay"
REVOCATION_BUCKET = "onestop_revocations"  # onestop.common.revocation.BUCKET (a KV bucket is a stream)
_NAME = r"^[a-z][a-z0-9_]{1,31}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bureau(_Strict):
    """A county, city or province medical insurance bureau (or civil affairs bureau) of one region."""

    name: str = Field(pattern=_NAME, description="its NATS user and the prefix of its consumers' names")
    region_code: str = Field(pattern=r"^\d{6}$")


class Fund(_Strict):
    """A fund reads its payer's clearing subjects, of one region or (without region_code) of all."""

    name: str = Field(pattern=_NAME)
    payer: Literal["basic", "critical_illness", "assistance", "gap_fill"]
    region_code: str | None = Field(None, pattern=r"^\d{6}$")


class CreditFeed(_Strict):
    """The credit-feed role (司法/金融/征信, 004 二(四)): identity's credit changes only."""

    name: str = Field(pattern=_NAME)
    region_code: str | None = Field(None, pattern=r"^\d{6}$")


class Subscribers(_Strict):
    """The whole configuration: `[[bureau]]`, `[[fund]]`, `[[credit_feed]]` tables and the durable slots."""

    durables: list[str] = Field(default_factory=lambda: ["1", "2", "3"], min_length=1, max_length=16,
                                description="each subscriber's standing consumers are named <user>_<slot>")
    bureau: list[Bureau] = Field(default_factory=list)
    fund: list[Fund] = Field(default_factory=list)
    credit_feed: list[CreditFeed] = Field(default_factory=list)

    @field_validator("durables")
    @classmethod
    def _slots(cls, v: list[str]) -> list[str]:
        for slot in v:
            if not re.match(r"^[a-z0-9]{1,16}$", slot) or slot == REPLAY_SLOT:
                raise ValueError(f"a durable slot is 1-16 lowercase letters or digits, not {REPLAY_SLOT!r}")
        return v

    def users(self) -> list[Bureau | Fund | CreditFeed]:
        """Every subscriber, each name checked unique and apart from the services' own users."""
        found: list[Bureau | Fund | CreditFeed] = [*self.bureau, *self.fund, *self.credit_feed]
        seen: set[str] = set()
        for u in found:
            if u.name in seen or u.name in (*SERVICES, OPERATOR):
                raise ValueError(f"subscriber name {u.name!r} is used twice or is a service's")
            seen.add(u.name)
        return found

    def find(self, region_code: str | None, payer: str | None) -> Bureau | Fund | CreditFeed | None:
        """The subscriber `onestop subscribe` connects as: the fund of that payer (and region, when the fund
        has one), else the bureau of that region."""
        if payer:
            funds = [f for f in self.fund if f.payer == payer]
            return next((f for f in funds if f.region_code == region_code), None) or next(
                (f for f in funds if f.region_code is None), None)
        return next((b for b in self.bureau if b.region_code == region_code), None)


class SubscribersError(ValueError):
    """The configuration cannot be used: one line naming the table, field and reason."""


def load_subscribers(path: Path) -> Subscribers:
    """Parse and check the configuration file (TOML)."""
    try:
        config = Subscribers.model_validate(tomllib.loads(path.read_text()))
        config.users()
    except tomllib.TOMLDecodeError as exc:
        raise SubscribersError(f"{path}: not TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SubscribersError(f"{path}: {where}: {first['msg']}") from None
    except ValueError as exc:
        raise SubscribersError(f"{path}: {exc}") from None
    return config


def region_pattern(region_code: str) -> str:
    """The three region tokens a subscriber of that region may filter on: a county literally, a city with
    its counties as `*`, a province with one wildcard (DESIGN §6)."""
    province, city, county = region_tokens(region_code)
    level = significant_digits(region_code)
    if level == 2:
        return f"{province}.>"
    if level == 4:
        return f"{province}.{city}.*"
    return f"{province}.{city}.{county}"


@dataclass(frozen=True)
class Grant:
    """One stream and a filter subject (pattern) a subscriber's consumers may use on it."""

    stream: str
    filter: str


def grants(user: Bureau | Fund | CreditFeed) -> list[Grant]:
    """What a subscriber may read, per stream. Every subject ends with the region tokens (DESIGN §6):
    ledger and rules `<entity>.<verb>.<region>`, clearing `<entity>.<verb>.<payer>.<region>`, identity's
    credit and status changes; identity's import reports are the operators'."""
    if isinstance(user, Bureau):
        r = region_pattern(user.region_code)
        return [
            Grant(stream_name("ledger"), f"onestop.ledger.*.*.{r}"),
            Grant(stream_name("clearing"), f"onestop.clearing.*.*.*.{r}"),
            Grant(stream_name("identity"), f"onestop.identity.credit.changed.{r}"),
            Grant(stream_name("identity"), f"onestop.identity.person.status.changed.{r}"),
            Grant(stream_name("rules"), f"onestop.rules.policy.published.{r}"),
        ]
    r = region_pattern(user.region_code) if user.region_code else ">"
    if isinstance(user, Fund):
        return [Grant(stream_name("clearing"), f"onestop.clearing.*.*.{user.payer}.{r}")]
    return [Grant(stream_name("identity"), f"onestop.identity.credit.changed.{r}")]


def consumer_names(user_name: str, config: Subscribers) -> list[str]:
    """The only consumer names a subscriber may create, read, ack and delete."""
    return [f"{user_name}_{slot}" for slot in (*config.durables, REPLAY_SLOT)]


def inbox_prefix(user_name: str) -> str:
    """A subscriber's private inbox prefix (nats.connect(inbox_prefix=…)): replies to its JetStream requests
    and the messages it pulls arrive there, where no other subscriber may listen."""
    return f"_INBOX_{user_name}"


@dataclass(frozen=True)
class Permissions:
    publish_allow: list[str]
    publish_deny: list[str]
    subscribe_allow: list[str]
    subscribe_deny: list[str]
    allow_responses: bool = False


def subscriber_permissions(user: Bureau | Fund | CreditFeed, config: Subscribers) -> Permissions:
    """A subscriber: create/delete/read/pull/ack only its own consumer names with filters inside its grants;
    subscribe to its own inbox and (live, core NATS) its own subjects; nothing else."""
    names = consumer_names(user.name, config)
    gs = grants(user)
    streams = list(dict.fromkeys(g.stream for g in gs))
    pub: list[str] = []
    for n in names:
        pub += [f"$JS.API.CONSUMER.CREATE.{g.stream}.{n}.{g.filter}" for g in gs]
        for s in streams:
            pub += [f"$JS.API.CONSUMER.INFO.{s}.{n}", f"$JS.API.CONSUMER.DELETE.{s}.{n}",
                    f"$JS.API.CONSUMER.MSG.NEXT.{s}.{n}", f"$JS.ACK.{s}.{n}.>"]
    return Permissions(
        publish_allow=pub,
        # explicit although outside the allow list: a deny wins over any allow added later by hand
        publish_deny=["onestop.>", "$JS.API.STREAM.>", "$KV.>", "_INBOX.>"],
        subscribe_allow=[f"{inbox_prefix(user.name)}.>", *dict.fromkeys(g.filter for g in gs)],
        subscribe_deny=["onestop.rpc.>"],  # quote requests carry personal data (DESIGN §6)
    )


def service_permissions(service: str) -> Permissions:
    """A service: publish its own events and rpc, use the JetStream API (its stream, its consumers, the
    revocation bucket), answer requests; never delete or purge a stream, never publish another's subjects."""
    others = [f"onestop.{s}.>" for s in SERVICES if s != service]
    return Permissions(
        publish_allow=[f"onestop.{service}.>", "onestop.rpc.>", "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "_INBOX.>"],
        publish_deny=[*others, "$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", f"$KV.{REVOCATION_BUCKET}.>"],
        subscribe_allow=[f"onestop.{service}.>", f"onestop.rpc.{service}.>", "_INBOX.>"],
        subscribe_deny=[],
        allow_responses=True,
    )


def operator_permissions() -> Permissions:
    """The operator's tools: the revocation bucket (write) and the JetStream API to inspect; no events."""
    return Permissions(
        publish_allow=[f"$KV.{REVOCATION_BUCKET}.>", "$JS.API.>"],
        publish_deny=["onestop.>"],
        subscribe_allow=["_INBOX.>"],
        subscribe_deny=["onestop.rpc.>"],
    )


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str  # bcrypt ($2a$…/$2b$…), which nats-server compares itself
    permissions: Permissions = field(repr=False)


def all_users(config: Subscribers, hashes: dict[str, str]) -> list[User]:
    """The services, the operator and every subscriber, each with its hashed password from `hashes`."""
    users = [User(s, hashes[s], service_permissions(s)) for s in SERVICES]
    users.append(User(OPERATOR, hashes[OPERATOR], operator_permissions()))
    users += [User(u.name, hashes[u.name], subscriber_permissions(u, config)) for u in config.users()]
    return users


def user_names(config: Subscribers) -> list[str]:
    """Every user the configuration makes, in the order of the generated file."""
    return [*SERVICES, OPERATOR, *(u.name for u in config.users())]


def render_authorization(users: list[User]) -> str:
    """nats-server's `authorization { users = [...] }` block. Values are JSON strings, which its
    configuration format reads as quoted strings (so `$` and `>` need no escaping)."""

    def strings(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    lines = ["authorization {", "  users = ["]
    for u in users:
        p = u.permissions
        lines += [
            "    {",
            f"      user: {json.dumps(u.name)}",
            f"      password: {json.dumps(u.password_hash)}",
            "      permissions: {",
            f"        publish: {{ allow: {strings(p.publish_allow)}, deny: {strings(p.publish_deny)} }}",
            f"        subscribe: {{ allow: {strings(p.subscribe_allow)}, deny: {strings(p.subscribe_deny)} }}",
        ]
        if p.allow_responses:
            lines.append("        allow_responses: true")
        lines += ["      }", "    }"]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
