"""What a person or a pipeline sees of a :class:`~feeds_kit.issues.Report`: text, JSON, CSV.

Local findings and Amazon's are the same :class:`~feeds_kit.issues.Issue` record, so one set of
renderers shows both (a Source column appears when a report mixes them).

* :func:`render_text` prints a status line, a summary by issue type and by column, then the
  detail table, through a :class:`rich.console.Console` (plain text when it is not a terminal
  or ``no_color`` is set, so output is deterministic for tests and pipes).
* :func:`report_to_json` / :func:`write_json` give the versioned ``--format json`` document
  described in ``docs/json-output.md``.
* :func:`write_csv` writes one line per issue with stable columns, escaping text a spreadsheet
  would otherwise run as a formula.

Every renderer lists issues in the same order (:func:`ordered_issues`): file-level first, then by
row, column, severity.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
import functools
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any

import orjson

from feeds_kit.issues import Issue, Report, Severity, Source

if TYPE_CHECKING:
    # rich is imported by the text renderer only: JSON and CSV output start faster without it.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from feeds_kit.journal import Submission

__all__ = [
    "CSV_COLUMNS",
    "JSON_VERSION",
    "escape_formula",
    "json_safe",
    "ordered_issues",
    "render_text",
    "report_status",
    "report_to_json",
    "write_csv",
    "write_json",
]

#: Version of the ``--format json`` document; bumped only on an incompatible change.
JSON_VERSION = 1

#: Columns of ``--format csv``, in order (documented in docs/json-output.md).
CSV_COLUMNS: tuple[str, ...] = (
    "file",
    "sheet",
    "row",
    "column",
    "header",
    "field",
    "sku",
    "severity",
    "source",
    "code",
    "message",
    "hint",
    "value",
)

# Commands whose verdict is Amazon's: rows there are "accepted", not "valid".
_AMAZON_COMMANDS = frozenset({"submit", "report", "status", "resume"})

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "blue"}

# OWASP's list for CSV injection: a cell starting with one of these may be run as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- shared helpers


def _column_key(letter: str | None) -> tuple[int, str]:
    """Sort key putting ``B`` before ``AA`` (Excel order), unknown columns last."""
    if not letter:
        return (1 << 30, "")
    return (len(letter), letter.upper())


def ordered_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Issues in reading order: file-level (no row) first, then by row, column and severity.

    The sort is stable, so issues at the same place keep the order they were found in.
    """
    return sorted(
        issues,
        key=lambda i: (
            i.row is not None,
            i.row or 0,
            _column_key(i.column),
            _SEVERITY_ORDER.get(i.severity, 3),
        ),
    )


def report_status(report: Report) -> str:
    """``errors`` when the report has an error, ``warnings`` when only warnings, else ``ok``."""
    if report.has_errors:
        return "errors"
    if report.warnings:
        return "warnings"
    return "ok"


def _counts(report: Report) -> tuple[int, int, int]:
    tally = Counter(i.severity for i in report.issues)
    return tally[Severity.ERROR], tally[Severity.WARNING], tally[Severity.INFO]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _display_name(report: Report) -> str:
    if not report.file:
        return "input"
    return PurePath(report.file).name or report.file


#: Longest SKU the issues table shows whole (Amazon allows 40 characters); a longer one, which
#: is itself an error, is cut so a 40,000-character cell cannot flood the terminal.
_SKU_SHOWN = 60


def _shortened(text: str, limit: int = _SKU_SHOWN) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def _column_label(issue: Issue) -> str:
    """``C Price``, ``C``, ``Price`` or an empty string."""
    return " ".join(part for part in (issue.column, issue.header) if part)


