"""The SP-API Feeds client (Feeds API 2021-06-30) and the presigned-URL transfers.

Every SP-API call goes through :meth:`FeedsClient.request`, which

* waits for the operation's token bucket (and the ``JSON_LISTINGS_FEED`` budget) first;
* sends ``x-amz-access-token``, ``User-Agent``, ``x-amz-date`` and ``Accept: application/json``
  (plus a SigV4 signature when a signer is configured);
* retries 429, 500, 502, 503, 504 and connection failures with exponential backoff and full
  jitter, bounded in attempts and elapsed time, honouring ``Retry-After``;
* refreshes the access token once when a 401/403 says it expired;
* turns anything else into :class:`~feeds_kit.errors.ApiError` with Amazon's ``errors[]``, the
  HTTP status, ``x-amzn-RequestId`` and the operation name.

``createFeed`` is never retried blindly: when Amazon may have taken it (timeout or dropped
connection after sending, or a 5xx) the client raises
:class:`~feeds_kit.errors.AmbiguousRequestError` and the caller reconciles with ``getFeeds``.

Uploads and downloads go to S3 presigned URLs without any SP-API header. Their signatures never
reach a log line or an exception: see :func:`redact_url`.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import platform
import random
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import requests.auth

from feeds_kit import __version__
from feeds_kit.errors import (
    AmbiguousRequestError,
    ApiError,
    NetworkError,
    ThrottledError,
    UploadError,
    UploadExpiredError,
    UsageError,
)
from feeds_kit.ratelimit import DEFAULT_LIMITS, Limit, RateLimiter

if TYPE_CHECKING:
    from feeds_kit.config import Settings

log = logging.getLogger("feeds_kit.client")

USER_AGENT = (
    f"feeds-kit/{__version__} (Language=Python/{sys.version_info.major}.{sys.version_info.minor}; "
    f"Platform={platform.system() or 'unknown'}/{platform.release() or 'unknown'})"
)

FEEDS_API = "/feeds/2021-06-30"
#: Statuses retried for every operation (429 also for createFeed: Amazon refused, took nothing).
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: Operations that must not be sent twice: a retry could create a second feed.
NON_IDEMPOTENT: frozenset[str] = frozenset({"createFeed"})
PROCESSING_STATUSES: tuple[str, ...] = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
#: The content type feeds-kit declares for JSON_LISTINGS_FEED documents (facts §1.4).
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"

_GZIP_MAGIC = b"\x1f\x8b"
_S3_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_SENSITIVE_QUERY = re.compile(
    r"((?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId"
    r"|x-amz-security-token|Policy|Key-Pair-Id)=)[^&\s\"'<>)\]]*",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s\"'<>]+")

_HINTS: dict[int, str] = {
    401: "the access token was refused; check the credentials with feeds-kit auth check",
    403: (
        "access denied; check that the seller authorized the app and that the app has the "
        "role the operation needs (Product Listing for feeds)"
    ),
    404: "not found; the id may be mistyped, belong to another seller or be older than 90 days",
    413: "the request is too large",
    415: "Amazon does not accept the request's content type",
}


# ----------------------------------------------------------------------------- redaction


def redact_url(url: str) -> str:
    """``url`` without its query string (presigned signatures, credentials), user info and
    fragment: safe to log and to show. ``?…`` marks that a query was dropped."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    marker = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, "", "")) + marker


