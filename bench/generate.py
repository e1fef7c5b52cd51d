"""Generate the benchmark sheets: realistic offers sheets and a wide listings sheet.

::

    python bench/generate.py            # 10k, 100k and 1M rows into bench/data/
    python bench/generate.py --quick    # 10k and 100k only
    python bench/generate.py --sizes 5000 --out /tmp/sheets

Every sheet is deterministic (seeded), so two machines benchmark the same bytes. Per size:

* ``offers-<n>.csv``: UTF-8 CSV, dates as ``YYYY-MM-DD`` text;
* ``offers-<n>.xlsx``: inline strings, as openpyxl (3.1, write-only or not) writes them;
* ``offers-<n>-sst.xlsx``: a shared-strings table, as Excel itself saves a workbook;
* ``listings-wide-<n>.xlsx`` (10k and 100k): a text-heavy 60-column listings sheet;
* ``<name>.expected.json`` beside each: the rows made invalid on purpose, by kind, so the
  benchmark can check that the pipeline it times still finds every one of them.

About 1 % of the offers rows are invalid, of 15 kinds (decimal comma, negative price, 2.5 units,
an Excel ``#N/A``, a duplicate SKU, reversed sale dates, ...). Workbooks are written as OOXML by
hand into a streaming zip, so the 1M-row sheets take seconds to minutes, not the quarter of an
hour openpyxl needs; the parts are the ones Excel writes (content types, relationships, a
styles part whose date format makes date cells dates, a ``<dimension>``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

#: Bumped whenever the generated content changes, so stale files are rebuilt.
GENERATOR_VERSION: Final = 4
DEFAULT_OUT: Final = Path(__file__).resolve().parent / "data"
SIZES: Final = (10_000, 100_000, 1_000_000)
QUICK_SIZES: Final = (10_000, 100_000)
#: The wide sheet is text-heavy (about ten times the bytes per row): 1M rows would be a
#: multi-gigabyte workbook no seller has, so it stops at 100k.
WIDE_MAX_ROWS: Final = 100_000
#: One row in this many is invalid.
INVALID_EVERY: Final = 100

OFFERS_HEADERS: Final = (
    "sku",
    "price",
    "currency",
    "quantity",
    "handling_time",
    "fulfillment_channel",
    "marketplace",
    "sale_price",
    "sale_start_date",
    "sale_end_date",
)

#: Kinds of invalid rows, each with the issue code feeds-kit reports for it.
INVALID_KINDS: Final[dict[str, str]] = {
    "decimal-comma": "number-decimal-comma",
    "negative-price": "price-not-positive",
    "fractional-quantity": "not-a-whole-number",
    "handling-time-too-long": "handling-time-invalid",
    "unknown-marketplace": "unknown-marketplace",
    "currency-mismatch": "currency-mismatch",
    "sale-not-below-price": "sale-price-not-below-price",
    "sale-dates-reversed": "sale-dates-reversed",
    "duplicate-sku": "duplicate-sku",
    "blank-sku": "sku-missing",
    "too-many-decimals": "price-too-many-decimals",
    "date-as-text": "date-as-text",
    "excel-error": "excel-error-value",
    "sale-without-dates": "dependent-field-missing",
    "sku-too-long": "sku-too-long",
}

# Marketplaces of one region (North America), as sellers write them: code or id.
_MARKETS: Final = (
    ("US", "USD", 80),
    ("ATVPDKIKX0DER", "USD", 5),
    ("CA", "CAD", 10),
    ("MX", "MXN", 5),
)
_COLOURS: Final = ("BLK", "WHT", "RED", "BLU", "GRN", "GRY", "NVY", "BEI")
_SIZES: Final = ("XS", "S", "M", "L", "XL", "XXL", "OS")
_FAMILIES: Final = ("TSH", "HOOD", "MUG", "CASE", "LAMP", "BAG", "SOCK", "CAP", "BOTL", "PEN")
_SALE_START: Final = date(2026, 12, 1)


class Error:
    """An Excel error value: an error cell (``t="e"``) in a workbook, its text in a CSV."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


Cell = str | int | float | date | Error | None