def json_safe(value: Any) -> Any:
    """``value`` as something :func:`json.dumps` writes without loss of meaning.

    Decimals become strings (``"19.99"`` stays exact), dates and times ISO 8601 strings, enums
    their value, paths strings, sets and tuples lists, non-finite floats strings.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_safe(v) for v in items]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@functools.cache
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _issue_json(issue: Issue) -> dict[str, Any]:
    data = issue.to_dict()
    # to_dict() stringifies rich values with str(); take the original for exact ISO dates.
    data["value"] = json_safe(issue.value)
    return {_camel(key): json_safe(val) for key, val in data.items()}


# --------------------------------------------------------------------------- text


def render_text(
    report: Report,
    *,
    console: Console,
    command: str = "validate",
    max_rows: int | None = 200,
    summary_extra: Mapping[str, Any] | None = None,
) -> None:
    """Print ``report`` for a person: status line, summary, then the issues table.

    ``max_rows`` caps the detail table (``None``: all); the line under it says how many were
    left out. ``summary_extra`` adds ``key: value`` lines under the status (feed id, ...).
    """
    from rich.text import Text

    console.print(_status_line(report, command))
    for key, value in (summary_extra or {}).items():
        console.print(Text(f"  {key}: {_extra_text(value)}"))
    if report.truncated:
        limit = f" (--limit-errors {report.limit})" if report.limit is not None else ""
        console.print(
            Text(
                f"Stopped collecting after {_plural(len(report.issues), 'issue')}{limit}; "
                f"{report.dropped:,} more not shown or counted above.",
                style="yellow",
            )
        )
    if not report.issues:
        return
    issues = ordered_issues(report.issues)
    console.print()
    console.print(_by_code_table(report))
    by_column = _by_column_table(report)
    if by_column is not None:
        console.print(by_column)
    console.print(_detail_table(issues, max_rows))
    if max_rows is not None and len(issues) > max_rows:
        console.print(
            Text(
                f"… {len(issues) - max_rows:,} more issues not shown; "
                "use --format csv or --format json for the full list."
            )
        )


def _status_line(report: Report, command: str) -> Text:
    from rich.text import Text

    name = _display_name(report)
    errors, warnings, _ = _counts(report)
    verdict = "accepted" if command in _AMAZON_COMMANDS else "valid"
    if errors:
        parts = [_plural(errors, "error")]
        if warnings:
            parts.append(_plural(warnings, "warning"))
        text = (
            f"✖ {name}: {', '.join(parts)} in {_plural(report.rows, 'row')} "
            f"({report.valid_rows:,} {verdict})"
        )
        return Text(text, style="bold red")
    if report.truncated and report.valid_rows < report.rows and command not in _AMAZON_COMMANDS:
        # The issue limit was filled before a row's error could be kept: never claim "all valid".
        invalid = report.rows - report.valid_rows
        text = (
            f"✖ {name}: {_plural(invalid, 'row')} of {report.rows:,} not valid; their errors are "
            "past the issue limit (raise --limit-errors)"
        )
        return Text(text, style="bold red")
    if report.rows == 0:
        text = f"✔ {name}: no data rows"
    else:
        text = f"✔ {name}: {_plural(report.rows, 'row')}, all {verdict}"
    if warnings:
        text += f", {_plural(warnings, 'warning')}"
        return Text(text, style="bold yellow")
    return Text(text, style="bold green")


def _extra_text(value: Any) -> str:
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, str | int | float | decimal.Decimal) for v in value
    ):
        return ", ".join(str(v) for v in value)
    safe = json_safe(value)
    if isinstance(safe, dict | list):
        return json.dumps(safe, ensure_ascii=False, separators=(", ", ": "))
    return str(safe)


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                 pad_edge=False)


def _by_code_table(report: Report) -> Table:
    from rich.text import Text

    table = _table("By issue type")
    table.add_column("Issue", overflow="fold")
    table.add_column("Code", no_wrap=True)
    table.add_column("Severity")
    table.add_column("Count", justify="right")
    tally = report.by_code()
    titles = report.code_titles()
    for (code, severity), count in sorted(
        tally.items(), key=lambda kv: (-kv[1], _SEVERITY_ORDER[kv[0][1]], kv[0][0])
    ):
        table.add_row(
            Text(titles[code]),
            Text(code),
            Text(severity.value, style=_SEVERITY_STYLE[severity]),
            f"{count:,}",
        )
    return table


def _by_column_table(report: Report) -> Table | None:
    from rich.text import Text

    per_column: dict[str, Counter[Severity]] = {}
    order: dict[str, tuple[int, str]] = {}
    for issue in report.issues:
        label = _column_label(issue)
        if not label:
            continue
        per_column.setdefault(label, Counter())[issue.severity] += 1
        order.setdefault(label, _column_key(issue.column))
    if not per_column:
        return None
    table = _table("By column")
    table.add_column("Column")
    table.add_column("Errors", justify="right")
    table.add_column("Warnings", justify="right")
    table.add_column("Infos", justify="right")
    for label in sorted(per_column, key=lambda c: (order[c], c)):
        tally = per_column[label]
        table.add_row(
            Text(label),
            f"{tally[Severity.ERROR]:,}",
            f"{tally[Severity.WARNING]:,}",
            f"{tally[Severity.INFO]:,}",
        )
    return table


def _detail_table(issues: list[Issue], max_rows: int | None) -> Table:
    from rich.text import Text

    sources = {i.source for i in issues}
    with_source = len(sources) > 1
    table = _table("Issues")
    table.add_column("Row", justify="right", no_wrap=True)
    table.add_column("Column", no_wrap=True)
    table.add_column("SKU", overflow="fold")
    table.add_column("Severity", no_wrap=True)
    if with_source:
        table.add_column("Source", no_wrap=True)
    table.add_column("Message", overflow="fold", ratio=1)
    shown = issues if max_rows is None else issues[:max_rows]
    for issue in shown:
        message = Text(issue.message)
        if issue.hint:
            message.append(" — ")
            message.append(issue.hint, style="dim")
        cells: list[Text | str] = [
            "" if issue.row is None else str(issue.row),
            Text(_column_label(issue)),
            Text(_shortened(issue.sku or "")),
            Text(issue.severity.value, style=_SEVERITY_STYLE[issue.severity]),
        ]
        if with_source:
            cells.append(Text(issue.source.value))
        cells.append(message)
        table.add_row(*cells)
    return table


# --------------------------------------------------------------------------- JSON


def report_to_json(
    report: Report,
    *,
    command: str,
    extra: Mapping[str, Any] | None = None,
    exit_code: int | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """The versioned ``--format json`` document of ``report`` (docs/json-output.md).

    ``exitCode`` is ``exit_code`` when given, else an ``exitCode`` key of ``extra``, else
    ``report.exit_code(strict=strict)``. The other ``extra`` keys are added to ``summary``.
    """
    extra_items = dict(extra or {})
    extra_exit = extra_items.pop("exitCode", None)
    if exit_code is None:
        exit_code = int(extra_exit) if extra_exit is not None else report.exit_code(strict=strict)
    errors, warnings, infos = _counts(report)
    by_code = Counter(i.code for i in report.issues)
    by_column = Counter(i.column or i.header for i in report.issues if i.column or i.header)
    by_source = Counter(i.source.value for i in report.issues)
    summary: dict[str, Any] = {
        "rows": report.rows,
        "validRows": report.valid_rows,
        "errors": errors,
        "warnings": warnings,
        "infos": infos,
        "byCode": dict(sorted(by_code.items())),
        "byColumn": {k: by_column[k] for k in sorted(by_column, key=_column_key)},
        "bySource": {s.value: by_source[s.value] for s in Source if by_source[s.value]},
        "truncated": report.truncated,
        "dropped": report.dropped,
        "limit": report.limit,
    }
    for key, value in extra_items.items():
        summary[str(key)] = json_safe(value)
    return {
        "version": JSON_VERSION,
        "command": command,
        "file": report.file,
        "sheet": report.sheet,
        "kind": report.kind,
        "status": report_status(report),
        "exitCode": exit_code,
        "summary": summary,
        "issues": [_issue_json(i) for i in ordered_issues(report.issues)],
    }


def write_json(
    report: Report,
    stream: IO[str],
    *,
    command: str,
    extra: Mapping[str, Any] | None = None,
    exit_code: int | None = None,
    strict: bool = False,
) -> None:
    """Write :func:`report_to_json` to a text stream, indented, UTF-8 as is, newline-ended."""
    document = report_to_json(
        report, command=command, extra=extra, exit_code=exit_code, strict=strict
    )
    # orjson: the same indented UTF-8 document, several times faster than the json module on
    # the thousand issues a large sheet reports (json_safe already made every value plain).
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8")
    except orjson.JSONEncodeError:
        # A value orjson refuses (an integer past 64 bits typed into a cell): the json module
        # writes any of them.
        text = json.dumps(document, ensure_ascii=False, indent=2)
    stream.write(text)
    stream.write("\n")


# --------------------------------------------------------------------------- CSV


def escape_formula(text: str) -> str:
    """``text`` made inert for a spreadsheet: a leading ``=``, ``+``, ``-``, ``@``, tab or
    carriage return gets a ``'`` in front so Excel or LibreOffice shows it instead of running it."""
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int | decimal.Decimal) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        # A number is read as a number, never as a formula: "-5" stays -5.
        return value
    safe = json_safe(value)
    text = safe if isinstance(safe, str) else json.dumps(safe, ensure_ascii=False)
    return escape_formula(text)


