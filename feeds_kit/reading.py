"""Open a sheet (xlsx/xlsm/csv/tsv/txt), find its header row, stream its rows as :class:`Row`.

::

    with open_sheet("offers.xlsx") as source:
        if source.structure_ok:
            for row in source.rows():
                ...  # row.number, row.values (normalised), row.issues (cell findings)

The format comes from the file's first bytes, never its name. Anything that is not a readable
sheet (missing, empty, damaged, encrypted, an old ``.xls``, an HTML page saved as ``.xlsx``,
no header row) raises :class:`~feeds_kit.errors.InputError` with one sentence naming the file.
Everything about the *data* is an :class:`~feeds_kit.issues.Issue`: structural findings in
``SheetSource.issues``, cell findings in each ``Row.issues``.

Workbooks are read with python-calamine (fast; cached formula results) or openpyxl
(``engine="openpyxl"``, read-only); both give the same rows and issues. Formula cells stored
without a result and Excel error values are found by a streaming scan of the sheet XML, so
neither engine has to load the workbook twice. Zip bombs and XML entity tricks are refused
before any parser sees the file. CSV/TSV/TXT files are streamed through :mod:`csv` with the
encoding and delimiter detected from their bytes.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import operator
import os
import re
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any, Final, Protocol

from lxml import etree  # type: ignore[import-untyped]

from feeds_kit.cells import (
    ABSENT,
    BLANK,
    MISSING,
    ColumnConverter,
    Finding,
    Problem,
    base_converter,
    canonical,
    column_converter,
    error_value_problem,
    formula_problem,
)
from feeds_kit.errors import InputError, UsageError
from feeds_kit.headers import (
    KINDS,
    ColumnMapping,
    check_kind,
    field_specs,
    header_score,
    map_columns,
)
from feeds_kit.issues import Issue, IssueType, Location, Severity
from feeds_kit.layouts import TemplateLayout, detect_template, flat_family, settings_value_aliases
from feeds_kit.rows import Row, RowBatch, SheetLayout

__all__ = [
    "ENGINES",
    "HEADER_SCAN_ROWS",
    "KINDS",
    "MAX_COMPRESSION_RATIO",
    "MAX_UNCOMPRESSED_BYTES",
    "SheetSource",
    "open_sheet",
    "scan_sheet_xml",
]

#: How many rows from the top are searched for the header row.
HEADER_SCAN_ROWS: Final = 30
#: Workbook engines: ``calamine`` (default, fast) and ``openpyxl`` (pure Python, read-only).
ENGINES: Final = ("calamine", "openpyxl")
#: A workbook that would unpack to more than this is refused (zip-bomb guard).
MAX_UNCOMPRESSED_BYTES: Final = 1 << 30
#: A part larger than :data:`_RATIO_FLOOR` unpacking to more than this many times its packed
#: size is refused; real sheet XML compresses 5-30 times, zip bombs about 1000 times.
MAX_COMPRESSION_RATIO: Final = 200
_RATIO_FLOOR: Final = 16 << 20
_CHUNK: Final = 1 << 20

ROW_DELIMITER_MISMATCH = IssueType(
    code="row-delimiter-mismatch",
    title="Row separated differently from the file",
    message=(
        'the row "{value}" is separated by "{used}" but this file uses "{expected}", so it was '
        "read as one cell"
    ),
    hint='write the row with "{expected}" between its values, as the other rows',
    description=(
        "A CSV row whose values are all in one cell, which splits into exactly the header's "
        "columns by another separator: usually a row pasted from another file. It is refused "
        "rather than guessed at."
    ),
    tags=("file", "row"),
)
ENCODING_FALLBACK = IssueType(
    code="encoding-fallback",
    title="Not UTF-8: read as another encoding",
    message=(
        "the file is not UTF-8 (byte 0x{byte:02X} on line {line}), so it was read as {encoding}"
    ),
    hint=(
        "check accented letters in the results; pass --encoding to force the right encoding "
        '(e.g. --encoding cp932), or save the file as "CSV UTF-8"'
    ),
    description=(
        "CSV and text files are read as UTF-8 (with or without a byte order mark) or UTF-16 "
        "with a byte order mark. Other bytes are read as windows-1252, the encoding Excel "
        "and Amazon's Western templates use, and this warning says so: a file saved in another "
        "encoding (Japanese cp932, ...) needs --encoding."
    ),
    severity=Severity.WARNING,
    tags=("file", "encoding"),
)


def _label(path: Path | str) -> str:
    return os.fspath(path)


# --- format detection -------------------------------------------------------------------------

_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO: Final = "EncryptionInfo".encode("utf-16-le")
_ENCRYPTED_PACKAGE: Final = "EncryptedPackage".encode("utf-16-le")
_XLS_STREAMS: Final = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))
_WORKBOOK_EXTENSIONS: Final = (".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm")


def _sniff_format(path: Path, head: bytes) -> str:
    """``zip``, ``ole``, ``html``, ``xml-spreadsheet``, ``xml``, ``pdf`` or ``text``."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    probe = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if probe.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "html"
    if probe.startswith(b"<?xml") or probe.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            return "xml-spreadsheet"
        if b"<html" in probe[:2048]:
            return "html"
        if probe.startswith(b"<?xml"):
            return "xml"
    return "text"


def _scan_for(path: Path, needles: Sequence[bytes]) -> set[bytes]:
    """Which of ``needles`` occur in the file (streamed, chunk overlaps cover boundaries)."""
    found: set[bytes] = set()
    overlap = max(len(n) for n in needles)
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            found.update(n for n in needles if n in data)
            tail = data[-overlap:]
    return found


def _refuse_ole(path: Path) -> InputError:
    label = _label(path)
    found = _scan_for(path, (_ENCRYPTION_INFO, _ENCRYPTED_PACKAGE, *_XLS_STREAMS))
    if _ENCRYPTION_INFO in found or _ENCRYPTED_PACKAGE in found:
        return InputError(
            f'File "{label}" is password-protected; remove the password in Excel '
            "(File > Info > Protect Workbook > Encrypt with Password, clear it), save it and "
            "try again.",
            file=label,
        )
    if any(stream in found for stream in _XLS_STREAMS):
        return InputError(
            f'File "{label}" is an old Excel 97-2003 workbook (.xls); save it as .xlsx or .csv '
            "and try again.",
            file=label,
        )
    return InputError(
        f'File "{label}" is an old Microsoft Office binary document, not a workbook; '
        "save it as .xlsx or .csv and try again.",
        file=label,
    )


