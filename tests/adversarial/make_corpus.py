"""Write the hostile-input corpus: every bad file a seller (or an attacker) may hand feeds-kit.

Each file is generated from code here, never stored as a binary blob, so the corpus can be read,
reviewed and regenerated. Run it by hand to get the files for a manual look::

    python tests/adversarial/make_corpus.py /tmp/corpus          # every case
    python tests/adversarial/make_corpus.py /tmp/corpus zip-bomb-lying-sizes.xlsx

It also writes ``index.json`` there: per file, what is wrong with it and what feeds-kit must
answer (exit code, the words of the one sentence). ``test_bad_input.py`` runs every case through
the command line (``CliRunner``) and a real subprocess bounded in time and memory.

The expectations follow PRODUCT.md: ``2`` when the file cannot be read as a sheet, ``1`` when it
reads but its data (or structure) has errors. ``expect`` fragments are matched against the
command's combined output; ``{file}`` stands for the path given on the command line.
"""

from __future__ import annotations

import codecs
import json
import struct
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sheetmaker import (
    ErrorValue,
    col_letter,
    csv_text,
    write_ole,
    write_raw_xlsx,
    write_xlsx,
)

#: What the zip-bomb sheets inflate to: more than 1 GiB, feeds-kit's ceiling.
BOMB_BYTES = 1100 << 20
#: The size the lying zip bomb declares for its sheet part (below every ratio check).
BOMB_DECLARED = 4 << 20
#: Width of the very wide row (Excel itself stops at 16,384 columns).
WIDE_COLUMNS = 20_000
#: Length of the very long cell (Excel itself stops at 32,767 characters).
LONG_CELL = 40_000

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass(frozen=True)
class Case:
    """One bad input: its file name, how to make it, and what feeds-kit must answer.

    ``expect`` are fragments of the one sentence the user must see (the file, sheet, row,
    column where they exist and what would be right). ``max_output`` bounds the whole output in
    characters: a 40,000-character value must not be echoed whole. ``args`` are extra
    ``validate`` options. ``sheet`` is the sheet every issue must name. ``known_bug`` says why
    the exact answer is not given yet (the tests mark the case xfail, strict); ``crash`` says
    why the file still makes feeds-kit fail unexpectedly (every test of the case is xfail
    then).
    """

    name: str
    what: str
    make: Callable[[Path], object] = field(repr=False, compare=False)
    exit_code: int
    expect: tuple[str, ...]
    args: tuple[str, ...] = ()
    max_output: int = 20_000
    sheet: str | None = None
    known_bug: str | None = None
    #: The known bug also makes the exit code wrong (0 instead of 1).
    exit_bug: bool = False
    crash: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("make", None)
        return data


# --- tiny builders ------------------------------------------------------------------------------

_OFFERS_HEAD = ["sku", "marketplace", "price", "quantity"]


def _zip_raw(path: Path, members: Sequence[tuple[str, bytes]]) -> None:
    """A zip of small deflated members, written by hand (no zipfile: full control of headers)."""
    _write_zip(path, [(name, _deflated(data), zlib.crc32(data), len(data)) for name, data in
                      members])


def _deflated(data: bytes) -> list[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return [compressor.compress(data) + compressor.flush()]


def _write_zip(
    path: Path,
    members: Sequence[tuple[str, Sequence[bytes], int, int]],
    *,
    declared: dict[str, int] | None = None,
) -> None:
    """Write a zip of pre-deflated members ``(name, deflate chunks, crc32, real size)``.

    ``declared`` makes the local and central headers state another uncompressed size for the
    named members: the lying zip bomb.
    """
    declared = declared or {}
    central = bytearray()
    with path.open("wb") as fh:
        for name, chunks, crc, size in members:
            offset = fh.tell()
            packed = sum(len(c) for c in chunks)
            stated = declared.get(name, size)
            encoded = name.encode()
            header = struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, packed, stated,
                len(encoded), 0,
            )
            fh.write(header + encoded)
            for chunk in chunks:
                fh.write(chunk)
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, packed, stated,
                len(encoded), 0, 0, 0, 0, 0, offset,
            ) + encoded
        start = fh.tell()
        fh.write(central)
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                             len(central), start, 0))


