"""The ``feeds-kit`` command line: a thin shell over :mod:`feeds_kit.api`.

Each command parses its options, calls one library function and renders what it returns.
Library errors (:class:`~feeds_kit.errors.FeedsKitError`) become one sentence on stderr and the
documented exit code (PRODUCT.md): 0 ok, 1 data errors, 2 usage or unreadable input,
3 operational failure. This is the only module that imports click.
"""

from __future__ import annotations

import functools
import logging
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from feeds_kit import __version__, api, render
from feeds_kit.errors import EXIT_USAGE, FeedsKitError

if TYPE_CHECKING:
    # rich is imported where text is printed: `--format json` starts faster without it.
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

KIND_CHOICES = ("offers", "prices", "inventory", "listings")


def _stdout() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def handle_errors(func: F) -> F:
    """Turn library errors into one sentence and their exit code; Ctrl-C into exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FeedsKitError as error:
            click.echo(f"Error: {error}", err=True)
            raise SystemExit(error.exit_code) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise SystemExit(130) from None

    return wrapper  # type: ignore[return-value]


def sheet_options(func: F) -> F:
    """Options every command that reads a sheet shares."""
    decorators = [
        click.option(
            "--kind",
            type=click.Choice(KIND_CHOICES, case_sensitive=False),
            help="Sheet kind; detected from the headers when omitted.",
        ),
        click.option("--sheet", help="Worksheet to read (default: the one whose headers fit)."),
        click.option(
            "--encoding",
            help="Text encoding of a CSV/TSV/TXT file (default: detected; UTF-8, UTF-16 or "
            "windows-1252).",
        ),
        click.option(
            "--marketplace",
            "-m",
            help="Marketplace for rows without one: a code (US, DE, UK, ...) or a marketplace id.",
        ),
        click.option(
            "--limit-errors",
            type=click.IntRange(min=1),
            default=api.DEFAULT_LIMIT,
            show_default=True,
            help="Keep at most this many issues (the summary says when the limit is hit).",
        ),
        click.option(
            "--engine",
            type=click.Choice(("calamine", "openpyxl")),
            hidden=True,
            help="Spreadsheet reader engine for .xlsx/.xlsm.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@contextmanager
def progress_bar(enabled: bool) -> Iterator[api.ProgressCallback | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    console = _stderr()
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("Reading", total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _configure_logging(level: str | None, log_file: str | None) -> None:
    if not level and not log_file:
        return
    logger = logging.getLogger("feeds_kit")
    logger.setLevel(getattr(logging, (level or "INFO").upper()))
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # Defence in depth: our own lines never carry a secret, but a scrubbing filter on the handler
    # also covers library lines (urllib3 logs whole URLs, presigned signatures included).
    from feeds_kit.client import RedactingFilter

    handler.addFilter(RedactingFilter(_known_secrets))
    logger.addHandler(handler)


def _known_secrets() -> list[str]:
    """Secret values from the environment, masked in every log line should one slip in."""
    import os

    names = ("LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN", "AWS_SECRET_ACCESS_KEY")
    return [os.environ[n] for n in names if os.environ.get(n)]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feeds-kit")
@click.option(
    "--log-level",
    type=click.Choice(("DEBUG", "INFO", "WARNING", "ERROR"), case_sensitive=False),
    envvar="FEEDS_KIT_LOG_LEVEL",
    help="Log to stderr (or --log-file) at this level. Secrets are never logged.",
)
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the log to this file.")
def cli(log_level: str | None, log_file: str | None) -> None:
    """Manage Amazon listings, prices and inventory in bulk from spreadsheets.

    A sheet goes in, Amazon's verdict comes back written onto the same rows.
    """
    _configure_logging(log_level, log_file)


# --------------------------------------------------------------------------- template


@cli.command()
@click.argument("kind", type=click.Choice(KIND_CHOICES, case_sensitive=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Workbook to write (default: KIND-template.xlsx).",
)
@click.option("--marketplace", "-m", help="Pre-select this marketplace in the example.")
@click.option("--product-type", help="For listings: the product type whose columns to use.")
@handle_errors
def template(
    kind: str, output: Path | None, marketplace: str | None, product_type: str | None
) -> None:
    """Write a blank workbook: headers, drop-downs, notes and an example row."""
    from feeds_kit import templates
    from feeds_kit.marketplaces import get_marketplace

    target = output or Path(f"{kind}-template.xlsx")
    market = get_marketplace(marketplace) if marketplace else None
    written = templates.write_template(
        kind.lower(), target, marketplace=market, product_type=product_type
    )
    _stdout().print(f"Wrote {written}")


# --------------------------------------------------------------------------- validate


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@sheet_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "csv")),
    default="text",
    show_default=True,
    help="Output format; json is versioned (docs/json-output.md).",
)
@click.option(
    "--annotate",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an annotated copy of the workbook here.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@handle_errors
def validate(
    file: Path,
    kind: str | None,
    sheet: str | None,
    encoding: str | None,
    marketplace: str | None,
    limit_errors: int,
    engine: str | None,
    fmt: str,
    annotate: Path | None,
    strict: bool,
) -> None:
    """Check a sheet offline: every problem with its row, column and a fix."""
    with progress_bar(fmt == "text") as progress:
        result = api.validate_file(
            file,
            kind=kind,
            sheet=sheet,
            encoding=encoding,
            engine=engine,
            marketplace=marketplace,
            limit=limit_errors,
            progress=progress,
        )
    code = result.exit_code(strict=strict)
    written = None
    if annotate is not None and result.layout is not None:
        from feeds_kit import workbook

        written = workbook.annotate_workbook(file, result.layout, result.report, annotate)
    _emit(result.report, fmt, "validate", code)
    if written is not None and fmt == "text":
        _stdout().print(f"Annotated copy: {written}")
    raise SystemExit(code)


def _emit(
    report: Any, fmt: str, command: str, code: int, extra: dict[str, Any] | None = None
) -> None:
    if fmt == "json":
        render.write_json(report, sys.stdout, command=command, extra=extra, exit_code=code)
    elif fmt == "csv":
        render.write_csv(report, sys.stdout)
    else:
        render.render_text(report, console=_stdout(), command=command, summary_extra=extra)


# --------------------------------------------------------------------------- build


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Feed document to write (FEED.json; several chunks: FEED-001.json, ...). "
    "The manifest goes beside it as FEED.manifest.json.",
)
@click.option(
    "--seller-id", help="Seller id for the feed header (else profile / SP_API_SELLER_ID)."
)
@click.option("--profile", help="Configuration profile to take the seller id from.")
@sheet_options
@click.option(
    "--skip-invalid", is_flag=True, help="Build from the valid rows and list what was left out."
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 25_000),
    hidden=True,
    help="Messages per feed document (default and maximum: 25,000).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@handle_errors
def build(
    file: Path,
    output: Path,
    seller_id: str | None,
    profile: str | None,
    kind: str | None,
    sheet: str | None,
    encoding: str | None,
    marketplace: str | None,
    limit_errors: int,
    engine: str | None,
    skip_invalid: bool,
    chunk_size: int | None,
    fmt: str,
    strict: bool,
) -> None:
    """Turn a sheet into JSON_LISTINGS_FEED document(s) and a manifest; no network."""
    seller = _seller_id(seller_id, profile)
    with progress_bar(fmt == "text") as progress:
        outcome = api.build_file(
            file,
            output,
            seller_id=seller,
            kind=kind,
            sheet=sheet,
            encoding=encoding,
            engine=engine,
            marketplace=marketplace,
            skip_invalid=skip_invalid,
            limit=limit_errors,
            chunk_size=chunk_size,
            progress=progress,
        )
    code = outcome.exit_code(strict=strict)
    extra: dict[str, Any] = {}
    if outcome.build is not None:
        extra["documents"] = [
            {
                "path": str(d.path),
                "messages": d.message_count,
                "bytes": d.size,
                "marketplaceIds": d.marketplace_ids,
            }
            for d in outcome.build.documents
        ]
        extra["manifest"] = str(api.manifest_path_for(output))
        extra["skippedRows"] = outcome.build.skipped_rows
    _emit(outcome.report, fmt, "build", code, extra)
    if fmt == "text":
        console = _stdout()
        if outcome.build is None:
            console.print("No feed document written: fix the errors above or use --skip-invalid.")
        else:
            for doc in outcome.build.documents:
                console.print(
                    f"Wrote {doc.path} ({doc.message_count:,} messages, {doc.size:,} bytes)"
                )
            console.print(f"Wrote {api.manifest_path_for(output)}")
            if outcome.build.skipped_rows:
                rows = ", ".join(str(r) for r in outcome.build.skipped_rows[:50])
                more = len(outcome.build.skipped_rows) - 50
                console.print(
                    f"Left out {len(outcome.build.skipped_rows)} invalid row(s): {rows}"
                    + (f" and {more} more" if more > 0 else "")
                )
    raise SystemExit(code)


def _seller_id(seller_id: str | None, profile: str | None) -> str:
    """The seller id from the option, else the environment/profile, else a usage error."""
    if seller_id:
        return seller_id
    from feeds_kit.config import load_settings

    settings = load_settings(profile=profile)
    if settings.seller_id:
        return settings.seller_id
    raise click.UsageError(
        "No seller id: pass --seller-id, set SP_API_SELLER_ID or add seller_id to a profile."
    )


# --------------------------------------------------------------------------- submit & co.


def _settings(profile: str | None, marketplace: str | None = None) -> Any:
    from feeds_kit.config import load_settings

    overrides = {"marketplace_ids": [marketplace]} if marketplace else None
    return load_settings(profile=profile, overrides=overrides)


@contextmanager
def _session(
    local: bool, profile: str | None, marketplace: str | None, faults: str | None = None
) -> Iterator[tuple[Any, Any, Any]]:
    """Settings, client and waiter for Amazon, or for the embedded simulator with ``--local``."""
    if local:
        with api.local_simulator(marketplace=marketplace, profile=profile, faults=faults) as (
            _sim,
            settings,
        ):
            yield settings, api.local_client(settings), api.local_waiter()
        return
    if faults:
        raise click.UsageError("--faults only applies with --local.")
    settings = _settings(profile, marketplace)
    yield settings, None, None


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.UsageError(f"{question} Add --yes to answer yes without a terminal.")
    return click.confirm(question, default=False, err=True)


def _default_annotation(source: Path) -> Path:
    return source.with_name(f"{source.stem}.annotated.xlsx")


def _show_verdict(
    outcome: Any,
    fmt: str,
    annotate: Path | None,
    fix_sheet: Path | None,
    strict: bool,
    command: str,
) -> int:
    from feeds_kit import views, workbook

    submission, verdict = outcome.submission, outcome.verdict
    if verdict is None:
        if fmt == "text":
            views.submission_detail(_stdout(), submission)
            _stdout().print(
                f"Not finished yet: feeds-kit status {submission.id} --wait shows the verdict "
                "when Amazon is done."
            )
        elif fmt == "json":
            render.write_json_submission(submission, sys.stdout)
        return 0
    code = outcome.exit_code(strict=strict)
    written: list[str] = []
    layout = api.layout_of(submission) if (annotate or fix_sheet) else None
    if (annotate or fix_sheet) and layout is None:
        _stderr().print(
            f"[yellow]{submission.source} is no longer readable: no annotated copy written."
            "[/yellow]"
        )
    if layout is not None and annotate is not None:
        path = workbook.annotate_workbook(
            Path(submission.source),
            layout,
            verdict,
            annotate,
            verdict="amazon",
            processed_rows=verdict.processed_rows,
        )
        written.append(f"Annotated copy: {path}")
    if layout is not None and fix_sheet is not None:
        count = workbook.write_fix_sheet(Path(submission.source), layout, verdict, fix_sheet)
        written.append(f"Fix sheet ({count} rows): {fix_sheet}")
    extra = {
        "submission": submission.id,
        "state": submission.state.value,
        "feedIds": submission.feed_ids(),
        "amazon": verdict.totals.to_dict(),
    }
    _emit(verdict, fmt, command, code, extra)
    if fmt == "text":
        for line in written:
            _stdout().print(line)
    return code


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--profile", "-p", help="Configuration profile (credentials, region, seller).")
@sheet_options
@click.option("--local", is_flag=True, help="Send to the embedded local SP-API simulator.")
@click.option(
    "--wait/--no-wait",
    default=None,
    help="Wait for Amazon's verdict (default: wait when run from a terminal or with --local).",
)
@click.option("--dry-run", is_flag=True, help="Validate and build, show what would be sent, stop.")
@click.option("--yes", "-y", is_flag=True, help="Send without asking.")
@click.option("--skip-invalid", is_flag=True, help="Send only the valid rows; list the others.")
@click.option(
    "--annotate",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the annotated copy (default: FILE.annotated.xlsx beside the input).",
)
@click.option("--no-annotate", is_flag=True, help="Do not write an annotated copy.")
@click.option(
    "--fix-sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rejected rows, ready to fix and resubmit.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "csv")),
    default="text",
    show_default=True,
    help="Output format of the verdict.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@click.option("--faults", hidden=True, help="With --local: simulator fault plan (rehearsals).")
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 25_000),
    hidden=True,
    help="Messages per feed document (default and maximum: 25,000).",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    help="Stop waiting after this many seconds (the submission stays resumable).",
)
@handle_errors
def submit(
    file: Path,
    profile: str | None,
    kind: str | None,
    sheet: str | None,
    encoding: str | None,
    marketplace: str | None,
    limit_errors: int,
    engine: str | None,
    local: bool,
    wait: bool | None,
    dry_run: bool,
    yes: bool,
    skip_invalid: bool,
    annotate: Path | None,
    no_annotate: bool,
    fix_sheet: Path | None,
    fmt: str,
    strict: bool,
    faults: str | None,
    chunk_size: int | None,
    max_wait: float | None,
) -> None:
    """Validate, send to Amazon (JSON_LISTINGS_FEED), wait, and show the verdict on your rows."""
    from feeds_kit import views

    console = _stdout() if fmt == "text" else _stderr()
    with _session(local, profile, marketplace, faults) as (settings, client, waiter):
        if not dry_run:
            settings.require_credentials(seller_id=True)
        with progress_bar(fmt == "text") as progress:
            plan = api.plan_submission(
                file,
                settings=settings,
                kind=kind,
                sheet=sheet,
                encoding=encoding,
                engine=engine,
                marketplace=marketplace,
                skip_invalid=skip_invalid,
                limit=limit_errors,
                chunk_size=chunk_size,
                progress=progress,
            )
        report = plan.report
        try:
            if plan.build is None:
                _emit(report, fmt, "submit", 1, {"sent": False})
                if fmt == "text":
                    console.print(
                        "Nothing sent: fix the errors above, or use --skip-invalid to send the "
                        "valid rows only."
                    )
                raise SystemExit(1)
            views.plan_summary(
                console,
                source=str(file),
                rows=report.rows,
                valid_rows=report.valid_rows,
                messages=plan.messages,
                chunks=plan.chunks,
                marketplace_ids=plan.marketplace_ids,
                errors=len(report.errors),
                warnings=len(report.warnings),
                skipped=plan.build.skipped_rows
                or sorted({i.row for i in report.errors if i.row is not None}),
                previous=plan.previous,
                seller_id=settings.seller_id,
                endpoint="local simulator" if local else settings.endpoint,
            )
            if report.issues and fmt == "text":
                render.render_text(report, console=console, command="validate", max_rows=20)
            if dry_run:
                console.print("Dry run: nothing sent.")
                raise SystemExit(report.exit_code(strict=strict))
            question = "Send it?"
            if plan.previous:
                question = "This file was sent before. Send it again?"
            elif report.errors:
                question = "Some rows have problems and will be left out. Send the rest?"
            if not _confirm(question, yes):
                console.print("Nothing sent.")
                raise SystemExit(0)
            should_wait = wait if wait is not None else (local or sys.stdout.isatty())
            from feeds_kit.views import ProgressPrinter

            if max_wait is not None:
                waiter = api.with_max_wait(waiter, max_wait)
            outcome = api.send(
                plan,
                reconcile_delay=api.local_reconcile_delay() if local else None,
                settings=settings,
                wait=should_wait,
                client=client,
                waiter=waiter,
                on_event=ProgressPrinter(_stderr()),
            )
        finally:
            plan.discard()
        target = None if no_annotate else (annotate or _default_annotation(file))
        code = _show_verdict(outcome, fmt, target, fix_sheet, strict, "submit")
    raise SystemExit(code)


@cli.command()
@click.argument("id", required=False)
@click.option("--profile", "-p", help="Configuration profile.")
@click.option("--wait", is_flag=True, help="Wait until Amazon has finished, then show the verdict.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Without ID: how many recent submissions to list.",
)
@handle_errors
def status(id: str | None, profile: str | None, wait: bool, limit: int) -> None:
    """A submission or feed id as it stands now; no id: the recent submissions."""
    from feeds_kit import views

    settings = _settings(profile)
    if id is None:
        subs = api.history(settings=settings, limit=limit)
        if not subs:
            _stdout().print("No submissions yet.")
            return
        _stdout().print(views.submissions_table(subs, title="Recent submissions"))
        return
    if wait:
        outcomes = api.resume(
            id, settings=settings, wait=True, on_event=views.ProgressPrinter(_stderr())
        )
        code = max(
            (_show_verdict(o, "text", None, None, False, "status") for o in outcomes), default=0
        )
        raise SystemExit(code)
    from feeds_kit.errors import ConfigError

    try:
        submission, verdict_report = api.verdict(id, settings=settings)
    except ConfigError as error:
        # What the journal knows needs no credentials; Amazon's latest word does.
        views.submission_detail(_stdout(), api.find_submission(id, settings=settings))
        _stderr().print(f"Amazon was not asked for news: {error}")
        return
    views.submission_detail(_stdout(), submission)
    if verdict_report.chunks and verdict_report.finished:
        render.render_text(verdict_report, console=_stdout(), command="status", max_rows=20)


@cli.command()
@click.argument("id")
@click.option("--profile", "-p", help="Configuration profile.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "csv")),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--annotate",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write Amazon's verdict onto a copy of the workbook.",
)
@click.option(
    "--fix-sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write only the rejected rows, in the original layout.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@handle_errors
def report(
    id: str,
    profile: str | None,
    fmt: str,
    annotate: Path | None,
    fix_sheet: Path | None,
    strict: bool,
) -> None:
    """Amazon's verdict of a submission (or feed id), local and Amazon issues together."""
    settings = _settings(profile)
    submission, verdict_report = api.verdict(id, settings=settings)
    outcome = api.SubmitOutcome(submission=submission, verdict=verdict_report)
    raise SystemExit(_show_verdict(outcome, fmt, annotate, fix_sheet, strict, "report"))


