"""Dates: every date without a zone is Asia/Shanghai (DESIGN §5)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, zone-aware, in Asia/Shanghai."""
    return datetime.now(TZ)


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return now().date()


def as_shanghai(value: datetime) -> datetime:
    """A naive datetime is taken as Asia/Shanghai; an aware one is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=TZ)
    return value.astimezone(TZ)
