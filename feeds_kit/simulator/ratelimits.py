"""Amazon's usage plans: a token bucket per operation and application-seller pair.

Rates and bursts are the documented defaults (spapi-facts §1.2, §2.3, §4.1); ``speed``
multiplies the refill rate so a test at speed 100 sees the same shape a hundred times faster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """Requests per second and bucket size of one operation."""

    rate: float
    burst: int


#: Default usage plans by operation (facts §1.2 and the PTD model).
USAGE_PLANS: dict[str, UsagePlan] = {
    "getFeeds": UsagePlan(0.0222, 10),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "cancelFeed": UsagePlan(2.0, 15),
    "createFeedDocument": UsagePlan(0.5, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    "getDefinitionsProductType": UsagePlan(5.0, 10),
    "searchDefinitionsProductTypes": UsagePlan(5.0, 10),
}

#: JSON_LISTINGS_FEED submissions: five per five minutes per seller (facts §2.3).
LISTINGS_FEED_PLAN = UsagePlan(5 / 300, 5)


class TokenBucket:
    """A bucket that starts full, refills at ``rate`` tokens a second, holds ``burst``."""

    def __init__(self, plan: UsagePlan, clock: Callable[[], float], speed: float = 1.0) -> None:
        self.rate = plan.rate * speed
        self.burst = plan.burst
        self._clock = clock
        self._tokens = float(plan.burst)
        self._stamp = clock()

    def take(self) -> bool:
        """Take one token; ``False`` (nothing taken) when the bucket is empty."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RateLimiter:
    """Token buckets by (operation, key), created on first use. Thread-safe."""

    def __init__(self, clock: Callable[[], float], speed: float = 1.0) -> None:
        self._clock = clock
        self._speed = speed
        self._buckets: dict[tuple[str, Hashable], TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, name: str, key: Hashable, plan: UsagePlan | None = None) -> bool:
        """Take a token for ``name`` (an operation or a budget) and ``key`` (who calls)."""
        plan = plan or USAGE_PLANS[name]
        with self._lock:
            bucket = self._buckets.get((name, key))
            if bucket is None:
                bucket = self._buckets[(name, key)] = TokenBucket(plan, self._clock, self._speed)
            return bucket.take()

    def header_value(self, operation: str) -> str:
        """The ``x-amzn-RateLimit-Limit`` value: the operation's effective rate per second."""
        rate = USAGE_PLANS[operation].rate * self._speed
        return repr(round(rate, 6))