def _workbook_parts(sheet: bytes) -> list[tuple[str, bytes]]:
    """The parts of a one-sheet workbook ("Offers") around ``sheet`` (its worksheet XML)."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<workbook xmlns="{_NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships"><sheets><sheet name="Offers" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    return [
        ("[Content_Types].xml", content_types.encode()),
        ("_rels/.rels", root_rels.encode()),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.encode()),
        ("xl/worksheets/sheet1.xml", sheet),
    ]


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


# --- the cases' makers --------------------------------------------------------------------------

def make_empty(path: Path) -> None:
    path.write_bytes(b"")


def make_blank_lines(path: Path) -> None:
    path.write_bytes(b"\r\n  \r\n\t\r\n")


def make_empty_workbook(path: Path) -> None:
    write_xlsx(path, [], sheet="Sheet1")


def make_truncated_zip(path: Path) -> None:
    write_xlsx(path, [_OFFERS_HEAD, ["SKU-1", "US", 12.5, 3]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def make_text_as_xlsx(path: Path) -> None:
    path.write_text("sku,price\nSKU-1,12.99\n", encoding="utf-8")


def make_html_as_xls(path: Path) -> None:
    # What many web back-offices serve as "Export to Excel".
    path.write_text(
        "<!DOCTYPE html><html><head><title>Export</title></head><body><table>"
        "<tr><th>sku</th><th>price</th></tr><tr><td>SKU-1</td><td>12.99</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )


def make_old_xls(path: Path) -> None:
    write_ole(path, encrypted=False)


def make_encrypted(path: Path) -> None:
    write_ole(path, encrypted=True)


def _laughs_dtd() -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return "<!DOCTYPE worksheet [" + "".join(entities) + "]>"


def make_billion_laughs(path: Path) -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + _laughs_dtd()
        + f'<worksheet xmlns="{_NS}"><sheetData><row r="1">{_inline("A1", "sku")}'
        + _inline("B1", "price") + '</row><row r="2">' + _inline("A2", "&lol9;")
        + '<c r="B2"><v>1</v></c></row></sheetData></worksheet>'
    )
    write_raw_xlsx(path, {"Offers": xml})


def make_billion_laughs_late(path: Path) -> None:
    """The entity declaration pushed beyond the first 64 KiB behind a long comment."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!--' + "x" * 70_000 + "-->"
        + _laughs_dtd()
        + f'<worksheet xmlns="{_NS}"><sheetData><row r="1">{_inline("A1", "sku")}'
        + _inline("B1", "price") + '</row><row r="2">' + _inline("A2", "&lol9;")
        + '<c r="B2"><v>1</v></c></row></sheetData></worksheet>'
    )
    write_raw_xlsx(path, {"Offers": xml})


def _laughs_body() -> str:
    return (
        f'<worksheet xmlns="{_NS}"><sheetData><row r="1">{_inline("A1", "sku")}'
        + _inline("B1", "price") + '</row><row r="2">' + _inline("A2", "&lol9;")
        + '<c r="B2"><v>1</v></c></row></sheetData></worksheet>'
    )


def make_billion_laughs_comment(path: Path) -> None:
    """A comment holding "<x" before the declaration: a naive "first element" search stops
    at the comment and never sees the DTD behind it."""
    xml = '<?xml version="1.0" encoding="UTF-8"?><!-- <x> -->' + _laughs_dtd() + _laughs_body()
    write_raw_xlsx(path, {"Offers": xml})


def make_billion_laughs_utf16(path: Path) -> None:
    """The sheet XML in UTF-16 (legal XML, never written by Excel): byte patterns looking for
    "<!DOCTYPE" in ASCII do not match it."""
    xml = '<?xml version="1.0" encoding="UTF-16"?>' + _laughs_dtd() + _laughs_body()
    parts = _workbook_parts(codecs.BOM_UTF16_LE + xml.encode("utf-16-le"))
    _zip_raw(path, parts)


def make_billion_laughs_shared_strings(path: Path) -> None:
    """The entity expansion in sharedStrings.xml, the part every SKU text goes through."""
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?>' + _laughs_dtd()
        + f'<sst xmlns="{_NS}" count="3" uniqueCount="3"><si><t>sku</t></si><si><t>price</t>'
        "</si><si><t>&lol9;</t></si></sst>"
    ).encode()
    parts = _workbook_parts(sheet)
    parts[3] = (
        "xl/_rels/workbook.xml.rels",
        parts[3][1].replace(
            b"</Relationships>",
            b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        ),
    )
    parts.append(("xl/sharedStrings.xml", strings))
    _zip_raw(path, parts)


