"""Tests for the benchmark tools and for the fast paths they measure (no timings asserted).

Run with ``pytest bench/test_bench.py``. The generated sheets double as fixtures: every row the
generator breaks must be reported with its code, by every reader, identically; the batch reader
must give what the per-cell converters give; the validator's fast path must give what its
general path gives.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import generate
import pytest
import run
import simulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds_kit import api, reading
from feeds_kit.cells import ABSENT, BLANK, Finding, column_converter, converter_for
from feeds_kit.rows import Column, Row, SheetLayout, column_letter
from feeds_kit.validation import RowValidator, row_schema

ROWS = 1_500


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("sheets")
    made: dict[str, Path] = {}
    for target in generate.targets([ROWS]):
        if target.family == "offers":
            path, written = generate.generate(target, out)
            assert written
            made[target.fmt] = path
    return made


def _expected(path: Path) -> dict[int, str]:
    meta = json.loads(Path(f"{path}.expected.json").read_text(encoding="utf-8"))
    return {int(row): meta["codes"][kind] for row, kind in meta["invalid"].items()}


def _error_codes(path: Path, engine: str | None = None) -> dict[int, set[str]]:
    result = api.validate_file(path, limit=None, engine=engine)
    assert result.report.rows == ROWS
    found: dict[int, set[str]] = {}
    for issue in result.report.errors:
        assert issue.row is not None and issue.column is not None, issue
        found.setdefault(issue.row, set()).add(issue.code)
    return found


# --- the generator ------------------------------------------------------------------------------


def test_generator_breaks_one_row_in_a_hundred_in_every_kind(sheets: dict[str, Path]) -> None:
    expected = _expected(sheets["csv"])
    assert len(expected) == ROWS // generate.INVALID_EVERY
    assert set(expected.values()) == set(generate.INVALID_KINDS.values())


@pytest.mark.parametrize(
    ("fmt", "engine"),
    [("csv", None), ("xlsx", "calamine"), ("xlsx", "openpyxl"), ("xlsx-sst", "calamine"),
     ("xlsx-sst", "openpyxl")],
)
def test_every_broken_row_is_reported_with_its_code_and_nothing_else(
    sheets: dict[str, Path], fmt: str, engine: str | None
) -> None:
    found = _error_codes(sheets[fmt], engine)
    expected = _expected(sheets[fmt])
    missed = {row: code for row, code in expected.items() if code not in found.get(row, set())}
    assert missed == {}
    # The only other rows flagged are the first rows of duplicated SKUs.
    others = {row: codes for row, codes in found.items() if row not in expected}
    assert others
    assert all(codes == {"duplicate-sku"} for codes in others.values())


def test_engines_and_string_tables_give_identical_issues(sheets: dict[str, Path]) -> None:
    def issues(path: Path, engine: str) -> list[dict[str, Any]]:
        result = api.validate_file(path, limit=None, engine=engine)
        return [{**i.to_dict(), "file": None} for i in result.report.issues]

    reference = issues(sheets["xlsx"], "calamine")
    assert len(reference) > ROWS // generate.INVALID_EVERY
    assert issues(sheets["xlsx"], "openpyxl") == reference
    assert issues(sheets["xlsx-sst"], "calamine") == reference
    assert issues(sheets["xlsx-sst"], "openpyxl") == reference


def test_shared_strings_workbook_holds_a_string_table(sheets: dict[str, Path]) -> None:
    import zipfile

    with zipfile.ZipFile(sheets["xlsx-sst"]) as zf:
        assert "xl/sharedStrings.xml" in zf.namelist()
        assert b't="s"' in zf.read("xl/worksheets/sheet1.xml")[:4000]
    with zipfile.ZipFile(sheets["xlsx"]) as zf:
        assert "xl/sharedStrings.xml" not in zf.namelist()
        assert b't="inlineStr"' in zf.read("xl/worksheets/sheet1.xml")[:4000]


def test_wide_sheet_has_sixty_columns(tmp_path: Path) -> None:
    target = generate.Target("wide.xlsx", "xlsx", "wide", 30)
    path, _ = generate.generate(target, tmp_path)
    with reading.open_sheet(path) as source:
        assert len(source.layout.columns) == 60
        assert source.layout.kind == "listings"
        assert sum(1 for _ in source.rows()) == 30


def test_generate_keeps_an_up_to_date_file(tmp_path: Path) -> None:
    target = generate.Target("offers-200.csv", "csv", "offers", 200)
    assert generate.generate(target, tmp_path)[1] is True
    assert generate.generate(target, tmp_path)[1] is False
    assert generate.generate(target, tmp_path, force=True)[1] is True


@pytest.mark.parametrize(("count", "text"), [(10_000, "10k"), (1_000_000, "1M"), (1_500, "1500")])
def test_label(count: int, text: str) -> None:
    assert generate.label(count) == text


# --- the batch reader against the per-cell converters ---------------------------------------------

_CELL = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "19.99", "12,99", "$5", "#N/A", "US", "de", "Atlantis", "USD",
                     "eur", "2026-12-01", "12/01/2026", "AMAZON", "fba", "x", " 7 ", "0",
                     "1", "2.5", "1,299.00"]),
    st.text(alphabet="AB1 -#.,", max_size=6),
)
_FIELDS = ["sku", "price", "currency", "quantity", "handling_time", "fulfillment_channel",
           "marketplace", "sale_start_date"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_CELL, min_size=len(_FIELDS), max_size=len(_FIELDS)), max_size=30))
def test_batch_reader_gives_what_the_cell_converters_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cells: list[list[Any]]
) -> None:
    # Tiny batches, so the rows straddle batch boundaries.
    monkeypatch.setattr(reading, "_BATCH", 4)
    path = tmp_path / "cells.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_FIELDS)
        for row in cells:
            writer.writerow(["" if v is None else v for v in row])
    specs = row_schema("offers").properties
    convert = {name: converter_for(name, specs[name]) for name in _FIELDS}
    expected = []
    with path.open(encoding="utf-8", newline="") as fh:
        for number, raw in enumerate(list(csv.reader(fh))[1:], start=2):
            values: dict[str, Any] = {}
            problems: list[str] = []
            for name, value in zip(_FIELDS, raw, strict=True):
                if value == "":
                    continue
                result = convert[name](value)
                if isinstance(result, Finding):
                    problems += [p.type.code for p in result.problems]
                    if result.ok:
                        values[name] = result.value
                else:
                    values[name] = result
            if values or problems:
                expected.append((number, values, problems))
    with reading.open_sheet(path, kind="offers") as source:
        got = [(r.number, r.values, [i.code for i in r.issues]) for r in source.rows()]
    assert got == expected


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([None, "", 1, True, 1.0, False, 0], ["ABSENT", "ABSENT", "1", "bool", "1", "bool", "0"]),
        ([True, 1, True], ["bool", "1", "bool"]),
        (["a", "a", None], ["a", "a", "ABSENT"]),
    ],
)
def test_column_converter_never_answers_a_boolean_with_a_number(
    cells: list[Any], expected: list[str]
) -> None:
    seen: list[Any] = []

    def convert(value: Any) -> Any:
        seen.append(value)
        return "bool" if type(value) is bool else str(int(value)) if not isinstance(value, str) \
            else value

    out, bad = column_converter(convert, 100)(cells)
    assert ["ABSENT" if v is ABSENT else v for v in out] == expected
    assert bad == []
    assert None not in seen and "" not in seen


def test_column_converter_reports_findings_and_does_not_remember_them() -> None:
    calls: list[Any] = []

    def convert(value: Any) -> Any:
        calls.append(value)
        return BLANK if value == " " else value.upper()

    run_column = column_converter(convert, 10)
    out, bad = run_column(["a", " ", "a", " "])
    assert out == ["A", BLANK, "A", BLANK]
    assert bad == [1, 3]
    assert calls == ["a", " ", " "]
    out, bad = run_column([" ", "a"])
    assert bad == [0]
    assert calls == ["a", " ", " ", " "]


# --- the validator's fast path against its general path ------------------------------------------

_US, _CA, _DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1PA6795UKMFR9"
_VALUES = {
    "sku": st.sampled_from(["A", "B", "C", "X" * 41, ""]),
    "marketplace": st.sampled_from([_US, _CA, _DE, "nowhere"]),
    "price": st.sampled_from([Decimal("19.99"), Decimal("5"), Decimal("0"), Decimal("1.999"),
                              Decimal("-2"), Decimal("25.5")]),
    "currency": st.sampled_from(["USD", "CAD", "EUR", "usd"]),
    "quantity": st.sampled_from([0, 5, -1]),
    "handling_time": st.sampled_from([1, 30, 31]),
    "fulfillment_channel": st.sampled_from(["DEFAULT", "AMAZON", "OTHER"]),
    "sale_price": st.sampled_from([Decimal("9.99"), Decimal("30")]),
    "sale_start_date": st.sampled_from([dt.date(2026, 12, 1), dt.date(2026, 12, 20), "bad"]),
    "sale_end_date": st.sampled_from([dt.date(2026, 12, 10), dt.datetime(2026, 12, 31)]),
    "minimum_price": st.sampled_from([Decimal("1"), Decimal("50")]),
    "maximum_price": st.sampled_from([Decimal("100"), Decimal("10")]),
    "restock_date": st.sampled_from([dt.date(2027, 1, 1)]),
}
_ROW = st.fixed_dictionaries({}, optional=_VALUES)


def _layout() -> SheetLayout:
    fields = list(_VALUES)
    return SheetLayout(
        file="offers.xlsx", sheet="Offers", kind="offers", header_row=1, data_row=2,
        columns=[Column(i, column_letter(i), name, name) for i, name in enumerate(fields)],
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, max_size=12), st.sampled_from([None, "US", "DE"]))
def test_fast_path_gives_what_the_general_path_gives(
    rows: list[dict[str, Any]], default: str | None
) -> None:
    fast = RowValidator(_layout(), marketplace=default)
    general = RowValidator(_layout(), marketplace=default)
    general.evaluate = general._evaluate  # type: ignore[method-assign]
    for number, values in enumerate(rows, start=2):
        a = fast.evaluate(Row(number, dict(values)))
        b = general.evaluate(Row(number, dict(values)))
        assert (a.valid, a.marketplace_id, a.retracted) == (b.valid, b.marketplace_id, b.retracted)
        assert [i.to_dict() for i in a.issues] == [i.to_dict() for i in b.issues]
    assert [i.to_dict() for i in fast.finish()] == [i.to_dict() for i in general.finish()]
    assert fast.invalid_at_finish == general.invalid_at_finish


def test_kind_without_update_fields_is_not_told_nothing_to_update() -> None:
    layout = SheetLayout(
        file="l.xlsx", sheet="L", kind="listings", header_row=1, data_row=2,
        columns=[Column(0, "A", "sku", "sku"), Column(1, "B", "marketplace", "marketplace")],
    )
    verdict = RowValidator(layout).evaluate(Row(2, {"sku": "A", "marketplace": _US}))
    assert verdict.valid
    assert verdict.issues == []


# --- the sheet-XML scan -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "hits"),
    [
        (b'<c r="A1"><f>1+1</f></c>', [10]),
        (b'<c r="A1" t="e"><v>#N/A</v></c>', [10]),
        (b'<x:c r="A1"><x:f>1+1</x:f></x:c>', [14]),
        (b'<c r="A1" t="inlineStr"><is><t>http:f x</t></is></c>', []),
        (b'<c r="A1"><f t="shared" si="0"/></c>', [10]),
    ],
)
def test_scan_finds_formulas_and_error_cells(xml: bytes, hits: list[int]) -> None:
    assert reading._hits(xml) == hits


def test_scan_flags_formula_cells_without_values_in_long_blocks() -> None:
    cells = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>S%d</t></is></c>'
        b'<c r="B%d"><f>C%d*2</f></c></row>' % (n, n, n, n, n)
        for n in range(1, 3001)
    )
    flagged: dict[int, dict[int, Any]] = {}
    reading._scan_block(cells, flagged)
    assert sorted(flagged) == list(range(1, 3001))
    assert all(set(cols) == {1} for cols in flagged.values())


# --- the runner and the simulator report ---------------------------------------------------------


def test_launcher_reports_the_child_s_own_peak_memory(tmp_path: Path) -> None:
    big = [sys.executable, "-c", "x = bytearray(80 << 20); x[::4096] = b'1' * len(x[::4096])"]
    small = [sys.executable, "-I", "-c", "pass"]
    wall, rss_big, _, code = run.run_child(big, tmp_path, tmp_path / "big.out")
    assert code == 0 and wall > 0
    _, rss_small, _, code = run.run_child(small, tmp_path, tmp_path / "small.out")
    assert code == 0
    assert rss_big >= 80 << 20
    assert rss_small < 40 << 20


def test_launcher_passes_exit_codes_and_stdout(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "print('hello'); raise SystemExit(3)"]
    _, _, _, code = run.run_child(argv, tmp_path, tmp_path / "out")
    assert code == 3
    assert (tmp_path / "out").read_text() == "hello\n"


def _summary(case: str, tool: str, wall: float, rss: int = 0, **detail: Any) -> run.Summary:
    return run.Summary(case, tool, 3, wall, rss, wall, [0], detail)


def test_targets_say_met_and_not_met() -> None:
    s = {
        (c, t): _summary(c, t, w, r, **d)
        for c, t, w, r, d in [
            ("offers-100k.xlsx", "floor", 1.0, 0, {}),
            ("offers-100k.xlsx", "validate", 2.5, 0, {}),
            ("offers-100k.xlsx", "pandas", 30.0, 0, {}),
            ("offers-100k.xlsx", "frictionless", 20.0, 0, {}),
            ("offers-100k.csv", "floor", 0.1, 0, {}),
            ("offers-100k.csv", "validate", 0.3, 0, {}),
            ("offers-1M.csv", "validate", 9.0, 120_000_000, {}),
            ("offers-1M.csv", "build", 12.0, 160_000_000,
             {"documents": 42, "document_bytes": 300_000_000}),
        ]
    }
    verdicts = {t.name: t.met for t in run.targets(s)}
    assert verdicts == {
        "validate 100k xlsx vs calamine read": False,
        "validate 100k csv vs csv.reader": True,
        "validate 100k xlsx vs pandas": True,
        "validate 100k xlsx vs frictionless": False,
        "csv peak memory at 1M rows": True,
        "xlsx peak memory at 1M rows": None,
        "build 1M rows (csv) streams its documents": True,
        "build 1M rows (xlsx) streams its documents": None,
    }


def test_table_schema_names_every_offers_column() -> None:
    names = [f["name"] for f in run.table_schema()["fields"]]
    assert names == list(generate.OFFERS_HEADERS)


@pytest.mark.parametrize(
    ("chunks", "minutes"),
    [(1, 0.0), (5, 0.0), (6, 5.0), (15, 10.0), (16, 15.0), (40, 3012.05 / 60)],
)
def test_predicted_send_time_follows_budget_and_bucket(chunks: int, minutes: float) -> None:
    assert simulator.predicted_send_seconds(chunks, speed=1) / 60 == pytest.approx(minutes,
                                                                                    abs=0.1)
    assert simulator.predicted_send_seconds(chunks, speed=60) == pytest.approx(minutes, abs=0.01)


@pytest.mark.parametrize(
    ("times", "inside", "most"),
    [
        ([0, 1, 2, 3, 4, 300, 301], True, 5),
        ([0, 1, 2, 3, 4, 5], False, 6),
        ([0, 100, 200, 299, 299.5, 300, 400], True, 5),
    ],
)
def test_budget_check(times: list[float], inside: bool, most: int) -> None:
    assert simulator.budget_respected(times, speed=1) == (inside, most)
