"""Reading sheets: formats, encodings, layouts, header search, rows, and unreadable files."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sheetmaker import (
    ErrorValue,
    Formula,
    offers_rows,
    sheet_xml,
    write_csv,
    write_ole,
    write_raw_xlsx,
    write_xlsx,
)

from feeds_kit import reading
from feeds_kit.errors import InputError, UsageError
from feeds_kit.issues import Issue, Severity
from feeds_kit.reading import KINDS, SheetSource, open_sheet
from feeds_kit.rows import Row

ENGINES = ["calamine", "openpyxl"]


def read_all(path: Path, **options: Any) -> tuple[SheetSource, list[Row]]:
    with open_sheet(path, **options) as source:
        rows = list(source.rows())
    return source, rows


def flat(issues: list[Issue]) -> list[tuple[Any, ...]]:
    """Compact form for assertions: (row, column, code, sku, value)."""
    return [(i.row, i.column, i.code, i.sku, i.value) for i in issues]


def input_error(path: Path, **options: Any) -> str:
    with pytest.raises(InputError) as caught:
        open_sheet(path, **options)
    assert caught.value.exit_code == 2
    return str(caught.value)


# --- workbooks, both engines ---------------------------------------------------------------------

MIXED = [
    ["SKU", "Price", "Quantity", "Sale Start Date", "Colour", "Fulfillment Channel"],
    [12345, 19.99, 10, date(2026, 12, 1), "red", "FBA"],
    ["  A-1 ", "12,99", 2.5, "12/01/2026", None, "merchant"],
    [None, None, None, None, None, None],
    ["   ", None, None, None, "   ", None],
    ["B-2", "$5.00", "3", datetime(2026, 12, 2), "blue", None],
]


@pytest.mark.parametrize("engine", ENGINES)
def test_workbook_rows_values_and_cell_issues(tmp_path: Path, engine: str) -> None:
    path = write_xlsx(tmp_path / "offers.xlsx", MIXED)
    source, rows = read_all(path, engine=engine)
    layout = source.layout
    assert (layout.file, layout.sheet, layout.kind, layout.family, layout.format) == (
        str(path), "Offers", "offers", "native", "xlsx"
    )
    assert (layout.header_row, layout.data_row, source.total_rows) == (1, 2, 5)
    assert [(c.letter, c.header, c.field) for c in layout.columns] == [
        ("A", "SKU", "sku"), ("B", "Price", "price"), ("C", "Quantity", "quantity"),
        ("D", "Sale Start Date", "sale_start_date"), ("E", "Colour", None),
        ("F", "Fulfillment Channel", "fulfillment_channel"),
    ]
    assert flat(source.issues) == [(None, "E", "unknown-column", None, None)]
    assert source.structure_ok
    assert [r.number for r in rows] == [2, 3, 6]
    assert rows[0].values == {
        "sku": "12345", "price": Decimal("19.99"), "quantity": 10,
        "sale_start_date": date(2026, 12, 1), "fulfillment_channel": "AMAZON",
    }
    assert rows[0].extra == {"Colour": "red"}
    assert rows[0].raw == {"sku": 12345}
    assert rows[1].values == {"sku": "A-1", "fulfillment_channel": "DEFAULT"}
    assert rows[1].raw == {"sku": "  A-1 ", "price": "12,99", "quantity": 2.5,
                           "sale_start_date": "12/01/2026"}
    assert flat(rows[1].issues) == [
        (3, "A", "sku-trimmed", "A-1", "  A-1 "),
        (3, "B", "number-decimal-comma", "A-1", "12,99"),
        (3, "C", "not-a-whole-number", "A-1", 2.5),
        (3, "D", "date-as-text", "A-1", "12/01/2026"),
    ]
    assert rows[1].issues[1].sentence() == (
        'Row 3, column B "Price": "12,99" is not a number — write 12.99.'
    )
    assert all(i.file == str(path) and i.sheet == "Offers" for i in rows[1].issues)
    assert rows[2].values == {"sku": "B-2", "price": Decimal("5.00"), "quantity": 3,
                              "sale_start_date": date(2026, 12, 2)}
    assert flat(rows[2].issues) == [(6, "B", "number-with-currency", "B-2", "$5.00")]


def test_both_engines_give_identical_rows_and_issues(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "offers.xlsx", MIXED)
    results = [read_all(path, engine=engine) for engine in ENGINES]
    (first_source, first_rows), (second_source, second_rows) = results
    assert first_rows == second_rows
    assert first_source.issues == second_source.issues
    assert first_source.layout.columns == second_source.layout.columns


FORMULAS = [
    ["sku", "price", "quantity", "note"],
    ["F-1", Formula("B3*2", cached="19.98"), 5, Formula("A2", cached="x", type="str")],
    ["F-2", Formula("ROUND(B2/2,2)"), Formula("C2+1", cached="6"), None],
    ["F-3", ErrorValue("#N/A", formula="VLOOKUP(A4,X!A:B,2,0)"), 1, None],
    ["F-4", 9.5, ErrorValue("#DIV/0!"), Formula("IF(1,\"\",\"x\")", cached="", type="str")],
    ["F-5", Formula("B2", shared=True), 2, None],
    [None, Formula("B2&\"<x>\""), None, None],
    [None, None, None, ErrorValue("#REF!")],
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prefix", ["", "x:"])
def test_formulas_without_values_and_error_cells(tmp_path: Path, engine: str, prefix: str) -> None:
    path = write_raw_xlsx(tmp_path / "f.xlsx", {"Offers": FORMULAS}, prefix=prefix)
    _, rows = read_all(path, engine=engine)
    assert [r.number for r in rows] == [2, 3, 4, 5, 6, 7]
    by_number = {r.number: r for r in rows}
    assert by_number[2].values == {"sku": "F-1", "price": Decimal("19.98"), "quantity": 5}
    assert by_number[2].extra == {"note": "x"}
    assert by_number[2].issues == []
    assert by_number[3].values == {"sku": "F-2", "quantity": 6}
    assert flat(by_number[3].issues) == [
        (3, "B", "formula-without-value", "F-2", "=ROUND(B2/2,2)")
    ]
    assert by_number[3].issues[0].message == (
        "the cell holds the formula =ROUND(B2/2,2) but no computed value"
    )
    assert by_number[3].raw == {"price": "=ROUND(B2/2,2)"}
    assert flat(by_number[4].issues) == [(4, "B", "excel-error-value", "F-3", "#N/A")]
    assert by_number[4].issues[0].message == "the cell shows the Excel error #N/A"
    assert by_number[4].values == {"sku": "F-3", "quantity": 1}
    assert flat(by_number[5].issues) == [(5, "C", "excel-error-value", "F-4", "#DIV/0!")]
    assert by_number[5].extra == {}
    assert flat(by_number[6].issues) == [(6, "B", "formula-without-value", "F-5", None)]
    assert by_number[6].issues[0].message == "the cell holds a formula but no computed value"
    # A row holding nothing but a formula without value is still a row (with its error).
    assert flat(by_number[7].issues) == [(7, "B", "formula-without-value", None, '=B2&"<x>"')]
    assert by_number[7].values == {}


def test_error_cell_in_an_unknown_column_only_is_a_blank_row(tmp_path: Path) -> None:
    path = write_raw_xlsx(tmp_path / "f.xlsx", {"Offers": FORMULAS})
    _, rows = read_all(path)
    assert 8 not in [r.number for r in rows]


@pytest.mark.parametrize("engine", ENGINES)
def test_sheet_away_from_a1_keeps_excel_rows_and_letters(tmp_path: Path, engine: str) -> None:
    rows_in = [["sku", "price", "qty"], ["X-1", 3.5, 7], [None, None, None], ["X-2", "4", 8]]
    path = write_raw_xlsx(tmp_path / "c3.xlsx", {"Data": rows_in}, first_row=3, first_col=2)
    source, rows = read_all(path, engine=engine)
    assert (source.layout.header_row, source.layout.data_row) == (3, 4)
    assert [(c.letter, c.field) for c in source.layout.columns] == [
        ("C", "sku"), ("D", "price"), ("E", "quantity")
    ]
    assert [(r.number, r.values["sku"]) for r in rows] == [(4, "X-1"), (6, "X-2")]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_wrong_dimension_tag_does_not_cut_the_sheet(tmp_path: Path, engine: str) -> None:
    xml = sheet_xml([["sku", "price", "qty"], ["A", 1, 2], ["B", 3, 4]])
    xml = xml.replace("<sheetData>", '<dimension ref="A1"/><sheetData>')
    path = write_raw_xlsx(tmp_path / "dim.xlsx", {"Offers": xml})
    source, rows = read_all(path, engine=engine)
    assert [c.field for c in source.layout.columns] == ["sku", "price", "quantity"]
    assert [r.values["quantity"] for r in rows] == [2, 4]
    assert source.total_rows == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_header_row_is_found_below_a_title(tmp_path: Path, engine: str) -> None:
    rows_in = [["Weekly price update"], [], ["Generated 2026-11-27"],
               ["Seller SKU", "Your Price", "Stock"], ["S-1", 9.99, 4]]
    path = write_xlsx(tmp_path / "t.xlsx", rows_in)
    source, rows = read_all(path, engine=engine)
    assert (source.layout.header_row, source.layout.data_row) == (4, 5)
    assert rows[0].number == 5 and rows[0].values["quantity"] == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_data_sheet_is_chosen_by_its_headers(tmp_path: Path, engine: str) -> None:
    sheets = {
        "Instructions": [["How to fill this file"], ["sku: your SKU"]],
        "Example": [["sku", "price", "quantity"], ["EX-1", 1, 1]],
        "Data Definitions": [["Field Name", "Definition"], ["sku", "..."], ["price", "..."]],
        "Hidden": [["sku", "price", "quantity", "currency"], ["H-1", 1, 1, "USD"]],
        "Template": [["sku", "price", "quantity"], ["T-1", 2, 3]],
    }
    path = write_xlsx(tmp_path / "book.xlsx", sheets=sheets, hidden=["Hidden"])
    source, rows = read_all(path, engine=engine)
    assert source.layout.sheet == "Template"
    assert [r.values["sku"] for r in rows] == ["T-1"]
    chosen, chosen_rows = read_all(path, engine=engine, sheet="hidden")
    assert chosen.layout.sheet == "Hidden" and chosen_rows[0].values["currency"] == "USD"


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", sheets={"A": [["sku"]], "B": [["sku"]]})
    assert input_error(path, sheet="Offers") == (
        f'Workbook "{path}" has no sheet "Offers"; its sheets are: "A", "B".'
    )


def test_no_header_row(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", [["Item", "Cost"], ["a", 1]], sheet="Stuff")
    assert input_error(path) == (
        f'No header row in the first 30 rows of sheet "Stuff" of "{path}"; expected columns '
        "such as sku, price, quantity."
    )
    book = write_xlsx(tmp_path / "y.xlsx", sheets={"A": [["x"]], "B": [["y"]]})
    assert input_error(book) == (
        f'No sheet of "{book}" has a header row in its first 30 rows (sheets: "A", "B"); '
        "expected columns such as sku, price, quantity."
    )
    empty = write_xlsx(tmp_path / "e.xlsx", [], sheet="Empty")
    assert "No header row in the first 30 rows of sheet \"Empty\"" in input_error(empty)


def test_header_beyond_the_scan_window_is_not_found(tmp_path: Path) -> None:
    rows_in: list[list[Any]] = [["note"]] * 30 + [["sku", "price"]]
    path = write_xlsx(tmp_path / "deep.xlsx", rows_in)
    assert input_error(path).startswith("No header row in the first 30 rows")


# --- Amazon layouts ------------------------------------------------------------------------------

def unified_sheet(values: list[list[Any]]) -> list[list[Any]]:
    aliases = [{"attribute": "fulfillment_availability#1.fulfillment_channel_code",
                "aliases": {"Fulfilment by Merchant (Default)": "DEFAULT",
                            "Fulfilment by Amazon (EU)": "AMAZON_EU"}}]
    encoded = base64.b64encode(json.dumps(aliases).encode()).decode()
    blob = (
        "feedType=256&primaryMarketplaceId=amzn1.mp.o.A1F83G8C2ARO7P&labelRow=4&attributeRow=5"
        f"&dataRow=7&flavor=seller-price-quantity&attributeSettings={encoded}"
        "&TemplateType=unified&Version=2026.0828"
    )
    po = "purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=ALL]#1."
    return [
        ["settings=" + blob[:50], "settings2=" + blob[50:], None, None, None],
        ["     Use ENGLISH to fill this template."],
        ["Listing Identity", "Offer (UK) - (Sell on Amazon)"],
        ["SKU", "Fulfillment Channel Code (UK)", "Quantity (UK)",
         "Your Price GBP (Sell on Amazon, UK)", "Inventory Always Available (UK)"],
        ["contribution_sku#1.value", "fulfillment_availability#1.fulfillment_channel_code",
         "fulfillment_availability#1.quantity", po + "our_price#1.schedule#1.value_with_tax",
         "fulfillment_availability#1.is_inventory_available"],
        ["ABC123", "Fulfilment by Merchant (Default)", 10, "9.00", "Enabled"],
        *values,
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_unified_template(tmp_path: Path, engine: str) -> None:
    sheet = unified_sheet([
        ["UK-1", "Fulfilment by Merchant (Default)", 4, 12.5, None],
        ["UK-2", "Fulfilment by Amazon (EU)", None, 20, "Disabled"],
    ])
    path = write_xlsx(tmp_path / "pq.xlsm", sheets={"Instructions": [["Read me"]],
                                                   "Template": sheet})
    source, rows = read_all(path, engine=engine)
    layout = source.layout
    assert (layout.sheet, layout.family, layout.header_row, layout.data_row, layout.format) == (
        "Template", "unified", 5, 7, "xlsm"
    )
    assert layout.notes["marketplace"] == "A1F83G8C2ARO7P"
    assert layout.notes["template"]["flavor"] == "seller-price-quantity"
    # Row 6 is Amazon's example: never data.
    assert [r.number for r in rows] == [7, 8]
    assert rows[0].values == {"sku": "UK-1", "fulfillment_channel": "DEFAULT", "quantity": 4,
                              "price": Decimal("12.5")}
    assert rows[1].values["fulfillment_channel"] == "AMAZON"
    assert rows[1].extra == {"fulfillment_availability#1.is_inventory_available": "Disabled"}
    assert flat(source.issues) == [(None, "E", "unknown-column", None, None)]


def test_fptcustom_template_csv(tmp_path: Path) -> None:
    settings = ("settings=attributeRow=3&dataRow=4&labelRow=2&primaryMarketplaceId=amzn1.mp.o."
                "ATVPDKIKX0DER")
    rows_in = [
        ["TemplateType=fptcustom", "Version=2023.0509", "TemplateSignature=R1VJTERfSE9NRQ==",
         settings, "Use ENGLISH to fill this template.", "", "Offer"],
        ["Product Type", "Seller SKU", "Your Price", "Quantity", "List Price",
         "Handling Time", "Sale Price"],
        ["feed_product_type", "item_sku", "standard_price", "quantity", "list_price",
         "fulfillment_latency", "sale_price"],
        ["guildhome", "G-1", "19.99", "5", "29.99", "2", ""],
    ]
    path = write_csv(tmp_path / "fpt.csv", rows_in)
    source, rows = read_all(path)
    layout = source.layout
    assert (layout.family, layout.header_row, layout.data_row) == ("fptcustom", 3, 4)
    assert layout.notes["marketplace"] == "ATVPDKIKX0DER"
    # A category template (product type column) is read as a listings sheet: the fixed
    # columns map to fields, the attribute columns travel in Row.extra.
    assert layout.kind == "listings"
    assert {c.header: c.field for c in layout.columns} == {
        "feed_product_type": "product_type", "item_sku": "sku", "standard_price": None,
        "quantity": None, "list_price": None, "fulfillment_latency": None, "sale_price": None,
    }
    assert rows[0].values == {"sku": "G-1", "product_type": "guildhome"}
    assert rows[0].extra == {"standard_price": "19.99", "quantity": "5", "list_price": "29.99",
                             "fulfillment_latency": "2"}


def test_jp_price_inventory_template_with_label_row(tmp_path: Path) -> None:
    rows_in = [
        ["TemplateType=PriceInventory", "Version=2018.0924", "この行はAmazonが使用します"],
        ["商品管理番号", "販売価格", "在庫数"],
        ["sku", "price", "quantity"],
        ["JP-1", "1200", "3"],
    ]
    path = write_csv(tmp_path / "jp.txt", rows_in, delimiter="\t")
    source, rows = read_all(path)
    assert (source.layout.family, source.layout.header_row, source.layout.data_row) == (
        "price-inventory", 3, 4
    )
    assert source.layout.delimiter == "\t" and source.layout.format == "tsv"
    assert rows[0].values == {"sku": "JP-1", "price": Decimal("1200"), "quantity": 3}


def test_old_listing_loader_offer_template(tmp_path: Path) -> None:
    rows_in = [["TemplateType=Offer", "Version=1.4"],
               ["sku", "price", "quantity", "product-id", "leadtime-to-ship"],
               ["O-1", "5", "1", "B000000000", "3"]]
    path = write_csv(tmp_path / "offer.txt", rows_in, delimiter="\t")
    source, rows = read_all(path)
    assert (source.layout.family, source.layout.header_row, source.layout.data_row) == (
        "offer-loader", 2, 3
    )
    assert rows[0].values["handling_time"] == 3
    assert flat(source.issues) == [(None, "D", "unknown-column", None, None)]


def test_retired_price_inventory_flat_file(tmp_path: Path) -> None:
    header = ["sku", "price", "minimum-seller-allowed-price", "maximum-seller-allowed-price",
              "quantity", "handling-time", "fulfillment-channel"]
    path = write_csv(tmp_path / "Flat.File.PriceInventory.eg.txt",
                     [header, ["E-1", "75.61", "", "", "3", "2", "default"]], delimiter="\t")
    source, rows = read_all(path)
    assert source.layout.family == "price-inventory-flat" and source.issues == []
    assert rows[0].values == {"sku": "E-1", "price": Decimal("75.61"), "quantity": 3,
                              "handling_time": 2, "fulfillment_channel": "DEFAULT"}


# --- kinds and structure -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("header", "kind"),
    [(["sku", "price"], "prices"), (["sku", "qty"], "inventory"),
     (["sku", "price", "qty"], "offers"), (["sku", "restock date"], "inventory")],
)
def test_kind_detected_from_headers(tmp_path: Path, header: list[str], kind: str) -> None:
    path = write_csv(tmp_path / "k.csv", [header, ["S", "1"]])
    with open_sheet(path) as source:
        assert source.layout.kind == kind


def test_explicit_kind_wins(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "k.csv", [["sku", "price", "qty"], ["S", "1", "2"]])
    source, rows = read_all(path, kind="PRICES")
    assert source.layout.kind == "prices"
    assert flat(source.issues) == [(None, "C", "column-not-in-kind", None, None)]
    assert rows[0].values == {"sku": "S", "price": Decimal("1")}
    assert rows[0].extra == {"qty": "2"}


def test_structure_errors_stop_row_checks(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [["sku", "price", "Our Price"], ["S", "1", "2"]])
    source, _ = read_all(path)
    assert not source.structure_ok
    assert source.issues[0].sentence() == (
        'column C "Our Price": columns B "price" and C "Our Price" both mean Price — keep one '
        "of the two columns."
    )
    missing = write_csv(tmp_path / "m.csv", [["price", "qty"], ["1", "2"]])
    source, _ = read_all(missing)
    assert not source.structure_ok
    assert [i.code for i in source.issues] == ["missing-column"]


def test_repeated_unknown_headers_keep_both_values(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["sku", "Note", "Note"], ["S", "a", "b"]])
    _, rows = read_all(path)
    assert rows[0].extra == {"Note (B)": "a", "Note (C)": "b"}


@pytest.mark.parametrize(("kind", "engine"), [("nope", None), (None, "pandas")])
def test_usage_errors(tmp_path: Path, kind: str | None, engine: str | None) -> None:
    path = write_csv(tmp_path / "u.csv", [["sku"], ["S"]])
    with pytest.raises(UsageError):
        open_sheet(path, kind=kind, engine=engine)


def test_kinds_constant() -> None:
    assert KINDS[:3] == ("offers", "prices", "inventory")


# --- text files ----------------------------------------------------------------------------------

ROWS_TEXT = [["SKU", "Price", "Quantity", "Note"], ["ÄÖ-1", "19.99", "3", "café"],
             ["B", "5", "1", ""]]


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("utf-16-le", True, "utf-16"),
     ("utf-16-be", True, "utf-16")],
)
def test_csv_encodings(tmp_path: Path, encoding: str, bom: bool, expected: str) -> None:
    path = write_csv(tmp_path / "e.csv", ROWS_TEXT, encoding=encoding, bom=bom)
    source, rows = read_all(path)
    assert source.layout.encoding == expected
    assert source.issues == [source.issues[0]] and source.issues[0].code == "unknown-column"
    assert rows[0].values["sku"] == "ÄÖ-1" and rows[0].extra == {"Note": "café"}
    assert source.layout.columns[0].header == "SKU"


def test_windows_1252_fallback_is_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", ROWS_TEXT, encoding="cp1252")
    source, rows = read_all(path)
    assert source.layout.encoding == "cp1252"
    warning = next(i for i in source.issues if i.code == "encoding-fallback")
    assert warning.severity is Severity.WARNING
    assert warning.sentence() == (
        "File: the file is not UTF-8 (byte 0xC4 on line 2), so it was read as windows-1252 — "
        "check accented letters in the results; pass --encoding to force the right encoding "
        '(e.g. --encoding cp932), or save the file as "CSV UTF-8".'
    )
    assert rows[0].values["sku"] == "ÄÖ-1"


def test_forced_encoding(tmp_path: Path) -> None:
    path = tmp_path / "jp.csv"
    path.write_bytes("sku,price\nテスト,5\n".encode("cp932"))
    source, rows = read_all(path, encoding="cp932")
    assert source.issues == [] and rows[0].values["sku"] == "テスト"
    assert input_error(path, encoding="ascii") == (
        f'File "{path}" is not valid ascii (byte 0x83 on line 2); pass the encoding it was '
        "saved in with --encoding."
    )
    with pytest.raises(UsageError):
        open_sheet(path, encoding="klingon")


def test_nul_byte_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_bytes(b"sku,price\nA,1\nB\x00,2\n")
    assert input_error(path) == (
        f'File "{path}" contains NUL bytes (line 3), so it is not a text sheet; save it as '
        ".xlsx or as CSV (UTF-8)."
    )


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [(",", "a.csv"), (";", "a.csv"), ("\t", "a.csv"), ("|", "a.csv"), ("\t", "a.tsv"),
     (";", "a.txt"), (",", "a.txt")],
)
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    rows_in = [["sku", "price", "quantity"], ["A,1", "1.5", "2"], ["B", "2", "3"]]
    if delimiter == ";":
        rows_in[2][1] = "2,5"  # a decimal comma must not make ',' the delimiter
    path = write_csv(tmp_path / name, rows_in, delimiter=delimiter)
    source, rows = read_all(path)
    assert source.layout.delimiter == delimiter
    assert [c.field for c in source.layout.columns] == ["sku", "price", "quantity"]
    assert rows[0].values["sku"] == "A,1"


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\r\nsku;price\r\nA;1,5\r\nB;2\r\n", encoding="utf-8")
    source, rows = read_all(path)
    assert source.layout.delimiter == ";" and source.layout.header_row == 2
    assert [r.number for r in rows] == [3, 4]
    assert [i.code for i in rows[0].issues] == ["number-decimal-comma"]


def test_single_column_tsv_uses_the_default_tab(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.tsv", [["sku"], ["A"]])
    with open_sheet(path) as source:
        assert source.layout.delimiter == "\t"


def test_csv_rows_count_records_not_lines(tmp_path: Path) -> None:
    rows_in = [["sku", "note", "price"], ["A", "two\nlines", "1"], ["", "", ""], ["B", "x", "2"]]
    path = write_csv(tmp_path / "q.csv", rows_in, newline="\n")
    source, rows = read_all(path)
    assert [(r.number, r.values["sku"]) for r in rows] == [(2, "A"), (4, "B")]
    assert source.total_rows == 4  # counted from lines: a hint for a progress bar


def test_csv_excel_errors_and_many_columns(tmp_path: Path) -> None:
    header = ["sku"] + [f"x{i}" for i in range(30)] + ["price"]
    path = write_csv(tmp_path / "wide.csv", [header, ["W-1"] + [""] * 30 + ["#N/A"]])
    source, rows = read_all(path)
    assert source.layout.columns[-1].letter == "AF"
    assert flat(rows[0].issues) == [(2, "AF", "excel-error-value", "W-1", "#N/A")]


def test_rows_can_be_read_twice_and_source_closes(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", [["sku", "qty"], *[[f"S{i}", i] for i in range(3)]])
    source = open_sheet(path)
    assert list(source.rows()) == list(source.rows())
    source.close()
    source.close()
    with pytest.raises(InputError):
        next(source.rows())


def test_offers_rows_helper_reads_back(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [["sku", "price", "quantity"], *offers_rows(200)])
    source, rows = read_all(path)
    assert len(rows) == 200 and all(not r.issues for r in rows)
    assert source.total_rows == 200


# --- what is not a readable sheet ----------------------------------------------------------------

def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert input_error(tmp_path / "nope.xlsx") == f'File "{tmp_path / "nope.xlsx"}" does not exist.'
    assert input_error(tmp_path) == f'"{tmp_path}" is a folder, not a sheet file.'


def test_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "e.xlsx"
    empty.write_bytes(b"")
    assert input_error(empty) == f'File "{empty}" is empty (0 bytes).'
    blank = tmp_path / "b.csv"
    blank.write_text("\n\n  \n")
    assert input_error(blank) == f'File "{blank}" holds no data (only blank lines).'


def test_truncated_workbook(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "g.xlsx", [["sku"], ["A"]])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert input_error(cut) == (
        f'File "{cut}" is damaged: it is not a complete .xlsx (zip) file; save it again from '
        "Excel or download it again."
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>",
         "is a web page (HTML), not a spreadsheet; save it as .xlsx or .csv."),
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
         "is an Excel 2003 XML spreadsheet, which feeds-kit does not read; save it as .xlsx or "
         ".csv."),
        (b"%PDF-1.7\n", "is a PDF document, not a spreadsheet; save it as .xlsx or .csv."),
        (b"sku,price\nA,1\n",
         "is named .xlsx but holds text, not an Excel workbook; save it from Excel as .xlsx, or "
         "rename it to .csv if it is a CSV file."),
    ],
)
def test_wrong_content_named_xlsx(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "download.xlsx"
    path.write_bytes(content)
    assert input_error(path) == f'File "{path}" {message}'


def test_format_comes_from_bytes_not_the_name(tmp_path: Path) -> None:
    workbook = write_xlsx(tmp_path / "real.xlsx", [["sku", "price"], ["A", 1.25]])
    renamed = tmp_path / "looks-like.csv"
    renamed.write_bytes(workbook.read_bytes())
    source, rows = read_all(renamed)
    assert source.layout.format == "xlsx" and rows[0].values["price"] == Decimal("1.25")


@pytest.mark.parametrize(
    ("encrypted", "message"),
    [
        (True, "is password-protected; remove the password in Excel (File > Info > Protect "
               "Workbook > Encrypt with Password, clear it), save it and try again."),
        (False, "is an old Excel 97-2003 workbook (.xls); save it as .xlsx or .csv and try "
                "again."),
    ],
)
def test_ole_files(tmp_path: Path, encrypted: bool, message: str) -> None:
    path = write_ole(tmp_path / "old.xlsx", encrypted=encrypted)
    assert input_error(path) == f'File "{path}" {message}'


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "z.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert input_error(path) == (
        f'File "{path}" is a zip archive but not an Excel workbook; save the sheet as .xlsx or '
        ".csv."
    )
    ods = tmp_path / "s.ods"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "is an OpenDocument spreadsheet (.ods)" in input_error(ods)


def test_zip_bomb_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_raw_xlsx(tmp_path / "bomb.xlsx", {"Offers": [["sku"], ["A"]]})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\x00" * (17 << 20))
    message = input_error(path)
    assert message.startswith(f'File "{path}" looks like a zip bomb: its part '
                              '"xl/media/padding.bin" would unpack to 17 MiB')
    assert message.endswith("times its packed size; it was not opened.")
    small = write_raw_xlsx(tmp_path / "big.xlsx", {"Offers": [["sku"], ["A"]]})
    monkeypatch.setattr(reading, "MAX_UNCOMPRESSED_BYTES", 100)
    assert "more than feeds-kit reads" in input_error(small)


def test_xml_with_a_doctype_is_refused(tmp_path: Path) -> None:
    path = write_raw_xlsx(tmp_path / "dtd.xlsx", {"Offers": [["sku"], ["A"]]}, doctype=True)
    assert input_error(path) == (
        f'File "{path}" has an XML document type declaration in "xl/worksheets/sheet1.xml", '
        "which Excel never writes (it can hide entity tricks); it was not opened."
    )


def test_damaged_sheet_part(tmp_path: Path) -> None:
    path = write_raw_xlsx(tmp_path / "bad.xlsx", {"Offers": "<worksheet><sheetData><row"})
    message = input_error(path)
    assert message.startswith(f'File "{path}" is damaged and cannot be read') or message.startswith(
        f'Sheet "Offers" of "{path}" is damaged and cannot be read'
    )


# --- hardening: the XML prolog is walked, not searched (issue 7) -----------------------------

_SHEET_BODY = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData/></worksheet>"
)
_DOCTYPE = '<!DOCTYPE worksheet [<!ENTITY lol "lol">]>'


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ('<?xml version="1.0"?>' + _SHEET_BODY, None),
        ("\ufeff  \r\n<?xml version='1.0'?>\n<!-- a -->" + _SHEET_BODY, None),
        ('<?xml version="1.0"?>' + _DOCTYPE + _SHEET_BODY, "dtd"),
        ('<?xml version="1.0"?><!-- <x> -->' + _DOCTYPE + _SHEET_BODY, "dtd"),
        ('<?xml version="1.0"?><!--' + "x" * 200_000 + "-->" + _DOCTYPE + _SHEET_BODY, "dtd"),
        ('<?xml version="1.0"?><!--' + "x" * 200_000 + "-->" + _SHEET_BODY, None),
        ('<?xml version="1.0"?><!--' + "x" * (1 << 21) + "-->" + _SHEET_BODY, "long"),
        (" " * (1 << 21) + _SHEET_BODY, "long"),
        ('<?xml version="1.0"?><!-- never closed', None),
        ("", None),
    ],
    ids=["plain", "bom-spaces-comment", "dtd", "lt-x-in-comment", "dtd-after-long-comment",
         "long-comment", "endless-comment", "endless-spaces", "unclosed", "empty"],
)
def test_prolog_is_walked_token_by_token(data: str, problem: str | None) -> None:
    assert reading._prolog_problem(io.BytesIO(data.encode("utf-8"))) == problem


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_xml_parts_are_refused(encoding: str) -> None:
    data = ('<?xml version="1.0"?>' + _SHEET_BODY).encode(encoding)
    assert reading._prolog_problem(io.BytesIO(data)) == "wide"


@pytest.mark.parametrize(
    ("prolog", "why"),
    [
        ('<?xml version="1.0"?><!-- <x> -->' + _DOCTYPE,
         'an XML document type declaration in "xl/worksheets/sheet1.xml"'),
        ('<?xml version="1.0"?><!--' + "x" * (1 << 21) + "-->",
         'more than 1 MiB of comments before the XML of "xl/worksheets/sheet1.xml"'),
    ],
)
def test_hidden_declarations_refuse_the_workbook(tmp_path: Path, prolog: str, why: str) -> None:
    path = write_raw_xlsx(tmp_path / "hidden.xlsx", {"Offers": prolog + _SHEET_BODY})
    assert input_error(path) == (
        f'File "{path}" has {why}, which Excel never writes (it can hide entity tricks); '
        "it was not opened."
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognised(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes("sku,price,quantity\r\nÉTÉ-1,12.5,3\r\n".encode(encoding))
    source, rows = read_all(path)
    assert source.layout.encoding == encoding
    assert [i.code for i in source.issues] == []
    assert rows[0].values == {"sku": "ÉTÉ-1", "price": Decimal("12.5"), "quantity": 3}


def test_a_row_with_another_separator_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("sku;price;quantity\r\nA-1;12.5;3\r\nA-2,13.5,4\r\nA-3;9;1\r\n",
                    encoding="utf-8")
    source, rows = read_all(path)
    assert source.layout.delimiter == ";"
    assert [r.number for r in rows] == [2, 3, 4]
    (issue,) = rows[1].issues
    assert (issue.code, issue.row, issue.column) == ("row-delimiter-mismatch", 3, "A")
    assert issue.message == (
        'the row "A-2,13.5,4" is separated by "," but this file uses ";", so it was read as '
        "one cell"
    )
    assert rows[0].issues == [] and rows[2].issues == []