def _bomb_members(rows_pattern: bytes) -> tuple[list[tuple[str, Sequence[bytes], int, int]],
                                                 str]:
    """Workbook members whose sheet XML inflates to :data:`BOMB_BYTES` of repeated rows.

    Built streaming and fast: one block of repeated rows is deflated once after a full flush
    (so every copy compresses to the same bytes) and its compressed form repeated.
    """
    head = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_NS}">'
        f'<sheetData><row r="1">{_inline("A1", "sku")}{_inline("B1", "price")}</row>'
    ).encode()
    tail = b"</sheetData></worksheet>"
    block = rows_pattern * ((1 << 20) // len(rows_pattern))
    repeats = (BOMB_BYTES - len(head) - len(tail)) // len(block) + 1
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    packed_block = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(block) * repeats + len(tail)
    chunks = [first, *([packed_block] * repeats), last]
    members: list[tuple[str, Sequence[bytes], int, int]] = [
        (name, _deflated(data), zlib.crc32(data), len(data))
        for name, data in _workbook_parts(b"")[:-1]
    ]
    members.append(("xl/worksheets/sheet1.xml", chunks, crc & 0xFFFFFFFF, size))
    return members, "xl/worksheets/sheet1.xml"


# Each copy of the pattern is one more row of one number: what an in-memory parser would keep.
_BOMB_ROW = b"<row><c><v>1</v></c></row>"


def make_zip_bomb(path: Path) -> None:
    members, _ = _bomb_members(_BOMB_ROW)
    _write_zip(path, members)


def make_zip_bomb_lying(path: Path) -> None:
    members, sheet = _bomb_members(_BOMB_ROW)
    _write_zip(path, members, declared={sheet: BOMB_DECLARED})


def make_headers_only(path: Path) -> None:
    write_xlsx(path, [_OFFERS_HEAD])


def make_no_sku(path: Path) -> None:
    write_xlsx(path, [["price", "quantity", "marketplace"], [12.5, 3, "US"]])


def make_duplicate_headers(path: Path) -> None:
    write_xlsx(path, [["sku", "price", "marketplace", "Price"], ["SKU-1", 12.5, "US", 13]])


def make_second_sheet(path: Path) -> None:
    write_xlsx(
        path,
        sheets={
            "Notes": [["Prepared by the pricing team"], ["Upload on Mondays"]],
            "Prices": [_OFFERS_HEAD, ["SKU-1", "US", 12.5, 3], ["SKU-2", "US", "twelve", 4]],
        },
    )


def make_merged_sku(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Offers"
    ws.append(_OFFERS_HEAD)
    ws.append(["SKU-1", "US", 10, 1])
    ws.append([None, "US", 11, 2])
    ws.append([None, "US", 12, 3])
    # A seller merges A2:A4 so one SKU "spans" three rows: only A2 holds a value.
    ws.merge_cells("A2:A4")
    book.save(path)


def make_long_cell(path: Path) -> None:
    write_xlsx(path, [_OFFERS_HEAD, ["S" * LONG_CELL, "US", 12.5, 3]])


def make_long_cell_csv(path: Path) -> None:
    path.write_text(csv_text([_OFFERS_HEAD, ["SKU-1", "US", "9" * LONG_CELL, 3]]),
                    encoding="utf-8")


def make_wide_row(path: Path) -> None:
    """A row of 20,000 cells, beyond Excel's last column XFD, written as raw XML."""
    cells = "".join(f'<c r="{col_letter(i)}2"><v>{i}</v></c>' for i in range(4, WIDE_COLUMNS))
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_NS}">'
        f'<sheetData><row r="1">{_inline("A1", "sku")}{_inline("B1", "marketplace")}'
        f'{_inline("C1", "price")}{_inline("D1", "quantity")}</row>'
        f'<row r="2">{_inline("A2", "SKU-1")}{_inline("B2", "US")}<c r="C2"><v>-5</v></c>'
        f'<c r="D2"><v>1</v></c>{cells}</row></sheetData></worksheet>'
    )
    write_raw_xlsx(path, {"Offers": xml})


def make_wide_csv(path: Path) -> None:
    row = ["SKU-1", "US", "-5", "1", *[str(i) for i in range(4, WIDE_COLUMNS)]]
    path.write_text(csv_text([_OFFERS_HEAD, row]), encoding="utf-8")


def make_wide_header_csv(path: Path) -> None:
    """20,000 header cells: 19,996 unknown columns must be summarised, not listed one by one."""
    head = [*_OFFERS_HEAD, *[f"extra {i}" for i in range(4, WIDE_COLUMNS)]]
    row = ["SKU-1", "US", "-5", "1", *["x"] * (WIDE_COLUMNS - 4)]
    path.write_text(csv_text([head, row]), encoding="utf-8")