@cli.command()
@click.argument("id", required=False)
@click.option("--profile", "-p", help="Configuration profile.")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait for Amazon's verdict after sending what was left.",
)
@click.option(
    "--adopt",
    metavar="CHUNK=FEED_ID",
    multiple=True,
    help="For a chunk that needs attention: the feed Amazon created for it, or CHUNK=none "
    "when none of the candidates is it (it is then sent again). Needs ID.",
)
@handle_errors
def resume(id: str | None, profile: str | None, wait: bool, adopt: tuple[str, ...]) -> None:
    """Finish what a crash or Ctrl-C left half done; never sends a chunk twice."""
    from feeds_kit import views

    settings = _settings(profile)
    if adopt:
        if id is None:
            raise click.UsageError("--adopt needs the submission ID.")
        api.adopt(id, [_parse_adopt(a) for a in adopt], settings=settings)
    outcomes = api.resume(
        id, settings=settings, wait=wait, on_event=views.ProgressPrinter(_stderr())
    )
    if not outcomes:
        _stdout().print("Nothing to resume.")
        return
    code = 0
    for outcome in outcomes:
        code = max(code, _show_verdict(outcome, "text", None, None, False, "resume"))
    raise SystemExit(code)


def _parse_adopt(text: str) -> tuple[int, str | None]:
    chunk, sep, feed = text.partition("=")
    if not sep or not chunk.strip().isdigit() or int(chunk) < 1 or not feed.strip():
        raise click.BadParameter(
            f"{text!r}: write CHUNK=FEED_ID (e.g. 2=50012345678) or CHUNK=none",
            param_hint="--adopt",
        )
    value = feed.strip()
    return int(chunk) - 1, None if value.lower() == "none" else value


