"""The submit / wait / resume / collect flow against an in-memory fake of the Feeds API.

The central property: whatever step a run dies at (a crash before or after any request, or
between any two journal records), a fresh Submitter's ``resume`` ends with every chunk created
at Amazon exactly once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feeds_kit.errors import (
    AmbiguousRequestError,
    ApiError,
    FeedFailedError,
    FeedsKitError,
    JournalError,
    UploadExpiredError,
)
from feeds_kit.issues import Issue, Report, Severity, Source
from feeds_kit.journal import ChunkState, Journal, SubmissionState
from feeds_kit.manifest import CellRef, DocumentEntry, Manifest, MessageEntry
from feeds_kit.submission import (
    CONTENT_TYPE,
    ChunkFinished,
    ChunkStarted,
    ChunkUploaded,
    DocumentCreated,
    Event,
    FeedCreated,
    NeedsAttention,
    Reconciled,
    Reconciling,
    SlowFeed,
    StatusChanged,
    SubmissionFinished,
    Submitter,
    UploadExpired,
    Waiting,
    _exclusive,
)
from feeds_kit.waiter import Waiter, WaitTimeoutError

START = 1_795_000_000.0
MARKET = "ATVPDKIKX0DER"
SIGNATURE = "X-Amz-Signature=SECRETSIG0123"


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs, no ``except Exception`` catches it."""


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Upload:
    document_id: str
    url: str


@dataclass
class Download:
    data: bytes
    charset: str | None = "UTF-8"
    content_type: str | None = "application/json; charset=UTF-8"


