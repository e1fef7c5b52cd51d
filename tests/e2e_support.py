"""Shared rig for the end-to-end tests: a standalone simulator the command line is pointed at,
generated sheets, and the checks every scenario repeats.

The simulator compresses Amazon's time by its ``speed`` (feed processing, rate-limit refills).
The command line, pointed at a standalone simulator through the environment, believes it talks
to Amazon in real time. Two ways keep both sides on the same clock:

* in-process runs (``CliRunner``) use :func:`compress_time`, which hands the command line the
  client and waiter ``--local`` uses (:func:`feeds_kit.api.local_client`,
  :func:`feeds_kit.api.local_waiter`) plus retry back-off and the reconcile pause compressed by
  the same factor — so the client stays exactly as polite as at Amazon, in simulated time;
* subprocess runs (crash tests) leave the client alone and use a simulator at ``speed=1`` whose
  feeds are processed at once (``processing_seconds=(0, 0)``).

The checks are deliberately independent of feeds-kit's own bookkeeping: "each chunk exactly
once" compares the bytes of every feed the simulator holds with the chunk files; "polite" reads
the simulator's request log; "consistent" re-derives what the journal must say.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from feeds_kit import api
from feeds_kit.client import FeedsClient
from feeds_kit.config import Settings
from feeds_kit.journal import ChunkState, Journal, Submission, SubmissionState
from feeds_kit.simulator import (
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    LOCAL_SELLER_ID,
    Simulator,
    SimulatorConfig,
    parse_faults,
)

SELLER = LOCAL_SELLER_ID
US = "ATVPDKIKX0DER"
REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"

#: Time compression of the in-process scenarios: a feed takes (1 + 2) / 50 = 0.06 s.
SPEED = 50.0
PROCESSING = (1.0, 2.0)

#: Merchant-fulfilled SKUs of the simulator's seeded catalogue with their US prices: a sheet
#: built from them is accepted whole (no unknown SKU, no price jump).
CATALOGUE_US: tuple[tuple[str, str], ...] = tuple(
    [(f"FK-TEE-{c}-{s}", "19.49") for c in ("RED", "BLUE", "BLACK", "WHITE") for s in "SML"]
    + [(f"FK-HOODIE-{c}-{s}", "43.00") for c in ("GREY", "NAVY") for s in "SML"]
    + [("FK-MUG-WHITE", "12.75"), ("FK-MUG-BLACK", "12.75"), ("FK-CAP-RED", "16.50")]
)

_SECRETS = (LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN)


# --------------------------------------------------------------------------- sheets


def write_offers_csv(
    path: Path, rows: int = 15, *, first: Sequence[tuple[str, str, int]] = ()
) -> Path:
    """An offers CSV (header on row 1): the rows ``first`` ``(sku, price, quantity)``, then
    ``rows`` catalogue SKUs; every row for amazon.com in USD."""
    if rows > len(CATALOGUE_US):
        raise ValueError(f"the catalogue has {len(CATALOGUE_US)} merchant-fulfilled SKUs")
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "marketplace", "price", "currency", "quantity"])
        for sku, price, quantity in first:
            writer.writerow([sku, "US", price, "USD", quantity])
        for number, (sku, price) in enumerate(CATALOGUE_US[:rows]):
            writer.writerow([sku, "US", price, "USD", 10 + number])
    return path


# --------------------------------------------------------------------------- the rig


@dataclass
class Rig:
    """A running simulator, a feeds-kit home and the environment that points one at the other."""

    simulator: Simulator
    home: Path
    speed: float

    @property
    def env(self) -> dict[str, str]:
        """Everything the command line needs to talk to this simulator and nothing else."""
        return {
            "FEEDS_KIT_HOME": str(self.home),
            "FEEDS_KIT_CONFIG": str(self.home / "no-config.toml"),
            "FEEDS_KIT_ENDPOINT": self.simulator.endpoint,
            "FEEDS_KIT_LWA_ENDPOINT": self.simulator.lwa_endpoint,
            "LWA_CLIENT_ID": LOCAL_CLIENT_ID,
            "LWA_CLIENT_SECRET": LOCAL_CLIENT_SECRET,
            "SP_API_REFRESH_TOKEN": LOCAL_REFRESH_TOKEN,
            "SP_API_SELLER_ID": SELLER,
            "SP_API_REGION": "na",
        }

    def log(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The simulator's request log, optionally for one operation."""
        entries = self.simulator.request_log()
        if operation is None:
            return entries
        return [e for e in entries if e["operation"] == operation]

    def feeds(self) -> list[Any]:
        """The seller's feeds at the simulator, oldest first (after processing what is due)."""
        return list(reversed(self.simulator.processor.feeds(SELLER)))

    def journal(self) -> Journal:
        """The journal of :attr:`home` (use as a context manager)."""
        return Journal(self.home)

    def submission(self, submission_id: str | None = None) -> Submission:
        """One submission, or the only one the journal holds."""
        with self.journal() as journal:
            if submission_id is not None:
                return journal.find(submission_id)
            found = journal.latest(10)
        assert len(found) == 1, f"expected one submission, the journal holds {len(found)}"
        return found[0]


