"""Property-based tests (hypothesis): whatever cells a sheet holds, feeds-kit answers with a
report or a clear refusal, never an exception, and whatever it builds Amazon's schema accepts.

* any sheet of random cells, as .xlsx (openpyxl) or CSV (random encoding and delimiter), read
  by either engine: ``validate_file`` returns a report or raises :class:`InputError` /
  :class:`UsageError`, nothing else;
* any such sheet built with ``--skip-invalid``: every feed document validates against
  ``schemas/amazon/listings-feed-schema-v2.json``, and its manifest maps each message back to a
  row of the sheet;
* cell normalisation (``feeds_kit.cells.normalize``) never raises on any value of any type a
  reader can produce, for any field of any kind.

Examples stay small and few (``max_examples``) so the file runs in seconds; set
``FEEDS_KIT_PROPERTY_EXAMPLES=2000`` for a deeper hunt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sheetmaker import write_csv, write_xlsx

from feeds_kit import resources
from feeds_kit.api import build_file, validate_file
from feeds_kit.cells import normalize
from feeds_kit.errors import InputError, UsageError
from feeds_kit.headers import KINDS, field_specs
from feeds_kit.manifest import Manifest
from feeds_kit.marketplaces import get_marketplace
from feeds_kit.reading import open_sheet
from feeds_kit.validation import RowValidator

FEED_SCHEMA = resources.load_schema("amazon", "listings-feed-schema-v2.json")
FEED_VALIDATOR = jsonschema.Draft7Validator(FEED_SCHEMA)
SHEET_KINDS = tuple(k for k in KINDS if k != "listings")

EXAMPLES = int(os.environ.get("FEEDS_KIT_PROPERTY_EXAMPLES", "40"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------------

_HEADERS = sorted({name for kind in SHEET_KINDS for name in field_specs(kind)})


def _header_text() -> st.SearchStrategy[str]:
    known = st.sampled_from(_HEADERS).flatmap(
        lambda name: st.sampled_from([name, name.upper(), name.replace("_", " "),
                                      name.replace("_", "-").title(), f" {name} "])
    )
    return st.one_of(known, known, st.text(min_size=1, max_size=12))


def _money_text() -> st.SearchStrategy[str]:
    return st.from_regex(
        r"\A[-+]?[$€£]?\s?\d{1,9}([.,]\d{1,4})?\s?(EUR|USD)?\Z|\A\d{1,3}([.,]\d{3}){1,3}\Z",
        fullmatch=True,
    )


def _date_text() -> st.SearchStrategy[str]:
    return st.from_regex(r"\A\d{1,4}[./-]\d{1,2}[./-]\d{1,4}( \d{1,2}:\d{2})?\Z", fullmatch=True)


CELL = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["US", "DE", "uk", "ATVPDKIKX0DER", "amazon.fr", "DEFAULT", "AMAZON_NA",
                     "#N/A", "#REF!", "TRUE", "yes", "0", "-1", "1e400", "NaN", " ", "\u00a0"]),
    _money_text(),
    _date_text(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
)


@st.composite
def sheets(draw: st.DrawFn) -> list[list[Any]]:
    """A header row of 1-7 columns (mostly known headers) and 0-6 rows of random cells."""
    width = draw(st.integers(min_value=1, max_value=7))
    header = draw(st.lists(_header_text(), min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=width + 1), max_size=6))
    return [header, *rows]


def _xlsx_safe(value: Any) -> Any:
    # openpyxl refuses control characters XML cannot hold (Excel cannot hold them either).
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _csv_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    # hypothesis runs the body many times per test: a fresh folder each time, not tmp_path.
    with tempfile.TemporaryDirectory(prefix="fk-prop-") as name:
        yield Path(name)


def _write(folder: Path, rows: list[list[Any]], fmt: str, encoding: str, delimiter: str) -> Path:
    if fmt == "xlsx":
        return write_xlsx(folder / "sheet.xlsx", [[_xlsx_safe(v) for v in r] for r in rows])
    text_rows = [[_csv_text(v) for v in r] for r in rows]
    return write_csv(folder / "sheet.csv", text_rows, encoding=encoding, delimiter=delimiter)


def _encodable(rows: list[list[Any]], encoding: str) -> bool:
    try:
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    value.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# --- properties ---------------------------------------------------------------------------------


@PROPERTY
@given(
    rows=sheets(),
    fmt=st.sampled_from(["xlsx", "csv"]),
    engine=st.sampled_from(["calamine", "openpyxl"]),
    encoding=st.sampled_from(["utf-8", "utf-8", "cp1252", "utf-16"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    kind=st.sampled_from([None, *SHEET_KINDS]),
)
def test_any_sheet_validates_or_yields_issues(
    rows: list[list[Any]], fmt: str, engine: str, encoding: str, delimiter: str,
    kind: str | None,
) -> None:
    if fmt == "csv" and not _encodable(rows, encoding):
        encoding = "utf-8"
    with _folder() as folder:
        path = _write(folder, rows, fmt, encoding, delimiter)
        before = path.read_bytes()
        try:
            result = validate_file(path, engine=engine, kind=kind, marketplace="US")
        except (InputError, UsageError) as refused:
            # A refusal is one sentence naming the file (or, for a usage error, the fix).
            text = str(refused)
            assert text.endswith(".")
            if isinstance(refused, InputError):
                assert str(path) in text
        else:
            report = result.report
            assert 0 <= report.valid_rows <= report.rows
            for issue in report.issues:
                assert issue.message and issue.code
                assert issue.sentence().endswith((".", "!", "?"))
                assert issue.row is None or issue.row >= 2
            assert result.exit_code() in (0, 1)
        assert path.read_bytes() == before



#: Per column: values a clean row may hold, and values that break it (or that a rule meets).
_PLAUSIBLE: dict[str, tuple[list[Any], list[Any]]] = {
    "sku": ([f"S-{n}" for n in range(12)], ["", "x" * 41, 12345]),
    "price": (["19.99", "20", "5.5", 19.99, 7], ["0", "-1", "9.999", "12,50", ""]),
    "sale_price": (["", "", "15.00", 9.5], ["25", "abc"]),
    "minimum_price": (["", "", "1"], ["30"]),
    "maximum_price": (["", "", "50"], ["2"]),
    "currency": (["", "USD"], ["EUR", "JPY", "usd"]),
    "quantity": (["3", "0", "", 4, 4.0], ["2.5", "-1"]),
    "handling_time": (["2", "", 1], ["31"]),
    "fulfillment_channel": (["DEFAULT", ""], ["AMAZON", "fba"]),
    # Japan only as a break: a batch mixing yen and cents goes row by row as a whole.
    "marketplace": (["US", "US", ""], ["DE", "UK", "Mars", "JP"]),
    "sale_start_date": (["", "2026-01-01", dt.date(2026, 1, 2)], ["1.2.2026"]),
    "sale_end_date": (["", "2026-01-31", dt.date(2026, 1, 15)], ["2025-12-01"]),
}


@st.composite
def offer_sheets(draw: st.DrawFn) -> list[list[Any]]:
    """Sheets that look like real offers sheets: known headers, most rows clean (repeated
    SKUs among them), the others broken in one cell, by a rule's value or by anything at all."""
    others = sorted(n for n in _PLAUSIBLE if n != "sku")
    names = ["sku", *draw(st.lists(st.sampled_from(others), unique=True, max_size=11))]
    rows = [names]
    for _ in range(draw(st.integers(min_value=0, max_value=40))):
        row = [draw(st.sampled_from(_PLAUSIBLE[n][0])) for n in names]
        if draw(st.integers(0, 9)) < 4:
            at = draw(st.integers(0, len(names) - 1))
            row[at] = draw(st.one_of(st.sampled_from(_PLAUSIBLE[names[at]][1]), CELL))
        rows.append(row)
    return rows


