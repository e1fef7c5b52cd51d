"""Blank template workbooks (feeds_kit.templates)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from feeds_kit import resources, templates
from feeds_kit.errors import OutputError, UsageError
from feeds_kit.marketplaces import MARKETPLACES, get_marketplace

KINDS = templates.available_kinds()


def schema(kind: str) -> dict[str, Any]:
    return resources.load_schema("rows", f"{kind}.json")  # type: ignore[no-any-return]


def template_data(kind: str) -> dict[str, Any]:
    return resources.load_template_data(f"{kind}.json")  # type: ignore[no-any-return]


def titles(kind: str) -> list[str]:
    props = schema(kind)["properties"]
    return [props[f]["title"] for f in template_data(kind)["columns"]]


def validations(ws: Any) -> dict[str, Any]:
    """Data validations by the column letter they cover."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        ref = str(dv.sqref)
        letter = "".join(ch for ch in ref.split(":")[0] if ch.isalpha())
        assert ref == f"{letter}2:{letter}1048576"
        found[letter] = dv
    return found


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    return {kind: templates.write_template(kind, folder / f"{kind}.xlsx") for kind in KINDS}


def test_schema_drift_is_tolerated() -> None:
    spec = templates.TemplateSpec(
        "demo",
        {"properties": {"sku": {"title": "SKU"}, "note": {"title": "Note"}}},
        {"columns": ["gone", "note"]},
    )
    assert spec.fields == ["note", "sku"]


def test_available_kinds() -> None:
    assert {"inventory", "offers", "prices"} <= set(KINDS)
    assert list(KINDS) == sorted(KINDS)
    # Every template text has its row schema (no orphan template).
    for path in resources.data_dir("templates").glob("*.json"):
        assert path.stem in KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_template_columns_cover_the_schema(kind: str) -> None:
    assert sorted(template_data(kind)["columns"]) == sorted(schema(kind)["properties"])
    assert template_data(kind)["kind"] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_data_sheet_has_headers_only(written: dict[str, Path], kind: str) -> None:
    wb = openpyxl.load_workbook(written[kind])
    spec = template_data(kind)
    assert wb.sheetnames == [spec["dataSheet"], spec["instructionsSheet"]]
    ws = wb[spec["dataSheet"]]
    assert wb.active.title == spec["dataSheet"]
    assert [c.value for c in ws[1]] == titles(kind)
    assert ws.max_row == 1  # the example is never on the data sheet
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b
    assert ws.column_dimensions["A"].number_format == "@"
    assert ws.column_dimensions["A"].width >= 24
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props[templates.TEMPLATE_PROPERTY] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_every_header_has_a_comment(written: dict[str, Path], kind: str) -> None:
    ws = openpyxl.load_workbook(written[kind]).worksheets[0]
    props = schema(kind)["properties"]
    for cell, field in zip(ws[1], template_data(kind)["columns"], strict=True):
        assert cell.comment is not None, field
        assert cell.comment.text.startswith(props[field]["description"])
        assert cell.comment.author == "feeds-kit"
    sku = ws["A1"].comment.text
    assert "Required on every row." in sku
    assert sku.endswith(f"Example: {props['sku']['examples'][0]}")


def test_offers_validations(written: dict[str, Path]) -> None:
    ws = openpyxl.load_workbook(written["offers"])["Offers"]
    headers = {c.value: c.column_letter for c in ws[1]}
    dv = validations(ws)
    channel = dv[headers["Fulfillment Channel"]]
    assert (channel.type, channel.formula1, channel.errorStyle) == (
        "list", '"DEFAULT,AMAZON"', "stop")
    market = dv[headers["Marketplace"]]
    assert market.type == "list" and market.errorStyle == "warning"
    assert market.formula1 == '"' + ",".join(m.code for m in MARKETPLACES) + '"'
    currency = dv[headers["Currency"]]
    assert currency.type == "list"
    assert set(currency.formula1.strip('"').split(",")) == {m.currency for m in MARKETPLACES}
    price = dv[headers["Price"]]
    assert (price.type, price.operator, price.formula1) == ("decimal", "greaterThan", "0")
    assert price.error == (
        "A number without currency sign, with a dot for decimals, greater than 0.")
    qty = dv[headers["Quantity"]]
    assert (qty.type, qty.operator, qty.formula1) == ("whole", "greaterThanOrEqual", "0")
    handling = dv[headers["Handling Time"]]
    assert (handling.type, handling.operator, handling.formula1, handling.formula2) == (
        "whole", "between", "0", "30")
    assert handling.prompt == "A whole number from 0 to 30."
    assert handling.promptTitle == "Handling Time"
    sale = dv[headers["Sale Start Date"]]
    assert (sale.type, sale.operator, sale.formula1, sale.formula2) == (
        "date", "between", "36526", "73050")
    sku = dv[headers["SKU"]]
    assert (sku.type, sku.formula1, sku.formula2) == ("textLength", "1", "40")
    assert all(v.allow_blank for v in dv.values())
    assert ws.column_dimensions[headers["Sale Start Date"]].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions[headers["Quantity"]].number_format == "0"
    assert ws.column_dimensions[headers["Price"]].number_format == "0.00###"


@pytest.mark.parametrize("kind", KINDS)
def test_instructions_and_example_row(written: dict[str, Path], kind: str) -> None:
    wb = openpyxl.load_workbook(written[kind])
    ws = wb["Instructions"]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    first_column = [r[0] for r in rows]
    assert first_column[0] == template_data(kind)["title"]
    assert any("leave unchanged" in str(v) for v in first_column)
    assert f"Check the file offline (no credentials needed): feeds-kit validate {kind}.xlsx" in (
        first_column)
    header_at = next(i for i, r in enumerate(rows) if r[0] == "SKU")
    assert list(rows[header_at][: len(titles(kind))]) == titles(kind)
    example = dict(zip(rows[header_at], rows[header_at + 1], strict=True))
    assert example["SKU"] == schema(kind)["properties"]["sku"]["examples"][0]
    assert example["Marketplace"] == "US"
    # No "{placeholder}" left unfilled.
    assert not any("{" in str(v) for r in rows for v in r if v is not None)


