"""``feeds-kit product-types``: fetch from the (local) SP-API, list the cache, show a type."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds_kit.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FEEDS_KIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_list_shows_the_packaged_fixtures(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["product-types", "list"])
    assert result.exit_code == 0, result.output
    assert "LUGGAGE" in result.output and "SHIRT" in result.output
    assert "packaged" in result.output


def test_show_lists_required_attributes_first(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["product-types", "show", "SHIRT", "-m", "UK"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("│")]
    names = [line.split("│")[1].strip() for line in lines]
    assert names[:4] == ["item_name", "brand", "department", "color"]


def test_fetch_caches_both_enforcements(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["product-types", "fetch", "LUGGAGE", "-m", "US", "--local"])
    assert result.exit_code == 0, result.output
    assert "ENFORCED" in result.output and "NOT_ENFORCED" in result.output
    cached = sorted(p.parent.name for p in (tmp_path / "home").rglob("schema.json"))
    assert len(cached) == 2
    listed = runner.invoke(cli, ["product-types", "list"])
    assert listed.output.count("cache") >= 2


def test_show_an_unknown_type_is_one_sentence(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["product-types", "show", "NOPE", "-m", "US"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert "NOPE" in result.output
