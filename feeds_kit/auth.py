"""Login with Amazon (LWA) access tokens, and optional AWS SigV4 signing.

:class:`LwaAuth` is a ``requests`` auth object: it exchanges the refresh token for an access
token, keeps it until shortly before it expires, shares it between threads (one refresh at a
time) and puts it in ``x-amz-access-token``. A 401/403 that says the token expired is answered by
the client with :meth:`LwaAuth.invalidate` and one retry.

:class:`SigV4Signer` signs requests with botocore when AWS keys are configured. Amazon has ignored
signatures since 2023-10-02, so it is off unless asked for; it exists for accounts whose tooling
still expects it (and for a role to assume through STS).

Neither class ever puts a secret in an exception, a log line or its ``repr``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import requests.auth

from feeds_kit.errors import AuthError, ConfigError
from feeds_kit.marketplaces import LWA_TOKEN_URL, get_region

if TYPE_CHECKING:
    from feeds_kit.config import Settings

log = logging.getLogger("feeds_kit.auth")

#: Refresh this many seconds before ``expires_in`` runs out (Amazon's Java SDK uses 60 s too),
#: so a token never expires between being attached and being checked.
EXPIRY_MARGIN = 60.0

#: What to tell a person for each OAuth error code LWA returns (spapi-facts §5.1).
LWA_ERROR_HINTS: dict[str, str] = {
    "invalid_client": (
        "Login with Amazon rejected the app's client id or secret (invalid_client): check "
        "LWA_CLIENT_ID and LWA_CLIENT_SECRET (client secrets must be rotated every 180 days)"
    ),
    "invalid_grant": (
        "Login with Amazon rejected the refresh token (invalid_grant): it was revoked, has "
        "expired or belongs to another app; authorize the app again and set "
        "SP_API_REFRESH_TOKEN"
    ),
    "unauthorized_client": (
        "Login with Amazon says this app may not use the refresh-token grant "
        "(unauthorized_client): check the app's settings in Seller Central"
    ),
    "access_denied": (
        "Login with Amazon denied access (access_denied): the seller must authorize the app again"
    ),
    "invalid_request": (
        "Login with Amazon found the token request malformed (invalid_request): check that "
        "client id, client secret and refresh token are complete, without quotes or spaces"
    ),
    "invalid_scope": "Login with Amazon rejected the requested scope (invalid_scope)",
    "server_error": "Login with Amazon had an internal error (server_error): try again later",
    "temporarily_unavailable": (
        "Login with Amazon is temporarily unavailable (temporarily_unavailable): try again later"
    ),
}
_RETRYABLE_LWA_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class AccessToken:
    """An LWA access token and the clock reading (of the injected clock) when to renew it."""

    value: str = field(repr=False)
    refresh_at: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', refresh_at={self.refresh_at!r})"


class LwaAuth(requests.auth.AuthBase):
    """Attach a Login with Amazon access token (``x-amz-access-token``) to each request.

    ``clock`` and ``sleep`` are injectable (tests); ``session`` is the HTTP session used for the
    token endpoint. Thread-safe: concurrent requests share one token and wait for one refresh.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        endpoint: str = LWA_TOKEN_URL,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = EXPIRY_MARGIN,
        timeout: float | tuple[float, float] = (10.0, 30.0),
        max_attempts: int = 3,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.endpoint = endpoint
        self.session = session or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self.margin = margin
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        #: How many times a token was fetched from LWA (for diagnostics and tests).
        self.refresh_count = 0

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> LwaAuth:
        """An ``LwaAuth`` for ``settings`` (raises :class:`ConfigError` if credentials lack)."""
        settings.require_credentials()
        assert settings.client_id and settings.client_secret and settings.refresh_token
        return cls(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            endpoint=settings.lwa_endpoint,
            **kw,
        )

    def __repr__(self) -> str:
        return f"LwaAuth(client_id={self.client_id!r}, endpoint={self.endpoint!r})"

    # ------------------------------------------------------------------ the token

    def token(self) -> str:
        """A valid access token: the cached one, or a fresh one from LWA."""
        with self._lock:
            current = self._token
            if current is not None and self.clock() < current.refresh_at:
                return current.value
            self._token = self._fetch()
            return self._token.value

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token so the next request fetches a new one.

        Pass the token the failed request carried: if another thread already replaced it, the
        newer token is kept, so N threads hit by the same expiry cause one refresh, not N.
        """
        with self._lock:
            if self._token is not None and (token is None or token == self._token.value):
                self._token = None

    def secrets(self) -> tuple[str, ...]:
        """The secret strings this object holds (for redaction of text that might echo them)."""
        values = [self._client_secret, self._refresh_token]
        if self._token is not None:
            values.append(self._token.value)
        return tuple(v for v in values if v)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["x-amz-access-token"] = self.token()
        return r

    # ------------------------------------------------------------------ the exchange

    def _fetch(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            "Accept": "application/json",
        }
        host = urlsplit(self.endpoint).netloc or self.endpoint
        attempt = 0
        while True:
            attempt += 1
            started = self.clock()
            try:
                response = self.session.post(
                    self.endpoint, data=form, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                log.debug("LWA token request to %s failed: %s", host, type(exc).__name__)
                if attempt < self.max_attempts:
                    self.sleep(float(2 ** (attempt - 1)))
                    continue
                raise AuthError(
                    f"Cannot reach Login with Amazon at {host} ({type(exc).__name__}): check the "
                    "network, a proxy, or FEEDS_KIT_LWA_ENDPOINT.",
                    endpoint=self.endpoint,
                ) from None
            log.debug(
                "LWA token request to %s -> %s in %.3fs (attempt %d)",
                host,
                response.status_code,
                self.clock() - started,
                attempt,
            )
            body = _json_or_none(response)
            if response.status_code == 200 and isinstance(body, dict):
                return self._accept(body, host)
            code = body.get("error") if isinstance(body, dict) else None
            retryable = response.status_code in _RETRYABLE_STATUS or code in _RETRYABLE_LWA_ERRORS
            if retryable and attempt < self.max_attempts:
                self.sleep(float(2 ** (attempt - 1)))
                continue
            raise self._error(response.status_code, body, host)

    def _accept(self, body: Mapping[str, Any], host: str) -> AccessToken:
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise AuthError(
                f"Login with Amazon at {host} answered without an access token: check "
                "FEEDS_KIT_LWA_ENDPOINT.",
                endpoint=self.endpoint,
            )
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        # A token shorter-lived than the margin is still used for half its life, not refetched
        # for every request.
        lifetime = max(expires_in - self.margin, expires_in / 2)
        self.refresh_count += 1
        return AccessToken(value=value, refresh_at=self.clock() + lifetime)

    def _error(self, status: int, body: Any, host: str) -> AuthError:
        if not isinstance(body, dict) or not body.get("error"):
            return AuthError(
                f"Login with Amazon at {host} answered HTTP {status} without a token: check "
                "FEEDS_KIT_LWA_ENDPOINT and the network.",
                endpoint=self.endpoint,
                status=status,
            )
        code = str(body["error"])
        text = LWA_ERROR_HINTS.get(code, f"Login with Amazon refused the credentials ({code})")
        description = body.get("error_description")
        if isinstance(description, str) and description.strip():
            text += f"; Amazon says: {self._scrub(description.strip())}"
        return AuthError(f"{text}.", endpoint=self.endpoint, status=status, error=code)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text.rstrip(".")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


# ----------------------------------------------------------------------------- SigV4


StsFactory = Callable[[str, str, str | None, str], Any]


class SigV4Signer:
    """Sign SP-API requests with AWS Signature Version 4 (service ``execute-api``) via botocore.

    With ``role_arn`` the keys are used to assume the role through STS and the temporary keys
    sign; they are renewed five minutes before they expire. ``sts_factory(access_key_id,
    secret_access_key, session_token, region)`` returns an STS client (injectable for tests).
    """

    SERVICE = "execute-api"

    def __init__(
        self,
        *,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        session_token: str | None = None,
        role_arn: str | None = None,
        role_session_name: str = "feeds-kit",
        sts_factory: StsFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._session_token = session_token
        self.region = region
        self.role_arn = role_arn
        self.role_session_name = role_session_name
        self.sts_factory = sts_factory or _botocore_sts
        self.clock = clock
        self._assumed: tuple[Any, float] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> SigV4Signer | None:
        """A signer when AWS keys are configured, else ``None`` (signing is off by default)."""
        if not settings.sigv4_enabled:
            if settings.role_arn:
                raise ConfigError(
                    "role_arn is set but AWS keys are missing: set aws_access_key_id and "
                    "aws_secret_access_key in the profile, or remove role_arn.",
                    profile=settings.profile,
                )
            return None
        assert settings.aws_access_key_id and settings.aws_secret_access_key
        return cls(
            access_key_id=settings.aws_access_key_id,
            secret_access_key=settings.aws_secret_access_key,
            session_token=settings.aws_session_token,
            role_arn=settings.role_arn,
            region=get_region(settings.region).aws_region,
            **kw,
        )

    def __repr__(self) -> str:
        return (
            f"SigV4Signer(access_key_id={self.access_key_id!r}, region={self.region!r}, "
            f"role_arn={self.role_arn!r})"
        )

    def credentials(self) -> Any:
        """The botocore ``Credentials`` that sign (assumed-role ones when a role is set)."""
        from botocore.credentials import Credentials

        if not self.role_arn:
            return Credentials(self.access_key_id, self._secret_access_key, self._session_token)
        with self._lock:
            if self._assumed is not None and self.clock() < self._assumed[1]:
                return self._assumed[0]
            sts = self.sts_factory(
                self.access_key_id, self._secret_access_key, self._session_token, self.region
            )
            try:
                answer = sts.assume_role(
                    RoleArn=self.role_arn, RoleSessionName=self.role_session_name
                )
                creds = answer["Credentials"]
                credentials = Credentials(
                    creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")
                )
            except Exception as exc:  # botocore raises many types; all mean "no role"
                raise AuthError(
                    f"Cannot assume the role {self.role_arn} through AWS STS "
                    f"({type(exc).__name__}): check the AWS keys and the role's trust policy.",
                    role_arn=self.role_arn,
                ) from None
            expiration = creds.get("Expiration")
            expires = expiration.timestamp() if hasattr(expiration, "timestamp") else None
            renew_at = (expires - 300.0) if expires else self.clock() + 3000.0
            self._assumed = (credentials, renew_at)
            return credentials

    def sign(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) to ``request``."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        # Only the headers Amazon's SDKs sign; the User-Agent may be rewritten by proxies.
        signed = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in {"host", "content-type", "x-amz-access-token"}
        }
        signed.setdefault("host", urlsplit(str(request.url)).netloc)
        body = request.body or b""
        aws_request = AWSRequest(
            method=request.method, url=str(request.url), data=body, headers=signed
        )
        SigV4Auth(self.credentials(), self.SERVICE, self.region).add_auth(aws_request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = aws_request.headers.get(name)
            if value is not None:
                request.headers[name] = value
        return request

    __call__ = sign


def _botocore_sts(
    access_key_id: str, secret_access_key: str, session_token: str | None, region: str
) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(
        "sts",
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
    )
