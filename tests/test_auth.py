"""LWA token exchange, caching, refresh, thread sharing, error sentences; optional SigV4."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import requests_mock

from feeds_kit.auth import LwaAuth, SigV4Signer
from feeds_kit.config import load_settings
from feeds_kit.errors import AuthError, ConfigError

TOKEN_URL = "https://lwa.test/auth/o2/token"
CLIENT_SECRET = "amzn1.oa2-cs.v1.client-secret-XYZ"
REFRESH = "Atzr|IwEBrefresh-token-ABC"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_auth(clock: FakeClock, **kw: Any) -> LwaAuth:
    return LwaAuth(
        client_id="amzn1.application-oa2-client.abc",
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH,
        endpoint=TOKEN_URL,
        clock=clock,
        sleep=clock.sleep,
        **kw,
    )


def tokens(*values: str, expires_in: int = 3600) -> list[dict[str, Any]]:
    return [
        {"json": {"access_token": v, "token_type": "bearer", "expires_in": expires_in}}
        for v in values
    ]


def test_exchange_posts_the_refresh_token_form() -> None:
    clock = FakeClock()
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|first"))
        assert make_auth(clock).token() == "Atza|first"
        sent = m.request_history[0]
    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert parse_qs(sent.text) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": ["amzn1.application-oa2-client.abc"],
        "client_secret": [CLIENT_SECRET],
    }


@pytest.mark.parametrize(
    ("advance", "expected_calls", "expected_token"),
    [
        (0, 1, "Atza|first"),
        (3539, 1, "Atza|first"),  # 61 s before expiry: still cached
        (3540, 2, "Atza|second"),  # 60 s before expiry: refreshed
        (7200, 2, "Atza|second"),
    ],
)
def test_token_is_cached_until_sixty_seconds_before_expiry(
    advance: float, expected_calls: int, expected_token: str
) -> None:
    clock = FakeClock()
    auth = make_auth(clock)
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|first", "Atza|second"))
        auth.token()
        clock.now += advance
        assert auth.token() == expected_token
        assert m.call_count == expected_calls
    assert auth.refresh_count == expected_calls


def test_invalidate_forces_one_refresh_and_ignores_stale_tokens() -> None:
    clock = FakeClock()
    auth = make_auth(clock)
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|first", "Atza|second", "Atza|third"))
        assert auth.token() == "Atza|first"
        auth.invalidate("Atza|first")
        assert auth.token() == "Atza|second"
        # A second thread reporting the old token must not throw the new one away.
        auth.invalidate("Atza|first")
        assert auth.token() == "Atza|second"
        assert m.call_count == 2


def test_threads_share_one_refresh() -> None:
    clock = FakeClock()
    auth = make_auth(clock)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(auth.token())

    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|shared", "Atza|other"))
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert m.call_count == 1
    assert results == ["Atza|shared"] * 8


def test_auth_attaches_the_access_token_header() -> None:
    clock = FakeClock()
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|hdr"))
        m.get("https://api.test/x", json={})
        requests.get("https://api.test/x", auth=make_auth(clock), timeout=1)
        assert m.request_history[-1].headers["x-amz-access-token"] == "Atza|hdr"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            401,
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            "Login with Amazon rejected the app's client id or secret (invalid_client): check "
            "LWA_CLIENT_ID and LWA_CLIENT_SECRET (client secrets must be rotated every 180 "
            "days); Amazon says: Client authentication failed.",
        ),
        (
            400,
            {"error": "invalid_grant", "error_description": f"The token {REFRESH} is invalid."},
            "Login with Amazon rejected the refresh token (invalid_grant): it was revoked, has "
            "expired or belongs to another app; authorize the app again and set "
            "SP_API_REFRESH_TOKEN; Amazon says: The token *** is invalid.",
        ),
        (
            400,
            {"error": "weird_error"},
            "Login with Amazon refused the credentials (weird_error).",
        ),
        (
            404,
            "<html>not here</html>",
            "Login with Amazon at lwa.test answered HTTP 404 without a token: check "
            "FEEDS_KIT_LWA_ENDPOINT and the network.",
        ),
        (
            200,
            {"token_type": "bearer"},
            "Login with Amazon at lwa.test answered without an access token: check "
            "FEEDS_KIT_LWA_ENDPOINT.",
        ),
    ],
)
def test_lwa_errors_become_sentences_without_secrets(
    status: int, body: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    with requests_mock.Mocker() as m:
        kw = {"json": body} if isinstance(body, dict) else {"text": body}
        m.post(TOKEN_URL, status_code=status, **kw)
        with pytest.raises(AuthError) as info:
            make_auth(clock).token()
        assert m.call_count == 1  # 4xx: no retry
    assert str(info.value) == message
    assert info.value.exit_code == 3
    for text in (str(info.value), repr(info.value.context), caplog.text):
        assert CLIENT_SECRET not in text
        assert REFRESH not in text


def test_lwa_server_errors_are_retried_then_reported() -> None:
    clock = FakeClock()
    with requests_mock.Mocker() as m:
        m.post(
            TOKEN_URL,
            [
                {"status_code": 503, "json": {"error": "temporarily_unavailable"}},
                {"exc": requests.exceptions.ConnectionError},
                *tokens("Atza|late"),
            ],
        )
        assert make_auth(clock).token() == "Atza|late"
        assert m.call_count == 3
    assert clock.slept == [1.0, 2.0]


def test_unreachable_lwa_is_an_auth_error() -> None:
    clock = FakeClock()
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, exc=requests.exceptions.ConnectTimeout)
        with pytest.raises(AuthError) as info:
            make_auth(clock, max_attempts=2).token()
    assert str(info.value) == (
        "Cannot reach Login with Amazon at lwa.test (ConnectTimeout): check the network, a "
        "proxy, or FEEDS_KIT_LWA_ENDPOINT."
    )


def test_short_lived_token_is_kept_for_half_its_life() -> None:
    clock = FakeClock()
    auth = make_auth(clock)
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|a", "Atza|b", expires_in=40))
        auth.token()
        clock.now += 19
        assert auth.token() == "Atza|a"
        clock.now += 1
        assert auth.token() == "Atza|b"


def test_repr_hides_secrets() -> None:
    auth = make_auth(FakeClock())
    assert CLIENT_SECRET not in repr(auth)
    assert REFRESH not in repr(auth)


def test_from_settings_requires_credentials(tmp_path: Path) -> None:
    settings = load_settings(env={"LWA_CLIENT_ID": "c"}, path=tmp_path / "none.toml")
    with pytest.raises(ConfigError, match=r"^Missing credentials: LWA client secret"):
        LwaAuth.from_settings(settings)


def test_from_settings_uses_the_lwa_endpoint(tmp_path: Path) -> None:
    env = {
        "LWA_CLIENT_ID": "c",
        "LWA_CLIENT_SECRET": CLIENT_SECRET,
        "SP_API_REFRESH_TOKEN": REFRESH,
        "FEEDS_KIT_LWA_ENDPOINT": TOKEN_URL,
    }
    settings = load_settings(env=env, path=tmp_path / "none.toml")
    auth = LwaAuth.from_settings(settings, clock=FakeClock())
    assert auth.endpoint == TOKEN_URL
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens("Atza|x"))
        assert auth.token() == "Atza|x"


# ----------------------------------------------------------------------------- SigV4


def test_sigv4_is_off_without_aws_keys(tmp_path: Path) -> None:
    settings = load_settings(env={}, path=tmp_path / "none.toml")
    assert SigV4Signer.from_settings(settings) is None


def test_role_without_keys_is_a_config_error(tmp_path: Path) -> None:
    settings = load_settings(
        env={}, path=tmp_path / "none.toml", overrides={"role_arn": "arn:aws:iam::1:role/x"}
    )
    with pytest.raises(ConfigError, match="role_arn is set but AWS keys are missing"):
        SigV4Signer.from_settings(settings)


def _prepared() -> requests.PreparedRequest:
    return requests.Request(
        "POST",
        "https://sellingpartnerapi-eu.amazon.com/feeds/2021-06-30/documents",
        data=b'{"contentType":"application/json"}',
        headers={"Content-Type": "application/json", "x-amz-access-token": "Atza|t"},
    ).prepare()


def test_sigv4_signs_with_the_regions_aws_region(tmp_path: Path) -> None:
    settings = load_settings(
        env={},
        path=tmp_path / "none.toml",
        overrides={
            "region": "eu",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        },
    )
    signer = SigV4Signer.from_settings(settings)
    assert signer is not None
    request = signer.sign(_prepared())
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert "x-amz-access-token" in authorization  # the LWA token is part of what is signed
    assert "X-Amz-Date" in request.headers
    assert "wJalrXUtnFEMI" not in repr(signer)


class FakeSts:
    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def assume_role(self, **kw: str) -> dict[str, Any]:
        self.calls.append(kw)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIATEMP{len(self.calls)}",
                "SecretAccessKey": "tempsecret",
                "SessionToken": "temptoken",
                "Expiration": datetime(2030, 1, 1, 1, 0, tzinfo=UTC),
            }
        }


def test_sigv4_assumes_the_role_and_renews_before_expiry() -> None:
    sts = FakeSts()
    now = [datetime(2030, 1, 1, tzinfo=UTC).timestamp()]
    signer = SigV4Signer(
        access_key_id="AKID",
        secret_access_key="secret",
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/SellingPartner",
        sts_factory=lambda *args: sts,
        clock=lambda: now[0],
    )
    request = signer.sign(_prepared())
    assert "Credential=ASIATEMP1/" in request.headers["Authorization"]
    assert request.headers["X-Amz-Security-Token"] == "temptoken"
    signer.sign(_prepared())
    assert len(sts.calls) == 1
    now[0] += timedelta(minutes=56).total_seconds()  # within 5 minutes of expiry
    assert "Credential=ASIATEMP2/" in signer.sign(_prepared()).headers["Authorization"]
    assert sts.calls[0] == {
        "RoleArn": "arn:aws:iam::123456789012:role/SellingPartner",
        "RoleSessionName": "feeds-kit",
    }


def test_sigv4_role_failure_is_an_auth_error() -> None:
    class Broken:
        def assume_role(self, **kw: str) -> dict[str, Any]:
            raise RuntimeError("AccessDenied secret=secret")

    signer = SigV4Signer(
        access_key_id="AKID",
        secret_access_key="secret",
        region="us-east-1",
        role_arn="arn:aws:iam::1:role/x",
        sts_factory=lambda *args: Broken(),
    )
    with pytest.raises(AuthError) as info:
        signer.sign(_prepared())
    assert str(info.value) == (
        "Cannot assume the role arn:aws:iam::1:role/x through AWS STS (RuntimeError): check the "
        "AWS keys and the role's trust policy."
    )