@dataclass
class FakeAmazon:
    """The Feeds API in memory, with knobs for the failures Amazon and networks produce."""

    time: FakeTime
    documents: dict[str, bytes | None] = field(default_factory=dict)
    doc_content_types: dict[str, str] = field(default_factory=dict)
    upload_content_types: dict[str, str] = field(default_factory=dict)
    feeds: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    crash_at: int | None = None
    crash_after: bool = False
    expire_uploads: int = 0
    #: per createFeed call: "taken" (created, answer lost) or "lost" (never arrived)
    ambiguous: list[str] = field(default_factory=list)
    refuse_create: int = 0
    status_script: list[str] = field(default_factory=lambda: ["IN_QUEUE", "IN_PROGRESS",
                                                              "DONE"])
    final_status: str | None = None
    #: sku -> issues Amazon reports for it (messageId filled in)
    sku_issues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    file_issues: list[dict[str, Any]] = field(default_factory=list)
    report_override: bytes | None = None
    no_report: bool = False
    interrupt_get_feed_at: int | None = None
    polls: dict[str, int] = field(default_factory=dict)
    reports: dict[str, bytes] = field(default_factory=dict)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.crash_at == len(self.calls) and not self.crash_after:
            raise Crash(f"before call {len(self.calls)} {name}")

    def _after(self) -> None:
        if self.crash_at == len(self.calls) and self.crash_after:
            raise Crash(f"after call {len(self.calls)}")

    def _iso(self) -> str:
        return datetime.fromtimestamp(self.time.now, UTC).isoformat().replace("+00:00", "Z")

    # -- the API ----------------------------------------------------------------------------

    def create_feed_document(self, content_type: str) -> Upload:
        self._call("create_feed_document")
        doc_id = f"DOC-{len(self.documents) + 1}"
        self.documents[doc_id] = None
        self.doc_content_types[doc_id] = content_type
        self._after()
        return Upload(doc_id, f"https://s3.example/{doc_id}?X-Amz-Date=1&{SIGNATURE}")

    def upload_document(self, url: str, data: bytes, content_type: str) -> None:
        self._call("upload_document")
        if self.expire_uploads > 0:
            self.expire_uploads -= 1
            raise UploadExpiredError("the upload URL expired (S3: Request has expired)")
        doc_id = url.split("/")[-1].split("?")[0]
        self.documents[doc_id] = data
        self.upload_content_types[doc_id] = content_type
        self._after()

    def create_feed(self, *, feed_type: str, marketplace_ids: Sequence[str], document_id: str,
                    feed_options: Any = None) -> str:
        self._call("create_feed")
        if self.refuse_create > 0:
            self.refuse_create -= 1
            raise ApiError("createFeed refused: InvalidInput", operation="createFeed",
                           status=400)
        mode = self.ambiguous.pop(0) if self.ambiguous else None
        if mode == "lost":
            raise AmbiguousRequestError("createFeed timed out")
        assert self.documents.get(document_id) is not None, "createFeed of an empty document"
        feed_id = self._add_feed(feed_type, list(marketplace_ids), document_id)
        if mode == "taken":
            raise AmbiguousRequestError("createFeed: connection dropped after sending")
        self._after()
        return feed_id

    def _add_feed(self, feed_type: str, marketplace_ids: list[str],
                  document_id: str | None) -> str:
        feed_id = str(50_000 + len(self.feeds) + 1)
        self.feeds.append({
            "feedId": feed_id, "feedType": feed_type, "marketplaceIds": marketplace_ids,
            "createdTime": self._iso(), "processingStatus": "IN_QUEUE",
            "_document": document_id,
        })
        return feed_id

    def foreign_feed(self, feed_type: str = "JSON_LISTINGS_FEED") -> str:
        """A feed another tool created (not in our journal)."""
        return self._add_feed(feed_type, [MARKET], None)

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        self._call("get_feed")
        if self.interrupt_get_feed_at is not None and self.interrupt_get_feed_at == len(
            [c for c in self.calls if c == "get_feed"]
        ):
            raise KeyboardInterrupt
        feed = self._feed(feed_id)
        if feed["processingStatus"] not in ("DONE", "FATAL", "CANCELLED"):
            n = self.polls.get(feed_id, 0)
            self.polls[feed_id] = n + 1
            status = self.status_script[min(n, len(self.status_script) - 1)]
            if status == "DONE" and self.final_status:
                status = self.final_status
            feed["processingStatus"] = status
            if status in ("DONE", "FATAL") and not self.no_report:
                feed["resultFeedDocumentId"] = f"RES-{feed_id}"
                self.reports[f"RES-{feed_id}"] = self._report(feed)
        self._after()
        return {k: v for k, v in feed.items() if not k.startswith("_")}

    def get_feeds(self, *, feed_types: Sequence[str] | None = None,
                  marketplace_ids: Sequence[str] | None = None,
                  processing_statuses: Sequence[str] | None = None,
                  created_since: datetime | None = None, created_until: datetime | None = None,
                  page_size: int = 100) -> list[dict[str, Any]]:
        self._call("get_feeds")
        found = []
        for feed in self.feeds:
            created = datetime.fromisoformat(feed["createdTime"].replace("Z", "+00:00"))
            if feed_types and feed["feedType"] not in feed_types:
                continue
            if created_since and created < created_since:
                continue
            if marketplace_ids and not set(marketplace_ids) & set(feed["marketplaceIds"]):
                continue
            found.append({k: v for k, v in feed.items() if not k.startswith("_")})
        self._after()
        return found

    def cancel_feed(self, feed_id: str) -> None:
        self._call("cancel_feed")
        feed = self._feed(feed_id)
        if feed["processingStatus"] != "IN_QUEUE":
            raise ApiError("cancelFeed: only IN_QUEUE feeds can be cancelled", status=400)
        feed["processingStatus"] = "CANCELLED"

    def get_feed_document(self, document_id: str) -> dict[str, Any]:
        self._call("get_feed_document")
        return {"feedDocumentId": document_id, "compressionAlgorithm": "GZIP",
                "url": f"https://s3.example/{document_id}?{SIGNATURE}"}

    def download_document(self, url: str, *, compression: str | None = None) -> Download:
        self._call("download_document")
        doc_id = url.split("/")[-1].split("?")[0]
        data = self.report_override or self.reports[doc_id]
        # The real client gunzips; this fake hands over the gzip bytes to prove decode copes.
        return Download(gzip.compress(data) if compression == "GZIP" else data)

    # -- helpers ----------------------------------------------------------------------------

    def _feed(self, feed_id: str) -> dict[str, Any]:
        for feed in self.feeds:
            if feed["feedId"] == feed_id:
                return feed
        raise ApiError(f"no feed {feed_id}", status=404)

    def _report(self, feed: dict[str, Any]) -> bytes:
        issues = list(self.file_issues)
        messages = []
        if feed["_document"]:
            messages = json.loads(self.documents[feed["_document"]] or b"{}")["messages"]
        for message in messages:
            for issue in self.sku_issues.get(message["sku"], []):
                issues.append({"messageId": message["messageId"], "sku": message["sku"],
                               **issue})
        invalid = {i["messageId"] for i in issues if i["severity"] == "ERROR" and
                   "messageId" in i}
        return json.dumps({
            "header": {"sellerId": "A1SELLER", "version": "2.0", "feedId": feed["feedId"]},
            "issues": issues,
            "summary": {"errors": sum(i["severity"] == "ERROR" for i in issues),
                        "warnings": sum(i["severity"] == "WARNING" for i in issues),
                        "messagesProcessed": len(messages),
                        "messagesAccepted": len(messages) - len(invalid),
                        "messagesInvalid": len(invalid)},
        }).encode()

    def created_documents(self) -> list[bytes]:
        """The bytes behind every feed we created (not foreign ones)."""
        return [self.documents[f["_document"]] or b"" for f in self.feeds if f["_document"]]


