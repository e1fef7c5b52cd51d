"""Polling described as data: how often to ask ``getFeed``, for how long, and what the answers mean.

Modelled on botocore's waiters: a :class:`Waiter` is a small frozen policy (first delay, growth,
cap, jitter, overall limit, success and failure states, "slow" thresholds) plus one generic loop,
:meth:`Waiter.wait`, that polls any number of feeds together until each one reaches a terminal
state. The loop knows nothing about HTTP or the journal: the caller passes a ``poll`` function and
receives :class:`WaitEvent` values, so the same policy serves ``submit --wait``, ``status --wait``
and ``resume``. Sleep, clock and randomness are fields, so tests run on a fake clock.

Interrupting the loop (Ctrl-C) is safe by construction: the loop holds no state worth keeping;
whatever the caller recorded after each poll stays recorded, and waiting again simply resumes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from feeds_kit.errors import FeedsKitError

Verdict = Literal["success", "failure", "pending"]


class WaitTimeoutError(FeedsKitError):
    """Feeds were still processing when the waiter's ``max_wait`` ran out.

    Nothing is lost: the feeds keep processing at Amazon and waiting can be resumed
    (``feeds-kit status ID --wait``). Context: ``pending`` (key -> last status), ``waited``.
    """


@dataclass(frozen=True, slots=True)
class StatusSeen:
    """A poll answered: ``key``'s status is now ``status`` (``previous`` before, if known)."""

    key: str
    status: str
    previous: str | None
    elapsed: float


@dataclass(frozen=True, slots=True)
class Sleeping:
    """The waiter is about to sleep ``delay`` seconds with ``pending`` keys still unfinished.

    ``elapsed`` is the time waited so far in this call and ``remaining`` what is left of
    ``max_wait``; a progress display shows "next check in 12 s".
    """

    pending: tuple[str, ...]
    delay: float
    elapsed: float
    remaining: float


@dataclass(frozen=True, slots=True)
class SlowDetected:
    """``key`` has been ``status`` for ``duration`` seconds, longer than usual (once per status)."""

    key: str
    status: str
    duration: float
    threshold: float


WaitEvent = StatusSeen | Sleeping | SlowDetected


def _default_slow_after() -> Mapping[str, float]:
    return MappingProxyType({"IN_QUEUE": 900.0, "IN_PROGRESS": 1800.0})


@dataclass(frozen=True)
class Waiter:
    """A polling policy for feed processing statuses.

    The n-th delay (0-based) is ``min(max_delay, delay * multiplier**n)``, then spread by
    ``±jitter`` (a fraction) so many clients do not poll in lockstep, and never beyond what is
    left of ``max_wait``. ``success`` and ``failure`` are the terminal statuses; everything else
    is pending. ``slow_after`` maps a pending status to the seconds after which a feed in it is
    flagged as slower than usual (Amazon queues feeds per seller, so a long IN_QUEUE is often a
    previous feed still running).
    """

    delay: float = 5.0
    max_delay: float = 120.0
    multiplier: float = 1.5
    jitter: float = 0.2
    max_wait: float = 3600.0
    success: tuple[str, ...] = ("DONE",)
    failure: tuple[str, ...] = ("FATAL", "CANCELLED")
    slow_after: Mapping[str, float] = field(default_factory=_default_slow_after)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.delay <= 0 or self.max_delay < self.delay:
            raise ValueError("need 0 < delay <= max_delay")
        if self.multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.max_wait < 0:
            raise ValueError("max_wait must be >= 0")

    # -- the policy -------------------------------------------------------------------------

    def verdict(self, status: str | None) -> Verdict:
        """``success``, ``failure`` or ``pending`` for a ``processingStatus``."""
        if status in self.success:
            return "success"
        if status in self.failure:
            return "failure"
        return "pending"

    def is_terminal(self, status: str | None) -> bool:
        """True when ``status`` ends the wait (success or failure)."""
        return self.verdict(status) != "pending"

    def base_delay(self, attempt: int) -> float:
        """The un-jittered delay before poll ``attempt + 1`` (``attempt`` is 0-based)."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        # Cap the exponent so large attempt counts cannot overflow a float.
        growth = self.multiplier ** min(attempt, 200)
        return min(self.max_delay, self.delay * growth)

    def next_delay(self, attempt: int) -> float:
        """The delay before poll ``attempt + 1``, jittered by ``±jitter`` using ``rng``."""
        base = self.base_delay(attempt)
        spread = base * self.jitter * (2 * self.rng() - 1)
        return max(0.0, base + spread)

    def schedule(self, attempts: int) -> Iterator[float]:
        """The first ``attempts`` jittered delays (for ETAs and tests)."""
        for attempt in range(attempts):
            yield self.next_delay(attempt)

    def slow_threshold(self, status: str) -> float | None:
        """Seconds after which a feed in ``status`` counts as slow, if such a limit is set."""
        value = self.slow_after.get(status)
        return None if value is None else float(value)

    # -- the loop ---------------------------------------------------------------------------

    def wait(
        self,
        keys: Sequence[str],
        poll: Callable[[str], str],
        *,
        known: Mapping[str, str | None] | None = None,
        since: Mapping[str, float] | None = None,
        on_event: Callable[[WaitEvent], None] | None = None,
    ) -> dict[str, str]:
        """Poll every key until each is terminal; return key -> final status.

        ``poll(key)`` returns the current ``processingStatus`` (it may record it durably before
        returning). ``known`` gives the last status recorded for each key (a status change is
        reported relative to it) and ``since`` the clock time each key entered that status, so
        a wait resumed after a restart still measures "slow" from the real start. Keys already
        terminal in ``known`` are not polled again.

        Raises :class:`WaitTimeoutError` when ``max_wait`` runs out first. Exceptions from
        ``poll`` (and ``KeyboardInterrupt``) propagate unchanged.
        """
        emit = on_event or (lambda event: None)
        last: dict[str, str | None] = {k: (known or {}).get(k) for k in keys}
        entered: dict[str, float] = {}
        flagged: set[tuple[str, str]] = set()
        start = self.clock()
        for key in keys:
            if since and key in since:
                entered[key] = since[key]
        pending = [k for k in keys if not self.is_terminal(last[k])]
        attempt = 0
        while pending:
            for key in list(pending):
                status = poll(key)
                now = self.clock()
                if status != last[key]:
                    emit(StatusSeen(key, status, last[key], now - start))
                    last[key] = status
                    entered[key] = now
                if self.is_terminal(status):
                    pending.remove(key)
                    continue
                threshold = self.slow_threshold(status)
                duration = now - entered.setdefault(key, now)
                if (
                    threshold is not None
                    and duration >= threshold
                    and (key, status) not in flagged
                ):
                    flagged.add((key, status))
                    emit(SlowDetected(key, status, duration, threshold))
            if not pending:
                break
            elapsed = self.clock() - start
            remaining = self.max_wait - elapsed
            if remaining <= 0:
                waited = round(elapsed)
                raise WaitTimeoutError(
                    f"{len(pending)} feed(s) still processing after {waited} s of waiting; "
                    "they continue at Amazon — wait again later to collect the result",
                    pending={k: last[k] for k in pending},
                    waited=elapsed,
                )
            delay = min(self.next_delay(attempt), remaining)
            emit(Sleeping(tuple(pending), delay, elapsed, remaining))
            self.sleep(delay)
            attempt += 1
        return {k: str(last[k]) for k in keys}
