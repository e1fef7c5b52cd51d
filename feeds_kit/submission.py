"""The submission flow: send feed documents to Amazon, wait, and bring the verdict back.

A :class:`Submitter` drives one :class:`~feeds_kit.journal.Journal` and one Feeds client. For each
chunk, strictly one at a time::

    createFeedDocument(application/json; charset=UTF-8)
      -> PUT the bytes to the presigned URL with the identical Content-Type
         (URL expired: a new document, upload again)
      -> createFeed(JSON_LISTINGS_FEED, the chunk's marketplaces, the document id)

Every step is committed to the journal before and after it happens, so :meth:`Submitter.resume`
can finish whatever a crash, ``kill -9`` or Ctrl-C left, without sending a chunk twice:

* before ``createFeed`` was sent: redo the cheap steps (a stray feed document is harmless and a
  presigned URL is never stored, so an unconfirmed upload starts with a new document);
* ``createFeed`` sent but its answer unknown (crash, timeout, dropped connection, 5xx): reconcile
  with ``getFeeds`` first — adopt the single unknown ``JSON_LISTINGS_FEED`` created since the
  recorded start (minus a margin for clock skew) for the chunk's marketplaces; none means it was
  not taken and may be created again (the document id stays valid for two days); several stop the
  submission in a resumable *attention* state naming them, never a guess.

Waiting uses a :class:`~feeds_kit.waiter.Waiter`; each status answer is journalled as it comes,
so an interrupted wait resumes where it stood. A FATAL or CANCELLED feed ends in
:class:`~feeds_kit.errors.FeedFailedError` (exit code 3) after its report, if any, is fetched and
the likely cause explained. Progress is reported as :class:`Event` values to ``on_event``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from feeds_kit.errors import (
    AmbiguousRequestError,
    ApiError,
    FeedFailedError,
    FeedsKitError,
    JournalError,
    NetworkError,
    UploadError,
    UploadExpiredError,
    UsageError,
)
from feeds_kit.files import PRIVATE, write_atomic
from feeds_kit.issues import Issue, IssueType, Location, Report, Severity, Source
from feeds_kit.journal import (
    Chunk,
    ChunkState,
    Journal,
    NewChunk,
    Submission,
    SubmissionState,
    file_sha256,
)
from feeds_kit.manifest import Manifest
from feeds_kit.processing_report import (
    REPORT_UNREADABLE,
    ChunkVerdict,
    DownloadedLike,
    ProcessingReport,
    ReportFormatError,
    VerdictReport,
    decode,
    explain_failure,
    map_issues,
    parse_report,
    rows_of,
)
from feeds_kit.waiter import Sleeping, SlowDetected, StatusSeen, Waiter, WaitEvent

log = logging.getLogger(__name__)

FEED_TYPE = "JSON_LISTINGS_FEED"
#: Seconds to let Amazon list a feed before looking for it after an ambiguous createFeed.
RECONCILE_DELAY = 10.0
#: A wait for createFeed at least this long (seconds) is announced with an ETA.
PACING_NOTICE = 1.0
#: Sent to createFeedDocument and, byte-identical, as the upload's Content-Type (facts §1.4).
CONTENT_TYPE = "application/json; charset=UTF-8"

__all__ = [
    "CONTENT_TYPE",
    "FEED_TYPE",
    "ChunkFinished",
    "ChunkStarted",
    "ChunkUploaded",
    "DocumentCreated",
    "Event",
    "FeedCreated",
    "NeedsAttention",
    "Pacing",
    "Reconciled",
    "Reconciling",
    "ReportFetched",
    "SlowFeed",
    "StatusChanged",
    "Submission",
    "SubmissionFinished",
    "Submitter",
    "UploadExpired",
    "Waiting",
]


# -- what the submitter needs from its collaborators -----------------------------------------


class UploadTarget(Protocol):
    """``FeedDocumentUpload`` from the client: the new document's id and presigned URL."""

    @property
    def document_id(self) -> str: ...

    @property
    def url(self) -> str: ...


class FeedsApi(Protocol):
    """The part of ``feeds_kit.client.FeedsClient`` the submitter uses."""

    def create_feed_document(self, content_type: str) -> UploadTarget: ...

    def upload_document(self, url: str, data: bytes, content_type: str) -> None: ...

    def create_feed(
        self,
        *,
        feed_type: str,
        marketplace_ids: Sequence[str],
        document_id: str,
        feed_options: Mapping[str, str] | None = None,
    ) -> str: ...

    def get_feed(self, feed_id: str) -> dict[str, Any]: ...

    def get_feeds(
        self,
        *,
        feed_types: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        processing_statuses: Sequence[str] | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        page_size: int = 100,
    ) -> list[dict[str, Any]]: ...

    def cancel_feed(self, feed_id: str) -> None: ...

    def get_feed_document(self, document_id: str) -> dict[str, Any]: ...

    def download_document(
        self, url: str, *, compression: str | None = None
    ) -> DownloadedLike: ...