def _refuse_format(path: Path, fmt: str) -> InputError:
    label = _label(path)
    what = {
        "html": "a web page (HTML), not a spreadsheet",
        "xml-spreadsheet": "an Excel 2003 XML spreadsheet, which feeds-kit does not read",
        "xml": "an XML document, not a spreadsheet",
        "pdf": "a PDF document, not a spreadsheet",
    }.get(fmt, "not a spreadsheet")
    return InputError(f'File "{label}" is {what}; save it as .xlsx or .csv.', file=label)


# --- the source ---------------------------------------------------------------------------

_RowFactory = Callable[[], Iterator[Sequence[Any]]]
#: One mapped column of the read plan: 0-based index, field, column converter, letter, header.
_Step = tuple[int, str, ColumnConverter, str, str]
#: Raw rows converted per batch: big enough to amortise the per-column calls, small enough
#: to keep a streamed CSV flat.
_BATCH: Final = 1024
#: Per spreadsheet row number: 0-based column -> (problem, value shown) of a cell that has no
#: usable value (formula without result, Excel error), found by the sheet XML scan.
_Flagged = dict[int, dict[int, tuple[Problem, Any]]]


class SheetSource:
    """An opened sheet: its layout, its structural findings, and a stream of its rows.

    Use it as a context manager (or call :meth:`close`) so the file is released.
    ``structure_ok`` is False when a structural error (duplicate or missing column) means the
    rows should not be checked; :meth:`rows` still yields them for callers who want to show them.
    """

    layout: SheetLayout
    issues: list[Issue]
    total_rows: int | None

    def __init__(
        self,
        layout: SheetLayout,
        issues: list[Issue],
        *,
        row_factory: _RowFactory,
        total_rows: int | None = None,
        flagged: _Flagged | None = None,
        value_aliases: dict[int, dict[str, str]] | None = None,
        closer: Callable[[], None] | None = None,
        inspect: Callable[[list[Sequence[Any]], int], None] | None = None,
    ) -> None:
        self.layout = layout
        self.issues = issues
        self.total_rows = total_rows
        self._row_factory = row_factory
        self._flagged = flagged if flagged is not None else {}
        #: Looks at each batch of raw rows (and its first row number) before it is converted,
        #: to flag cells in ``_flagged`` (rows pasted with another delimiter).
        self._inspect = inspect
        self._value_aliases = value_aliases or {}
        self._closer = closer
        self._open: list[Iterator[Any]] = []
        self._closed = False

    @property
    def structure_ok(self) -> bool:
        """False when a structural error must stop row checks."""
        return not any(i.severity is Severity.ERROR for i in self.issues)

    # -- context manager --

    def __enter__(self) -> SheetSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for it in list(self._open):
            close = getattr(it, "close", None)
            if close is not None:
                close()
        self._open.clear()
        if self._closer is not None:
            self._closer()

    # -- rows --

    def _plan(self) -> tuple[list[_Step], list[tuple[int, str]]]:
        """Per mapped column (SKU first): index, field, column converter, letter, header; and
        the unknown columns whose values go to ``Row.extra`` (index, key)."""
        kind = self.layout.kind or "offers"
        specs = field_specs(kind)
        plan: list[_Step] = []
        extras: list[tuple[int, str]] = []
        seen_headers: dict[str, int] = {}
        for col in self.layout.columns:
            seen_headers[col.header] = seen_headers.get(col.header, 0) + 1
        for col in self.layout.columns:
            if col.field is not None and col.field in specs:
                spec = specs[col.field]
                convert, memo = base_converter(col.field, spec)
                aliases = self._value_aliases.get(col.index)
                if aliases and "enum" in spec:
                    convert = _with_aliases(convert, aliases)
                plan.append(
                    (col.index, col.field, column_converter(convert, memo), col.letter,
                     col.header)
                )
            elif col.field is None:
                key = col.header if seen_headers[col.header] == 1 else (
                    f"{col.header} ({col.letter})"
                )
                extras.append((col.index, key))
        plan.sort(key=lambda p: p[1] != "sku")
        return plan, extras

    def rows(self) -> Iterator[Row]:
        """The data rows, streamed; blank rows skipped; each with its cell findings.

        A row is blank when no named column holds anything (spaces count as nothing).
        """
        for batch in self.batches():
            yield from batch.rows()

    def batches(self) -> Iterator[RowBatch]:
        """The data rows, streamed by column in batches of about a thousand (see
        :class:`~feeds_kit.rows.RowBatch`); :meth:`rows` is these batches row by row."""
        if self._closed:
            raise InputError(f'Sheet source for "{self.layout.file}" is closed.',
                             file=self.layout.file)
        layout = self.layout
        plan, extras = self._plan()
        raw_rows = self._row_factory()
        self._open.append(raw_rows)
        try:
            stream = itertools.islice(raw_rows, layout.data_row - 1, None)
            number = layout.data_row
            while batch := list(itertools.islice(stream, _BATCH)):
                yield self._batch(batch, number, plan, extras)
                number += len(batch)
        finally:
            close = getattr(raw_rows, "close", None)
            if close is not None:
                close()
            if raw_rows in self._open:
                self._open.remove(raw_rows)

    def _batch(
        self,
        batch: list[Sequence[Any]],
        first: int,
        plan: list[_Step],
        extras: list[tuple[int, str]],
    ) -> RowBatch:
        """One batch of raw rows by column; ``first`` is the row number of ``batch[0]``.

        The hot path works by column, not by cell: pick the mapped cells of every row with one
        C call per row, convert each column with one call (remembered values and empty cells
        are answered in C). Only rows with a finding (a converter's word, a flagged formula or
        error cell) take the slow path, which builds their issues cell by cell.
        """
        if self._inspect is not None:
            self._inspect(batch, first)
        flagged = self._flagged
        marked: dict[int, dict[int, tuple[Problem, Any]]] = {}
        if flagged:
            for k in range(len(batch)):
                cells_flagged = flagged.get(first + k)
                if cells_flagged:
                    marked[k] = cells_flagged
                    cells = list(batch[k])
                    for col in cells_flagged:
                        if col < len(cells):
                            cells[col] = None
                    batch[k] = cells
        indexes = [p[0] for p in plan]
        last = max(indexes, default=-1)
        if last >= 0 and min(map(len, batch)) <= last:
            batch = [
                cells if len(cells) > last else [*cells, *([None] * (last + 1 - len(cells)))]
                for cells in batch
            ]
        columns: list[list[Any]] = []
        slow: set[int] = set(marked)
        for index, _field, convert, _letter, _header in plan:
            out, bad = convert(list(map(operator.itemgetter(index), batch)))
            columns.append(out)
            slow.update(bad)
        special: dict[int, Row | None] = {}
        for k in sorted(slow):
            results = [column[k] for column in columns]
            special[k] = self._slow_row(batch[k], first + k, plan, results, marked.get(k), extras)
        extra_of = None
        if extras:
            def extra_of(k: int) -> dict[str, Any]:
                return _extras(batch[k], extras)
        return RowBatch(first, len(batch), tuple(p[1] for p in plan), columns, special, extra_of)

    def _slow_row(
        self,
        cells: Sequence[Any],
        number: int,
        plan: list[_Step],
        results: Sequence[Any],
        bad: dict[int, tuple[Problem, Any]] | None,
        extras: list[tuple[int, str]],
    ) -> Row | None:
        """A row with findings: its values, the raw values quoted, and an issue per finding."""
        layout = self.layout
        values: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        issues: list[Issue] = []
        for (index, field, _convert, letter, header), result in zip(plan, results, strict=True):
            if result is ABSENT or result is BLANK:
                continue
            if type(result) is not Finding:
                values[field] = result
                continue
            typed = canonical(cells[index])
            raw[field] = typed
            if result.value is not MISSING:
                values[field] = result.value
            sku = values.get("sku")
            where = Location(layout.file, layout.sheet, number, letter, header, field,
                             None if sku is None else str(sku))
            for problem in result.problems:
                issues.append(problem.type.at(where, value=typed, **problem.params))
        if bad:
            self._flag_cells(bad, plan, values, raw, issues, number)
        extra = _extras(cells, extras) if extras else {}
        if not values and not issues and not extra:
            return None
        return Row(number, values, raw, issues, extra)

    def _flag_cells(
        self,
        bad: dict[int, tuple[Problem, Any]],
        plan: list[_Step],
        values: dict[str, Any],
        raw: dict[str, Any],
        issues: list[Issue],
        number: int,
    ) -> None:
        sku = values.get("sku")
        for index, field, _convert, letter, header in plan:
            flagged = bad.get(index)
            if flagged is None:
                continue
            problem, typed = flagged
            raw[field] = typed
            values.pop(field, None)
            where = Location(self.layout.file, self.layout.sheet, number, letter, header, field,
                             None if sku is None or field == "sku" else str(sku))
            issues.append(problem.type.at(where, value=typed, **problem.params))


