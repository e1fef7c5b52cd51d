"""No secret ever leaves: every command at DEBUG, with recognisable fake secrets, is searched.

A standalone simulator on loopback has our fake LWA client (client id + secret) and refresh
token registered; every request it answers (the embedded ``--local`` one too) is captured, so
the access tokens it issued and the presigned-URL signatures it handed out and received are
known. Then each command runs in-process at ``--log-level DEBUG --log-file F`` and every place
a secret could land is searched for every secret, raw and URL-encoded: stdout, stderr, the log
file, the state folder (the journal's sqlite file and its WAL, staged chunks, reports), JSON
and CSV output, the feed documents, and every part of every workbook written (unzipped).

Config and token files that hold secrets must be private (0600): refused, with a sentence
that names the file and the fix, when group or others can read them.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from adversarial_support import CREDENTIAL_VARS, sha256
from click.testing import CliRunner
from e2e_support import compress_time
from sheetmaker import write_xlsx

from feeds_kit.cli import cli
from feeds_kit.journal import Journal
from feeds_kit.simulator import (
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    Simulator,
    SimulatorConfig,
)
from feeds_kit.simulator.wire import Reply, Request

CLIENT_ID = "amzn1.application-oa2-client.h11adversarialclient"
CLIENT_SECRET = "amzn1.oa2-cs.v1.H11-FAKE-CLIENT-SECRET-7f3a9c1e5d"
REFRESH_TOKEN = "Atzr|IwEBIH11-FAKE-REFRESH-TOKEN-4b2e8d0c6a/+=="
#: A secret the simulator does not know: the refused-login path must not echo it either.
WRONG_SECRET = "amzn1.oa2-cs.v1.H11-WRONG-CLIENT-SECRET-19d0e7"
SELLER_ID = "A3H11FAKESELLER"
SPEED = 50.0
SIGNATURE = re.compile(r"X-Amz-Signature=([0-9a-fA-F]{16,})")


# --------------------------------------------------------------------------- capture


@dataclass
class Wiretap:
    """Every secret that crossed a simulator: tokens issued and presented, signatures handed
    out in URLs and presented in uploads and downloads, credentials presented to LWA."""

    access_tokens: set[str] = field(default_factory=set)
    signatures: set[str] = field(default_factory=set)
    presented: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: Request, reply: Reply) -> None:
        with self.lock:
            token = request.header("x-amz-access-token")
            if token:
                self.access_tokens.add(token)
            signature = request.param("X-Amz-Signature")
            if signature:
                self.signatures.add(signature)
            if request.path.endswith("/auth/o2/token") or b"grant_type" in request.body:
                form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace"))
                        .items()}
                for key in ("client_secret", "refresh_token"):
                    if form.get(key):
                        self.presented.setdefault(key, set()).add(form[key])
            body = reply.body.decode("utf-8", "replace")
            self.signatures.update(SIGNATURE.findall(body))
            if '"access_token"' in body:
                try:
                    issued = json.loads(body).get("access_token")
                except ValueError:
                    issued = None
                if issued:
                    self.access_tokens.add(issued)


@pytest.fixture(scope="module")
def wiretap() -> Iterator[Wiretap]:
    """Capture the traffic of every simulator started in this module (embedded ones too)."""
    tap = Wiretap()
    original = Simulator.dispatch

    def dispatch(self: Simulator, request: Request, base_url: str | None = None) -> Reply:
        reply = original(self, request, base_url)
        tap.record(request, reply)
        return reply

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Simulator, "dispatch", dispatch)
        yield tap


# --------------------------------------------------------------------------- the session


@dataclass
class Outputs:
    """Everything the commands produced, by where it landed."""

    runs: dict[str, Any] = field(default_factory=dict)  # name -> click Result
    logs: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    #: The state folder's files (journal, its WAL, staged chunks) as they were after each
    #: command: a WAL is checkpointed away later, so it is read while it exists.
    state: list[tuple[str, bytes]] = field(default_factory=list)
    home: Path = Path()
    inputs: dict[Path, str] = field(default_factory=dict)


def _write_sheet(path: Path) -> Path:
    # One row the simulated Amazon accepts, one it rejects (unknown SKU), one local error.
    write_xlsx(path, [
        ["sku", "marketplace", "price", "currency", "quantity"],
        ["FK-TEE-RED-S", "US", 19.49, "USD", 5],
        ["H11-UNKNOWN-SKU", "US", 12.5, "USD", 3],
        ["H11-BAD-PRICE", "US", "twelve", "USD", 3],
    ])
    return path


def _submission_id(stdout: str) -> str:
    """The submission id of ``submit --format json`` (a verdict, or a submission not done)."""
    document = json.loads(stdout)
    value = document.get("submission") or document["summary"]["submission"]
    return str(value["id"] if isinstance(value, dict) else value)


@pytest.fixture(scope="module")
def session(
    wiretap: Wiretap, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outputs]:
    """Run every command once against a standalone simulator holding our fake secrets."""
    root = tmp_path_factory.mktemp("secrets")
    home, work = root / "home", root / "work"
    work.mkdir()
    sheet = _write_sheet(work / "offers.xlsx")
    out = Outputs(home=home, inputs={sheet: sha256(sheet)})
    config = SimulatorConfig(
        speed=SPEED, seed=11, processing_seconds=(5.0, 10.0),
        clients={CLIENT_ID: CLIENT_SECRET}, sellers={REFRESH_TOKEN: SELLER_ID},
    )
    with Simulator(config).start() as simulator, pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIAL_VARS:
            patch.delenv(name, raising=False)
        compress_time(patch, SPEED)
        real_close = Journal.close

        def close(journal: Journal) -> None:
            # The WAL is checkpointed away when the last connection closes: read it first.
            for path in sorted(journal.home.glob("journal.sqlite3*")):
                out.state.append((f"open journal: {path}", path.read_bytes()))
            real_close(journal)

        patch.setattr(Journal, "close", close)
        env = {
            "FEEDS_KIT_HOME": str(home),
            "FEEDS_KIT_CONFIG": str(root / "config.toml"),
            "FEEDS_KIT_ENDPOINT": simulator.endpoint,
            "FEEDS_KIT_LWA_ENDPOINT": simulator.lwa_endpoint,
            "LWA_CLIENT_ID": CLIENT_ID,
            "LWA_CLIENT_SECRET": CLIENT_SECRET,
            "SP_API_REFRESH_TOKEN": REFRESH_TOKEN,
            "SP_API_SELLER_ID": SELLER_ID,
            "SP_API_REGION": "na",
        }
        runner = CliRunner()

        def run(name: str, *args: str, extra_env: dict[str, str] | None = None) -> Any:
            log = root / "logs" / f"{name}.log"
            log.parent.mkdir(exist_ok=True)
            result = runner.invoke(
                cli, ["--log-level", "DEBUG", "--log-file", str(log), *args],
                env={**env, **(extra_env or {})}, catch_exceptions=True,
            )
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"{name} raised {result.exception!r}\n{result.output}")
            out.runs[name] = result
            out.logs[name] = log
            out.state.extend(
                (f"{name}: {where}", data)
                for path in sorted(home.rglob("*")) if path.is_file()
                for where, data in _texts_of_file(path)
            )
            return result

        def produced(*names: str) -> None:
            out.files.extend(work / n for n in names)

        run("template", "template", "offers", "-o", str(work / "template.xlsx"))
        run("validate-json", "validate", str(sheet), "--format", "json", "--annotate",
            str(work / "validated.xlsx"))
        run("validate-csv", "validate", str(sheet), "--format", "csv")
        run("build", "build", str(sheet), "-o", str(work / "feed.json"), "--skip-invalid",
            "--format", "json")
        run("auth-check", "auth", "check")
        submitted = run(
            "submit", "submit", str(sheet), "--yes", "--wait", "--skip-invalid", "--format",
            "json", "--annotate", str(work / "submit.annotated.xlsx"), "--fix-sheet",
            str(work / "submit.fix.xlsx"),
        )
        sid = _submission_id(submitted.stdout)
        run("status-list", "status")
        run("status", "status", sid)
        run("status-wait", "status", sid, "--wait")
        run("report-json", "report", sid, "--format", "json")
        run("report-csv", "report", sid, "--format", "csv", "--annotate",
            str(work / "report.annotated.xlsx"), "--fix-sheet", str(work / "report.fix.xlsx"))
        run("history-json", "history", "--format", "json")
        run("history", "history")
        later = run("submit-no-wait", "submit", str(sheet), "--yes", "--no-wait",
                    "--skip-invalid", "--format", "json", "--no-annotate")
        later_id = _submission_id(later.stdout)
        run("resume", "resume", later_id)
        run("resume-nothing", "resume")
        feed_ids = [f.feed_id for f in simulator.processor.feeds(SELLER_ID)]
        run("cancel-done", "cancel", feed_ids[0])
        run("cancel-unknown", "cancel", "99999999999")
        run("auth-check-refused", "auth", "check", extra_env={"LWA_CLIENT_SECRET": WRONG_SECRET})
        run("submit-local", "submit", str(sheet), "--local", "--yes", "--skip-invalid",
            "--format", "json", "--annotate", str(work / "local.annotated.xlsx"))
        run("auth-check-local", "auth", "check", "--local")
        produced("template.xlsx", "validated.xlsx", "feed.json", "feed.manifest.json",
                 "submit.annotated.xlsx", "submit.fix.xlsx", "report.annotated.xlsx",
                 "report.fix.xlsx", "local.annotated.xlsx")
        yield out


# --------------------------------------------------------------------------- the checks


def _secrets(tap: Wiretap) -> dict[str, str]:
    """Every secret by a label, each also URL-encoded (a secret in a query string)."""
    found = {
        "client secret": CLIENT_SECRET,
        "refresh token": REFRESH_TOKEN,
        "refused client secret": WRONG_SECRET,
        "--local client secret": LOCAL_CLIENT_SECRET,
        "--local refresh token": LOCAL_REFRESH_TOKEN,
    }
    found.update({f"access token {i}": t for i, t in enumerate(sorted(tap.access_tokens))})
    found.update({f"signature {i}": s for i, s in enumerate(sorted(tap.signatures))})
    variants = {}
    for label, value in found.items():
        variants[label] = value
        encoded = quote(value, safe="")
        if encoded != value:
            variants[f"{label} (URL-encoded)"] = encoded
        # The part after "Atza|"/"Atzr|" is the secret; the prefix alone is not.
        if "|" in value:
            variants[f"{label} (body)"] = value.split("|", 1)[1]
    return variants


def _texts_of_file(path: Path) -> Iterator[tuple[str, bytes]]:
    """A file's bytes, and for a zip (xlsx) each member decompressed."""
    data = path.read_bytes()
    yield str(path), data
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                yield f"{path}!{name}", zf.read(name)