def write_csv(report: Report, stream: IO[str]) -> None:
    """Write one line per issue with the :data:`CSV_COLUMNS` header.

    Open a file stream with ``newline=""`` (the csv module writes ``\\r\\n`` line ends).
    Text starting with ``=``, ``+``, ``-``, ``@`` is prefixed with ``'`` (:func:`escape_formula`);
    numbers are written as numbers.
    """
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for issue in ordered_issues(report.issues):
        writer.writerow(
            [
                _csv_cell(issue.file),
                _csv_cell(issue.sheet),
                _csv_cell(issue.row),
                _csv_cell(issue.column),
                _csv_cell(issue.header),
                _csv_cell(issue.field),
                _csv_cell(issue.sku),
                issue.severity.value,
                issue.source.value,
                _csv_cell(issue.code),
                _csv_cell(issue.message),
                _csv_cell(issue.hint),
                _csv_cell(issue.value),
            ]
        )


def submission_to_json(submission: Submission) -> dict[str, Any]:
    """A journal submission as the ``submission`` object of the JSON output (no secrets: the
    journal holds none)."""
    return {
        "id": submission.id,
        "state": submission.state.value,
        "note": submission.note,
        "source": submission.source,
        "sheet": submission.sheet,
        "kind": submission.kind,
        "profile": submission.profile,
        "sellerId": submission.seller_id,
        "region": submission.region,
        "marketplaceIds": list(submission.marketplace_ids),
        "feedType": submission.feed_type,
        "createdAt": _iso_time(submission.created_at),
        "updatedAt": _iso_time(submission.updated_at),
        "rows": submission.rows,
        "messages": submission.messages,
        "skippedRows": list(submission.skipped_rows),
        "chunks": [
            {
                "index": chunk.index + 1,
                "messages": chunk.message_count,
                "bytes": chunk.size,
                "marketplaceIds": list(chunk.marketplace_ids),
                "state": chunk.state.value,
                "feedDocumentId": chunk.document_id,
                "feedId": chunk.feed_id,
                "processingStatus": chunk.processing_status,
                "resultFeedDocumentId": chunk.result_document_id,
                "summary": chunk.summary,
                "attention": chunk.attention,
            }
            for chunk in submission.chunks
        ],
    }


def _iso_time(timestamp: float | None) -> str | None:
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


def write_json_submission(submission: Submission, stream: IO[str]) -> None:
    """``{"version": 1, "command": "submit", "submission": {...}}`` for a run that did not wait."""
    document = {"version": JSON_VERSION, "command": "submit", "exitCode": 0,
                "submission": submission_to_json(submission)}
    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_json_history(submissions: Iterable[Submission], stream: IO[str]) -> None:
    """``{"version": 1, "command": "history", "submissions": [...]}``, newest first."""
    document = {
        "version": JSON_VERSION,
        "command": "history",
        "submissions": [submission_to_json(s) for s in submissions],
    }
    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