def _offers_csv(rows: Sequence[Sequence[Any]], encoding: str, *, bom: bytes = b"") -> bytes:
    text = csv_text([["sku", "marketplace", "price", "quantity", "item_note"], *rows])
    return bom + text.encode(encoding)


def make_utf16(path: Path) -> None:
    row = ["ÉTÉ-1", "DE", "12,5x", 3, "Größe"]
    path.write_bytes(_offers_csv([row], "utf-16-le", bom=codecs.BOM_UTF16_LE))


def make_utf16_no_bom(path: Path) -> None:
    path.write_bytes(_offers_csv([["ÉTÉ-1", "DE", "12,5x", 3, "Größe"]], "utf-16-le"))


def make_cp1252(path: Path) -> None:
    path.write_bytes(_offers_csv([["ÉTÉ-1", "FR", "12,5x", 3, "prix € été"]], "cp1252"))


def make_shift_jis(path: Path) -> None:
    path.write_bytes(_offers_csv([["靴-1", "JP", "千円", 3, "日本語"]], "shift_jis"))


def make_nul_byte(path: Path) -> None:
    path.write_bytes(b"sku,marketplace,price\r\nSKU-1,US,12.5\r\nSKU-2,US,1\x003\r\n")


def make_mixed_delimiters(path: Path) -> None:
    path.write_text(
        "sku;marketplace;price;quantity\r\nSKU-1;US;12.5;3\r\nSKU-2,US,13.5,4\r\nSKU-3;US;9;1\r\n",
        encoding="utf-8",
    )


def make_excel_errors(path: Path) -> None:
    write_raw_xlsx(
        path,
        {
            "Offers": [
                _OFFERS_HEAD,
                ["SKU-1", "US", ErrorValue("#N/A", formula="VLOOKUP(A2,Costs!A:B,2,0)"), 3],
                ["SKU-2", "US", 12.5, ErrorValue("#REF!", formula="#REF!*2")],
            ]
        },
    )


def make_excel_errors_csv(path: Path) -> None:
    path.write_text(csv_text([_OFFERS_HEAD, ["SKU-1", "US", "#N/A", 3],
                              ["SKU-2", "US", 12.5, "#REF!"]]), encoding="utf-8")


def make_text_dates(path: Path) -> None:
    head = ["sku", "marketplace", "price", "sale_price", "sale_start_date", "sale_end_date"]
    write_xlsx(
        path,
        [
            head,
            ["SKU-US", "UK", 20, 15, "12/01/2026", "2026-12-31"],  # US month/day/year
            ["SKU-DE", "DE", 20, 15, "01.12.2026", "2026-12-31"],  # German day.month.year
            ["SKU-FR", "FR", 20, 15, "01/12/2026", "2026-12-31"],  # French/UK day/month/year
        ],
        text_columns=(4,),
    )