def _channels(out: Outputs) -> dict[str, list[tuple[str, bytes]]]:
    channels: dict[str, list[tuple[str, bytes]]] = {
        "stdout": [(n, r.stdout_bytes) for n, r in out.runs.items()],
        "stderr": [(n, r.stderr_bytes) for n, r in out.runs.items()],
        "log file": [(str(p), p.read_bytes()) for p in out.logs.values() if p.exists()],
        "state folder (journal, WAL, chunks, reports)": out.state,
        "written files (workbooks, feed, manifest)": [
            item for p in out.files if p.exists() for item in _texts_of_file(p)
        ],
    }
    return channels


CHANNELS = (
    "stdout", "stderr", "log file", "state folder (journal, WAL, chunks, reports)",
    "written files (workbooks, feed, manifest)",
)


def test_the_secrets_were_really_used(session: Outputs, wiretap: Wiretap) -> None:
    """Guards the other tests against passing vacuously."""
    assert wiretap.presented["client_secret"] >= {CLIENT_SECRET, WRONG_SECRET}
    assert REFRESH_TOKEN in wiretap.presented["refresh_token"]
    assert len(wiretap.access_tokens) >= 2  # ours and the --local simulator's
    assert len(wiretap.signatures) >= 4  # upload and download URLs, at least
    # The commands did their work (exit codes of PRODUCT.md) ...
    codes = {name: r.exit_code for name, r in session.runs.items()}
    assert codes["template"] == 0 and codes["auth-check"] == 0
    assert codes["submit"] == 1  # one row rejected by the simulated Amazon, one invalid locally
    assert codes["auth-check-refused"] == 3 and codes["cancel-done"] == 3
    assert codes["resume"] in (0, 1) and codes["submit-local"] == 1
    # ... the log files hold DEBUG lines, and every promised file was written.
    assert any(b"DEBUG" in p.read_bytes() for p in session.logs.values() if p.exists())
    assert all(p.exists() for p in session.files), [p for p in session.files if not p.exists()]
    state = {where.rsplit("/", 1)[-1] for where, _ in session.state}
    assert "journal.sqlite3" in state and "journal.sqlite3-wal" in state, state


