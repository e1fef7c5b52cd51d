"""Crash and resume (issue 4, issue 7): ``feeds-kit submit`` killed with SIGKILL at every step
of a three-chunk submission, then ``feeds-kit resume``, both as real processes against a
standalone simulator in the test process.

Each kill is deterministic: the simulator holds one answer back (``delay``) after the request
took effect, the test watches the simulator's request log and kills the client inside that
window — the step has happened at "Amazon" and the client never heard of it. The journal at the
moment of the kill is checked too, so each case provably stops where its name says.

After ``resume`` every chunk must exist at the simulator exactly once, the verdict must cover all
15 rows, and the journal must agree with the simulator.

The child processes believe they talk to Amazon in real time, so the simulator runs at speed 1
and processes a feed as soon as anybody looks (``processing_seconds=(0, 0)``); only the
"between polls" case gives feeds time to process so the waiter has something to wait for.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    Rig,
    assert_each_chunk_sent_once,
    assert_journal_consistent,
    assert_polite,
    assert_sheet_applied,
    json_out,
    run_cli,
    running_rig,
    spawn,
    wait_until,
    write_offers_csv,
)

from feeds_kit.journal import ChunkState, SubmissionState

ROWS, CHUNK_SIZE, CHUNKS = 15, 5, 3
ALL_ACCEPTED = {"processed": 15, "accepted": 15, "invalid": 0, "errors": 0, "warnings": 0}
#: How long the simulator holds the answer the kill happens behind: far longer than the few
#: milliseconds the test needs, so the kill always lands inside the window.
HOLD = 5

P, D, U, C, K = (
    ChunkState.PENDING,
    ChunkState.DOCUMENT,
    ChunkState.UPLOADED,
    ChunkState.CREATING,
    ChunkState.CREATED,
)


def seen(operation: str, count: int) -> Callable[[Rig], bool]:
    """True once the simulator has logged ``count`` requests of ``operation``."""
    return lambda rig: len(rig.log(operation)) >= count


@dataclass(frozen=True)
class KillPoint:
    """Where the client dies, and what the journal must say at that moment."""

    faults: str
    when: Callable[[Rig], bool]
    #: the submission's state and each chunk's state when the process died
    state: SubmissionState
    chunks: tuple[ChunkState, ...]
    #: feeds the simulator holds when the process died
    feeds: int
    #: journal events the resume must add (kind -> count), e.g. an adopted feed
    resume_events: dict[str, int] = field(default_factory=dict)
    processing: tuple[float, float] = (0.0, 0.0)


SENDING = SubmissionState.SENDING
KILL_POINTS = {
    "before-anything-reached-amazon": KillPoint(
        f"createFeedDocument:delay={HOLD}", seen("createFeedDocument", 1), SENDING, (P, P, P), 0,
    ),
    "after-createFeedDocument": KillPoint(
        f"createFeedDocument:delay={HOLD}@1", seen("createFeedDocument", 2), SENDING, (K, P, P), 1,
    ),
    "during-the-upload": KillPoint(
        f"upload:delay={HOLD}@1", seen("upload", 2), SENDING, (K, D, P), 1,
    ),
    "createFeed-taken-but-unanswered": KillPoint(
        f"createFeed:delay={HOLD}@1", seen("createFeed", 2), SENDING, (K, C, P), 2,
        resume_events={"feed_adopted": 1, "feed_created": 1},
    ),
    "after-createFeed": KillPoint(
        f"createFeedDocument:delay={HOLD}@2", seen("createFeedDocument", 3), SENDING, (K, K, P), 2,
    ),
    "last-createFeed-taken-but-unanswered": KillPoint(
        f"createFeed:delay={HOLD}@2", seen("createFeed", 3), SENDING, (K, K, C), 3,
        resume_events={"feed_adopted": 1, "feed_created": 0},
    ),
    "while-polling": KillPoint(
        f"getFeed:delay={HOLD}", seen("getFeed", 1), SubmissionState.SUBMITTED, (K, K, K), 3,
    ),
    "between-polls": KillPoint(
        "", seen("getFeed", CHUNKS), SubmissionState.SUBMITTED, (K, K, K), 3,
        processing=(0.5, 0.5),
    ),
    "while-fetching-the-reports": KillPoint(
        f"getFeedDocument:delay={HOLD}", seen("getFeedDocument", 1), SubmissionState.DONE,
        (ChunkState.DONE,) * CHUNKS, 3,
    ),
}


def _finish(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"the process hung; stderr: {err.decode(errors='replace')}") from None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def _events(rig: Rig, submission_id: str) -> Counter[str]:
    with rig.journal() as journal:
        return Counter(e.kind for e in journal.events(submission_id))


def _all_processed(rig: Rig) -> bool:
    feeds = rig.feeds()
    return len(feeds) == CHUNKS and all(f.status is not None for f in feeds)


@pytest.mark.parametrize("point", list(KILL_POINTS.values()), ids=list(KILL_POINTS))
def test_killed_then_resumed_sends_each_chunk_once(tmp_path: Path, point: KillPoint) -> None:
    sheet = write_offers_csv(tmp_path / "offers.csv", ROWS)
    with running_rig(
        tmp_path / "home", faults=point.faults or None, speed=1.0, processing=point.processing
    ) as rig:
        child = spawn(
            rig, "submit", str(sheet), "--yes", "--wait", "--chunk-size", str(CHUNK_SIZE),
            "--no-annotate",
        )
        try:
            wait_until(lambda: point.when(rig) or child.poll() is not None, what="the kill point")
            assert child.poll() is None, f"submit ended on its own: {_finish(child)}"
            child.send_signal(signal.SIGKILL)
        finally:
            code, _, err = _finish(child)
        assert code == -signal.SIGKILL, err

        # Where it died.
        killed = rig.submission()
        assert killed.state is point.state
        assert tuple(c.state for c in killed.chunks) == point.chunks
        assert len(rig.feeds()) == point.feeds
        before = _events(rig, killed.id)
        if point.processing != (0.0, 0.0):
            # Let "Amazon" finish while nobody is looking, as it would during a long wait.
            wait_until(lambda: _all_processed(rig), what="the simulator to process the feeds")

        code, out, err = _finish(spawn(rig, "resume"))

        assert code == 0, err
        assert "Traceback" not in err
        if point.state is SubmissionState.DONE:
            # Everything was sent and finished; only the reports were missing, which
            # ``report`` fetches.
            assert out.strip() == "Nothing to resume."
        else:
            assert f"{killed.id}: done" in err
            assert "15 rows" in out
        report = run_cli(rig, "report", killed.id, "--format", "json")
        assert report.exit_code == 0, report.stderr
        document: dict[str, Any] = json_out(report)
        assert document["issues"] == []
        assert document["summary"]["amazon"] == ALL_ACCEPTED
        assert document["summary"]["validRows"] == ROWS

        submission = assert_journal_consistent(rig, killed.id)
        assert submission.state is SubmissionState.DONE
        assert [c.state for c in submission.chunks] == [ChunkState.DONE] * CHUNKS
        assert all(c.report_path is not None for c in submission.chunks)
        assert_each_chunk_sent_once(rig, submission)
        assert_polite(rig)
        assert_sheet_applied(rig, ROWS)
        added = _events(rig, killed.id) - before
        for kind, count in point.resume_events.items():
            assert added[kind] == count, (kind, added)
        with rig.journal() as journal:
            assert journal.unfinished() == []


def test_simulator_stays_quiet_when_a_killed_client_misses_its_answer(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The answer held by ``delay`` meets a closed socket; that is the point of the fault, so
    the simulator must not print socketserver's traceback (it used to)."""
    with running_rig(tmp_path / "home", faults="getFeeds:delay=0.2") as rig:
        host, port = rig.simulator.endpoint.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as conn:
            # No token: the 403 is what gets held back, which is all this needs.
            conn.sendall(b"GET /feeds/2021-06-30/feeds HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: len(rig.log("getFeeds")) == 1, what="the getFeeds request")
            # Reset rather than close politely, as the kernel does for a killed process.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        time.sleep(0.4)  # the 0.2 s hold, then the write that fails
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    assert "Exception occurred during processing of request" not in captured.err