class BuiltDocumentLike(Protocol):
    """``feeds_kit.feed.BuiltDocument``."""

    @property
    def path(self) -> Path: ...

    @property
    def marketplace_ids(self) -> list[str]: ...

    @property
    def message_count(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...


class BuildResultLike(Protocol):
    """``feeds_kit.feed.BuildResult``."""

    @property
    def documents(self) -> Sequence[BuiltDocumentLike]: ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def skipped_rows(self) -> Sequence[int]: ...


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every progress event; ``index`` fields are 0-based chunk indexes."""

    submission_id: str


@dataclass(frozen=True, slots=True)
class ChunkStarted(Event):
    index: int
    total: int
    message_count: int


@dataclass(frozen=True, slots=True)
class DocumentCreated(Event):
    index: int
    document_id: str


@dataclass(frozen=True, slots=True)
class UploadExpired(Event):
    """The presigned URL expired before the PUT; a new document is being created."""

    index: int
    attempt: int


@dataclass(frozen=True, slots=True)
class ChunkUploaded(Event):
    index: int
    size: int


@dataclass(frozen=True, slots=True)
class FeedCreated(Event):
    index: int
    feed_id: str


@dataclass(frozen=True, slots=True)
class Pacing(Event):
    """createFeed waits ``wait`` seconds for Amazon's limits; the last of the ``remaining``
    chunks should be sent ``eta`` seconds from now."""

    index: int
    wait: float
    remaining: int
    eta: float


@dataclass(frozen=True, slots=True)
class Reconciling(Event):
    """createFeed may have been taken; asking getFeeds before deciding."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reconciled(Event):
    """The outcome: ``adopted`` (``feed_id``), ``none`` (safe to create) or ``ambiguous``."""

    index: int
    outcome: Literal["adopted", "none", "ambiguous"]
    feed_id: str | None
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NeedsAttention(Event):
    index: int
    reason: str
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatusChanged(Event):
    index: int
    feed_id: str
    status: str
    previous: str | None
    elapsed: float


@dataclass(frozen=True, slots=True)
class Waiting(Event):
    """About to sleep ``next_check_in`` seconds; ``remaining`` is what is left of the wait."""

    pending: tuple[str, ...]
    next_check_in: float
    elapsed: float
    remaining: float


@dataclass(frozen=True, slots=True)
class SlowFeed(Event):
    index: int
    feed_id: str
    status: str
    duration: float


@dataclass(frozen=True, slots=True)
class ChunkFinished(Event):
    index: int
    feed_id: str
    status: str


@dataclass(frozen=True, slots=True)
class ReportFetched(Event):
    index: int
    feed_id: str | None
    format: str
    summary: dict[str, int]


@dataclass(frozen=True, slots=True)
class SubmissionFinished(Event):
    state: str
    note: str | None


# -- issue catalogue (feed outcomes shown with the verdict) -----------------------------------

FEED_FATAL = IssueType(
    code="feed-fatal",
    title="Amazon aborted the feed",
    message="feed {feed_id} (chunk {chunk}, {messages} rows) ended FATAL: {explanation}",
    hint="fix the cause, then submit these rows again",
    description=(
        "Amazon stopped processing the feed. Some, none or all of its messages may have been "
        "applied, so its rows get no ACCEPTED status. The explanation names the likely cause "
        "(retired feed type, wrong Content-Type, malformed document, missing Product Listing "
        "role) from the feed type and whatever report Amazon produced."
    ),
    source=Source.AMAZON,
)

FEED_CANCELLED = IssueType(
    code="feed-cancelled",
    title="Feed cancelled",
    message="feed {feed_id} (chunk {chunk}, {messages} rows) was cancelled before Amazon "
    "processed it",
    hint="submit these rows again if they should be sent",
    description="The feed was cancelled while IN_QUEUE; none of its messages were applied.",
    source=Source.AMAZON,
)

FEED_PENDING = IssueType(
    code="feed-not-finished",
    title="Feed still processing",
    message="feed {feed_id} (chunk {chunk}) is still {status}, so Amazon's verdict on its "
    "{messages} rows is not in yet",
    hint="run feeds-kit status {submission} --wait, then the report again",
    description="The report was asked for before Amazon finished this feed.",
    severity=Severity.INFO,
    source=Source.AMAZON,
)

CHUNK_NOT_SENT = IssueType(
    code="chunk-not-sent",
    title="Chunk not sent",
    message="chunk {chunk} ({messages} rows) has not been sent to Amazon yet ({state})",
    hint="run feeds-kit resume {submission}",
    description=(
        "The submission stopped before this chunk reached Amazon: interrupted, or waiting for "
        "a decision (attention). Its rows have no verdict."
    ),
    severity=Severity.WARNING,
)

FEED_WITHOUT_REPORT = IssueType(
    code="feed-without-report",
    title="Feed finished without a report",
    message="feed {feed_id} (chunk {chunk}) is DONE but Amazon gave no processing report",
    hint="check the listings in Seller Central; the rows are left without a status",
    description="Amazon's Feed carried no resultFeedDocumentId, so no row can be confirmed.",
    severity=Severity.WARNING,
    source=Source.AMAZON,
)


# -- helpers ---------------------------------------------------------------------------------


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _report_suffix(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")[:1]
    return {"{": "json", "[": "json", "<": "xml"}.get(head, "tsv" if head else "txt")


@contextlib.contextmanager
def _exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (released by the OS if the process dies)."""
    fh = open(path, "a+b")  # noqa: SIM115 - closed in finally, after the lock is released
    try:
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise JournalError(
                f"{what} is being worked on by another feeds-kit process; wait for it to "
                "finish (or stop it) and try again",
                path=str(path),
            ) from exc
        yield
    finally:
        fh.close()


# -- the submitter ---------------------------------------------------------------------------


class Submitter:
    """Sends submissions recorded in the journal and collects Amazon's verdict.

    ``client`` is a ``FeedsClient`` (or anything with its methods); ``home`` holds
    ``submissions/<id>/`` (documents, manifest, reports). ``clock`` returns POSIX seconds.
    ``reconcile_margin`` widens the getFeeds window for clock skew; ``reconcile_delay`` is how
    long to let Amazon list a feed before looking for it after an ambiguous createFeed;
    ``document_ttl`` how long an uploaded document id is trusted (Amazon: two days).
    """

    def __init__(
        self,
        client: FeedsApi,
        journal: Journal,
        *,
        home: Path,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        waiter: Waiter | None = None,
        on_event: Callable[[Event], None] | None = None,
        reconcile_margin: float = 600.0,
        reconcile_delay: float = RECONCILE_DELAY,
        document_ttl: float = 2 * 86400 - 3600,
        max_upload_attempts: int = 3,
        max_ambiguous_attempts: int = 3,
    ) -> None:
        self.client = client
        self.journal = journal
        self.home = Path(home)
        self.clock = clock
        self.sleep = sleep
        self.waiter = waiter or Waiter(clock=clock, sleep=sleep)
        self.on_event = on_event
        self.reconcile_margin = reconcile_margin
        self.reconcile_delay = reconcile_delay
        self.document_ttl = document_ttl
        self.max_upload_attempts = max_upload_attempts
        self.max_ambiguous_attempts = max_ambiguous_attempts

    # -- plumbing ---------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        log.debug("%s", event)
        if self.on_event is not None:
            self.on_event(event)

    def directory(self, submission_id: str) -> Path:
        """Where a submission's documents, manifest and reports are kept."""
        return self.home / "submissions" / submission_id

    @contextlib.contextmanager
    def _locked(self, submission_id: str) -> Iterator[None]:
        directory = self.directory(submission_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _exclusive(directory / ".lock", f"submission {submission_id}"):
            yield

    # -- create -----------------------------------------------------------------------------

    def create(
        self,
        build: BuildResultLike,
        *,
        source: Path,
        sheet: str | None,
        kind: str | None,
        profile: str | None,
        seller_id: str | None,
        region: str | None,
        marketplace_ids: Sequence[str],
        feed_type: str = FEED_TYPE,
        local_report: Report | None = None,
    ) -> Submission:
        """Record a new submission: copy the documents and manifest under ``home`` first.

        Nothing is sent. ``local_report`` (the validation report) is kept so the verdict can
        show local and Amazon findings together. The copies are verified against the build's
        SHA-256, so what is sent later is exactly what was validated.
        """
        if not build.documents:
            raise UsageError("nothing to send: the build produced no feed document")
        if len(build.documents) != len(build.manifest.documents):
            raise FeedsKitError(
                f"the build has {len(build.documents)} documents but its manifest describes "
                f"{len(build.manifest.documents)}"
            )
        source = Path(source)
        source_sha = file_sha256(source) if source.is_file() else None
        manifest_rows = {m.row for d in build.manifest.documents for m in d.messages.values()}
        rows = local_report.rows if local_report and local_report.rows else (
            len(manifest_rows) + len(build.skipped_rows))
        submission_id = self.journal.begin_submission(
            source=source.resolve() if source.exists() else source,
            source_sha256=source_sha,
            sheet=sheet,
            kind=kind,
            profile=profile,
            seller_id=seller_id,
            region=region,
            marketplace_ids=marketplace_ids,
            feed_type=feed_type,
            rows=rows,
            skipped_rows=build.skipped_rows,
        )
        directory = self.directory(submission_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        chunks: list[NewChunk] = []
        for index, document in enumerate(build.documents):
            try:
                data = Path(document.path).read_bytes()
            except OSError as exc:
                raise FeedsKitError(
                    f"cannot read the feed document {document.path}: {exc.strerror or exc}",
                    path=str(document.path),
                ) from exc
            digest = hashlib.sha256(data).hexdigest()
            if document.sha256 and digest != document.sha256.lower():
                raise FeedsKitError(
                    f"the feed document {document.path} changed after it was built; build "
                    "it again",
                    path=str(document.path),
                )
            target = directory / f"chunk-{index + 1:03d}.json"
            write_atomic(target, data, mode=PRIVATE)
            chunks.append(
                NewChunk(target, digest, len(data), document.message_count,
                         list(document.marketplace_ids))
            )
        write_atomic(
            directory / "manifest.json", build.manifest.dumps().encode("utf-8"), mode=PRIVATE
        )
        return self.journal.add_chunks(
            submission_id, chunks, build.manifest,
            local_issues=list(local_report.issues) if local_report else (),
        )

    # -- run / resume -----------------------------------------------------------------------

    def run(self, submission_id: str, *, wait: bool = True) -> Submission:
        """Send every chunk not sent yet (one at a time), then wait for Amazon if ``wait``.

        Returns the submission as recorded. A submission that needs attention comes back in
        that state (see its chunks' ``attention``). Raises :class:`FeedFailedError` when a feed
        ends FATAL or CANCELLED while waiting.
        """
        with self._locked(submission_id):
            submission = self.journal.get(submission_id)
            if submission.state is SubmissionState.PREPARING:
                raise JournalError(
                    f"submission {submission_id} was interrupted while it was being prepared "
                    "and nothing of it was sent; submit the file again",
                    submission_id=submission_id,
                )
            if submission.state in (SubmissionState.CREATED, SubmissionState.SENDING,
                                    SubmissionState.ATTENTION):
                self._send_all(submission)
                submission = self.journal.get(submission_id)
            if wait and submission.state is SubmissionState.SUBMITTED:
                return self._wait_locked(submission_id)
            return submission

    def resume(self, submission_id: str | None = None, *, wait: bool = True) -> list[Submission]:
        """Finish one submission, or every unfinished one when ``submission_id`` is None.

        A feed ending FATAL or CANCELLED does not stop the others: such a submission comes back
        in state ``failed`` with the explanation in its ``note``.
        """
        if submission_id is not None:
            targets = [self.journal.find(submission_id)]
        else:
            targets = self.journal.unfinished()
        done: list[Submission] = []
        for submission in targets:
            if not submission.unfinished:
                done.append(submission)
                continue
            try:
                done.append(self.run(submission.id, wait=wait))
            except FeedFailedError:
                done.append(self.journal.get(submission.id))
        return done

    def _send_all(self, submission: Submission) -> None:
        sid = submission.id
        self.journal.set_state(sid, SubmissionState.SENDING)
        total = len(submission.chunks)
        for chunk in submission.chunks:
            if chunk.sent:
                continue
            self._emit(ChunkStarted(sid, chunk.index, total, chunk.message_count))
            if not self._send_chunk(submission, chunk):
                return
        self.journal.set_state(sid, SubmissionState.SUBMITTED)

    def _announce_pacing(self, submission: Submission, index: int) -> None:
        """Say how long createFeed must wait for Amazon's limits, and when the last chunk will
        be sent, before the client's rate limiter sleeps (an ETA for large submissions)."""
        limiter = getattr(self.client, "limiter", None)
        if limiter is None:
            return
        options = {"feed_type": submission.feed_type, "region": submission.region}
        wait = limiter.wait_time("createFeed", **options)
        if wait < PACING_NOTICE:
            return
        remaining = len(submission.chunks) - index
        eta = limiter.eta("createFeed", remaining, **options)
        self._emit(Pacing(submission.id, index, wait, remaining, eta))

    def _chunk(self, submission_id: str, index: int) -> Chunk:
        return self.journal.get(submission_id).chunk(index)

    def _send_chunk(self, submission: Submission, chunk: Chunk) -> bool:
        """Send one chunk; False when it stopped in the attention state."""
        sid, index = submission.id, chunk.index
        if chunk.state in (ChunkState.CREATING, ChunkState.ATTENTION):
            reason = ("a previous run was interrupted after createFeed was sent"
                      if chunk.state is ChunkState.CREATING else "checking again")
            outcome = self._reconcile(submission, chunk, reason)
            if outcome != "none":
                return outcome == "adopted"
        ambiguous = 0
        while True:
            document_id = self._ensure_uploaded(submission, self._chunk(sid, index))
            self._announce_pacing(submission, index)
            self.journal.create_feed_started(sid, index)
            try:
                feed_id = self.client.create_feed(
                    feed_type=submission.feed_type,
                    marketplace_ids=list(chunk.marketplace_ids),
                    document_id=document_id,
                )
            except AmbiguousRequestError as exc:
                ambiguous += 1
                self.journal.log(sid, "create_feed_ambiguous", index, error=str(exc))
                # Give Amazon a moment to list a feed it may have taken.
                self.sleep(self.reconcile_delay)
                outcome = self._reconcile(submission, self._chunk(sid, index), str(exc))
                if outcome != "none":
                    return outcome == "adopted"
                if ambiguous >= self.max_ambiguous_attempts:
                    # Each attempt was reconciled to "not taken": no longer ambiguous, and the
                    # person needs to know that nothing is at Amazon and how to go on.
                    status = exc.context.get("status")
                    last = f"HTTP {status}" if status else exc.context.get("reason", "no answer")
                    raise NetworkError(
                        f"createFeed for chunk {index + 1} of {sid} got no usable answer "
                        f"{ambiguous} times (last: {last}) and getFeeds shows Amazon took none "
                        f"of them; nothing was sent twice — run feeds-kit resume {sid} later",
                        operation="createFeed", submission_id=sid, chunk=index + 1,
                        attempts=ambiguous, status=status,
                        request_id=exc.context.get("request_id"),
                    ) from None
                continue
            except ApiError as exc:
                # A definite refusal: nothing was taken, the chunk may be sent again later.
                self.journal.create_feed_refused(sid, index, str(exc))
                raise
            self.journal.create_feed_done(sid, index, feed_id)
            self._emit(FeedCreated(sid, index, feed_id))
            return True

    def _ensure_uploaded(self, submission: Submission, chunk: Chunk) -> str:
        """A document id holding this chunk's bytes: the recorded one if still fresh, or new."""
        sid, index = submission.id, chunk.index
        now = self.clock()
        if (
            chunk.state is ChunkState.UPLOADED
            and chunk.document_id
            and chunk.upload_done is not None
            and now - chunk.upload_done < self.document_ttl
        ):
            return chunk.document_id
        try:
            data = chunk.path.read_bytes()
        except OSError as exc:
            raise JournalError(
                f"the document of chunk {index + 1} of {sid} is missing: {chunk.path} "
                f"({exc.strerror or exc})",
                submission_id=sid, path=str(chunk.path),
            ) from exc
        if hashlib.sha256(data).hexdigest() != chunk.sha256:
            raise JournalError(
                f"the document of chunk {index + 1} of {sid} ({chunk.path}) changed since it "
                "was recorded; it will not be sent",
                submission_id=sid, path=str(chunk.path),
            )
        for attempt in range(1, self.max_upload_attempts + 1):
            self.journal.create_doc_started(sid, index)
            upload = self.client.create_feed_document(CONTENT_TYPE)
            self.journal.create_doc_done(sid, index, upload.document_id)
            self._emit(DocumentCreated(sid, index, upload.document_id))
            self.journal.upload_started(sid, index)
            try:
                self.client.upload_document(upload.url, data, CONTENT_TYPE)
            except UploadExpiredError:
                self.journal.log(sid, "upload_expired", index, attempt=attempt)
                self._emit(UploadExpired(sid, index, attempt))
                continue
            self.journal.upload_done(sid, index)
            self._emit(ChunkUploaded(sid, index, len(data)))
            return upload.document_id
        raise UploadExpiredError(
            f"the upload URL of chunk {index + 1} of {sid} expired {self.max_upload_attempts} "
            "times in a row (it lives 5 minutes); check the computer's clock and the "
            f"connection, then run feeds-kit resume {sid}",
            submission_id=sid, chunk=index + 1,
        )

    def _reconcile(
        self, submission: Submission, chunk: Chunk, reason: str
    ) -> Literal["adopted", "none", "ambiguous"]:
        """Find out whether Amazon took this chunk's createFeed (see the module docstring)."""
        sid, index = submission.id, chunk.index
        self._emit(Reconciling(sid, index, reason))
        started = chunk.create_feed_started or chunk.upload_done or submission.created_at
        floor = started - self.reconcile_margin
        feeds = self.client.get_feeds(
            feed_types=[submission.feed_type],
            marketplace_ids=list(chunk.marketplace_ids),
            created_since=datetime.fromtimestamp(floor, UTC),
        )
        known = self.journal.known_feed_ids()
        wanted = set(chunk.marketplace_ids)
        candidates: list[dict[str, Any]] = []
        for feed in feeds:
            feed_id = feed.get("feedId")
            if not feed_id or feed_id in known:
                continue
            if feed.get("feedType", submission.feed_type) != submission.feed_type:
                continue
            created = _parse_time(feed.get("createdTime"))
            if created is not None and created < floor:
                continue
            marketplaces = feed.get("marketplaceIds")
            if marketplaces and set(marketplaces) != wanted:
                continue
            candidates.append(feed)
        ids = tuple(str(f["feedId"]) for f in candidates)
        if len(candidates) == 1:
            feed = candidates[0]
            self.journal.create_feed_done(
                sid, index, ids[0], how="adopted",
                processing_status=feed.get("processingStatus"),
            )
            self._emit(Reconciled(sid, index, "adopted", ids[0], ids))
            return "adopted"
        if not candidates:
            self.journal.reconciled_none(sid, index, checked=len(feeds))
            self._emit(Reconciled(sid, index, "none", None, ()))
            return "none"
        since = datetime.fromtimestamp(floor, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        note = (
            f"chunk {index + 1} of {sid} may already be at Amazon: {len(ids)} unknown "
            f"{submission.feed_type} feeds were created since {since} ({', '.join(ids)}); "
            "check them (feeds-kit status FEED_ID), then adopt the right one or none with "
            "Submitter.adopt and resume"
        )
        self.journal.needs_attention(sid, index, note, ids)
        self._emit(Reconciled(sid, index, "ambiguous", None, ids))
        self._emit(NeedsAttention(sid, index, note, ids))
        return "ambiguous"

    def adopt(self, submission_id: str, index: int, feed_id: str | None) -> Submission:
        """A person's decision for a chunk in attention: ``feed_id`` is its feed, or None.

        None says none of the candidates is this chunk's, so the next run creates it again.
        """
        with self._locked(submission_id):
            chunk = self._chunk(submission_id, index)
            if chunk.state not in (ChunkState.ATTENTION, ChunkState.CREATING):
                raise UsageError(
                    f"chunk {index + 1} of {submission_id} does not need a decision "
                    f"(it is {chunk.state.value})"
                )
            if feed_id is None:
                self.journal.reconciled_none(submission_id, index, checked=0)
            else:
                owner = self.journal.by_feed_id(feed_id)
                if owner is not None:
                    raise UsageError(
                        f"feed {feed_id} already belongs to chunk {owner[1].index + 1} of "
                        f"{owner[0].id}"
                    )
                self.journal.create_feed_done(submission_id, index, feed_id, how="adopted")
            self.journal.set_state(submission_id, SubmissionState.SENDING)
            return self.journal.get(submission_id)

    # -- waiting ----------------------------------------------------------------------------

    def wait(self, submission_id: str) -> Submission:
        """Poll Amazon until every sent feed of the submission is DONE, FATAL or CANCELLED.

        Raises :class:`FeedFailedError` (after fetching its report) when a feed failed and
        :class:`~feeds_kit.waiter.WaitTimeoutError` when the waiter's limit is reached; both
        leave the journal ready for another wait.
        """
        with self._locked(submission_id):
            return self._wait_locked(submission_id)

    def refresh(self, submission_id: str) -> Submission:
        """Ask Amazon once for the status of every unfinished feed (``status`` without wait)."""
        submission = self.journal.find(submission_id)
        for chunk in submission.chunks:
            if chunk.feed_id and not chunk.finished:
                self._poll(submission.id, chunk)
        self._settle(submission.id)
        return self.journal.get(submission.id)

    def _poll(self, submission_id: str, chunk: Chunk) -> str:
        assert chunk.feed_id is not None
        feed = self.client.get_feed(chunk.feed_id)
        status = str(feed.get("processingStatus") or "UNKNOWN")
        self.journal.record_status(
            submission_id, chunk.index, status,
            result_document_id=feed.get("resultFeedDocumentId"),
        )
        return status

    def _wait_locked(self, submission_id: str) -> Submission:
        submission = self.journal.get(submission_id)
        chunks = {c.feed_id: c for c in submission.chunks if c.feed_id}

        def poll(feed_id: str) -> str:
            return self._poll(submission_id, chunks[feed_id])

        def relay(event: WaitEvent) -> None:
            if isinstance(event, StatusSeen):
                chunk = chunks[event.key]
                self._emit(StatusChanged(submission_id, chunk.index, event.key, event.status,
                                         event.previous, event.elapsed))
                if self.waiter.is_terminal(event.status):
                    self._emit(ChunkFinished(submission_id, chunk.index, event.key,
                                             event.status))
            elif isinstance(event, Sleeping):
                self._emit(Waiting(submission_id, event.pending, event.delay, event.elapsed,
                                   event.remaining))
            elif isinstance(event, SlowDetected):
                chunk = chunks[event.key]
                self.journal.log(submission_id, "slow", chunk.index, feed_id=event.key,
                                 status=event.status, seconds=round(event.duration))
                self._emit(SlowFeed(submission_id, chunk.index, event.key, event.status,
                                    event.duration))

        self.waiter.wait(
            list(chunks),
            poll,
            known={k: c.processing_status for k, c in chunks.items()},
            since={k: c.status_since for k, c in chunks.items() if c.status_since is not None},
            on_event=relay,
        )
        return self._settle(submission_id, raise_on_failure=True)

    def _settle(self, submission_id: str, *, raise_on_failure: bool = False) -> Submission:
        """Mark the submission done/failed once every chunk is finished."""
        submission = self.journal.get(submission_id)
        if submission.state is not SubmissionState.SUBMITTED or not all(
            c.finished for c in submission.chunks
        ):
            return submission
        failed = [c for c in submission.chunks if c.state is not ChunkState.DONE]
        if not failed:
            self.journal.set_state(submission_id, SubmissionState.DONE)
            self._emit(SubmissionFinished(submission_id, SubmissionState.DONE.value, None))
            return self.journal.get(submission_id)
        first = failed[0]
        report = self._report_quietly(submission, first)
        explanation = explain_failure(
            first.processing_status or "FATAL", feed_type=submission.feed_type, report=report
        )
        note = (
            f"feed {first.feed_id} (chunk {first.index + 1}) ended {first.processing_status}: "
            f"{explanation.sentence}"
        )
        if len(failed) > 1:
            note += f" ({len(failed) - 1} more feed(s) failed too)"
        self.journal.set_state(submission_id, SubmissionState.FAILED, note)
        self._emit(SubmissionFinished(submission_id, SubmissionState.FAILED.value, note))
        if raise_on_failure:
            raise FeedFailedError(
                note, feed_id=first.feed_id, status=first.processing_status,
                submission_id=submission_id, cause=explanation.cause,
            )
        return self.journal.get(submission_id)

    def _report_quietly(self, submission: Submission, chunk: Chunk) -> ProcessingReport | None:
        """Whatever report a failed feed has, without letting a fetch problem hide the failure."""
        try:
            return self._load_report(submission, chunk)
        except (FeedsKitError, OSError) as exc:
            self.journal.log(submission.id, "report_unavailable", chunk.index, error=str(exc))
            return None

    # -- reports ----------------------------------------------------------------------------

    def _load_report(self, submission: Submission, chunk: Chunk) -> ProcessingReport | None:
        """The parsed report of a finished chunk: the saved copy, or fetched and saved."""
        if chunk.report_path is not None and chunk.report_path.is_file():
            with contextlib.suppress(ReportFormatError, OSError, UnicodeDecodeError):
                return parse_report(chunk.report_path.read_text(encoding="utf-8"))
            # A damaged saved copy (e.g. a truncated download): fetch it again below.
        document_id = chunk.result_document_id
        if not document_id and chunk.feed_id:
            feed = self.client.get_feed(chunk.feed_id)
            document_id = feed.get("resultFeedDocumentId")
            if feed.get("processingStatus"):
                self.journal.record_status(submission.id, chunk.index,
                                           str(feed["processingStatus"]),
                                           result_document_id=document_id)
        if not document_id:
            return None
        self.journal.report_fetch_started(submission.id, chunk.index, document_id)
        downloaded = self._download(document_id, chunk)
        text = decode(downloaded)
        path = self.directory(submission.id) / (
            f"report-{chunk.index + 1:03d}.{_report_suffix(text)}"
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, text.encode("utf-8"), mode=PRIVATE)
        try:
            parsed = parse_report(text)
        except ReportFormatError as exc:
            self.journal.report_fetched(submission.id, chunk.index, path, None)
            exc.context.update(feed_id=chunk.feed_id, path=str(path))
            raise
        self.journal.report_fetched(submission.id, chunk.index, path, parsed.summary.to_dict())
        self._emit(ReportFetched(submission.id, chunk.index, chunk.feed_id, parsed.format,
                                 parsed.summary.to_dict()))
        return parsed

    def _download(self, document_id: str, chunk: Chunk) -> DownloadedLike:
        """getFeedDocument, then the download; one fresh URL when the first one has expired.

        A document that arrived but cannot be unpacked is a :class:`ReportFormatError` (the
        verdict shows it on its chunk and goes on); a failed transfer stays an operational error.
        """
        for attempt in (1, 2):
            meta = self.client.get_feed_document(document_id)
            try:
                return self.client.download_document(
                    str(meta["url"]), compression=meta.get("compressionAlgorithm")
                )
            except UploadExpiredError:
                # A result URL lives five minutes; another one costs a single getFeedDocument.
                if attempt == 2:
                    raise
                self.journal.log(chunk.submission_id, "report_url_expired", chunk.index,
                                 result_document_id=document_id)
            except UploadError as exc:
                reason = exc.context.get("unreadable")
                if not reason:
                    raise
                raise ReportFormatError(
                    str(reason), feed_id=chunk.feed_id, document_id=document_id
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def collect(self, submission_id: str) -> VerdictReport:
        """Fetch, parse and map the reports of the finished chunks into one verdict.

        The verdict holds the local findings recorded at submit time and Amazon's, each on its
        row and cell; per-chunk summaries; and the rows Amazon processed. Chunks not finished
        or not sent are named by an info/warning issue rather than failing the whole report.
        """
        submission = self.journal.find(submission_id)
        sid = submission.id
        manifest = self.journal.manifest(sid)
        verdict = VerdictReport(
            file=manifest.file, sheet=manifest.sheet, kind=manifest.kind, rows=submission.rows,
            submission_id=sid,
        )
        verdict.extend(self.journal.local_issues(sid))
        where = Location(file=manifest.file, sheet=manifest.sheet)
        for chunk in submission.chunks:
            entry = ChunkVerdict(chunk.index, chunk.feed_id, chunk.processing_status,
                                 chunk.message_count)
            verdict.chunks.append(entry)
            params: dict[str, Any] = {
                "feed_id": chunk.feed_id, "chunk": chunk.index + 1,
                "messages": chunk.message_count, "submission": sid,
            }
            if not chunk.sent:
                verdict.add(CHUNK_NOT_SENT.at(where, state=chunk.state.value, **params))
                continue
            if not chunk.finished:
                verdict.add(self._tag(
                    FEED_PENDING.at(where, status=chunk.processing_status, **params),
                    chunk.feed_id))
                continue
            parsed: ProcessingReport | None = None
            try:
                parsed = self._load_report(submission, chunk)
            except ReportFormatError as exc:
                verdict.add(self._tag(REPORT_UNREADABLE.at(where, reason=str(exc), **params),
                                      chunk.feed_id))
            if parsed is not None:
                entry.summary = parsed.summary
                entry.report_format = parsed.format
                entry.report_path = self._chunk(sid, chunk.index).report_path
                verdict.extend(map_issues(parsed, manifest, chunk.index, feed_id=chunk.feed_id))
            if chunk.state is ChunkState.DONE:
                if parsed is not None:
                    verdict.processed_rows |= rows_of(manifest, chunk.index)
                elif not self._chunk(sid, chunk.index).result_document_id:
                    verdict.add(self._tag(FEED_WITHOUT_REPORT.at(where, **params),
                                          chunk.feed_id))
                continue
            status = chunk.processing_status or "FATAL"
            explanation = explain_failure(status, feed_type=submission.feed_type, report=parsed)
            entry.explanation = explanation.sentence
            kind = FEED_CANCELLED if status == "CANCELLED" else FEED_FATAL
            verdict.add(self._tag(kind.at(where, explanation=explanation.sentence, **params),
                                  chunk.feed_id))
        rejected = verdict.rows_with_errors()
        verdict.valid_rows = len(verdict.processed_rows - rejected)
        verdict.meta.update(
            submission_id=sid,
            state=self.journal.get(sid).state.value,
            feed_ids=submission.feed_ids(),
            totals=verdict.totals.to_dict(),
        )
        return verdict

    @staticmethod
    def _tag(issue: Issue, feed_id: str | None) -> Issue:
        issue.feed_id = feed_id
        return issue

    # -- cancel -----------------------------------------------------------------------------

    def cancel(self, feed_id: str) -> None:
        """Cancel a feed (Amazon allows it only while IN_QUEUE) and record the outcome."""
        found = self.journal.by_feed_id(feed_id)
        if found is not None:
            self.journal.log(found[0].id, "cancel_requested", found[1].index, feed_id=feed_id)
        try:
            self.client.cancel_feed(feed_id)
        except ApiError as exc:
            if found is not None:
                self.journal.log(found[0].id, "cancel_refused", found[1].index,
                                 feed_id=feed_id, error=str(exc))
            raise
        if found is not None:
            submission, chunk = found
            self.journal.log(submission.id, "cancel_done", chunk.index, feed_id=feed_id)
            with contextlib.suppress(FeedsKitError):
                self._poll(submission.id, chunk)
                self._settle(submission.id)

    # -- lookups ----------------------------------------------------------------------------

    def previous(self, source: Path) -> list[Submission]:
        """Earlier submissions of this exact file content (to warn before sending it again)."""
        if not Path(source).is_file():
            return []
        return self.journal.by_source_hash(file_sha256(source))