@pytest.mark.parametrize("channel", CHANNELS)
def test_no_secret_in(channel: str, session: Outputs, wiretap: Wiretap) -> None:
    secrets = _secrets(wiretap)
    leaks = [
        f"{label} in {where}"
        for where, data in _channels(session)[channel]
        for label, secret in secrets.items()
        if secret.encode() in data
    ]
    assert leaks == []


def test_inputs_untouched_by_every_command(session: Outputs) -> None:
    for path, digest in session.inputs.items():
        assert sha256(path) == digest


def test_auth_check_names_sources_not_values(session: Outputs) -> None:
    lines = session.runs["auth-check"].stdout.splitlines()
    assert lines[0] == "Credentials work."
    assert "  client_secret: set (env LWA_CLIENT_SECRET)" in lines
    assert "  refresh_token: set (env SP_API_REFRESH_TOKEN)" in lines


# --------------------------------------------------------------------------- private files


def _config(path: Path, body: str, mode: int) -> Path:
    path.write_text(body, encoding="utf-8")
    path.chmod(mode)
    return path


PROFILE_WITH_SECRET = (
    '[profiles.shop]\nregion = "na"\nseller_id = "A3H11FAKESELLER"\n'
    f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
    'refresh_token_env = "H11_REFRESH"\n'
)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_shared_config_with_secrets_is_refused(
    mode: int, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "config.toml", PROFILE_WITH_SECRET, mode)
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(config))
    monkeypatch.setenv("H11_REFRESH", REFRESH_TOKEN)
    result = runner.invoke(cli, ["auth", "check", "--profile", "shop"])
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: The config file {config} holds secrets but is readable by others "
        f"(mode {mode:03o}): run chmod 600 {config}.\n"
    )
    assert CLIENT_SECRET not in result.output and REFRESH_TOKEN not in result.output


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_shared_token_file_is_refused(
    mode: int, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _config(tmp_path / "shop.token", REFRESH_TOKEN + "\n", mode)
    config = _config(
        tmp_path / "config.toml",
        '[profiles.shop]\nregion = "na"\nseller_id = "A3H11FAKESELLER"\n'
        'client_id_env = "H11_ID"\nclient_secret_env = "H11_SECRET"\n'
        'refresh_token_file = "shop.token"\n',
        0o644,  # holds no secret itself: may be shared
    )
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(config))
    monkeypatch.setenv("H11_ID", CLIENT_ID)
    monkeypatch.setenv("H11_SECRET", CLIENT_SECRET)
    result = runner.invoke(cli, ["auth", "check", "--profile", "shop"])
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: The token file {token} holds secrets but is readable by others "
        f"(mode {mode:03o}): run chmod 600 {token}.\n"
    )
    assert REFRESH_TOKEN not in result.output and CLIENT_SECRET not in result.output


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_private_config_is_accepted_and_state_is_created_private(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    """A 0600 config passes the check; the journal is created 0600 in a 0700 folder."""
    config = _config(tmp_path / "config.toml", PROFILE_WITH_SECRET, 0o600)
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(config))
    monkeypatch.setenv("H11_REFRESH", REFRESH_TOKEN)
    result = runner.invoke(cli, ["history", "--profile", "shop"])
    assert result.exit_code == 0, result.output
    assert "holds secrets" not in result.output
    made = [p for p in clean_env.rglob("*") if p.is_file()]
    assert made, "history created no journal"
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is not private"
    assert stat.S_IMODE(clean_env.stat().st_mode) & 0o077 == 0