@dataclass
class Sheet:
    """A sheet to write: headers, a row stream, the invalid rows (Excel row -> kind)."""

    headers: Sequence[str]
    rows: Callable[[], Iterator[list[Cell]]]
    expected: dict[int, str]
    count: int


# --- offers ---------------------------------------------------------------------------------


def _market_table(rng: random.Random, n: int) -> list[tuple[str, str]]:
    weights = [w for _, _, w in _MARKETS]
    picks = rng.choices(range(len(_MARKETS)), weights=weights, k=n)
    return [(_MARKETS[i][0], _MARKETS[i][1]) for i in picks]


def offers_sheet(count: int, *, seed: int = 20261127) -> Sheet:
    """A price & quantity sheet of ``count`` rows, ~1 % of them invalid in varied ways."""
    kinds = list(INVALID_KINDS)
    expected: dict[int, str] = {}
    # Which rows are invalid, and how: decided up front, so the rows and the expected file
    # agree and the stream can be replayed for the CSV and both workbook flavours.
    plan_rng = random.Random(seed)
    plan: dict[int, str] = {}
    for block in range(0, count, INVALID_EVERY):
        index = block + plan_rng.randrange(min(INVALID_EVERY, count - block))
        if index < 2:
            continue  # a duplicate needs an earlier row
        plan[index] = kinds[len(plan) % len(kinds)]
    for index, kind in plan.items():
        expected[index + 2] = kind

    def rows() -> Iterator[list[Cell]]:
        rng = random.Random(seed + 1)
        markets = _market_table(rng, 4096)
        # Valid rows a duplicate-sku row may copy (SKU and marketplace: a duplicate is per
        # marketplace).
        earlier: list[tuple[str, str]] = []
        for index in range(count):
            family = _FAMILIES[index % len(_FAMILIES)]
            sku = f"{family}-{index:07d}-{_COLOURS[index % 8]}-{_SIZES[index % 7]}"
            market, currency = markets[index % 4096]
            roll = rng.random()
            fba = roll < 0.12
            price: Cell = round(rng.uniform(4.0, 250.0), 2)
            if currency == "MXN":
                price = round(float(price) * 17, 2)
            quantity: Cell = None if fba else rng.randrange(0, 500)
            handling: Cell = None if fba else rng.choice((1, 1, 2, 2, 2, 3, 5))
            channel: Cell = "AMAZON" if fba else ("DEFAULT" if roll < 0.6 else None)
            show_currency: Cell = currency if roll < 0.7 else None
            if 0.85 < roll < 0.93:
                price = None  # a quantity-only row
            elif roll >= 0.93 and not fba:
                quantity = handling = channel = None  # a price-only row
            sale: Cell = None
            start: Cell = None
            end: Cell = None
            if price is not None and rng.random() < 0.15:
                sale = round(float(price) * 0.8, 2)
                start = _SALE_START + timedelta(days=rng.randrange(0, 30))
                end = start + timedelta(days=rng.randrange(1, 45))
            row: list[Cell] = [sku, price, show_currency, quantity, handling, channel, market,
                               sale, start, end]
            kind = plan.get(index)
            if kind is not None:
                _break(row, kind, rng, earlier)
            elif index % 97 == 0:
                earlier.append((sku, market))
            yield row

    return Sheet(OFFERS_HEADERS, rows, expected, count)


