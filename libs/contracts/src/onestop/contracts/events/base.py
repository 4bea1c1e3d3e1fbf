"""CloudEvents 1.0 envelope and the subject scheme of DESIGN §6.

Subjects: onestop.<owner>.<entity>.<verb>[.<routing>…], the region as three tokens
province.city.county so a province subscribes with one wildcard (`onestop.ledger.>` filtered by
`*.*.*.*.410000.>`). A region above county level pads the lower tokens with its own code:
410000 → 410000.410000.410000, 411200 → 410000.411200.411200.
"""

from __future__ import annotations

import re
import types
import typing
import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

_REGION = re.compile(r"^\d{6}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


def region_tokens(region_code: str) -> list[str]:
    """'411203' -> ['410000', '411200', '411203']."""
    if not _REGION.match(region_code):
        raise ValueError("region_code must be 6 digits")
    province = region_code[:2] + "0000"
    city = region_code[:4] + "00" if region_code[2:4] != "00" else province
    county = region_code if region_code[4:] != "00" else city
    return [province, city, county]


def subject(owner: str, entity: str, verb: str, *routing: str) -> str:
    """Build a NATS subject; every token is checked so no wildcard or dot sneaks in."""
    tokens = ["onestop", owner, *entity.split("."), verb, *routing]
    for t in tokens:
        if not _TOKEN.match(t):
            raise ValueError(f"bad subject token {t!r}")
    return ".".join(tokens)


def stream_name(owner: str) -> str:
    """One stream per owning service: ONESTOP_LEDGER on onestop.ledger.>."""
    return f"ONESTOP_{owner.upper()}"


class EventPayload(BaseModel):
    """Base of every event payload: frozen, closed, with a versioned `type` literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: ClassVar[str]
    entity: ClassVar[str]
    verb: ClassVar[str]

    type: str

    def routing(self) -> list[str]:
        """Routing tokens after the verb; subclasses override (region, payer …)."""
        return []

    def nats_subject(self) -> str:
        return subject(self.owner, self.entity, self.verb, *self.routing())

    def entity_id(self) -> str:
        """CloudEvents `subject`: the id of the entity the event is about."""
        return ""

    @classmethod
    def read(cls, data: Any) -> Self:
        """A consumer's parse: fields that a newer minor version of the payload added are ignored, at every
        depth, and everything this version knows is validated as strictly as the producer's model does.
        (Producers build the model itself, `extra="forbid"`; a breaking change is a new `type` version.)"""
        return cls.model_validate(_known_fields(cls, data))


def _known_fields(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    names = {f.alias or n: f for n, f in model.model_fields.items()} | dict(model.model_fields)
    return {k: _known_values(names[k].annotation, v) for k, v in data.items() if k in names}


def _known_values(tp: Any, value: Any) -> Any:
    """Strip unknown fields from the nested models `tp` names (models, lists, dicts and optionals of them);
    a union of several models is left to the model's own validation."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _known_values(args[0], value)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _known_fields(tp, value)
    if origin in (list, tuple, set, frozenset) and isinstance(value, list) and args:
        return [_known_values(args[0], v) for v in value]
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return {k: _known_values(args[1], v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return _known_values(members[0], value)
    return value


class Envelope(BaseModel):
    """CloudEvents 1.0 structured JSON; `id` is also the Nats-Msg-Id, so JetStream drops duplicates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str = ""
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    @classmethod
    def read(cls, data: Any) -> Envelope:
        """A consumer's parse: CloudEvents extension attributes it does not know (`traceparent` …) are ignored."""
        return cls.model_validate(_known_fields(cls, data))

    @classmethod
    def wrap(cls, payload: EventPayload, *, source: str, time: datetime, event_id: str | None = None) -> Envelope:
        return cls(
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=payload.type,
            subject=payload.entity_id(),
            time=time,
            data=payload.model_dump(mode="json"),
        )
