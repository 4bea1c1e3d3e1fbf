"""JSON logs through structlog, with processors that remove ID numbers and names.

Every log line of a service goes one way: structlog's own events and the standard library's records
(uvicorn's `uvicorn`, `uvicorn.error` and `uvicorn.access`, sqlalchemy, nats) are rendered by the same
`ProcessorFormatter` on stdout, after the redaction. What the redaction cannot recognise it must not be
given: a traceback keeps its frames and exception classes but not the exceptions' messages (a message
may quote the input, `invalid literal for int(): '张三'`), and an access line keeps a request's path
and the names of its query parameters, never their values nor a path segment that is not plain ASCII.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import structlog

# 18-digit resident ID numbers (last may be X) and legacy 15-digit ones, standing alone.
_ID_RE = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?!\d)")
_SENSITIVE_KEYS = {"id_number", "name", "guardian_name", "signer", "patient_name", "person_name", "id_no"}
REDACTED = "[redacted]"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# a path segment with anything but unreserved ASCII (a name, percent-encoded or not)
_ODD_SEGMENT_RE = re.compile(r"[^/]*(?:[^\x21-\x7e]|%[0-9A-Fa-f]{2})[^/]*")


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


def redacted_path(path: str) -> str:
    """A request target fit for a log or an answer: query values, non-ASCII path segments and anything
    shaped like an ID number replaced."""
    path, _, query = path.partition("?")
    path = _ID_RE.sub(REDACTED, _ODD_SEGMENT_RE.sub(REDACTED, path))
    if query:
        names = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)})
        path += "?" + "&".join(f"{_ODD_SEGMENT_RE.sub(REDACTED, n)}={REDACTED}" for n in names)
    return path


def render_exception(exc: BaseException) -> str:
    """A traceback with its frames and exception classes, and no exception's message."""
    chain: list[tuple[BaseException, str]] = []  # outermost first, each with how it follows the one before
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            link, current = _CAUSE, current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link, current = _CONTEXT, current.__context__
        else:
            current = None
    parts: list[str] = []
    for current, link in reversed(chain):  # as Python prints them: the first cause first
        kind = type(current)
        parts += ["Traceback (most recent call last):\n",
                  *traceback.format_list(traceback.extract_tb(current.__traceback__)),
                  f"{kind.__module__}.{kind.__qualname__}: [message not logged]\n", link]
    return "".join(parts).rstrip("\n")


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def exception_without_messages(_l: Any, _m: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor replacing `format_exc_info`: the traceback, without what the messages quote."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        event_dict["exception"] = render_exception(exc_info)
    elif isinstance(exc_info, tuple) and exc_info[1] is not None:
        event_dict["exception"] = render_exception(exc_info[1])
    event_dict.pop("stack_info", None)
    return event_dict


def _access_line(_l: Any, _m: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """uvicorn's access record (client, method, path, version, status) with the path redacted."""
    args = event_dict.pop("positional_args", None)  # a stdlib record's arguments, already in `event`
    record = event_dict.get("_record")
    if record is not None and record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        client, method, path, version, status = args
        event_dict.update(event="http_request", client=client, method=method, path=redacted_path(str(path)),
                          http_version=version, status=status)
    return event_dict


def _processors(service: str) -> list[Any]:
    def add_service(_l: Any, _m: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _access_line,
        exception_without_messages,
        redact_pii,
    ]


def json_handler(log_level: str = "INFO", service: str = "onestop") -> logging.Handler:
    """The one stdout handler every record goes through; configures structlog to feed it too.

    Named in `uvicorn_log_config` so that uvicorn's worker processes build it when they start."""
    shared = _processors(service)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(log_level.upper())),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        pass_foreign_args=True,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_pii,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    return handler


def _route_uvicorn_to_root() -> None:
    # uvicorn's default config gives its loggers handlers of their own (plain text on stderr) and stops
    # them propagating. A logger without handlers that does not propagate is uvicorn's access log turned
    # off (uvicorn decides per connection by `hasHandlers()`): left off.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if logger.handlers:
            logger.handlers.clear()
            logger.propagate = True


def configure_logging(level: str = "INFO", service: str = "onestop") -> None:
    """JSON lines on stdout; stdlib loggers (uvicorn, sqlalchemy) go through the same redaction."""
    root = logging.getLogger()
    root.handlers[:] = [json_handler(log_level=level, service=service)]
    root.setLevel(level.upper())
    _route_uvicorn_to_root()


def uvicorn_log_config(level: str, service: str) -> dict[str, Any]:
    """`uvicorn.run(log_config=...)`: uvicorn's records, in every worker, through `json_handler`."""
    quiet = max(logging.WARNING, logging.getLevelName(level.upper()))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": {"()": "onestop.common.logging.json_handler", "log_level": level,
                              "service": service}},
        "root": {"handlers": ["json"], "level": level.upper()},
        "loggers": {
            # uvicorn's info lines (started, waiting for startup) are noise; its warnings and errors are not
            "uvicorn": {"handlers": [], "propagate": True, "level": logging.getLevelName(quiet)},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.asgi": {"handlers": [], "propagate": True},
            # when the access log is on (ONESTOP_ACCESS_LOG), each request is an info line
            "uvicorn.access": {"handlers": [], "propagate": True, "level": "INFO"},
        },
    }
