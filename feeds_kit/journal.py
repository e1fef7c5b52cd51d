"""The submission journal: a durable record of what was sent to Amazon, step by step.

One SQLite file, ``<home>/journal.sqlite3`` (WAL, ``synchronous=FULL``, mode 0600), holds:

* ``submissions`` — one per ``submit``: source file and its SHA-256, sheet, kind, profile, seller,
  region, marketplaces, state, counts;
* ``chunks`` — one per feed document: its file under ``<home>/submissions/<id>/``, hash and
  message count, then each step of the Feeds flow as a pair of timestamps (``*_started`` written
  and committed *before* the request, ``*_done`` after it), the ``feedDocumentId``, ``feedId``,
  ``processingStatus``, result document id and the path of the downloaded report;
* ``manifests`` — the manifest JSON (and the local findings) needed to map Amazon's report back;
* ``events`` — an append-only log of everything that happened, for ``history`` and post-mortems.

Because every step is committed before and after it happens, a crash, ``kill -9`` or Ctrl-C at
any point leaves one of a few well-defined states, and :mod:`feeds_kit.submission` resumes from
each without sending a chunk twice. The one state that needs care is ``create_feed_started``
without ``create_feed_done``: Amazon may have taken the feed, so the submitter reconciles with
``getFeeds`` before deciding.

The journal never stores a secret: no tokens, and no presigned URL (they expire within five
minutes anyway, so a resumed upload asks for a new document). Free text written to the events
log passes through :func:`scrub`, which drops the query string of any URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from feeds_kit.errors import JournalError, NotFoundError
from feeds_kit.issues import Issue, Severity, Source
from feeds_kit.manifest import Manifest

JOURNAL_FILE = "journal.sqlite3"
SUBMISSIONS_DIR = "submissions"

#: Current on-disk schema version (``PRAGMA user_version``).
SCHEMA_VERSION = 1


class SubmissionState(enum.StrEnum):
    """Where a submission stands.

    ``preparing``: documents being copied, nothing sent (a crash here leaves an abandoned,
    harmless record). ``created``: ready, nothing sent. ``sending``: some chunks sent.
    ``attention``: stopped on purpose, a person must decide (see the chunk's ``attention``).
    ``submitted``: every chunk has a feed id, Amazon is processing. ``done``: every feed DONE.
    ``failed``: every feed finished and at least one is FATAL or CANCELLED.
    """

    PREPARING = "preparing"
    CREATED = "created"
    SENDING = "sending"
    ATTENTION = "attention"
    SUBMITTED = "submitted"
    DONE = "done"
    FAILED = "failed"

    @property
    def unfinished(self) -> bool:
        """True for the states ``resume`` picks up."""
        return self in _UNFINISHED


_UNFINISHED = frozenset(
    {
        SubmissionState.CREATED,
        SubmissionState.SENDING,
        SubmissionState.ATTENTION,
        SubmissionState.SUBMITTED,
    }
)


class ChunkState(enum.StrEnum):
    """The furthest step a chunk completed (the timestamps say which step is in flight)."""

    PENDING = "pending"
    DOCUMENT = "document"  # createFeedDocument answered; upload not confirmed
    UPLOADED = "uploaded"  # the PUT succeeded; createFeed not sent
    CREATING = "creating"  # createFeed sent, answer not recorded: reconcile before resending
    ATTENTION = "attention"  # reconcile found several candidates; a person decides
    CREATED = "created"  # feedId known; Amazon is processing
    DONE = "done"
    FATAL = "fatal"
    CANCELLED = "cancelled"


_TERMINAL_STATUS = {"DONE": ChunkState.DONE, "FATAL": ChunkState.FATAL,
                    "CANCELLED": ChunkState.CANCELLED}


@dataclass(slots=True)
class Chunk:
    """One feed document of a submission and how far it got (a snapshot of its journal row).

    Times are POSIX timestamps (seconds). ``path`` is absolute; the journal stores it relative to
    the home directory so the home can move.
    """

    submission_id: str
    index: int
    path: Path
    sha256: str
    size: int
    message_count: int
    marketplace_ids: list[str]
    state: ChunkState
    document_id: str | None = None
    create_doc_started: float | None = None
    create_doc_done: float | None = None
    upload_started: float | None = None
    upload_done: float | None = None
    create_feed_started: float | None = None
    create_feed_done: float | None = None
    feed_id: str | None = None
    processing_status: str | None = None
    status_since: float | None = None
    status_checked: float | None = None
    result_document_id: str | None = None
    report_path: Path | None = None
    report_fetched: float | None = None
    summary: dict[str, int] | None = None
    attention: str | None = None
    candidates: list[str] = field(default_factory=list)

    @property
    def sent(self) -> bool:
        """True once Amazon has the feed (a feed id is recorded)."""
        return self.feed_id is not None

    @property
    def finished(self) -> bool:
        """True once the feed reached DONE, FATAL or CANCELLED."""
        return self.state in (ChunkState.DONE, ChunkState.FATAL, ChunkState.CANCELLED)


@dataclass(slots=True)
class Submission:
    """A snapshot of one submission and its chunks, as recorded in the journal."""

    id: str
    source: str
    source_sha256: str | None
    sheet: str | None
    kind: str | None
    profile: str | None
    seller_id: str | None
    region: str | None
    marketplace_ids: list[str]
    feed_type: str
    state: SubmissionState
    created_at: float
    updated_at: float
    directory: Path
    rows: int = 0
    messages: int = 0
    skipped_rows: list[int] = field(default_factory=list)
    note: str | None = None
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def unfinished(self) -> bool:
        return self.state.unfinished

    def chunk(self, index: int) -> Chunk:
        """The chunk with 0-based ``index``."""
        for chunk in self.chunks:
            if chunk.index == index:
                return chunk
        raise NotFoundError(f"submission {self.id} has no chunk {index + 1}",
                            submission_id=self.id)

    def feed_ids(self) -> list[str]:
        return [c.feed_id for c in self.chunks if c.feed_id]


@dataclass(frozen=True, slots=True)
class NewChunk:
    """What :meth:`Journal.add_chunks` needs to know about one copied feed document."""

    path: Path
    sha256: str
    size: int
    message_count: int
    marketplace_ids: list[str]


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One line of the events log."""

    id: int
    at: float
    submission_id: str | None
    chunk: int | None
    kind: str
    detail: dict[str, Any]


_URL_QUERY = re.compile(r"(?i)\b(https?://[^\s?#\"'<>]+)\?[^\s\"'<>]*")


def scrub(value: Any) -> Any:
    """``value`` with the query string of every URL replaced by ``?…`` (recursively).

    Presigned S3 URLs carry their signature and credential scope in the query string; dropping it
    keeps the host and path (useful in a post-mortem) and nothing that grants access.
    """
    if isinstance(value, str):
        return _URL_QUERY.sub(r"\1?…", value)
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (streamed), to recognise an unchanged file submitted again."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _create_v1(conn: sqlite3.Connection) -> None:
    # Statement by statement: ``executescript`` would commit the migration's transaction.
    for statement in _V1_SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


_V1_SCHEMA = """
        CREATE TABLE submissions (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            source_sha256 TEXT,
            sheet TEXT,
            kind TEXT,
            profile TEXT,
            seller_id TEXT,
            region TEXT,
            marketplace_ids TEXT NOT NULL,
            feed_type TEXT NOT NULL,
            state TEXT NOT NULL,
            rows INTEGER NOT NULL DEFAULT 0,
            messages INTEGER NOT NULL DEFAULT 0,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            skipped_rows TEXT NOT NULL DEFAULT '[]',
            note TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX submissions_sha ON submissions(source_sha256);
        CREATE INDEX submissions_created ON submissions(created_at);

        CREATE TABLE chunks (
            submission_id TEXT NOT NULL REFERENCES submissions(id),
            idx INTEGER NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            message_count INTEGER NOT NULL,
            marketplace_ids TEXT NOT NULL,
            state TEXT NOT NULL,
            document_id TEXT,
            create_doc_started REAL,
            create_doc_done REAL,
            upload_started REAL,
            upload_done REAL,
            create_feed_started REAL,
            create_feed_done REAL,
            feed_id TEXT,
            processing_status TEXT,
            status_since REAL,
            status_checked REAL,
            result_document_id TEXT,
            report_path TEXT,
            report_fetched REAL,
            summary TEXT,
            attention TEXT,
            candidates TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (submission_id, idx)
        );
        CREATE INDEX chunks_feed ON chunks(feed_id);

        CREATE TABLE manifests (
            submission_id TEXT PRIMARY KEY REFERENCES submissions(id),
            manifest TEXT NOT NULL,
            local_issues TEXT NOT NULL DEFAULT '[]'
        );

        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            submission_id TEXT,
            chunk INTEGER,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_submission ON events(submission_id, id);
"""


def _issue_from_dict(data: Mapping[str, Any]) -> Issue:
    names = {f.name for f in dataclasses.fields(Issue)}
    fields: dict[str, Any] = {k: v for k, v in data.items() if k in names}
    fields["severity"] = Severity(str(data.get("severity", "error")))
    fields["source"] = Source(str(data.get("source", "local")))
    return Issue(**fields)


class Journal:
    """The submission journal in ``home`` (see the module docstring).

    One instance holds one SQLite connection; use it from one thread (or one per thread).
    ``clock`` returns POSIX seconds and is used for every timestamp written.
    """

    #: Upgrades from version ``n - 1`` to ``n``; each runs in one transaction with the
    #: ``user_version`` bump. Add an entry (and bump :data:`SCHEMA_VERSION`) to change the schema.
    migrations: ClassVar[Mapping[int, Callable[[sqlite3.Connection], None]]] = {1: _create_v1}
    schema_version: ClassVar[int] = SCHEMA_VERSION

    def __init__(self, home: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.home = Path(home)
        self.path = self.home / JOURNAL_FILE
        self._clock = clock
        try:
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create the file 0600 before SQLite does; SQLite gives its -wal/-shm files the
            # database file's permissions, so they stay private too.
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except OSError as exc:
            raise JournalError(
                f"cannot open the journal {self.path}: {exc.strerror or exc}", path=str(self.path)
            ) from exc
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a state change is on disk before the next request is sent.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise JournalError(
                f"the journal {self.path} is not a usable SQLite database ({exc}); move it "
                "aside to start a new one",
                path=str(self.path),
            ) from exc

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(sqlite3.ProgrammingError):
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def user_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.user_version
        if current > self.schema_version:
            raise JournalError(
                f"the journal {self.path} was written by a newer feeds-kit (schema {current}, "
                f"this one reads up to {self.schema_version}); upgrade feeds-kit",
                path=str(self.path),
            )
        for version in range(current + 1, self.schema_version + 1):
            with self._tx():
                self.migrations[version](self._conn)
                # PRAGMA takes no parameters; ``version`` is an int we control.
                self._conn.execute(f"PRAGMA user_version={int(version)}")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction (taking the write lock up front)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _now(self) -> float:
        return float(self._clock())

    def _event(
        self, submission_id: str | None, kind: str, chunk: int | None = None, **detail: Any
    ) -> None:
        self._conn.execute(
            "INSERT INTO events(at, submission_id, chunk, kind, detail) VALUES (?,?,?,?,?)",
            (self._now(), submission_id, chunk, kind,
             json.dumps(scrub({k: v for k, v in detail.items() if v is not None}))),
        )

    def submission_dir(self, submission_id: str) -> Path:
        """Where a submission's documents, manifest and reports live."""
        return self.home / SUBMISSIONS_DIR / submission_id

    def _rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.home.resolve()).as_posix()
        except ValueError:
            return str(path.resolve())

    def _abs(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self.home / path

    # -- creating ---------------------------------------------------------------------------

    def begin_submission(
        self,
        *,
        source: str | Path,
        source_sha256: str | None,
        sheet: str | None,
        kind: str | None,
        profile: str | None,
        seller_id: str | None,
        region: str | None,
        marketplace_ids: Sequence[str],
        feed_type: str,
        rows: int = 0,
        skipped_rows: Sequence[int] = (),
    ) -> str:
        """Allocate an id (``S-YYYYMMDD-NNNN``) and record a submission in ``preparing`` state."""
        now = self._now()
        day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
        prefix = f"S-{day}-"
        with self._tx() as conn:
            row = conn.execute(
                "SELECT id FROM submissions WHERE id LIKE ? ORDER BY id DESC LIMIT 1",
                (prefix + "%",),
            ).fetchone()
            number = int(row["id"][len(prefix):]) + 1 if row else 1
            submission_id = f"{prefix}{number:04d}"
            conn.execute(
                "INSERT INTO submissions(id, source, source_sha256, sheet, kind, profile, "
                "seller_id, region, marketplace_ids, feed_type, state, rows, skipped_rows, "
                "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (submission_id, str(source), source_sha256, sheet, kind, profile, seller_id,
                 region, json.dumps(list(marketplace_ids)), feed_type,
                 SubmissionState.PREPARING.value, rows, json.dumps(sorted(skipped_rows)),
                 now, now),
            )
            self._event(submission_id, "submission_begun", source=str(source))
        return submission_id

    def add_chunks(
        self,
        submission_id: str,
        chunks: Sequence[NewChunk],
        manifest: Manifest,
        *,
        local_issues: Sequence[Issue] = (),
    ) -> Submission:
        """Record the copied documents and the manifest; the submission becomes ``created``."""
        now = self._now()
        with self._tx() as conn:
            self._require(submission_id)
            for index, chunk in enumerate(chunks):
                conn.execute(
                    "INSERT INTO chunks(submission_id, idx, path, sha256, size, message_count, "
                    "marketplace_ids, state) VALUES (?,?,?,?,?,?,?,?)",
                    (submission_id, index, self._rel(chunk.path), chunk.sha256, chunk.size,
                     chunk.message_count, json.dumps(list(chunk.marketplace_ids)),
                     ChunkState.PENDING.value),
                )
            conn.execute(
                "INSERT INTO manifests(submission_id, manifest, local_issues) VALUES (?,?,?)",
                (submission_id, manifest.dumps(),
                 json.dumps([i.to_dict() for i in local_issues], ensure_ascii=False)),
            )
            conn.execute(
                "UPDATE submissions SET state=?, messages=?, chunk_count=?, updated_at=? "
                "WHERE id=?",
                (SubmissionState.CREATED.value, sum(c.message_count for c in chunks),
                 len(chunks), now, submission_id),
            )
            self._event(submission_id, "submission_created", chunks=len(chunks))
        return self.get(submission_id)

    # -- reading ----------------------------------------------------------------------------

    def _require(self, submission_id: str) -> sqlite3.Row:
        row = self._conn.execute(
            "SELECT * FROM submissions WHERE id=?", (submission_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no submission {submission_id!r} in the journal {self.path}",
                submission_id=submission_id,
            )
        return row

    def _chunk_from_row(self, row: sqlite3.Row) -> Chunk:
        return Chunk(
            submission_id=row["submission_id"],
            index=row["idx"],
            path=self._abs(row["path"]),
            sha256=row["sha256"],
            size=row["size"],
            message_count=row["message_count"],
            marketplace_ids=json.loads(row["marketplace_ids"]),
            state=ChunkState(row["state"]),
            document_id=row["document_id"],
            create_doc_started=row["create_doc_started"],
            create_doc_done=row["create_doc_done"],
            upload_started=row["upload_started"],
            upload_done=row["upload_done"],
            create_feed_started=row["create_feed_started"],
            create_feed_done=row["create_feed_done"],
            feed_id=row["feed_id"],
            processing_status=row["processing_status"],
            status_since=row["status_since"],
            status_checked=row["status_checked"],
            result_document_id=row["result_document_id"],
            report_path=self._abs(row["report_path"]) if row["report_path"] else None,
            report_fetched=row["report_fetched"],
            summary=json.loads(row["summary"]) if row["summary"] else None,
            attention=row["attention"],
            candidates=json.loads(row["candidates"]),
        )

    def _submission_from_row(self, row: sqlite3.Row) -> Submission:
        chunks = [
            self._chunk_from_row(c)
            for c in self._conn.execute(
                "SELECT * FROM chunks WHERE submission_id=? ORDER BY idx", (row["id"],)
            )
        ]
        return Submission(
            id=row["id"],
            source=row["source"],
            source_sha256=row["source_sha256"],
            sheet=row["sheet"],
            kind=row["kind"],
            profile=row["profile"],
            seller_id=row["seller_id"],
            region=row["region"],
            marketplace_ids=json.loads(row["marketplace_ids"]),
            feed_type=row["feed_type"],
            state=SubmissionState(row["state"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            directory=self.submission_dir(row["id"]),
            rows=row["rows"],
            messages=row["messages"],
            skipped_rows=json.loads(row["skipped_rows"]),
            note=row["note"],
            chunks=chunks,
        )

    def get(self, submission_id: str) -> Submission:
        """The submission ``submission_id`` (``NotFoundError`` when unknown)."""
        return self._submission_from_row(self._require(submission_id))

    def by_feed_id(self, feed_id: str) -> tuple[Submission, Chunk] | None:
        """The submission and chunk that hold ``feed_id``, if the journal knows it."""
        row = self._conn.execute(
            "SELECT submission_id, idx FROM chunks WHERE feed_id=? LIMIT 1", (feed_id,)
        ).fetchone()
        if row is None:
            return None
        submission = self.get(row["submission_id"])
        return submission, submission.chunk(row["idx"])

    def find(self, id_or_feed_id: str) -> Submission:
        """A submission by its id or by the feed id of one of its chunks."""
        row = self._conn.execute(
            "SELECT * FROM submissions WHERE id=?", (id_or_feed_id,)
        ).fetchone()
        if row is not None:
            return self._submission_from_row(row)
        found = self.by_feed_id(id_or_feed_id)
        if found is None:
            raise NotFoundError(
                f"{id_or_feed_id!r} is neither a submission id nor a feed id in the journal "
                f"{self.path}",
                submission_id=id_or_feed_id,
            )
        return found[0]

    def latest(self, limit: int = 20) -> list[Submission]:
        """The ``limit`` most recent submissions, newest first."""
        rows = self._conn.execute(
            "SELECT * FROM submissions ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._submission_from_row(r) for r in rows]

    def by_source_hash(self, sha256: str) -> list[Submission]:
        """Submissions of a file with this SHA-256 (an unchanged file sent again), newest first."""
        rows = self._conn.execute(
            "SELECT * FROM submissions WHERE source_sha256=? AND state != ? "
            "ORDER BY created_at DESC, id DESC",
            (sha256, SubmissionState.PREPARING.value),
        ).fetchall()
        return [self._submission_from_row(r) for r in rows]

    def unfinished(self) -> list[Submission]:
        """Submissions ``resume`` should pick up, oldest first."""
        marks = ",".join("?" * len(_UNFINISHED))
        rows = self._conn.execute(
            f"SELECT * FROM submissions WHERE state IN ({marks}) ORDER BY created_at, id",
            [s.value for s in _UNFINISHED],
        ).fetchall()
        return [self._submission_from_row(r) for r in rows]

    def known_feed_ids(self) -> set[str]:
        """Every feed id any chunk holds (reconciliation must not adopt one of these)."""
        return {
            r[0] for r in self._conn.execute("SELECT feed_id FROM chunks WHERE feed_id IS NOT NULL")
        }

    def manifest(self, submission_id: str) -> Manifest:
        """The manifest recorded with the submission."""
        row = self._conn.execute(
            "SELECT manifest FROM manifests WHERE submission_id=?", (submission_id,)
        ).fetchone()
        if row is None:
            self._require(submission_id)
            raise JournalError(f"submission {submission_id} has no manifest recorded",
                               submission_id=submission_id)
        return Manifest.from_json(json.loads(row["manifest"]))

    def local_issues(self, submission_id: str) -> list[Issue]:
        """The local findings recorded with the submission (what ``--skip-invalid`` left out)."""
        row = self._conn.execute(
            "SELECT local_issues FROM manifests WHERE submission_id=?", (submission_id,)
        ).fetchone()
        if row is None:
            return []
        return [_issue_from_dict(d) for d in json.loads(row["local_issues"])]

    def events(self, submission_id: str | None = None) -> list[JournalEvent]:
        """The events log (of one submission, or all), oldest first."""
        if submission_id is None:
            rows = self._conn.execute("SELECT * FROM events ORDER BY id").fetchall()
        else:
            rows = self._conn.execute(
                "SELECT * FROM events WHERE submission_id=? ORDER BY id", (submission_id,)
            ).fetchall()
        return [
            JournalEvent(r["id"], r["at"], r["submission_id"], r["chunk"], r["kind"],
                         json.loads(r["detail"]))
            for r in rows
        ]

    # -- steps (each one committed) ---------------------------------------------------------

    def _update_chunk(
        self, submission_id: str, index: int, kind: str, changes: Mapping[str, Any],
        **detail: Any,
    ) -> None:
        now = self._now()
        columns = ", ".join(f"{name}=?" for name in changes)
        with self._tx() as conn:
            cursor = conn.execute(
                f"UPDATE chunks SET {columns} WHERE submission_id=? AND idx=?",
                [*changes.values(), submission_id, index],
            )
            if cursor.rowcount != 1:
                raise NotFoundError(f"submission {submission_id} has no chunk {index + 1}",
                                    submission_id=submission_id)
            conn.execute("UPDATE submissions SET updated_at=? WHERE id=?", (now, submission_id))
            self._event(submission_id, kind, index, **detail)

    def create_doc_started(self, submission_id: str, index: int) -> None:
        """Before ``createFeedDocument``; forgets any earlier document of this chunk."""
        self._update_chunk(
            submission_id, index, "create_doc_started",
            {"create_doc_started": self._now(), "create_doc_done": None, "document_id": None,
             "upload_started": None, "upload_done": None, "state": ChunkState.PENDING.value},
        )

    def create_doc_done(self, submission_id: str, index: int, document_id: str) -> None:
        """After ``createFeedDocument`` answered ``document_id`` (the URL is not stored)."""
        self._update_chunk(
            submission_id, index, "create_doc_done",
            {"create_doc_done": self._now(), "document_id": document_id,
             "state": ChunkState.DOCUMENT.value},
            document_id=document_id,
        )

    def upload_started(self, submission_id: str, index: int) -> None:
        """Before the PUT to the presigned URL."""
        self._update_chunk(submission_id, index, "upload_started",
                           {"upload_started": self._now(), "upload_done": None})

    def upload_done(self, submission_id: str, index: int) -> None:
        """After the PUT succeeded."""
        self._update_chunk(
            submission_id, index, "upload_done",
            {"upload_done": self._now(), "state": ChunkState.UPLOADED.value},
        )

    def create_feed_started(self, submission_id: str, index: int) -> None:
        """Before ``createFeed``: from here on a resend needs reconciliation first."""
        self._update_chunk(
            submission_id, index, "create_feed_started",
            {"create_feed_started": self._now(), "create_feed_done": None,
             "state": ChunkState.CREATING.value, "attention": None, "candidates": "[]"},
        )

    def create_feed_done(
        self, submission_id: str, index: int, feed_id: str, *, how: str = "created",
        processing_status: str | None = None,
    ) -> None:
        """After ``createFeed`` answered ``feed_id`` (``how="adopted"`` when reconciled).

        An adopted feed may already be finished (``processing_status`` from getFeeds is DONE,
        FATAL or CANCELLED): the chunk's state says so at once, since no poll will follow for a
        status already known to be terminal.
        """
        now = self._now()
        state = _TERMINAL_STATUS.get(processing_status or "", ChunkState.CREATED)
        self._update_chunk(
            submission_id, index, f"feed_{how}",
            {"create_feed_done": now, "feed_id": feed_id, "state": state.value,
             "processing_status": processing_status or "IN_QUEUE", "status_since": now,
             "attention": None, "candidates": "[]"},
            feed_id=feed_id,
        )

    def create_feed_refused(self, submission_id: str, index: int, reason: str) -> None:
        """``createFeed`` was definitively refused (a 4xx): nothing was taken, it may be resent."""
        self._update_chunk(
            submission_id, index, "create_feed_refused",
            {"create_feed_started": None, "state": ChunkState.UPLOADED.value},
            reason=reason,
        )

    def reconciled_none(self, submission_id: str, index: int, *, checked: int) -> None:
        """Reconciliation proved no feed was created: the chunk may be created again."""
        self._update_chunk(
            submission_id, index, "reconciled_none",
            {"create_feed_started": None, "state": ChunkState.UPLOADED.value,
             "attention": None, "candidates": "[]"},
            feeds_checked=checked,
        )

    def needs_attention(
        self, submission_id: str, index: int, reason: str, candidates: Sequence[str] = ()
    ) -> None:
        """Stop here: a person must decide (e.g. several feeds could be this chunk's)."""
        now = self._now()
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE chunks SET state=?, attention=?, candidates=? "
                "WHERE submission_id=? AND idx=?",
                (ChunkState.ATTENTION.value, scrub(reason), json.dumps(list(candidates)),
                 submission_id, index),
            )
            if cursor.rowcount != 1:
                raise NotFoundError(f"submission {submission_id} has no chunk {index + 1}",
                                    submission_id=submission_id)
            conn.execute(
                "UPDATE submissions SET state=?, note=?, updated_at=? WHERE id=?",
                (SubmissionState.ATTENTION.value, scrub(reason), now, submission_id),
            )
            self._event(submission_id, "needs_attention", index, reason=reason,
                        candidates=list(candidates))

    def record_status(
        self,
        submission_id: str,
        index: int,
        status: str,
        *,
        result_document_id: str | None = None,
    ) -> bool:
        """Record a ``getFeed`` answer; True when the status changed (an event is logged then)."""
        now = self._now()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT processing_status, result_document_id, state FROM chunks "
                "WHERE submission_id=? AND idx=?", (submission_id, index),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"submission {submission_id} has no chunk {index + 1}",
                                    submission_id=submission_id)
            changed = row["processing_status"] != status
            state = _TERMINAL_STATUS.get(status, ChunkState(row["state"]))
            changes: dict[str, Any] = {
                "processing_status": status,
                "status_checked": now,
                "state": state.value,
                "result_document_id": result_document_id or row["result_document_id"],
            }
            if changed:
                changes["status_since"] = now
            columns = ", ".join(f"{k}=?" for k in changes)
            conn.execute(
                f"UPDATE chunks SET {columns} WHERE submission_id=? AND idx=?",
                [*changes.values(), submission_id, index],
            )
            if changed:
                conn.execute("UPDATE submissions SET updated_at=? WHERE id=?",
                             (now, submission_id))
                self._event(submission_id, "status", index, status=status,
                            previous=row["processing_status"],
                            result_document_id=result_document_id)
        return changed

    def report_fetch_started(self, submission_id: str, index: int, document_id: str) -> None:
        """Before ``getFeedDocument`` + download of a result document (an idempotent step)."""
        self.log(submission_id, "report_fetch_started", index, result_document_id=document_id)

    def report_fetched(
        self, submission_id: str, index: int, path: Path, summary: Mapping[str, int] | None
    ) -> None:
        """After the processing report was downloaded to ``path`` (and parsed to ``summary``)."""
        self._update_chunk(
            submission_id, index, "report_fetched",
            {"report_path": self._rel(path), "report_fetched": self._now(),
             "summary": json.dumps(dict(summary)) if summary is not None else None},
            path=self._rel(path),
        )

    def set_state(
        self, submission_id: str, state: SubmissionState, note: str | None = None
    ) -> None:
        """Move the submission to ``state`` (``note`` explains attention/failure states)."""
        now = self._now()
        with self._tx() as conn:
            row = self._require(submission_id)
            conn.execute(
                "UPDATE submissions SET state=?, note=?, updated_at=? WHERE id=?",
                (state.value, scrub(note) if note else None, now, submission_id),
            )
            if row["state"] != state.value:
                self._event(submission_id, "state", state=state.value,
                            previous=row["state"], note=note)

    def log(self, submission_id: str | None, kind: str, chunk: int | None = None,
            **detail: Any) -> None:
        """Append a free-form event (details are scrubbed of URL query strings)."""
        with self._tx():
            self._event(submission_id, kind, chunk, **detail)