@contextlib.contextmanager
def running_rig(
    home: Path,
    *,
    faults: str | None = None,
    speed: float = SPEED,
    processing: tuple[float, float] = PROCESSING,
    seed: int = 7,
) -> Iterator[Rig]:
    """Start a standalone simulator on loopback for the duration of the block."""
    config = SimulatorConfig(
        speed=speed,
        faults=parse_faults(faults) if faults else None,
        seed=seed,
        processing_seconds=processing,
    )
    home.mkdir(parents=True, exist_ok=True)
    with Simulator(config).start() as simulator:
        yield Rig(simulator=simulator, home=home, speed=speed)


def compressed_client(settings: Settings, speed: float) -> FeedsClient:
    """The ``--local`` client: Amazon's limits, retry back-off and login pauses in the
    simulator's compressed time."""
    return api.local_client(settings, speed=speed)


def compress_time(monkeypatch: pytest.MonkeyPatch, speed: float = SPEED) -> None:
    """Make every submitter the command line builds run on the simulator's clock.

    ``feeds_kit.api.submitter_for`` is the one place ``submit``, ``resume``, ``status`` and
    ``report`` get their client and waiter from; only what they would default is replaced.
    """
    original = api.submitter_for

    def submitter_for(
        settings: Settings,
        *,
        journal: Journal,
        client: FeedsClient | None = None,
        waiter: Any = None,
        on_event: Callable[[Any], None] | None = None,
        reconcile_delay: float | None = None,
    ) -> Any:
        return original(
            settings,
            journal=journal,
            client=client or compressed_client(settings, speed),
            waiter=waiter or api.local_waiter(speed=speed),
            on_event=on_event,
            reconcile_delay=api.local_reconcile_delay(speed=speed),
        )

    monkeypatch.setattr(api, "submitter_for", submitter_for)


# --------------------------------------------------------------------------- running commands


def run_cli(rig: Rig, *args: str) -> Result:
    """``feeds-kit ARGS`` in-process with :attr:`Rig.env`; never lets an exception escape."""
    from feeds_kit.cli import cli

    result = CliRunner().invoke(cli, list(args), env=rig.env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"feeds-kit {' '.join(args)} raised {result.exception!r}")
    return result


def json_out(result: Result) -> dict[str, Any]:
    """The ``--format json`` document a command printed."""
    try:
        return dict(json.loads(result.stdout))
    except ValueError as exc:
        raise AssertionError(
            f"not JSON: {result.stdout[:500]!r}\nstderr: {result.stderr[-2000:]}"
        ) from exc