#: Every case, in the order of the brief. For unreadable files (exit 2) ``expect`` is matched
#: against the one ``Error:`` sentence; for files with data errors (exit 1) against the issues'
#: sentences (``Issue.sentence()``, followed by ``(SKU x)`` when the issue has a SKU).
CASES: tuple[Case, ...] = (
    Case("empty.xlsx", "0 bytes, named .xlsx", make_empty, 2,
         ('File "{file}" is empty (0 bytes).',)),
    Case("empty.csv", "0 bytes, named .csv", make_empty, 2,
         ('File "{file}" is empty (0 bytes).',)),
    Case("blank-lines.csv", "only blank lines", make_blank_lines, 2,
         ('File "{file}" holds no data (only blank lines).',)),
    Case("empty-workbook.xlsx", "a workbook whose only sheet is empty", make_empty_workbook, 2,
         ('No header row in the first 30 rows of sheet "Sheet1" of "{file}"; expected columns '
          "such as sku, price, quantity.",)),
    Case("truncated.xlsx", "an .xlsx cut in half (an interrupted download)",
         make_truncated_zip, 2,
         ('File "{file}" is damaged: it is not a complete .xlsx (zip) file; save it again from '
          "Excel or download it again.",)),
    Case("text-named.xlsx", "a CSV text file named .xlsx", make_text_as_xlsx, 2,
         ('File "{file}" is named .xlsx but holds text, not an Excel workbook; save it from '
          "Excel as .xlsx, or rename it to .csv if it is a CSV file.",)),
    Case("html-named.xls", 'an HTML table saved as .xls ("Export to Excel")',
         make_html_as_xls, 2,
         ('File "{file}" is a web page (HTML), not a spreadsheet; save it as .xlsx or .csv.',)),
    Case("old-binary.xls", "an Excel 97-2003 binary workbook (OLE2)", make_old_xls, 2,
         ('File "{file}" is an old Excel 97-2003 workbook (.xls); save it as .xlsx or .csv '
          "and try again.",)),
    Case("encrypted.xlsx", "a password-protected workbook (OLE2 EncryptedPackage)",
         make_encrypted, 2,
         ('File "{file}" is password-protected; remove the password in Excel',)),
    Case("billion-laughs.xlsx", "sheet XML declaring a billion-laughs entity expansion",
         make_billion_laughs, 2,
         ('File "{file}" has an XML document type declaration in "xl/worksheets/sheet1.xml"',
          "it was not opened.")),
    Case("billion-laughs-late.xlsx",
         "the entity expansion declared after a 70 KB comment, beyond a 64 KiB prolog scan",
         make_billion_laughs_late, 2,
         ('File "{file}" has an XML document type declaration in "xl/worksheets/sheet1.xml"',
          "it was not opened.")),
    Case("billion-laughs-comment.xlsx",
         'the entity expansion declared behind a comment holding "<x>"',
         make_billion_laughs_comment, 2,
         ('File "{file}" has an XML document type declaration in "xl/worksheets/sheet1.xml"',
          "it was not opened.")),
    Case("billion-laughs-utf16.xlsx", "the entity expansion in a UTF-16 encoded sheet part",
         make_billion_laughs_utf16, 2,
         ('File "{file}"', '"xl/worksheets/sheet1.xml"', "it was not opened.")),
    Case("billion-laughs-strings.xlsx", "the entity expansion in sharedStrings.xml",
         make_billion_laughs_shared_strings, 2,
         ('File "{file}" has an XML document type declaration in "xl/sharedStrings.xml"',
          "it was not opened.")),
    Case("zip-bomb.xlsx", "3 MB that inflate to 1.1 GB of rows; honest zip headers",
         make_zip_bomb, 2,
         ('File "{file}" looks like a zip bomb: its part "xl/worksheets/sheet1.xml" would '
          "unpack to 1,101 MiB", "it was not opened.")),
    Case("zip-bomb-lying-sizes.xlsx",
         "the same bomb, its zip headers claiming the sheet unpacks to 4 MiB",
         make_zip_bomb_lying, 2,
         ('"{file}" is damaged and cannot be read', "save it again from Excel.")),
    Case("headers-only.xlsx", "the header row and no data row", make_headers_only, 1,
         ('Sheet "Offers": ', "no data rows below the header row (row 1)")),
    Case("no-sku-column.xlsx", "price and quantity but no SKU column", make_no_sku, 1,
         ('Sheet "Offers": the header row (row 1) has no SKU column — add a column headed '
          '"sku".',)),
    Case("duplicate-headers.xlsx", '"price" and "Price" both present', make_duplicate_headers, 1,
         ('column D "Price": columns B "price" and D "Price" both mean Price — keep one of the '
          "two columns.",)),
    Case("second-sheet.xlsx", "a notes sheet first, the data on the second sheet",
         make_second_sheet, 1,
         ('Row 3, column C "price": "twelve" is not a number — write a number with a dot for '
          "decimals, e.g. 19.99. (SKU SKU-2)",), sheet="Prices"),
    Case("merged-sku.xlsx", "A2:A4 merged so one SKU spans three rows", make_merged_sku, 1,
         ('Row 3, column A "sku": the SKU is blank — fill in the seller SKU',
          'Row 4, column A "sku": the SKU is blank')),
    # The workbook writer cuts text to Excel's cell limit: the sheet holds 32,767 characters.
    Case("long-cell.xlsx", f"a {LONG_CELL:,}-character SKU", make_long_cell, 1,
         ('Row 2, column A "sku": "SSSS', "…\" is 32767 characters long, more than the 40 "
          "Amazon allows")),
    Case("long-cell.csv", f"a {LONG_CELL:,}-digit price", make_long_cell_csv, 1,
         ('Row 2, column C "price": "9999', "digits, more than any price or count can have")),
    Case("wide-row.xlsx", f"a data row of {WIDE_COLUMNS:,} cells (beyond column XFD)",
         make_wide_row, 1, ('Row 2, column C "price": "-5" is not more than 0',)),
    Case("wide-row.csv", f"a data row of {WIDE_COLUMNS:,} cells", make_wide_csv, 1,
         ('Row 2, column C "price": "-5" is not more than 0',)),
    Case("wide-header.csv", f"a header row of {WIDE_COLUMNS:,} columns", make_wide_header_csv, 1,
         ('Row 2, column C "price": "-5" is not more than 0',)),
    Case("utf16.csv", "UTF-16 with a byte order mark (Excel's Unicode Text)", make_utf16, 1,
         ('Row 2, column C "price": "12,5x" is not a number — write a number with a dot for '
          "decimals, e.g. 19.99. (SKU ÉTÉ-1)",)),
    Case("utf16-no-bom.csv", "UTF-16 without a byte order mark", make_utf16_no_bom, 1,
         ('Row 2, column C "price": "12,5x" is not a number — write a number with a dot for '
          "decimals, e.g. 19.99. (SKU ÉTÉ-1)",)),
    Case("windows-1252.csv", "windows-1252 (Excel's \"CSV\" on Western Windows)", make_cp1252, 1,
         ("File: the file is not UTF-8 (byte 0xC9 on line 2), so it was read as windows-1252",
          'Row 2, column C "price": "12,5x" is not a number — write a number with a dot for '
          "decimals, e.g. 19.99. (SKU ÉTÉ-1)")),
    Case("shift-jis.csv", "Shift-JIS (Excel's CSV on Japanese Windows), encoding not given",
         make_shift_jis, 1,
         ("File: the file is not UTF-8 (byte 0x8C on line 2)",
          "pass --encoding to force the right encoding (e.g. --encoding cp932)",
          'Row 2, column C "price": ')),
    Case("shift-jis-declared.csv", "Shift-JIS read with --encoding shift_jis", make_shift_jis, 1,
         ('Row 2, column C "price": "千円" is not a number — write a number with a dot for '
          "decimals, e.g. 19.99. (SKU 靴-1)",),
         args=("--encoding", "shift_jis")),
    Case("nul-byte.csv", "a NUL byte inside a CSV", make_nul_byte, 2,
         ('File "{file}" contains NUL bytes (line 3), so it is not a text sheet; save it as '
          ".xlsx or as CSV (UTF-8).",)),
    Case("mixed-delimiters.csv", "semicolons, then one row with commas", make_mixed_delimiters, 1,
         ("Row 3", 'separated by ","')),
    Case("excel-errors.xlsx", "#N/A and #REF! error cells", make_excel_errors, 1,
         ('Row 2, column C "price": the cell shows the Excel error #N/A — fix the formula, or '
          "type the value itself. (SKU SKU-1)",
          'Row 3, column D "quantity": the cell shows the Excel error #REF!')),
    Case("excel-errors.csv", "#N/A and #REF! exported as text", make_excel_errors_csv, 1,
         ('Row 2, column C "price": the cell shows the Excel error #N/A — fix the formula, or '
          "type the value itself. (SKU SKU-1)",
          'Row 3, column D "quantity": the cell shows the Excel error #REF!')),
    Case("text-dates.xlsx", "sale start dates typed as text: US, DE and FR/UK order",
         make_text_dates, 1,
         ('Row 2, column E "sale_start_date": "12/01/2026" is a date written as text, which '
          "reads differently in different countries — write it as YYYY-MM-DD",
          'Row 3, column E "sale_start_date": "01.12.2026" is a date written as text',
          'Row 4, column E "sale_start_date": "01/12/2026" is a date written as text')),
)


def case(name: str) -> Case:
    """The case whose file is called ``name``."""
    for item in CASES:
        if item.name == name:
            return item
    raise KeyError(name)


def write_case(item: Case, folder: Path) -> Path:
    """Write one case's file into ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / item.name
    item.make(path)
    return path


def write_corpus(folder: Path, names: Sequence[str] = ()) -> dict[str, Path]:
    """Write the named cases (all when none) and ``index.json`` into ``folder``."""
    chosen = [case(n) for n in names] if names else list(CASES)
    written = {item.name: write_case(item, folder) for item in chosen}
    index = {item.name: item.to_json() for item in chosen}
    (folder / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    folder, names = Path(args[0]), args[1:]
    for name, path in write_corpus(folder, names).items():
        print(f"{path.stat().st_size:>12,}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