def _break(
    row: list[Cell], kind: str, rng: random.Random, earlier: list[tuple[str, str]]
) -> None:
    """Make ``row`` invalid in the way ``kind`` names (and only that way)."""
    if kind in ("decimal-comma", "negative-price", "too-many-decimals", "excel-error",
                "sale-not-below-price", "sale-dates-reversed", "sale-without-dates",
                "currency-mismatch", "date-as-text"):
        if row[1] is None:
            row[1] = 19.99
        row[5] = row[5] if row[5] != "AMAZON" else "DEFAULT"
    if kind == "decimal-comma":
        row[1] = f"{int(rng.uniform(5, 99))},{rng.randrange(10, 99)}"
    elif kind == "negative-price":
        row[1] = -abs(float(row[1] or 5.0))  # type: ignore[arg-type]
    elif kind == "fractional-quantity":
        row[3], row[5] = 2.5, "DEFAULT"
    elif kind == "handling-time-too-long":
        row[4], row[5] = 45, "DEFAULT"
    elif kind == "unknown-marketplace":
        row[6] = "Atlantis"
        row[2] = None
    elif kind == "currency-mismatch":
        row[6], row[2] = "US", "EUR"
    elif kind == "sale-not-below-price":
        row[6], row[2] = "US", "USD"
        row[7] = round(float(row[1]) + 5, 2)  # type: ignore[arg-type]
        row[8], row[9] = _SALE_START, _SALE_START + timedelta(days=10)
    elif kind == "sale-dates-reversed":
        row[6], row[2] = "US", "USD"
        row[7] = round(float(row[1]) * 0.5, 2) or 1.0  # type: ignore[arg-type]
        row[8], row[9] = _SALE_START + timedelta(days=20), _SALE_START
    elif kind == "duplicate-sku":
        row[0], row[6] = earlier[-1]
        row[2] = None
    elif kind == "blank-sku":
        row[0] = None
    elif kind == "too-many-decimals":
        row[6], row[2] = "US", "USD"
        row[1] = 19.999
    elif kind == "date-as-text":
        row[6], row[2] = "US", "USD"
        row[7] = round(float(row[1]) * 0.5, 2) or 1.0  # type: ignore[arg-type]
        row[8], row[9] = "12/01/2026", _SALE_START + timedelta(days=20)
    elif kind == "excel-error":
        row[1] = Error("#N/A")
    elif kind == "sale-without-dates":
        row[6], row[2] = "US", "USD"
        row[7] = round(float(row[1]) * 0.5, 2) or 1.0  # type: ignore[arg-type]
        row[8] = row[9] = None
    elif kind == "sku-too-long":
        row[0] = "LONG-" + "X" * 40


# --- the wide listings sheet ------------------------------------------------------------------

_WIDE_FIXED: Final = ("sku", "product_type", "operation", "marketplace", "language_tag")
_WIDE_TEXT: Final = (
    "item_name", "brand", "manufacturer", "model_number", "model_name", "part_number",
    "product_description", "generic_keyword", "color", "size", "material", "style",
    "pattern", "department", "target_gender", "age_range_description", "care_instructions",
    "fabric_type", "item_type_name", "country_of_origin", "special_feature", "theme",
    "occasion_type", "sleeve.type", "neck.neck_style", "closure.type", "fit_type",
    "lifestyle", "collection", "sport_type",
)
_WIDE_NUMBERS: Final = (
    "list_price", "item_package_weight", "item_package_dimensions.length",
    "item_package_dimensions.width", "item_package_dimensions.height", "item_weight",
    "item_length_width.length", "item_length_width.width", "item_display_weight",
    "purchasable_offer#1.our_price#1.schedule#1.value_with_tax",
    "purchasable_offer#1.minimum_seller_allowed_price#1.schedule#1.value_with_tax",
    "purchasable_offer#1.maximum_seller_allowed_price#1.schedule#1.value_with_tax",
)
_WIDE_COUNTS: Final = (
    "unit_count", "number_of_items", "item_package_quantity", "max_order_quantity",
    "number_of_boxes", "recommended_browse_nodes", "fulfillment_availability#1.quantity",
    "fulfillment_availability#1.lead_time_to_ship_max_days",
)
_BULLETS: Final = tuple(f"bullet_point#{i}" for i in range(1, 6))
WIDE_HEADERS: Final = (*_WIDE_FIXED, *_WIDE_TEXT[:15], *_BULLETS, *_WIDE_TEXT[15:],
                       *_WIDE_NUMBERS, *_WIDE_COUNTS)
_WORDS: Final = (
    "organic", "cotton", "soft", "breathable", "classic", "everyday", "relaxed", "premium",
    "durable", "lightweight", "recycled", "vintage", "modern", "heavyweight", "unisex",
    "garment-dyed", "preshrunk", "ribbed", "tagless", "reinforced", "seams", "machine",
    "washable", "ethically", "made", "comfortable", "versatile", "layering", "crew", "neck",
    "long", "lasting", "colourfast", "stretch", "moisture", "wicking", "quick", "dry",
    "travel", "friendly", "gift",
)