@PROPERTY
@given(
    rows=st.one_of(sheets(), offer_sheets(), offer_sheets()),
    fmt=st.sampled_from(["xlsx", "csv"]),
    kind=st.sampled_from([None, "offers", "prices", "inventory"]),
    marketplace=st.sampled_from([None, "US", "US", "US", "JP"]),
)
# Rows that only a cross-field rule refuses, among clean ones (random sheets meet them rarely).
@example(rows=[["sku", "marketplace", "currency", "price"], ["S-0", "US", "USD", "19.99"],
               ["S-1", "US", "EUR", "19.99"], ["S-0", "", "", "5"]],
         fmt="csv", kind=None, marketplace="US")
@example(rows=[["sku", "price", "sale_price", "sale_start_date", "sale_end_date", "quantity"],
               ["S-0", "19.99", "9.999", "2026-01-01", "2026-01-31", "3"],
               ["S-1", "20", "25", "2026-01-01", "2026-01-31", ""],
               ["S-2", "5.5", "", "", "", "4"], ["S-3", "", "", "", "", ""]],
         fmt="xlsx", kind="offers", marketplace="US")
@example(rows=[["sku", "fulfillment_channel", "quantity", "minimum_price", "maximum_price"],
               ["S-0", "AMAZON", "3", "1", "50"], ["S-1", "DEFAULT", "3", "30", "2"],
               ["S-3", "AMAZON", "", "", ""],
               ["S-2", "AMAZON", "", "1", "50"]],
         fmt="csv", kind=None, marketplace="US")