@cli.command()
@click.option("--profile", "-p", help="Configuration profile.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="How many submissions to list.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="Output format.",
)
@handle_errors
def history(profile: str | None, limit: int, fmt: str) -> None:
    """What was sent, when, with what outcome."""
    from feeds_kit import views

    subs = api.history(settings=_settings(profile), limit=limit)
    if fmt == "json":
        render.write_json_history(subs, sys.stdout)
        return
    if not subs:
        _stdout().print("No submissions yet.")
        return
    _stdout().print(views.submissions_table(subs, title="Submissions"))


@cli.command()
@click.argument("feed_id")
@click.option("--profile", "-p", help="Configuration profile.")
@handle_errors
def cancel(feed_id: str, profile: str | None) -> None:
    """Cancel a feed; Amazon allows it only while it is IN_QUEUE."""
    from feeds_kit.journal import Journal

    settings = _settings(profile)
    settings.require_credentials()
    with Journal(settings.home) as journal:
        api.submitter_for(settings, journal=journal).cancel(feed_id)
    _stdout().print(f"Feed {feed_id} cancelled.")


# --------------------------------------------------------------------------- auth


@cli.group()
def auth() -> None:
    """Credentials: prove they work without printing them."""


@auth.command("check")
@click.option("--profile", "-p", help="Configuration profile.")
@click.option("--local", is_flag=True, help="Check against the embedded local simulator.")
@handle_errors
def auth_check(profile: str | None, local: bool) -> None:
    """Log in with Amazon, make one cheap call, show the seller and marketplaces reached."""
    with _session(local, profile, None) as (settings, client, _waiter):
        result = api.check_auth(settings, client=client)
    console = _stdout()
    console.print("Credentials work.")
    for name, where in result.sources.items():
        # AWS settings only matter when SigV4 signing is configured.
        if name.startswith(("aws_", "role_arn")) and not settings.sigv4_enabled:
            continue
        console.print(f"  {name}: {where}")
    if result.seller_id:
        console.print(f"  seller: {result.seller_id}")
    if result.marketplaces:
        console.print("  marketplaces: " + ", ".join(result.marketplaces))
    if result.note:
        console.print(f"  {result.note}")


