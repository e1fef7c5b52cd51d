"""Annotated workbook copies and fix-only sheets (feeds_kit.workbook)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from feeds_kit import workbook
from feeds_kit.errors import InputError, OutputError
from feeds_kit.issues import Issue, Report, Severity, Source
from feeds_kit.rows import Column, SheetLayout

RED, AMBER, BLUE = "FFFFC7CE", "FFFFEB9C", "FFDDEBF7"
HEADERS = ["SKU", "Price", "Quantity"]


def layout_for(path: Path, *, sheet: str | None = "Offers", header_row: int = 1,
               data_row: int = 2, headers: list[str] = HEADERS) -> SheetLayout:
    fields = {"SKU": "sku", "Price": "price", "Quantity": "quantity"}
    columns = [Column(i, openpyxl.utils.get_column_letter(i + 1), h, fields.get(h))
               for i, h in enumerate(headers)]
    return SheetLayout(file=str(path), sheet=sheet, kind="offers", header_row=header_row,
                       data_row=data_row, columns=columns)


def write_xlsx(path: Path, rows: list[list[Any]], *, title: str = "Offers",
               before: Any = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    if before:
        before(ws)
    wb.save(path)
    return path


def err(row: int | None, column: str | None = None, code: str = "bad-value",
        message: str = "is wrong", severity: Severity = Severity.ERROR, hint: str | None = None,
        source: Source = Source.LOCAL, sheet: str | None = "Offers") -> Issue:
    header = dict(zip("ABC", HEADERS, strict=True)).get(column or "")
    return Issue(code=code, severity=severity, message=message, hint=hint, row=row,
                 column=column, header=header, sheet=sheet, source=source)


def report_of(*issues: Issue, rows: int = 3, valid: int = 3, **kw: Any) -> Report:
    report = Report(file="offers.xlsx", sheet="Offers", kind="offers", rows=rows,
                    valid_rows=valid, **kw)
    report.extend(issues)
    return report


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def values(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


@pytest.fixture
def offers(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "offers.xlsx", [
        HEADERS,
        ["A-1", "12,99", 5],
        ["B-2", 10, -1],
        ["C-3", 11, 3],
    ])


# --------------------------------------------------------------------------- annotate


def test_annotated_copy_marks_cells_and_adds_columns(offers: Path, tmp_path: Path) -> None:
    before = digest(offers)
    report = report_of(
        err(2, "B", "number-decimal-comma", '"12,99" is not a number', hint="write 12.99"),
        err(3, "C", "below-minimum", "-1 is below 0", hint="write 0 or more"),
        err(3, None, "8541", "price is too low", source=Source.AMAZON,
            severity=Severity.WARNING),
        rows=3, valid=1,
    )
    out = workbook.annotate_workbook(offers, layout_for(offers), report, tmp_path / "out.xlsx")
    assert out == tmp_path / "out.xlsx"
    assert digest(offers) == before  # the input is never touched

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["Summary", "Offers"]
    assert wb.active.title == "Summary"
    ws = wb["Offers"]
    assert values(ws) == [
        ("SKU", "Price", "Quantity", "Status", "Messages"),
        ("A-1", "12,99", 5, "ERROR", 'B Price: "12,99" is not a number — write 12.99'),
        ("B-2", 10, -1, "ERROR", "C Quantity: -1 is below 0 — write 0 or more\nprice is too low"),
        ("C-3", 11, 3, "OK", None),
    ]
    assert ws["B2"].fill.fgColor.rgb == RED
    assert ws["B2"].comment.text == '[number-decimal-comma] "12,99" is not a number — write 12.99'
    assert ws["B2"].comment.author == "feeds-kit"
    assert ws["C3"].fill.fgColor.rgb == RED
    # A row-level issue sits on the row's SKU cell.
    assert ws["A3"].fill.fgColor.rgb == AMBER
    assert ws["A3"].comment.text == "[8541] price is too low"
    assert ws["A2"].comment is None and ws["A2"].fill.fill_type is None
    assert ws["D1"].font.b and ws["E1"].font.b
    assert (ws["D2"].fill.fgColor.rgb, ws["D4"].fill.fill_type) == (RED, None)


@pytest.mark.parametrize(("severities", "rgb", "status"), [
    ([Severity.ERROR], RED, "ERROR"),
    ([Severity.WARNING], AMBER, "WARNING"),
    ([Severity.INFO], BLUE, "OK"),
    ([Severity.INFO, Severity.WARNING, Severity.ERROR], RED, "ERROR"),
    ([Severity.INFO, Severity.WARNING], AMBER, "WARNING"),
])
def test_worst_severity_wins(offers: Path, tmp_path: Path, severities: list[Severity], rgb: str,
                             status: str) -> None:
    issues = [err(2, "B", f"code-{n}", f"problem {n}", severity=s)
              for n, s in enumerate(severities)]
    out = workbook.annotate_workbook(offers, layout_for(offers), report_of(*issues),
                                     tmp_path / "out.xlsx")
    ws = openpyxl.load_workbook(out)["Offers"]
    assert ws["B2"].fill.fgColor.rgb == rgb
    assert ws["D2"].value == status
    # One comment per cell, worst first, one line per issue.
    lines = ws["B2"].comment.text.splitlines()
    assert len(lines) == len(severities)
    expected_first = min(range(len(severities)),
                         key=lambda n: ["error", "warning", "info"].index(severities[n].value))
    assert lines[0] == f"[code-{expected_first}] problem {expected_first}"


@pytest.mark.parametrize(("processed", "expected"), [
    (None, ["ACCEPTED", "REJECTED", "WARNING"]),
    ({2, 3, 4}, ["ACCEPTED", "REJECTED", "WARNING"]),
    ({3}, [None, "REJECTED", "WARNING"]),  # row 4 has an Amazon issue, so it was sent
    (set(), [None, "REJECTED", "WARNING"]),
])
def test_amazon_verdict_statuses(offers: Path, tmp_path: Path, processed: set[int] | None,
                                 expected: list[str | None]) -> None:
    report = report_of(
        err(3, "B", "8541", "rejected", source=Source.AMAZON),
        err(4, None, "99010", "note", source=Source.AMAZON, severity=Severity.WARNING),
    )
    out = workbook.annotate_workbook(offers, layout_for(offers), report, tmp_path / "out.xlsx",
                                     verdict="amazon", processed_rows=processed)
    wb = openpyxl.load_workbook(out)
    ws = wb["Offers"]
    assert [ws[f"D{r}"].value for r in (2, 3, 4)] == expected
    summary = {row[0]: row[1] for row in values(wb["Summary"]) if row[0]}
    assert summary["Rows accepted"] == expected.count("ACCEPTED")
    assert summary["Rows rejected"] == 1
    assert summary["Rows not sent"] == expected.count(None)


def test_amazon_verdict_row_with_local_error_not_sent_is_blank(offers: Path,
                                                               tmp_path: Path) -> None:
    report = report_of(err(2, "B", "number-decimal-comma", "bad price"))
    out = workbook.annotate_workbook(offers, layout_for(offers), report, tmp_path / "o.xlsx",
                                     verdict="amazon", processed_rows={3, 4})
    ws = openpyxl.load_workbook(out)["Offers"]
    assert [ws[f"D{r}"].value for r in (2, 3, 4)] == [None, "ACCEPTED", "ACCEPTED"]
    assert ws["E2"].value == "B Price: bad price"


def test_summary_sheet(offers: Path, tmp_path: Path) -> None:
    # Codes outside the catalogue, so the rows show the message whatever modules are imported.
    report = report_of(
        err(2, "B", "x-test-decimal", "bad"),
        err(3, "B", "x-test-decimal", "bad"),
        err(None, None, "x-test-unknown", "column X is unknown", severity=Severity.WARNING,
            hint="rename or remove it"),
        rows=3, valid=1,
    )
    out = workbook.annotate_workbook(offers, layout_for(offers), report, tmp_path / "out.xlsx")
    rows = values(openpyxl.load_workbook(out)["Summary"])
    assert rows[0][0] == "Validation of offers.xlsx"
    table = {r[0]: r[1] for r in rows if r[0]}
    assert (table["Sheet"], table["Kind"], table["Rows"], table["Valid rows"]) == (
        "Offers", "offers", 3, 1)
    assert (table["Errors"], table["Warnings"], table["Infos"]) == (2, 1, 0)
    trimmed = [tuple(v for v in r if v is not None) for r in rows]
    start = trimmed.index(("By issue type", "Issue", "Severity", "Count"))
    assert trimmed[start + 1] == ("x-test-decimal", "bad", "error", 2)
    assert trimmed[start + 2] == ("x-test-unknown", "column X is unknown", "warning", 1)
    start = trimmed.index(("By column", "Header", "Errors", "Warnings", "Infos"))
    assert trimmed[start + 1] == ("B", "Price", 2, 0, 0)
    start = trimmed.index(("File-level issues", "Severity", "Source", "Code", "Hint"))
    assert trimmed[start + 1] == ("column X is unknown", "warning", "local", "x-test-unknown",
                                  "rename or remove it")


def test_truncated_report_is_said_in_summary(offers: Path, tmp_path: Path) -> None:
    report = report_of(limit=1)
    report.extend([err(2, "B"), err(3, "B"), err(4, "B")])
    out = workbook.annotate_workbook(offers, layout_for(offers), report, tmp_path / "out.xlsx")
    table = {r[0]: r[1] for r in values(openpyxl.load_workbook(out)["Summary"]) if r[0]}
    assert table["Not kept"] == "2 more issues were not kept (limit 1)."


def test_reannotating_clears_old_markup_and_keeps_the_users(tmp_path: Path) -> None:
    def user_markup(ws: Any) -> None:
        ws["B3"].fill = PatternFill("solid", start_color="FF00FF00", end_color="FF00FF00")
        ws["C3"].comment = Comment("check with supplier", "Bob")
        ws["A4"].comment = Comment("new SKU", "Ann")
        ws["D9"].fill = PatternFill("solid", start_color="FF0000FF", end_color="FF0000FF")
        ws.column_dimensions["D"].width = 33

    source = write_xlsx(tmp_path / "in.xlsx",
                        [HEADERS, ["A-1", "12,99", 5], ["B-2", 10, -1], ["C-3", 11, 3]],
                        before=user_markup)
    first = workbook.annotate_workbook(
        source, layout_for(source),
        report_of(err(2, "B", "p", "bad price"), err(3, "B", "q", "bad"),
                  err(3, "C", "r", "below 0")),
        tmp_path / "first.xlsx")
    ws = openpyxl.load_workbook(first)["Offers"]
    assert ws["B3"].fill.fgColor.rgb == RED
    assert ws["C3"].comment.text == "[r] below 0\n\nBob: check with supplier"

    # Annotating the annotated copy, with a clean report: nothing of ours remains.
    second = workbook.annotate_workbook(first, layout_for(first), report_of(),
                                        tmp_path / "second.xlsx")
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames == ["Summary", "Offers", "feeds-kit markup"]
    ws = wb["Offers"]
    assert values(ws)[:4] == [
        ("SKU", "Price", "Quantity", "Status", "Messages"),
        ("A-1", "12,99", 5, "OK", None),
        ("B-2", 10, -1, "OK", None),
        ("C-3", 11, 3, "OK", None),
    ]
    assert ws["B2"].fill.fill_type is None and ws["B2"].comment is None
    assert ws["B3"].fill.fgColor.rgb == "FF00FF00"
    assert (ws["C3"].comment.text, ws["C3"].comment.author) == ("check with supplier", "Bob")
    assert (ws["A4"].comment.text, ws["A4"].comment.author) == ("new SKU", "Ann")
    assert ws["D9"].fill.fgColor.rgb == "FF0000FF"
    assert wb["feeds-kit markup"].sheet_state == "veryHidden"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert workbook.MARKER_PROPERTY in props

    # And once more with the user's own sheet named "Summary" present: ours gets another name.
    def add_user_summary(path: Path) -> Path:
        wb = openpyxl.load_workbook(path)
        wb["Summary"].title = "Old"
        wb.create_sheet("Summary")
        wb["Summary"]["A1"] = "mine"
        wb.save(path)
        return path

    third = workbook.annotate_workbook(add_user_summary(second), layout_for(second), report_of(),
                                       tmp_path / "third.xlsx")
    wb = openpyxl.load_workbook(third)
    assert wb.sheetnames[0] == "Summary (2)"
    assert wb["Summary"]["A1"].value == "mine"


def test_reannotating_keeps_column_width(tmp_path: Path) -> None:
    def width(ws: Any) -> None:
        ws.column_dimensions["D"].width = 33

    source = write_xlsx(tmp_path / "in.xlsx", [HEADERS, ["A", 1, 1]], before=width)
    first = workbook.annotate_workbook(source, layout_for(source), report_of(),
                                       tmp_path / "1.xlsx")
    assert openpyxl.load_workbook(first)["Offers"].column_dimensions["D"].width == 12
    second = workbook.annotate_workbook(first, layout_for(first), report_of(err(2, "B")),
                                        tmp_path / "2.xlsx")
    ws = openpyxl.load_workbook(second)["Offers"]
    assert ws["D2"].value == "ERROR"
    assert ws.column_dimensions["E"].width == 80


def test_values_never_become_formulas(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("SKU,Price,Quantity\n=1+2,#N/A,@x\n", encoding="utf-8")
    layout = layout_for(source, sheet=None)
    report = report_of(err(2, "B", "not-a-number", '"=cmd|x" is odd', hint="=HYPERLINK(1)",
                           sheet=None))
    out = workbook.annotate_workbook(source, layout, report, tmp_path / "out.xlsx")
    ws = openpyxl.load_workbook(out)["in"]
    assert [(c.value, c.data_type) for c in ws[2]][:3] == [("=1+2", "s"), ("#N/A", "s"),
                                                            ("@x", "s")]
    assert ws["E2"].value == 'B Price: "=cmd|x" is odd — =HYPERLINK(1)'
    assert ws["E2"].data_type == "s"


@pytest.mark.parametrize(("text", "delimiter", "encoding"), [
    ("SKU,Price,Quantity\r\nA-1,12.99,5\r\n\r\nC-3,1,2\r\n", None, None),
    ("SKU;Price;Quantity\nA-1;12,99;5\n\nC-3;1;2\n", ";", "utf-8"),
    ("SKU\tPrice\tQuantity\nA-1\t12,99\t5\n\nC-3\t1\t2\n", None, None),
])
def test_csv_input_becomes_xlsx_with_same_row_numbers(tmp_path: Path, text: str,
                                                      delimiter: str | None,
                                                      encoding: str | None) -> None:
    source = tmp_path / "sheet.tsv"
    source.write_text(text, encoding="utf-8", newline="")
    layout = layout_for(source, sheet=None)
    layout.delimiter, layout.encoding = delimiter, encoding
    report = report_of(err(4, "C", "bad-qty", "bad", sheet=None))
    out = workbook.annotate_workbook(source, layout, report, tmp_path / "out.csv")
    assert out == tmp_path / "out.xlsx"
    ws = openpyxl.load_workbook(out)["sheet"]
    assert ws["A1"].value == "SKU" and ws["A2"].value == "A-1"
    assert ws["A3"].value is None  # the blank line keeps its row
    assert (ws["A4"].value, ws["C4"].value) == ("C-3", "2")
    assert ws["C4"].fill.fgColor.rgb == RED
    assert [ws[f"D{r}"].value for r in (1, 2, 3, 4)] == ["Status", "OK", None, "ERROR"]


def test_cp1252_csv_is_read(tmp_path: Path) -> None:
    source = tmp_path / "latin.csv"
    source.write_bytes("SKU,Price\nCAFÉ-1,2\n".encode("cp1252"))
    out = workbook.annotate_workbook(source, layout_for(source, sheet=None, headers=HEADERS[:2]),
                                     report_of(), tmp_path / "o.xlsx")
    assert openpyxl.load_workbook(out)["latin"]["A2"].value == "CAFÉ-1"


def test_xlsm_keeps_macros_and_extension(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "template.xlsm", [HEADERS, ["A", 1, 1]])
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"not really vba")
    out = workbook.annotate_workbook(source, layout_for(source), report_of(err(2, "B")),
                                     tmp_path / "annotated.xlsx")
    assert out == tmp_path / "annotated.xlsm"
    with zipfile.ZipFile(out) as archive:
        assert archive.read("xl/vbaProject.bin") == b"not really vba"
        assert b"macroEnabled" in archive.read("[Content_Types].xml")


@pytest.mark.parametrize("name", ["offers.xlsx", "./offers.xlsx"])
def test_refuses_to_overwrite_input(offers: Path, name: str) -> None:
    target = offers.parent / name
    with pytest.raises(OutputError) as caught:
        workbook.annotate_workbook(offers, layout_for(offers), report_of(), target)
    assert str(caught.value) == (
        "Refusing to write over the input offers.xlsx; choose another output file.")
    with pytest.raises(OutputError):
        workbook.write_fix_sheet(offers, layout_for(offers), report_of(), target)


def test_refuses_input_through_a_symlink(offers: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.xlsx"
    link.symlink_to(offers)
    with pytest.raises(OutputError):
        workbook.annotate_workbook(offers, layout_for(offers), report_of(), link)


def test_unknown_sheet_and_unreadable_input(offers: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        workbook.annotate_workbook(offers, layout_for(offers, sheet="Prices"), report_of(),
                                   tmp_path / "o.xlsx")
    assert str(caught.value) == 'offers.xlsx has no sheet "Prices" (sheets: "Offers").'
    assert caught.value.sheet == "Prices"
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InputError) as caught:
        workbook.annotate_workbook(old, layout_for(old), report_of(), tmp_path / "o.xlsx")
    assert str(caught.value) == (
        "old.xls is an old binary Excel file or is password-protected; "
        "save it as .xlsx or .csv.")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(InputError):
        workbook.annotate_workbook(broken, layout_for(broken), report_of(), tmp_path / "o.xlsx")


def test_atomic_write_leaves_no_half_file(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"

    def failing_save(path: str) -> None:
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        workbook.save_atomic(target, failing_save)
    assert list(tmp_path.iterdir()) == []

    workbook.save_atomic(target, lambda p: Path(p).write_bytes(b"whole"))
    assert target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_header_row_issue_and_merged_cell(tmp_path: Path) -> None:
    def merge(ws: Any) -> None:
        ws.merge_cells("B3:C3")

    source = write_xlsx(tmp_path / "in.xlsx", [HEADERS, ["A", 1, 1], ["B", 2, None]],
                        before=merge)
    report = report_of(err(1, "C", "unknown-column", "odd header", severity=Severity.WARNING),
                       err(3, "C", "x", "inside a merge"), err(3, "B", "y", "merge anchor"))
    out = workbook.annotate_workbook(source, layout_for(source), report, tmp_path / "o.xlsx")
    ws = openpyxl.load_workbook(out)["Offers"]
    assert ws["C1"].comment.text == "[unknown-column] odd header"
    assert ws["D1"].value == "Status"  # the header row keeps its header
    assert ws["B3"].comment.text == "[y] merge anchor\n[x] inside a merge"
    # Annotating again restores the merged cell cleanly.
    again = workbook.annotate_workbook(out, layout_for(out), report_of(), tmp_path / "2.xlsx")
    ws = openpyxl.load_workbook(again)["Offers"]
    assert ws["B3"].comment is None and ws["B3"].fill.fill_type is None


# --------------------------------------------------------------------------- fix sheet


def fptcustom(tmp_path: Path) -> tuple[Path, SheetLayout]:
    rows = [
        ["TemplateType=fptcustom", "Version=2023.0509", "TemplateSignature=R1VJTEQ="],
        ["Seller SKU", "Standard Price", "Quantity"],
        ["item_sku", "standard_price", "quantity"],
        ["00123", 12.5, 1],
        ["B-2", "12,99", 2],
        ["C-3", 11, -1],
        ["D-4", 9, 4],
    ]

    def date_cell(ws: Any) -> None:
        ws["D6"] = dt.datetime(2026, 12, 1)
        ws["D6"].number_format = "yyyy-mm-dd"

    path = write_xlsx(tmp_path / "GUILD_HOME.xlsx", rows, title="Template", before=date_cell)
    layout = layout_for(path, sheet="Template", header_row=3, data_row=4,
                        headers=["item_sku", "standard_price", "quantity"])
    return path, layout


def test_fix_sheet_keeps_layout_and_failed_rows(tmp_path: Path) -> None:
    source, layout = fptcustom(tmp_path)
    report = report_of(
        err(5, "B", "number-decimal-comma", '"12,99" is not a number', hint="write 12.99",
            sheet="Template"),
        err(6, "C", "below-minimum", "-1 is below 0", sheet="Template"),
        err(6, None, "w", "just a warning", severity=Severity.WARNING, sheet="Template"),
        err(7, "C", "w2", "warning only", severity=Severity.WARNING, sheet="Template"),
        err(None, None, "file-issue", "not a row"),
    )
    count = workbook.write_fix_sheet(source, layout, report, tmp_path / "fix.xlsx")
    assert count == 2
    wb = openpyxl.load_workbook(tmp_path / "fix.xlsx")
    assert wb.sheetnames == ["Template"]
    ws = wb["Template"]
    assert values(ws) == [
        ("TemplateType=fptcustom", "Version=2023.0509", "TemplateSignature=R1VJTEQ=", None, None),
        ("Seller SKU", "Standard Price", "Quantity", None, None),
        ("item_sku", "standard_price", "quantity", None, "Messages"),
        ("B-2", "12,99", 2, None, 'B Price: "12,99" is not a number — write 12.99'),
        ("C-3", 11, -1, dt.datetime(2026, 12, 1), "C Quantity: -1 is below 0\njust a warning"),
    ]
    assert ws["D5"].number_format == "yyyy-mm-dd"
    assert ws.freeze_panes == "A4"


def test_fix_sheet_as_text_for_reupload(tmp_path: Path) -> None:
    source, layout = fptcustom(tmp_path)
    report = report_of(err(6, "C", "below-minimum", "-1 is below 0", sheet="Template"))
    assert workbook.write_fix_sheet(source, layout, report, tmp_path / "fix.txt") == 1
    text = (tmp_path / "fix.txt").read_bytes().decode("utf-8")
    assert text.split("\r\n") == [
        "TemplateType=fptcustom\tVersion=2023.0509\tTemplateSignature=R1VJTEQ=",
        "Seller SKU\tStandard Price\tQuantity",
        "item_sku\tstandard_price\tquantity\t\tMessages",
        "C-3\t11\t-1\t2026-12-01\tC Quantity: -1 is below 0",
        "",
    ]


def test_fix_sheet_from_csv_keeps_delimiter_and_encoding(tmp_path: Path) -> None:
    source = tmp_path / "prices.csv"
    source.write_bytes("SKU;Price;Quantity\nÉTÉ-1;12,99;1\nB;2;2\n".encode("cp1252"))
    layout = layout_for(source, sheet=None)
    layout.delimiter, layout.encoding = ";", "cp1252"
    report = report_of(err(2, "B", "number-decimal-comma", "bad", sheet=None))
    assert workbook.write_fix_sheet(source, layout, report, tmp_path / "fix.csv") == 1
    rows = list(csv.reader((tmp_path / "fix.csv").read_text(encoding="cp1252").splitlines(),
                           delimiter=";"))
    assert rows == [["SKU", "Price", "Quantity", "Messages"],
                    ["ÉTÉ-1", "12,99", "1", "B Price: bad"]]
    # As a workbook the text values stay text (leading zeros, decimal commas as typed).
    assert workbook.write_fix_sheet(source, layout, report, tmp_path / "fix.xlsx") == 1
    ws = openpyxl.load_workbook(tmp_path / "fix.xlsx").active
    assert ws.title == "prices"
    assert values(ws) == [("SKU", "Price", "Quantity", "Messages"),
                          ("ÉTÉ-1", "12,99", "1", "B Price: bad")]


def test_fix_sheet_without_failures_has_headers_only(offers: Path, tmp_path: Path) -> None:
    report = report_of(err(2, "B", "w", "warn", severity=Severity.WARNING))
    assert workbook.write_fix_sheet(offers, layout_for(offers), report, tmp_path / "f") == 0
    ws = openpyxl.load_workbook(tmp_path / "f.xlsx")["Offers"]
    assert values(ws) == [("SKU", "Price", "Quantity", "Messages")]


def test_fix_sheet_ignores_issues_of_another_sheet(offers: Path, tmp_path: Path) -> None:
    report = report_of(err(2, "B", sheet="Other"), err(3, "B"))
    assert workbook.write_fix_sheet(offers, layout_for(offers), report,
                                    tmp_path / "f.xlsx") == 1
    ws = openpyxl.load_workbook(tmp_path / "f.xlsx")["Offers"]
    assert [r[0] for r in values(ws)] == ["SKU", "B-2"]


def test_column_level_issue_marks_the_header_cell(offers: Path, tmp_path: Path) -> None:
    unknown = Issue(code="unknown-column", severity=Severity.WARNING,
                    message='"Notes" is not a column of offers sheets', column="C",
                    header="Quantity", sheet="Offers", hint="rename or delete it")
    out = workbook.annotate_workbook(offers, layout_for(offers), report_of(unknown),
                                     tmp_path / "o.xlsx")
    wb = openpyxl.load_workbook(out)
    ws = wb["Offers"]
    assert ws["C1"].fill.fgColor.rgb == AMBER
    assert ws["C1"].comment.text == (
        '[unknown-column] "Notes" is not a column of offers sheets — rename or delete it')
    assert [ws[f"D{r}"].value for r in (2, 3, 4)] == ["OK", "OK", "OK"]
    listed = [r[0] for r in values(wb["Summary"])]
    assert '"Notes" is not a column of offers sheets' in listed


def test_fix_sheet_shows_formula_without_value_as_text(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "in.xlsx", [HEADERS, ["A", 5, 1], ["B", "=B2*2", 1]])
    formula = Issue(code="formula-without-value", severity=Severity.ERROR,
                    message="the cell holds the formula =B2*2 but no computed value", row=3,
                    column="B", header="Price", sheet="Offers", value="=B2*2")
    assert workbook.write_fix_sheet(source, layout_for(source), report_of(formula),
                                    tmp_path / "fix.xlsx") == 1
    ws = openpyxl.load_workbook(tmp_path / "fix.xlsx")["Offers"]
    assert (ws["B2"].value, ws["B2"].data_type) == ("=B2*2", "s")
    assert ws["A2"].value == "B"


def test_fix_sheet_refuses_unknown_suffix(offers: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught:
        workbook.write_fix_sheet(offers, layout_for(offers), report_of(), tmp_path / "f.xlsm")
    assert str(caught.value) == (
        "Cannot write the fix sheet as f.xlsm: use a .xlsx, .csv, .tsv or .txt file name.")
    assert list(tmp_path.iterdir()) == [offers]
