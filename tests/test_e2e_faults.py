"""Faults in the flow (issue 7): ``feeds-kit submit`` against a standalone simulator that injects
them, over real HTTP on loopback.

Every scenario submits the same 15-row sheet in three chunks of five and then checks, from the
outside, what a seller relies on:

* the run completes (every row accepted and applied at "Amazon"), or stops with exit 3, one
  sentence, and a journal that ``resume`` finishes;
* each chunk reached Amazon as exactly one feed (compared by content with the simulator's feeds);
* the journal agrees with itself, with the chunk files and with the simulator;
* the simulator never had to throttle: every 429 in its log is an injected one;
* the fault plan was spent — the scenario really happened.

Time: the simulator runs 50 times faster than Amazon and the command line's client and waiter
are told so (:func:`e2e_support.compress_time`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from e2e_support import (
    SELLER,
    Rig,
    assert_each_chunk_sent_once,
    assert_journal_consistent,
    assert_polite,
    assert_sheet_applied,
    compress_time,
    json_out,
    run_cli,
    running_rig,
    write_offers_csv,
)

from feeds_kit.journal import ChunkState, SubmissionState

ROWS, CHUNK_SIZE, CHUNKS = 15, 5, 3
ALL_ACCEPTED = {"processed": 15, "accepted": 15, "invalid": 0, "errors": 0, "warnings": 0}


@pytest.fixture(autouse=True)
def _simulated_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compress_time(monkeypatch)


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_offers_csv(tmp_path / "offers.csv", ROWS)


def submit(rig: Rig, sheet: Path, *extra: str) -> Result:
    return run_cli(
        rig,
        "submit",
        str(sheet),
        "--yes",
        "--wait",
        "--chunk-size",
        str(CHUNK_SIZE),
        "--format",
        "json",
        "--no-annotate",
        *extra,
    )


def assert_plan_spent(rig: Rig) -> None:
    """Every injected fault fired as many times as planned."""
    left = {rule: count for rule, count in rig.simulator.faults.remaining() if count}
    assert left == {}, f"faults that never fired: {left}"


def event_counts(rig: Rig, submission_id: str) -> Counter[str]:
    with rig.journal() as journal:
        return Counter(e.kind for e in journal.events(submission_id))


def assert_complete(rig: Rig, submission_id: str, *, throttles: int = 0) -> None:
    """The end state every scenario must reach, directly or after ``resume``."""
    submission = assert_journal_consistent(rig, submission_id)
    assert submission.state is SubmissionState.DONE
    assert [c.state for c in submission.chunks] == [ChunkState.DONE] * CHUNKS
    assert_each_chunk_sent_once(rig, submission)
    assert_polite(rig, throttles)
    assert_plan_spent(rig)
    assert_sheet_applied(rig, ROWS)
    with rig.journal() as journal:
        assert journal.unfinished() == []


# --------------------------------------------------------------------------- survived


@dataclass(frozen=True)
class Survived:
    """A fault plan the run must get through on its own (exit 0, every row accepted)."""

    faults: str
    throttles: int = 0
    #: journal events proving the path taken (kind -> count)
    events: dict[str, int] = field(default_factory=dict)
    #: (operation, HTTP status or None for a dropped connection) -> count in the request log
    requests: dict[tuple[str, int | None], int] = field(default_factory=dict)


SURVIVED = {
    # Throttling storms: the client backs off and never causes a 429 of its own.
    "getFeed-throttling-storm": Survived(
        "getFeed:throttle*5", throttles=5, requests={("getFeed", 429): 5}
    ),
    "createFeedDocument-throttling-storm": Survived(
        "createFeedDocument:throttle*3", throttles=3, requests={("createFeedDocument", 201): 3}
    ),
    "getFeeds-throttled-while-reconciling": Survived(
        "createFeed:drop-after,getFeeds:throttle*2",
        throttles=2,
        events={"create_feed_ambiguous": 1, "feed_adopted": 1},
        requests={("getFeeds", 200): 1},
    ),
    # 5xx runs.
    "503-run-on-any-operation": Survived("*:503*2", requests={("createFeedDocument", 503): 2}),
    "500-run-on-getFeedDocument": Survived(
        "getFeedDocument:500*2", requests={("getFeedDocument", 500): 2}
    ),
    "upload-500": Survived("upload:500", requests={("upload", 500): 1, ("upload", 200): 3}),
    "upload-503-run": Survived("upload:503*2", requests={("upload", 503): 2}),
    "download-500-run": Survived("download:500*2", requests={("download", 500): 2}),
    "download-503": Survived("download:503", requests={("download", 503): 1}),
    "download-dropped": Survived("download:drop-before", requests={("download", None): 1}),
    # A 5xx from createFeed is ambiguous: reconciled with getFeeds (none taken), created again.
    "createFeed-503": Survived(
        "createFeed:503",
        events={"create_feed_ambiguous": 1, "reconciled_none": 1, "feed_created": 3},
        requests={("createFeed", 503): 1, ("getFeeds", 200): 1},
    ),
    # Connections dropped before the request took effect...
    "createFeedDocument-dropped-before": Survived("createFeedDocument:drop-before"),
    "upload-dropped-before": Survived("upload:drop-before"),
    "getFeed-dropped-before": Survived("getFeed:drop-before*2", requests={("getFeed", None): 2}),
    "createFeed-dropped-before": Survived(
        "createFeed:drop-before",
        events={"create_feed_ambiguous": 1, "reconciled_none": 1, "feed_created": 3},
    ),
    # ...and after it took effect: idempotent steps are repeated, createFeed is reconciled.
    "createFeedDocument-dropped-after": Survived(
        "createFeedDocument:drop-after", requests={("createFeedDocument", 201): 3}
    ),
    "upload-dropped-after": Survived("upload:drop-after", requests={("upload", 200): 3}),
    "createFeed-dropped-after": Survived(
        "createFeed:drop-after",
        events={"create_feed_ambiguous": 1, "feed_adopted": 1, "feed_created": 2},
        requests={("createFeed", 202): 2, ("createFeed", None): 1},
    ),
    "createFeed-dropped-after-on-the-last-chunk": Survived(
        "createFeed:drop-after@2", events={"feed_adopted": 1, "feed_created": 2}
    ),
    "createFeed-dropped-after-on-every-chunk": Survived(
        "createFeed:drop-after*3",
        events={"feed_adopted": 3, "feed_created": 0},
        requests={("createFeed", None): 3, ("getFeeds", 200): 3},
    ),
    # Presigned URLs and tokens that die.
    "upload-url-expired": Survived(
        "upload:expire",
        events={"upload_expired": 1},
        requests={("upload", 403): 1, ("createFeedDocument", 201): 4},
    ),
    "token-expires-at-once": Survived(
        "token:expire-early", requests={("token", 200): 2, ("createFeedDocument", 403): 1}
    ),
    # The first token dies after 0.15 s; the held answer keeps the run busy past that, so the
    # next SP-API call (chunk 2's createFeed) meets the expiry, refreshes once and goes on.
    "token-expires-mid-run": Survived(
        "token:expire-early=0.15,createFeedDocument:delay=0.3@1",
        requests={("token", 200): 2, ("createFeed", 403): 1, ("createFeed", 202): 3},
    ),
    "token-endpoint-503": Survived("token:503", requests={("token", 503): 1}),
    "token-endpoint-500": Survived("token:500", requests={("token", 500): 1}),
    "token-endpoint-dropped": Survived("token:drop-before", requests={("token", None): 1}),
    "token-issued-but-answer-dropped": Survived(
        "token:drop-after", requests={("token", None): 1, ("token", 200): 1}
    ),
    # Reports: cut short in transit, an expired download URL, gzipped twice.
    "download-cut-short": Survived("download:truncate", requests={("download", 200): 4}),
    "download-url-expired": Survived(
        "download:expire",
        events={"report_url_expired": 1},
        requests={("download", 403): 1, ("getFeedDocument", 200): 4},
    ),
    "report-gzipped-twice": Survived("report:double-gzip"),
}


@pytest.mark.parametrize("case", list(SURVIVED.values()), ids=list(SURVIVED))
def test_the_run_gets_through(tmp_path: Path, sheet: Path, case: Survived) -> None:
    with running_rig(tmp_path / "home", faults=case.faults) as rig:
        result = submit(rig, sheet)

        assert result.exit_code == 0, result.stderr
        document = json_out(result)
        assert document["issues"] == []
        assert document["summary"]["state"] == "done"
        assert document["summary"]["amazon"] == ALL_ACCEPTED
        sid = document["summary"]["submission"]
        assert_complete(rig, sid, throttles=case.throttles)
        events = event_counts(rig, sid)
        for kind, count in case.events.items():
            assert events[kind] == count, (kind, events)
        assert events["feed_created"] + events["feed_adopted"] == CHUNKS
        log = Counter((e["operation"], e["status"]) for e in rig.log())
        for key, count in case.requests.items():
            assert log[key] == count, (key, log)


# --------------------------------------------------------------------------- stopped, resumed


@dataclass(frozen=True)
class Stopped:
    """A fault that outlasts what the run may retry: exit 3 and this sentence, then ``resume``
    finishes the job without sending anything twice."""

    faults: str
    message: str
    throttles: int = 0
    #: what the journal holds when the run stopped
    state: SubmissionState = SubmissionState.SENDING
    feeds_before_resume: int = 0


STOPPED = {
    "createFeedDocument-storm-longer-than-the-retries": Stopped(
        "createFeedDocument:throttle*6",
        "Error: submission {sid} stopped: Amazon throttled createFeedDocument (HTTP 429) 6 "
        "times in",
        throttles=6,
    ),
    "getFeed-storm-longer-than-the-retries": Stopped(
        "getFeed:throttle*6",
        "Error: submission {sid} stopped: Amazon throttled getFeed (HTTP 429) 6 times in",
        throttles=6,
        state=SubmissionState.SUBMITTED,
        feeds_before_resume=3,
    ),
    "createFeed-503-every-time": Stopped(
        "createFeed:503*3",
        "Error: createFeed for chunk 1 of {sid} got no usable answer 3 times (last: HTTP 503) "
        "and getFeeds shows Amazon took none of them; nothing was sent twice — run feeds-kit "
        "resume {sid} later",
    ),
    "token-endpoint-down": Stopped(
        "token:503*3",
        "Error: submission {sid} stopped: Login with Amazon is temporarily unavailable "
        "(temporarily_unavailable): try again later; Amazon says: The authorization server "
        "encountered an unexpected condition;",
    ),
    "upload-url-expired-every-time": Stopped(
        "upload:expire*3",
        "Error: the upload URL of chunk 1 of {sid} expired 3 times in a row (it lives 5 "
        "minutes); check the computer's clock and the connection, then run feeds-kit resume "
        "{sid}",
    ),
    "upload-signature-refused": Stopped(
        "upload:signature",
        "Error: submission {sid} stopped: Uploading the feed document failed: S3 answered "
        "HTTP 403 SignatureDoesNotMatch",
    ),
    "second-chunk-refused-after-the-first-was-sent": Stopped(
        "createFeedDocument:throttle*6@1",
        "Error: submission {sid} stopped: Amazon throttled createFeedDocument (HTTP 429) 6 "
        "times in",
        throttles=6,
        feeds_before_resume=1,
    ),
}


@pytest.mark.parametrize("case", list(STOPPED.values()), ids=list(STOPPED))
def test_the_run_stops_resumably_and_resume_finishes(
    tmp_path: Path, sheet: Path, case: Stopped
) -> None:
    with running_rig(tmp_path / "home", faults=case.faults) as rig:
        result = submit(rig, sheet)

        assert result.exit_code == 3, result.stderr
        submission = rig.submission()
        expected = case.message.format(sid=submission.id)
        last_line = result.stderr.strip().splitlines()[-1]
        assert last_line.startswith(expected), last_line
        # Whatever stopped it, the sentence names the submission and how to finish it.
        assert f"resume {submission.id}" in last_line, last_line
        assert "Traceback" not in result.stderr
        assert submission.state is case.state
        assert len(rig.feeds()) == case.feeds_before_resume
        assert_journal_consistent(rig, submission.id)
        assert_each_chunk_sent_once(rig, submission)

        resumed = run_cli(rig, "resume")

        assert resumed.exit_code == 0, resumed.stderr
        assert f"{submission.id}: done" in resumed.stderr
        assert_complete(rig, submission.id, throttles=case.throttles)


# --------------------------------------------------------------------------- Amazon's verdicts


def test_stuck_feed_stops_at_max_wait_and_stays_resumable(tmp_path: Path, sheet: Path) -> None:
    with running_rig(tmp_path / "home", faults="feed:stuck") as rig:
        result = submit(rig, sheet, "--max-wait", "1")

        assert result.exit_code == 3
        submission = rig.submission()
        sid = submission.id
        assert result.stderr.strip().splitlines()[-1] == (
            f"Error: submission {sid}: 1 feed(s) still processing after 1 s of waiting; they "
            "continue at Amazon — wait again later to collect the result; feeds-kit status "
            f"{sid} --wait collects the verdict"
        )
        submission = assert_journal_consistent(rig, sid)
        assert submission.state is SubmissionState.SUBMITTED
        assert [c.processing_status for c in submission.chunks] == ["IN_PROGRESS", "DONE", "DONE"]
        assert_each_chunk_sent_once(rig, submission)
        with rig.journal() as journal:
            assert [s.id for s in journal.unfinished()] == [sid]

        # The verdict so far: chunks 2 and 3 are in, chunk 1 is named as still processing.
        report = run_cli(rig, "report", sid, "--format", "json")
        assert report.exit_code == 0, report.stderr
        document = json_out(report)
        [pending] = document["issues"]
        assert (pending["code"], pending["severity"]) == ("feed-not-finished", "info")
        assert pending["message"] == (
            f"feed {submission.chunks[0].feed_id} (chunk 1) is still IN_PROGRESS, so Amazon's "
            "verdict on its 5 rows is not in yet"
        )
        assert document["summary"]["amazon"]["processed"] == 10

        # Resuming without waiting sends nothing and leaves it resumable.
        resumed = run_cli(rig, "resume", sid, "--no-wait")
        assert resumed.exit_code == 0
        assert f"Not finished yet: feeds-kit status {sid} --wait" in resumed.stdout
        assert len(rig.feeds()) == CHUNKS
        assert_polite(rig)


@pytest.mark.parametrize(
    ("faults", "explanation", "codes"),
    [
        (
            "feed:fatal",
            "Amazon aborted the feed (An internal error occurred while processing the feed; "
            "submit it again.)",
            {"feed-fatal": 1, "90001": 1},
        ),
        (
            "feed:fatal=no-report",
            "Amazon gave no processing report; the usual causes are an upload whose "
            "Content-Type differs from createFeedDocument's, a malformed document, or an "
            "account without the Product Listing role",
            {"feed-fatal": 1},
        ),
    ],
    ids=["with-report", "without-report"],
)
def test_fatal_feed_is_exit_3_with_the_explanation(
    tmp_path: Path, sheet: Path, faults: str, explanation: str, codes: dict[str, int]
) -> None:
    with running_rig(tmp_path / "home", faults=faults) as rig:
        result = submit(rig, sheet)

        assert result.exit_code == 3, result.stderr
        document = json_out(result)
        assert document["summary"]["state"] == "failed"
        assert document["summary"]["byCode"] == codes
        fatal = next(i for i in document["issues"] if i["code"] == "feed-fatal")
        feed_id = document["summary"]["feedIds"][0]
        assert fatal["message"] == (f"feed {feed_id} (chunk 1, 5 rows) ended FATAL: {explanation}")
        assert fatal["hint"] == "fix the cause, then submit these rows again"
        # The other chunks' rows still get their verdict.
        assert document["summary"]["validRows"] == 10
        submission = assert_journal_consistent(rig, document["summary"]["submission"])
        assert submission.state is SubmissionState.FAILED
        assert submission.note == f"feed {feed_id} (chunk 1) ended FATAL: {explanation}"
        assert [c.state for c in submission.chunks] == [
            ChunkState.FATAL,
            ChunkState.DONE,
            ChunkState.DONE,
        ]
        assert_each_chunk_sent_once(rig, submission)
        assert_polite(rig)
        # Failed is final: nothing is left to resume, nothing is sent again.
        resumed = run_cli(rig, "resume")
        assert (resumed.exit_code, resumed.stdout.strip()) == (0, "Nothing to resume.")
        assert len(rig.feeds()) == CHUNKS


@pytest.mark.parametrize("damage", ["report:truncate", "report:corrupt"])
def test_damaged_report_is_an_issue_on_its_chunk(tmp_path: Path, sheet: Path, damage: str) -> None:
    with running_rig(tmp_path / "home", faults=damage) as rig:
        result = submit(rig, sheet)

        assert result.exit_code == 1, result.stderr
        document = json_out(result)
        feed_id = document["summary"]["feedIds"][0]
        [issue] = document["issues"]
        assert (issue["code"], issue["severity"], issue["row"]) == (
            "amazon-report-unreadable",
            "error",
            None,
        )
        assert issue["message"] == (
            f"the processing report of feed {feed_id} cannot be read: it is not valid gzip "
            "data (truncated or corrupt)"
        )
        assert issue["feedId"] == feed_id
        assert document["summary"]["validRows"] == 10
        submission = assert_journal_consistent(rig, document["summary"]["submission"])
        assert submission.state is SubmissionState.DONE
        assert submission.chunks[0].report_path is None
        assert_each_chunk_sent_once(rig, submission)

        # ``report`` fetches a report it could not read again (Amazon keeps it 28 days).
        fetched = len(rig.log("getFeedDocument"))
        again = run_cli(rig, "report", submission.id, "--format", "json")
        assert again.exit_code == 1
        assert json_out(again)["issues"] == document["issues"]
        assert len(rig.log("getFeedDocument")) == fetched + 1
        assert_polite(rig)


def test_windows_1252_report_keeps_its_accents(tmp_path: Path) -> None:
    sheet = write_offers_csv(tmp_path / "offers.csv", ROWS, first=[("FK-MÜTZE-ROT", "9.99", 3)])
    with running_rig(tmp_path / "home", faults="report:windows-1252") as rig:
        result = submit(rig, sheet)

        assert result.exit_code == 1, result.stderr
        document = json_out(result)
        [issue] = document["issues"]
        assert (issue["row"], issue["sku"], issue["code"]) == (2, "FK-MÜTZE-ROT", "90101")
        assert issue["message"] == (
            "The SKU 'FK-MÜTZE-ROT' does not exist for this seller, so it cannot be updated; "
            "create it with an UPDATE message first."
        )
        submission = assert_journal_consistent(rig, document["summary"]["submission"])
        saved = submission.chunks[0].report_path
        assert saved is not None and "FK-MÜTZE-ROT" in saved.read_text(encoding="utf-8")
        assert rig.simulator.listing(SELLER, "FK-MÜTZE-ROT") is None
        assert_each_chunk_sent_once(rig, submission)
        assert_plan_spent(rig)
        assert_polite(rig)