# --------------------------------------------------------------------------- sandbox


@cli.group()
def sandbox() -> None:
    """The local SP-API simulator: rehearse the whole flow offline."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Time compression of feed processing and rate limits.",
)
@click.option(
    "--faults",
    help="Fault plan, e.g. 'createFeed:drop-after*1,getFeed:throttle*5' (docs/simulator.md).",
)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the simulated listings in this JSON file across restarts.",
)
@click.option("--seed", type=int, help="Seed for the simulator's random choices.")
@handle_errors
def sandbox_serve(
    host: str, port: int, speed: float, faults: str | None, store: Path | None, seed: int | None
) -> None:
    """Run the simulator in the foreground until Ctrl-C."""
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
        raise click.BadParameter(str(error), param_hint="--faults") from None
    simulator = Simulator(SimulatorConfig(speed=speed, faults=plan, store_path=store, seed=seed))
    console = _stderr()

    def ready(running: Simulator) -> None:
        endpoint, lwa_endpoint = running.endpoint, running.lwa_endpoint
        console.print(f"SP-API simulator listening on {endpoint} (Ctrl-C stops it)")
        console.print("Point a client at it (these test credentials are public):")
        # Quoted for the shell: the refresh token holds a "|" (as Amazon's do).
        for name, value in (
            ("FEEDS_KIT_ENDPOINT", endpoint),
            ("FEEDS_KIT_LWA_ENDPOINT", lwa_endpoint),
            ("LWA_CLIENT_ID", LOCAL_CLIENT_ID),
            ("LWA_CLIENT_SECRET", LOCAL_CLIENT_SECRET),
            ("SP_API_REFRESH_TOKEN", LOCAL_REFRESH_TOKEN),
            ("SP_API_SELLER_ID", LOCAL_SELLER_ID),
        ):
            click.echo(f"export {name}={shlex.quote(value)}")

    try:
        simulator.serve_forever(host, port, ready=ready)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None


@sandbox.command("show")
@click.argument("sku", required=False)
@click.option(
    "--endpoint",
    envvar="FEEDS_KIT_ENDPOINT",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The simulator's address.",
)
@click.option("--seller-id", envvar="SP_API_SELLER_ID", help="Seller whose listings to show.")
@handle_errors
def sandbox_show(sku: str | None, endpoint: str, seller_id: str | None) -> None:
    """What the simulator now holds for a SKU (no SKU: every SKU of the seller)."""
    import json

    data = api.simulator_listing(endpoint, seller_id=seller_id, sku=sku)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- product types


@cli.group("product-types")
def product_types_group() -> None:
    """Amazon product type schemas: fetch, cache and inspect them for listings sheets."""


@product_types_group.command("fetch")
@click.argument("product_type")
@click.option("--marketplace", "-m", required=True, help="Marketplace code or id (US, DE, ...).")
@click.option("--locale", help="Locale of titles and descriptions (e.g. en_US, de_DE).")
@click.option("--profile", "-p", help="Configuration profile.")
@click.option("--local", is_flag=True, help="Fetch from the embedded local simulator.")
@handle_errors
def product_types_fetch(
    product_type: str, marketplace: str, locale: str | None, profile: str | None, local: bool
) -> None:
    """Download a product type's schema (LISTING, and NOT_ENFORCED for partial updates)."""
    from feeds_kit import product_types
    from feeds_kit.marketplaces import get_marketplace

    market = get_marketplace(marketplace)
    with _session(local, profile, market.code) as (settings, client, _waiter):
        if client is None:
            from feeds_kit.client import FeedsClient

            client = FeedsClient.from_settings(settings)
        cache = product_types.ProductTypeCache(settings.home / "product-types")
        for enforced in (True, False):
            entry = product_types.fetch(
                client,
                product_type,
                market.id,
                locale=locale,
                enforced=enforced,
                seller_id=settings.seller_id,
                cache=cache,
            )
            _stdout().print(
                f"Cached {entry.product_type} for {market.code} "
                f"({'ENFORCED' if enforced else 'NOT_ENFORCED'}, version "
                f"{entry.version or '?'}): {entry.schema_path}"
            )