@dataclass
class BuiltDoc:
    path: Path
    marketplace_ids: list[str]
    message_count: int
    size: int
    sha256: str


@dataclass
class Build:
    documents: list[BuiltDoc]
    manifest: Manifest
    skipped_rows: list[int]


def make_build(tmp_path: Path, chunks: int = 2, per_chunk: int = 2) -> Build:
    out = tmp_path / "build"
    out.mkdir(exist_ok=True)
    documents, entries_by_doc = [], []
    row = 2
    price = CellRef("C", "Price")
    for c in range(chunks):
        messages, entries = [], {}
        for m in range(1, per_chunk + 1):
            sku = f"SKU-{row}"
            messages.append({
                "messageId": m, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
                "patches": [{"op": "merge", "path": "/attributes/purchasable_offer", "value": [
                    {"marketplace_id": MARKET, "currency": "USD", "audience": "ALL",
                     "our_price": [{"schedule": [{"value_with_tax": 10 + row}]}]}]}],
            })
            entries[m] = MessageEntry(m, row, sku, MARKET, "PATCH",
                                      {"purchasable_offer": price,
                                       "purchasable_offer.our_price": price})
            row += 1
        data = json.dumps({"header": {"sellerId": "A1SELLER", "version": "2.0"},
                           "messages": messages}).encode()
        path = out / f"feed-{c + 1:03d}.json"
        path.write_bytes(data)
        documents.append(BuiltDoc(path, [MARKET], per_chunk, len(data),
                                  hashlib.sha256(data).hexdigest()))
        entries_by_doc.append(DocumentEntry(path.name, [MARKET], entries))
    source = tmp_path / "offers.csv"
    if not source.exists():
        source.write_text("sku,price\n")
    manifest = Manifest(file=str(source), sheet="Offers", kind="offers", seller_id="A1SELLER",
                        documents=entries_by_doc)
    return Build(documents, manifest, skipped_rows=[])


