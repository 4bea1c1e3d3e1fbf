"""Prometheus metrics, defined once per process."""

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("onestop_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "onestop_http_request_seconds", "HTTP request latency", ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_PUBLISHED = Counter("onestop_outbox_published_total", "Outbox events published", ["service"])
EVENTS_APPLIED = Counter("onestop_events_applied_total", "Inbound events applied", ["consumer", "type"])
EVENTS_PARKED = Counter("onestop_events_parked_total", "Inbound events parked as never applicable",
                        ["consumer", "type"])
PARKED_OPEN = Gauge("onestop_parked_events", "Inbound events parked or waiting behind a parked one, now",
                    ["consumer", "state"])
EVENTS_RETRIED = Counter("onestop_event_attempts_failed_total", "Failed attempts to apply an inbound event",
                         ["consumer", "kind"])
OUTBOX_PARKED = Counter("onestop_outbox_parked_total", "Outbox rows parked as never publishable", ["service"])
OUTBOX_PARKED_NOW = Gauge("onestop_outbox_parked_rows", "Outbox rows parked (never publishable), now", ["service"])
EVENTS_UNREADABLE = Counter("onestop_events_unreadable_total", "Inbound messages that are not an envelope (dropped)",
                            ["consumer"])
CONSUMER_RESTARTS = Counter("onestop_consumer_restarts_total", "Consumer tasks restarted after dying", ["consumer"])


class RequestMetrics:
    """One service's HTTP request count and latency per (method, route template, status): never per raw
    path, so ids stay out of the series."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labels() costs a lookup and a lock

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        pair = self._children.get(key)
        if pair is None:
            pair = self._children[key] = (HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                                          HTTP_LATENCY.labels(self.service, route))
        pair[0].inc()
        pair[1].observe(seconds)