def _with_aliases(convert: Callable[[Any], Any], aliases: dict[str, str]) -> Callable[[Any], Any]:
    """Translate a template's display labels (``Fulfilment by Merchant (Default)``) first."""

    def translated(value: Any) -> Any:
        if type(value) is str:
            value = aliases.get(value.strip(), value)
        return convert(value)

    return translated


def _extras(cells: Sequence[Any], extras: list[tuple[int, str]]) -> dict[str, Any]:
    """The values of the unknown columns of a row, by header (blank cells left out)."""
    extra: dict[str, Any] = {}
    width = len(cells)
    for index, key in extras:
        if index < width:
            value = cells[index]
            if value is not None and value != "" and not (
                type(value) is str and not value.strip()
            ):
                extra[key] = canonical(value)
    return extra


# --- header search ----------------------------------------------------------------------------

class _HeaderFound:
    __slots__ = ("data_row", "family", "header_row", "headers", "score", "template")

    def __init__(self, header_row: int, data_row: int, headers: Sequence[Any], family: str,
                 template: TemplateLayout | None, score: int) -> None:
        self.header_row = header_row
        self.data_row = data_row
        self.headers = headers
        self.family = family
        self.template = template
        self.score = score


def _find_header(first_rows: Sequence[Sequence[Any]]) -> _HeaderFound | None:
    """The header row among the first rows: the one Amazon's layout names, else the row
    naming the most known fields (the earliest on a tie); ``None`` when no row names any."""
    if not first_rows:
        return None
    template = detect_template(first_rows[0])
    if template is not None:
        best: _HeaderFound | None = None
        for candidate in template.header_rows:
            if candidate > len(first_rows):
                continue
            cells = first_rows[candidate - 1]
            score = header_score(cells, family=template.family)
            if best is None or score > best.score:
                data_row = template.data_row if template.data_row else candidate + 1
                best = _HeaderFound(candidate, data_row, cells, template.family, template, score)
        if best is not None and (best.score or len(template.header_rows) == 1):
            return best
    best = None
    for number, cells in enumerate(first_rows, start=1):
        score = header_score(cells)
        if score and (best is None or score > best.score):
            best = _HeaderFound(number, number + 1, cells, "native", None, score)
    if best is not None:
        best.family = flat_family(best.headers)
    return best


def _no_header(label: str, sheet: str | None) -> InputError:
    where = f'sheet "{sheet}" of "{label}"' if sheet else f'"{label}"'
    return InputError(
        f"No header row in the first {HEADER_SCAN_ROWS} rows of {where}; expected columns such "
        "as sku, price, quantity.",
        file=label,
        sheet=sheet,
    )


def _layout_from(
    found: _HeaderFound,
    *,
    label: str,
    sheet: str | None,
    kind: str | None,
    fmt: str,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[SheetLayout, ColumnMapping, dict[int, dict[str, str]]]:
    template = found.template
    mapping = map_columns(
        found.headers,
        kind=kind,
        family=found.family,
        file=label,
        sheet=sheet,
        header_row=found.header_row,
        primary_marketplace=template.primary_marketplace if template else None,
    )
    notes: dict[str, Any] = dict(mapping.notes)
    value_aliases: dict[int, dict[str, str]] = {}
    if template is not None:
        notes["template"] = template.notes()
        if "marketplace" not in notes and template.primary_marketplace:
            notes["marketplace"] = template.primary_marketplace
        aliases = settings_value_aliases(template.settings)
        if aliases:
            for col in mapping.columns:
                table = aliases.get(col.header)
                if table and col.field is not None:
                    value_aliases[col.index] = table
    layout = SheetLayout(
        file=label,
        sheet=sheet,
        kind=mapping.kind,
        header_row=found.header_row,
        data_row=found.data_row,
        columns=mapping.columns,
        family=found.family,
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        notes=notes,
    )
    return layout, mapping, value_aliases


# --- workbooks --------------------------------------------------------------------------------

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)
#: How much of a part's prolog (declaration, comments, processing instructions) is read to
#: find its first element; Excel writes about 60 bytes, so a longer prolog is refused.
_PROLOG_LIMIT: Final = 1 << 20
_PROLOG_CHUNK: Final = 1 << 16
_XML_SPACE = re.compile(rb"[ \t\r\n]*")
_UTF8_BOM: Final = b"\xef\xbb\xbf"