@product_types_group.command("list")
@click.option("--profile", "-p", help="Configuration profile (for its home directory).")
@handle_errors
def product_types_list(profile: str | None) -> None:
    """The product type schemas at hand: cached downloads and the packaged examples."""
    from rich.table import Table

    from feeds_kit import product_types
    from feeds_kit.views import marketplace_codes

    settings = _settings(profile)
    cache = product_types.ProductTypeCache(settings.home / "product-types")
    entries = cache.entries() + cache.packaged_entries()
    table = Table(title="Product type schemas", title_justify="left")
    for column in (
        "Product type",
        "Marketplace",
        "Requirements",
        "Enforced",
        "Locale",
        "Version",
        "Fetched",
        "Source",
    ):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.product_type,
            marketplace_codes([entry.marketplace_id]),
            entry.requirements,
            "yes" if entry.enforced else "no",
            entry.locale or "",
            entry.version or "",
            entry.fetched_at.strftime("%Y-%m-%d %H:%M") if entry.fetched_at else "",
            entry.source + (" (derived)" if entry.derived else ""),
        )
    _stdout().print(table)


@product_types_group.command("show")
@click.argument("product_type")
@click.option(
    "--marketplace", "-m", default="US", show_default=True, help="Marketplace code or id."
)
@click.option("--all", "show_all", is_flag=True, help="Also list hidden attributes.")
@click.option("--profile", "-p", help="Configuration profile (for its home directory).")
@handle_errors
def product_types_show(
    product_type: str, marketplace: str, show_all: bool, profile: str | None
) -> None:
    """A product type's attributes, required ones first, as listings columns name them."""
    from rich.table import Table

    from feeds_kit import product_types
    from feeds_kit.marketplaces import get_marketplace

    market = get_marketplace(marketplace)
    settings = _settings(profile)
    cache = product_types.ProductTypeCache(settings.home / "product-types")
    entry = cache.load(product_type.upper(), market.id)
    infos = product_types.describe(entry.schema, entry.property_groups)
    table = Table(
        title=f"{entry.product_type} ({market.code}, {entry.source})", title_justify="left"
    )
    for column in ("Attribute", "Title", "Required", "Type", "Allowed values", "Limit"):
        table.add_column(column, overflow="fold")
    for info in infos:
        if info.hidden and not show_all:
            continue
        required = "yes" if info.required else ("if..." if info.conditional else "")
        values = ", ".join(str(v) for v in info.enum[:6]) + (" ..." if len(info.enum) > 6 else "")
        limit = (
            f"{info.max_bytes} bytes"
            if info.max_bytes
            else (f"{info.max_length} chars" if info.max_length else "")
        )
        table.add_row(info.name, info.title, required, info.type or "", values, limit)
    _stdout().print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="feeds-kit")
    except SystemExit:
        raise
    except Exception:  # pragma: no cover - last resort: never a bare traceback for a user
        logging.getLogger("feeds_kit").exception("unexpected failure")
        click.echo(
            "Error: feeds-kit failed unexpectedly; rerun with --log-level DEBUG and report it.",
            err=True,
        )
        raise SystemExit(EXIT_USAGE + 1) from None
