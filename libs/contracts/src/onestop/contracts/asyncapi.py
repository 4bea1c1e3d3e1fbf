"""Generate the AsyncAPI 3.0 document of every event from the event models (`make asyncapi`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from onestop.contracts.events import clearing, identity, ledger, rules
from onestop.contracts.events.base import EventPayload, stream_name

EVENT_MODULES = [rules, identity, ledger, clearing]


def event_classes() -> list[type[EventPayload]]:
    out: list[type[EventPayload]] = []
    for module in EVENT_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, EventPayload) and value is not EventPayload:
                if hasattr(value, "owner") and "owner" in value.__dict__:
                    out.append(value)
    return out


def _channel_address(cls: type[EventPayload]) -> tuple[str, dict[str, Any]]:
    sample_routing = {
        "rules": ["{province}", "{city}", "{county}"],
        "ledger": ["{province}", "{city}", "{county}"],
    }
    routing = sample_routing.get(cls.owner, ["{province}", "{city}", "{county}"])
    if cls.__name__ == "ImportCompleted":
        routing = ["{source}", *routing]
    address = ".".join(["onestop", cls.owner, cls.entity, cls.verb, *routing])
    params = {p.strip("{}"): {"description": _PARAM_DOC.get(p.strip("{}"), "")} for p in routing}
    return address, params


_PARAM_DOC = {
    "province": "province code, e.g. 410000",
    "city": "city code, e.g. 411200 (a province-level region repeats its own code)",
    "county": "county code, e.g. 411203 (a city-level region repeats its own code)",
    "source": "register source: poverty_office, civil_affairs, disabled_federation, insurance",
    "payer": "payer id, e.g. basic",
}


def build() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in event_classes():
        type_literal = cls.model_fields["type"].default
        name = type_literal.replace(".", "_")
        address, params = _channel_address(cls)
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = schema.pop("$defs", {})
        messages[name] = {
            "name": type_literal,
            "title": cls.__doc__.strip().splitlines()[0] if cls.__doc__ else type_literal,
            "contentType": "application/json",
            "summary": f"CloudEvents 1.0 envelope (type {type_literal}); its `data` is this payload. "
                       f"Stream {stream_name(cls.owner)}; Nats-Msg-Id = event id.",
            "payload": schema,
        }
        for dname, d in defs.items():
            messages.setdefault("__schemas__", {})[dname] = d
        channels[name] = {"address": address, "parameters": params,
                          "messages": {name: {"$ref": f"#/components/messages/{name}"}}}
        operations[f"publish_{name}"] = {"action": "send", "channel": {"$ref": f"#/channels/{name}"}}
    schemas = messages.pop("__schemas__", {})
    _add_rpc(channels, operations, messages, schemas)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "onestop events",
            "version": "1.0.0",
            "description": "Every state change of onestop, on NATS JetStream. One stream per owning service "
                           "(ONESTOP_RULES, ONESTOP_IDENTITY, ONESTOP_LEDGER, ONESTOP_CLEARING). Filter by region "
                           "with wildcards: a province subscribes to `onestop.ledger.>` with filter "
                           "`onestop.ledger.*.*.410000.>`. Apply each event once by its CloudEvents id.",
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _add_rpc(channels: dict[str, Any], operations: dict[str, Any], messages: dict[str, Any],
             schemas: dict[str, Any]) -> None:
    """Request/reply quotes (the ledger's path): core NATS under onestop.rpc.>, never in a stream."""
    from onestop.contracts.quote import QuoteRequest, QuoteResult

    for name, model in (("rpc_rules_quote_request", QuoteRequest), ("rpc_rules_quote_reply", QuoteResult)):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        messages[name] = {"name": name, "contentType": "application/json", "payload": schema}
    messages["rpc_rules_quote_reply"]["summary"] = (
        'The reply is {"ok": true, "result": <this>} or {"ok": false, "problem": <RFC 9457 body>}.')
    channels["rpc_rules_quote"] = {
        "address": "onestop.rpc.rules.quote",
        "description": "Quote a bill by request/reply (queue group `rules`). No stream captures onestop.rpc.>, "
                       "so the personal facts in a request are never stored.",
        "messages": {"request": {"$ref": "#/components/messages/rpc_rules_quote_request"},
                     "reply": {"$ref": "#/components/messages/rpc_rules_quote_reply"}},
    }
    operations["quote"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/rpc_rules_quote"},
        "messages": [{"$ref": "#/channels/rpc_rules_quote/messages/request"}],
        "reply": {"channel": {"$ref": "#/channels/rpc_rules_quote"},
                  "messages": [{"$ref": "#/channels/rpc_rules_quote/messages/reply"}]},
    }


def main() -> None:
    json.dump(build(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