def redact_text(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with every URL's query string dropped, signature-like parameters blanked and
    each of ``secrets`` replaced by ``***`` (for exception text from libraries)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL.sub(lambda m: redact_url(m.group()), text)
    return _SENSITIVE_QUERY.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs every record passing a handler with :func:`redact_text`.

    feeds-kit's own log lines never carry a secret; this guards the lines of libraries that log
    whole URLs (``urllib3`` at DEBUG logs each request line, presigned query string included)
    when a handler also listens to them. ``secrets`` returns the strings to mask (for example
    :meth:`feeds_kit.auth.LwaAuth.secrets`, which includes the current access token).
    """

    def __init__(self, secrets: Callable[[], Iterable[str]] | None = None) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        known = tuple(self.secrets()) if self.secrets is not None else ()
        message = record.getMessage()
        clean = redact_text(message, known)
        if clean != message:
            record.msg, record.args = clean, None
        # Another handler may have cached the traceback text already: scrub it either way.
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, known)
        elif record.exc_info:
            record.exc_text = redact_text(
                logging.Formatter().formatException(record.exc_info), known
            )
        return True


# ----------------------------------------------------------------------------- data


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: before retry ``n`` (1-based) wait
    ``rng() * min(cap, base * 2 ** (n - 1))`` seconds, at most ``max_attempts`` attempts in all
    and no retry that would end after ``max_elapsed`` seconds."""

    max_attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    max_elapsed: float = 300.0

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """The jittered wait after failed attempt ``attempt`` (1-based)."""
        return rng() * min(self.cap, self.base * 2 ** (attempt - 1))


@dataclass
class FeedDocumentUpload:
    """What ``createFeedDocument`` returned: the document id and its presigned upload URL
    (valid for 5 minutes; its ``repr`` hides the signature)."""

    document_id: str
    url: str = field(repr=False)

    def __repr__(self) -> str:
        return f"FeedDocumentUpload(document_id={self.document_id!r}, url={redact_url(self.url)!r})"


@dataclass
class DownloadedDocument:
    """A downloaded (and, where needed, decompressed) document with the charset its
    ``Content-Type`` declared."""

    data: bytes = field(repr=False)
    charset: str | None
    content_type: str | None

    def __repr__(self) -> str:
        return (
            f"DownloadedDocument({len(self.data)} bytes, charset={self.charset!r}, "
            f"content_type={self.content_type!r})"
        )

    def text(self, default: str = "utf-8") -> str:
        """The document decoded by its charset (``default`` when none or unknown); undecodable
        bytes become U+FFFD rather than failing the whole report."""
        encoding = self.charset or default
        try:
            codec = "utf-8-sig" if _codec_name(encoding) == "utf-8" else encoding
            return self.data.decode(codec, errors="replace")
        except LookupError:
            return self.data.decode(
                "utf-8-sig" if default.lower() in {"utf-8", "utf8"} else default, errors="replace"
            )


@runtime_checkable
class RefreshableAuth(Protocol):
    """An auth object whose cached token can be dropped after Amazon says it expired."""

    def invalidate(self, token: str | None = None) -> None: ...


Signer = Callable[[requests.PreparedRequest], requests.PreparedRequest]


# ----------------------------------------------------------------------------- the client


class FeedsClient:
    """A client for the Feeds API 2021-06-30 at ``endpoint`` (and, through :meth:`request`, any
    other SP-API operation such as Product Type Definitions).

    ``clock`` (monotonic seconds), ``sleep``, ``rng`` (uniform in [0, 1)) and ``wall_clock``
    (epoch seconds, for ``x-amz-date``) are injectable; so are the HTTP ``session`` and the rate
    ``limiter``. ``region`` keys the ``JSON_LISTINGS_FEED`` budget (default: the endpoint).
    """

    def __init__(
        self,
        *,
        endpoint: str,
        auth: requests.auth.AuthBase | None,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        user_agent: str = USER_AGENT,
        signer: Signer | None = None,
        region: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        transfer_timeout: float | tuple[float, float] = (10.0, 300.0),
        max_document_bytes: int = 1 << 30,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.auth = auth
        self.session = session or requests.Session()
        self.limiter = limiter or RateLimiter(clock=clock, sleep=sleep)
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.user_agent = user_agent
        self.signer = signer
        self.region = region or self.endpoint
        self.wall_clock = wall_clock
        self.timeout = timeout
        self.transfer_timeout = transfer_timeout
        self.max_document_bytes = max_document_bytes

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> FeedsClient:
        """A client for ``settings``: LWA auth from its credentials (:class:`ConfigError` when
        some are missing), SigV4 when AWS keys are configured, the region's endpoint, and a
        rate limiter whose ``JSON_LISTINGS_FEED`` window is shared through ``settings.home``.
        Keyword arguments override any of these (``auth=``, ``limiter=``, ``clock=``, ...)."""
        from feeds_kit.auth import LwaAuth, SigV4Signer

        clock = kw.get("clock", time.monotonic)
        sleep = kw.get("sleep", time.sleep)
        if "auth" not in kw:
            kw["auth"] = LwaAuth.from_settings(
                settings, clock=clock, sleep=sleep, session=kw.get("session")
            )
        if "signer" not in kw:
            kw["signer"] = SigV4Signer.from_settings(settings)
        if "limiter" not in kw:
            if settings.sandbox:
                # Amazon's sandbox throttles every operation at 5 rps, burst 15, and processes
                # no feed, so the submission budget does not apply.
                limits = {op: Limit(5.0, 15) for op in DEFAULT_LIMITS}
                kw["limiter"] = RateLimiter(limits, budgets={}, clock=clock, sleep=sleep)
            else:
                state = settings.home / "ratelimit.json" if settings.home else None
                kw["limiter"] = RateLimiter(clock=clock, sleep=sleep, state_file=state)
        kw.setdefault("region", settings.region)
        return cls(endpoint=settings.endpoint, **kw)

    # ------------------------------------------------------------ Feeds operations

    def create_feed_document(self, content_type: str = JSON_CONTENT_TYPE) -> FeedDocumentUpload:
        """``createFeedDocument``: a document id and the URL to PUT its bytes to. Upload with
        the byte-identical ``content_type``."""
        response = self.request(
            "createFeedDocument",
            "POST",
            f"{FEEDS_API}/documents",
            json={"contentType": content_type},
            expected=(201,),
        )
        body = self._json(response, "createFeedDocument")
        document_id, url = body.get("feedDocumentId"), body.get("url")
        if not isinstance(document_id, str) or not isinstance(url, str):
            raise self._malformed(response, "createFeedDocument", "feedDocumentId and url")
        return FeedDocumentUpload(document_id=document_id, url=url)

    def create_feed(
        self,
        *,
        feed_type: str,
        marketplace_ids: Sequence[str],
        document_id: str,
        feed_options: Mapping[str, str] | None = None,
    ) -> str:
        """``createFeed``; returns the feedId. Raises :class:`AmbiguousRequestError` when the
        feed may have been created although no answer came back (reconcile with getFeeds)."""
        ids = [marketplace_ids] if isinstance(marketplace_ids, str) else list(marketplace_ids)
        if not 1 <= len(ids) <= 25:
            raise UsageError(
                f"createFeed takes 1 to 25 marketplace ids, not {len(ids)}: split the feed."
            )
        body: dict[str, Any] = {
            "feedType": feed_type,
            "marketplaceIds": ids,
            "inputFeedDocumentId": document_id,
        }
        if feed_options:
            body["feedOptions"] = {str(k): str(v) for k, v in feed_options.items()}
        response = self.request(
            "createFeed",
            "POST",
            f"{FEEDS_API}/feeds",
            json=body,
            expected=(202,),
            feed_type=feed_type,
            context={"document_id": document_id, "feed_type": feed_type},
        )
        try:
            feed_id = response.json().get("feedId")
        except (ValueError, AttributeError):
            feed_id = None
        if not isinstance(feed_id, str | int) or feed_id == "":
            # Amazon said 202 (taken) but we cannot tell which feed: only getFeeds can.
            raise AmbiguousRequestError(
                f"createFeed was accepted (HTTP {response.status_code}) but the answer carries "
                f"no feedId for document {document_id}: find the feed with getFeeds before "
                "sending it again.",
                operation="createFeed",
                status=response.status_code,
                request_id=response.headers.get("x-amzn-RequestId"),
                document_id=document_id,
                feed_type=feed_type,
            )
        return str(feed_id)

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        """``getFeed``: Amazon's Feed JSON (feedId, feedType, processingStatus, ...)."""
        response = self.request(
            "getFeed", "GET", f"{FEEDS_API}/feeds/{_segment(feed_id)}", context={"feed_id": feed_id}
        )
        return self._json(response, "getFeed")

    def get_feeds(
        self,
        *,
        feed_types: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        processing_statuses: Sequence[str] | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        page_size: int = 100,
        max_pages: int | None = None,
    ) -> list[dict[str, Any]]:
        """``getFeeds``, following ``nextToken`` through every page (or ``max_pages``).

        Arrays go as comma-separated values; a naive datetime is taken as UTC.
        """
        types = _as_list(feed_types)
        markets = _as_list(marketplace_ids)
        statuses = [s.upper() for s in _as_list(processing_statuses)]
        if not 1 <= len(types) <= 10:
            raise UsageError(f"getFeeds needs 1 to 10 feed types, not {len(types)}.")
        if len(markets) > 10:
            raise UsageError(f"getFeeds takes at most 10 marketplace ids, not {len(markets)}.")
        unknown = [s for s in statuses if s not in PROCESSING_STATUSES]
        if unknown:
            raise UsageError(
                f"Unknown processing status {unknown[0]!r}: use {', '.join(PROCESSING_STATUSES)}."
            )
        if not 1 <= page_size <= 100:
            raise UsageError(f"getFeeds page size must be 1 to 100, not {page_size}.")
        params: dict[str, str] = {"feedTypes": ",".join(types), "pageSize": str(page_size)}
        if markets:
            params["marketplaceIds"] = ",".join(markets)
        if statuses:
            params["processingStatuses"] = ",".join(statuses)
        if created_since is not None:
            params["createdSince"] = _iso8601(created_since)
        if created_until is not None:
            params["createdUntil"] = _iso8601(created_until)

        feeds: list[dict[str, Any]] = []
        seen_tokens: set[str] = set()
        pages = 0
        while True:
            response = self.request("getFeeds", "GET", f"{FEEDS_API}/feeds", params=params)
            body = self._json(response, "getFeeds")
            page = body.get("feeds")
            if not isinstance(page, list):
                raise self._malformed(response, "getFeeds", "feeds")
            feeds.extend(f for f in page if isinstance(f, dict))
            pages += 1
            token = body.get("nextToken")
            if not token or token in seen_tokens or (max_pages and pages >= max_pages):
                return feeds
            seen_tokens.add(token)
            # Amazon: nextToken must be the only parameter of the next call.
            params = {"nextToken": str(token)}

    def cancel_feed(self, feed_id: str) -> None:
        """``cancelFeed`` (Amazon only cancels a feed still IN_QUEUE)."""
        self.request(
            "cancelFeed",
            "DELETE",
            f"{FEEDS_API}/feeds/{_segment(feed_id)}",
            context={"feed_id": feed_id},
        )

    def get_feed_document(
        self, document_id: str, *, enable_content_encoding_url_header: bool | None = None
    ) -> dict[str, Any]:
        """``getFeedDocument``: ``{feedDocumentId, url, compressionAlgorithm?}``. The URL is
        presigned and valid for 5 minutes; do not log or store it."""
        params = None
        if enable_content_encoding_url_header is not None:
            params = {
                "enableContentEncodingUrlHeader": str(enable_content_encoding_url_header).lower()
            }
        response = self.request(
            "getFeedDocument",
            "GET",
            f"{FEEDS_API}/documents/{_segment(document_id)}",
            params=params,
            context={"document_id": document_id},
        )
        body = self._json(response, "getFeedDocument")
        if not isinstance(body.get("url"), str):
            raise self._malformed(response, "getFeedDocument", "url")
        return body

    # ------------------------------------------------------------ presigned transfers

    def upload_document(self, url: str, data: bytes, content_type: str) -> None:
        """PUT ``data`` to the presigned ``url`` with exactly ``content_type`` and no SP-API
        header. Raises :class:`UploadExpiredError` when the URL expired (create a new document),
        :class:`UploadError` for anything else S3 refuses."""
        response = self._transfer(
            "PUT",
            url,
            what="Uploading the feed document",
            data=data,
            headers={"Content-Type": content_type},
        )
        if not 200 <= response.status_code < 300:
            raise _s3_error(response, url, what="Uploading the feed document", upload=True)

    def download_document(self, url: str, *, compression: str | None = None) -> DownloadedDocument:
        """GET the presigned ``url`` (no SP-API header) and gunzip when ``compression`` is
        ``GZIP`` — whether the bytes arrive gzipped, already decoded by a
        ``Content-Encoding: gzip``, or gzipped twice. The charset comes from ``Content-Type``.

        Bytes that arrived but cannot be unpacked (damaged gzip, an unknown compression, more
        than ``max_document_bytes``) raise :class:`UploadError` with an ``unreadable`` context
        entry saying why, so a caller can tell a broken document from a failed transfer."""
        response = self._transfer("GET", url, what="Downloading the document")
        if not 200 <= response.status_code < 300:
            raise _s3_error(response, url, what="Downloading the document", upload=False)
        data = response.content
        algorithm = (compression or "").strip().upper()
        if algorithm not in {"", "GZIP"}:
            raise UploadError(
                f"The document uses the compression {compression!r}, which feeds-kit cannot "
                "read (only GZIP is known).",
                url=redact_url(url),
                unreadable=f"it uses the compression {compression!r}, which feeds-kit cannot "
                "read",
            )
        # A text report never starts with the gzip magic, so gzip bytes are unwrapped even when
        # compressionAlgorithm was not given; two layers arrive when S3 adds Content-Encoding.
        layers = 0
        while data[:2] == _GZIP_MAGIC and layers < 3:
            data = _gunzip(data, self.max_document_bytes, url)
            layers += 1
        content_type = response.headers.get("Content-Type")
        log.debug(
            "download %s: %d bytes after %d gzip layer(s), content type %s",
            redact_url(url),
            len(data),
            layers,
            content_type,
        )
        return DownloadedDocument(
            data=data, charset=_charset(content_type), content_type=content_type
        )

    # ------------------------------------------------------------ the generic call

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expected: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
        feed_type: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """Call an SP-API operation: rate-limited, authenticated, retried as the module doc
        says. ``path`` starts with ``/``; list values in ``params`` are sent comma-separated.
        ``idempotent`` defaults to False for ``createFeed`` only. ``context`` (ids) is added to
        the exceptions raised. Returns the response whose status is in ``expected``."""
        url = self.endpoint + path
        if idempotent is None:
            idempotent = operation not in NON_IDEMPOTENT
        query = _query(params)
        body = None
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
        extra = dict(context or {})
        started = self.clock()
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            self.limiter.acquire(operation, feed_type=feed_type, region=self.region)
            prepared = self._prepare(method, url, query, body)
            token = prepared.headers.get("x-amz-access-token")
            sent_at = self.clock()
            try:
                response = self._send(prepared, self.timeout)
            except requests.RequestException as exc:
                reason = _reason(exc)
                self._log(operation, method, url, reason, sent_at, attempt, None)
                if not idempotent and not _never_sent(exc):
                    raise AmbiguousRequestError(
                        f"{operation} may or may not have been taken by Amazon ({reason} after "
                        "sending): it was not sent again — check getFeeds before retrying.",
                        operation=operation,
                        reason=reason,
                        attempts=attempt,
                        **extra,
                    ) from None
                delay = self._delay(attempt, started, operation, feed_type)
                if delay is None or _permanent(exc):
                    raise NetworkError(
                        f"{operation} could not reach {_host(url)}: {reason} after {attempt} "
                        f"attempt{'s' if attempt > 1 else ''}; check the network, a proxy or "
                        "FEEDS_KIT_ENDPOINT.",
                        operation=operation,
                        reason=reason,
                        attempts=attempt,
                        **extra,
                    ) from None
                if delay > 0:
                    self.sleep(delay)
                continue

            status = response.status_code
            request_id = response.headers.get("x-amzn-RequestId")
            self._log(operation, method, url, status, sent_at, attempt, request_id)
            self.limiter.update_from_header(
                operation, response.headers.get("x-amzn-RateLimit-Limit")
            )
            if status in expected:
                return response
            errors = _errors(response)
            if (
                status in (401, 403)
                and not refreshed
                and isinstance(self.auth, RefreshableAuth)
                and _token_expired(errors)
            ):
                refreshed = True
                self.auth.invalidate(token)
                continue
            if status in RETRY_STATUSES:
                if status == 429:
                    self.limiter.throttled(operation)
                elif not idempotent:
                    raise AmbiguousRequestError(
                        f"{operation} may or may not have been taken by Amazon (HTTP {status}): "
                        "it was not sent again — check getFeeds before retrying"
                        + (f"; request id {request_id}." if request_id else "."),
                        operation=operation,
                        status=status,
                        request_id=request_id,
                        errors=errors,
                        **extra,
                    )
                delay = self._delay(
                    attempt, started, operation, feed_type, _retry_after(response, self.wall_clock)
                )
                if delay is not None:
                    if delay > 0:
                        self.sleep(delay)
                    continue
                if status == 429:
                    raise ThrottledError(
                        f"Amazon throttled {operation} (HTTP 429) {attempt} time"
                        f"{'s' if attempt > 1 else ''} in {self.clock() - started:.0f}s: "
                        "try again in a few minutes"
                        + (f"; request id {request_id}." if request_id else "."),
                        operation=operation,
                        status=status,
                        errors=errors,
                        request_id=request_id,
                        **extra,
                    )
            raise ApiError(
                self._api_message(operation, status, errors, request_id),
                operation=operation,
                status=status,
                errors=errors,
                request_id=request_id,
                **extra,
            )

    # ------------------------------------------------------------ internals

    def _prepare(
        self, method: str, url: str, query: str, body: bytes | None
    ) -> requests.PreparedRequest:
        headers = {
            "Accept": "application/json",
            "User-Agent": self.user_agent,
            "x-amz-date": datetime.fromtimestamp(self.wall_clock(), UTC).strftime("%Y%m%dT%H%M%SZ"),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        full_url = f"{url}?{query}" if query else url
        request = requests.Request(method, full_url, data=body, headers=headers, auth=self.auth)
        prepared = self.session.prepare_request(request)
        if self.signer is not None:
            prepared = self.signer(prepared)
        return prepared

    def _send(
        self, prepared: requests.PreparedRequest, timeout: float | tuple[float, float]
    ) -> requests.Response:
        settings = self.session.merge_environment_settings(prepared.url or "", {}, None, None, None)
        return self.session.send(prepared, timeout=timeout, allow_redirects=False, **settings)

    def _delay(
        self,
        attempt: int,
        started: float,
        operation: str | None = None,
        feed_type: str | None = None,
        retry_after: float | None = None,
    ) -> float | None:
        """The sleep before the next attempt, or ``None`` when the policy says stop."""
        if attempt >= self.retry.max_attempts:
            return None
        delay = self.retry.backoff(attempt, self.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        limiter_wait = 0.0
        if operation is not None:
            limiter_wait = self.limiter.wait_time(
                operation, feed_type=feed_type, region=self.region
            )
        # Buckets refill while we sleep, so waiting out the longer of the two covers both.
        total = max(delay, limiter_wait)
        if self.clock() - started + total > self.retry.max_elapsed:
            return None
        return total

    def _transfer(
        self,
        method: str,
        url: str,
        *,
        what: str,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """A request to a presigned URL: no session defaults, no auth, retried on 5xx and
        connection failures (PUT and GET of a presigned object are idempotent)."""
        started = self.clock()
        attempt = 0
        safe_url = redact_url(url)
        while True:
            attempt += 1
            # Request.prepare() rather than session.prepare_request(): no session header or
            # auth may ride along to S3.
            prepared = requests.Request(
                method, url, data=data, headers=dict(headers or {})
            ).prepare()
            sent_at = self.clock()
            try:
                response = self._send(prepared, self.transfer_timeout)
            except requests.RequestException as exc:
                reason = _reason(exc)
                self._log("s3", method, url, reason, sent_at, attempt, None)
                delay = None if _permanent(exc) else self._delay(attempt, started)
                if delay is None:
                    raise UploadError(
                        f"{what} to {_host(url)} failed: {reason} after {attempt} attempt"
                        f"{'s' if attempt > 1 else ''}.",
                        url=safe_url,
                        reason=reason,
                    ) from None
                if delay > 0:
                    self.sleep(delay)
                continue
            self._log(
                "s3",
                method,
                url,
                response.status_code,
                sent_at,
                attempt,
                response.headers.get("x-amz-request-id"),
            )
            if response.status_code in _S3_RETRY_STATUSES:
                delay = self._delay(
                    attempt, started, retry_after=_retry_after(response, self.wall_clock)
                )
                if delay is not None:
                    if delay > 0:
                        self.sleep(delay)
                    continue
            return response

    def _log(
        self,
        operation: str,
        method: str,
        url: str,
        outcome: int | str,
        sent_at: float,
        attempt: int,
        request_id: str | None,
    ) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s -> %s in %.3fs (attempt %d, request id %s)",
                operation,
                method,
                redact_url(url),
                outcome,
                self.clock() - sent_at,
                attempt,
                request_id or "-",
            )

    def _secrets(self) -> tuple[str, ...]:
        secrets = getattr(self.auth, "secrets", None)
        return tuple(secrets()) if callable(secrets) else ()

    def _api_message(
        self, operation: str, status: int, errors: list[dict[str, Any]], request_id: str | None
    ) -> str:
        text = f"{operation} failed with HTTP {status}"
        described = []
        for error in errors[:3]:
            piece = " ".join(
                str(error[k]) for k in ("code", "message") if error.get(k) not in (None, "")
            )
            piece = piece.rstrip(".")
            if error.get("details"):
                piece += f" ({str(error['details']).rstrip('.')})"
            if piece:
                described.append(piece)
        if described:
            text += ": " + "; ".join(described)
        elif status in _HINTS:
            text += f": {_HINTS[status]}"
        if len(errors) > 3:
            text += f" (and {len(errors) - 3} more)"
        if request_id:
            text += f"; request id {request_id}"
        return redact_text(text.rstrip(".") + ".", self._secrets())

    def _json(self, response: requests.Response, operation: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._malformed(response, operation, "a JSON object")
        return body

    def _malformed(self, response: requests.Response, operation: str, wanted: str) -> ApiError:
        request_id = response.headers.get("x-amzn-RequestId")
        return ApiError(
            f"{operation} answered HTTP {response.status_code} without {wanted}"
            + (f"; request id {request_id}." if request_id else "."),
            operation=operation,
            status=response.status_code,
            request_id=request_id,
        )


# ----------------------------------------------------------------------------- helpers


def _segment(value: str) -> str:
    if not str(value).strip():
        raise UsageError("An empty id cannot name a feed or a document.")
    return quote(str(value), safe="")


def _as_list(values: Sequence[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [str(v).strip() for v in values if str(v).strip()]


def _query(params: Mapping[str, Any] | None) -> str:
    if not params:
        return ""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = str(value).lower()
        # Commas stay literal: the model's arrays are comma-separated (collectionFormat csv).
        pairs.append(f"{quote(str(key), safe='')}={quote(str(value), safe=',')}")
    return "&".join(pairs)


def _iso8601(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.rpartition("@")[2] or url
    except ValueError:
        return "<unparsable URL>"


def _errors(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict)]


def _token_expired(errors: list[dict[str, Any]]) -> bool:
    for error in errors:
        text = " ".join(str(error.get(k, "")) for k in ("code", "message", "details")).lower()
        if "expired" in text:
            return True
    return False


def _retry_after(response: requests.Response, wall_clock: Callable[[], float]) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - wall_clock())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy refused the connection"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the response could not be decoded"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection refused" if _never_sent(exc) else "connection dropped"
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return "invalid URL"
    return type(exc).__name__


def _permanent(exc: BaseException) -> bool:
    """Failures another attempt will not fix."""
    return isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.ContentDecodingError
        | requests.exceptions.SSLError,
    )


def _never_sent(exc: BaseException) -> bool:
    """True when the request certainly did not reach the server (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if _permanent(exc) and not isinstance(exc, requests.exceptions.ContentDecodingError):
        return True
    import urllib3.exceptions as u3

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, u3.NewConnectionError | u3.ConnectTimeoutError):
            return True
        if isinstance(item, BaseException):
            stack.extend(item.args)
            stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
    return False


def _codec_name(encoding: str) -> str:
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = Message()
    message["Content-Type"] = content_type
    value = message.get_param("charset")
    if isinstance(value, tuple):  # RFC 2231 form
        value = value[2]
    if not value:
        return None
    return str(value).strip().strip('"') or None


def _gunzip(data: bytes, limit: int, url: str) -> bytes:
    """Decompress every gzip member of ``data``, refusing more than ``limit`` bytes."""
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            out += inflater.decompress(rest, limit - len(out) + 1)
            if len(out) > limit or inflater.unconsumed_tail:
                raise UploadError(
                    f"The downloaded document unpacks to more than {limit:,} bytes: refused.",
                    url=redact_url(url),
                    unreadable=f"it unpacks to more than {limit:,} bytes",
                )
            if not inflater.eof:
                raise zlib.error("truncated")
            rest = inflater.unused_data
            if not rest.strip(b"\x00"):
                break
            if rest[:2] != _GZIP_MAGIC:
                raise zlib.error("trailing garbage")
    except zlib.error:
        raise UploadError(
            "The downloaded document is not valid gzip data (truncated or corrupt): download "
            "it again.",
            url=redact_url(url),
            unreadable="it is not valid gzip data (truncated or corrupt)",
        ) from None
    return bytes(out)


def _s3_fields(response: requests.Response) -> tuple[str | None, str | None]:
    """S3's ``<Error><Code>`` and ``<Message>`` (and nothing else: other elements such as
    ``StringToSign`` or ``SignatureProvided`` echo signing material)."""
    content = response.content[:65536]
    if not content.strip():
        return None, None
    try:
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(content, parser=parser)
        code = root.findtext("Code")
        message = root.findtext("Message")
        return (code.strip() if code else None), (message.strip() if message else None)
    except Exception:  # not XML (a proxy's HTML page, ...): fall back to a scan
        text = content.decode("utf-8", errors="replace")
        code_match = re.search(r"<Code>([^<]{1,200})</Code>", text)
        message_match = re.search(r"<Message>([^<]{1,500})</Message>", text)
        return (
            code_match.group(1).strip() if code_match else None,
            message_match.group(1).strip() if message_match else None,
        )


def _s3_error(response: requests.Response, url: str, *, what: str, upload: bool) -> UploadError:
    code, message = _s3_fields(response)
    status = response.status_code
    said = f"S3 answered HTTP {status}"
    if code:
        said += f" {code}"
    if message:
        said += f": {redact_text(message).rstrip('.')}"
    context = {
        "url": redact_url(url),
        "status": status,
        "code": code,
        "request_id": response.headers.get("x-amz-request-id"),
    }
    expired = (code in {"ExpiredToken", "TokenRefreshRequired"}) or (
        status == 403 and message is not None and "expired" in message.lower()
    )
    if expired:
        again = (
            "create a new feed document and upload again"
            if upload
            else "call getFeedDocument again for a fresh URL"
        )
        return UploadExpiredError(
            f"{what} failed: the presigned URL has expired ({said}); {again}.", **context
        )
    hint = {
        "SignatureDoesNotMatch": (
            "the upload's Content-Type must be byte-identical to the contentType given to "
            "createFeedDocument"
            if upload
            else "the URL was altered or belongs to another request"
        ),
        "EntityTooLarge": "keep feed documents under 10 MiB",
        "NoSuchKey": "the document no longer exists (result documents are kept 28 days)",
        "AccessDenied": "the URL is not valid for this request",
    }.get(code or "")
    text = f"{what} failed: {said}"
    if hint:
        text += f" — {hint}"
    return UploadError(text + ".", **context)
