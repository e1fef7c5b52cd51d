"""The polling policy and loop, on a fake clock (no real sleeping)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from feeds_kit.waiter import (
    Sleeping,
    SlowDetected,
    StatusSeen,
    Waiter,
    WaitEvent,
    WaitTimeoutError,
)


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def waiter(fake: FakeTime, rng_value: float = 0.5, **policy: Any) -> Waiter:
    return Waiter(clock=fake.clock, sleep=fake.sleep, rng=lambda: rng_value, **policy)


def scripted(statuses: dict[str, list[str]]) -> tuple[dict[str, int], Callable[[str], str]]:
    calls: dict[str, int] = {k: 0 for k in statuses}
    iters: dict[str, Iterator[str]] = {k: iter(v) for k, v in statuses.items()}
    last: dict[str, str] = {}

    def poll(key: str) -> str:
        calls[key] += 1
        last[key] = next(iters[key], last.get(key, "IN_QUEUE"))
        return last[key]

    return calls, poll


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(0, 5.0), (1, 7.5), (2, 11.25), (3, 16.875), (8, 120.0), (500, 120.0)],
)
def test_base_delay_grows_and_is_capped(attempt: int, expected: float) -> None:
    assert Waiter().base_delay(attempt) == pytest.approx(expected)


@pytest.mark.parametrize(("rng", "expected"), [(0.0, 4.0), (0.5, 5.0), (1.0, 6.0)])
def test_jitter_spreads_by_fraction(rng: float, expected: float) -> None:
    fake = FakeTime()
    assert waiter(fake, rng).next_delay(0) == pytest.approx(expected)


def test_schedule_is_the_first_delays() -> None:
    fake = FakeTime()
    assert list(waiter(fake, 0.5, delay=2, multiplier=2, max_delay=10).schedule(5)) == [
        2, 4, 8, 10, 10]


@pytest.mark.parametrize(
    "policy",
    [{"delay": 0}, {"delay": 10, "max_delay": 5}, {"multiplier": 0.5}, {"jitter": 1.0},
     {"max_wait": -1}],
)
def test_invalid_policies_are_refused(policy: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Waiter(**policy)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("DONE", "success"), ("FATAL", "failure"), ("CANCELLED", "failure"),
     ("IN_QUEUE", "pending"), ("IN_PROGRESS", "pending"), (None, "pending")],
)
def test_verdicts(status: str | None, verdict: str) -> None:
    assert Waiter().verdict(status) == verdict


def test_waits_until_every_key_is_terminal() -> None:
    fake = FakeTime()
    calls, poll = scripted({
        "F1": ["IN_QUEUE", "IN_PROGRESS", "DONE"],
        "F2": ["IN_PROGRESS", "FATAL"],
    })
    events: list[WaitEvent] = []
    result = waiter(fake).wait(["F1", "F2"], poll, on_event=events.append)
    assert result == {"F1": "DONE", "F2": "FATAL"}
    assert calls == {"F1": 3, "F2": 2}
    assert fake.sleeps == [5.0, 7.5]
    assert [(e.key, e.previous, e.status) for e in events if isinstance(e, StatusSeen)] == [
        ("F1", None, "IN_QUEUE"), ("F2", None, "IN_PROGRESS"),
        ("F1", "IN_QUEUE", "IN_PROGRESS"), ("F2", "IN_PROGRESS", "FATAL"),
        ("F1", "IN_PROGRESS", "DONE"),
    ]
    sleeping = [e for e in events if isinstance(e, Sleeping)]
    assert [(e.pending, e.delay, e.elapsed) for e in sleeping] == [
        (("F1", "F2"), 5.0, 0.0), (("F1",), 7.5, 5.0)]
    assert sleeping[0].remaining == 3600.0


def test_known_terminal_keys_are_not_polled_and_known_status_is_not_reported() -> None:
    fake = FakeTime()
    calls, poll = scripted({"F1": ["DONE"], "F2": ["IN_QUEUE", "DONE"]})
    events: list[WaitEvent] = []
    result = waiter(fake).wait(["F1", "F2"], poll, known={"F1": "DONE", "F2": "IN_QUEUE"},
                               on_event=events.append)
    assert result == {"F1": "DONE", "F2": "DONE"}
    assert calls == {"F1": 0, "F2": 2}
    assert [(e.key, e.status) for e in events if isinstance(e, StatusSeen)] == [("F2", "DONE")]


def test_timeout_raises_with_the_pending_keys_and_never_oversleeps() -> None:
    fake = FakeTime()
    _, poll = scripted({"F1": ["IN_PROGRESS"]})
    with pytest.raises(WaitTimeoutError) as caught:
        waiter(fake, max_wait=20).wait(["F1"], poll)
    # 5 + 7.5 = 12.5, then only the 7.5 s left of max_wait
    assert fake.sleeps == [5.0, 7.5, 7.5]
    assert caught.value.context["pending"] == {"F1": "IN_PROGRESS"}
    assert str(caught.value) == (
        "1 feed(s) still processing after 20 s of waiting; they continue at Amazon — wait "
        "again later to collect the result"
    )
    assert caught.value.exit_code == 3


def test_slow_feed_is_flagged_once_per_status() -> None:
    fake = FakeTime()
    statuses = ["IN_QUEUE"] * 6 + ["IN_PROGRESS"] * 3 + ["DONE"]
    _, poll = scripted({"F1": statuses})
    events: list[WaitEvent] = []
    waiter(fake, delay=10, max_delay=10, multiplier=1, jitter=0,
           slow_after={"IN_QUEUE": 25, "IN_PROGRESS": 100}).wait(
        ["F1"], poll, on_event=events.append)
    slow = [e for e in events if isinstance(e, SlowDetected)]
    assert [(e.key, e.status, e.duration, e.threshold) for e in slow] == [
        ("F1", "IN_QUEUE", 30.0, 25.0)]


def test_slowness_counts_from_the_recorded_start_when_resumed() -> None:
    fake = FakeTime()
    _, poll = scripted({"F1": ["IN_PROGRESS", "DONE"]})
    events: list[WaitEvent] = []
    waiter(fake).wait(["F1"], poll, known={"F1": "IN_PROGRESS"},
                      since={"F1": fake.now - 2000}, on_event=events.append)
    slow = [e for e in events if isinstance(e, SlowDetected)]
    assert [(e.status, e.duration) for e in slow] == [("IN_PROGRESS", 2000.0)]


def test_interrupt_propagates_and_a_new_wait_resumes() -> None:
    fake = FakeTime()
    seen: list[str] = []

    def poll(key: str) -> str:
        seen.append(key)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return "IN_PROGRESS" if len(seen) < 3 else "DONE"

    w = waiter(fake)
    with pytest.raises(KeyboardInterrupt):
        w.wait(["F1"], poll)
    assert w.wait(["F1"], poll, known={"F1": "IN_PROGRESS"}) == {"F1": "DONE"}
    assert seen == ["F1", "F1", "F1"]
