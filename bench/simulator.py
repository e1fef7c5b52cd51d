"""Submit a catalogue-sized sheet to the local SP-API simulator and count what it cost Amazon.

::

    python bench/simulator.py                 # 1M rows: 40 chunks of 25,000 messages
    python bench/simulator.py --quick         # 100k rows cut into 40 chunks of 2,500
    python bench/simulator.py --rows 20000 --chunk-size 500 --speed 200 --json

The sheet goes the way ``feeds-kit submit --local`` sends it: ``api.plan_submission`` (validate
and build), then ``api.send`` with the simulator's client and waiter, in a throw-away
``FEEDS_KIT_HOME``. Time is compressed by ``--speed`` for feed processing, rate-limit refills
and the ``JSON_LISTINGS_FEED`` budget alike (5 ``createFeed`` per 300 s per region, so 40
chunks need at least 7 refills: 35 minutes of Amazon's time). From the simulator's request log
it reports the requests per chunk (``createFeedDocument``, the upload, ``createFeed``), the
waiter's polls, the report downloads, the 429s provoked (target 0), whether ``createFeed`` kept
inside the budget, and an ETA: predicted from the budget before sending and shown on each chunk,
then compared with the real finish.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent
#: The JSON_LISTINGS_FEED budget (spapi-facts: 5 submissions per 5 minutes per region).
BUDGET_SUBMISSIONS: Final = 5
BUDGET_WINDOW: Final = 300.0
SEND_OPERATIONS: Final = ("createFeedDocument", "upload", "createFeed")
REPORT_OPERATIONS: Final = ("getFeedDocument", "download")


def predicted_send_seconds(chunks: int, *, speed: float) -> float:
    """Seconds (Amazon's, divided by ``speed``) from the first to the last of ``chunks``
    ``createFeed`` calls sent as early as allowed: the later of what the budget (5 per 300 s)
    and the operation's token bucket (0.0083/s, burst 15) allow, as the client's rate limiter
    applies both."""
    from feeds_kit.ratelimit import DEFAULT_LIMITS

    limit = DEFAULT_LIMITS["createFeed"]
    sent: list[float] = []
    tokens = float(limit.burst)
    now = 0.0
    for _ in range(chunks):
        window = (
            sent[-BUDGET_SUBMISSIONS] + BUDGET_WINDOW if len(sent) >= BUDGET_SUBMISSIONS else 0.0
        )
        bucket = now if tokens >= 1 else now + (1 - tokens) / limit.rate
        at = max(now, window, bucket)
        tokens = min(float(limit.burst), tokens + (at - now) * limit.rate) - 1
        now = at
        sent.append(at)
    return now / speed


def budget_respected(times: Sequence[float], *, speed: float) -> tuple[bool, int]:
    """Whether no window of ``300 / speed`` seconds holds more than 5 of the ``createFeed``
    times, and the most any window held."""
    window = BUDGET_WINDOW / speed
    ordered = sorted(times)
    most = 0
    start = 0
    for end, stamp in enumerate(ordered):
        # A small tolerance: the client and the simulator read their clocks a moment apart.
        while stamp - ordered[start] >= window * 0.995:
            start += 1
        most = max(most, end - start + 1)
    return most <= BUDGET_SUBMISSIONS, most


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run(rows: int, chunk_size: int, speed: float, *, quiet: bool) -> dict[str, Any]:
    """Generate (or reuse) the sheet, submit it to a fresh simulator, return the findings."""
    sys.path.insert(0, str(HERE))
    import generate

    data = HERE / "data"
    data.mkdir(parents=True, exist_ok=True)
    target = generate.Target(f"offers-{generate.label(rows)}.csv", "csv", "offers", rows)
    sheet, _ = generate.generate(target, data)

    home = Path(tempfile.mkdtemp(prefix="feeds-kit-bench-"))
    os.environ["FEEDS_KIT_HOME"] = str(home)
    os.environ["FEEDS_KIT_CONFIG"] = str(home / "none.toml")
    from feeds_kit import api
    from feeds_kit.submission import ChunkStarted, FeedCreated, Pacing

    def say(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    started_all = time.perf_counter()
    with api.local_simulator(speed=speed) as (simulator, settings):
        settings.home = home
        plan = api.plan_submission(sheet, settings=settings, skip_invalid=True,
                                   chunk_size=chunk_size)
        built = time.perf_counter()
        chunks = plan.chunks
        eta_total = predicted_send_seconds(chunks, speed=speed)
        say(f"{rows:,} rows -> {plan.messages:,} messages in {chunks} chunks, built in "
            f"{built - started_all:.1f} s; the rate limits let the last createFeed go after "
            f"{_duration(eta_total * speed)} of Amazon time ({eta_total:.1f} s here)")
        created: list[float] = []
        pacing: list[Any] = []
        send_started = time.perf_counter()

        def on_event(event: Any) -> None:
            if isinstance(event, ChunkStarted):
                elapsed = time.perf_counter() - send_started
                left = max(0.0, eta_total - elapsed)
                say(f"  chunk {event.index + 1}/{event.total}: {event.message_count:,} messages; "
                    f"ETA for the last createFeed: {_duration(left * speed)} Amazon time")
            elif isinstance(event, FeedCreated):
                created.append(time.perf_counter())
            elif isinstance(event, Pacing):
                pacing.append(event)

        client = api.local_client(settings, speed=speed)
        waiter = api.local_waiter(speed=speed)
        outcome = api.send(plan, settings=settings, wait=True, client=client, waiter=waiter,
                           on_event=on_event)
        finished = time.perf_counter()
        log = simulator.request_log()

    by_operation = Counter(str(entry["operation"]) for entry in log)
    throttled = [e for e in log if e["status"] == 429]
    statuses = Counter(str(e["status"]) for e in log)
    send_requests = sum(by_operation[op] for op in SEND_OPERATIONS)
    report_requests = sum(by_operation[op] for op in REPORT_OPERATIONS)
    polls = by_operation["getFeed"]
    create_times = [float(e["time"]) for e in log if e["operation"] == "createFeed"]
    inside, most = budget_respected(create_times, speed=speed)
    last_create = (created[-1] - send_started) if created else 0.0
    verdict = outcome.verdict
    accepted = getattr(verdict, "rows", None)
    per_chunk = send_requests / chunks if chunks else 0.0
    other = sum(by_operation.values()) - send_requests - report_requests - polls
    other -= by_operation["token"]
    lines = [
        f"{rows:,} rows, {plan.messages:,} messages in {chunks} chunks of up to "
        f"{chunk_size:,}; simulator speed {speed:g}× (Amazon's 5-minute budget window = "
        f"{BUDGET_WINDOW / speed:.1f} s here)",
        f"requests to send: {send_requests} = {per_chunk:.2f} per chunk "
        f"(createFeedDocument {by_operation['createFeedDocument']}, upload "
        f"{by_operation['upload']}, createFeed {by_operation['createFeed']}); target ≤ 3 — "
        f"{'met' if per_chunk <= 3 else 'NOT MET'}",
        f"waiter's polls (getFeed): {polls} = {polls / max(chunks, 1):.1f} per chunk; report "
        f"retrieval (getFeedDocument + download): {report_requests}; token requests: "
        f"{by_operation['token']}; other: {other}",
        f"429s provoked: {len(throttled)} (target 0) — {'met' if not throttled else 'NOT MET'}; "
        f"statuses: {dict(sorted(statuses.items()))}"
        + (f"; throttled: {Counter(str(e['operation']) for e in throttled)}" if throttled
           else ""),
        f"createFeed pacing: at most {most} in any {BUDGET_WINDOW / speed:.1f} s window "
        f"(budget {BUDGET_SUBMISSIONS}) — {'inside' if inside else 'OUTSIDE'} the budget",
        f"ETA: predicted last createFeed after {eta_total:.1f} s ({_duration(eta_total * speed)} "
        f"Amazon time), actual {last_create:.1f} s; all {chunks} feeds done and reports "
        f"collected after {finished - send_started:.1f} s "
        f"({_duration((finished - send_started) * speed)} Amazon time); build took "
        f"{built - started_all:.1f} s",
        (
            f"feeds-kit's own ETA: {len(pacing)} Pacing event(s) before a createFeed that had "
            "to wait"
            + (f"; the first said the last chunk would go in {pacing[0].eta:.1f} s"
               if pacing else "")
        ),
    ]
    return {
        "rows": rows,
        "chunks": chunks,
        "messages": plan.messages,
        "speed": speed,
        "requests": dict(by_operation),
        "statuses": dict(statuses),
        "send_requests_per_chunk": per_chunk,
        "polls": polls,
        "report_requests": report_requests,
        "throttled": len(throttled),
        "budget_inside": inside,
        "budget_most_in_window": most,
        "eta_predicted": eta_total,
        "last_create_feed": last_create,
        "send_seconds": finished - send_started,
        "build_seconds": built - started_all,
        "accepted_rows": accepted if isinstance(accepted, int) else None,
        "lines": lines,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, help="rows in the sheet (default 1,000,000)")
    parser.add_argument("--chunk-size", type=int, help="messages per chunk (default 25,000)")
    parser.add_argument("--quick", action="store_true",
                        help="100k rows in chunks of 2,500: the same 40 chunks, less data")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulator time compression (default 60: a 5-minute window = 5 s)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    chunk_size = args.chunk_size or (2_500 if args.quick else 25_000)
    result = run(rows, chunk_size, args.speed, quiet=args.json)
    if args.json:
        print(json.dumps(result))
    else:
        for line in result["lines"]:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
