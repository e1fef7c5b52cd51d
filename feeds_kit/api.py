"""The library's front door: one function per job, each a straight pass through the parts.

``validate_file`` and ``build_file`` run the offline pipeline in one streaming pass::

    open_sheet -> RowValidator.check (row by row) -> FeedBuilder.add (valid rows only)

The command line calls these and renders what they return; a pipeline embeds them the same way::

    from feeds_kit.api import validate_file
    result = validate_file("offers.xlsx", marketplace="DE")
    for issue in result.report.errors:
        print(issue.sentence())
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from feeds_kit.errors import OutputError, UsageError
from feeds_kit.issues import Report
from feeds_kit.marketplaces import Marketplace, get_marketplace
from feeds_kit.reading import open_sheet
from feeds_kit.rows import SheetLayout
from feeds_kit.validation import RowValidator, RowVerdict

# Building, the journal and the configuration are imported where they are used: `validate`
# needs none of them, and its start-up time is part of what a user waits for.
if TYPE_CHECKING:
    from feeds_kit.client import FeedsClient
    from feeds_kit.config import Settings
    from feeds_kit.feed import BuildResult, FeedBuilder
    from feeds_kit.journal import Journal, Submission
    from feeds_kit.listings import ListingValidator
    from feeds_kit.processing_report import VerdictReport
    from feeds_kit.simulator import Simulator
    from feeds_kit.submission import Event, Submitter
    from feeds_kit.waiter import Waiter

#: Called with the number of rows read so far (and the total when known), for progress bars.
ProgressCallback = Callable[[int, int | None], None]

DEFAULT_LIMIT = 1000


@dataclass(slots=True)
class SheetOptions:
    """How to read the input: kind, sheet, encoding and engine overrides (all optional)."""

    kind: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    engine: str | None = None


@dataclass(slots=True)
class ValidationResult:
    """What ``validate_file`` found: the report and the layout it was read with."""

    report: Report
    layout: SheetLayout | None

    def exit_code(self, *, strict: bool = False) -> int:
        return self.report.exit_code(strict=strict)


@dataclass(slots=True)
class BuildOutcome:
    """What ``build_file`` did: the report, the layout and, unless refused, the documents."""

    report: Report
    layout: SheetLayout | None
    build: BuildResult | None

    def exit_code(self, *, strict: bool = False) -> int:
        if self.build is None:
            return 1
        return self.report.exit_code(strict=strict)


def _home(settings: Settings) -> Path:
    """The folder of the journal and caches: the profile's, else the platform's default."""
    from feeds_kit.config import home_dir

    return settings.home or home_dir()


def _marketplace(value: str | Marketplace | None) -> Marketplace | None:
    if value is None or isinstance(value, Marketplace):
        return value
    return get_marketplace(value)


def _run(
    path: str | os.PathLike[str],
    options: SheetOptions,
    marketplace: Marketplace | None,
    limit: int | None,
    builder_factory: Callable[[SheetLayout, RowValidator | ListingValidator], FeedBuilder] | None,
    progress: ProgressCallback | None,
) -> tuple[Report, SheetLayout | None, FeedBuilder | None]:
    report = Report(file=str(path), limit=limit)
    with open_sheet(
        path,
        kind=options.kind,
        sheet=options.sheet,
        encoding=options.encoding,
        engine=options.engine,
    ) as source:
        layout = source.layout
        report.file, report.sheet, report.kind = layout.file, layout.sheet, layout.kind
        report.meta["headerRow"] = layout.header_row
        report.meta["family"] = layout.family
        report.extend(source.issues)
        if not source.structure_ok:
            return report, layout, None
        validator: RowValidator | ListingValidator
        if layout.kind == "listings":
            # Imported here: product type schemas are only needed for listings sheets.
            from feeds_kit.listings import ListingValidator

            validator = ListingValidator(layout, marketplace=marketplace)
        else:
            validator = RowValidator(layout, marketplace=marketplace)
        builder = builder_factory(layout, validator) if builder_factory else None
        invalid: set[int] = set()
        total = source.total_rows
        with _collector_paused():
            if builder is None and isinstance(validator, RowValidator):
                # Only checking: whole batches at a time, most rows proven clean by column.
                for batch in source.batches():
                    checked = validator.evaluate_batch(batch)
                    for verdict in checked.verdicts:
                        _note(verdict, report, invalid, None)
                    report.rows += checked.rows
                    if progress is not None:
                        progress(report.rows, total)
            else:
                for count, row in enumerate(source.rows(), start=1):
                    verdict = validator.evaluate(row)
                    if _note(verdict, report, invalid, builder) and builder is not None and (
                        verdict.marketplace_id is not None
                    ):
                        builder.add(row, verdict.marketplace_id)
                    report.rows = count
                    if progress is not None and count % 1000 == 0:
                        progress(count, total)
        report.extend(validator.finish())
        for late in validator.invalid_at_finish:
            # Found invalid only at the end (no marketplace, a minority region).
            invalid.add(late)
            if builder is not None:
                builder.discard(late)
        report.valid_rows = report.rows - len(invalid)
        if progress is not None:
            progress(report.rows, total)
        return report, layout, builder


def _note(verdict: RowVerdict, report: Report, invalid: set[int],
          builder: FeedBuilder | None) -> bool:
    """Take a row's verdict into the report; True when the row is valid."""
    report.extend(verdict.issues)
    for earlier in verdict.retracted:
        # A later row made an earlier one invalid (a duplicate SKU): take it back.
        invalid.add(earlier)
        if builder is not None:
            builder.discard(earlier)
    if not verdict.valid:
        invalid.add(verdict.row)
    return verdict.valid


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while rows stream through.

    Each row makes a few small, acyclic objects that reference counting frees at once; the
    cyclic collector, triggered by the sheer number of allocations, would otherwise scan the
    heap again and again for nothing (a third of the time at 100k rows, see
    performance-figures.md). Objects alive before the loop are frozen out of its scans.
    """
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()


def validate_file(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    engine: str | None = None,
    marketplace: str | Marketplace | None = None,
    limit: int | None = DEFAULT_LIMIT,
    progress: ProgressCallback | None = None,
) -> ValidationResult:
    """Read and check a sheet offline; no credentials, no network.

    Raises :class:`~feeds_kit.errors.InputError` when the file cannot be read as a sheet;
    every finding about its content is an issue in the returned report.
    """
    options = SheetOptions(kind=kind, sheet=sheet, encoding=encoding, engine=engine)
    report, layout, _ = _run(path, options, _marketplace(marketplace), limit, None, progress)
    return ValidationResult(report=report, layout=layout)


def build_file(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    seller_id: str,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    engine: str | None = None,
    marketplace: str | Marketplace | None = None,
    skip_invalid: bool = False,
    limit: int | None = DEFAULT_LIMIT,
    issue_locale: str | None = None,
    chunk_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> BuildOutcome:
    """Validate a sheet and write its ``JSON_LISTINGS_FEED`` document(s) plus the manifest.

    Without ``skip_invalid`` any error means no document is written (nothing half-built is left
    behind); with it, the valid rows are built and the invalid ones listed in
    ``BuildResult.skipped_rows``. ``chunk_size`` lowers the messages per document (Amazon's
    limit, 25,000, is the default), e.g. to rehearse a multi-chunk submission.
    """
    source = Path(path).resolve()
    target = Path(output)
    if target.resolve() == source:
        raise OutputError(
            f"{target}: the output would overwrite the input sheet; choose another name."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.building"

    def factory(layout: SheetLayout, validator: RowValidator | ListingValidator) -> FeedBuilder:
        from feeds_kit.feed import FeedBuilder

        staging.mkdir(parents=True, exist_ok=True)
        return FeedBuilder(
            layout,
            seller_id=seller_id,
            output=staging / target.name,
            issue_locale=issue_locale,
            # One compiled product-type schema cache for checking and building listings.
            product_types=getattr(validator, "cache", None),
            **({"max_messages": chunk_size} if chunk_size else {}),
        )

    options = SheetOptions(kind=kind, sheet=sheet, encoding=encoding, engine=engine)
    try:
        report, layout, builder = _run(
            path, options, _marketplace(marketplace), limit, factory, progress
        )
        build: BuildResult | None = None
        if builder is not None and (skip_invalid or not report.errors) and report.valid_rows:
            staged = builder.finish()
            build = _publish(staged, target)
        return BuildOutcome(report=report, layout=layout, build=build)
    finally:
        _remove_tree(staging)


def _publish(staged: BuildResult, target: Path) -> BuildResult:
    """Move staged documents and their manifest next to ``target`` (each move atomic)."""
    from feeds_kit.feed import BuildResult, BuiltDocument, document_paths

    final_paths = document_paths(target, len(staged.documents))
    documents = []
    for doc, final in zip(staged.documents, final_paths, strict=True):
        os.replace(doc.path, final)
        documents.append(
            BuiltDocument(
                path=final,
                marketplace_ids=doc.marketplace_ids,
                message_count=doc.message_count,
                size=doc.size,
                sha256=doc.sha256,
            )
        )
    manifest = staged.manifest
    for entry, final in zip(manifest.documents, final_paths, strict=True):
        entry.name = final.name
    manifest.write(manifest_path_for(target))
    return BuildResult(documents=documents, manifest=manifest, skipped_rows=staged.skipped_rows)


def manifest_path_for(target: Path) -> Path:
    """``feed.json`` -> ``feed.manifest.json`` (the manifest sits beside the documents)."""
    return target.with_name(f"{target.stem}.manifest.json")


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in path.iterdir():
        child.unlink(missing_ok=True)
    path.rmdir()


# --------------------------------------------------------------------------- submitting


@dataclass(slots=True)
class SubmitPlan:
    """A sheet validated and built, ready to send: what will go, what was found, what was sent
    before. Nothing has touched the network yet; :func:`send` sends it."""

    source: Path
    report: Report
    layout: SheetLayout | None
    build: BuildResult | None
    staging: Path
    previous: list[Submission]

    @property
    def chunks(self) -> int:
        return len(self.build.documents) if self.build else 0

    @property
    def messages(self) -> int:
        return sum(d.message_count for d in self.build.documents) if self.build else 0

    @property
    def marketplace_ids(self) -> list[str]:
        found: dict[str, None] = {}
        if self.build:
            for doc in self.build.documents:
                found.update(dict.fromkeys(doc.marketplace_ids))
        return list(found)

    def discard(self) -> None:
        """Remove the staged documents (after sending they live in the journal's folder)."""
        if self.staging.exists():
            _remove_tree(self.staging)


def plan_submission(
    path: str | os.PathLike[str],
    *,
    settings: Settings,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    engine: str | None = None,
    marketplace: str | Marketplace | None = None,
    skip_invalid: bool = False,
    limit: int | None = DEFAULT_LIMIT,
    chunk_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> SubmitPlan:
    """Validate and build ``path`` for ``settings``' seller into a staging folder under the
    feeds-kit home; look up earlier submissions of the same unchanged file."""
    from feeds_kit.journal import Journal, file_sha256

    home = _home(settings)
    source = Path(path)
    staging = home / "staging" / f"{os.getpid()}-{source.stem}"
    market = _marketplace(marketplace)
    if market is None and len(settings.marketplace_ids) == 1:
        market = get_marketplace(settings.marketplace_ids[0])
    outcome = build_file(
        source,
        staging / "feed.json",
        seller_id=settings.seller_id or "UNKNOWN",
        kind=kind,
        sheet=sheet,
        encoding=encoding,
        engine=engine,
        marketplace=market,
        skip_invalid=skip_invalid,
        limit=limit,
        chunk_size=chunk_size,
        progress=progress,
    )
    with Journal(home) as journal:
        previous = journal.by_source_hash(file_sha256(source)) if source.is_file() else []
    return SubmitPlan(
        source=source,
        report=outcome.report,
        layout=outcome.layout,
        build=outcome.build,
        staging=staging,
        previous=previous,
    )


@dataclass(slots=True)
class SubmitOutcome:
    """Where a submission stands after :func:`send`, and Amazon's verdict when it finished."""

    submission: Submission
    verdict: VerdictReport | None

    def exit_code(self, *, strict: bool = False) -> int:
        """3 when a feed ended FATAL/CANCELLED; 1 when rows were rejected; else 0."""
        if self.verdict is None:
            return 0
        if self.verdict.failed:
            return 3
        return self.verdict.exit_code(strict=strict)


def submitter_for(
    settings: Settings,
    *,
    journal: Journal,
    client: FeedsClient | None = None,
    waiter: Waiter | None = None,
    on_event: Callable[[Event], None] | None = None,
    reconcile_delay: float | None = None,
) -> Submitter:
    """A :class:`Submitter` wired to ``settings`` (its client, home and journal).

    ``reconcile_delay`` overrides how long to let Amazon list a feed before looking for it
    after an ambiguous createFeed (the simulator's compressed time, see :func:`local_timing`).
    """
    from feeds_kit.submission import Submitter

    extra = {"reconcile_delay": reconcile_delay} if reconcile_delay is not None else {}
    return Submitter(
        client or _LazyClient(settings),  # type: ignore[arg-type]
        journal,
        home=_home(settings),
        waiter=waiter,
        on_event=on_event,
        **extra,
    )


class _LazyClient:
    """A Feeds client built on first use: reading a finished submission's saved verdict needs
    no credentials, and should not ask for them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: FeedsClient | None = None

    def __getattr__(self, name: str) -> object:
        if self._client is None:
            from feeds_kit.client import FeedsClient

            self._client = FeedsClient.from_settings(self._settings)
        return getattr(self._client, name)


def send(
    plan: SubmitPlan,
    *,
    settings: Settings,
    wait: bool = True,
    client: FeedsClient | None = None,
    waiter: Waiter | None = None,
    on_event: Callable[[Event], None] | None = None,
    reconcile_delay: float | None = None,
) -> SubmitOutcome:
    """Record ``plan`` in the journal and send it; wait and collect the verdict if ``wait``.

    A FATAL or CANCELLED feed does not raise here: the outcome's verdict says so (exit 3).
    """
    from feeds_kit.journal import Journal

    if plan.build is None or plan.layout is None:
        raise UsageError("nothing to send: no valid row was built into a feed document")
    settings.require_credentials(seller_id=True)
    home = _home(settings)
    with Journal(home) as journal:
        submitter = submitter_for(
            settings,
            journal=journal,
            client=client,
            waiter=waiter,
            on_event=on_event,
            reconcile_delay=reconcile_delay,
        )
        submission = submitter.create(
            plan.build,
            source=plan.source,
            sheet=plan.layout.sheet,
            kind=plan.layout.kind,
            profile=settings.profile,
            seller_id=settings.seller_id,
            region=settings.region,
            marketplace_ids=plan.marketplace_ids,
            local_report=plan.report,
        )
        plan.discard()
        return _run_and_collect(submitter, submission.id, wait=wait)


def _run_and_collect(submitter: Submitter, submission_id: str, *, wait: bool) -> SubmitOutcome:
    from feeds_kit.errors import FeedFailedError, FeedsKitError
    from feeds_kit.waiter import WaitTimeoutError

    try:
        submission = submitter.run(submission_id, wait=wait)
    except FeedFailedError:
        submission = submitter.journal.get(submission_id)
    except WaitTimeoutError as error:
        raise WaitTimeoutError(
            f"submission {submission_id}: {error}; feeds-kit status {submission_id} --wait "
            "collects the verdict",
            submission_id=submission_id,
            **error.context,
        ) from None
    except FeedsKitError as error:
        # Whatever stopped the run (throttling, login, upload), the journal holds the
        # submission: say which one, and how to finish it.
        if "submission_id" not in error.context:
            error.message = (
                f"submission {submission_id} stopped: {error.message.rstrip('.')}; nothing is "
                f"lost or sent twice — feeds-kit resume {submission_id} continues where it "
                "stopped"
            )
            error.args = (error.message,)
            error.context["submission_id"] = submission_id
        raise
    verdict = (
        submitter.collect(submission_id) if submission.chunks and _settled(submission) else None
    )
    return SubmitOutcome(submission=submission, verdict=verdict)


def _settled(submission: Submission) -> bool:
    return all(chunk.finished for chunk in submission.chunks)


def resume(
    submission_id: str | None,
    *,
    settings: Settings,
    wait: bool = True,
    client: FeedsClient | None = None,
    waiter: Waiter | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> list[SubmitOutcome]:
    """Finish what a crash or Ctrl-C left: one submission, or every unfinished one."""
    from feeds_kit.journal import Journal

    home = _home(settings)
    with Journal(home) as journal:
        submitter = submitter_for(
            settings, journal=journal, client=client, waiter=waiter, on_event=on_event
        )
        targets = (
            [journal.find(submission_id)] if submission_id is not None else journal.unfinished()
        )
        outcomes = []
        for target in targets:
            outcomes.append(_run_and_collect(submitter, target.id, wait=wait))
        return outcomes


def adopt(
    submission_id: str,
    decisions: list[tuple[int, str | None]],
    *,
    settings: Settings,
) -> Submission:
    """Record a person's decisions for chunks in the attention state: per 0-based chunk index,
    the feed id Amazon created for it, or ``None`` when it was not taken (send it again)."""
    from feeds_kit.journal import Journal

    with Journal(_home(settings)) as journal:
        submitter = submitter_for(settings, journal=journal)
        submission = journal.find(submission_id)
        for index, feed_id in decisions:
            submission = submitter.adopt(submission.id, index, feed_id)
        return submission


def verdict(
    submission_id: str,
    *,
    settings: Settings,
    client: FeedsClient | None = None,
) -> tuple[Submission, VerdictReport]:
    """The verdict of a submission (or of the submission holding a feed id) as it stands."""
    from feeds_kit.journal import Journal

    home = _home(settings)
    with Journal(home) as journal:
        submission = journal.find(submission_id)
        submitter = submitter_for(settings, journal=journal, client=client)
        if submission.unfinished and any(c.sent and not c.finished for c in submission.chunks):
            submission = submitter.refresh(submission.id)
        return submission, submitter.collect(submission.id)


def find_submission(id_or_feed_id: str, *, settings: Settings) -> Submission:
    """A submission as the journal records it (by submission id or feed id); no network."""
    from feeds_kit.journal import Journal

    with Journal(_home(settings)) as journal:
        return journal.find(id_or_feed_id)


def history(*, settings: Settings, limit: int = 50) -> list[Submission]:
    """The most recent submissions recorded in the journal, newest first."""
    from feeds_kit.journal import Journal

    with Journal(_home(settings)) as journal:
        return journal.latest(limit)


def layout_of(submission: Submission) -> SheetLayout | None:
    """The sheet layout of a submission's source file, read again (``None`` if it is gone)."""
    source = Path(submission.source)
    if not source.is_file():
        return None
    with open_sheet(source, kind=submission.kind, sheet=submission.sheet) as sheet_source:
        return sheet_source.layout


# --------------------------------------------------------------------------- local simulator

#: Time compression of the embedded simulator behind ``--local``: a feed spends about two
#: seconds queued and processing, so the whole flow is seen in seconds.
LOCAL_SPEED = 40.0


@contextlib.contextmanager
def local_simulator(
    *,
    speed: float = LOCAL_SPEED,
    faults: str | None = None,
    marketplace: str | Marketplace | None = None,
    profile: str | None = None,
) -> Iterator[tuple[Simulator, Settings]]:
    """Start the embedded SP-API simulator on a free loopback port and yield it with settings
    pointing every endpoint and credential at it; stop it on exit (``--local``)."""
    from feeds_kit.config import load_settings
    from feeds_kit.simulator import (
        LOCAL_CLIENT_ID,
        LOCAL_CLIENT_SECRET,
        LOCAL_REFRESH_TOKEN,
        LOCAL_SELLER_ID,
        Simulator,
        SimulatorConfig,
        parse_faults,
    )

    try:
        plan = parse_faults(faults) if faults else None
    except ValueError as error:
        raise UsageError(f"--faults: {error}") from None
    market = _marketplace(marketplace)
    overrides: dict[str, object] = {
        "client_id": LOCAL_CLIENT_ID,
        "client_secret": LOCAL_CLIENT_SECRET,
        "refresh_token": LOCAL_REFRESH_TOKEN,
        "seller_id": LOCAL_SELLER_ID,
    }
    if market is not None:
        overrides["marketplace_ids"] = [market.id]
        overrides["region"] = market.region
    with Simulator(SimulatorConfig(speed=speed, faults=plan)).start() as simulator:
        overrides["endpoint"] = simulator.endpoint
        overrides["lwa_endpoint"] = simulator.lwa_endpoint
        settings = load_settings(profile=profile, overrides=overrides)
        settings.profile = "local"
        yield simulator, settings


def local_client(settings: Settings, *, speed: float = LOCAL_SPEED) -> FeedsClient:
    """A client for the simulator, living in its compressed time: Amazon's rate limits, retry
    back-off and login retry pauses all divided by ``speed`` (so the client stays exactly as
    polite, in simulated time), and no budget file shared with real submissions."""
    import time

    from feeds_kit.auth import LwaAuth
    from feeds_kit.client import FeedsClient, RetryPolicy
    from feeds_kit.ratelimit import DEFAULT_LIMITS, FEED_TYPE_BUDGETS, Budget, Limit, RateLimiter

    limits = {op: Limit(lim.rate * speed, lim.burst) for op, lim in DEFAULT_LIMITS.items()}
    budgets = {
        feed_type: Budget(b.submissions, b.window / speed)
        for feed_type, b in FEED_TYPE_BUDGETS.items()
    }
    real = RetryPolicy()
    retry = RetryPolicy(
        max_attempts=real.max_attempts,
        base=real.base / speed,
        cap=real.cap / speed,
        max_elapsed=real.max_elapsed / speed,
    )
    auth = LwaAuth.from_settings(settings, sleep=lambda seconds: time.sleep(seconds / speed))
    return FeedsClient.from_settings(
        settings, limiter=RateLimiter(limits, budgets=budgets), retry=retry, auth=auth
    )


def local_reconcile_delay(*, speed: float = LOCAL_SPEED) -> float:
    """The pause before looking for a feed after an ambiguous createFeed, in simulated time."""
    from feeds_kit.submission import RECONCILE_DELAY

    return RECONCILE_DELAY / speed


def local_waiter(*, speed: float = LOCAL_SPEED) -> Waiter:
    """A waiter whose polling matches the simulator's compressed time."""
    from feeds_kit.waiter import Waiter

    return Waiter(
        delay=max(0.2, 5.0 / speed), max_delay=max(1.0, 120.0 / speed), max_wait=3600.0 / speed * 4
    )


# --------------------------------------------------------------------------- auth check


@dataclass(slots=True)
class AuthCheck:
    """What ``auth check`` proved: where each setting came from (no secret), the seller, and
    the marketplaces the credentials reach."""

    sources: dict[str, str]
    seller_id: str | None
    marketplaces: list[str]
    note: str | None = None


def check_auth(settings: Settings, *, client: FeedsClient | None = None) -> AuthCheck:
    """Log in with Amazon and make one cheap authenticated call.

    ``getMarketplaceParticipations`` (Sellers API) names the marketplaces; an application
    without the Sellers role falls back to ``getFeeds``, which proves the Feeds access the tool
    needs. Raises :class:`~feeds_kit.errors.AuthError` / :class:`ApiError` when refused.
    """
    from feeds_kit.client import FeedsClient
    from feeds_kit.errors import ApiError

    settings.require_credentials()
    client = client or FeedsClient.from_settings(settings)
    marketplaces: list[str] = []
    note = None
    try:
        response = client.request(
            "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations"
        )
        for entry in response.json().get("payload", []):
            market = entry.get("marketplace", {})
            if entry.get("participation", {}).get("isParticipating", True):
                code = market.get("countryCode") or market.get("id", "?")
                marketplaces.append(f"{code} ({market.get('id', '?')})")
    except ApiError as error:
        if error.status not in (403, 404):
            raise
        client.get_feeds(feed_types=["JSON_LISTINGS_FEED"], page_size=1)
        reason = (
            "the application lacks the Selling Partner Insights role"
            if error.status == 403
            else "this endpoint has no Sellers API"
        )
        note = f"The Feeds API answered; the marketplaces could not be listed ({reason})."
    return AuthCheck(
        sources=settings.describe(),
        seller_id=settings.seller_id,
        marketplaces=marketplaces,
        note=note,
    )


def simulator_listing(
    endpoint: str, *, seller_id: str | None = None, sku: str | None = None
) -> object:
    """What a running simulator holds: one SKU, or every SKU of a seller (``sandbox show``)."""
    import requests

    from feeds_kit.errors import NetworkError, NotFoundError
    from feeds_kit.simulator import LOCAL_SELLER_ID

    seller = seller_id or LOCAL_SELLER_ID
    url = f"{endpoint.rstrip('/')}/_simulator/listings/{seller}"
    if sku:
        url += f"/{requests.utils.quote(sku, safe='')}"
    try:
        response = requests.get(url, timeout=10)
    except requests.RequestException as error:
        raise NetworkError(
            f"cannot reach the simulator at {endpoint}: start it with feeds-kit sandbox serve "
            f"({type(error).__name__})"
        ) from None
    if response.status_code == 404:
        what = f"SKU {sku!r}" if sku else "any listing"
        raise NotFoundError(f"the simulator holds no {what} for seller {seller}")
    response.raise_for_status()
    return response.json()


def with_max_wait(waiter: Waiter | None, seconds: float) -> Waiter:
    """``waiter`` (or the default one) giving up after ``seconds`` (``--max-wait``)."""
    import dataclasses

    from feeds_kit.waiter import Waiter

    return dataclasses.replace(waiter or Waiter(), max_wait=seconds)
