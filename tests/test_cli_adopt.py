"""``resume --adopt``: a person settles a chunk that reconciliation could not decide."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds_kit.cli import cli
from feeds_kit.journal import ChunkState, Journal, NewChunk, SubmissionState
from feeds_kit.manifest import DocumentEntry, Manifest


@pytest.fixture
def attention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    home = tmp_path / "home"
    monkeypatch.setenv("FEEDS_KIT_HOME", str(home))
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(tmp_path / "none.toml"))
    # Deciding needs no request, but the client is built from credentials all the same.
    monkeypatch.setenv("LWA_CLIENT_ID", "amzn1.application-oa2-client.test")
    monkeypatch.setenv("LWA_CLIENT_SECRET", "secret")
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", "Atzr|token")
    monkeypatch.setenv("FEEDS_KIT_ENDPOINT", "http://127.0.0.1:9")
    document = tmp_path / "chunk.json"
    document.write_text("{}", encoding="utf-8")
    with Journal(home) as journal:
        sid = journal.begin_submission(
            source=tmp_path / "offers.xlsx",
            source_sha256=None,
            sheet="Offers",
            kind="offers",
            profile=None,
            seller_id="A1",
            region="na",
            marketplace_ids=["ATVPDKIKX0DER"],
            feed_type="JSON_LISTINGS_FEED",
        )
        manifest = Manifest(
            file="offers.xlsx",
            sheet="Offers",
            kind="offers",
            documents=[DocumentEntry("chunk.json", ["ATVPDKIKX0DER"])],
        )
        journal.add_chunks(sid, [NewChunk(document, "0" * 64, 2, 1, ["ATVPDKIKX0DER"])], manifest)
        journal.needs_attention(sid, 0, "two feeds could be this chunk's", ["111", "222"])
    return home, sid


def test_adopt_a_candidate_feed(attention: tuple[Path, str]) -> None:
    home, sid = attention
    result = CliRunner().invoke(cli, ["resume", sid, "--adopt", "1=222", "--no-wait"])
    assert result.exit_code == 0, result.output
    with Journal(home) as journal:
        submission = journal.get(sid)
    assert submission.chunks[0].feed_id == "222"
    assert submission.chunks[0].state is ChunkState.CREATED
    assert submission.state is SubmissionState.SUBMITTED


@pytest.mark.parametrize(
    ("value", "message"),
    [("x=1", "write CHUNK=FEED_ID"), ("1", "write CHUNK=FEED_ID"), ("0=5", "write CHUNK=FEED_ID")],
)
def test_adopt_needs_chunk_equals_feed(
    attention: tuple[Path, str], value: str, message: str
) -> None:
    _, sid = attention
    result = CliRunner().invoke(cli, ["resume", sid, "--adopt", value, "--no-wait"])
    assert result.exit_code == 2
    assert message in result.output


def test_adopt_without_an_id_is_a_usage_error(attention: tuple[Path, str]) -> None:
    result = CliRunner().invoke(cli, ["resume", "--adopt", "1=222"])
    assert result.exit_code == 2
    assert "--adopt needs the submission ID" in result.output
