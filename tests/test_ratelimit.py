"""Token buckets, the JSON_LISTINGS_FEED window, header updates, threads, shared state."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from feeds_kit.ratelimit import DEFAULT_LIMITS, Budget, Limit, RateLimiter


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def limiter(clock: FakeClock, **kw) -> RateLimiter:
    # Exact bucket arithmetic: the safety margin is tested on its own below.
    kw.setdefault("margin", 0.0)
    return RateLimiter(clock=clock, sleep=clock.sleep, **kw)


@pytest.mark.parametrize(
    ("operation", "rate", "burst"),
    [
        ("getFeeds", 0.0222, 10),
        ("createFeed", 0.0083, 15),
        ("getFeed", 2.0, 15),
        ("cancelFeed", 2.0, 15),
        ("createFeedDocument", 0.5, 15),
        ("getFeedDocument", 0.0222, 10),
        ("getDefinitionsProductType", 5.0, 10),
        ("searchDefinitionsProductTypes", 5.0, 10),
    ],
)
def test_documented_limits(operation: str, rate: float, burst: int) -> None:
    assert DEFAULT_LIMITS[operation] == Limit(rate, burst)
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(burst):
        assert rl.acquire(operation) == 0.0
    assert rl.wait_time(operation) == pytest.approx(1 / rate)
    assert rl.acquire(operation) == pytest.approx(1 / rate)
    assert clock.slept == [pytest.approx(1 / rate)]


def test_bucket_refills_at_rate_and_caps_at_burst() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"op": Limit(2.0, 3)})
    for _ in range(3):
        rl.acquire("op")
    assert rl.wait_time("op") == pytest.approx(0.5)
    clock.now += 0.25
    assert rl.wait_time("op") == pytest.approx(0.25)
    clock.now += 100  # long idle: no more than the burst accumulates
    for _ in range(3):
        assert rl.acquire("op") == 0.0
    assert rl.wait_time("op") == pytest.approx(0.5)


def test_sustained_calls_follow_the_rate() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"getFeed": Limit(2.0, 15)})
    for _ in range(15 + 20):
        rl.acquire("getFeed")
    # 15 from the burst, 20 more at 2/s.
    assert clock.now == pytest.approx(10.0)


def test_wait_time_takes_nothing() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"op": Limit(1.0, 1)})
    assert rl.wait_time("op") == 0.0
    assert rl.wait_time("op") == 0.0
    assert rl.acquire("op") == 0.0
    assert rl.wait_time("op") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("header", "expected_rate"),
    [("0.5", 0.5), ("5.0", 5.0), ("0.0083", 0.0083), ("garbage", 2.0), ("0", 2.0), (None, 2.0)],
)
def test_header_updates_the_rate_not_the_burst(header: str | None, expected_rate: float) -> None:
    clock = FakeClock()
    rl = limiter(clock)
    rl.update_from_header("getFeed", header)
    assert rl.limit("getFeed") == Limit(expected_rate, 15)


def test_header_rate_governs_the_wait() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"op": Limit(10.0, 1)})
    rl.acquire("op")
    rl.update_from_header("op", "0.25")
    assert rl.wait_time("op") == pytest.approx(4.0)


def test_unknown_operation_is_free_until_amazon_gives_a_rate() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(50):
        assert rl.acquire("getListingsItem") == 0.0
    assert rl.limit("getListingsItem") is None
    rl.update_from_header("getListingsItem", "5")
    assert rl.limit("getListingsItem") == Limit(5.0, 5)


def test_throttled_empties_the_bucket() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    rl.acquire("getFeed")
    rl.throttled("getFeed")
    assert rl.wait_time("getFeed") == pytest.approx(0.5)


# ------------------------------------------------------------------ JSON_LISTINGS_FEED budget


def test_json_listings_feed_budget_is_five_per_five_minutes_per_region() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"createFeed": Limit(100.0, 100)})
    for _ in range(5):
        assert rl.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == 0.0
        clock.now += 10
    # 5 sent at t=0,10,20,30,40; now t=50: the first leaves the window at t=300.
    assert rl.wait_time("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == 250.0
    # Another region and another feed type are not held back.
    assert rl.wait_time("createFeed", feed_type="JSON_LISTINGS_FEED", region="na") == 0.0
    assert rl.wait_time("createFeed", feed_type="POST_FLAT_FILE_X", region="eu") == 0.0
    assert rl.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == 250.0
    assert clock.now == 300.0
    # The window slides: the next slot opens when the t=10 submission ages out.
    assert rl.wait_time("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == 10.0


def test_budget_and_bucket_both_apply() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"createFeed": Limit(0.1, 1)}, budgets={"X": Budget(2, 60.0)})
    assert rl.acquire("createFeed", feed_type="X", region="eu") == 0.0
    assert rl.acquire("createFeed", feed_type="X", region="eu") == pytest.approx(10.0)
    assert rl.wait_time("createFeed", feed_type="X", region="eu") == pytest.approx(50.0)


def test_budget_only_applies_to_create_feed() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"getFeeds": Limit(100.0, 100)})
    for _ in range(20):
        assert rl.acquire("getFeeds", feed_type="JSON_LISTINGS_FEED", region="eu") == 0.0


def test_budget_is_shared_through_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "home" / "ratelimit.json"
    clock = FakeClock(5000.0)
    wall = [1_800_000_000.0]
    first = limiter(clock, state_file=state, wall_clock=lambda: wall[0])
    for _ in range(3):
        first.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu")
    data = json.loads(state.read_text())
    assert data == {"version": 1, "windows": {"JSON_LISTINGS_FEED": {"eu": [1_800_000_000.0] * 3}}}
    assert state.stat().st_mode & 0o777 == 0o600

    # Another process: its own monotonic clock, a minute later on the wall.
    other_clock = FakeClock(10.0)
    wall[0] += 60
    second = limiter(other_clock, state_file=state, wall_clock=lambda: wall[0])
    second.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu")
    second.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu")
    assert second.wait_time("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == (
        pytest.approx(240.0)
    )
    # The wall clock is the shared truth: the first process sees the same wait.
    assert first.wait_time("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == (
        pytest.approx(240.0)
    )


def test_corrupt_state_file_starts_afresh(tmp_path: Path) -> None:
    state = tmp_path / "ratelimit.json"
    state.write_text("{not json")
    clock = FakeClock()
    rl = limiter(clock, state_file=state, wall_clock=clock)
    assert rl.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu") == 0.0
    assert json.loads(state.read_text())["windows"]["JSON_LISTINGS_FEED"]["eu"] == [0.0]


def test_old_submissions_leave_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "ratelimit.json"
    clock = FakeClock()
    rl = limiter(clock, state_file=state, wall_clock=clock)
    rl.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu")
    clock.now = 400.0
    rl.acquire("createFeed", feed_type="JSON_LISTINGS_FEED", region="eu")
    assert json.loads(state.read_text())["windows"]["JSON_LISTINGS_FEED"]["eu"] == [400.0]


# ------------------------------------------------------------------ threads


def test_threads_never_exceed_the_bucket() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"op": Limit(1.0, 5)})
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            rl.acquire("op")
            with lock:
                taken.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 20
    # Whatever the interleaving, the bucket allows at most 5 + t calls by time t.
    for call, when in enumerate(sorted(taken), start=1):
        assert call <= 5 + when + 1e-6



def test_a_wait_for_a_token_includes_the_safety_margin() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"op": Limit(2.0, 1)}, margin=0.05)
    assert rl.acquire("op") == 0.0
    assert rl.wait_time("op") == pytest.approx(0.5)  # ETAs stay exact
    assert rl.acquire("op") == pytest.approx(0.55)
    assert clock.slept == [pytest.approx(0.55)]



def test_eta_simulates_bucket_and_budget_without_taking_anything() -> None:
    clock = FakeClock()
    rl = limiter(clock, limits={"createFeed": Limit(0.01, 3)},
                 budgets={"JSON_LISTINGS_FEED": Budget(2, 60.0)})
    kw = {"feed_type": "JSON_LISTINGS_FEED", "region": "na"}
    # Two at once (the budget allows 2 a minute), the third when the window frees (60 s),
    # the fourth when the bucket (3 tokens, one per 100 s) has refilled one (100 s).
    assert rl.eta("createFeed", 2, **kw) == 0.0
    assert rl.eta("createFeed", 3, **kw) == pytest.approx(60.0)
    assert rl.eta("createFeed", 4, **kw) == pytest.approx(100.0)
    assert rl.wait_time("createFeed", **kw) == 0.0  # nothing was taken
