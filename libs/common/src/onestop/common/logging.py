"""JSON logs through structlog, with a processor that removes ID numbers and names."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# 18-digit resident ID numbers (last may be X) and legacy 15-digit ones, standing alone.
_ID_RE = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?!\d)")
_SENSITIVE_KEYS = {"id_number", "name", "guardian_name", "signer", "patient_name", "person_name", "id_no"}
REDACTED = "[redacted]"


def redact_value(value: Any) -> Any:
    """Mask anything that looks like an ID number inside strings, lists and dicts."""
    if isinstance(value, str):
        return _ID_RE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: (REDACTED if k in _SENSITIVE_KEYS else redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def redact_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: personal data never reaches a log line."""
    return {k: (REDACTED if k in _SENSITIVE_KEYS else redact_value(v)) for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", service: str = "onestop") -> None:
    """JSON lines on stdout; stdlib loggers (uvicorn, sqlalchemy) go through the same redaction."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_pii,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _stdlib_message_redact,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)


def _stdlib_message_redact(_l: Any, _m: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return redact_pii(_l, _m, event_dict)