def test_example_values_are_typed(written: dict[str, Path]) -> None:
    ws = openpyxl.load_workbook(written["offers"])["Instructions"]
    rows = list(ws.iter_rows())
    header_at = next(i for i, r in enumerate(rows) if r[0].value == "SKU")
    example = {h.value: c for h, c in zip(rows[header_at], rows[header_at + 1], strict=True)}
    assert example["Price"].value == 19.99
    assert example["Quantity"].value == 25
    assert example["Sale Start Date"].value == dt.datetime(2026, 12, 1)
    assert example["Sale Start Date"].number_format == "yyyy-mm-dd"
    assert example["SKU"].data_type == "s"


@pytest.mark.parametrize(("code", "price", "currency", "price_format"), [
    ("JP", 1999, "JPY", "0"),
    ("DE", 19.99, "EUR", "0.00###"),
])
def test_marketplace_shapes_the_example(tmp_path: Path, code: str, price: float, currency: str,
                                        price_format: str) -> None:
    out = templates.write_template("prices", tmp_path / "p.xlsx",
                                   marketplace=get_marketplace(code))
    wb = openpyxl.load_workbook(out)
    rows = list(wb["Instructions"].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "SKU")
    example = dict(zip(rows[header_at], rows[header_at + 1], strict=True))
    assert (example["Marketplace"], example["Price"], example["Currency"]) == (
        code, price, currency)
    assert f"Send it to Amazon: feeds-kit submit p.xlsx --marketplace {code}" in [
        r[0] for r in rows]
    assert wb["Prices"].column_dimensions["C"].number_format == price_format


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_filled_by_openpyxl(written: dict[str, Path], tmp_path: Path,
                                       kind: str) -> None:
    wb = openpyxl.load_workbook(written[kind])
    ws = wb.worksheets[0]
    props = schema(kind)["properties"]
    fields = template_data(kind)["columns"]
    for col, field in enumerate(fields, start=1):
        example = (props[field].get("examples") or [None])[0]
        ws.cell(row=2, column=col, value=example)
    filled = tmp_path / f"{kind}-filled.xlsx"
    wb.save(filled)
    again = openpyxl.load_workbook(filled, read_only=True)
    rows = list(again.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2
    header = dict(zip(rows[0], rows[1], strict=True))
    assert list(header) == [props[f]["title"] for f in fields]
    assert header["SKU"] == props["sku"]["examples"][0]


@pytest.mark.parametrize("kind", ["bogus", "offer", ""])
def test_unknown_kind(tmp_path: Path, kind: str) -> None:
    with pytest.raises(UsageError) as caught:
        templates.write_template(kind, tmp_path / "x.xlsx")
    expected = ", ".join(KINDS[:-1]) + " or " + KINDS[-1]
    assert str(caught.value) == f"Unknown kind {kind!r}: use {expected}."
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "delimiter"), [("t.csv", ","), ("t.tsv", "\t")])
def test_text_template_is_the_header_row(tmp_path: Path, name: str, delimiter: str) -> None:
    out = templates.write_template("inventory", tmp_path / name)
    assert out.read_bytes().decode("utf-8-sig") == delimiter.join(titles("inventory")) + "\r\n"


def test_suffixes(tmp_path: Path) -> None:
    assert templates.write_template("offers", tmp_path / "plain") == tmp_path / "plain.xlsx"
    with pytest.raises(OutputError) as caught:
        templates.write_template("offers", tmp_path / "x.xlsm")
    assert str(caught.value) == (
        "Cannot write a template as x.xlsm: use a .xlsx (or .csv) file name.")


def test_kind_is_case_insensitive(tmp_path: Path) -> None:
    out = templates.write_template("Offers", tmp_path / "o.xlsx")
    assert openpyxl.load_workbook(out).sheetnames[0] == "Offers"


def test_long_choice_lists_go_to_a_hidden_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    values = [f"VALUE_{n:03d}" for n in range(40)]  # well over Excel's 255 characters
    dv, lists = templates._list_validation(wb, None, "long", values, True)
    assert lists is not None and lists.sheet_state == "hidden"
    assert dv.formula1 == "'Lists'!$A$2:$A$41"
    assert [c.value for c in lists["A"]][:3] == ["long", "VALUE_000", "VALUE_001"]
    dv2, same = templates._list_validation(wb, lists, "more", values[:30], False)
    assert same is lists and dv2.formula1 == "'Lists'!$B$2:$B$31"


def test_listings_example_shows_attribute_columns(written: dict[str, Path]) -> None:
    if "listings" not in written:
        pytest.skip("no listings row schema in this checkout")
    wb = openpyxl.load_workbook(written["listings"])
    assert [c.value for c in wb["Listings"][1]] == titles("listings")
    rows = list(wb["Instructions"].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "SKU")
    example = dict(zip(rows[header_at], rows[header_at + 1], strict=True))
    assert example["Operation"] == "update"
    assert example["item_name#1.value"] == "Orlando cabin suitcase 55 cm"
    price = "purchasable_offer[audience=ALL]#1.our_price#1.schedule#1.value_with_tax"
    assert example[price] == 89.99
    dv = validations(wb["Listings"])
    operation = dv[next(c.column_letter for c in wb["Listings"][1] if c.value == "Operation")]
    assert operation.formula1 == '"update,partial_update,delete"'
