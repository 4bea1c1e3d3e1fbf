"""Event models: the CloudEvents envelope, the subject builder, and each stream's payloads."""

from onestop.contracts.events.base import Envelope, EventPayload, region_tokens, stream_name, subject

__all__ = ["Envelope", "EventPayload", "region_tokens", "stream_name", "subject"]