def subprocess_env(rig: Rig) -> dict[str, str]:
    """The parent's environment without feeds-kit or SP-API settings, plus :attr:`Rig.env`."""
    prefixes = ("FEEDS_KIT_", "LWA_", "SP_API_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(rig.env)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


def spawn(rig: Rig, *args: str) -> subprocess.Popen[bytes]:
    """``python -m feeds_kit ARGS`` as a child process (output captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "feeds_kit", *args],
        env=subprocess_env(rig),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=rig.home,
    )


def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` every few milliseconds until it holds (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


# --------------------------------------------------------------------------- the checks


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def assert_each_chunk_sent_once(rig: Rig, submission: Submission) -> None:
    """Every chunk reached the simulator as exactly one feed, and no other feed exists.

    Compared by content: each feed's uploaded bytes must be one chunk's document, and each
    chunk's document must be in exactly one feed — the feed the journal records for it.
    """
    chunk_by_sha = {c.sha256: c for c in submission.chunks}
    assert len(chunk_by_sha) == len(submission.chunks), "two chunks hold the same bytes"
    feeds = rig.feeds()
    by_chunk: Counter[int] = Counter()
    for feed in feeds:
        assert feed.content is not None, f"feed {feed.feed_id} has no uploaded document"
        chunk = chunk_by_sha.get(sha256(feed.content))
        assert chunk is not None, f"feed {feed.feed_id} holds bytes of no chunk"
        by_chunk[chunk.index] += 1
        if chunk.feed_id is not None:
            assert chunk.feed_id == feed.feed_id, (
                f"chunk {chunk.index + 1}: journal says feed {chunk.feed_id}, the simulator "
                f"holds it as {feed.feed_id}"
            )
    sent = [c.index for c in submission.chunks if c.feed_id is not None]
    assert sorted(by_chunk) == sorted(sent), f"feeds per chunk {dict(by_chunk)}, sent {sent}"
    assert set(by_chunk.values()) <= {1}, f"a chunk was sent twice: {dict(by_chunk)}"
    # The request log agrees: one createFeed that took effect per chunk (202, or an answer
    # dropped/held after the feed was created).
    took_effect = [
        e
        for e in rig.log("createFeed")
        if e["status"] == 202 or (e["fault"] or "").split(":")[-1].startswith("drop-after")
    ]
    assert len(took_effect) == len(feeds), (len(took_effect), len(feeds))


def assert_polite(rig: Rig, injected_throttles: int = 0) -> None:
    """No 429 but the injected ones: the client stayed inside every operation's rate."""
    throttled = [e for e in rig.log() if e["status"] == 429]
    unplanned = [e for e in throttled if e["fault"] is None]
    assert unplanned == [], f"the simulator throttled {len(unplanned)} request(s): {unplanned}"
    assert len(throttled) == injected_throttles


def assert_journal_consistent(rig: Rig, submission_id: str) -> Submission:
    """What the journal says agrees with itself, with the chunk files and with the simulator."""
    with rig.journal() as journal:
        submission = journal.get(submission_id)
        events = journal.events(submission_id)
        known = journal.known_feed_ids()
    at_simulator = {f.feed_id: f for f in rig.feeds()}
    feed_ids = [c.feed_id for c in submission.chunks if c.feed_id]
    assert len(feed_ids) == len(set(feed_ids)), f"a feed id is held twice: {feed_ids}"
    assert set(feed_ids) <= known
    times = [e.at for e in events]
    assert times == sorted(times), "events out of order"
    for chunk in submission.chunks:
        data = chunk.path.read_bytes()
        assert sha256(data) == chunk.sha256, f"chunk {chunk.index + 1} changed on disk"
        created = [
            e
            for e in events
            if e.chunk == chunk.index and e.kind in {"feed_created", "feed_adopted"}
        ]
        if chunk.feed_id is None:
            assert created == []
            assert chunk.state in {
                ChunkState.PENDING,
                ChunkState.DOCUMENT,
                ChunkState.UPLOADED,
                ChunkState.CREATING,
                ChunkState.ATTENTION,
            }
            continue
        assert len(created) == 1, f"chunk {chunk.index + 1}: {[e.kind for e in created]}"
        assert created[0].detail["feed_id"] == chunk.feed_id
        feed = at_simulator.get(chunk.feed_id)
        assert feed is not None, f"feed {chunk.feed_id} is unknown to the simulator"
        assert sha256(feed.content or b"") == chunk.sha256
        assert chunk.document_id == feed.input_document_id
        assert chunk.create_feed_started is not None and chunk.upload_done is not None
        assert chunk.upload_done <= chunk.create_feed_started <= (chunk.create_feed_done or 0)
        status = feed.status_at(time.time())
        if chunk.finished:
            assert chunk.processing_status == status, (chunk.processing_status, status)
            assert chunk.state.value == status.lower()
    states = {c.state for c in submission.chunks}
    if submission.state is SubmissionState.DONE:
        assert states == {ChunkState.DONE}
    elif submission.state is SubmissionState.FAILED:
        assert all(c.finished for c in submission.chunks)
        assert states & {ChunkState.FATAL, ChunkState.CANCELLED}
        assert submission.note
    elif submission.state is SubmissionState.SUBMITTED:
        assert all(c.sent for c in submission.chunks)
    elif submission.state is SubmissionState.ATTENTION:
        assert ChunkState.ATTENTION in states and submission.note
    assert_no_secret_in_home(rig)
    return submission


def assert_no_secret_in_home(rig: Rig) -> None:
    """No credential and no presigned-URL signature in any file feeds-kit wrote."""
    # Every file, the journal's write-ahead log included: a secret may sit there before a
    # checkpoint moves it into the database.
    for path in rig.home.rglob("*"):
        if not path.is_file() or path.name.endswith(".lock"):
            continue
        data = path.read_bytes()
        for secret in (*_SECRETS, "X-Amz-Signature", "Atza|"):
            assert secret.encode() not in data, f"{secret!r} found in {path}"


def assert_sheet_applied(rig: Rig, rows: int = 15) -> None:
    """The simulator now holds the price and quantity :func:`write_offers_csv` wrote for its
    catalogue rows: the feeds were not only accepted but applied."""
    for number, (sku, price) in enumerate(CATALOGUE_US[:rows]):
        listing = rig.simulator.listing(SELLER, sku)
        assert listing is not None, sku
        attributes = listing["attributes"]
        [channel] = attributes["fulfillment_availability"]
        assert channel["quantity"] == 10 + number, (sku, channel)
        [offer] = [o for o in attributes["purchasable_offer"] if o["marketplace_id"] == US]
        assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == float(price), sku
