"""Prometheus metrics, defined once per process."""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("onestop_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "onestop_http_request_seconds", "HTTP request latency", ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_PUBLISHED = Counter("onestop_outbox_published_total", "Outbox events published", ["service"])
EVENTS_APPLIED = Counter("onestop_events_applied_total", "Inbound events applied", ["consumer", "type"])
