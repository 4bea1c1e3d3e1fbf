"""A per-token rate limit, per process: a token bucket per caller, answered with 429 and Retry-After.

It is what keeps a hospital's or a bureau's token from walking the register (every eligibility answer
says whether an ID number is on it): `per_minute` requests a minute on average, `burst` at once. Each
replica counts on its own (no shared store), so N replicas allow N times the rate — the limit is set
for what one admission window or one bureau's screen can need, far below what scraping would. Roles
outside `limited` (service, operator, payer) are not counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection

from fastapi import Depends, Request
from starlette.types import Scope

from onestop.common.auth import CurrentPrincipal, Principal
from onestop.common.errors import Problem
from onestop.common.openapi import declares_problems
from onestop.contracts.enums import Role

_MAX_KEYS = 100_000  # buckets kept; full ones are dropped first (a full bucket is the same as none)


class TooManyRequests(Problem):
    kind, title, status = "too-many-requests", "Too many requests for this token", 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class RateLimiter:
    """Token buckets keyed by the caller's token; `check` raises TooManyRequests when one is empty."""

    def __init__(self, per_minute: int, burst: int, *, limited: Collection[Role] = (Role.hospital, Role.bureau),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = float(max(burst, 1))
        self.limited = frozenset(limited)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    @staticmethod
    def key(principal: Principal) -> str:
        """One bucket per token: its id where it has one, else its subject (one token per subject)."""
        jti = getattr(principal, "jti", None)
        return f"{principal.role.value}:{principal.subject}:{jti or ''}"

    def check(self, principal: Principal) -> None:
        """Take one request from the caller's bucket, or raise TooManyRequests with the wait in seconds."""
        if self.rate <= 0 or principal.role not in self.limited:
            return
        key, at = self.key(principal), self._clock()
        tokens, then = self._buckets.get(key, (self.burst, at))
        tokens = min(self.burst, tokens + (at - then) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, at)
            retry = max(1, math.ceil((1.0 - tokens) / self.rate))
            raise TooManyRequests(f"this token may send {round(self.rate * 60)} requests a minute; retry later",
                                  retry_after=retry)
        if len(self._buckets) >= _MAX_KEYS and key not in self._buckets:
            self._forget_full(at)
        self._buckets[key] = (tokens - 1.0, at)

    def _forget_full(self, at: float) -> None:
        full = [k for k, (tokens, then) in self._buckets.items() if tokens + (at - then) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= _MAX_KEYS:  # all busy: start over rather than grow without bound
            self._buckets.clear()


def limiter_of(runtime: object) -> RateLimiter | None:
    """The service's limiter, kept in its runtime's extras under `rate_limiter` (None: no limit)."""
    extras = getattr(runtime, "extras", None)
    limiter = extras.get("rate_limiter") if isinstance(extras, dict) else None
    return limiter if isinstance(limiter, RateLimiter) else None


_COUNTED = "rate_limit_counted"


def already_counted(scope: Scope) -> Scope:
    """The scope of a request the fast lane has counted and hands on to the app (which must not count it again)."""
    return {**scope, "state": {**scope.get("state", {}), _COUNTED: True}}


@declares_problems(429)
async def _rate_limited(request: Request, principal: CurrentPrincipal) -> None:
    if request.scope.get("state", {}).get(_COUNTED):
        return
    limiter = limiter_of(getattr(request.app.state, "runtime", None))
    if limiter is not None:
        limiter.check(principal)


# A router dependency: `APIRouter(dependencies=[RateLimited])` counts every request of its routes. The fast lane
# (fast_lane.py) counts the requests it answers itself, and marks those it hands back to the app.
RateLimited = Depends(_rate_limited)
