"""The command line as a user runs it: exit codes, the exact sentences, files written.

Offline commands only (template, validate, build); the submission commands are exercised
end to end on the local simulator in test_e2e_local.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import jsonschema
import openpyxl
import pytest
from click.testing import CliRunner
from sheetmaker import write_csv, write_xlsx

from feeds_kit import resources
from feeds_kit.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FEED_SCHEMA = resources.load_schema("amazon", "listings-feed-schema-v2.json")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FEEDS_KIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(tmp_path / "config.toml"))
    for name in (
        "LWA_CLIENT_ID",
        "LWA_APP_ID",
        "LWA_CLIENT_SECRET",
        "SP_API_REFRESH_TOKEN",
        "SP_API_SELLER_ID",
        "SP_API_REGION",
        "FEEDS_KIT_ENDPOINT",
        "FEEDS_KIT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_every_command_has_help() -> None:
    """A command without help text is a defect (sqlite-utils does the same check)."""

    def walk(command: click.Command, name: str) -> None:
        assert command.help, f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{name} {param.opts} has no help"
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                walk(sub, f"{name} {sub_name}")

    walk(cli, "feeds-kit")


def test_docs_are_current() -> None:
    """docs/cli.md and docs/issues.md are generated; regenerate with python docs/generate.py."""
    import runpy

    generate = runpy.run_path(str(Path(__file__).resolve().parents[1] / "docs" / "generate.py"))
    assert generate["main"](["--check"]) == 0, "run: python docs/generate.py"


def test_template_then_validate_then_build(runner: CliRunner, tmp_path: Path) -> None:
    template = tmp_path / "t.xlsx"
    result = runner.invoke(cli, ["template", "offers", "-o", str(template)])
    assert result.exit_code == 0, result.output
    # Fill it the way a seller does in Excel: a SKU typed as text, a price typed as text.
    wb = openpyxl.load_workbook(template)
    ws = wb["Offers"] if "Offers" in wb.sheetnames else wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    values = {"SKU": "00123", "Marketplace": "US", "Price": "19.99", "Quantity": 5}
    ws.append([values.get(h) for h in headers])
    wb.save(template)

    result = runner.invoke(cli, ["validate", str(template)])
    assert result.exit_code == 0, result.output
    assert "1 rows, all valid" in result.output or "1 row, all valid" in result.output

    feed = tmp_path / "feed.json"
    result = runner.invoke(
        cli, ["build", str(template), "-o", str(feed), "--seller-id", "A1SELLER"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(feed.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(FEED_SCHEMA).validate(document)
    message = document["messages"][0]
    assert message["sku"] == "00123"
    assert message["operationType"] == "PATCH"
    paths = [p["path"] for p in message["patches"]]
    assert paths == ["/attributes/purchasable_offer", "/attributes/fulfillment_availability"]
    offer = message["patches"][0]["value"][0]
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": 19.99}]}]
    manifest = json.loads((tmp_path / "feed.manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"][0]["messages"]["1"]["row"] == 2


def test_validate_messy_sheet_reports_every_problem_on_its_cell(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", str(SAMPLES / "offers-with-mistakes.xlsx"), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["version"] == 1
    found = {(i["row"], i["column"], i["code"]) for i in data["issues"]}
    expected = {
        (None, "G", "unknown-column"),
        (3, "A", "sku-typed-as-number"),
        (4, "B", "number-decimal-comma"),
        (5, "C", "quantity-invalid"),
        (6, "C", "not-a-whole-number"),
        (8, "A", "duplicate-sku"),
        (9, "B", "formula-without-value"),
        (10, "A", "duplicate-sku"),
        (12, "D", "handling-time-invalid"),
        (13, "E", "currency-mismatch"),
        (14, "H", "sale-price-not-below-price"),
        (15, "I", "dependent-field-missing"),
        (15, "J", "dependent-field-missing"),
        (16, "B", "price-below-minimum"),
        (17, "A", "sku-trimmed"),
        (17, "B", "price-too-many-decimals"),
        (18, "I", "date-as-text"),
        (18, "J", "date-as-text"),
    }
    assert found == expected
    # No problem invented on the good rows.
    assert not {i["row"] for i in data["issues"]} & {2, 19}
    assert data["summary"]["rows"] == 16
    assert data["summary"]["validRows"] == 3


def test_validate_windows_1252_csv_with_umlauts(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", str(SAMPLES / "inventory-de.csv"), "-m", "DE", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    codes = {i["code"] for i in data["issues"]}
    assert "encoding-fallback" in codes
    assert "unknown-column" in codes  # "Bezeichnung" is not ours, and says so
    assert data["kind"] == "inventory"
    assert data["summary"]["validRows"] == 5


def test_validate_strict_turns_warnings_into_exit_1(runner: CliRunner) -> None:
    path = str(SAMPLES / "inventory-de.csv")
    assert runner.invoke(cli, ["validate", path, "-m", "DE"]).exit_code == 0
    assert runner.invoke(cli, ["validate", path, "-m", "DE", "--strict"]).exit_code == 1


def test_build_refuses_errors_without_skip_invalid(runner: CliRunner, tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    args = [
        "build",
        str(SAMPLES / "offers-with-mistakes.xlsx"),
        "-o",
        str(feed),
        "--seller-id",
        "A1SELLER",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "No feed document written" in result.output
    assert not feed.exists()
    assert not list(tmp_path.glob("*.json"))

    result = runner.invoke(cli, [*args, "--skip-invalid"])
    assert result.exit_code == 1, result.output  # errors were still found
    document = json.loads(feed.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(FEED_SCHEMA).validate(document)
    assert [m["sku"] for m in document["messages"]] == ["FK-TEE-RED-S", "12345", "FK-APRON-BLACK"]
    assert "Left out" in result.output


def test_build_needs_a_seller_id(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["build", str(SAMPLES / "offers.xlsx"), "-o", str(tmp_path / "f.json")]
    )
    assert result.exit_code == 2
    assert "No seller id" in result.output


def test_build_reads_the_seller_id_from_the_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SP_API_SELLER_ID", "A2ENVSELLER")
    feed = tmp_path / "f.json"
    result = runner.invoke(cli, ["build", str(SAMPLES / "prices-uk.csv"), "-o", str(feed)])
    assert result.exit_code == 0, result.output
    assert json.loads(feed.read_text())["header"]["sellerId"] == "A2ENVSELLER"


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "empty.xlsx", "empty.xlsx"),
        (b"<html><body>not a sheet</body></html>", "page.xlsx", "page.xlsx"),
        (b"PK\x03\x04truncated", "broken.xlsx", "broken.xlsx"),
    ],
)
def test_unreadable_input_is_one_sentence_and_exit_2(
    runner: CliRunner, tmp_path: Path, content: bytes, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_file_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["validate", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2
    assert "nope.xlsx" in result.output


def test_unknown_marketplace_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", str(SAMPLES / "offers.xlsx"), "-m", "XX"])
    assert result.exit_code == 2
    assert "Unknown marketplace 'XX'" in result.output


def test_missing_sku_column_stops_row_checks(runner: CliRunner, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "nosku.xlsx", [["price", "quantity"], [9.99, 3]])
    result = runner.invoke(cli, ["validate", str(path), "-m", "US", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [i["code"] for i in data["issues"]] == ["missing-column"]


def test_csv_output_escapes_formulas(runner: CliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [["sku", "price"], ["=HYPERLINK(1)", "abc"]])
    result = runner.invoke(cli, ["validate", str(path), "-m", "US", "--format", "csv"])
    assert result.exit_code == 1
    assert "'=HYPERLINK(1)" in result.output


def test_annotate_writes_a_copy_and_leaves_the_input(runner: CliRunner, tmp_path: Path) -> None:
    source = SAMPLES / "offers-with-mistakes.xlsx"
    before = source.read_bytes()
    out = tmp_path / "annotated.xlsx"
    result = runner.invoke(cli, ["validate", str(source), "--annotate", str(out)])
    assert result.exit_code == 1
    assert source.read_bytes() == before
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Summary"
    assert f"Annotated copy: {out}" in result.output
    # Annotating the annotated copy again is safe.
    again = tmp_path / "again.xlsx"
    assert runner.invoke(cli, ["validate", str(out), "--annotate", str(again)]).exit_code == 1


def test_annotate_refuses_to_overwrite_the_input(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "offers.xlsx"
    path.write_bytes((SAMPLES / "offers.xlsx").read_bytes())
    result = runner.invoke(cli, ["validate", str(path), "--annotate", str(path)])
    assert result.exit_code == 2
    assert path.read_bytes() == (SAMPLES / "offers.xlsx").read_bytes()
