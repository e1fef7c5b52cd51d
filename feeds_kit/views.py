"""How submissions look in a terminal: the plan before sending, progress while it runs, the
status of one submission and the history of many. (Reports of issues render in ``render.py``.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import PurePath

from rich.console import Console
from rich.table import Table

from feeds_kit.journal import Submission
from feeds_kit.marketplaces import BY_ID
from feeds_kit.submission import (
    ChunkFinished,
    ChunkStarted,
    ChunkUploaded,
    DocumentCreated,
    Event,
    FeedCreated,
    NeedsAttention,
    Pacing,
    Reconciled,
    Reconciling,
    ReportFetched,
    SlowFeed,
    StatusChanged,
    SubmissionFinished,
    UploadExpired,
    Waiting,
)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def marketplace_codes(ids: Sequence[str]) -> str:
    """``ATVPDKIKX0DER`` -> ``US``; unknown ids are shown as they are."""
    return ", ".join(BY_ID[i].code if i in BY_ID else i for i in ids)


def plan_summary(
    console: Console,
    *,
    source: str,
    rows: int,
    valid_rows: int,
    messages: int,
    chunks: int,
    marketplace_ids: Sequence[str],
    errors: int,
    warnings: int,
    skipped: Sequence[int],
    previous: Sequence[Submission],
    seller_id: str | None,
    endpoint: str,
) -> None:
    """What is about to be sent, and what was found, before asking."""
    console.print(
        f"Ready to send {source}: {messages:,} message(s) from {valid_rows:,} of {rows:,} rows "
        f"in {chunks} feed document(s) for {marketplace_codes(marketplace_ids) or '-'} "
        f"(seller {seller_id or '?'}, {endpoint})."
    )
    if errors or warnings:
        console.print(f"Problems found: {errors} error(s), {warnings} warning(s).")
    if skipped:
        shown = ", ".join(str(r) for r in list(skipped)[:30])
        more = f" and {len(skipped) - 30} more" if len(skipped) > 30 else ""
        console.print(f"Left out (invalid): rows {shown}{more}.")
    for sub in previous[:3]:
        console.print(
            f"[yellow]This unchanged file was already submitted as {sub.id} on "
            f"{_when(sub.created_at)} ({sub.state.value}).[/yellow]"
        )


class ProgressPrinter:
    """Prints submission :class:`Event`s as short lines (stderr), one per step."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._last_wait = ""

    def __call__(self, event: Event) -> None:
        line = self.describe(event)
        if line:
            self.console.print(line)

    def describe(self, event: Event) -> str | None:
        sid = event.submission_id
        match event:
            case ChunkStarted(index=i, total=n, message_count=m):
                return f"{sid}: chunk {i + 1}/{n} ({m:,} messages)"
            case DocumentCreated(index=i):
                return f"  chunk {i + 1}: feed document created"
            case UploadExpired(index=i, attempt=a):
                return f"  chunk {i + 1}: upload URL expired, asking for a new one (attempt {a})"
            case ChunkUploaded(index=i, size=size):
                return f"  chunk {i + 1}: uploaded {size:,} bytes"
            case FeedCreated(index=i, feed_id=feed):
                return f"  chunk {i + 1}: feed {feed} created"
            case Pacing(index=i, wait=wait, remaining=remaining, eta=eta):
                return (
                    f"  chunk {i + 1}: waiting {_duration(wait)} for Amazon's feed submission "
                    f"limit; the last of {remaining} chunk(s) goes in about {_duration(eta)}"
                )
            case Reconciling(index=i, reason=why):
                return f"  chunk {i + 1}: checking with Amazon whether the feed was taken ({why})"
            case Reconciled(index=i, outcome=outcome, feed_id=feed):
                if outcome == "adopted":
                    return f"  chunk {i + 1}: Amazon had taken it as feed {feed}"
                if outcome == "none":
                    return f"  chunk {i + 1}: Amazon had not taken it; sending again"
                return f"  chunk {i + 1}: several candidate feeds; a person must decide"
            case NeedsAttention(index=i, reason=why, candidates=candidates):
                options = " or ".join(f"{i + 1}={c}" for c in candidates[:3])
                return (
                    f"[yellow]  chunk {i + 1} needs attention: {why}. Decide with: feeds-kit "
                    f"resume {sid} --adopt {options or f'{i + 1}=FEED_ID'} "
                    f"(or --adopt {i + 1}=none to send it again)[/yellow]"
                )
            case StatusChanged(index=i, feed_id=feed, status=status, elapsed=elapsed):
                return f"  feed {feed} (chunk {i + 1}): {status} after {_duration(elapsed)}"
            case Waiting(pending=pending, next_check_in=wait, elapsed=elapsed):
                text = (
                    f"  waiting for {len(pending)} feed(s), {_duration(elapsed)} so far; "
                    f"next check in {_duration(wait)}"
                )
                if text == self._last_wait:
                    return None
                self._last_wait = text
                return text
            case SlowFeed(feed_id=feed, status=status, duration=duration):
                return (
                    f"[yellow]  feed {feed} has been {status} for {_duration(duration)}, longer "
                    "than usual; Ctrl-C stops waiting (feeds-kit status ID --wait resumes)"
                    "[/yellow]"
                )
            case ChunkFinished(index=i, feed_id=feed, status=status):
                return f"  feed {feed} (chunk {i + 1}) finished: {status}"
            case ReportFetched(index=i, summary=summary):
                return (
                    f"  chunk {i + 1} report: {summary.get('processed', 0)} processed, "
                    f"{summary.get('accepted', 0)} accepted, {summary.get('invalid', 0)} invalid"
                )
            case SubmissionFinished(state=state, note=note):
                return f"{sid}: {state}" + (f" ({note})" if note else "")
        return None


def submissions_table(submissions: Sequence[Submission], *, title: str) -> Table:
    """One line per submission: id, when, file, rows, chunks, feeds, state."""
    table = Table(title=title, title_justify="left")
    for column in ("Submission", "When", "File", "Kind", "Rows", "Chunks", "Feed ids", "State"):
        table.add_column(column, overflow="fold")
    for sub in submissions:
        table.add_row(
            sub.id,
            _when(sub.created_at),
            # The name is what a person recognises; the full path is in `status ID`.
            PurePath(sub.source).name,
            sub.kind or "",
            str(sub.rows),
            str(len(sub.chunks)),
            ", ".join(sub.feed_ids()),
            sub.state.value,
        )
    return table


def submission_detail(console: Console, sub: Submission) -> None:
    """One submission and its chunks."""
    console.print(
        f"{sub.id}  {sub.state.value}  {sub.source}  ({sub.kind or '?'}, {sub.rows} rows, "
        f"seller {sub.seller_id or '?'}, {marketplace_codes(sub.marketplace_ids)}, "
        f"created {_when(sub.created_at)})"
    )
    if sub.note:
        console.print(f"  {sub.note}")
    table = Table(show_header=True)
    for column in ("Chunk", "Messages", "Feed id", "Status", "Since", "Result document"):
        table.add_column(column, overflow="fold")
    for chunk in sub.chunks:
        status = chunk.processing_status or chunk.state.value
        if chunk.attention:
            status += f" — {chunk.attention}"
        table.add_row(
            str(chunk.index + 1),
            f"{chunk.message_count:,}",
            chunk.feed_id or "",
            status,
            _when(chunk.status_since),
            chunk.result_document_id or "",
        )
    console.print(table)
