"""Cell normalisation: the value a seller meant, or one clear finding."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from feeds_kit import cells
from feeds_kit.cells import BLANK, Finding, converter_for, normalize
from feeds_kit.issues import CATALOGUE, Location, Severity
from feeds_kit.resources import load_schema

OFFERS = load_schema("rows", "offers.json")["properties"]


def norm(field: str, value: Any) -> tuple[Any, list[str]]:
    result = normalize(field, OFFERS[field], value)
    return result.value, result.codes


def sentence(field: str, value: Any) -> str:
    result = normalize(field, OFFERS[field], value)
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    where = Location(file="f.csv", row=3, column="B", header=field, field=field)
    return cells.problem_issue(problem, where, value).sentence()


@pytest.mark.parametrize(
    ("value", "expected", "codes"),
    [
        (19.99, Decimal("19.99"), []),
        (0.1 + 0.2, Decimal("0.30000000000000004"), []),
        (10.0, Decimal("10"), []),
        (10, Decimal("10"), []),
        ("19.99", Decimal("19.99"), []),
        (" 19.99 ", Decimal("19.99"), []),
        ("\u00a019.99", Decimal("19.99"), []),
        (".5", Decimal("0.5"), []),
        ("-3", Decimal("-3"), []),
        ("$19.99", Decimal("19.99"), ["number-with-currency"]),
        ("19.99 EUR", Decimal("19.99"), ["number-with-currency"]),
        ("eur 19.99", Decimal("19.99"), ["number-with-currency"]),
        ("€19.99", Decimal("19.99"), ["number-with-currency"]),
        ("1,299.00", Decimal("1299.00"), ["number-thousands-separator"]),
        ("1 299.00", Decimal("1299.00"), ["number-thousands-separator"]),
        ("£1,299.50", Decimal("1299.50"), ["number-with-currency", "number-thousands-separator"]),
        ("12,99", None, ["number-decimal-comma"]),
        ("1.299,00", None, ["number-decimal-comma"]),
        ("€ 12,99", None, ["number-decimal-comma"]),
        ("abc", None, ["not-a-number"]),
        ("1e5", None, ["not-a-number"]),
        ("NaN", None, ["not-a-number"]),
        ("1_000", None, ["not-a-number"]),
        (True, None, ["not-a-number"]),
        (float("inf"), None, ["not-a-number"]),
        ("#N/A", None, ["excel-error-value"]),
        ("   ", None, []),
    ],
)
def test_money(value: Any, expected: Any, codes: list[str]) -> None:
    assert norm("price", value) == (expected, codes)


def test_money_keeps_the_exact_decimal_from_excel_floats() -> None:
    value, _ = norm("price", 19.99)
    assert str(value) == "19.99"
    assert str(norm("price", 7.1)[0]) == "7.1"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("price", "12,99", 'Row 3, column B "price": "12,99" is not a number — write 12.99.'),
        (
            "price",
            "1.299,00",
            'Row 3, column B "price": "1.299,00" is not a number — write 1299.00.',
        ),
        (
            "price",
            "$19.99",
            'Row 3, column B "price": "$19.99" carries the currency $; it was read as 19.99 — '
            "write the number alone (19.99) and the currency in a Currency column.",
        ),
        (
            "quantity",
            2.5,
            'Row 3, column B "quantity": 2.5 is not a whole number — write a whole number such '
            "as 2 or 3.",
        ),
        (
            "sale_start_date",
            "12/01/2026",
            'Row 3, column B "sale_start_date": "12/01/2026" is a date written as text, which '
            "reads differently in different countries — write it as YYYY-MM-DD (e.g. "
            "2026-12-01) or format the cell as a date.",
        ),
        (
            "fulfillment_channel",
            "drone",
            'Row 3, column B "fulfillment_channel": "drone" is not one of the allowed values — '
            "use one of: DEFAULT, AMAZON.",
        ),
        (
            "sku",
            12345.0,
            'Row 3, column B "sku": SKU 12345 is stored as a number, so Excel may have dropped '
            "leading zeros or digits — format the SKU column as Text and type the SKU exactly "
            "as in Seller Central.",
        ),
    ],
)
def test_messages_are_one_sentence_with_the_fix(field: str, value: Any, expected: str) -> None:
    assert sentence(field, value) == expected


@pytest.mark.parametrize(
    ("value", "expected", "codes"),
    [
        (10, 10, []),
        (10.0, 10, []),
        ("10", 10, []),
        (" 10 ", 10, []),
        ("10.0", 10, []),
        ("-4", -4, []),
        (-4.0, -4, []),
        ("1,000", 1000, ["number-thousands-separator"]),
        (2.5, None, ["not-a-whole-number"]),
        ("2.5", None, ["not-a-whole-number"]),
        ("2,5", None, ["not-a-whole-number"]),
        ("10,0", None, ["number-decimal-comma"]),
        ("ten", None, ["not-a-number"]),
        ("5 pcs", None, ["not-a-number"]),
        ("$5", None, ["not-a-number"]),
        (True, None, ["not-a-number"]),
        ("#REF!", None, ["excel-error-value"]),
    ],
)
def test_integer(value: Any, expected: Any, codes: list[str]) -> None:
    assert norm("quantity", value) == (expected, codes)


def test_integer_thousands_hint_shows_the_whole_number() -> None:
    result = normalize("quantity", OFFERS["quantity"], "1,000")
    assert result.problems[0].params["number"] == "1000"


@pytest.mark.parametrize(
    ("value", "expected", "codes"),
    [
        ("12345", "12345", []),
        ("00123", "00123", []),
        ("A 1", "A 1", []),
        (12345.0, "12345", ["sku-typed-as-number"]),
        (12345, "12345", ["sku-typed-as-number"]),
        (123.45, "123.45", ["sku-typed-as-number"]),
        ("  TSHIRT-RED ", "TSHIRT-RED", ["sku-trimmed"]),
        (date(2026, 3, 1), None, ["sku-typed-as-date"]),
        (datetime(2026, 3, 1), None, ["sku-typed-as-date"]),
        ("#N/A", None, ["excel-error-value"]),
    ],
)
def test_sku(value: Any, expected: Any, codes: list[str]) -> None:
    assert norm("sku", value) == (expected, codes)


def test_sku_warnings_are_warnings() -> None:
    for value in (12345.0, " A "):
        result = normalize("sku", OFFERS["sku"], value)
        assert [p.type.severity for p in result.problems] == [Severity.WARNING]


@pytest.mark.parametrize(
    ("value", "expected", "codes"),
    [
        (date(2026, 12, 1), date(2026, 12, 1), []),
        (datetime(2026, 12, 1), date(2026, 12, 1), []),
        ("2026-12-01", date(2026, 12, 1), []),
        (" 2026-12-01 ", date(2026, 12, 1), []),
        ("2026-1-5", date(2026, 1, 5), []),
        ("2026-12-01 00:00:00", date(2026, 12, 1), []),
        ("2026-12-01T00:00:00Z", date(2026, 12, 1), []),
        (datetime(2026, 12, 1, 10, 30), None, ["date-with-time"]),
        ("2026-12-01T10:30", None, ["date-with-time"]),
        ("12/01/2026", None, ["date-as-text"]),
        ("01.12.2026", None, ["date-as-text"]),
        ("1 Dec 2026", None, ["date-as-text"]),
        ("December 1, 2026", None, ["date-as-text"]),
        ("2026/12/01", None, ["date-as-text"]),
        ("20261201", None, ["date-as-text"]),
        ("2026-02-30", None, ["not-a-date"]),
        ("soon", None, ["not-a-date"]),
        (46357, None, ["not-a-date"]),
        (time(10, 0), None, ["not-a-date"]),
    ],
)
def test_date(value: Any, expected: Any, codes: list[str]) -> None:
    assert norm("restock_date", value) == (expected, codes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DEFAULT", "DEFAULT"),
        ("default", "DEFAULT"),
        ("MFN", "DEFAULT"),
        ("merchant", "DEFAULT"),
        ("DEFAULT (you ship)", "DEFAULT"),
        ("Fulfilment by Merchant (Default)", "DEFAULT"),
        ("amazon", "AMAZON"),
        ("FBA", "AMAZON"),
        ("afn", "AMAZON"),
        ("AMAZON_NA", "AMAZON"),
        ("AMAZON_EU", "AMAZON"),
        ("amazon_jp", "AMAZON"),
        ("AMAZON_EU_VCS", "AMAZON"),
        (" Amazon ", "AMAZON"),
    ],
)
def test_fulfillment_channel_synonyms(value: str, expected: str) -> None:
    assert norm("fulfillment_channel", value) == (expected, [])


@pytest.mark.parametrize(
    ("value", "expected", "codes"),
    [
        ("US", "ATVPDKIKX0DER", []),
        ("de", "A1PA6795UKMFR9", []),
        ("GB", "A1F83G8C2ARO7P", []),
        ("amazon.co.jp", "A1VC38T7YXB528", []),
        ("ATVPDKIKX0DER", "ATVPDKIKX0DER", []),
        ("amzn1.mp.o.A1RKKUPIHCS9HS", "A1RKKUPIHCS9HS", []),
        ("Narnia", None, ["unknown-marketplace"]),
        (1, None, ["unknown-marketplace"]),
    ],
)
def test_marketplace(value: Any, expected: Any, codes: list[str]) -> None:
    assert norm("marketplace", value) == (expected, codes)


@pytest.mark.parametrize(("value", "expected"), [(" usd ", "USD"), ("eur", "EUR"), ("", None)])
def test_currency_upper_cased(value: str, expected: str | None) -> None:
    assert norm("currency", value) == (expected, [])


@pytest.mark.parametrize(
    ("value", "expected", "codes"),
    [("yes", True, []), ("No", False, []), (True, True, []), (1, True, []),
     ("maybe", None, ["not-a-boolean"])],
)
def test_boolean_fields(value: Any, expected: Any, codes: list[str]) -> None:
    result = normalize("flag", {"type": "boolean"}, value)
    assert (result.value, result.codes) == (expected, codes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12.0, "12"), (1.5, "1.5"), (" x ", "x"), (date(2026, 1, 2), "2026-01-02")],
)
def test_plain_text_fields(value: Any, expected: str) -> None:
    assert normalize("note", {"type": "string"}, value).value == expected


def test_blank_is_absent_and_a_finding_without_problems() -> None:
    for field in ("sku", "price", "quantity", "restock_date", "fulfillment_channel", "currency"):
        assert converter_for(field, OFFERS[field])("  ") is BLANK
    assert isinstance(BLANK, Finding) and not BLANK.problems and not BLANK.ok
    assert normalize("price", OFFERS["price"], None).value is None


def test_memoized_converters_answer_the_same_twice() -> None:
    convert = converter_for("marketplace", OFFERS["marketplace"])
    first, second = convert("Narnia"), convert("Narnia")
    assert first is second and isinstance(first, Finding)
    assert convert("US") == convert("US") == "ATVPDKIKX0DER"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12345.0, "12345"), ("x", '"x"'), (None, "a blank cell"), (True, "TRUE"),
     (datetime(2026, 1, 2), "2026-01-02"), (datetime(2026, 1, 2, 3, 4), "2026-01-02 03:04:00"),
     (1.25, "1.25")],
)
def test_shown(value: Any, expected: str) -> None:
    assert cells.shown(value) == expected


def test_canonical_makes_engines_agree() -> None:
    assert cells.canonical(12345.0) == 12345 and type(cells.canonical(12345.0)) is int
    assert cells.canonical(datetime(2026, 1, 2)) == date(2026, 1, 2)
    assert cells.canonical(datetime(2026, 1, 2, 1)) == datetime(2026, 1, 2, 1)


def test_every_cell_issue_type_is_catalogued_with_docs() -> None:
    codes = [
        "sku-typed-as-number", "sku-typed-as-date", "sku-trimmed", "number-with-currency",
        "number-thousands-separator", "number-decimal-comma", "not-a-number",
        "not-a-whole-number", "date-as-text", "not-a-date", "date-with-time",
        "not-allowed-value", "not-a-boolean", "unknown-marketplace", "excel-error-value",
        "formula-without-value",
    ]
    for code in codes:
        entry = CATALOGUE[code]
        assert entry.description and entry.hint and entry.title, code


# --- hardening (issue 7): every converter is total, absurd numbers are refused ----------------

LISTINGS = load_schema("rows", "listings.json")["properties"]


@pytest.mark.parametrize("field", ["quantity", "handling_time", "price"])
@pytest.mark.parametrize(
    "value", ["0\x1f", "\x1c5", "٣", "²", "１２", "5\u2028", "1\x00", "\ud800", "½"]
)
def test_control_characters_and_foreign_digits_are_not_numbers(field: str, value: str) -> None:
    assert norm(field, value) == (None, ["not-a-number"])


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        (Decimal("NaN"), ["not-a-whole-number"]),
        (Decimal("sNaN"), ["not-a-whole-number"]),
        (Decimal("Infinity"), ["not-a-whole-number"]),
        (Decimal("-Infinity"), ["not-a-whole-number"]),
        (Decimal("7"), []),
        (Decimal("7.5"), ["not-a-whole-number"]),
    ],
)
def test_decimals_given_to_the_count_converter(value: Decimal, codes: list[str]) -> None:
    assert norm("quantity", value)[1] == codes


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_non_finite_decimal_price_is_not_a_number(value: Decimal) -> None:
    assert norm("price", value) == (None, ["not-a-number"])


@pytest.mark.parametrize(
    ("field", "value", "digits"),
    [
        ("price", "1" * 29 + ".5", "30"),
        ("price", "9" * 40_000, "40,000"),
        ("price", "1234567890123456", "16"),
        ("price", 10**20, "21"),
        ("price", 1e300, "301"),
        ("price", Decimal("1E+400"), "401"),
        ("price", "0." + "1" * 30, "30"),
        ("quantity", "9" * 5_000, "5,000"),
        ("quantity", " " + "9" * 20, "20"),
        pytest.param("quantity", 10**5000, "5,001", id="quantity-int-of-5001-digits"),
        ("quantity", 1e20, "21"),
    ],
)
def test_absurdly_long_numbers_are_refused(field: str, value: Any, digits: str) -> None:
    result = normalize(field, OFFERS[field], value)
    assert result.value is None and result.codes == ["number-too-long"]
    assert result.problems[0].params["digits"] == digits


def test_number_too_long_sentence_cuts_the_value() -> None:
    assert sentence("price", "9" * 40_000) == (
        'Row 3, column B "price": "' + "9" * 40 + '…" (40,000 characters) has 40,000 digits, '
        "more than any price or count can have — write the amount itself, at most 15 digits "
        "before the decimal point, e.g. 19.99."
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("price", "123456789012345", Decimal("123456789012345")),
        ("price", "19.990000000000002", Decimal("19.990000000000002")),
        ("price", 999999999999999.0, Decimal("999999999999999")),
        ("quantity", "999999999999999", 999999999999999),
    ],
)
def test_long_but_plausible_numbers_are_kept(field: str, value: Any, expected: Any) -> None:
    assert norm(field, value) == (expected, [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("S" * 60, '"' + "S" * 60 + '"'),
        ("S" * 61, '"' + "S" * 40 + '…" (61 characters)'),
        ("é" * 40_000, '"' + "é" * 40 + '…" (40,000 characters)'),
        (10**70, "1" + "0" * 39 + "… (71 characters)"),
        pytest.param(10**5000, "a number of about 5,000 digits", id="int-of-5001-digits"),
    ],
)
def test_shown_cuts_long_values(value: Any, expected: str) -> None:
    assert cells.shown(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PartialUpdate", "partial_update"),
        ("PARTIAL_UPDATE", "partial_update"),
        ("partialupdate", "partial_update"),
        ("Create or Replace (Full Update)", "update"),
        ("create or replace (full update)", "update"),
        ("(Default) Create or Replace", "update"),
        ("full_update", "update"),
        ("Edit (Partial Update)", "partial_update"),
        ("DELETE", "delete"),
        ("partial_update", "partial_update"),
    ],
)
def test_enum_aliases_of_the_schema_are_honoured(value: str, expected: str) -> None:
    result = normalize("operation", LISTINGS["operation"], value)
    assert (result.value, result.codes) == (expected, [])


def test_enum_aliases_naming_no_allowed_value_are_ignored() -> None:
    spec = {"type": "string", "enum": ["a", "b"], "x-enum-aliases": {"zed": "c", "bee": "b"}}
    assert normalize("x", spec, "bee").value == "b"
    assert normalize("x", spec, "zed").codes == ["not-allowed-value"]
