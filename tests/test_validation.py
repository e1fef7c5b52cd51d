"""Row validation: schema messages, cross-field rules, marketplaces, regions, duplicates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from feeds_kit.errors import UsageError
from feeds_kit.issues import CATALOGUE, Issue, Report, Severity
from feeds_kit.marketplaces import BY_CODE
from feeds_kit.rows import Column, Row, SheetLayout, column_letter
from feeds_kit.validation import RowValidator, row_schema, shown, validate_rows

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
JP = "A1VC38T7YXB528"
UK = "A1F83G8C2ARO7P"

OFFER_FIELDS = [
    "sku",
    "marketplace",
    "price",
    "currency",
    "quantity",
    "handling_time",
    "fulfillment_channel",
    "sale_price",
    "sale_start_date",
    "sale_end_date",
    "minimum_price",
    "maximum_price",
    "restock_date",
]
HEADERS = {
    "sku": "SKU",
    "marketplace": "Marketplace",
    "price": "Price",
    "currency": "Currency",
    "quantity": "Quantity",
    "handling_time": "Handling Time",
    "fulfillment_channel": "Fulfillment Channel",
    "sale_price": "Sale Price",
    "sale_start_date": "Sale Start Date",
    "sale_end_date": "Sale End Date",
    "minimum_price": "Minimum Price",
    "maximum_price": "Maximum Price",
    "restock_date": "Restock Date",
}


def make_layout(
    fields: list[str] = OFFER_FIELDS, kind: str = "offers", **notes: Any
) -> SheetLayout:
    columns = [
        Column(i, column_letter(i), HEADERS.get(name, name), name) for i, name in enumerate(fields)
    ]
    return SheetLayout(
        file="offers.xlsx",
        sheet="Offers",
        kind=kind,
        header_row=1,
        data_row=2,
        columns=columns,
        notes=dict(notes),
    )


def row(number: int = 2, raw: dict[str, Any] | None = None, **values: Any) -> Row:
    return Row(number=number, values=values, raw=raw or {})


def codes(issues: list[Issue]) -> list[tuple[str, int | None, str | None]]:
    """Compact (code, row, column) triples for assertions."""
    return [(i.code, i.row, i.column) for i in issues]


def check_one(r: Row, layout: SheetLayout | None = None, **kwargs: Any) -> list[Issue]:
    return RowValidator(layout or make_layout(), **kwargs).check(r)


# -- a clean row ------------------------------------------------------------------------------


def test_valid_row_has_no_issue_and_knows_its_marketplace() -> None:
    validator = RowValidator(make_layout())
    r = row(sku="A-1", marketplace=US, price=Decimal("19.99"), currency="USD", quantity=5)
    verdict = validator.evaluate(r)
    assert verdict.issues == []
    assert verdict.valid is True
    assert verdict.marketplace_id == US
    assert validator.marketplace_id(r) == US
    assert validator.finish() == []


# -- one finding per rule, with its exact wording and cell --------------------------------------


@pytest.mark.parametrize(
    ("values", "raw", "code", "column", "sentence"),
    [
        pytest.param(
            {"price": Decimal("1")},
            {},
            "sku-missing",
            "A",
            'Row 2, column A "SKU": the SKU is blank — fill in the seller SKU exactly as it is '
            "in Seller Central.",
            id="sku-absent",
        ),
        pytest.param(
            {"sku": "", "price": Decimal("1")},
            {},
            "sku-missing",
            "A",
            'Row 2, column A "SKU": the SKU is blank — fill in the seller SKU exactly as it is '
            "in Seller Central.",
            id="sku-empty",
        ),
        pytest.param(
            {"sku": "X" * 41, "price": Decimal("1")},
            {},
            "sku-too-long",
            "A",
            f'Row 2, column A "SKU": "{"X" * 41}" is 41 characters long, more than the 40 '
            "Amazon allows — use the SKU exactly as it is in Seller Central (at most 40 "
            "characters).",
            id="sku-41",
        ),
        pytest.param(
            {"sku": "A", "price": Decimal("-5")},
            {"price": "-5,00"},
            "price-not-positive",
            "C",
            'Row 2, column C "Price": "-5,00" is not more than 0 — write a Price greater than 0, '
            "or leave the cell blank to keep the current one.",
            id="price-negative-raw-quoted",
        ),
        pytest.param(
            {"sku": "A", "minimum_price": Decimal("0")},
            {},
            "price-not-positive",
            "K",
            'Row 2, column K "Minimum Price": "0" is not more than 0 — write a Minimum Price '
            "greater than 0, or leave the cell blank to keep the current one.",
            id="minimum-zero",
        ),
        pytest.param(
            {"sku": "A", "price": Decimal("19.999")},
            {},
            "price-too-many-decimals",
            "C",
            'Row 2, column C "Price": "19.999" has 3 decimal places, more than USD allows (2) '
            "— round it to 2 decimal places, e.g. 20.00.",
            id="three-decimals",
        ),
        pytest.param(
            {"sku": "A", "price": "cheap"},
            {},
            "money-not-a-number",
            "C",
            'Row 2, column C "Price": "cheap" is not a number — write the amount with a dot as '
            "decimal separator and no currency symbol, e.g. 19.99.",
            id="price-text",
        ),
        pytest.param(
            {"sku": "A", "price": Decimal("5"), "currency": "EUR"},
            {},
            "currency-mismatch",
            "D",
            'Row 2, column D "Currency": "EUR" is not the currency of United States (US), '
            "which sells in USD — write USD or leave the cell blank.",
            id="currency-mismatch",
        ),
        pytest.param(
            {"sku": "A", "price": Decimal("5"), "currency": "US$"},
            {},
            "currency-invalid",
            "D",
            'Row 2, column D "Currency": "US$" is not a three-letter currency code — write the '
            "ISO 4217 code of the marketplace's currency (e.g. USD, EUR) or leave it blank.",
            id="currency-pattern",
        ),
        pytest.param(
            {"sku": "A", "quantity": -1},
            {},
            "quantity-invalid",
            "E",
            'Row 2, column E "Quantity": "-1" is not a whole number of 0 or more — write the '
            "units you can ship, e.g. 25 (0 when out of stock).",
            id="quantity-negative",
        ),
        pytest.param(
            {"sku": "A", "quantity": Decimal("2.5")},
            {},
            "quantity-invalid",
            "E",
            'Row 2, column E "Quantity": "2.5" is not a whole number of 0 or more — write the '
            "units you can ship, e.g. 25 (0 when out of stock).",
            id="quantity-fraction",
        ),
        pytest.param(
            {"sku": "A", "handling_time": 31},
            {},
            "handling-time-invalid",
            "F",
            'Row 2, column F "Handling Time": "31" is not a whole number of days from 0 to 30 '
            "— write the days between order and dispatch, e.g. 2.",
            id="handling-31",
        ),
        pytest.param(
            {"sku": "A", "quantity": 1, "fulfillment_channel": "FBA"},
            {},
            "value-not-in-list",
            "G",
            'Row 2, column G "Fulfillment Channel": "FBA" is not a Fulfillment Channel Amazon '
            "knows — write DEFAULT (you ship) or AMAZON (Fulfilled by Amazon).",
            id="channel-unknown",
        ),
        pytest.param(
            {"sku": "A", "quantity": 0, "restock_date": "2026-13-01"},
            {},
            "date-format-invalid",
            "M",
            'Row 2, column M "Restock Date": "2026-13-01" is not a calendar date — write it as '
            "YYYY-MM-DD, e.g. 2026-12-01, or as an Excel date.",
            id="restock-not-a-date",
        ),
        pytest.param(
            {
                "sku": "A",
                "price": Decimal("10"),
                "sale_price": Decimal("10"),
                "sale_start_date": dt.date(2026, 12, 1),
                "sale_end_date": dt.date(2026, 12, 24),
            },
            {},
            "sale-price-not-below-price",
            "H",
            'Row 2, column H "Sale Price": the sale price "10" is not below the price 10 — '
            "write a sale price lower than 10, or clear the sale.",
            id="sale-equals-price",
        ),
        pytest.param(
            {
                "sku": "A",
                "sale_price": Decimal("8"),
                "sale_start_date": dt.date(2026, 12, 1),
            },
            {},
            "dependent-field-missing",
            "J",
            'Row 2, column J "Sale End Date": Sale End Date is blank although Sale Price is '
            "filled in — fill in Sale End Date, or clear Sale Price.",
            id="sale-without-end",
        ),
        pytest.param(
            {
                "sku": "A",
                "price": Decimal("9"),
                "sale_start_date": dt.date(2026, 12, 1),
                "sale_end_date": dt.date(2026, 12, 2),
            },
            {},
            "dependent-field-missing",
            "H",
            'Row 2, column H "Sale Price": Sale Price is blank although Sale Start Date is '
            "filled in — fill in Sale Price, or clear Sale Start Date.",
            id="dates-without-sale-price",
        ),
        pytest.param(
            {
                "sku": "A",
                "sale_price": Decimal("8"),
                "sale_start_date": dt.date(2026, 12, 24),
                "sale_end_date": dt.date(2026, 12, 1),
            },
            {},
            "sale-dates-reversed",
            "J",
            'Row 2, column J "Sale End Date": the sale ends on "2026-12-01", before it starts on '
            "2026-12-24 — make Sale End Date on or after Sale Start Date.",
            id="sale-dates-reversed",
        ),
        pytest.param(
            {"sku": "A", "price": Decimal("9.99"), "minimum_price": Decimal("10")},
            {},
            "price-below-minimum",
            "C",
            'Row 2, column C "Price": "9.99" is below the minimum price 10 — raise the price to '
            "at least 10, or lower Minimum Price.",
            id="below-minimum",
        ),
        pytest.param(
            {"sku": "A", "price": Decimal("30"), "maximum_price": Decimal("29.99")},
            {},
            "price-above-maximum",
            "C",
            'Row 2, column C "Price": "30" is above the maximum price 29.99 — lower the price to '
            "at most 29.99, or raise Maximum Price.",
            id="above-maximum",
        ),
        pytest.param(
            {"sku": "A", "minimum_price": Decimal("20"), "maximum_price": Decimal("10")},
            {},
            "minimum-above-maximum",
            "K",
            'Row 2, column K "Minimum Price": the minimum price "20" is above the maximum price '
            "10 — make Minimum Price at most Maximum Price.",
            id="min-above-max",
        ),
        pytest.param(
            {"sku": "A", "quantity": 5, "fulfillment_channel": "AMAZON"},
            {},
            "fba-quantity",
            "E",
            'Row 2, column E "Quantity": "5" units cannot be set for a Fulfilled by Amazon '
            "(AMAZON) SKU — leave Quantity blank on AMAZON rows: Amazon counts FBA stock itself.",
            id="fba-quantity",
        ),
        pytest.param(
            {"sku": "A"},
            {},
            "nothing-to-update",
            None,
            "Row 2: the row fills none of Price, Quantity, Handling Time, Fulfillment Channel, "
            "Sale Price, Minimum Price, Maximum Price or Restock Date, so there is nothing to "
            "send — fill in what should change, or delete the row.",
            id="sku-only",
        ),
    ],
)
def test_rule_findings(
    values: dict[str, Any], raw: dict[str, Any], code: str, column: str | None, sentence: str
) -> None:
    issues = check_one(row(raw=raw, marketplace=US, **values))
    assert [i.code for i in issues] == [code]
    issue = issues[0]
    assert (issue.row, issue.column) == (2, column)
    assert issue.sentence() == sentence
    assert issue.file == "offers.xlsx"
    assert issue.sheet == "Offers"
    assert issue.code in CATALOGUE


def test_issue_carries_sku_field_header_and_typed_value() -> None:
    (issue,) = check_one(
        row(raw={"price": "-5,00"}, sku="SKU-9", marketplace=US, price=Decimal("-5"))
    )
    assert (issue.field, issue.header, issue.sku, issue.value) == (
        "price",
        "Price",
        "SKU-9",
        "-5,00",
    )
    assert issue.severity is Severity.ERROR


@pytest.mark.parametrize(
    ("price", "codes_found", "hint"),
    [
        (Decimal("1500"), [], None),
        (Decimal("1500.00"), [], None),
        (Decimal("1500.5"), ["price-too-many-decimals"], "round it to a whole number, e.g. 1501"),
    ],
)
def test_jpy_has_no_decimals(price: Decimal, codes_found: list[str], hint: str | None) -> None:
    issues = check_one(row(sku="J", marketplace=JP, price=price))
    assert [i.code for i in issues] == codes_found
    if hint:
        assert issues[0].hint == hint
        assert issues[0].message == '"1500.5" has 1 decimal places, more than JPY allows (0)'


@pytest.mark.parametrize(
    ("values", "found"),
    [
        # A blank currency means the marketplace's.
        ({"price": Decimal("5")}, []),
        ({"price": Decimal("5"), "currency": "EUR"}, []),
        ({"price": Decimal("5"), "currency": "GBP"}, [("currency-mismatch", 2, "D")]),
        # Sale dates on the same day are fine.
        (
            {
                "price": Decimal("5"),
                "sale_price": Decimal("4.5"),
                "sale_start_date": dt.date(2026, 1, 1),
                "sale_end_date": dt.date(2026, 1, 1),
            },
            [],
        ),
        # A price equal to both limits is within them.
        (
            {"price": Decimal("5"), "minimum_price": Decimal("5"), "maximum_price": Decimal("5")},
            [],
        ),
        # Trailing zeros are not extra decimals.
        ({"price": Decimal("5.100")}, []),
        # FBA: no quantity, and handling time / restock date are not sent (warnings).
        ({"price": Decimal("5"), "fulfillment_channel": "AMAZON"}, []),
        (
            {"price": Decimal("5"), "fulfillment_channel": "AMAZON", "handling_time": 2},
            [("fba-field-ignored", 2, "F")],
        ),
        # An FBA row with nothing but its channel sends nothing.
        ({"fulfillment_channel": "AMAZON"}, [("nothing-to-update", 2, None)]),
        ({"fulfillment_channel": "DEFAULT"}, []),
        # Several findings come in column order.
        (
            {"price": Decimal("-1"), "quantity": -2, "currency": "usd"},
            [
                ("price-not-positive", 2, "C"),
                ("currency-invalid", 2, "D"),
                ("quantity-invalid", 2, "E"),
            ],
        ),
    ],
)
def test_rule_combinations(
    values: dict[str, Any], found: list[tuple[str, int, str | None]]
) -> None:
    layout = make_layout()
    marketplace = BY_CODE["DE"] if values.get("currency") == "EUR" else None
    r = row(sku="S", marketplace=marketplace.id if marketplace else US, **values)
    if values.get("currency") == "GBP":
        r.values["marketplace"] = DE
    assert codes(RowValidator(layout).check(r)) == found


def test_fba_warning_does_not_make_the_row_invalid() -> None:
    verdict = RowValidator(make_layout()).evaluate(
        row(
            sku="S",
            marketplace=US,
            price=Decimal("5"),
            fulfillment_channel="AMAZON",
            restock_date=dt.date(2027, 1, 1),
        )
    )
    assert [(i.code, i.severity) for i in verdict.issues] == [
        ("fba-field-ignored", Severity.WARNING)
    ]
    assert verdict.valid is True


# -- cells the reader could not read ------------------------------------------------------------


def test_reader_issues_come_first_and_are_not_repeated() -> None:
    layout = make_layout()
    unreadable_price = Issue(
        code="cell-unreadable",
        severity=Severity.ERROR,
        message="x",
        row=2,
        column="C",
        field="price",
    )
    unreadable_sku = Issue(
        code="cell-unreadable", severity=Severity.ERROR, message="y", row=2, column="A", field="sku"
    )
    # Price unreadable (so absent) while Sale Price, Minimum and Maximum rely on it; SKU
    # unreadable: no "SKU blank", no "sale price not below price", no "nothing to update".
    r = Row(
        number=2,
        values={
            "marketplace": US,
            "sale_price": Decimal("5"),
            "sale_start_date": dt.date(2026, 1, 1),
        },
        raw={"price": "1O.00", "sku": "#REF!"},
        issues=[unreadable_price, unreadable_sku],
    )
    issues = RowValidator(layout).check(r)
    assert issues[:2] == [unreadable_price, unreadable_sku]
    assert codes(issues[2:]) == [("dependent-field-missing", 2, "J")]


def test_unreadable_sale_date_is_not_reported_missing() -> None:
    bad_date = Issue(
        code="cell-unreadable",
        severity=Severity.ERROR,
        message="z",
        row=2,
        column="J",
        field="sale_end_date",
    )
    r = Row(
        number=2,
        values={
            "sku": "S",
            "marketplace": US,
            "sale_price": Decimal("5"),
            "sale_start_date": dt.date(2026, 1, 1),
        },
        issues=[bad_date],
    )
    verdict = RowValidator(make_layout()).evaluate(r)
    assert verdict.issues == [bad_date]
    assert verdict.valid is False


def test_a_reader_warning_does_not_silence_checks() -> None:
    note = Issue(code="note", severity=Severity.WARNING, message="n", row=2, field="price")
    r = Row(number=2, values={"sku": "S", "marketplace": US, "price": Decimal("-1")}, issues=[note])
    assert [i.code for i in RowValidator(make_layout()).check(r)] == ["note", "price-not-positive"]


# -- marketplaces -------------------------------------------------------------------------------


def test_unknown_marketplace_in_a_row() -> None:
    (issue,) = check_one(
        row(raw={"marketplace": "Atlantis"}, sku="S", marketplace="Atlantis", price=Decimal("1"))
    )
    assert issue.code == "marketplace-unknown"
    assert issue.column == "B"
    assert issue.sentence() == (
        'Row 2, column B "Marketplace": "Atlantis" is not a marketplace Amazon knows — write a '
        "country code such as US, DE or UK, or a marketplace id such as ATVPDKIKX0DER."
    )


@pytest.mark.parametrize(
    ("cell", "option", "note", "expected"),
    [
        (DE, BY_CODE["US"], "JP", DE),  # the row's own cell wins
        (None, BY_CODE["US"], "JP", US),  # then --marketplace
        (None, None, "JP", JP),  # then what the template names
        (None, None, "amazon.co.uk", UK),
    ],
)
def test_marketplace_precedence(cell: str | None, option: Any, note: str, expected: str) -> None:
    layout = make_layout(marketplace=note)
    values: dict[str, Any] = {"sku": "S", "quantity": 1}
    if cell:
        values["marketplace"] = cell
    verdict = RowValidator(layout, marketplace=option).evaluate(Row(2, values))
    assert verdict.marketplace_id == expected
    assert verdict.valid is True


def test_missing_marketplace_is_reported_once_and_rows_are_invalid() -> None:
    layout = make_layout(["sku", "price"])
    validator = RowValidator(layout)
    verdicts = [validator.evaluate(row(n, sku=f"S{n}", price=Decimal("1"))) for n in (2, 3, 4)]
    assert [v.issues for v in verdicts] == [[], [], []]
    assert [v.valid for v in verdicts] == [False, False, False]
    assert [v.marketplace_id for v in verdicts] == [None, None, None]
    (issue,) = validator.finish()
    assert (issue.code, issue.row, issue.column, issue.severity) == (
        "marketplace-missing",
        None,
        None,
        Severity.ERROR,
    )
    assert issue.sentence() == (
        'Sheet "Offers": 3 row(s) do not say which marketplace they are for (first: row 2) — '
        "add a Marketplace column (e.g. US, DE, UK) or pass --marketplace."
    )
    assert validator.finish() == []


def test_unknown_marketplace_note_is_reported_at_file_level() -> None:
    validator = RowValidator(make_layout(["sku", "price"], marketplace="Narnia"))
    issues = validator.check(row(sku="S", price=Decimal("1")))
    assert codes(issues) == [("marketplace-unknown", None, None)]
    assert [i.code for i in validator.finish()] == ["marketplace-missing"]


def test_mixed_regions_marks_the_minority_rows() -> None:
    layout = make_layout()
    validator = RowValidator(layout)
    rows = [
        row(2, sku="A", marketplace=US, quantity=1),
        row(3, raw={"marketplace": "de"}, sku="B", marketplace=DE, quantity=1),
        row(4, sku="C", marketplace="A2EUQ1WTGCTBG2", quantity=1),  # Canada, also na
        row(5, sku="D", marketplace=DE, price=Decimal("-1")),  # already invalid
    ]
    assert [validator.evaluate(r).valid for r in rows] == [True, True, True, False]
    found = validator.finish()
    assert codes(found) == [("mixed-regions", 3, "B"), ("mixed-regions", 5, "B")]
    assert found[0].sentence() == (
        'Row 3, column B "Marketplace": this row is for Germany (DE) in Europe, but 2 row(s) '
        "are for North America, and one submission goes to one region — put the Europe rows "
        "in a sheet of their own and submit it separately."
    )
    assert (found[0].sku, found[0].value, found[1].value) == ("B", "de", "de")
    assert validator.invalid_at_finish == [3]


def test_a_region_tie_goes_to_the_first_region() -> None:
    validator = RowValidator(make_layout())
    validator.check(row(2, sku="A", marketplace=DE, quantity=1))
    validator.check(row(3, sku="B", marketplace=US, quantity=1))
    assert codes(validator.finish()) == [("mixed-regions", 3, "B")]


# -- duplicates ---------------------------------------------------------------------------------


def test_duplicate_sku_marks_both_rows() -> None:
    validator = RowValidator(make_layout())
    first = validator.evaluate(row(2, sku="DUP", marketplace=US, quantity=1))
    other_market = validator.evaluate(row(3, sku="DUP", marketplace="A2EUQ1WTGCTBG2", quantity=1))
    second = validator.evaluate(row(7, sku="DUP", marketplace=US, quantity=2))
    assert first.valid and other_market.valid
    assert codes(second.issues) == [("duplicate-sku", 7, "A"), ("duplicate-sku", 2, "A")]
    assert [i.sentence() for i in second.issues] == [
        'Row 7, column A "SKU": SKU "DUP" is also in row 2 for United States (US) — keep one row '
        "per SKU and marketplace.",
        'Row 2, column A "SKU": SKU "DUP" is also in row 7 for United States (US) — keep one row '
        "per SKU and marketplace.",
    ]
    assert second.valid is False
    assert second.retracted == [2]
    # A third copy names the first row; the first row is not reported again.
    third = validator.evaluate(row(9, sku="DUP", marketplace=US, quantity=3))
    assert codes(third.issues) == [("duplicate-sku", 9, "A")]
    assert "row 2" in third.issues[0].message
    assert third.retracted == []


def test_duplicate_of_an_invalid_row_retracts_nothing() -> None:
    validator = RowValidator(make_layout())
    validator.evaluate(row(2, sku="DUP", marketplace=US, quantity=-1))
    second = validator.evaluate(row(3, sku="DUP", marketplace=US, quantity=1))
    assert codes(second.issues) == [("duplicate-sku", 3, "A"), ("duplicate-sku", 2, "A")]
    assert second.retracted == []


def test_duplicates_without_marketplace_are_still_found() -> None:
    validator = RowValidator(make_layout(["sku", "quantity"]))
    validator.check(row(2, sku="S", quantity=1))
    assert [i.code for i in validator.check(row(3, sku="S", quantity=1))] == ["duplicate-sku"] * 2


# -- kinds ----------------------------------------------------------------------------------------


def test_prices_sheet_neither_checks_nor_counts_a_quantity_column() -> None:
    # headers.py reports the column once (column-not-in-kind); rows say nothing more about it.
    layout = make_layout(["sku", "marketplace", "price", "quantity"], kind="prices")
    validator = RowValidator(layout)
    assert validator.check(row(2, sku="A", marketplace=US, price=Decimal("1"), quantity=-4)) == []
    (issue,) = validator.check(row(3, sku="B", marketplace=US, quantity=5))
    assert issue.code == "nothing-to-update"


def test_inventory_sheet_needs_an_inventory_field() -> None:
    layout = make_layout(["sku", "marketplace", "quantity"], kind="inventory")
    (issue,) = RowValidator(layout).check(row(sku="A", marketplace=US))
    assert issue.message == (
        "the row fills none of Quantity, Handling Time, Fulfillment Channel or Restock Date, "
        "so there is nothing to send"
    )


@pytest.mark.parametrize("kind", [None, "listings-unknown"])
def test_unknown_kind_is_a_usage_error(kind: str | None) -> None:
    layout = make_layout()
    layout.kind = kind
    with pytest.raises(UsageError, match="kind"):
        RowValidator(layout)


def test_row_schema_derives_its_field_sets() -> None:
    schema = row_schema("offers")
    assert schema.money_fields == ("price", "sale_price", "minimum_price", "maximum_price")
    assert schema.date_fields == ("sale_start_date", "sale_end_date", "restock_date")
    assert schema.attributes["price"] == "purchasable_offer.our_price"
    assert schema.title("handling_time") == "Handling Time"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("19.90"), "19.90"),
        (Decimal("1E+3"), "1000"),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (12345.0, "12345"),
        (None, ""),
        ("ab", "ab"),
    ],
)
def test_shown(value: Any, text: str) -> None:
    assert shown(value) == text


# -- whole sheets ---------------------------------------------------------------------------------


def test_validate_rows_counts_and_collects() -> None:
    layout = make_layout()
    rows = [
        row(2, sku="A", marketplace=US, price=Decimal("5")),
        row(3, sku="B", marketplace=US, price=Decimal("0")),
        row(4, sku="A", marketplace=US, price=Decimal("6")),  # duplicate of row 2
        row(5, sku="C", marketplace=DE, quantity=1),  # minority region
        row(6, sku="D", marketplace=US),  # nothing to update: a warning only
    ]
    report = validate_rows(layout, rows)
    assert (report.file, report.sheet, report.kind) == ("offers.xlsx", "Offers", "offers")
    assert codes(report.issues) == [
        ("price-not-positive", 3, "C"),
        ("duplicate-sku", 4, "A"),
        ("duplicate-sku", 2, "A"),
        ("nothing-to-update", 6, None),
        ("mixed-regions", 5, "B"),
    ]
    assert (report.rows, report.valid_rows) == (5, 1)
    assert report.exit_code() == 1


def test_validate_rows_limit_and_given_report() -> None:
    layout = make_layout()
    rows = [row(n, sku=f"S{n}", marketplace=US, price=Decimal("-1")) for n in range(2, 12)]
    report = validate_rows(layout, rows, limit=3)
    assert len(report.issues) == 3
    assert report.dropped == 7
    assert report.truncated
    given = Report(file="offers.xlsx", limit=None)
    given.add(Issue(code="structure", severity=Severity.WARNING, message="m"))
    validate_rows(layout, rows[:2], report=given)
    assert [i.code for i in given.issues] == [
        "structure",
        "price-not-positive",
        "price-not-positive",
    ]
    assert (given.rows, given.valid_rows) == (2, 0)


def test_many_clean_rows_have_nothing_to_say() -> None:
    """20,000 clean rows through the fast path: no issue, all valid (speed is bench/'s job)."""
    layout = make_layout()
    rows = [
        row(
            n,
            sku=f"SKU-{n}",
            marketplace=US,
            price=Decimal("19.99"),
            quantity=5,
            handling_time=2,
            sale_price=Decimal("9.99"),
            sale_start_date=dt.date(2026, 1, 1),
            sale_end_date=dt.date(2026, 1, 31),
        )
        for n in range(2, 20_002)
    ]
    report = validate_rows(layout, rows)
    assert report.issues == []
    assert report.valid_rows == 20_000


def test_at_the_issue_limit_an_error_pushes_out_a_warning() -> None:
    from feeds_kit.issues import Issue, Report, Severity

    report = Report(limit=3)
    for n in range(5):
        report.add(Issue(code="w", severity=Severity.WARNING, message=f"w{n}", row=n + 2))
    report.add(Issue(code="e", severity=Severity.ERROR, message="bad", row=9))
    assert [i.message for i in report.issues] == ["w0", "w1", "bad"]
    assert report.dropped == 3
    assert report.has_errors and report.exit_code() == 1
    # Once only errors are kept, a further error is counted, and still decides the exit code.
    full = Report(limit=1)
    full.add(Issue(code="e", severity=Severity.ERROR, message="one", row=2))
    full.add(Issue(code="e", severity=Severity.ERROR, message="two", row=3))
    assert (full.dropped, full.dropped_errors, full.exit_code()) == (1, 1, 1)


# -- hardening (issue 7) ----------------------------------------------------------------------


def test_a_sheet_without_data_rows_is_an_error() -> None:
    report = validate_rows(make_layout(), [])
    assert codes(report.issues) == [("no-data-rows", None, None)]
    issue = report.issues[0]
    assert issue.severity is Severity.ERROR
    assert issue.sentence() == (
        'Sheet "Offers": no data rows below the header row (row 1) — fill in at least one row '
        "under the headers, or pick the sheet with --sheet."
    )
    assert (report.rows, report.valid_rows) == (0, 0)


def test_one_row_is_enough_and_finish_says_it_once() -> None:
    validator = RowValidator(make_layout())
    validator.evaluate(row(sku="A-1", marketplace=US, price=Decimal("19.99"), quantity=5))
    assert validator.finish() == []
    empty = RowValidator(make_layout())
    assert [i.code for i in empty.finish()] == ["no-data-rows"]
    assert empty.finish() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("S" * 60, "S" * 60),
        ("S" * 61, "S" * 40 + "…"),
        (Decimal("9" * 100), "9" * 40 + "…"),
        (Decimal("19.90"), "19.90"),
        pytest.param(10**5000, "a number of about 5,000 digits", id="int-of-5001-digits"),
    ],
)
def test_shown_cuts_long_values(value: Any, expected: str) -> None:
    assert shown(value) == expected


@pytest.mark.parametrize(
    ("digits", "quoted"),
    [(29, "1" * 29 + ".555"), (60, "1" * 40 + "…"), (40_000, "1" * 40 + "…")],
)
def test_money_with_more_digits_than_the_context_holds(digits: int, quoted: str) -> None:
    # Library callers may pass such Decimals (the reader refuses them): no InvalidOperation.
    amount = Decimal("1" * digits + ".555")
    issues = check_one(row(sku="A-1", marketplace=US, price=amount))
    assert codes(issues) == [("price-too-many-decimals", 2, "C")]
    assert issues[0].message == (
        f'"{quoted}" has 3 decimal places, more than USD allows (2)'
    )
    assert issues[0].hint is not None and ("1" * 20) in issues[0].hint