class _SheetEntry:
    __slots__ = ("chart", "member", "name", "state")

    def __init__(self, name: str, member: str | None, state: str, chart: bool) -> None:
        self.name = name
        self.member = member
        self.state = state
        self.chart = chart


def _check_zip(path: Path, zf: zipfile.ZipFile) -> None:
    """Refuse zip bombs and XML parts with a DTD before any parser sees them."""
    label = _label(path)
    total = 0
    for info in zf.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > MAX_COMPRESSION_RATIO:
            raise InputError(
                f'File "{label}" looks like a zip bomb: its part "{info.filename}" would unpack '
                f"to {info.file_size / (1 << 20):,.0f} MiB, {ratio:,.0f} times its packed size; "
                "it was not opened.",
                file=label,
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InputError(
            f'File "{label}" would unpack to {total / (1 << 30):,.1f} GiB, more than feeds-kit '
            f"reads ({MAX_UNCOMPRESSED_BYTES / (1 << 30):,.0f} GiB); split it into smaller files.",
            file=label,
        )
    for info in zf.infolist():
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with zf.open(info) as fh:
            problem = _prolog_problem(fh)
        if problem is None:
            continue
        why = {
            "dtd": "an XML document type declaration in",
            "wide": "a UTF-16 or UTF-32 encoded part",
            "long": f"more than {_PROLOG_LIMIT >> 20} MiB of comments before the XML of",
        }[problem]
        raise InputError(
            f'File "{label}" has {why} "{info.filename}", which Excel never writes (it can hide '
            "entity tricks); it was not opened.",
            file=label,
        )


def _prolog_problem(fh: IO[bytes]) -> str | None:
    """What is wrong before an XML part's first element: ``"dtd"`` (a ``<!DOCTYPE`` or any
    other ``<!`` declaration), ``"wide"`` (UTF-16/32, whose bytes no ASCII search can read),
    ``"long"`` (no first element within :data:`_PROLOG_LIMIT` bytes), else ``None``.

    The prolog is walked token by token (spaces, ``<?...?>``, ``<!--...-->``), so a ``<x>``
    inside a comment is not taken for the first element.
    """
    data = fh.read(_PROLOG_CHUNK)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        return "wide"
    pos = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    eof = len(data) < _PROLOG_CHUNK
    while True:
        match = _XML_SPACE.match(data, pos)
        pos = match.end() if match else pos
        end = -1
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            closer = 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            closer = 3
        elif data.startswith(b"<!", pos):
            return "dtd"
        elif len(data) - pos >= 4 or eof:
            return None  # the first element (or bytes the parser will call damaged)
        if end >= 0:
            pos = end + closer
            continue
        if eof:
            return None  # an unclosed comment: the parser says the part is damaged
        if len(data) >= _PROLOG_LIMIT:
            return "long"
        chunk = fh.read(_PROLOG_CHUNK)
        eof = len(chunk) < _PROLOG_CHUNK
        data += chunk


def _parse_xml(zf: zipfile.ZipFile, member: str) -> etree._Element:
    with zf.open(member) as fh:
        return etree.fromstring(fh.read(), _SAFE_PARSER)


def _workbook_sheets(path: Path, zf: zipfile.ZipFile) -> list[_SheetEntry]:
    """Sheets in workbook order with their XML part, visibility and whether they are charts."""
    names = set(zf.namelist())
    workbook_member = "xl/workbook.xml"
    try:
        root = _parse_xml(zf, workbook_member)
        rels_member = "xl/_rels/workbook.xml.rels"
        targets: dict[str, str] = {}
        if rels_member in names:
            for rel in _parse_xml(zf, rels_member):
                rid, target = rel.get("Id"), rel.get("Target")
                if rid and target:
                    if target.startswith("/"):
                        member = target.lstrip("/")
                    else:
                        member = str(PurePosixPath("xl") / target)
                    targets[rid] = os.path.normpath(member).replace(os.sep, "/")
    except (KeyError, etree.XMLSyntaxError) as exc:
        label = _label(path)
        raise InputError(
            f'File "{label}" is damaged: its workbook part cannot be read ({exc}); save it '
            "again from Excel.",
            file=label,
        ) from None
    sheets: list[_SheetEntry] = []
    for node in root.iter(f"{{{_NS_MAIN}}}sheet"):
        name = node.get("name") or ""
        rid = node.get(f"{{{_NS_REL}}}id") or ""
        member = targets.get(rid)
        state = node.get("state") or "visible"
        chart = bool(member and "chartsheets/" in member)
        sheets.append(_SheetEntry(name, member if member in names else None, state, chart))
    return sheets


class _Engine(Protocol):
    def rows(self, sheet: str) -> Iterator[Sequence[Any]]: ...
    def last_row(self, sheet: str) -> int | None: ...
    def close(self) -> None: ...


class _CalamineEngine:
    """python-calamine: cached formula values, the whole sheet parsed in Rust."""

    def __init__(self, path: Path, label: str) -> None:
        import python_calamine

        self._errors = (python_calamine.CalamineError, OSError, ValueError)
        self._label = label
        try:
            self._book = python_calamine.CalamineWorkbook.from_path(os.fspath(path))
        except self._errors as exc:
            raise _damaged(label, exc) from None
        self._sheets: dict[str, Any] = {}

    def _sheet(self, name: str) -> Any:
        sheet = self._sheets.get(name)
        if sheet is None:
            try:
                sheet = self._book.get_sheet_by_name(name)
            except self._errors as exc:
                raise _damaged(self._label, exc, name) from None
            # Keep only the sheet being read: calamine holds a parsed sheet in memory.
            self._sheets = {name: sheet}
        return sheet

    def rows(self, sheet: str) -> Iterator[Sequence[Any]]:
        data = self._sheet(sheet)
        start = data.start
        # iter_rows() starts at row 1 but at the first used column: pad back to column A.
        if start and start[1]:
            pad = [""] * start[1]
            return (pad + row for row in data.iter_rows())
        # calamine's own iterator, without a Python frame per row.
        return iter(data.iter_rows())

    def last_row(self, sheet: str) -> int | None:
        end = self._sheet(sheet).end
        return end[0] + 1 if end else 0

    def close(self) -> None:
        self._sheets.clear()
        # Closing twice raises WorkbookClosed; there is nothing left to release then.
        with contextlib.suppress(Exception):
            self._book.close()


class _OpenpyxlEngine:
    """openpyxl in read-only, data-only mode: slower, pure Python, flat memory."""

    def __init__(self, path: Path, label: str) -> None:
        import openpyxl  # type: ignore[import-untyped]

        self._label = label
        try:
            with warnings.catch_warnings():
                # openpyxl warns about workbook features it ignores; they do not matter here.
                warnings.simplefilter("ignore")
                self._book = openpyxl.load_workbook(
                    os.fspath(path), read_only=True, data_only=True, keep_links=False
                )
        except Exception as exc:  # openpyxl raises many kinds of errors for bad files
            raise _damaged(label, exc) from None

    def rows(self, sheet: str) -> Iterator[Sequence[Any]]:
        try:
            ws = self._book[sheet]
            # Writers do not always update <dimension>; read-only openpyxl would trust it and
            # cut the sheet short, so read every row and cell that is really there.
            ws.reset_dimensions()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield from ws.iter_rows(values_only=True)
        except (KeyError, ValueError, etree.XMLSyntaxError, zipfile.BadZipFile) as exc:
            raise _damaged(self._label, exc, sheet) from None

    def last_row(self, sheet: str) -> int | None:
        # The dimension may be wrong (see rows()); the row count is unknown without a pass.
        return None

    def close(self) -> None:
        self._book.close()


def _damaged(label: str, exc: BaseException, sheet: str | None = None) -> InputError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f'Sheet "{sheet}" of "{label}"' if sheet else f'File "{label}"'
    return InputError(
        f"{where} is damaged and cannot be read ({detail}); save it again from Excel.",
        file=label,
        sheet=sheet,
    )


# Sheets of Amazon's templates (and common workbooks) that never hold the data.
_NOT_DATA_SHEETS: Final = frozenset(
    {
        "instructions", "instrucciones", "anleitung", "istruzioni", "data definitions",
        "definiciones de datos", "example", "examples", "ejemplo", "beispiel", "valid values",
        "valores válidos", "dropdown lists", "images", "browse data", "conditions list",
        "attributeptdmap", "international settings", "international data",
        "international urls", "international translations", "data validation", "icons",
        "dropdownsizer", "changes to the template", "summary", "readme", "read me", "help",
    }
)


def _open_workbook(
    path: Path, *, kind: str | None, sheet: str | None, engine: str
) -> SheetSource:
    label = _label(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise InputError(
            f'File "{label}" is damaged: it is not a complete .xlsx (zip) file; save it again '
            "from Excel or download it again.",
            file=label,
        ) from None
    with zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            if "xl/workbook.bin" in names:
                raise InputError(
                    f'File "{label}" is an Excel binary workbook (.xlsb); save it as .xlsx or '
                    ".csv.",
                    file=label,
                )
            if "mimetype" in names or "content.xml" in names:
                raise InputError(
                    f'File "{label}" is an OpenDocument spreadsheet (.ods); save it as .xlsx or '
                    ".csv.",
                    file=label,
                )
            raise InputError(
                f'File "{label}" is a zip archive but not an Excel workbook; save the sheet as '
                ".xlsx or .csv.",
                file=label,
            )
        _check_zip(path, zf)
        entries = _workbook_sheets(path, zf)

    if not entries:
        raise InputError(f'Workbook "{label}" has no sheets.', file=label)
    reader: _Engine = (
        _OpenpyxlEngine(path, label) if engine == "openpyxl" else _CalamineEngine(path, label)
    )
    # calamine parses a sheet without holding the GIL: scan the XML of the sheet that will
    # most likely be read meanwhile, on the other core, instead of after it.
    early: _Background | None = None
    likely = _likely_sheet(entries, sheet) if engine == "calamine" else None
    if likely is not None and likely.member:
        early = _Background(_scan_file, path, likely.member)
    try:
        chosen, found = _choose_sheet(reader, entries, sheet, label)
        layout, mapping, value_aliases = _layout_from(
            found, label=label, sheet=chosen.name, kind=kind,
            fmt="xlsm" if path.suffix.lower() == ".xlsm" else "xlsx",
        )
        flagged: _Flagged = {}
        last: int | None = None
        if early is not None and likely is chosen:
            flagged, last = early.result()
        elif chosen.member:
            flagged, last = _scan_file(path, chosen.member)
        if last is None:
            last = reader.last_row(chosen.name)
        total = max(last - layout.data_row + 1, 0) if last is not None else None
    except BaseException:
        reader.close()
        raise
    name = chosen.name
    return SheetSource(
        layout,
        list(mapping.issues),
        row_factory=lambda: reader.rows(name),
        total_rows=total,
        flagged=flagged,
        value_aliases=value_aliases,
        closer=reader.close,
    )


def _scan_file(path: Path, member: str) -> tuple[_Flagged, int | None]:
    with zipfile.ZipFile(path) as zf:
        return scan_sheet_xml(zf, member)


class _Background:
    """Run a function on a daemon thread; :meth:`result` waits and re-raises its exception."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = func(*args)
            except BaseException as exc:  # handed to the caller of result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="feeds-kit-scan", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _likely_sheet(entries: list[_SheetEntry], sheet: str | None) -> _SheetEntry | None:
    """The sheet :func:`_choose_sheet` will pick when that is clear before reading any."""
    if sheet is not None:
        exact = [e for e in entries if e.name == sheet]
        return exact[0] if len(exact) == 1 else None
    candidates = [e for e in entries if not e.chart and e.state == "visible"]
    preferred = [e for e in candidates if e.name.strip().lower() not in _NOT_DATA_SHEETS]
    group = preferred or candidates
    return group[0] if len(group) == 1 else None


def _first_rows(reader: _Engine, name: str) -> list[Sequence[Any]]:
    rows = reader.rows(name)
    try:
        return list(itertools.islice(rows, HEADER_SCAN_ROWS))
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _choose_sheet(
    reader: _Engine, entries: list[_SheetEntry], sheet: str | None, label: str
) -> tuple[_SheetEntry, _HeaderFound]:
    """The sheet named by ``sheet``, or the data sheet found by its headers."""
    if sheet is not None:
        exact = [e for e in entries if e.name == sheet]
        loose = [e for e in entries if e.name.strip().lower() == sheet.strip().lower()]
        matches = exact or loose
        if len(matches) != 1 or matches[0].chart:
            listed = ", ".join(f'"{e.name}"' for e in entries if not e.chart)
            raise InputError(
                f'Workbook "{label}" has no sheet "{sheet}"; its sheets are: {listed}.',
                file=label,
                sheet=sheet,
            )
        chosen = matches[0]
        found = _find_header(_first_rows(reader, chosen.name))
        if found is None:
            raise _no_header(label, chosen.name)
        return chosen, found

    candidates = [e for e in entries if not e.chart and e.state == "visible"]
    preferred = [e for e in candidates if e.name.strip().lower() not in _NOT_DATA_SHEETS]
    best: tuple[_SheetEntry, _HeaderFound] | None = None
    for group in (preferred, candidates):
        for entry in group:
            found = _find_header(_first_rows(reader, entry.name))
            if found is not None and (best is None or found.score > best[1].score):
                best = (entry, found)
        if best is not None:
            return best
    if len(candidates) == 1:
        raise _no_header(label, candidates[0].name)
    listed = ", ".join(f'"{e.name}"' for e in candidates)
    raise InputError(
        f'No sheet of "{label}" has a header row in its first {HEADER_SCAN_ROWS} rows '
        f"(sheets: {listed}); expected columns such as sku, price, quantity.",
        file=label,
    )


# --- the formula / error scan -------------------------------------------------------------------

_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_CELL_OPEN = re.compile(rb"<" + _PREFIX + rb"c\s")
_CELL = re.compile(
    rb"<" + _PREFIX + rb"c\s([^>]*?)(?:/>|>(.*?)</" + _PREFIX + rb"c>)", re.DOTALL
)
_REF = re.compile(rb"\br=\"([A-Za-z]{1,3})(\d+)\"")
_ROW_REF = re.compile(rb"<" + _PREFIX + rb"row\s[^>]*?\br=\"(\d+)\"")
_TYPE = re.compile(rb"\bt=\"([A-Za-z]+)\"")
_FORMULA = re.compile(rb"<" + _PREFIX + rb"f(?:\s[^>]*)?(?:/>|>(.*?)</" + _PREFIX + rb"f>)",
                      re.DOTALL)
_VALUE = re.compile(rb"<" + _PREFIX + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + _PREFIX + rb"v>)",
                    re.DOTALL)
_XML_ESCAPES: Final = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
                       ("&amp;", "&"))


def _xml_text(raw: bytes | None) -> str:
    text = (raw or b"").decode("utf-8", "replace")
    for escaped, plain in _XML_ESCAPES:
        text = text.replace(escaped, plain)
    return text


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + (char - 64)
    return index - 1


def scan_sheet_xml(zf: zipfile.ZipFile, member: str) -> tuple[_Flagged, int | None]:
    """Cells of a sheet's XML that have no usable value, and the sheet's last row number.

    The cells are formulas stored without a computed result (``formula-without-value``) and
    Excel error values (``#N/A``, ...). The part is streamed in 1 MiB blocks cut at row ends;
    only blocks holding a ``<f`` or ``t="e"`` are searched, by substring search, and only the
    cells around a hit are parsed, so a sheet without formulas costs one decompression and a
    few substring tests and a formula-heavy one stays linear. Never resolves entities (it does
    not parse XML at all).
    """
    flagged: _Flagged = {}
    last_row: int | None = None
    carry = b""
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            data = carry + chunk
            if chunk:
                cut = data.rfind(b"</row>")
                if cut < 0:
                    cut = data.rfind(b"</c>")
                if cut < 0:
                    carry = data
                    continue
                cut = data.find(b">", cut) + 1
                block, carry = data[:cut], data[cut:]
            else:
                block, carry = data, b""
            # Cheap substring tests first: most sheets hold no formula and no error cell.
            if b"<f" in block or b":f" in block or b't="e"' in block:
                _scan_block(block, flagged)
            rows = _ROW_REF.findall(block, max(0, len(block) - 65536)) or _ROW_REF.findall(block)
            if rows:
                last_row = int(rows[-1])
            if not chunk:
                break
    return flagged, last_row


#: What makes a cell worth a look: a formula element (``<f>``, ``<f/>``, ``<f t="shared" ...>``,
#: also namespace-prefixed) and the error type attribute.
_FORMULA_NEEDLES: Final = (b"<f", b":f")
_ERROR_NEEDLE: Final = b't="e"'
_AFTER_F: Final = frozenset(b" \t\r\n>/")
_PLAIN_CELL_OPENERS: Final = (b"<c ", b"<c\t", b"<c\n", b"<c\r")


def _hits(block: bytes) -> list[int]:
    """Offsets of the formula elements and error-type attributes in ``block``, in order.

    Substring search (``bytes.find``) instead of one regular expression: a regex alternation
    tried at every ``<`` of a megabyte block costs milliseconds, the searches microseconds.
    A false hit (the text ``:f`` inside a string) is harmless: the cell around it is parsed
    and found to hold no formula.
    """
    found: list[int] = []
    find = block.find
    for needle in _FORMULA_NEEDLES:
        pos = find(needle)
        while pos >= 0:
            after = pos + 2
            if (
                after < len(block)
                and block[after] in _AFTER_F
                and (needle == b"<f" or _PREFIX_BEFORE.search(block, max(0, pos - 64), pos + 2))
            ):
                found.append(pos)
            pos = find(needle, after)
    pos = find(_ERROR_NEEDLE)
    while pos >= 0:
        if pos and block[pos - 1] in _AFTER_F:
            found.append(pos)
        pos = find(_ERROR_NEEDLE, pos + 5)
    found.sort()
    return found


#: ``<prefix:`` ending right before a ``:f`` hit (so ``<x:f>`` counts, ``http:f`` does not).
_PREFIX_BEFORE: Final = re.compile(rb"<[A-Za-z_][\w.\-]*:f$")


def _cell_start(block: bytes, pos: int, floor: int) -> int:
    """Offset of the ``<c`` element that holds ``pos`` (``-1`` when there is none).

    Text and attribute values cannot hold a raw ``<``, so the last cell opener before ``pos``
    is the one around it; plain openers are found by ``rfind``, prefixed ones (``<x:c``) by
    the regular expression over a window that widens only when needed.
    """
    start = max(block.rfind(opener, floor, pos + 1) for opener in _PLAIN_CELL_OPENERS)
    if start >= 0:
        return start
    width = 4096
    while True:
        window = max(floor, pos - width)
        for opener in _CELL_OPEN.finditer(block, window, pos + 1):
            start = opener.start()
        if start >= 0 or window == floor:
            return start
        width *= 16


def _scan_block(block: bytes, flagged: _Flagged) -> None:
    done = 0
    for pos in _hits(block):
        if pos < done:
            continue
        start = _cell_start(block, pos, done)
        if start < 0:
            continue
        cell = _CELL.match(block, start)
        if cell is None or cell.end() <= pos:
            continue
        done = cell.end()
        attrs, content = cell.group(1), cell.group(2) or b""
        ref = _REF.search(attrs)
        if ref is None:
            continue
        type_match = _TYPE.search(attrs)
        cell_type = type_match.group(1) if type_match else b"n"
        value = _VALUE.search(content)
        value_text = value.group(1) if value else None
        found: tuple[Problem, Any] | None = None
        if cell_type == b"e":
            shown_text = _xml_text(value_text) or "#VALUE!"
            found = (error_value_problem(shown_text), shown_text)
        else:
            formula = _FORMULA.search(content)
            # An empty result of a string formula (t="str") is a real, blank, value.
            if formula is not None and not value_text and cell_type != b"str":
                text = _xml_text(formula.group(1)) or None
                found = (formula_problem(text), f"={text}" if text else None)
        if found is not None:
            row = int(ref.group(2))
            flagged.setdefault(row, {})[_column_index(ref.group(1))] = found


# --- text files ---------------------------------------------------------------------------------

_DELIMITERS: Final = (",", ";", "\t", "|")
_TEXT_FALLBACKS: Final = ("cp1252", "latin-1")
_WIDE_ENCODINGS: Final = ("utf-16", "utf-32")


def _bomless_utf16(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` for UTF-16 text saved without a byte order mark, recognised
    by its pattern: mostly-ASCII text in UTF-16 has a NUL in every other byte (odd bytes for
    little-endian, even bytes for big-endian) and none in the others."""
    sample = head[: len(head) - len(head) % 2][:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


class _Prescan:
    __slots__ = ("bad_byte", "bad_line", "lines", "ok")

    def __init__(self) -> None:
        self.ok = True
        self.bad_byte = 0
        self.bad_line = 0
        self.lines = 0


def _prescan(path: Path, encoding: str, *, check_nul: bool) -> _Prescan:
    """One streamed pass: does the file decode strictly, where does it not, how many lines,
    any NUL byte (which no text sheet has)."""
    result = _Prescan()
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if check_nul and b"\x00" in chunk:
                line = result.lines + chunk.count(b"\n", 0, chunk.index(b"\x00")) + 1
                label = _label(path)
                raise InputError(
                    f'File "{label}" contains NUL bytes (line {line}), so it is not a text '
                    "sheet; save it as .xlsx or as CSV (UTF-8).",
                    file=label,
                    row=line,
                )
            if result.ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    result.ok = False
                    where = max(0, min(exc.start, len(chunk) - 1))
                    result.bad_byte = chunk[where] if chunk else 0
                    result.bad_line = result.lines + chunk.count(b"\n", 0, where) + 1
            result.lines += chunk.count(b"\n")
            offset += len(chunk)
            last = chunk[-1:]
    if result.ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            result.ok = False
            result.bad_line = result.lines + 1
    if last and last != b"\n":
        result.lines += 1
    return result


def _choose_encoding(path: Path, head: bytes, forced: str | None) -> tuple[str, list[Issue], int]:
    """The encoding to read with, the warning when it is a fallback, and the line count."""
    label = _label(path)
    if forced:
        try:
            name = codecs.lookup(forced).name
        except LookupError:
            raise UsageError(f"Unknown encoding {forced!r}: use e.g. utf-8, cp1252, cp932.")\
                from None
        wide = name.startswith(_WIDE_ENCODINGS)
        scan = _prescan(path, forced, check_nul=not wide)
        if not scan.ok:
            raise InputError(
                f'File "{label}" is not valid {forced} (byte 0x{scan.bad_byte:02X} on line '
                f"{scan.bad_line}); pass the encoding it was saved in with --encoding.",
                file=label,
            )
        return forced, [], scan.lines
    bom = _bom_encoding(head)
    if bom:
        scan = _prescan(path, bom, check_nul=bom == "utf-8-sig")
        if not scan.ok:
            raise InputError(
                f'File "{label}" starts like {bom.upper()} text but is not valid {bom.upper()} '
                f"(line {scan.bad_line}); save it again as CSV UTF-8.",
                file=label,
            )
        return bom, [], scan.lines
    wide = _bomless_utf16(head)
    if wide:
        scan = _prescan(path, wide, check_nul=False)
        if scan.ok:
            return wide, [], scan.lines
    scan = _prescan(path, "utf-8", check_nul=True)
    if scan.ok:
        return "utf-8", [], scan.lines
    for fallback in _TEXT_FALLBACKS:
        if _prescan(path, fallback, check_nul=False).ok:
            break
    warning = ENCODING_FALLBACK.at(
        Location(file=label),
        byte=scan.bad_byte,
        line=scan.bad_line,
        encoding="windows-1252" if fallback == "cp1252" else fallback,
    )
    return fallback, [warning], scan.lines


def _read_sample(path: Path, encoding: str, size: int = 1 << 16) -> str:
    with path.open("r", encoding=encoding, newline="", errors="replace") as fh:
        sample = fh.read(size)
        more = fh.read(1)
    if more:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        if cut > 0:
            sample = sample[:cut]
    return sample


def _sniff_delimiter(sample: str, default: str) -> str:
    """The delimiter among , ; TAB | that makes the best header row, then the steadiest
    column count; ``default`` (tab for .tsv/.txt, comma otherwise) on a tie."""
    order = [default, *[d for d in _DELIMITERS if d != default]]
    best: tuple[tuple[int, int, int], str] | None = None
    for delimiter in order:
        try:
            rows = list(itertools.islice(
                csv.reader(io.StringIO(sample), delimiter=delimiter, strict=False),
                HEADER_SCAN_ROWS,
            ))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if len(r) > 1]
        modal = max(set(widths), key=widths.count) if widths else 1
        steady = widths.count(modal) if widths else 0
        score = (max((header_score(r) for r in rows), default=0), steady, modal)
        if best is None or score > best[0]:
            best = (score, delimiter)
    return best[1] if best else default


def _open_text(
    path: Path, head: bytes, *, kind: str | None, encoding: str | None
) -> SheetSource:
    label = _label(path)
    suffix = path.suffix.lower()
    if suffix in _WORKBOOK_EXTENSIONS:
        raise InputError(
            f'File "{label}" is named {suffix} but holds text, not an Excel workbook; '
            "save it from Excel as .xlsx, or rename it to .csv if it is a CSV file.",
            file=label,
        )
    chosen, issues, lines = _choose_encoding(path, head, encoding)
    default = "\t" if suffix in (".tsv", ".tab", ".txt") else ","
    sample = _read_sample(path, chosen)
    if not sample.strip():
        raise InputError(f'File "{label}" holds no data (only blank lines).', file=label)
    # Excel honours (and some exports write) a first line "sep=;" naming the delimiter.
    declared = re.match(r"\ufeff?sep=(.)\r?\n", sample)
    delimiter = declared.group(1) if declared else _sniff_delimiter(sample, default)

    flagged: _Flagged = {}

    def raw_rows() -> Iterator[Sequence[Any]]:
        with path.open("r", encoding=chosen, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, strict=False)
            try:
                yield from reader
            except csv.Error as exc:
                raise InputError(
                    f'File "{label}" cannot be read as CSV at line {reader.line_num}: {exc}.',
                    file=label,
                    row=reader.line_num,
                ) from None

    first = raw_rows()
    try:
        first_rows = list(itertools.islice(first, HEADER_SCAN_ROWS))
    finally:
        close = getattr(first, "close", None)
        if close is not None:
            close()
    found = _find_header(first_rows)
    if found is None:
        raise _no_header(label, None)
    fmt = "tsv" if delimiter == "\t" else "csv"
    layout, mapping, value_aliases = _layout_from(
        found, label=label, sheet=None, kind=kind, fmt=fmt, encoding=chosen,
        delimiter=delimiter,
    )
    total = max(lines - layout.data_row + 1, 0)
    width = sum(1 for c in layout.columns if c.header)

    def inspect(batch: list[Sequence[Any]], first: int) -> None:
        # A pasted row holds width - 1 of another delimiter: most batches are cleared by
        # counting them in the batch's text at once, most rows by counting them in theirs.
        if width < 2:
            return
        text = "".join(itertools.chain.from_iterable(batch))
        others = [d for d in _DELIMITERS if d != delimiter and text.count(d) >= width - 1]
        if not others:
            return
        for k, cells in enumerate(batch):
            line = "".join(cells)
            if any(line.count(d) >= width - 1 for d in others):
                _flag_delimiter_mismatch(cells, first + k, delimiter, width, flagged)

    all_issues = [*mapping.issues, *issues]
    all_issues.sort(key=lambda i: i.severity is not Severity.ERROR)
    return SheetSource(
        layout,
        all_issues,
        row_factory=raw_rows,
        total_rows=total,
        flagged=flagged,
        value_aliases=value_aliases,
        inspect=inspect,
    )


def _flag_delimiter_mismatch(
    cells: Sequence[str], number: int, delimiter: str, width: int, flagged: _Flagged
) -> None:
    """Flag a row whose only value splits into exactly ``width`` values by another separator
    (a row pasted from a file with other separators): one cell finding, no guessing."""
    filled = [(i, c) for i, c in enumerate(cells) if c.strip()]
    if len(filled) != 1:
        return
    index, text = filled[0]
    for other in _DELIMITERS:
        if other != delimiter and len(text.split(other)) == width:
            flagged[number] = {
                index: (
                    Problem(ROW_DELIMITER_MISMATCH, {"used": other, "expected": delimiter}),
                    text,
                )
            }
            return


# --- the front door -------------------------------------------------------------------------------

def open_sheet(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    engine: str | None = None,
) -> SheetSource:
    """Open a sheet for reading: detect its format, layout, header row, columns and kind.

    ``kind`` forces the sheet kind (else detected from the headers); ``sheet`` picks a
    workbook sheet (else the data sheet is found by its headers); ``encoding`` forces a text
    file's encoding; ``engine`` is ``calamine`` (default) or ``openpyxl``.
    Raises :class:`InputError` for anything that is not a readable sheet and
    :class:`UsageError` for an unknown kind, engine or encoding.
    """
    if kind is not None:
        kind = check_kind(kind)
    engine_name = (engine or "calamine").strip().lower()
    if engine_name not in ENGINES:
        raise UsageError(f"Unknown engine {engine!r}: use {' or '.join(ENGINES)}.")
    file = Path(path)
    label = os.fspath(path)
    try:
        if file.is_dir():
            raise InputError(f'"{label}" is a folder, not a sheet file.', file=label)
        with file.open("rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        raise InputError(f'File "{label}" does not exist.', file=label) from None
    except PermissionError:
        raise InputError(f'File "{label}" cannot be opened: permission denied.',
                         file=label) from None
    except OSError as exc:
        raise InputError(f'File "{label}" cannot be read: {exc.strerror or exc}.',
                         file=label) from None
    if not head:
        raise InputError(f'File "{label}" is empty (0 bytes).', file=label)
    fmt = _sniff_format(file, head)
    if fmt == "zip":
        return _open_workbook(file, kind=kind, sheet=sheet, engine=engine_name)
    if fmt == "ole":
        raise _refuse_ole(file)
    if fmt != "text":
        raise _refuse_format(file, fmt)
    return _open_text(file, head, kind=kind, encoding=encoding)

