"""Text, JSON and CSV rendering of a Report (feeds_kit.render)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from rich.console import Console

from feeds_kit import render
from feeds_kit.issues import Issue, Report, Severity, Source


def console(width: int = 120) -> Console:
    return Console(
        file=io.StringIO(), width=width, no_color=True, force_terminal=False, highlight=False
    )


def text_of(report: Report, **kwargs: object) -> str:
    con = console()
    render.render_text(report, console=con, **kwargs)  # type: ignore[arg-type]
    out = con.file.getvalue()  # type: ignore[attr-defined]
    return out


def issue(
    code: str = "x", severity: Severity = Severity.ERROR, message: str = "bad", **kw: object
) -> Issue:
    return Issue(code=code, severity=severity, message=message, **kw)  # type: ignore[arg-type]


def price_error(row: int = 14, sku: str = "A-1") -> Issue:
    return issue(
        "number-decimal-comma",
        Severity.ERROR,
        '"12,99" is not a number',
        file="offers.xlsx",
        sheet="Offers",
        row=row,
        column="C",
        header="Price",
        field="price",
        sku=sku,
        value="12,99",
        hint="write 12.99",
    )


def sku_warning(row: int = 3) -> Issue:
    return issue(
        "sku-typed-as-number",
        Severity.WARNING,
        "SKU 12345 was typed as a number",
        file="offers.xlsx",
        sheet="Offers",
        row=row,
        column="A",
        header="SKU",
        field="sku",
        sku="12345",
        value=12345,
        hint="format the SKU column as text",
    )


def make_report(*issues: Issue, rows: int = 10, valid: int = 10, **kw: object) -> Report:
    report = Report(
        file="/data/offers.xlsx", sheet="Offers", kind="offers", rows=rows, valid_rows=valid, **kw
    )  # type: ignore[arg-type]
    report.extend(issues)
    return report


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("issues", "rows", "valid", "command", "expected"),
    [
        ((), 120, 120, "validate", "✔ offers.xlsx: 120 rows, all valid"),
        ((), 1, 1, "validate", "✔ offers.xlsx: 1 row, all valid"),
        ((), 0, 0, "validate", "✔ offers.xlsx: no data rows"),
        (
            (sku_warning(), sku_warning(4)),
            120,
            120,
            "validate",
            "✔ offers.xlsx: 120 rows, all valid, 2 warnings",
        ),
        (
            (price_error(), price_error(15), price_error(16), sku_warning(), sku_warning(4)),
            118,
            115,
            "validate",
            "✖ offers.xlsx: 3 errors, 2 warnings in 118 rows (115 valid)",
        ),
        ((price_error(),), 2, 1, "validate", "✖ offers.xlsx: 1 error in 2 rows (1 valid)"),
        ((), 5, 5, "report", "✔ offers.xlsx: 5 rows, all accepted"),
        ((price_error(),), 5, 4, "report", "✖ offers.xlsx: 1 error in 5 rows (4 accepted)"),
    ],
)
def test_status_line(
    issues: tuple[Issue, ...], rows: int, valid: int, command: str, expected: str
) -> None:
    out = text_of(make_report(*issues, rows=rows, valid=valid), command=command)
    assert out.splitlines()[0] == expected


def test_clean_report_prints_only_the_status_line() -> None:
    assert text_of(make_report(rows=3, valid=3)) == "✔ offers.xlsx: 3 rows, all valid\n"


def test_summary_then_detail_table() -> None:
    report = make_report(sku_warning(), price_error(14), price_error(15), rows=20, valid=18)
    out = text_of(report)
    lines = [line.rstrip() for line in out.splitlines()]
    by_type = lines.index("By issue type")
    by_column = lines.index("By column")
    detail = lines.index("Issues")
    assert by_type < by_column < detail
    # Most frequent issue type first, with its count.
    type_rows = [line.split() for line in lines[by_type + 3 : by_column] if line.strip()]
    assert type_rows[0][-2:] == ["error", "2"] and "number-decimal-comma" in type_rows[0]
    assert type_rows[1][-2:] == ["warning", "1"] and "sku-typed-as-number" in type_rows[1]
    column_rows = [line.split() for line in lines[by_column + 3 : detail] if line.strip()]
    assert column_rows == [["A", "SKU", "0", "1", "0"], ["C", "Price", "2", "0", "0"]]
    detail_rows = [line for line in lines[detail + 3 :] if line.strip()]
    assert detail_rows[0].split()[:5] == ["3", "A", "SKU", "12345", "warning"]
    assert "SKU 12345 was typed as a number — format the SKU column as text" in detail_rows[0]
    assert detail_rows[1].split()[:5] == ["14", "C", "Price", "A-1", "error"]
    assert detail_rows[1].endswith('"12,99" is not a number — write 12.99')
    assert "Source" not in out


def test_source_column_only_when_local_and_amazon_mix() -> None:
    amazon = issue(
        "8541",
        Severity.ERROR,
        "The price is below the minimum",
        row=14,
        sku="A-1",
        source=Source.AMAZON,
    )
    out = text_of(make_report(price_error(), amazon, rows=20, valid=19))
    header = next(line for line in out.splitlines() if line.startswith("Row"))
    assert header.split() == ["Row", "Column", "SKU", "Severity", "Source", "Message"]
    amazon_line = [line for line in out.splitlines() if "below the minimum" in line][-1]
    assert amazon_line.split()[:4] == ["14", "A-1", "error", "amazon"]
    # Amazon codes are not in the catalogue: the summary names them by their message.
    type_line = next(line for line in out.splitlines() if line.strip().startswith("The price"))
    assert "8541" in type_line


def test_file_level_issue_comes_first_without_row() -> None:
    missing = issue(
        "missing-column",
        Severity.ERROR,
        "the sheet has no SKU column",
        hint="add a column headed SKU",
    )
    out = text_of(make_report(price_error(), missing, rows=3, valid=2))
    lines = [line.rstrip() for line in out.splitlines()]
    first = lines[lines.index("Issues") + 3]
    assert first.split()[0] == "error"
    assert first.strip().endswith("the sheet has no SKU column — add a column headed SKU")


def test_markup_in_user_text_is_printed_literally() -> None:
    odd = issue(
        "x",
        Severity.ERROR,
        "[bold]12[/bold] is odd",
        row=2,
        sku="[red]S[/red]",
        hint="no [link=x]markup[/link]",
    )
    out = text_of(make_report(odd))
    assert "[bold]12[/bold] is odd — no [link=x]markup[/link]" in out
    assert "[red]S[/red]" in out


@pytest.mark.parametrize(
    ("max_rows", "shown", "tail"),
    [
        (2, 2, "… 3 more issues not shown; use --format csv or --format json for the full list."),
        (None, 5, None),
        (5, 5, None),
    ],
)
def test_max_rows(max_rows: int | None, shown: int, tail: str | None) -> None:
    report = make_report(*(price_error(row=r, sku=f"S{r}") for r in range(2, 7)), rows=5, valid=0)
    out = text_of(report, max_rows=max_rows)
    listed = [r for r in range(2, 7) if f" S{r} " in out]
    assert len(listed) == shown
    assert listed == list(range(2, 2 + shown))
    if tail:
        assert out.splitlines()[-1] == tail
    else:
        assert "more issues not shown" not in out


def test_limit_errors_is_said() -> None:
    report = make_report(rows=50, valid=0, limit=2)
    report.extend(price_error(row=r) for r in range(2, 12))
    out = text_of(report)
    assert out.splitlines()[1] == (
        "Stopped collecting after 2 issues (--limit-errors 2); 8 more not shown or counted above."
    )


def test_summary_extra_lines() -> None:
    out = text_of(
        make_report(rows=2, valid=2),
        summary_extra={"feedId": "50001", "rows sent": [2, 3], "documents": [{"path": "f.json"}]},
    )
    assert out.splitlines()[1:] == [
        "  feedId: 50001",
        "  rows sent: 2, 3",
        '  documents: [{"path": "f.json"}]',
    ]


def test_text_output_is_deterministic_and_plain() -> None:
    report = make_report(price_error(), sku_warning(), rows=4, valid=3)
    first, second = text_of(report), text_of(report)
    assert first == second
    assert "\x1b[" not in first


# --------------------------------------------------------------------------- JSON


def test_json_document_shape() -> None:
    amazon = issue(
        "8541",
        Severity.ERROR,
        "price too low",
        row=14,
        sku="A-1",
        source=Source.AMAZON,
        attribute="purchasable_offer.our_price",
        message_id=7,
        feed_id="5000",
    )
    report = make_report(price_error(), sku_warning(), amazon, rows=20, valid=18)
    doc = render.report_to_json(report, command="report")
    assert doc["version"] == render.JSON_VERSION == 1
    assert (doc["command"], doc["file"], doc["sheet"], doc["kind"]) == (
        "report",
        "/data/offers.xlsx",
        "Offers",
        "offers",
    )
    assert (doc["status"], doc["exitCode"]) == ("errors", 1)
    assert doc["summary"] == {
        "rows": 20,
        "validRows": 18,
        "errors": 2,
        "warnings": 1,
        "infos": 0,
        "byCode": {"8541": 1, "number-decimal-comma": 1, "sku-typed-as-number": 1},
        "byColumn": {"A": 1, "C": 1},
        "bySource": {"local": 2, "amazon": 1},
        "truncated": False,
        "dropped": 0,
        "limit": None,
    }
    assert [i["row"] for i in doc["issues"]] == [3, 14, 14]
    last = doc["issues"][2]
    assert last == {
        "code": "8541",
        "severity": "error",
        "message": "price too low",
        "source": "amazon",
        "file": None,
        "sheet": None,
        "row": 14,
        "column": None,
        "header": None,
        "field": None,
        "sku": "A-1",
        "value": None,
        "hint": None,
        "attribute": "purchasable_offer.our_price",
        "messageId": 7,
        "feedId": "5000",
    }
    json.dumps(doc)  # JSON-safe throughout


@pytest.mark.parametrize(
    ("issues", "strict", "status", "code"),
    [
        ((), False, "ok", 0),
        ((sku_warning(),), False, "warnings", 0),
        ((sku_warning(),), True, "warnings", 1),
        ((price_error(), sku_warning()), False, "errors", 1),
        ((issue("n", Severity.INFO, "note", row=2),), True, "ok", 0),
    ],
)
def test_json_status_and_exit_code(
    issues: tuple[Issue, ...], strict: bool, status: str, code: int
) -> None:
    doc = render.report_to_json(make_report(*issues), command="validate", strict=strict)
    assert (doc["status"], doc["exitCode"]) == (status, code)


def test_json_exit_code_from_caller() -> None:
    report = make_report(sku_warning())
    assert render.report_to_json(report, command="validate", exit_code=1)["exitCode"] == 1
    doc = render.report_to_json(report, command="validate", extra={"exitCode": 1, "feedId": "9"})
    assert doc["exitCode"] == 1
    assert "exitCode" not in doc["summary"]
    assert doc["summary"]["feedId"] == "9"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("19.99"), "19.99"),
        (Decimal("1E+2"), "1E+2"),
        (dt.date(2026, 12, 1), "2026-12-01"),
        (dt.datetime(2026, 12, 1, 8, 30), "2026-12-01T08:30:00"),
        (12345, 12345),
        (2.5, 2.5),
        (float("nan"), "nan"),
        (True, True),
        ("=1+2", "=1+2"),
        (None, None),
    ],
)
def test_json_values_are_json_safe(value: object, expected: object) -> None:
    doc = render.report_to_json(make_report(issue(row=2, value=value)), command="validate")
    assert doc["issues"][0]["value"] == expected
    json.loads(json.dumps(doc, allow_nan=False))


def test_json_extra_is_made_safe_and_truncation_reported() -> None:
    report = make_report(rows=9, valid=0, limit=1)
    report.extend([price_error(2), price_error(3), price_error(4)])
    doc = render.report_to_json(
        report, command="validate", extra={"when": dt.date(2026, 1, 2), "total": Decimal("1.50")}
    )
    summary = doc["summary"]
    assert (summary["truncated"], summary["dropped"], summary["limit"]) == (True, 2, 1)
    assert (summary["when"], summary["total"]) == ("2026-01-02", "1.50")


def test_write_json_stream() -> None:
    stream = io.StringIO()
    render.write_json(
        make_report(price_error(), rows=1, valid=0), stream, command="validate", extra={"sku": "é"}
    )
    text = stream.getvalue()
    assert text.endswith("}\n")
    assert '"sku": "é"' in text  # UTF-8 kept as is, not \u-escaped
    assert json.loads(text)["issues"][0]["code"] == "number-decimal-comma"


# --------------------------------------------------------------------------- CSV


def read_csv(report: Report) -> list[list[str]]:
    stream = io.StringIO(newline="")
    render.write_csv(report, stream)
    return list(csv.reader(io.StringIO(stream.getvalue(), newline="")))


def test_csv_columns_and_rows() -> None:
    rows = read_csv(
        make_report(price_error(), sku_warning(), issue("missing-column", message="no SKU column"))
    )
    assert rows[0] == [
        "file",
        "sheet",
        "row",
        "column",
        "header",
        "field",
        "sku",
        "severity",
        "source",
        "code",
        "message",
        "hint",
        "value",
    ]
    assert rows[1] == [
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "error",
        "local",
        "missing-column",
        "no SKU column",
        "",
        "",
    ]
    assert rows[2] == [
        "offers.xlsx",
        "Offers",
        "3",
        "A",
        "SKU",
        "sku",
        "12345",
        "warning",
        "local",
        "sku-typed-as-number",
        "SKU 12345 was typed as a number",
        "format the SKU column as text",
        "12345",
    ]
    assert rows[3][2:7] == ["14", "C", "Price", "price", "A-1"]
    assert rows[3][10:] == ['"12,99" is not a number', "write 12.99", "12,99"]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_csv_escapes_formulas(text: str, written: str) -> None:
    report = make_report(issue(row=2, sku=text, message=text, value=text, hint=text))
    row = read_csv(report)[1]
    assert row[6] == row[10] == row[11] == row[12] == written


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (-5, "-5"),
        (Decimal("-1.50"), "-1.50"),
        (dt.date(2026, 12, 1), "2026-12-01"),
        (True, "TRUE"),
    ],
)
def test_csv_numbers_are_not_escaped(value: object, written: str) -> None:
    assert read_csv(make_report(issue(row=2, value=value)))[1][12] == written


def test_issue_order_is_shared() -> None:
    issues = [
        issue(row=10, column="AA"),
        issue(row=10, column="B", severity=Severity.WARNING),
        issue(row=10, column="B"),
        issue(row=2),
        issue(),
    ]
    ordered = render.ordered_issues(issues)
    assert [(i.row, i.column, i.severity.value) for i in ordered] == [
        (None, None, "error"),
        (2, None, "error"),
        (10, "B", "error"),
        (10, "B", "warning"),
        (10, "AA", "error"),
    ]
    report = make_report(*issues)
    assert [r[2:4] for r in read_csv(report)[1:]] == [
        ["", ""],
        ["2", ""],
        ["10", "B"],
        ["10", "B"],
        ["10", "AA"],
    ]
    doc = render.report_to_json(report, command="validate")
    assert [(i["row"], i["column"]) for i in doc["issues"]] == [
        (None, None),
        (2, None),
        (10, "B"),
        (10, "B"),
        (10, "AA"),
    ]


def test_amazon_codes_with_different_messages_are_titled_as_a_group() -> None:
    from feeds_kit.issues import Issue, Report, Severity, Source

    report = Report(file="x.xlsx", rows=3)
    for sku in ("A", "B"):
        report.add(
            Issue(
                code="90101",
                severity=Severity.ERROR,
                source=Source.AMAZON,
                message=f"The SKU '{sku}' does not exist.",
                row=2,
                sku=sku,
            )
        )
    report.add(
        Issue(
            code="90108",
            severity=Severity.WARNING,
            source=Source.AMAZON,
            message="Price changed a lot.",
            row=3,
        )
    )
    assert report.code_titles() == {
        "90101": "The SKU 'A' does not exist. (and 1 similar)",
        "90108": "Price changed a lot.",
    }


def test_json_output_survives_a_value_past_64_bits() -> None:
    import io
    import json

    from feeds_kit import render
    from feeds_kit.issues import Issue, Report, Severity

    report = Report(file="x.csv", rows=1)
    report.add(Issue(code="number-too-long", severity=Severity.ERROR, message="too long",
                     row=2, value=10**40))
    out = io.StringIO()
    render.write_json(report, out, command="validate")
    assert json.loads(out.getvalue())["issues"][0]["value"] == 10**40
