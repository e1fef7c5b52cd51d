"""Batch validation (``RowValidator.evaluate_batch``) says exactly what row-by-row does.

The batch path proves most rows clean by column and sends the rest (suspects) through the
row path; these tests hold the two to the same findings, verdicts, retractions and end-of-file
findings on random batches built to hit every rule: duplicates across and within batches,
marketplaces typed or defaulted or unknown, currencies of other precision, FBA rows, money in
and out of order, dates as dates or text, blank rows, rows read with findings.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds_kit.column_checks import compile_columns
from feeds_kit.issues import Issue, Severity
from feeds_kit.marketplaces import BY_CODE
from feeds_kit.rows import ABSENT, Column, Row, RowBatch, SheetLayout, column_letter
from feeds_kit.validation import RowValidator, row_schema

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
JP = "A1VC38T7YXB528"
UK = "A1F83G8C2ARO7P"

FIELDS = {
    "offers": ["sku", "marketplace", "price", "currency", "quantity", "handling_time",
               "fulfillment_channel", "sale_price", "sale_start_date", "sale_end_date",
               "minimum_price", "maximum_price", "restock_date"],
    "prices": ["sku", "marketplace", "price", "currency", "sale_price", "sale_start_date",
               "sale_end_date", "minimum_price", "maximum_price", "quantity"],
    "inventory": ["sku", "marketplace", "quantity", "handling_time", "fulfillment_channel",
                  "restock_date"],
}

_MONEY = st.one_of(
    st.sampled_from([Decimal("19.99"), Decimal("20"), Decimal("5.5"), Decimal("0"),
                     Decimal("-1"), Decimal("9.999"), Decimal("1E+30"), Decimal("NaN"),
                     Decimal("3.10"), Decimal("100")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
    st.integers(min_value=-2, max_value=50),
)
_DATE = st.one_of(
    st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)),
    st.just(dt.datetime(2026, 6, 1, 12, 0)),
    st.sampled_from(["2026-05-01", "1.5.2026", "soon"]),
)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "sku": st.one_of(st.sampled_from(["A", "B", "C", "D", "A-1", "x" * 41, " "]),
                     st.text(min_size=1, max_size=4), st.integers(0, 3)),
    "marketplace": st.sampled_from([US, US, US, DE, UK, JP, "bogus", 7]),
    "price": _MONEY,
    "sale_price": _MONEY,
    "minimum_price": _MONEY,
    "maximum_price": _MONEY,
    "currency": st.sampled_from(["USD", "USD", "EUR", "GBP", "JPY", "usd", "XXXX"]),
    "quantity": st.one_of(st.integers(-1, 20), st.just(True), st.just(2.5)),
    "handling_time": st.integers(-1, 40),
    "fulfillment_channel": st.sampled_from(["DEFAULT", "DEFAULT", "AMAZON", "other"]),
    "sale_start_date": _DATE,
    "sale_end_date": _DATE,
    "restock_date": _DATE,
}


def _layout(kind: str, fields: list[str], **notes: Any) -> SheetLayout:
    columns = [Column(i, column_letter(i), name.title(), name) for i, name in enumerate(fields)]
    return SheetLayout(file="s.csv", sheet=None, kind=kind, header_row=1, data_row=2,
                       columns=columns, notes=dict(notes))


@st.composite
def sheets(draw: st.DrawFn) -> tuple[str, SheetLayout, Any, list[RowBatch]]:
    kind = draw(st.sampled_from(sorted(FIELDS)))
    # Each field in most sheets, so rules between fields meet.
    fields = ["sku", *(f for f in FIELDS[kind][1:] if draw(st.integers(0, 9)) < 7)]
    default = draw(st.sampled_from([None, US, JP, DE]))
    layout = _layout(kind, fields)
    # Mostly clean rows, so the bulk path has runs to record: a "clean" row copies a
    # template row with a fresh SKU; the rest are drawn freely.
    template = {"sku": "T", "price": Decimal("20.00"), "currency": ABSENT, "quantity": 3,
                "handling_time": 2, "fulfillment_channel": "DEFAULT"}
    count = draw(st.integers(min_value=0, max_value=60))
    batches: list[RowBatch] = []
    number = 2
    size = draw(st.integers(min_value=1, max_value=25))
    rows: list[list[Any]] = []
    special: dict[int, Row | None] = {}
    for n in range(count):
        style = draw(st.sampled_from(["clean"] * 5 + ["one"] * 4 + ["free", "blank", "read"]))
        # "one": a clean row with one or two cells drawn freely, to meet each rule alone.
        changed = {draw(st.sampled_from(fields))}
        cells: list[Any] = []
        for name in fields:
            if style == "blank":
                cells.append(ABSENT)
            elif style == "free" or (style == "one" and name in changed):
                cells.append(draw(st.one_of(st.just(ABSENT), VALUES[name])))
            elif name == "sku":
                cells.append(draw(st.sampled_from([f"S{n}", f"S{n}", "A", "B"])))
            elif name == "marketplace":
                cells.append(draw(st.sampled_from([ABSENT, US, US, US, DE])))
            else:
                cells.append(template.get(name, ABSENT))
        k = len(rows)
        rows.append(cells)
        if style == "read":
            values = {f: v for f, v in zip(fields, cells, strict=True) if v is not ABSENT}
            issue = Issue(code="number-decimal-comma", severity=Severity.ERROR, message="m",
                          file=layout.file, row=number + k, column="C", field="price")
            special[k] = Row(number + k, values, {"price": "1,5"}, [issue])
        if len(rows) == size or n == count - 1:
            columns = [list(c) for c in zip(*rows, strict=True)] if rows else []
            batches.append(RowBatch(number, len(rows), tuple(fields), columns, special))
            number += len(rows)
            rows, special = [], {}
    market = None if default is None else BY_CODE["US" if default == US else
                                                   "JP" if default == JP else "DE"]
    return kind, layout, market, batches


def _row_by_row(layout: SheetLayout, market: Any, batches: list[RowBatch]) -> tuple[Any, ...]:
    validator = RowValidator(layout, marketplace=market)
    verdicts = [validator.evaluate(row) for batch in batches for row in batch.rows()]
    issues = [i for v in verdicts for i in v.issues]
    said = [(v.row, v.valid, v.marketplace_id, v.retracted) for v in verdicts
            if v.issues or not v.valid or v.retracted]
    return (len(verdicts), issues, said, validator.finish(), validator.invalid_at_finish)


def _by_batch(layout: SheetLayout, market: Any, batches: list[RowBatch]) -> tuple[Any, ...]:
    validator = RowValidator(layout, marketplace=market)
    count = 0
    verdicts = []
    for batch in batches:
        checked = validator.evaluate_batch(batch)
        count += checked.rows
        verdicts.extend(checked.verdicts)
    issues = [i for v in verdicts for i in v.issues]
    said = [(v.row, v.valid, v.marketplace_id, v.retracted) for v in verdicts
            if v.issues or not v.valid or v.retracted]
    return (count, issues, said, validator.finish(), validator.invalid_at_finish)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet=sheets())
def test_batches_say_what_rows_say(sheet: tuple[str, SheetLayout, Any, list[RowBatch]]) -> None:
    _kind, layout, market, batches = sheet
    assert _by_batch(layout, market, batches) == _row_by_row(layout, market, batches)


def test_clean_batch_needs_no_row_path() -> None:
    layout = _layout("offers", ["sku", "marketplace", "price", "quantity"])
    size = 1000
    columns = [[f"SKU-{k}" for k in range(size)], [US] * size,
               [Decimal("19.99")] * size, list(range(size))]
    batch = RowBatch(2, size, ("sku", "marketplace", "price", "quantity"), columns)
    checked = RowValidator(layout).evaluate_batch(batch)
    assert (checked.rows, checked.verdicts) == (size, [])


def test_duplicates_inside_a_clean_batch_are_worded_by_the_row_path() -> None:
    layout = _layout("offers", ["sku", "marketplace", "quantity"])
    batch = RowBatch(2, 3, ("sku", "marketplace", "quantity"),
                     [["A", "B", "A"], [US, US, US], [1, 2, 3]])
    checked = RowValidator(layout).evaluate_batch(batch)
    assert checked.rows == 3
    [verdict] = checked.verdicts
    assert (verdict.row, verdict.valid, verdict.retracted) == (4, False, [2])
    assert [(i.code, i.row) for i in verdict.issues] == [("duplicate-sku", 4),
                                                        ("duplicate-sku", 2)]


@pytest.mark.parametrize("schema", [
    {"type": "object", "allOf": [{"required": ["sku"]}]},
    {"type": "object", "properties": {"sku": {"type": "string", "multipleOf": 2}}},
    {"type": "object", "properties": {"sku": {"type": ["string", "null"]}}},
    {"type": "object", "properties": {"d": {"type": "string", "format": "email"}}},
])
def test_schemas_beyond_the_compiled_keywords_are_checked_row_by_row(
    schema: dict[str, Any],
) -> None:
    assert compile_columns(schema) is None


def test_the_shipped_row_schemas_compile() -> None:
    for kind in FIELDS:
        assert row_schema(kind).columns is not None


_CLEAN = {"sku": "S", "marketplace": US, "price": Decimal("20.00"), "currency": "USD",
          "quantity": 3, "handling_time": 2, "fulfillment_channel": "DEFAULT",
          "sale_price": Decimal("15.00"), "sale_start_date": dt.date(2026, 1, 1),
          "sale_end_date": dt.date(2026, 1, 31), "minimum_price": Decimal("10.00"),
          "maximum_price": Decimal("30.00"), "restock_date": ABSENT}


@pytest.mark.parametrize(("name", "change"), [
    ("currency mismatch", {"currency": "EUR"}),
    ("too many decimals", {"price": Decimal("20.005")}),
    ("not a finite amount", {"maximum_price": Decimal("Infinity")}),
    ("sale not below price", {"sale_price": Decimal("20.00")}),
    ("price below minimum", {"minimum_price": Decimal("25.00")}),
    ("price above maximum", {"maximum_price": Decimal("19.00")}),
    ("minimum above maximum", {"minimum_price": Decimal("25.00"), "price": ABSENT,
                               "maximum_price": Decimal("20.00"), "sale_price": ABSENT,
                               "sale_start_date": ABSENT, "sale_end_date": ABSENT}),
    ("sale dates reversed", {"sale_start_date": dt.date(2026, 2, 1)}),
    ("date and time compared", {"sale_end_date": dt.datetime(2026, 2, 1, 9, 0)}),
    ("date as text", {"restock_date": "2026-05-01"}),
    ("FBA with a quantity", {"fulfillment_channel": "AMAZON"}),
    ("nothing to send", {k: ABSENT for k in ("price", "quantity", "handling_time",
                                             "fulfillment_channel", "sale_price",
                                             "sale_start_date", "sale_end_date",
                                             "minimum_price", "maximum_price")}),
    ("FBA sends nothing else", {k: ABSENT for k in ("price", "quantity", "handling_time",
                                                    "sale_price", "sale_start_date",
                                                    "sale_end_date", "minimum_price",
                                                    "maximum_price")}
     | {"fulfillment_channel": "AMAZON"}),
    ("sale without dates", {"sale_end_date": ABSENT}),
    ("unknown channel", {"fulfillment_channel": "SELF"}),
    ("SKU too long", {"sku": "S" * 41}),
    ("SKU a number", {"sku": 12}),
    ("negative quantity", {"quantity": -1}),
    ("handling time too long", {"handling_time": 31}),
    ("quantity a bool", {"quantity": True}),
    ("unknown marketplace", {"marketplace": "bogus"}),
    ("no SKU", {"sku": ABSENT}),
    ("lowercase currency", {"currency": "usd"}),
])
def test_each_rule_makes_its_row_a_suspect(name: str, change: dict[str, Any]) -> None:
    fields = FIELDS["offers"]
    size = 30
    rows = [dict(_CLEAN, sku=f"S{k}") for k in range(size)]
    rows[17].update(change)
    columns = [[r[f] for r in rows] for f in fields]
    batch = RowBatch(2, size, tuple(fields), columns)
    layout = _layout("offers", fields)
    validator = RowValidator(layout)
    plan = validator._batch_plan(batch)
    assert plan is not None, name
    assert plan[0] == {17}, name
    assert _by_batch(layout, None, [batch]) == _row_by_row(layout, None, [batch])
    if name not in _DOUBTS:
        assert _by_batch(layout, None, [batch])[1], f"{name}: the row path found nothing"


#: Rows the column checks cannot clear that the row path finds valid (conservative, not lax).
_DOUBTS = {"date and time compared", "date as text"}
