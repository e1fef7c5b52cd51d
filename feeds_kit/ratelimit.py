"""Being polite to Amazon: per-operation token buckets and the JSON_LISTINGS_FEED budget.

SP-API throttles with token buckets per application and selling partner: ``rate`` tokens a second
refill a bucket of ``burst`` tokens, each call takes one (spapi-facts §1.2, §5.6). We keep the same
buckets on our side, seeded with the documented numbers and corrected from the
``x-amzn-RateLimit-Limit`` header when Amazon sends one, so we wait *before* Amazon has to answer
429. ``createFeed`` of ``JSON_LISTINGS_FEED`` has its own, stricter budget: 5 submissions per
5 minutes per region (facts §2.3), a sliding window here.

The window can be kept in a small JSON file (``state_file``, under ``FEEDS_KIT_HOME``) so separate
processes — two terminals, a cron job — share the budget. Clock and sleep are injectable; all
methods are thread-safe.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

try:  # POSIX: serialise the read-check-write of the shared window between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows keeps the budget per process only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("feeds_kit.ratelimit")

#: Below this, a wait is float noise, not a reason to sleep again.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Limit:
    """A token bucket's shape: ``rate`` tokens per second, at most ``burst`` tokens."""

    rate: float
    burst: int


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``submissions`` per ``window`` seconds (a sliding window)."""

    submissions: int
    window: float


#: Default usage plans (spapi-facts §1.2 for Feeds, §4.1 for Product Type Definitions).
DEFAULT_LIMITS: dict[str, Limit] = {
    "getFeeds": Limit(0.0222, 10),
    "createFeed": Limit(0.0083, 15),
    "getFeed": Limit(2.0, 15),
    "cancelFeed": Limit(2.0, 15),
    "createFeedDocument": Limit(0.5, 15),
    "getFeedDocument": Limit(0.0222, 10),
    "getDefinitionsProductType": Limit(5.0, 10),
    "searchDefinitionsProductTypes": Limit(5.0, 10),
}

#: Feed types whose ``createFeed`` has its own per-region submission budget (facts §2.3).
FEED_TYPE_BUDGETS: dict[str, Budget] = {"JSON_LISTINGS_FEED": Budget(5, 300.0)}

#: The operation the feed-type budgets apply to.
SUBMIT_OPERATION = "createFeed"
#: Seconds added to every wait for a token, so a call made the moment our bucket refills is not
#: early for Amazon's (whose clock counts arrivals); small beside any documented interval.
DEFAULT_MARGIN = 0.05

_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class TokenBucket:
    """One operation's bucket. Not locked itself: :class:`RateLimiter` holds the lock."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.rate = float(limit.rate)
        self.burst = max(1, int(limit.burst))
        self.tokens = float(self.burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is there (0 when one is there now)."""
        self._refill(now)
        missing = 1.0 - self.tokens
        if missing <= _EPSILON:
            return 0.0
        return missing / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def drain(self, now: float) -> None:
        """Amazon said 429: its bucket is empty, so ours is too."""
        self._refill(now)
        self.tokens = min(self.tokens, 0.0)

    def set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self.rate = rate


class RateLimiter:
    """Token buckets per operation plus the per-region budgets of some feed types.

    ``acquire(operation)`` blocks (through ``sleep``) until the call may be made and takes its
    token; ``wait_time(operation)`` says how long that would take now, for ETAs. An operation
    without a known limit is not held back until Amazon's header tells its rate.

    ``state_file`` keeps the feed-type budget windows on disk (wall-clock times) so that
    processes share them; ``wall_clock`` converts between that file and ``clock``.
    """

    def __init__(
        self,
        limits: Mapping[str, Limit] | None = None,
        *,
        budgets: Mapping[str, Budget] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        state_file: Path | None = None,
        wall_clock: Callable[[], float] = time.time,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.limits: dict[str, Limit] = dict(DEFAULT_LIMITS if limits is None else limits)
        self.margin = margin
        self.budgets: dict[str, Budget] = dict(FEED_TYPE_BUDGETS if budgets is None else budgets)
        self.clock = clock
        self.sleep = sleep
        self.state_file = state_file
        self.wall_clock = wall_clock
        self._buckets: dict[str, TokenBucket] = {}
        # feed type -> region -> submission times (in ``clock`` units), oldest first
        self._windows: dict[str, dict[str, list[float]]] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- public API

    def limit(self, operation: str) -> Limit | None:
        """The limit in force for ``operation`` (documented, or as Amazon's header said)."""
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is not None:
                return Limit(bucket.rate, bucket.burst)
            return self.limits.get(operation)

    def wait_time(
        self, operation: str, *, feed_type: str | None = None, region: str | None = None
    ) -> float:
        """Seconds before ``operation`` could be called (0: now). Takes nothing."""
        with self._lock:
            now = self.clock()
            return self._wait(operation, feed_type, region, now, commit=False)

    def eta(
        self,
        operation: str,
        calls: int,
        *,
        feed_type: str | None = None,
        region: str | None = None,
    ) -> float:
        """Seconds before the last of ``calls`` more calls of ``operation`` could be made, if
        nothing else used the limits (an ETA for a progress line). Takes nothing."""
        if calls <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            bucket = self._bucket(operation, now)
            budget = self.budgets.get(feed_type or "") if operation == SUBMIT_OPERATION else None
            stamps: list[float] = []
            if budget is not None and feed_type is not None:
                with self._window_state(feed_type, region or "default", now) as recorded:
                    stamps = list(recorded)
            tokens, rate = (bucket.tokens, bucket.rate) if bucket is not None else (0.0, 0.0)
            if bucket is not None:
                tokens = min(float(bucket.burst), tokens + max(0.0, now - bucket.updated) * rate)
        # Simulate the calls one after the other on copies of the bucket and the window.
        at = now
        for _ in range(calls):
            wait = 0.0
            if bucket is not None and tokens < 1.0:
                wait = (1.0 - tokens) / rate
            if budget is not None:
                wait = max(wait, _window_wait(stamps, budget, at))
            at += wait
            if bucket is not None:
                tokens = min(float(bucket.burst), tokens + wait * rate) - 1.0
            stamps.append(at)
        return at - now

    def acquire(
        self, operation: str, *, feed_type: str | None = None, region: str | None = None
    ) -> float:
        """Wait until ``operation`` may be called and take its token; returns the seconds
        waited. For ``createFeed`` with a budgeted ``feed_type`` the submission is also counted
        in that region's window."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                wait = self._wait(operation, feed_type, region, now, commit=True)
            if wait <= 0:
                return waited
            # Amazon refills its bucket by arrival times, which jitter with the network: a call
            # sent the very moment our bucket refills may arrive a hair early for Amazon's.
            wait += self.margin
            log.debug("rate limit: %s waits %.1fs", operation, wait)
            self.sleep(wait)
            waited += wait

    def update_from_header(self, operation: str, value: str | None) -> None:
        """Adopt the rate from an ``x-amzn-RateLimit-Limit`` header (burst stays as it was)."""
        if not value:
            return
        match = _NUMBER.search(value)
        if match is None:
            return
        rate = float(match.group())
        if not math.isfinite(rate) or rate <= 0:
            return
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(operation)
            if bucket is None:
                known = self.limits.get(operation)
                burst = known.burst if known else max(1, math.ceil(rate))
                bucket = self._buckets[operation] = TokenBucket(Limit(rate, burst), now)
            if bucket.rate != rate:
                log.debug("rate limit: %s rate %.4g/s from Amazon", operation, rate)
                bucket.set_rate(rate, now)

    def throttled(self, operation: str) -> None:
        """Record a 429 for ``operation``: the next call waits for a fresh token."""
        with self._lock:
            now = self.clock()
            bucket = self._bucket(operation, now)
            if bucket is not None:
                bucket.drain(now)

    # ----------------------------------------------------------------- internals

    def _bucket(self, operation: str, now: float) -> TokenBucket | None:
        bucket = self._buckets.get(operation)
        if bucket is None:
            limit = self.limits.get(operation)
            if limit is None:
                return None
            bucket = self._buckets[operation] = TokenBucket(limit, now)
        return bucket

    def _wait(
        self,
        operation: str,
        feed_type: str | None,
        region: str | None,
        now: float,
        *,
        commit: bool,
    ) -> float:
        """Under ``self._lock``: the wait, or 0 after taking the token when ``commit``."""
        bucket = self._bucket(operation, now)
        bucket_wait = bucket.wait_time(now) if bucket is not None else 0.0
        budget = self.budgets.get(feed_type or "") if operation == SUBMIT_OPERATION else None
        if budget is None:
            if commit and bucket_wait <= 0 and bucket is not None:
                bucket.take(now)
            return bucket_wait
        key = region or "default"
        assert feed_type is not None
        with self._window_state(feed_type, key, now) as stamps:
            window_wait = _window_wait(stamps, budget, now)
            wait = max(bucket_wait, window_wait)
            if commit and wait <= 0:
                if bucket is not None:
                    bucket.take(now)
                stamps.append(now)
        return wait

    @contextlib.contextmanager
    def _window_state(self, feed_type: str, region: str, now: float) -> Iterator[list[float]]:
        """The submission times of ``feed_type`` in ``region``; changes made to the yielded
        list are kept (and written to ``state_file`` under an exclusive lock)."""
        budget = self.budgets[feed_type]
        if self.state_file is None:
            stamps = self._windows.setdefault(feed_type, {}).setdefault(region, [])
            stamps[:] = [t for t in stamps if t > now - budget.window]
            yield stamps
            return
        offset = self.wall_clock() - now
        with _locked(self.state_file) as fh:
            state = _read_state(fh)
            wall = state.setdefault(feed_type, {}).setdefault(region, [])
            stamps = sorted(t - offset for t in wall if t - offset > now - budget.window)
            before = list(stamps)
            yield stamps
            if stamps != before or len(wall) != len(before):
                state[feed_type][region] = [round(t + offset, 3) for t in stamps]
                _write_state(fh, state)


def _window_wait(stamps: list[float], budget: Budget, now: float) -> float:
    if len(stamps) < budget.submissions:
        return 0.0
    # The oldest of the last ``submissions`` stamps must leave the window first.
    wait = stamps[-budget.submissions] + budget.window - now
    return wait if wait > _EPSILON else 0.0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield fh
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read_state(fh: IO[str]) -> dict[str, dict[str, list[float]]]:
    fh.seek(0)
    text = fh.read()
    if not text.strip():
        return {}
    try:
        data: Any = json.loads(text)
    except ValueError:
        # A half-written file (crash mid-write) only loses the last few minutes of history.
        log.debug("rate limit state file unreadable; starting afresh")
        return {}
    windows = data.get("windows") if isinstance(data, dict) else None
    if not isinstance(windows, dict):
        return {}
    state: dict[str, dict[str, list[float]]] = {}
    for feed_type, regions in windows.items():
        if isinstance(regions, dict):
            state[str(feed_type)] = {
                str(region): [float(t) for t in times if isinstance(t, int | float)]
                for region, times in regions.items()
                if isinstance(times, list)
            }
    return state


def _write_state(fh: IO[str], state: Mapping[str, Mapping[str, list[float]]]) -> None:
    fh.seek(0)
    fh.truncate()
    json.dump({"version": 1, "windows": state}, fh, sort_keys=True)
    fh.flush()
    os.fsync(fh.fileno())