class World:
    """A home directory, a fake clock and a fake Amazon; Submitters made fresh on demand."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.home = tmp_path / "home"
        self.time = FakeTime()
        self.amazon = FakeAmazon(self.time)
        self.events: list[Event] = []
        self.journals: list[Journal] = []

    def submitter(self, *, on_event: Callable[[Event], None] | None = None,
                  waiter: Waiter | None = None, **kw: Any) -> Submitter:
        journal = Journal(self.home, clock=self.time.clock)
        self.journals.append(journal)
        return Submitter(self.amazon, journal, home=self.home, clock=self.time.clock,
                         sleep=self.time.sleep, waiter=waiter,
                         on_event=on_event or self.events.append, **kw)

    def create(self, submitter: Submitter, chunks: int = 2,
               local_report: Report | None = None, feed_type: str = "JSON_LISTINGS_FEED",
               ) -> str:
        build = make_build(self.tmp_path, chunks)
        submission = submitter.create(
            build, source=self.tmp_path / "offers.csv", sheet="Offers", kind="offers",
            profile="shop", seller_id="A1SELLER", region="na", marketplace_ids=[MARKET],
            feed_type=feed_type, local_report=local_report,
        )
        return submission.id

    def close(self) -> None:
        for journal in self.journals:
            journal.close()


@pytest.fixture
def world(tmp_path: Path) -> Any:
    w = World(tmp_path)
    yield w
    w.close()


def assert_each_chunk_created_once(world: World, sid: str) -> None:
    submission = world.submitter().journal.get(sid)
    created = world.amazon.created_documents()
    for chunk in submission.chunks:
        assert created.count(chunk.path.read_bytes()) == 1, f"chunk {chunk.index + 1}"
    assert len(created) == len(submission.chunks)
    feed_ids = [c.feed_id or "" for c in submission.chunks]
    assert sorted(feed_ids) == sorted(f["feedId"] for f in world.amazon.feeds
                                      if f["_document"])


# -- create ----------------------------------------------------------------------------------


def test_create_copies_documents_and_manifest(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter)
    submission = submitter.journal.get(sid)
    directory = world.home / "submissions" / sid
    assert submission.state is SubmissionState.CREATED
    assert [c.path for c in submission.chunks] == [directory / "chunk-001.json",
                                                   directory / "chunk-002.json"]
    assert (directory / "chunk-001.json").read_bytes() == (
        world.tmp_path / "build" / "feed-001.json").read_bytes()
    assert Manifest.load(directory / "manifest.json").documents[1].messages[2].row == 5
    assert submission.source_sha256 == hashlib.sha256(b"sku,price\n").hexdigest()
    assert world.amazon.calls == []  # nothing sent
    assert [s.id for s in submitter.previous(world.tmp_path / "offers.csv")] == [sid]


def test_create_refuses_a_document_changed_since_the_build(world: World) -> None:
    build = make_build(world.tmp_path)
    build.documents[1].path.write_bytes(b'{"tampered": true}')
    with pytest.raises(FeedsKitError, match="changed after it was built"):
        world.submitter().create(build, source=world.tmp_path / "offers.csv", sheet=None,
                                 kind=None, profile=None, seller_id=None, region="na",
                                 marketplace_ids=[MARKET])


def test_interrupted_preparation_is_reported_not_sent(world: World) -> None:
    submitter = world.submitter()
    sid = submitter.journal.begin_submission(
        source="x.csv", source_sha256=None, sheet=None, kind=None, profile=None,
        seller_id=None, region=None, marketplace_ids=[MARKET], feed_type="JSON_LISTINGS_FEED")
    with pytest.raises(JournalError, match="interrupted while it was being prepared"):
        submitter.run(sid)
    assert submitter.resume() == []


# -- the happy path --------------------------------------------------------------------------


def test_run_sends_each_chunk_then_waits(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter)
    submission = submitter.run(sid)
    assert submission.state is SubmissionState.DONE
    assert [c.state for c in submission.chunks] == [ChunkState.DONE, ChunkState.DONE]
    assert_each_chunk_created_once(world, sid)
    # createFeedDocument and the PUT carry the identical content type
    assert set(world.amazon.doc_content_types.values()) == {CONTENT_TYPE}
    assert world.amazon.upload_content_types == world.amazon.doc_content_types
    # strictly one chunk at a time: each chunk's three steps finish before the next starts
    assert world.amazon.calls[:6] == ["create_feed_document", "upload_document", "create_feed"] * 2
    kinds = [type(e).__name__ for e in world.events]
    assert kinds[:8] == ["ChunkStarted", "DocumentCreated", "ChunkUploaded", "FeedCreated",
                         "ChunkStarted", "DocumentCreated", "ChunkUploaded", "FeedCreated"]
    assert isinstance(world.events[-1], SubmissionFinished)
    finished = [e for e in world.events if isinstance(e, ChunkFinished)]
    assert [(e.index, e.status) for e in finished] == [(0, "DONE"), (1, "DONE")]
    statuses = [(e.index, e.previous, e.status) for e in world.events
                if isinstance(e, StatusChanged)]
    assert statuses[:2] == [(0, "IN_QUEUE", "IN_PROGRESS"), (1, "IN_QUEUE", "IN_PROGRESS")]
    waiting = [e for e in world.events if isinstance(e, Waiting)]
    assert waiting[0].pending == tuple(submission.feed_ids())
    assert waiting[0].next_check_in > 0


def test_run_without_wait_then_wait(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter)
    assert submitter.run(sid, wait=False).state is SubmissionState.SUBMITTED
    assert "get_feed" not in world.amazon.calls
    assert submitter.wait(sid).state is SubmissionState.DONE
    # a finished submission is left alone
    calls = len(world.amazon.calls)
    assert submitter.run(sid).state is SubmissionState.DONE
    assert len(world.amazon.calls) == calls


def test_refresh_polls_once(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter)
    submitter.run(sid, wait=False)
    submission = submitter.refresh(sid)
    assert [c.processing_status for c in submission.chunks] == ["IN_QUEUE", "IN_QUEUE"]
    assert world.amazon.calls.count("get_feed") == 2
    submission = submitter.refresh(submission.chunks[0].feed_id or "")
    assert [c.processing_status for c in submission.chunks] == ["IN_PROGRESS", "IN_PROGRESS"]


# -- the verdict -----------------------------------------------------------------------------


def test_collect_maps_amazon_issues_onto_rows(world: World) -> None:
    world.amazon.sku_issues = {
        "SKU-3": [{"code": "99022", "severity": "ERROR", "message": "Price too low.",
                   "attributeName": "purchasable_offer.our_price"}],
        "SKU-4": [{"code": "90220", "severity": "WARNING",
                   "message": "'[batteries_required]' is required but not supplied."}],
    }
    local = Report(file="offers.csv", rows=5)
    local.add(Issue("price-not-a-number", Severity.ERROR, '"12,99" is not a number', row=6,
                    column="C", header="Price", value="12,99"))
    submitter = world.submitter()
    sid = world.create(submitter, local_report=local)
    submitter.run(sid)
    verdict = submitter.collect(sid)
    assert [(i.source, i.row, i.column, i.code, i.severity) for i in verdict.issues] == [
        (Source.LOCAL, 6, "C", "price-not-a-number", Severity.ERROR),
        (Source.AMAZON, 3, "C", "99022", Severity.ERROR),
        (Source.AMAZON, 4, None, "90220", Severity.WARNING),
    ]
    feeds = submitter.journal.get(sid).feed_ids()
    assert verdict.issues[1].feed_id == feeds[0]
    assert verdict.issues[1].message_id == 2
    assert verdict.processed_rows == {2, 3, 4, 5}
    assert verdict.valid_rows == 3
    assert verdict.rows == 5
    assert [c.summary.to_dict() if c.summary else None for c in verdict.chunks] == [
        {"processed": 2, "accepted": 1, "invalid": 1, "errors": 1, "warnings": 0},
        {"processed": 2, "accepted": 2, "invalid": 0, "errors": 0, "warnings": 1},
    ]
    assert verdict.totals.processed == 4
    assert verdict.exit_code() == 1
    assert verdict.meta["feed_ids"] == feeds
    # reports are saved: collecting again downloads nothing
    paths = [c.report_path for c in verdict.chunks]
    assert all(p is not None and p.is_file() for p in paths)
    downloads = world.amazon.calls.count("download_document")
    submitter.collect(sid)
    assert world.amazon.calls.count("download_document") == downloads


def test_collect_names_unsent_and_unfinished_chunks(world: World) -> None:
    world.amazon.status_script = ["IN_PROGRESS"]
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    verdict = submitter.collect(sid)
    assert [(i.code, i.severity) for i in verdict.issues] == [("chunk-not-sent",
                                                                Severity.WARNING)]
    assert verdict.issues[0].message == (
        "chunk 1 (2 rows) has not been sent to Amazon yet (pending)")
    submitter.run(sid, wait=False)
    submitter.refresh(sid)
    verdict = submitter.collect(sid)
    assert [(i.code, i.severity) for i in verdict.issues] == [("feed-not-finished",
                                                                Severity.INFO)]
    assert verdict.issues[0].hint == f"run feeds-kit status {sid} --wait, then the report again"
    assert verdict.processed_rows == set()


def test_unreadable_report_is_an_issue_not_a_crash(world: World) -> None:
    world.amazon.report_override = b'{"header": {"feedId": "1"}, "issues": [{"mess'
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    verdict = submitter.collect(sid)
    assert [(i.code, i.row) for i in verdict.issues] == [("amazon-report-unreadable", None)]
    assert "is not valid JSON, perhaps truncated" in verdict.issues[0].message
    assert verdict.processed_rows == set()
    # the next collect fetches it again (the saved copy is damaged)
    world.amazon.report_override = None
    assert submitter.collect(sid).processed_rows == {2, 3}


def test_done_without_report(world: World) -> None:
    world.amazon.no_report = True
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    verdict = submitter.collect(sid)
    assert [i.code for i in verdict.issues] == ["feed-without-report"]


# -- failures --------------------------------------------------------------------------------


def test_fatal_feed_raises_with_the_likely_cause(world: World) -> None:
    world.amazon.final_status = "FATAL"
    world.amazon.file_issues = [{"code": "4002006", "severity": "ERROR",
                                 "message": "attribute 'version' does not match the required "
                                            "value"}]
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    with pytest.raises(FeedFailedError) as caught:
        submitter.run(sid)
    feed_id = submitter.journal.get(sid).feed_ids()[0]
    assert str(caught.value).startswith(
        f"feed {feed_id} (chunk 1) ended FATAL: the document is not a valid JSON_LISTINGS_FEED"
    )
    assert caught.value.exit_code == 3
    assert caught.value.context["cause"] == "malformed-document"
    submission = submitter.journal.get(sid)
    assert submission.state is SubmissionState.FAILED
    assert submission.note == str(caught.value)
    assert submission.chunks[0].report_path is not None  # fetched while failing
    verdict = submitter.collect(sid)
    assert [(i.code, i.row) for i in verdict.issues] == [("4002006", None), ("feed-fatal", None)]
    assert verdict.failed
    assert verdict.processed_rows == set()


def test_retired_feed_type_is_explained(world: World) -> None:
    world.amazon.final_status = "FATAL"
    world.amazon.no_report = True
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1,
                       feed_type="POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA")
    with pytest.raises(FeedFailedError, match="was retired on 2025-07-31"):
        submitter.run(sid)


def test_cancel_while_in_queue(world: World) -> None:
    world.amazon.status_script = ["IN_QUEUE"]
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid, wait=False)
    feed_id = submitter.journal.get(sid).feed_ids()[0]
    submitter.cancel(feed_id)
    submission = submitter.journal.get(sid)
    assert submission.chunks[0].state is ChunkState.CANCELLED
    assert submission.state is SubmissionState.FAILED
    verdict = submitter.collect(sid)
    assert [i.code for i in verdict.issues] == ["feed-cancelled"]
    assert verdict.issues[0].message == (
        f"feed {feed_id} (chunk 1, 2 rows) was cancelled before Amazon processed it")
    kinds = [e.kind for e in submitter.journal.events(sid)]
    assert "cancel_requested" in kinds and "cancel_done" in kinds


def test_cancel_refused_is_recorded(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    with pytest.raises(ApiError, match="only IN_QUEUE"):
        submitter.cancel(submitter.journal.get(sid).feed_ids()[0])
    assert submitter.journal.events(sid)[-1].kind == "cancel_refused"


def test_resume_reports_failed_submissions_without_raising(world: World) -> None:
    world.amazon.final_status = "FATAL"
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    [submission] = submitter.resume()
    assert submission.id == sid
    assert submission.state is SubmissionState.FAILED


# -- uploads ---------------------------------------------------------------------------------


def test_expired_upload_gets_a_new_document(world: World) -> None:
    world.amazon.expire_uploads = 1
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    assert world.amazon.calls[:5] == ["create_feed_document", "upload_document",
                                      "create_feed_document", "upload_document", "create_feed"]
    assert [e for e in world.events if isinstance(e, UploadExpired)] == [
        UploadExpired(sid, 0, 1)]
    assert world.amazon.feeds[0]["_document"] == "DOC-2"
    assert_each_chunk_created_once(world, sid)


def test_upload_expiring_every_time_stops_resumably(world: World) -> None:
    world.amazon.expire_uploads = 3
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    with pytest.raises(UploadExpiredError, match="expired 3 times in a row"):
        submitter.run(sid)
    assert "create_feed" not in world.amazon.calls
    assert world.submitter().resume(sid)[0].state is SubmissionState.DONE
    assert_each_chunk_created_once(world, sid)


def test_document_changed_on_disk_is_not_sent(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.journal.get(sid).chunks[0].path.write_bytes(b"{}")
    with pytest.raises(JournalError, match="changed since it was recorded"):
        submitter.run(sid)
    assert world.amazon.calls == []


def test_refused_create_feed_can_be_resumed(world: World) -> None:
    world.amazon.refuse_create = 1
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    with pytest.raises(ApiError, match="InvalidInput"):
        submitter.run(sid)
    assert submitter.journal.get(sid).chunks[0].state is ChunkState.UPLOADED
    world.submitter().resume(sid)
    # the uploaded document is reused: no second createFeedDocument
    assert world.amazon.calls.count("create_feed_document") == 1
    assert_each_chunk_created_once(world, sid)


def test_stale_document_is_uploaded_again(world: World) -> None:
    world.amazon.refuse_create = 1
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    with pytest.raises(ApiError):
        submitter.run(sid)
    world.time.now += 3 * 86400  # the document id would have expired
    world.submitter().resume(sid)
    assert world.amazon.calls.count("create_feed_document") == 2
    assert world.amazon.feeds[0]["_document"] == "DOC-2"


# -- the ambiguous createFeed ----------------------------------------------------------------


def test_ambiguous_create_feed_that_was_taken_is_adopted(world: World) -> None:
    world.amazon.ambiguous = ["taken"]
    submitter = world.submitter()
    sid = world.create(submitter)
    submitter.run(sid)
    reconciled = [e for e in world.events if isinstance(e, Reconciled)]
    assert [(e.index, e.outcome) for e in reconciled] == [(0, "adopted")]
    assert reconciled[0].feed_id == world.amazon.feeds[0]["feedId"]
    assert world.amazon.calls.count("create_feed") == 2  # chunk 2 only once more
    assert_each_chunk_created_once(world, sid)
    assert "feed_adopted" in [e.kind for e in submitter.journal.events(sid)]


def test_ambiguous_create_feed_that_was_lost_is_created_again(world: World) -> None:
    world.amazon.ambiguous = ["lost"]
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    reconciled = [e for e in world.events if isinstance(e, Reconciled)]
    assert [(e.index, e.outcome) for e in reconciled] == [(0, "none")]
    assert world.amazon.calls.count("create_feed") == 2
    assert world.amazon.calls.count("create_feed_document") == 1  # the document id is reused
    assert_each_chunk_created_once(world, sid)


def test_reconcile_ignores_feeds_the_journal_already_holds(world: World) -> None:
    world.amazon.ambiguous = ["answered", "taken"]  # chunk 1 normal, chunk 2 ambiguous
    submitter = world.submitter()
    sid = world.create(submitter)
    submitter.run(sid)
    # chunk 1's feed is in the same window but belongs to chunk 1: chunk 2 adopts its own
    reconciled = [e for e in world.events if isinstance(e, Reconciled)]
    assert [(e.index, e.outcome, e.feed_id) for e in reconciled] == [
        (1, "adopted", world.amazon.feeds[1]["feedId"])]
    assert_each_chunk_created_once(world, sid)


def test_several_candidates_need_attention_and_a_decision(world: World) -> None:
    world.amazon.ambiguous = ["lost"]
    submitter = world.submitter()
    sid = world.create(submitter)
    first, second = world.amazon.foreign_feed(), world.amazon.foreign_feed()
    submission = submitter.run(sid)
    assert submission.state is SubmissionState.ATTENTION
    chunk = submission.chunks[0]
    assert chunk.state is ChunkState.ATTENTION
    assert chunk.candidates == [first, second]
    assert f"({first}, {second})" in (submission.note or "")
    [attention] = [e for e in world.events if isinstance(e, NeedsAttention)]
    assert attention.candidates == (first, second)
    assert "create_feed" in world.amazon.calls and world.amazon.calls.count("create_feed") == 1
    assert submission.chunks[1].state is ChunkState.PENDING  # stopped, nothing guessed
    # resuming without a decision asks Amazon again and still stops
    again = world.submitter().resume(sid)[0]
    assert again.state is SubmissionState.ATTENTION
    assert world.amazon.calls.count("create_feed") == 1
    # a person says none of them is ours: the chunk is created, then the rest
    decider = world.submitter()
    decider.adopt(sid, 0, None)
    done = decider.resume(sid)[0]
    assert done.state is SubmissionState.DONE
    assert_each_chunk_created_once(world, sid)


def test_adopting_a_feed_by_hand(world: World) -> None:
    world.amazon.ambiguous = ["lost"]
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    first, second = world.amazon.foreign_feed(), world.amazon.foreign_feed()
    submitter.run(sid)
    submitter.adopt(sid, 0, second)
    assert submitter.resume(sid)[0].state is SubmissionState.DONE
    assert submitter.journal.get(sid).feed_ids() == [second]
    with pytest.raises(FeedsKitError, match="does not need a decision"):
        submitter.adopt(sid, 0, first)


def test_reconcile_window_excludes_older_feeds_and_other_marketplaces(world: World) -> None:
    old = world.amazon.foreign_feed()
    world.time.now += 3600
    other = world.amazon._add_feed("JSON_LISTINGS_FEED", [MARKET, "A2EUQ1WTGCTBG2"], None)
    world.amazon.ambiguous = ["taken"]
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    [reconciled] = [e for e in world.events if isinstance(e, Reconciled)]
    assert reconciled.outcome == "adopted"
    assert reconciled.feed_id not in (old, other)


# -- crashes at every step -------------------------------------------------------------------

CLEAN_RUN_CALLS = 12  # 2 chunks x (document, upload, createFeed) + 2 x 3 polls


def test_clean_run_call_count(world: World) -> None:
    submitter = world.submitter()
    submitter.run(world.create(submitter))
    assert len(world.amazon.calls) == CLEAN_RUN_CALLS
    assert len(world.events) == 17  # the crash-between-records test covers the first 16


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("step", range(1, CLEAN_RUN_CALLS + 1))
def test_crash_at_any_call_then_resume_sends_each_chunk_once(
    world: World, step: int, after: bool
) -> None:
    submitter = world.submitter()
    sid = world.create(submitter)
    world.amazon.crash_at, world.amazon.crash_after = step, after
    with pytest.raises(Crash):
        submitter.run(sid)
    world.amazon.crash_at = None
    world.time.now += 30
    [resumed] = world.submitter().resume()
    assert resumed.state is SubmissionState.DONE, resumed.note
    assert_each_chunk_created_once(world, sid)


@pytest.mark.parametrize("event_index", range(1, 17))  # all but the final event
def test_crash_between_journal_records_then_resume(world: World, event_index: int) -> None:
    seen: list[Event] = []

    def dying(event: Event) -> None:
        seen.append(event)
        if len(seen) == event_index:
            raise Crash(f"at event {event_index}: {event}")

    submitter = world.submitter(on_event=dying)
    sid = world.create(submitter)
    with pytest.raises(Crash):
        submitter.run(sid)
    [resumed] = world.submitter().resume()
    assert resumed.state is SubmissionState.DONE
    assert_each_chunk_created_once(world, sid)


def test_crash_after_create_feed_is_reconciled_on_resume(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    world.amazon.crash_at, world.amazon.crash_after = 3, True  # createFeed taken, then killed
    with pytest.raises(Crash):
        submitter.run(sid)
    assert submitter.journal.get(sid).chunks[0].state is ChunkState.CREATING
    world.amazon.crash_at = None
    world.submitter().resume()
    assert [type(e).__name__ for e in world.events if isinstance(e, Reconciling | Reconciled)
            ] == ["Reconciling", "Reconciled"]
    assert world.amazon.calls.count("create_feed") == 1
    assert_each_chunk_created_once(world, sid)


# -- waiting ---------------------------------------------------------------------------------


def test_wait_timeout_then_wait_again(world: World) -> None:
    world.amazon.status_script = ["IN_QUEUE"] * 5 + ["DONE"]
    waiter = Waiter(delay=5, max_delay=5, multiplier=1, jitter=0, max_wait=12,
                    clock=world.time.clock, sleep=world.time.sleep)
    submitter = world.submitter(waiter=waiter)
    sid = world.create(submitter, chunks=1)
    with pytest.raises(WaitTimeoutError):
        submitter.run(sid)
    assert submitter.journal.get(sid).state is SubmissionState.SUBMITTED
    assert world.submitter(waiter=waiter).wait(sid).state is SubmissionState.DONE


def test_interrupted_wait_keeps_the_journal_consistent(world: World) -> None:
    world.amazon.interrupt_get_feed_at = 3
    submitter = world.submitter()
    sid = world.create(submitter)
    with pytest.raises(KeyboardInterrupt):
        submitter.run(sid)
    submission = submitter.journal.get(sid)
    assert submission.state is SubmissionState.SUBMITTED
    assert [c.processing_status for c in submission.chunks] == ["IN_QUEUE", "IN_QUEUE"]
    world.amazon.interrupt_get_feed_at = None
    assert world.submitter().wait(sid).state is SubmissionState.DONE
    assert len(world.amazon.feeds) == 2


def test_slow_feed_is_reported_and_journalled(world: World) -> None:
    world.amazon.status_script = ["IN_QUEUE"] * 4 + ["DONE"]
    waiter = Waiter(delay=10, max_delay=10, multiplier=1, jitter=0, slow_after={"IN_QUEUE": 25},
                    clock=world.time.clock, sleep=world.time.sleep)
    submitter = world.submitter(waiter=waiter)
    sid = world.create(submitter, chunks=1)
    submitter.run(sid)
    [slow] = [e for e in world.events if isinstance(e, SlowFeed)]
    assert (slow.index, slow.status, slow.duration) == (0, "IN_QUEUE", 30.0)
    assert "slow" in [e.kind for e in submitter.journal.events(sid)]


def test_a_second_process_cannot_work_on_the_same_submission(world: World) -> None:
    submitter = world.submitter()
    sid = world.create(submitter, chunks=1)
    lock = world.home / "submissions" / sid / ".lock"
    with _exclusive(lock, "test"), pytest.raises(JournalError,
                                                 match="another feeds-kit process"):
        world.submitter().run(sid)
    assert world.amazon.calls == []


# -- secrets ---------------------------------------------------------------------------------


def test_no_presigned_signature_anywhere(world: World) -> None:
    world.amazon.expire_uploads = 1
    world.amazon.sku_issues = {"SKU-2": [{"severity": "ERROR", "message": "bad",
                                          "code": "1"}]}
    submitter = world.submitter()
    sid = world.create(submitter)
    submitter.run(sid)
    verdict = submitter.collect(sid)
    stored = b"".join(p.read_bytes() for p in world.home.rglob("*") if p.is_file())
    assert b"SECRETSIG" not in stored
    assert "SECRETSIG" not in repr(world.events)
    assert "SECRETSIG" not in json.dumps([i.to_dict() for i in verdict.issues])
    assert "SECRETSIG" not in repr(submitter.journal.events())


def test_event_types_are_exported() -> None:
    for kind in (ChunkStarted, DocumentCreated, ChunkUploaded, FeedCreated, Reconciling,
                 Reconciled, NeedsAttention, StatusChanged, Waiting, SlowFeed, ChunkFinished,
                 SubmissionFinished, UploadExpired):
        assert issubclass(kind, Event)


def test_a_wait_for_amazons_submission_limit_is_announced_with_an_eta(world: World) -> None:
    from feeds_kit.ratelimit import Budget, Limit, RateLimiter
    from feeds_kit.submission import Pacing

    # One createFeed a minute, none in reserve: the second chunk waits, and says so.
    world.amazon.limiter = RateLimiter(
        {"createFeed": Limit(1 / 60, 1)}, budgets={"JSON_LISTINGS_FEED": Budget(5, 300.0)},
        clock=world.time.clock, sleep=world.time.sleep, margin=0.0,
    )

    class Paced:
        """The fake Amazon, its createFeed taking a token as the real client does."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def create_feed(self, **kw: Any) -> str:
            self.inner.limiter.acquire("createFeed", feed_type=kw["feed_type"], region="na")
            return self.inner.create_feed(**kw)

    submitter = world.submitter()
    submitter.client = Paced(world.amazon)
    sid = world.create(submitter)
    submitter.run(sid, wait=False)
    pacing = [e for e in world.events if isinstance(e, Pacing)]
    assert [(e.index, e.remaining) for e in pacing] == [(1, 1)]
    assert pacing[0].wait == pytest.approx(60.0, abs=1.0)
    assert pacing[0].eta == pytest.approx(pacing[0].wait)
