"""Write spreadsheet fixtures into a test's ``tmp_path``: xlsx (openpyxl or hand-made XML), csv.

Others may import it::

    from sheetmaker import write_xlsx, write_csv, write_raw_xlsx, Formula, ErrorValue

(pytest puts `tests/` on `sys.path`, as the folder has no `__init__.py`.)

* :func:`write_xlsx` writes through openpyxl: what a script would write (formulas without
  cached results, dates as date cells, several sheets, hidden sheets).
* :func:`write_raw_xlsx` writes the OOXML by hand, for what openpyxl cannot: formulas *with* a
  cached result (as Excel saves them), ``t="str"`` results, error cells, prefixed namespaces,
  cells away from A1, a DTD (to test that it is refused).
* :func:`write_csv` writes text sheets in any encoding, delimiter, BOM and line ending.
* :func:`write_ole` writes a minimal OLE2 (Compound File) container, either an old ``.xls`` or
  an encrypted (password-protected) OOXML package, as far as their stream names go.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl

Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Formula:
    """A formula cell for :func:`write_raw_xlsx`: ``cached`` is the stored result (``None``:
    none, as scripts write them); ``type`` the cell type of the result (``str`` for text)."""

    text: str
    cached: str | None = None
    type: str | None = None
    shared: bool = False


@dataclass(frozen=True)
class ErrorValue:
    """An Excel error cell (``t="e"``), e.g. ``ErrorValue("#N/A")``; ``formula`` optional."""

    text: str
    formula: str | None = None


def col_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- openpyxl ---------------------------------------------------------------------------------

def write_xlsx(
    path: Path,
    rows: Rows = (),
    *,
    sheet: str = "Offers",
    sheets: Mapping[str, Rows] | None = None,
    hidden: Iterable[str] = (),
    text_columns: Iterable[int] = (),
) -> Path:
    """A workbook written by openpyxl: ``rows`` on ``sheet``, or several ``sheets`` in order.

    Strings starting with ``=`` become formulas without a cached result; ``text_columns``
    (0-based) are formatted as Text, as a careful seller formats the SKU column.
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    content = dict(sheets) if sheets is not None else {sheet: rows}
    text_cols = set(text_columns)
    for name, sheet_rows in content.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(sheet_rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if c - 1 in text_cols:
                    cell.number_format = "@"
        if name in set(hidden):
            ws.sheet_state = "hidden"
    book.save(path)
    return path


# --- hand-made OOXML ----------------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/>'
    "{overrides}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
# Style 1 is a date format (numFmt 14), so serial numbers in it read as dates.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs></styleSheet>"
)
_EXCEL_EPOCH = date(1899, 12, 30)


def _cell_xml(ref: str, value: Any, p: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Formula):
        attrs = f' t="{value.type}"' if value.type else ""
        f = (f'<{p}f t="shared" si="0"/>' if value.shared
             else f"<{p}f>{escape(value.text)}</{p}f>")
        v = f"<{p}v>{escape(value.cached)}</{p}v>" if value.cached is not None else ""
        return f'<{p}c r="{ref}"{attrs}>{f}{v}</{p}c>'
    if isinstance(value, ErrorValue):
        f = f"<{p}f>{escape(value.formula)}</{p}f>" if value.formula else ""
        return f'<{p}c r="{ref}" t="e">{f}<{p}v>{escape(value.text)}</{p}v></{p}c>'
    if isinstance(value, bool):
        return f'<{p}c r="{ref}" t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, int | float):
        return f'<{p}c r="{ref}"><{p}v>{value!r}</{p}v></{p}c>'
    if isinstance(value, datetime):
        serial = (value - datetime(1899, 12, 30)).total_seconds() / 86400
        return f'<{p}c r="{ref}" s="1"><{p}v>{serial!r}</{p}v></{p}c>'
    if isinstance(value, date):
        serial = (value - _EXCEL_EPOCH).days
        return f'<{p}c r="{ref}" s="1"><{p}v>{serial}</{p}v></{p}c>'
    text = escape(str(value))
    space = ' xml:space="preserve"' if str(value) != str(value).strip() else ""
    return f'<{p}c r="{ref}" t="inlineStr"><{p}is><{p}t{space}>{text}</{p}t></{p}is></{p}c>'


