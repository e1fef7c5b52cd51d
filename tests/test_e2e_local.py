"""End to end through the command line and the embedded simulator (``submit --local``).

The README's first command, checked the way a newcomer would look at it: Amazon's verdict on
the sample sheets, mapped back onto their rows and cells, the annotated workbook, and the
commands that come after it (``history``, ``status``, ``report --fix-sheet``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result
from e2e_support import SAMPLES

from feeds_kit.cli import cli

#: The sample sheet's rows Amazon has something to say about (docs/simulator.md, catalogue).
OFFERS_VERDICT = {
    (20, "C", "90108", "warning", "FK-PEN-SET"),
    (24, None, "90101", "error", "FK-PHONE-CASE-IP16"),
    (27, None, "90101", "error", "FK-MUG-GREEN"),
}
#: A closed loopback port: the commands after ``submit --local`` must not need the network.
NOWHERE = "http://127.0.0.1:9"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _invoke(home: Path, *args: str) -> Result:
    # No credentials and a closed endpoint: ``--local`` brings its own, and what follows a
    # finished local submission must need neither.
    env = {
        "FEEDS_KIT_HOME": str(home),
        "FEEDS_KIT_CONFIG": str(home / "no-config.toml"),
        "FEEDS_KIT_ENDPOINT": NOWHERE,
        "FEEDS_KIT_LWA_ENDPOINT": f"{NOWHERE}/auth/o2/token",
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"feeds-kit {' '.join(args)} raised {result.exception!r}")
    return result


def _json(result: Result) -> dict[str, Any]:
    return dict(json.loads(result.stdout))


def _verdict(document: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (i["row"], i["column"], i["code"], i["severity"], i["sku"])
        for i in document["issues"]
        if i["source"] == "amazon"
    }


@pytest.fixture
def offers(tmp_path: Path) -> Path:
    """A private copy of the sample, so the test can prove the input is never modified."""
    return Path(shutil.copy(SAMPLES / "offers.xlsx", tmp_path / "offers.xlsx"))


def test_offers_sample_gets_amazons_verdict_on_its_rows(tmp_path: Path, offers: Path) -> None:
    home = tmp_path / "home"
    annotated = tmp_path / "offers.verdict.xlsx"
    before = _sha(offers)

    result = _invoke(
        home, "submit", str(offers), "--local", "--yes", "--format", "json",
        "--annotate", str(annotated),
    )

    assert result.exit_code == 1, result.stderr
    document = _json(result)
    assert document["command"] == "submit"
    assert document["exitCode"] == 1
    assert _verdict(document) == OFFERS_VERDICT
    warning = next(i for i in document["issues"] if i["code"] == "90108")
    assert warning["header"] == "Price"
    assert warning["attribute"] == "purchasable_offer.our_price"
    assert warning["message"] == (
        "The price 15.99 for 'purchasable_offer.our_price' in marketplace ATVPDKIKX0DER differs "
        "by more than 50% from the current price 7.25; check that it is intended."
    )
    rejected = next(i for i in document["issues"] if i["row"] == 24)
    assert rejected["message"] == (
        "The SKU 'FK-PHONE-CASE-IP16' does not exist for this seller, so it cannot be updated; "
        "create it with an UPDATE message first."
    )
    summary = document["summary"]
    assert summary["state"] == "done"
    assert len(summary["feedIds"]) == 1
    assert summary["amazon"] == {
        "processed": 26, "accepted": 24, "invalid": 2, "errors": 2, "warnings": 1,
    }
    assert (summary["rows"], summary["validRows"]) == (26, 24)
    assert _sha(offers) == before, "the input workbook was modified"

    # The annotated copy: Summary first, a Status per row, the warning's comment on C20.
    book = openpyxl.load_workbook(annotated)
    assert book.sheetnames[:2] == ["Summary", "Offers"]
    sheet = book["Offers"]
    headers = [c.value for c in sheet[1]]
    status_col = headers.index("Status") + 1
    statuses = {r: sheet.cell(r, status_col).value for r in range(2, sheet.max_row + 1)}
    assert statuses[20] == "WARNING"
    assert statuses[24] == statuses[27] == "REJECTED"
    assert {r for r, s in statuses.items() if s == "ACCEPTED"} == set(range(2, 28)) - {20, 24, 27}
    comment = sheet["C20"].comment
    assert comment is not None and comment.text.startswith("[90108] The price 15.99")
    summary_sheet = {
        row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]
    }
    assert summary_sheet["Rows"] == 26
    assert summary_sheet["Rows rejected"] == 2
    assert summary_sheet["Rows accepted with warnings"] == 1

    # Afterwards: history, status (by submission and by feed id), report with a fix sheet.
    # The submission is finished and its reports are saved, so none of these needs credentials
    # or the network (the endpoint is a closed port).
    sid, feed_id = summary["submission"], summary["feedIds"][0]
    history = _invoke(home, "history", "--format", "json")
    assert history.exit_code == 0
    [entry] = _json(history)["submissions"]
    assert (entry["id"], entry["state"], entry["rows"]) == (sid, "done", 26)
    assert [c["feedId"] for c in entry["chunks"]] == [feed_id]
    assert entry["chunks"][0]["summary"]["accepted"] == 24

    for key in (sid, feed_id):
        status = _invoke(home, "status", key)
        assert status.exit_code == 0, status.stderr
        assert f"{sid}  done" in status.stdout
        assert "2 errors, 1 warning in 26 rows (24 accepted)" in status.stdout

    fix = tmp_path / "fix.xlsx"
    report = _invoke(home, "report", sid, "--format", "json", "--fix-sheet", str(fix))
    assert report.exit_code == 1, report.stderr
    assert _verdict(_json(report)) == OFFERS_VERDICT
    fixes = list(openpyxl.load_workbook(fix).active.iter_rows(values_only=True))
    assert [row[0] for row in fixes] == ["SKU", "FK-PHONE-CASE-IP16", "FK-MUG-GREEN"]
    assert fixes[1][-1].startswith("The SKU 'FK-PHONE-CASE-IP16' does not exist")
    assert _sha(offers) == before


def test_price_only_csv_is_accepted_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prices = Path(shutil.copy(SAMPLES / "prices-uk.csv", tmp_path / "prices-uk.csv"))

    result = _invoke(home, "submit", str(prices), "--local", "--yes", "--format", "json")

    assert result.exit_code == 0, result.stderr
    document = _json(result)
    assert document["status"] == "ok"
    assert document["issues"] == []
    assert document["summary"]["amazon"] == {
        "processed": 7, "accepted": 7, "invalid": 0, "errors": 0, "warnings": 0,
    }
    history = _json(_invoke(home, "history", "--format", "json"))["submissions"]
    assert [(s["kind"], s["state"], s["marketplaceIds"]) for s in history] == [
        ("prices", "done", ["A1F83G8C2ARO7P"])
    ]