def test_validate_by_batch_says_what_row_by_row_says(
    rows: list[list[Any]], fmt: str, kind: str | None, marketplace: str | None
) -> None:
    """``validate`` checks batches by column; the row-by-row path must find the same."""
    with _folder() as folder:
        path = _write(folder, rows, fmt, "utf-8", ",")
        try:
            result = validate_file(path, kind=kind, marketplace=marketplace, limit=None)
        except (InputError, UsageError):
            return
        if result.layout is None or result.layout.kind not in ("offers", "prices",
                                                                "inventory"):
            return
        with open_sheet(path, kind=kind) as source:
            if not source.structure_ok:
                return
            validator = RowValidator(source.layout,
                                     marketplace=get_marketplace(marketplace)
                                     if marketplace else None)
            issues = list(source.issues)
            count = 0
            invalid: set[int] = set()
            for row in source.rows():
                verdict = validator.evaluate(row)
                count += 1
                issues.extend(verdict.issues)
                invalid.update(verdict.retracted)
                if not verdict.valid:
                    invalid.add(row.number)
            issues.extend(validator.finish())
            invalid.update(validator.invalid_at_finish)
        report = result.report
        assert report.issues == issues
        assert (report.rows, report.valid_rows) == (count, count - len(invalid))

@PROPERTY
@given(rows=sheets(), fmt=st.sampled_from(["xlsx", "csv"]), kind=st.sampled_from(SHEET_KINDS))
def test_every_built_document_validates_against_amazons_schema(
    rows: list[list[Any]], fmt: str, kind: str
) -> None:
    with _folder() as folder:
        path = _write(folder, rows, fmt, "utf-8", ",")
        output = folder / "out" / "feed.json"
        try:
            outcome = build_file(path, output, seller_id="A1PROPERTY", kind=kind,
                                 marketplace="US", skip_invalid=True)
        except (InputError, UsageError):
            return
        if outcome.build is None:
            assert not list(output.parent.glob("*.json")) if output.parent.exists() else True
            return
        manifest = Manifest.load(output.parent / "feed.manifest.json")
        sheet_rows = set(range(2, len(rows) + 2))
        for number, document_info in enumerate(outcome.build.documents):
            document = json.loads(Path(document_info.path).read_text(encoding="utf-8"))
            errors = sorted(FEED_VALIDATOR.iter_errors(document), key=str)
            assert errors == [], errors[0].message if errors else ""
            assert document["header"]["sellerId"] == "A1PROPERTY"
            entries = manifest.documents[number].messages
            assert sorted(entries) == [m["messageId"] for m in document["messages"]]
            for message in document["messages"]:
                entry = entries[message["messageId"]]
                assert entry.row in sheet_rows
                assert entry.sku == message["sku"]


_ANY_VALUE = st.one_of(
    CELL,
    st.text(),
    st.from_regex(r"\A-?\d{1,40}(\.\d{1,40})?\Z", fullmatch=True),
    st.integers(),
    st.floats(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.times(),
    st.timedeltas(),
    st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0, 10**400, "\ud800"]),
)
_FIELDS = [(kind, name, spec) for kind in KINDS for name, spec in field_specs(kind).items()]


@settings(max_examples=EXAMPLES * 8, deadline=None)
@given(target=st.sampled_from(_FIELDS), value=_ANY_VALUE)
def test_cell_normalisation_never_raises(target: tuple[str, str, dict[str, Any]],
                                         value: Any) -> None:
    _kind, name, spec = target
    result = normalize(name, spec, value)
    for problem in result.problems:
        # Every problem renders: its message template fills with what the converter gave.
        problem.type.at(value=value, **problem.params)


# --- found by the properties above; kept as named regressions ----------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
@pytest.mark.parametrize("field", ["quantity", "handling_time"])
def test_non_finite_decimals_are_not_whole_numbers(field: str, value: str) -> None:
    result = normalize(field, field_specs("offers")[field], decimal.Decimal(value))
    assert result.value is None and result.problems


@PROPERTY
@given(digits=st.integers(min_value=29, max_value=200))
@example(digits=40_000)
def test_a_price_of_many_digits_yields_an_issue(digits: int) -> None:
    with _folder() as folder:
        path = write_csv(folder / "long.csv", [["sku", "marketplace", "price"],
                                               ["SKU-1", "US", "1" * digits + ".5"]])
        result = validate_file(path)
        assert [i.code for i in result.report.errors]