def sheet_xml(
    rows: Rows, *, prefix: str = "", first_row: int = 1, first_col: int = 0, doctype: bool = False
) -> str:
    """The worksheet XML of ``rows`` (``prefix`` e.g. ``"x:"`` for a namespaced writer)."""
    p = prefix
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xmlns = f'xmlns:{p[:-1]}="{ns}"' if p else f'xmlns="{ns}"'
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>']
    if doctype:
        parts.append('<!DOCTYPE worksheet [<!ENTITY lol "lol">]>')
    parts.append(f"<{p}worksheet {xmlns}><{p}sheetData>")
    for r, row in enumerate(rows, start=first_row):
        cells = "".join(
            _cell_xml(f"{col_letter(c)}{r}", v, p) for c, v in enumerate(row, start=first_col)
        )
        if cells:
            parts.append(f'<{p}row r="{r}">{cells}</{p}row>')
    parts.append(f"</{p}sheetData></{p}worksheet>")
    return "".join(parts)


def write_raw_xlsx(
    path: Path,
    sheets: Mapping[str, Rows | str],
    *,
    prefix: str = "",
    first_row: int = 1,
    first_col: int = 0,
    doctype: bool = False,
    hidden: Iterable[str] = (),
) -> Path:
    """A workbook built from hand-written XML, one part per sheet (``str`` values are used as
    the sheet XML itself)."""
    hidden_names = set(hidden)
    names = list(sheets)
    overrides = "".join(_SHEET_TYPE.format(n=i) for i in range(1, len(names) + 1))
    hidden_attr = ' state="hidden"'
    sheet_nodes = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"'
        f'{hidden_attr if name in hidden_names else ""}/>'
        for i, name in enumerate(names, start=1)
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{sheet_nodes}</sheets></workbook>"
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    rels += (
        f'<Relationship Id="rId{len(names) + 1}" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(overrides=overrides))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
            f'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>",
        )
        zf.writestr("xl/styles.xml", _STYLES)
        for i, name in enumerate(names, start=1):
            content = sheets[name]
            xml = content if isinstance(content, str) else sheet_xml(
                content, prefix=prefix, first_row=first_row, first_col=first_col,
                doctype=doctype,
            )
            zf.writestr(f"xl/worksheets/sheet{i}.xml", xml)
    return path


# --- text and binary ---------------------------------------------------------------------------

def csv_text(rows: Rows, *, delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def write_csv(
    path: Path,
    rows: Rows,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    newline: str = "\r\n",
) -> Path:
    """A text sheet; ``bom`` adds the encoding's byte order mark (UTF-8/UTF-16)."""
    text = csv_text(rows, delimiter=delimiter, newline=newline)
    data = text.encode(encoding)
    if bom:
        marks = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}
        data = marks[encoding.lower()] + data
    path.write_bytes(data)
    return path


def write_ole(path: Path, *, encrypted: bool) -> Path:
    """An OLE2 container whose directory names the streams of an encrypted OOXML package
    (``EncryptionInfo``, ``EncryptedPackage``) or of an old ``.xls`` (``Workbook``)."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x18:0x1A] = (0x3E).to_bytes(2, "little")
    header[0x1A:0x1C] = (3).to_bytes(2, "little")
    header[0x1C:0x1E] = (0xFFFE).to_bytes(2, "little")
    header[0x1E:0x20] = (9).to_bytes(2, "little")
    names = ("Root Entry", "EncryptionInfo", "EncryptedPackage") if encrypted else (
        "Root Entry", "Workbook", "\x05SummaryInformation"
    )
    directory = bytearray()
    for name in names:
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry[: len(encoded)] = encoded
        entry[64:66] = len(encoded).to_bytes(2, "little")
        directory += entry
    path.write_bytes(bytes(header) + bytes(512) + bytes(directory) + bytes(512))
    return path


def offers_rows(count: int, *, start: int = 1) -> list[list[Any]]:
    """``count`` valid offer rows (SKU, price, quantity), for size and speed tests."""
    return [[f"SKU-{i:06d}", round(10 + (i % 500) / 100, 2), i % 50] for i in
            range(start, start + count)]
