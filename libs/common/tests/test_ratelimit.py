"""The per-token rate limit's bucket, on a fake clock."""

from __future__ import annotations

import pytest

from onestop.common.auth import Principal
from onestop.common.ratelimit import RateLimiter, TooManyRequests
from onestop.contracts.enums import Role


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_then_the_rate_with_the_wait_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=30, burst=2, clock=clock)  # one request every 2 s
    h1 = Principal("hospital:H1", Role.hospital, hospital_code="H1")
    limiter.check(h1)
    limiter.check(h1)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check(h1)
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "2"}
    clock.t += 1.0
    with pytest.raises(TooManyRequests) as again:
        limiter.check(h1)
    assert again.value.headers == {"Retry-After": "1"}  # half a token has come back
    clock.t += 1.0
    limiter.check(h1)
    # another token's bucket is its own
    limiter.check(Principal("hospital:H2", Role.hospital, hospital_code="H2"))


@pytest.mark.parametrize("role", [Role.operator, Role.service, Role.payer, Role.credit_feed])
def test_roles_other_than_hospital_and_bureau_are_not_counted(role: Role) -> None:
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    for _ in range(10):
        limiter.check(Principal(f"{role.value}:x", role))


def test_zero_is_no_limit() -> None:
    limiter = RateLimiter(per_minute=0, burst=1, clock=Clock())
    for _ in range(10):
        limiter.check(Principal("bureau:x", Role.bureau, region_code="150222"))
