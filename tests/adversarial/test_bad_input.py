"""Bad input gets a clear answer, never a crash: the corpus of ``make_corpus.py`` through the CLI.

Every case is run three ways:

* ``validate`` in-process (``CliRunner``): the exact exit code and the words of the one sentence
  (file, sheet, row, column, what would be right), no traceback, bounded output;
* ``build`` in-process: refused the same way and no feed document left behind;
* ``validate`` in a real process: bounded wall time and peak memory (RUSAGE_CHILDREN measured by
  a wrapper process), whatever the file inflates to.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from adversarial_support import BoundedRun, child_env, run_bounded, sha256
from click.testing import CliRunner, Result
from make_corpus import CASES, Case

from feeds_kit.cli import cli
from feeds_kit.issues import Issue, Severity

#: A real process must answer within this many seconds ...
TIME_LIMIT = 5.0
#: ... and never hold more than this much memory (a 1.1 GB zip bomb included).
MEMORY_LIMIT_MIB = 300.0


def _params(*, exact: bool, validate: bool = True) -> list[Any]:
    """The cases, each marked xfail (strict) while a known bug of the test's kind stands:
    any for the exact answer, crashes always, wrong exit codes of ``validate``."""
    params: list[Any] = []
    for item in CASES:
        reason = item.crash or (
            item.known_bug if exact or (item.exit_bug and validate) else None
        )
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(item, id=item.name, marks=marks))
    return params


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "failed unexpectedly" not in result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


def _expected(item: Case, path: Path) -> list[str]:
    return [fragment.replace("{file}", str(path)) for fragment in item.expect]


def sentences(document: dict[str, Any]) -> list[str]:
    """Each issue of a ``--format json`` document as the one sentence a person reads."""
    lines = []
    for data in document["issues"]:
        issue = Issue(
            code=data["code"], severity=Severity(data["severity"]), message=data["message"],
            sheet=data["sheet"], row=data["row"], column=data["column"], header=data["header"],
            hint=data["hint"],
        )
        sku = f" (SKU {data['sku']})" if data.get("sku") else ""
        lines.append(issue.sentence() + sku)
    return lines


@pytest.mark.parametrize("item", _params(exact=True))
def test_validate_answers_in_one_sentence(
    item: Case, corpus: dict[str, Path], runner: CliRunner
) -> None:
    path = corpus[item.name]
    before = sha256(path)
    result = runner.invoke(cli, ["validate", str(path), *item.args])
    _no_traceback(result)
    assert result.exit_code == item.exit_code, result.output[:3000]
    assert len(result.output) <= item.max_output, f"{len(result.output):,} characters of output"
    if item.exit_code == 2:
        # Unreadable input: one sentence on stderr, naming the file, nothing on stdout.
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: ") and lines[0].endswith(".")
        said = lines[0]
    else:
        # Data errors: the status line names the file and counts the errors ...
        first = result.stdout.splitlines()[0]
        assert first.startswith(f"✖ {path.name}: "), first
        assert " error" in first
        # ... and each issue is one sentence with its row and column (from --format json).
        as_json = runner.invoke(cli, ["validate", str(path), *item.args, "--format", "json"])
        assert as_json.exit_code == item.exit_code
        document = json.loads(as_json.stdout)
        said = "\n".join(sentences(document))
        if item.sheet is not None:
            assert document["sheet"] == item.sheet
            assert {i["sheet"] for i in document["issues"]} == {item.sheet}
    for fragment in _expected(item, path):
        assert fragment in said, f"{fragment!r} not in:\n{said[:3000]}"
    assert sha256(path) == before, "the input file was modified"


@pytest.mark.parametrize("item", _params(exact=False, validate=False))
def test_build_refuses_and_writes_nothing(
    item: Case, corpus: dict[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    path = corpus[item.name]
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["build", str(path), "-o", str(out / "feed.json"), "--seller-id", "A1SELLER",
              *item.args],
    )
    _no_traceback(result)
    assert result.exit_code in (1, 2), result.output[:3000]
    if result.exit_code == 2:
        assert str(path) in result.stderr
    else:
        assert "No feed document written" in result.stdout
    # Nothing half-built is left: no document, no manifest, no staging folder.
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == []


@pytest.fixture(scope="module")
def bounded_runs(corpus: dict[str, Path], session_home: Path) -> dict[str, BoundedRun]:
    """``feeds-kit validate`` on every case, each in its own measured process (in parallel)."""
    env = child_env(session_home)

    def run(item: Case) -> tuple[str, BoundedRun]:
        return item.name, run_bounded(["validate", str(corpus[item.name]), *item.args], env,
                                      limit=TIME_LIMIT * 4)

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("item", _params(exact=False))
def test_real_process_is_bounded(item: Case, bounded_runs: dict[str, BoundedRun]) -> None:
    run = bounded_runs[item.name]
    assert run.code is not None, f"still running after {run.seconds:.1f} s: killed"
    assert run.code in (1, 2), run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.seconds < TIME_LIMIT, f"{run.seconds:.1f} s"
    assert run.peak_mib < MEMORY_LIMIT_MIB, f"peak RSS {run.peak_mib:.0f} MiB"


@pytest.mark.parametrize(
    "item", [p for p in _params(exact=False) if p.values[0].name.endswith((".xlsx", ".xls"))]
)
def test_workbooks_with_the_openpyxl_engine(
    item: Case, corpus: dict[str, Path], runner: CliRunner
) -> None:
    """The pure-Python engine meets the same files: exit 1 or 2, a sentence, no traceback."""
    path = corpus[item.name]
    result = runner.invoke(cli, ["validate", str(path), "--engine", "openpyxl"])
    _no_traceback(result)
    assert result.exit_code in (1, 2), result.output[:3000]
    if result.exit_code == 2:
        assert str(path) in result.stderr and result.stderr.startswith("Error: ")


def test_zip_bombs_are_what_they_claim(corpus: dict[str, Path]) -> None:
    """The bombs really inflate past 1 GiB; the lying one declares 4 MiB for the same sheet."""
    import zipfile

    from make_corpus import BOMB_BYTES, BOMB_DECLARED

    honest, lying = corpus["zip-bomb.xlsx"], corpus["zip-bomb-lying-sizes.xlsx"]
    assert honest.stat().st_size < 4 << 20
    with zipfile.ZipFile(honest) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 1 << 30
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size >= BOMB_BYTES
    with zipfile.ZipFile(lying) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == BOMB_DECLARED
    # The bytes are the same bomb: only the size fields differ.
    assert honest.stat().st_size == lying.stat().st_size
    with zipfile.ZipFile(honest) as zf, zf.open("xl/worksheets/sheet1.xml") as fh:
        inflated = 0
        while chunk := fh.read(1 << 24):
            inflated += len(chunk)
    assert inflated >= BOMB_BYTES


def test_corpus_generator_writes_every_case_and_its_index(tmp_path: Path) -> None:
    import json

    import make_corpus

    assert make_corpus.main([str(tmp_path), "nul-byte.csv", "empty.xlsx"]) == 0
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    assert sorted(index) == ["empty.xlsx", "nul-byte.csv"]
    assert index["nul-byte.csv"]["exit_code"] == 2
    assert (tmp_path / "empty.xlsx").stat().st_size == 0
    assert len({c.name for c in CASES}) == len(CASES)


def test_twenty_thousand_unknown_columns_never_hide_the_rows_error(
    corpus: dict[str, Path], runner: CliRunner
) -> None:
    """20,000 unknown columns: the first 20 are listed, the rest counted in one warning, and
    the row's error is kept and decides the exit code."""
    result = runner.invoke(cli, ["validate", str(corpus["wide-header.csv"]), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    codes = [i["code"] for i in data["issues"]]
    assert codes.count("unknown-column") == 20
    assert codes.count("unknown-columns-more") == 1
    errors = [(i["row"], i["column"]) for i in data["issues"] if i["severity"] == "error"]
    assert errors == [(2, "C")]


def test_status_line_never_claims_all_valid_when_errors_were_dropped() -> None:
    """A report whose kept issues hold no error although rows are invalid (their errors past
    the limit) must not say "all valid"."""
    import io

    from rich.console import Console

    from feeds_kit import render
    from feeds_kit.issues import Report

    report = Report(file="wide.csv", rows=1, valid_rows=0, limit=1)
    report.issues.append(Issue(code="unknown-column", severity=Severity.WARNING, message="x"))
    report.dropped = 1
    out = io.StringIO()
    render.render_text(report, console=Console(file=out, width=200, no_color=True))
    assert out.getvalue().splitlines()[0] == (
        "✖ wide.csv: 1 row of 1 not valid; their errors are past the issue limit "
        "(raise --limit-errors)"
    )


def test_a_huge_sku_is_shortened_in_the_issues_table() -> None:
    import io

    from make_corpus import LONG_CELL
    from rich.console import Console

    from feeds_kit import render
    from feeds_kit.issues import Report

    assert render._shortened("S" * 40) == "S" * 40
    assert render._shortened("S" * LONG_CELL) == "S" * 59 + f"… ({LONG_CELL:,} characters)"
    report = Report(file="long.xlsx", rows=1, valid_rows=0)
    report.add(Issue(code="sku-too-long", severity=Severity.ERROR, message="too long",
                     row=2, column="A", header="sku", sku="S" * LONG_CELL))
    out = io.StringIO()
    render.render_text(report, console=Console(file=out, width=100, no_color=True))
    assert len(out.getvalue()) < 3000
