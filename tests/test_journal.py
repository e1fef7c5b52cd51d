"""The submission journal: schema, permissions, before/after step records, lookups, migration."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from feeds_kit.errors import JournalError, NotFoundError
from feeds_kit.issues import Issue, Severity, Source
from feeds_kit.journal import (
    SCHEMA_VERSION,
    ChunkState,
    Journal,
    NewChunk,
    SubmissionState,
    file_sha256,
    scrub,
)
from feeds_kit.manifest import CellRef, DocumentEntry, Manifest, MessageEntry

DAY = 1_795_000_000.0  # 2026-11-18 (UTC)


class Clock:
    def __init__(self, now: float = DAY) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.0  # every reading is a distinct second: ordering is visible
        return self.now


def manifest(docs: int = 2) -> Manifest:
    return Manifest(
        file="offers.xlsx", sheet="Offers", kind="offers",
        documents=[
            DocumentEntry(f"feed-{d + 1:03d}.json", ["ATVPDKIKX0DER"], {
                1: MessageEntry(1, 2 + d, f"SKU-{d}", "ATVPDKIKX0DER", "PATCH",
                                {"purchasable_offer.our_price": CellRef("C", "Price")}),
            })
            for d in range(docs)
        ],
    )


def new_submission(journal: Journal, *, chunks: int = 2, sha: str = "ab" * 32,
                   issues: list[Issue] | None = None) -> str:
    sid = journal.begin_submission(
        source="/data/offers.xlsx", source_sha256=sha, sheet="Offers", kind="offers",
        profile="shop", seller_id="A1SELLER", region="na", marketplace_ids=["ATVPDKIKX0DER"],
        feed_type="JSON_LISTINGS_FEED", rows=chunks + 1, skipped_rows=[9],
    )
    directory = journal.submission_dir(sid)
    directory.mkdir(parents=True, exist_ok=True)
    new = []
    for i in range(chunks):
        path = directory / f"chunk-{i + 1:03d}.json"
        path.write_bytes(b"{}")
        new.append(NewChunk(path, "cd" * 32, 2, 1, ["ATVPDKIKX0DER"]))
    journal.add_chunks(sid, new, manifest(chunks), local_issues=issues or [])
    return sid


@pytest.fixture
def journal(tmp_path: Path) -> Any:
    j = Journal(tmp_path / "home", clock=Clock())
    yield j
    j.close()


def test_file_is_private_wal_and_full_sync(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Journal(home, clock=Clock()) as j:
        new_submission(j)
        assert j._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert j.user_version == SCHEMA_VERSION
        for name in ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"):
            path = home / name
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_existing_wide_file_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "journal.sqlite3").touch(mode=0o644)
    os.chmod(home / "journal.sqlite3", 0o644)
    Journal(home).close()
    assert stat.S_IMODE((home / "journal.sqlite3").stat().st_mode) == 0o600


def test_ids_count_per_day(tmp_path: Path) -> None:
    clock = Clock()
    with Journal(tmp_path, clock=clock) as j:
        first, second = new_submission(j), new_submission(j)
        clock.now += 86400
        third = new_submission(j)
    assert (first, second, third) == ("S-20261118-0001", "S-20261118-0002", "S-20261119-0001")


def test_created_submission_round_trips(journal: Journal) -> None:
    issue = Issue("price-not-a-number", Severity.ERROR, '"12,99" is not a number', row=9,
                  column="C", header="Price", value="12,99", hint="write 12.99")
    sid = new_submission(journal, issues=[issue])
    sub = journal.get(sid)
    assert sub.state is SubmissionState.CREATED
    assert (sub.source, sub.sheet, sub.kind, sub.profile, sub.seller_id, sub.region) == (
        "/data/offers.xlsx", "Offers", "offers", "shop", "A1SELLER", "na")
    assert (sub.rows, sub.messages, sub.skipped_rows) == (3, 2, [9])
    assert [c.index for c in sub.chunks] == [0, 1]
    assert sub.chunks[0].path == journal.submission_dir(sid) / "chunk-001.json"
    assert sub.chunks[0].state is ChunkState.PENDING
    stored = journal._conn.execute("SELECT path FROM chunks WHERE idx=0").fetchone()[0]
    assert stored == f"submissions/{sid}/chunk-001.json"  # relative: the home may move
    assert journal.manifest(sid).documents[1].messages[1].row == 3
    assert journal.local_issues(sid) == [issue]
    assert journal.local_issues(sid)[0].source is Source.LOCAL


def test_every_step_is_recorded_before_and_after(journal: Journal) -> None:
    sid = new_submission(journal, chunks=1)
    steps = [
        ("create_doc_started", lambda: journal.create_doc_started(sid, 0),
         ChunkState.PENDING, "create_doc_started"),
        ("create_doc_done", lambda: journal.create_doc_done(sid, 0, "DOC-1"),
         ChunkState.DOCUMENT, "create_doc_done"),
        ("upload_started", lambda: journal.upload_started(sid, 0),
         ChunkState.DOCUMENT, "upload_started"),
        ("upload_done", lambda: journal.upload_done(sid, 0), ChunkState.UPLOADED, "upload_done"),
        ("create_feed_started", lambda: journal.create_feed_started(sid, 0),
         ChunkState.CREATING, "create_feed_started"),
        ("create_feed_done", lambda: journal.create_feed_done(sid, 0, "FEED-1"),
         ChunkState.CREATED, "create_feed_done"),
    ]
    seen: list[float] = []
    for kind, step, state, column in steps:
        step()
        # A fresh connection sees it: the step was committed, not just written.
        with Journal(journal.home) as other:
            chunk = other.get(sid).chunk(0)
        assert chunk.state is state, kind
        value = getattr(chunk, column)
        assert value is not None, kind
        seen.append(value)
    assert seen == sorted(seen)
    assert chunk.document_id == "DOC-1"
    assert chunk.feed_id == "FEED-1"
    assert chunk.processing_status == "IN_QUEUE"
    kinds = [e.kind for e in journal.events(sid)]
    assert kinds == ["submission_begun", "submission_created", "create_doc_started",
                     "create_doc_done", "upload_started", "upload_done", "create_feed_started",
                     "feed_created"]


def test_new_document_forgets_the_previous_upload(journal: Journal) -> None:
    sid = new_submission(journal, chunks=1)
    journal.create_doc_started(sid, 0)
    journal.create_doc_done(sid, 0, "DOC-1")
    journal.upload_started(sid, 0)
    journal.upload_done(sid, 0)
    journal.create_doc_started(sid, 0)
    chunk = journal.get(sid).chunk(0)
    assert (chunk.document_id, chunk.upload_done, chunk.state) == (None, None, ChunkState.PENDING)


def test_refused_and_reconciled_none_allow_a_resend(journal: Journal) -> None:
    sid = new_submission(journal, chunks=1)
    journal.create_feed_started(sid, 0)
    journal.create_feed_refused(sid, 0, "400 InvalidInput")
    chunk = journal.get(sid).chunk(0)
    assert (chunk.state, chunk.create_feed_started) == (ChunkState.UPLOADED, None)
    journal.create_feed_started(sid, 0)
    journal.reconciled_none(sid, 0, checked=3)
    chunk = journal.get(sid).chunk(0)
    assert (chunk.state, chunk.create_feed_started) == (ChunkState.UPLOADED, None)
    assert journal.events(sid)[-1].detail == {"feeds_checked": 3}


def test_needs_attention_names_the_candidates(journal: Journal) -> None:
    sid = new_submission(journal, chunks=1)
    journal.create_feed_started(sid, 0)
    journal.needs_attention(sid, 0, "two feeds could be it", ["F1", "F2"])
    sub = journal.get(sid)
    assert sub.state is SubmissionState.ATTENTION
    assert sub.note == "two feeds could be it"
    assert sub.chunks[0].state is ChunkState.ATTENTION
    assert sub.chunks[0].candidates == ["F1", "F2"]
    assert sub in journal.unfinished()


@pytest.mark.parametrize(
    ("status", "state"),
    [("IN_PROGRESS", ChunkState.CREATED), ("DONE", ChunkState.DONE),
     ("FATAL", ChunkState.FATAL), ("CANCELLED", ChunkState.CANCELLED)],
)
def test_record_status(journal: Journal, status: str, state: ChunkState) -> None:
    sid = new_submission(journal, chunks=1)
    journal.create_feed_done(sid, 0, "F1")
    assert journal.record_status(sid, 0, status, result_document_id="R1") is True
    assert journal.record_status(sid, 0, status) is False
    chunk = journal.get(sid).chunk(0)
    assert (chunk.processing_status, chunk.state, chunk.result_document_id) == (
        status, state, "R1")
    assert [e.kind for e in journal.events(sid)].count("status") == 1


def test_report_fetched(journal: Journal) -> None:
    sid = new_submission(journal, chunks=1)
    path = journal.submission_dir(sid) / "report-001.json"
    journal.report_fetch_started(sid, 0, "R1")
    journal.report_fetched(sid, 0, path, {"processed": 1, "errors": 0})
    chunk = journal.get(sid).chunk(0)
    assert chunk.report_path == path
    assert chunk.summary == {"processed": 1, "errors": 0}


def test_lookups(journal: Journal) -> None:
    a = new_submission(journal, sha="11" * 32)
    b = new_submission(journal, sha="22" * 32)
    c = new_submission(journal, sha="11" * 32)
    journal.create_feed_done(b, 1, "FEED-B1")
    journal.set_state(a, SubmissionState.DONE)
    assert journal.get(a).id == a
    found = journal.by_feed_id("FEED-B1")
    assert found is not None
    assert (found[0].id, found[1].index) == (b, 1)
    assert journal.by_feed_id("nope") is None
    assert journal.find("FEED-B1").id == b
    assert journal.find(c).id == c
    assert [s.id for s in journal.latest(2)] == [c, b]
    assert [s.id for s in journal.by_source_hash("11" * 32)] == [c, a]
    assert [s.id for s in journal.unfinished()] == [b, c]
    assert journal.known_feed_ids() == {"FEED-B1"}


@pytest.mark.parametrize("call", ["get", "find", "manifest"])
def test_unknown_ids(journal: Journal, call: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        getattr(journal, call)("S-19990101-0001")
    assert "S-19990101-0001" in str(caught.value)
    assert caught.value.exit_code == 2


def test_unknown_chunk(journal: Journal) -> None:
    sid = new_submission(journal, chunks=1)
    with pytest.raises(NotFoundError, match="has no chunk 5"):
        journal.upload_done(sid, 4)


def test_preparing_submission_is_not_resumed_nor_a_duplicate(journal: Journal) -> None:
    journal.begin_submission(
        source="x.xlsx", source_sha256="33" * 32, sheet=None, kind=None, profile=None,
        seller_id=None, region=None, marketplace_ids=[], feed_type="JSON_LISTINGS_FEED",
    )
    assert journal.unfinished() == []
    assert journal.by_source_hash("33" * 32) == []


def test_presigned_urls_never_reach_the_file(tmp_path: Path) -> None:
    url = ("https://tortuga-prod-na.s3.amazonaws.com/doc?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAEXAMPLE%2F20261118&X-Amz-Signature=deadbeefcafe")
    with Journal(tmp_path, clock=Clock()) as j:
        sid = new_submission(j, chunks=1)
        j.log(sid, "upload_failed", 0, error=f"PUT {url} answered 403", urls=[url])
        j.needs_attention(sid, 0, f"see {url}", [])
        assert j.events(sid)[-2].detail["error"] == (
            "PUT https://tortuga-prod-na.s3.amazonaws.com/doc?… answered 403")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3*"))
    assert b"deadbeefcafe" not in raw
    assert b"AKIAEXAMPLE" not in raw


def test_scrub_keeps_other_text() -> None:
    assert scrub({"a": ["see http://h/p?sig=1 now", 3]}) == {"a": ["see http://h/p?… now", 3]}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Journal(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "journal.sqlite3")
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(JournalError, match="written by a newer feeds-kit"):
        Journal(tmp_path)


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "journal.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError) as caught:
        Journal(tmp_path)
    assert str(caught.value).startswith(
        f"the journal {tmp_path / 'journal.sqlite3'} is not a usable SQLite database")


def test_migration_hook_upgrades_in_order(tmp_path: Path) -> None:
    with Journal(tmp_path, clock=Clock()) as j:
        sid = new_submission(j, chunks=1)

    def add_notes(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE submissions ADD COLUMN notes2 TEXT DEFAULT 'x'")

    class NextJournal(Journal):
        migrations: ClassVar[Mapping[int, Callable[[sqlite3.Connection], None]]] = {
            **Journal.migrations, 2: add_notes}
        schema_version: ClassVar[int] = 2

    with NextJournal(tmp_path) as j:
        assert j.user_version == 2
        assert j.get(sid).id == sid
        assert j._conn.execute("SELECT notes2 FROM submissions").fetchone()[0] == "x"
    with NextJournal(tmp_path) as j:  # already current: nothing runs twice
        assert j.user_version == 2


def test_file_sha256(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"abc")
    assert file_sha256(path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