def wide_sheet(count: int, *, seed: int = 60) -> Sheet:
    """A listings sheet of 60 columns, long texts (titles, bullets, descriptions)."""
    assert len(WIDE_HEADERS) == 60, len(WIDE_HEADERS)
    expected: dict[int, str] = {}
    for index in range(INVALID_EVERY // 2, count, INVALID_EVERY * 5):
        expected[index + 2] = "blank-sku"

    def text(rng: random.Random, words: int) -> str:
        return " ".join(rng.choices(_WORDS, k=words)).capitalize()

    def rows() -> Iterator[list[Cell]]:
        rng = random.Random(seed)
        for index in range(count):
            row: list[Cell] = []
            sku = f"LST-{index:07d}"
            for header in WIDE_HEADERS:
                if header == "sku":
                    row.append(None if index + 2 in expected else sku)
                elif header == "product_type":
                    row.append("SHIRT")
                elif header == "operation":
                    row.append("update")
                elif header == "marketplace":
                    row.append("US")
                elif header == "language_tag":
                    row.append("en_US")
                elif header == "item_name":
                    row.append(text(rng, 14))
                elif header == "product_description":
                    row.append(text(rng, 70))
                elif header.startswith("bullet_point"):
                    row.append(text(rng, 24))
                elif header in _WIDE_NUMBERS:
                    row.append(round(rng.uniform(1, 300), 2))
                elif header in _WIDE_COUNTS:
                    row.append(rng.randrange(1, 30))
                else:
                    row.append(text(rng, rng.randrange(1, 4)))
            yield row

    return Sheet(WIDE_HEADERS, rows, expected, count)


# --- writers -----------------------------------------------------------------------------------

_EXCEL_EPOCH: Final = date(1899, 12, 30)


def write_csv(path: Path, sheet: Sheet) -> None:
    """UTF-8 CSV with a header row; dates as ISO text, errors as Excel shows them."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(sheet.headers)
        for row in sheet.rows():
            writer.writerow(
                [
                    "" if v is None
                    else v.text if isinstance(v, Error)
                    else v.isoformat() if isinstance(v, date)
                    else v
                    for v in row
                ]
            )


def _letters(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_CONTENT_TYPES: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/>'
    "{sst}</Types>"
)
_SST_TYPE: Final = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>'
)
_ROOT_RELS: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/>{sst}</Relationships>'
)
_SST_REL: Final = (
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/>'
)
# Style 1 is Excel's built-in short date (numFmtId 14): what a typed date gets.
_STYLES: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs></styleSheet>"
)


def write_xlsx(path: Path, sheet: Sheet, *, shared_strings: bool, name: str = "Offers") -> None:
    """Write ``sheet`` as an .xlsx, streaming the sheet XML into the zip.

    ``shared_strings`` stores text in ``xl/sharedStrings.xml`` (cells ``t="s"``), as Excel
    does; otherwise each cell carries its text (``t="inlineStr"``), as openpyxl does.
    """
    letters = [_letters(i) for i in range(len(sheet.headers))]
    table: dict[str, int] = {}
    order: list[str] = []
    total_refs = 0

    def text_cell(ref: str, value: str) -> str:
        nonlocal total_refs
        if shared_strings:
            index = table.get(value)
            if index is None:
                index = table[value] = len(order)
                order.append(value)
            total_refs += 1
            return f'<c r="{ref}" t="s"><v>{index}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    def cell(ref: str, value: Cell) -> str:
        kind = type(value)
        if kind is str:
            return text_cell(ref, value)  # type: ignore[arg-type]
        if kind is float or kind is int:
            return f'<c r="{ref}"><v>{value!r}</v></c>'
        if kind is date:
            serial = (value - _EXCEL_EPOCH).days  # type: ignore[operator]
            return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
        if kind is Error:
            return f'<c r="{ref}" t="e"><v>{escape(value.text)}</v></c>'  # type: ignore[union-attr]
        return ""

    width = len(sheet.headers)
    last = f"{letters[-1]}{sheet.count + 1}"
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships"><dimension ref="A1:{last}"/><sheetData>'
                ).encode()
            )
            head = "".join(text_cell(f"{letters[i]}1", h) for i, h in enumerate(sheet.headers))
            buffer = [f'<row r="1" spans="1:{width}">{head}</row>']
            for number, row in enumerate(sheet.rows(), start=2):
                cells = "".join(
                    cell(f"{letters[i]}{number}", v) for i, v in enumerate(row) if v is not None
                )
                buffer.append(f'<row r="{number}" spans="1:{width}">{cells}</row>')
                if len(buffer) >= 2000:
                    part.write("".join(buffer).encode())
                    buffer.clear()
            buffer.append("</sheetData></worksheet>")
            part.write("".join(buffer).encode())
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sst=_SST_TYPE if shared_strings
                                                                  else ""))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(name)))
        zf.writestr("xl/_rels/workbook.xml.rels",
                    _WORKBOOK_RELS.format(sst=_SST_REL if shared_strings else ""))
        zf.writestr("xl/styles.xml", _STYLES)
        if shared_strings:
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(
                    (
                        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                        f'main" count="{total_refs}" uniqueCount="{len(order)}">'
                    ).encode()
                )
                for start in range(0, len(order), 5000):
                    part.write(
                        "".join(
                            f"<si><t>{escape(s)}</t></si>" for s in order[start:start + 5000]
                        ).encode()
                    )
                part.write(b"</sst>")
    tmp.replace(path)


# --- the front door -------------------------------------------------------------------------------


def label(count: int) -> str:
    """``10k``, ``100k``, ``1M`` (as the file names say it)."""
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)


@dataclass(frozen=True)
class Target:
    """One file to generate: its name, how, and from what."""

    name: str
    fmt: str  # csv | xlsx | xlsx-sst
    family: str  # offers | wide
    rows: int


def targets(sizes: Sequence[int]) -> list[Target]:
    """The files for these sizes (the wide sheet only up to :data:`WIDE_MAX_ROWS`)."""
    found: list[Target] = []
    for count in sizes:
        tag = label(count)
        found.append(Target(f"offers-{tag}.csv", "csv", "offers", count))
        found.append(Target(f"offers-{tag}.xlsx", "xlsx", "offers", count))
        found.append(Target(f"offers-{tag}-sst.xlsx", "xlsx-sst", "offers", count))
        if count <= WIDE_MAX_ROWS:
            found.append(Target(f"listings-wide-{tag}.xlsx", "xlsx", "wide", count))
    return found


def generate(target: Target, out: Path, *, force: bool = False) -> tuple[Path, bool]:
    """Write ``target`` into ``out`` unless an up-to-date copy is there; (path, written)."""
    path = out / target.name
    meta_path = out / f"{target.name}.expected.json"
    if path.exists() and meta_path.exists() and not force:
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        if meta.get("version") == GENERATOR_VERSION and meta.get("rows") == target.rows:
            return path, False
    sheet = (
        offers_sheet(target.rows) if target.family == "offers" else wide_sheet(target.rows)
    )
    if target.fmt == "csv":
        write_csv(path, sheet)
    else:
        write_xlsx(path, sheet, shared_strings=target.fmt == "xlsx-sst",
                   name="Offers" if target.family == "offers" else "Template")
    meta = {
        "version": GENERATOR_VERSION,
        "rows": target.rows,
        "columns": len(sheet.headers),
        "format": target.fmt,
        "family": target.family,
        "invalid": {str(k): v for k, v in sorted(sheet.expected.items())},
        "codes": INVALID_KINDS,
    }
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return path, True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write into")
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows only")
    parser.add_argument("--sizes", type=int, nargs="+", help="row counts to generate")
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    args.out.mkdir(parents=True, exist_ok=True)
    for target in targets(sizes):
        started = time.perf_counter()
        path, written = generate(target, args.out, force=args.force)
        if written:
            size = path.stat().st_size / (1 << 20)
            took = time.perf_counter() - started
            print(f"wrote {path.name:28} {size:8.1f} MiB in {took:6.1f} s", flush=True)
        else:
            print(f"kept  {path.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
