"""The files a seller gets back: an annotated copy of the workbook and a fix-only sheet.

:func:`annotate_workbook` writes a COPY of the input (never the input itself) with, on the data
sheet, a severity fill and one comment on each cell that has an issue (row-level issues sit on
the row's SKU cell), two new columns "Status" and "Messages" after the last used column, and a
"Summary" sheet placed first. A CSV/TSV input becomes an ``.xlsx`` of its rows (same row
numbers); an ``.xlsm`` keeps its macros and its extension.

Annotating an annotated file is safe: everything this module adds is recorded (a workbook custom
property plus a very hidden sheet holding, for each cell it marked, the fill and comment the cell
had before) and undone first, so the user's own fills and comments stay.

:func:`write_fix_sheet` writes only the rows with an error, in the original layout (every row
above the data row copied as it is, e.g. Amazon's template header rows), plus a Messages column,
ready to fix and upload again.

Both write atomically (a temporary file in the target directory, then :func:`os.replace`). They
load the whole workbook with openpyxl, which is comfortable up to about 100,000 rows; the
validation itself streams, these outputs do not.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import json
import os
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from feeds_kit.errors import InputError, OutputError
from feeds_kit.files import save_atomic
from feeds_kit.issues import Issue, Report, Severity, Source
from feeds_kit.rows import SheetLayout

__all__ = [
    "MARKER_PROPERTY",
    "MESSAGES_HEADER",
    "STATUS_HEADER",
    "SUMMARY_SHEET",
    "annotate_workbook",
    "put_value",
    "save_atomic",
    "write_fix_sheet",
]

#: Header of the status column added after the last used column.
STATUS_HEADER = "Status"
#: Header of the messages column (annotated workbook and fix-only sheet).
MESSAGES_HEADER = "Messages"
#: Title of the summary sheet placed first in the annotated workbook.
SUMMARY_SHEET = "Summary"
#: Name of the workbook custom property that marks (and describes) feeds-kit's markup.
MARKER_PROPERTY = "feeds-kit-annotation"

# The very hidden sheet recording what was marked, and the tag in its A1 that identifies it.
_RECORD_SHEET = "feeds-kit markup"
_RECORD_TAG = "feeds-kit markup v1"
_COMMENT_AUTHOR = "feeds-kit"
_MARKUP_VERSION = 1

# Excel's own "Bad" / "Neutral" / a light blue: readable with black text, familiar to users.
_FILL_RGB = {
    Severity.ERROR: "FFFFC7CE",
    Severity.WARNING: "FFFFEB9C",
    Severity.INFO: "FFDDEBF7",
}
_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

# Excel limits: characters in a cell, sheet-title length and characters.
_MAX_CELL_TEXT = 32_767
_MAX_TITLE = 31
_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

_TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".tab"})
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


@functools.cache
def _fill(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)


# --------------------------------------------------------------------------- public API


def annotate_workbook(
    source: Path,
    layout: SheetLayout,
    report: Report,
    output: Path,
    *,
    verdict: Literal["local", "amazon"] = "local",
    processed_rows: set[int] | None = None,
) -> Path:
    """Write an annotated copy of ``source`` and return the path written.

    The returned path is ``output``, except that a workbook with macros is written with the
    ``.xlsm`` extension and any other with ``.xlsx`` (Excel refuses a mismatch).

    ``verdict`` chooses the status words: ``local`` gives ERROR / WARNING / OK; ``amazon``
    gives REJECTED / WARNING / ACCEPTED, where a row without issue is ACCEPTED when it is in
    ``processed_rows`` (or when ``processed_rows`` is ``None``: every row was sent) and left
    blank otherwise (not sent).

    Raises :class:`OutputError` when ``output`` is ``source`` or cannot be written, and
    :class:`InputError` when ``source`` cannot be opened.
    """
    source = Path(source)
    kind = _source_kind(source)
    keep_vba = kind == "xlsm"
    target = _normalised_output(Path(output), ".xlsm" if keep_vba else ".xlsx")
    _refuse_same_file(source, target)

    if kind == "text":
        wb, ws = _new_workbook(_sheet_title(layout.sheet or source.stem))
        for number, values in enumerate(_read_text_rows(source, layout), start=1):
            for col, value in enumerate(values, start=1):
                if value != "":
                    put_value(ws.cell(row=number, column=col), value)
    else:
        wb = _load(source, keep_vba=keep_vba, data_only=False)
        _clear_markup(wb)
        ws = _data_sheet(wb, layout, source)

    _Annotator(wb, ws, layout, report, verdict, processed_rows).run()
    save_atomic(target, wb.save)
    return target


def write_fix_sheet(source: Path, layout: SheetLayout, report: Report, output: Path) -> int:
    """Write the rows of ``source`` that have at least one error to ``output``; return how many.

    Rows above the data row (headers, Amazon's template rows) are copied as they are; the
    failed rows follow in their original column order with their values as typed (a formula
    gives its last computed value), plus a Messages column listing each row's issues. An
    ``.xlsx`` output (any suffix other than ``.csv``/``.tsv``/``.txt``) keeps cell formats; a
    text output uses the source's delimiter and encoding when the source was text; a name
    without suffix gets ``.xlsx``. With no failed row the file holds only the header rows and
    0 is returned. Raises :class:`OutputError` for another suffix, for ``output`` being
    ``source`` or for a file that cannot be written.
    """
    source = Path(source)
    output = Path(output)
    _refuse_same_file(source, output)
    kind = _source_kind(source)
    failed = _failed_rows(report, layout)
    messages = _row_messages(report, layout)
    header_end = layout.data_row - 1
    width = max((c.index + 1 for c in layout.columns), default=0)

    if output.suffix.lower() in _TEXT_SUFFIXES:
        sink: _Sink = _TextSink(output, layout, text_source=kind == "text")
    else:
        if output.suffix == "":
            output = output.with_suffix(".xlsx")
            _refuse_same_file(source, output)
        elif output.suffix.lower() != ".xlsx":
            raise OutputError(
                f"Cannot write the fix sheet as {output.name}: use a .xlsx, .csv, .tsv or .txt "
                "file name.",
                file=str(output),
            )
        sink = _WorkbookSink(output, _sheet_title(layout.sheet or source.stem))

    formulas = _formulas_without_value(report, layout, failed)
    written = 0
    buffered: list[tuple[int, list[_Value]]] = []
    for number, values in _source_rows(source, layout, kind, last_row=max(failed, default=0)):
        if number <= header_end or number in failed:
            for index, text in formulas.get(number, {}).items():
                # No computed value was stored: show the formula as typed (as text), so the
                # row can be fixed; a formula moved to another row would compute nonsense.
                values.extend([None] * (index + 1 - len(values)))
                if _cell_value(values[index]) is None:
                    values[index] = text
            buffered.append((number, values))
            width = max(width, _used_width(values))
    # The Messages column goes after the widest copied row, so it never hides a value.
    for out_row, (number, values) in enumerate(buffered, start=1):
        if number == layout.header_row:
            sink.row(out_row, _pad(values, width), extra=MESSAGES_HEADER, header=True)
        elif number > header_end:
            written += 1
            sink.row(out_row, _pad(values, width), extra=messages.get(number, ""))
        else:
            sink.row(out_row, values[: _used_width(values)])
    sink.close(width=width, header_row=layout.header_row, rows_above=header_end)
    return written


# --------------------------------------------------------------------------- source files


def _source_kind(source: Path) -> Literal["xlsx", "xlsm", "text"]:
    """What ``source`` is, from its first bytes (an .xlsx renamed .csv is still a workbook)."""
    try:
        with source.open("rb") as fh:
            head = fh.read(8)
    except OSError as error:
        raise InputError(f"Cannot open {source}: {error.strerror or error}.",
                         file=str(source)) from None
    if head.startswith(_OLE_MAGIC):
        raise InputError(
            f"{source.name} is an old binary Excel file or is password-protected; "
            "save it as .xlsx or .csv.",
            file=str(source),
        )
    if not head.startswith(_ZIP_MAGIC):
        return "text"
    if source.suffix.lower() == ".xlsm":
        return "xlsm"
    try:
        with zipfile.ZipFile(source) as archive:
            has_vba = any(n.lower().endswith("vbaproject.bin") for n in archive.namelist())
    except zipfile.BadZipFile:
        raise InputError(f"{source.name} is not a readable workbook (damaged zip).",
                         file=str(source)) from None
    return "xlsm" if has_vba else "xlsx"


def _load(source: Path, *, keep_vba: bool = False, data_only: bool = False,
          read_only: bool = False) -> Workbook:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it drops (slicers, some validations); the copy
            # is for reading the verdict, not a substitute for the original.
            warnings.simplefilter("ignore")
            return load_workbook(source, keep_vba=keep_vba, data_only=data_only,
                                 read_only=read_only, rich_text=False)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise InputError(
            f"Cannot open {source.name} as a workbook: {error}.", file=str(source)
        ) from None


def _data_sheet(wb: Workbook, layout: SheetLayout, source: Path) -> Worksheet:
    if layout.sheet is None:
        ws = wb.active
        if isinstance(ws, Worksheet):
            return ws
        return wb.worksheets[0]
    if layout.sheet not in wb.sheetnames:
        names = ", ".join(f'"{n}"' for n in wb.sheetnames)
        raise InputError(
            f'{source.name} has no sheet "{layout.sheet}" (sheets: {names}).',
            file=str(source),
            sheet=layout.sheet,
        )
    ws = wb[layout.sheet]
    if not isinstance(ws, Worksheet):
        raise InputError(f'"{layout.sheet}" in {source.name} is a chart, not a sheet.',
                         file=str(source), sheet=layout.sheet)
    return ws


def _detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # The reader falls back the same way (and warns); a copy must show the same text.
        return "cp1252"
    return "utf-8"


def _sniff_delimiter(first_line: str, suffix: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return "\t" if suffix in {".tsv", ".txt", ".tab"} else ","
    return best


def _read_text_rows(source: Path, layout: SheetLayout) -> Iterator[list[str]]:
    """Every record of a CSV/TSV file, blank lines included, so numbering matches the reader."""
    try:
        data = source.read_bytes()
    except OSError as error:
        raise InputError(f"Cannot open {source}: {error.strerror or error}.",
                         file=str(source)) from None
    encoding = layout.encoding or _detect_encoding(data)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        text = data.decode("cp1252", errors="replace")
    text = text.removeprefix("\ufeff")
    delimiter = layout.delimiter or _sniff_delimiter(
        text.split("\n", 1)[0], source.suffix.lower()
    )
    yield from csv.reader(text.splitlines(keepends=True) or [""], delimiter=delimiter)


# --------------------------------------------------------------------------- output files


def _normalised_output(output: Path, suffix: str) -> Path:
    if output.suffix.lower() == suffix:
        return output
    return output.with_suffix(suffix)


def _refuse_same_file(source: Path, output: Path) -> None:
    same = source.resolve() == output.resolve()
    if not same and output.exists():
        with contextlib.suppress(OSError):
            same = os.path.samefile(source, output)
    if same:
        raise OutputError(
            f"Refusing to write over the input {source.name}; choose another output file.",
            file=str(output),
        )


def _new_workbook(title: str) -> tuple[Workbook, Worksheet]:
    """A workbook whose only sheet is ``title`` (renaming the default "Sheet" to "sheet"
    would make openpyxl pick "sheet1" to avoid a clash with itself)."""
    wb = Workbook()
    for default in list(wb.worksheets):
        wb.remove(default)
    ws = wb.create_sheet(title)
    wb.active = 0
    return wb, ws


def _sheet_title(name: str) -> str:
    title = name.translate(_TITLE_FORBIDDEN).strip("'") or "Sheet1"
    return title[:_MAX_TITLE]


def _unique_title(wb: Workbook, wanted: str) -> str:
    if wanted not in wb.sheetnames:
        return wanted
    n = 2
    while f"{wanted} ({n})" in wb.sheetnames:
        n += 1
    return f"{wanted} ({n})"


def _clean_text(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:_MAX_CELL_TEXT]


def put_value(cell: Any, value: Any) -> None:
    """Write ``value`` into an openpyxl cell; text always stays text.

    openpyxl would store ``"=..."`` as a formula and ``"#N/A"`` as an error; a value from a
    seller's sheet or a message must never become either. Characters XML cannot hold are
    dropped and text is cut at Excel's 32,767-character cell limit.
    """
    if isinstance(value, str):
        cell.value = _clean_text(value)
        cell.data_type = "s"
    else:
        cell.value = value


# --------------------------------------------------------------------------- shared issue logic


def _on_sheet(issue: Issue, layout: SheetLayout) -> bool:
    return issue.row is not None and (
        issue.sheet is None or layout.sheet is None or issue.sheet == layout.sheet
    )


def _failed_rows(report: Report, layout: SheetLayout) -> set[int]:
    return {
        i.row
        for i in report.issues
        if i.row is not None
        and i.severity is Severity.ERROR
        and i.row >= layout.data_row
        and _on_sheet(i, layout)
    }


def _formulas_without_value(
    report: Report, layout: SheetLayout, rows: set[int]
) -> dict[int, dict[int, str]]:
    """Row -> column index -> formula text, from issues that quote a formula as their value."""
    found: dict[int, dict[int, str]] = {}
    for issue in report.issues:
        if (
            issue.row in rows
            and issue.column
            and isinstance(issue.value, str)
            and issue.value.startswith("=")
            and _on_sheet(issue, layout)
        ):
            with contextlib.suppress(ValueError):
                index = column_index_from_string(issue.column.upper()) - 1
                found.setdefault(issue.row, {})[index] = issue.value
    return found


def _issue_line(issue: Issue, *, with_column: bool) -> str:
    where = " ".join(p for p in (issue.column, issue.header) if p) if with_column else ""
    text = f"{where}: {issue.message}" if where else issue.message
    if issue.hint:
        text += f" — {issue.hint}"
    return text


def _ranked(issues: Iterable[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: _SEVERITY_RANK.get(i.severity, 3))


def _row_messages(report: Report, layout: SheetLayout) -> dict[int, str]:
    by_row: dict[int, list[Issue]] = {}
    for issue in report.issues:
        if issue.row is not None and _on_sheet(issue, layout):
            by_row.setdefault(issue.row, []).append(issue)
    return {
        row: "\n".join(_issue_line(i, with_column=True) for i in _ranked(issues))
        for row, issues in by_row.items()
    }


# --------------------------------------------------------------------------- clearing old markup


def _marker(wb: Workbook) -> tuple[dict[str, Any] | None, Any]:
    """The markup description (and its custom property) of an annotated workbook, if any."""
    for prop in wb.custom_doc_props.props:
        if prop.name == MARKER_PROPERTY:
            try:
                info = json.loads(str(prop.value))
            except ValueError:
                return None, prop
            return (info if isinstance(info, dict) else None), prop
    # The property can be lost by other tools; the record sheet carries the same description.
    if _RECORD_SHEET in wb.sheetnames:
        ws = wb[_RECORD_SHEET]
        if ws["A1"].value == _RECORD_TAG:
            with contextlib.suppress(ValueError, TypeError):
                info = json.loads(str(ws["B1"].value))
                if isinstance(info, dict):
                    return info, None
    return None, None


def _clear_markup(wb: Workbook) -> None:
    """Undo what a previous :func:`annotate_workbook` added; leave everything else alone."""
    info, prop = _marker(wb)
    if prop is not None:
        wb.custom_doc_props.props = [p for p in wb.custom_doc_props.props if p is not prop]
    if info is None:
        return
    data_title = info.get("sheet")
    ws = wb[data_title] if data_title in wb.sheetnames else None
    record_title = info.get("record")
    if record_title in wb.sheetnames:
        record = wb[record_title]
        if ws is not None and isinstance(record, Worksheet):
            _restore_cells(ws, record)
        wb.remove(record)
    if ws is not None:
        _remove_status_columns(ws, info)
    summary_title = info.get("summary")
    # Only the sheet we wrote: same title and still our heading (a user may reuse the name).
    if summary_title in wb.sheetnames:
        summary = wb[summary_title]
        if isinstance(summary, Worksheet) and summary["A1"].value == info.get("heading"):
            wb.remove(summary)


def _restore_cells(ws: Worksheet, record: Worksheet) -> None:
    ours = {rgb[-6:] for rgb in _FILL_RGB.values()}
    for coordinate, holder, had_comment, text, author in record.iter_rows(min_row=2, max_col=5):
        if not isinstance(coordinate.value, str):
            continue
        try:
            cell = ws[coordinate.value]
        except ValueError:
            continue
        if isinstance(cell, MergedCell):
            continue
        # Restore only what still looks like ours: a fill or note the user changed since stays.
        current = cell.fill
        rgb = str(getattr(current.fgColor, "rgb", "") or "")
        if current.fill_type == "solid" and rgb[-6:] in ours:
            cell.fill = copy(holder.fill)
        if cell.comment is not None and cell.comment.author == _COMMENT_AUTHOR:
            if had_comment.value and text.value is not None:
                cell.comment = Comment(str(text.value), str(author.value or ""))
            else:
                cell.comment = None


def _remove_status_columns(ws: Worksheet, info: dict[str, Any]) -> None:
    """Empty the Status and Messages columns written before, and give back their widths.

    The columns are emptied, not deleted: a deletion would also take the user's formatting
    of those columns in rows feeds-kit never wrote.
    """
    header_row = info.get("header_row")
    column = info.get("status_column")
    if not isinstance(header_row, int) or header_row < 1:
        return
    candidates = [column] if isinstance(column, int) and column >= 1 else []
    # The user may have inserted or deleted columns since: look along the header row too.
    candidates += [
        c.column for c in ws[header_row] if c.value == STATUS_HEADER and isinstance(c.column, int)
    ]
    for col in candidates:
        if (
            ws.cell(row=header_row, column=col).value == STATUS_HEADER
            and ws.cell(row=header_row, column=col + 1).value == MESSAGES_HEADER
        ):
            break
    else:
        return
    ours = {col, col + 1}
    for row, column_index in list(_value_cells(ws)):
        if column_index in ours:
            cell = ws.cell(row=row, column=column_index)
            cell.value = None
            if cell.has_style:  # most status cells carry none: skip openpyxl's costly setters
                cell.fill = PatternFill()
                cell.font = Font()
                cell.alignment = Alignment()
    widths = info.get("widths")
    if isinstance(widths, list):
        for offset, width in enumerate(widths[:2]):
            letter = get_column_letter(col + offset)
            if isinstance(width, int | float):
                ws.column_dimensions[letter].width = width
            elif letter in ws.column_dimensions:
                # The column had no settings of its own before feeds-kit sized it.
                del ws.column_dimensions[letter]


# --------------------------------------------------------------------------- annotating


def _value_cells(ws: Worksheet) -> Iterator[tuple[int, int]]:
    """(row, column) of every cell holding a value, without creating the empty ones.

    ``iter_rows`` materialises every cell of the rectangle, which on a sheet formatted out
    to column XFD means millions of objects; the cell store is walked instead.
    """
    cells = getattr(ws, "_cells", None)
    if isinstance(cells, dict):
        for (row, col), cell in cells.items():
            if cell.value is not None and cell.value != "":
                yield row, col
        return
    for row_cells in ws.iter_rows():  # pragma: no cover - openpyxl without a cell store
        for cell in row_cells:
            if cell.value is not None and cell.value != "":
                yield cell.row, cell.column


@dataclass
class _Annotator:
    wb: Workbook
    ws: Worksheet
    layout: SheetLayout
    report: Report
    verdict: Literal["local", "amazon"]
    processed_rows: set[int] | None
    record: list[tuple[str, Any, Comment | None]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    previous_widths: list[float | None] = field(default_factory=list)

    def run(self) -> None:
        used_rows: set[int] = set()
        last_col = max((c.index + 1 for c in self.layout.columns), default=1)
        for row, col in _value_cells(self.ws):
            used_rows.add(row)
            last_col = max(last_col, col)

        cell_issues: dict[tuple[int, str], list[Issue]] = {}
        row_issues: dict[int, list[Issue]] = {}
        file_issues: list[Issue] = []
        sku_col = self.layout.column_for("sku")
        anchor = sku_col.letter if sku_col else (
            self.layout.columns[0].letter if self.layout.columns else "A"
        )
        for issue in self.report.issues:
            if not _on_sheet(issue, self.layout):
                file_issues.append(issue)
                if issue.row is None and issue.column and self._same_sheet(issue):
                    # A column-level finding (unknown, duplicate column): on its header cell.
                    letter = issue.column.upper()
                    cell_issues.setdefault((self.layout.header_row, letter), []).append(issue)
                continue
            assert issue.row is not None
            letter = (issue.column or anchor).upper()
            try:
                column_index_from_string(letter)
            except ValueError:
                letter = anchor
            cell_issues.setdefault((issue.row, letter), []).append(issue)
            row_issues.setdefault(issue.row, []).append(issue)

        self._mark_cells(cell_issues)
        self._status_columns(last_col + 1, used_rows, row_issues)
        summary = self._summary_sheet(file_issues)
        record = self._record_sheet(last_col + 1, summary)

        for sheet in self.wb.worksheets:
            sheet.sheet_view.tabSelected = False
        summary.sheet_view.tabSelected = True
        self.wb.active = 0
        info = record["B1"].value
        self.wb.custom_doc_props.append(StringProperty(name=MARKER_PROPERTY, value=info))

    def _same_sheet(self, issue: Issue) -> bool:
        return issue.sheet is None or self.layout.sheet is None or issue.sheet == self.layout.sheet

    # -- cells

    def _mark_cells(self, cell_issues: dict[tuple[int, str], list[Issue]]) -> None:
        targets: dict[str, tuple[Any, list[Issue]]] = {}
        for (row, letter), found in sorted(cell_issues.items()):
            try:
                cell = self.ws[f"{letter}{row}"]
            except ValueError:  # not a column letter Excel knows
                continue
            if isinstance(cell, MergedCell):
                # Only the top-left cell of a merge holds a fill and a comment Excel shows.
                cell = self._merged_anchor(cell)
            targets.setdefault(cell.coordinate, (cell, []))[1].extend(found)
        for cell, found in targets.values():
            issues = _ranked(found)
            self.record.append((cell.coordinate, copy(cell.fill), cell.comment))
            cell.fill = _fill(_FILL_RGB[issues[0].severity])
            text = "\n".join(f"[{i.code}] {_issue_line(i, with_column=False)}" for i in issues)
            if cell.comment is not None and cell.comment.author != _COMMENT_AUTHOR:
                # Keep the user's own note visible under ours; clearing restores it alone.
                text += f"\n\n{cell.comment.author or 'Note'}: {cell.comment.text}"
            cell.comment = _comment(text)

    def _merged_anchor(self, cell: MergedCell) -> Any:
        for merged in self.ws.merged_cells.ranges:
            if cell.coordinate in merged:
                return self.ws.cell(row=merged.min_row, column=merged.min_col)
        return cell  # pragma: no cover - a MergedCell always lies in a range

    # -- Status / Messages

    def _status_columns(
        self, status_col: int, used_rows: set[int], row_issues: dict[int, list[Issue]]
    ) -> None:
        ws = self.ws
        header_row = self.layout.header_row
        bold = Font(bold=True)
        for offset, title in enumerate((STATUS_HEADER, MESSAGES_HEADER)):
            cell = ws.cell(row=header_row, column=status_col + offset)
            put_value(cell, title)
            cell.font = bold
        for col, width in ((status_col, 12), (status_col + 1, 80)):
            letter = get_column_letter(col)
            known = letter in ws.column_dimensions
            self.previous_widths.append(ws.column_dimensions[letter].width if known else None)
            ws.column_dimensions[letter].width = width
        wrap = Alignment(wrap_text=True, vertical="top")
        rows = {r for r in used_rows if r >= self.layout.data_row}
        rows |= {r for r in row_issues if r >= self.layout.data_row}
        for row in sorted(rows):
            issues = row_issues.get(row, [])
            word, rgb = self._status(row, issues)
            if word:
                self.statuses[word] += 1
                cell = ws.cell(row=row, column=status_col)
                put_value(cell, word)
                if rgb:
                    cell.fill = _fill(rgb)
            else:
                self.statuses["not sent"] += 1
            if issues:
                cell = ws.cell(row=row, column=status_col + 1)
                lines = (_issue_line(i, with_column=True) for i in _ranked(issues))
                put_value(cell, "\n".join(lines))
                cell.alignment = wrap

    def _status(self, row: int, issues: list[Issue]) -> tuple[str, str | None]:
        severities = {i.severity for i in issues}
        if self.verdict == "local":
            if Severity.ERROR in severities:
                return "ERROR", _FILL_RGB[Severity.ERROR]
            if Severity.WARNING in severities:
                return "WARNING", _FILL_RGB[Severity.WARNING]
            return "OK", None
        sent = (
            self.processed_rows is None
            or row in self.processed_rows
            or any(i.source is Source.AMAZON for i in issues)
        )
        if not sent:
            return "", None
        if Severity.ERROR in severities:
            return "REJECTED", _FILL_RGB[Severity.ERROR]
        if Severity.WARNING in severities:
            return "WARNING", _FILL_RGB[Severity.WARNING]
        return "ACCEPTED", None

    # -- Summary

    def _summary_sheet(self, file_issues: list[Issue]) -> Worksheet:
        report = self.report
        ws = self.wb.create_sheet(_unique_title(self.wb, SUMMARY_SHEET), 0)
        bold = Font(bold=True)
        name = Path(report.file).name if report.file else self.layout.file
        heading = (
            f"Amazon's verdict on {name}" if self.verdict == "amazon"
            else f"Validation of {name}"
        )
        rows: list[list[Any]] = [[heading], []]
        tally = Counter(i.severity for i in report.issues)
        rows += [
            ["File", report.file or self.layout.file],
            ["Sheet", self.ws.title],
            ["Kind", report.kind or self.layout.kind or ""],
            ["Rows", report.rows],
        ]
        if self.verdict == "amazon":
            for word, label in (
                ("ACCEPTED", "Rows accepted"),
                ("WARNING", "Rows accepted with warnings"),
                ("REJECTED", "Rows rejected"),
                ("not sent", "Rows not sent"),
            ):
                rows.append([label, self.statuses[word]])
        else:
            rows.append(["Valid rows", report.valid_rows])
        rows += [
            ["Errors", tally[Severity.ERROR]],
            ["Warnings", tally[Severity.WARNING]],
            ["Infos", tally[Severity.INFO]],
        ]
        if report.truncated:
            limit = f" (limit {report.limit})" if report.limit is not None else ""
            rows.append(["Not kept", f"{report.dropped} more issues were not kept{limit}."])
        rows += [
            [],
            ["Red cells have an error, amber a warning, blue a note: point at a cell to read "
             "its comment. The Status and Messages columns are at the right of "
             f'"{self.ws.title}".'],
        ]
        bold_rows = {1}

        def section(header: list[str], body: list[list[Any]]) -> None:
            rows.append([])
            rows.append(header)
            bold_rows.add(len(rows))
            rows.extend(body)

        by_code = report.by_code()
        if by_code:
            titles = report.code_titles()
            section(
                ["By issue type", "Issue", "Severity", "Count"],
                [
                    [code, titles[code], sev.value, count]
                    for (code, sev), count in sorted(
                        by_code.items(),
                        key=lambda kv: (-kv[1], _SEVERITY_RANK[kv[0][1]], kv[0][0]),
                    )
                ],
            )
        columns: dict[tuple[str, str], Counter[Severity]] = {}
        for issue in report.issues:
            if issue.column or issue.header:
                key = (issue.column or "", issue.header or "")
                columns.setdefault(key, Counter())[issue.severity] += 1
        if columns:
            section(
                ["By column", "Header", "Errors", "Warnings", "Infos"],
                [
                    [letter, header, c[Severity.ERROR], c[Severity.WARNING], c[Severity.INFO]]
                    for (letter, header), c in sorted(
                        columns.items(), key=lambda kv: (len(kv[0][0]), kv[0][0], kv[0][1])
                    )
                ],
            )
        if file_issues:
            section(
                ["File-level issues", "Severity", "Source", "Code", "Hint"],
                [
                    [
                        i.message if i.row is None
                        else f'Sheet "{i.sheet}", {i.location()}: {i.message}',
                        i.severity.value, i.source.value, i.code, i.hint or "",
                    ]
                    for i in file_issues
                ],
            )

        for number, values in enumerate(rows, start=1):
            for col, value in enumerate(values, start=1):
                if value is not None and value != "":
                    put_value(ws.cell(row=number, column=col), value)
        for number in bold_rows:
            for cell in ws[number]:
                cell.font = bold
        ws["A1"].font = Font(bold=True, size=14)
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 40
        for letter in ("C", "D", "E"):
            ws.column_dimensions[letter].width = 14
        return ws

    # -- record of what was marked

    def _record_sheet(self, status_col: int, summary: Worksheet) -> Worksheet:
        ws = self.wb.create_sheet(_unique_title(self.wb, _RECORD_SHEET))
        ws.sheet_state = "veryHidden"
        info = json.dumps(
            {
                "version": _MARKUP_VERSION,
                "sheet": self.ws.title,
                "summary": summary.title,
                "heading": summary["A1"].value,
                "record": ws.title,
                "header_row": self.layout.header_row,
                "status_column": status_col,
                "widths": self.previous_widths,
            },
            separators=(",", ":"),
        )
        put_value(ws["A1"], _RECORD_TAG)
        put_value(ws["B1"], info)
        for number, (coordinate, original_fill, comment) in enumerate(self.record, start=2):
            put_value(ws.cell(row=number, column=1), coordinate)
            ws.cell(row=number, column=2).fill = original_fill
            ws.cell(row=number, column=3).value = comment is not None
            if comment is not None:
                put_value(ws.cell(row=number, column=4), comment.text or "")
                put_value(ws.cell(row=number, column=5), comment.author or "")
        return ws


def _comment(text: str) -> Comment:
    text = _clean_text(text)
    lines = sum(1 + len(line) // 60 for line in text.splitlines()) or 1
    return Comment(text, _COMMENT_AUTHOR, height=min(600, 24 + 15 * lines), width=360)


# --------------------------------------------------------------------------- fix-only sheet

_Value = Any  # a cell value as read (str, number, date, bool) plus its format for workbooks


@dataclass(slots=True)
class _Cell:
    """A copied cell: its value and, from a workbook source, its style to carry over."""

    value: Any
    style: Any = None


def _cell_value(item: _Value) -> Any:
    return item.value if isinstance(item, _Cell) else item


def _used_width(values: list[_Value]) -> int:
    for index in range(len(values) - 1, -1, -1):
        value = _cell_value(values[index])
        if value is not None and value != "":
            return index + 1
    return 0


def _pad(values: list[_Value], width: int) -> list[_Value]:
    # width is at least the used width of every copied row: only trailing blanks are cut.
    return values[:width] + [None] * (width - len(values))


def _source_rows(
    source: Path, layout: SheetLayout, kind: str, *, last_row: int
) -> Iterator[tuple[int, list[_Value]]]:
    """(row number, cells) of the source up to ``last_row`` (or the header rows at least)."""
    stop = max(last_row, layout.data_row - 1)
    if kind == "text":
        for number, values in enumerate(_read_text_rows(source, layout), start=1):
            if number > stop:
                return
            yield number, list(values)
        return
    wb = _load(source, data_only=True, read_only=True)
    try:
        if layout.sheet is None:
            sheet = wb.worksheets[0]
        elif layout.sheet in wb.sheetnames:
            sheet = wb[layout.sheet]
        else:
            names = ", ".join(f'"{n}"' for n in wb.sheetnames)
            raise InputError(
                f'{source.name} has no sheet "{layout.sheet}" (sheets: {names}).',
                file=str(source),
                sheet=layout.sheet,
            )
        for number, row in enumerate(sheet.iter_rows(max_row=stop), start=1):
            yield number, [
                _Cell(cell.value, _style_of(cell))
                if cell.value is not None or getattr(cell, "has_style", False)
                else None
                for cell in row
            ]
    finally:
        wb.close()


def _style_of(cell: Any) -> dict[str, Any] | None:
    if not getattr(cell, "has_style", False):
        return None
    return {
        "font": copy(cell.font),
        "fill": copy(cell.fill),
        "border": copy(cell.border),
        "alignment": copy(cell.alignment),
        "number_format": cell.number_format,
        "protection": copy(cell.protection),
    }


class _Sink(Protocol):
    """Where the fix-only rows go: a workbook or a delimited text file."""

    def row(self, number: int, values: list[_Value], *, extra: str | None = None,
            header: bool = False) -> None: ...

    def close(self, *, width: int, header_row: int, rows_above: int) -> None: ...


class _WorkbookSink:
    def __init__(self, output: Path, title: str) -> None:
        self.output = output
        self.wb, self.ws = _new_workbook(title)
        self.widths: dict[int, int] = {}

    def row(self, number: int, values: list[_Value], *, extra: str | None = None,
            header: bool = False) -> None:
        for col, item in enumerate(values, start=1):
            if item is None:
                continue
            value, style = (item.value, item.style) if isinstance(item, _Cell) else (item, None)
            cell = self.ws.cell(row=number, column=col)
            if value is not None and value != "":
                put_value(cell, value)
                if header:
                    self.widths[col] = max(self.widths.get(col, 0), len(str(value)))
            if style:
                for name, attr in style.items():
                    setattr(cell, name, attr)
        if extra is not None:
            cell = self.ws.cell(row=number, column=len(values) + 1)
            if extra:
                put_value(cell, extra)
            if header:
                cell.font = Font(bold=True)
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    def close(self, *, width: int, header_row: int, rows_above: int) -> None:
        for col in range(1, width + 1):
            self.ws.column_dimensions[get_column_letter(col)].width = min(
                60, max(10, self.widths.get(col, 0) + 2)
            )
        self.ws.column_dimensions[get_column_letter(width + 1)].width = 80
        if rows_above >= 1:
            self.ws.freeze_panes = f"A{rows_above + 1}"
        save_atomic(self.output, self.wb.save)


class _TextSink:
    def __init__(self, output: Path, layout: SheetLayout, *, text_source: bool) -> None:
        self.output = output
        suffix = output.suffix.lower()
        if text_source and layout.delimiter:
            self.delimiter = layout.delimiter
        else:
            self.delimiter = "\t" if suffix in {".tsv", ".txt", ".tab"} else ","
        # Write back in the file's own encoding so Amazon's flat-file tools read it as before.
        self.encoding = (layout.encoding if text_source and layout.encoding else None) or (
            "utf-8-sig" if suffix == ".csv" else "utf-8"
        )
        self.lines: list[list[str]] = []

    def row(self, number: int, values: list[_Value], *, extra: str | None = None,
            header: bool = False) -> None:
        cells = [_as_text(v.value if isinstance(v, _Cell) else v) for v in values]
        if extra is not None:
            cells.append(extra)
        self.lines.append(cells)

    def close(self, *, width: int, header_row: int, rows_above: int) -> None:
        def save(path: str) -> None:
            with open(path, "w", encoding=self.encoding, errors="replace", newline="") as fh:
                csv.writer(fh, delimiter=self.delimiter, lineterminator="\r\n").writerows(
                    self.lines
                )

        save_atomic(self.output, save)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