def test_no_access_token_is_ever_written_to_disk(session: Outputs, wiretap: Wiretap) -> None:
    """There is no token cache file: access tokens live in memory only (see docs)."""
    tokens = [t.encode() for t in wiretap.access_tokens]
    for path in session.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(t in data for t in tokens), path


def test_urls_with_signatures_never_reach_outputs(session: Outputs) -> None:
    """Belt and braces over the exact-signature search: no presigned query string at all."""
    for channel in CHANNELS:
        for where, data in _channels(session)[channel]:
            assert b"X-Amz-Signature=" not in data, f"{where} ({channel})"
            assert b"X-Amz-Credential=" not in data, f"{where} ({channel})"


def test_every_command_answered_as_documented(session: Outputs) -> None:
    """The session's own plumbing: each command ran its real path, not an early error."""
    codes = {name: r.exit_code for name, r in session.runs.items()}
    assert codes == {
        "template": 0, "validate-json": 1, "validate-csv": 1, "build": 1, "auth-check": 0,
        "submit": 1, "status-list": 0, "status": 0, "status-wait": 1, "report-json": 1,
        "report-csv": 1, "history-json": 0, "history": 0, "submit-no-wait": 0, "resume": 1,
        "resume-nothing": 0, "cancel-done": 3, "cancel-unknown": 3, "auth-check-refused": 3,
        "submit-local": 1, "auth-check-local": 0,
    }
    for name in ("validate-json", "build", "submit", "report-json", "history-json"):
        json.loads(session.runs[name].stdout)


