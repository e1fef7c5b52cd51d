"""The Feeds client against requests-mock: request shapes, retries, errors, S3 transfers."""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import requests.auth
import requests_mock

from feeds_kit.auth import LwaAuth
from feeds_kit.client import (
    USER_AGENT,
    DownloadedDocument,
    FeedDocumentUpload,
    FeedsClient,
    RedactingFilter,
    RetryPolicy,
    redact_text,
    redact_url,
)
from feeds_kit.config import load_settings
from feeds_kit.errors import (
    AmbiguousRequestError,
    ApiError,
    ConfigError,
    NetworkError,
    ThrottledError,
    UploadError,
    UploadExpiredError,
    UsageError,
)
from feeds_kit.ratelimit import Limit, RateLimiter

ENDPOINT = "https://sellingpartnerapi-eu.amazon.com"
FEEDS = ENDPOINT + "/feeds/2021-06-30"
WALL = datetime(2026, 11, 27, 12, 30, 5, tzinfo=UTC).timestamp()
SIGNATURE = "d2f1c0ffee5ca1ab1e0123456789abcdef0123456789abcdef0123456789abcd"
UPLOAD_URL = (
    "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/%2FNinetyDays/amzn1.tortuga.4.eu.doc"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261127T123005Z&X-Amz-SignedHeaders=host"
    "&X-Amz-Expires=300&X-Amz-Credential=AKIAEXAMPLE%2F20261127%2Feu-west-1%2Fs3%2Faws4_request"
    f"&X-Amz-Signature={SIGNATURE}"
)
CT = "application/json; charset=UTF-8"
MODEL = Path(__file__).resolve().parents[1] / "schemas" / "amazon" / "feeds_2021-06-30.json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class TokenAuth(requests.auth.AuthBase):
    """Hands out Atza|1, Atza|2, ... and records invalidations."""

    def __init__(self) -> None:
        self.generation = 1
        self.invalidated: list[str | None] = []

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["x-amz-access-token"] = f"Atza|{self.generation}"
        return r

    def invalidate(self, token: str | None = None) -> None:
        self.invalidated.append(token)
        self.generation += 1


def make_client(clock: FakeClock, **kw: Any) -> FeedsClient:
    kw.setdefault("auth", TokenAuth())
    kw.setdefault("limiter", RateLimiter(clock=clock, sleep=clock.sleep, margin=0.0))
    return FeedsClient(
        endpoint=ENDPOINT,
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 1.0,  # the top of the jitter range: delays are exactly the caps
        wall_clock=lambda: WALL,
        region="eu",
        **kw,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mock() -> requests_mock.Mocker:
    with requests_mock.Mocker() as m:
        yield m


def err(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


# ----------------------------------------------------------------------------- shapes

#: (call, method, path, success status, response body, request body, query)
OPERATIONS: list[tuple[str, Callable[[FeedsClient], Any], str, str, int, Any, Any, dict]] = [
    (
        "createFeedDocument",
        lambda c: c.create_feed_document(CT),
        "POST",
        "/feeds/2021-06-30/documents",
        201,
        {"feedDocumentId": "amzn1.tortuga.4.eu.doc", "url": UPLOAD_URL},
        {"contentType": CT},
        {},
    ),
    (
        "createFeed",
        lambda c: c.create_feed(
            feed_type="JSON_LISTINGS_FEED",
            marketplace_ids=["A1PA6795UKMFR9", "A13V1IB3VIYZZH"],
            document_id="amzn1.tortuga.4.eu.doc",
        ),
        "POST",
        "/feeds/2021-06-30/feeds",
        202,
        {"feedId": "50012019999"},
        {
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"],
            "inputFeedDocumentId": "amzn1.tortuga.4.eu.doc",
        },
        {},
    ),
    (
        "getFeed",
        lambda c: c.get_feed("50012019999"),
        "GET",
        "/feeds/2021-06-30/feeds/50012019999",
        200,
        {
            "feedId": "50012019999",
            "feedType": "JSON_LISTINGS_FEED",
            "createdTime": "2026-11-27T12:30:05Z",
            "processingStatus": "IN_QUEUE",
        },
        None,
        {},
    ),
    (
        "getFeeds",
        lambda c: c.get_feeds(
            feed_types=["JSON_LISTINGS_FEED"],
            marketplace_ids=["A1PA6795UKMFR9"],
            processing_statuses=["DONE", "fatal"],
            created_since=datetime(2026, 11, 27, 13, 0, tzinfo=timezone(timedelta(hours=1))),
            page_size=50,
        ),
        "GET",
        "/feeds/2021-06-30/feeds",
        200,
        {"feeds": []},
        None,
        {
            "feedTypes": ["JSON_LISTINGS_FEED"],
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "processingStatuses": ["DONE,FATAL"],
            "createdSince": ["2026-11-27T12:00:00Z"],
            "pageSize": ["50"],
        },
    ),
    (
        "cancelFeed",
        lambda c: c.cancel_feed("50012019999"),
        "DELETE",
        "/feeds/2021-06-30/feeds/50012019999",
        200,
        None,
        None,
        {},
    ),
    (
        "getFeedDocument",
        lambda c: c.get_feed_document("amzn1.tortuga.4.eu.result"),
        "GET",
        "/feeds/2021-06-30/documents/amzn1.tortuga.4.eu.result",
        200,
        {
            "feedDocumentId": "amzn1.tortuga.4.eu.result",
            "url": UPLOAD_URL,
            "compressionAlgorithm": "GZIP",
        },
        None,
        {},
    ),
]


@pytest.mark.parametrize(
    ("operation", "call", "method", "path", "status", "response", "body", "query"), OPERATIONS
)
def test_request_shape(
    clock: FakeClock,
    mock: requests_mock.Mocker,
    operation: str,
    call: Callable[[FeedsClient], Any],
    method: str,
    path: str,
    status: int,
    response: Any,
    body: Any,
    query: dict,
) -> None:
    kw = {"json": response} if response is not None else {"text": ""}
    mock.register_uri(
        method, ENDPOINT + path, status_code=status, headers={"x-amzn-RequestId": "rid-1"}, **kw
    )
    result = call(make_client(clock))
    sent = mock.request_history[0]
    assert (sent.method, urlsplit(sent.url).path) == (method, path)
    assert parse_qs(urlsplit(sent.url).query) == query
    assert sent.headers["x-amz-access-token"] == "Atza|1"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["x-amz-date"] == "20261127T123005Z"
    assert sent.headers["Accept"] == "application/json"
    if body is None:
        assert not sent.body
    else:
        assert sent.headers["Content-Type"] == "application/json"
        assert json.loads(sent.body) == body
    if operation == "createFeedDocument":
        assert result == FeedDocumentUpload("amzn1.tortuga.4.eu.doc", UPLOAD_URL)
    elif operation == "createFeed":
        assert result == "50012019999"
    elif operation == "cancelFeed":
        assert result is None
    elif operation == "getFeeds":
        assert result == []
    else:
        assert result == response


def test_user_agent_follows_amazons_form() -> None:
    assert re.fullmatch(
        r"feeds-kit/\d+\.\d+\.\d+\S* \(Language=Python/3\.\d+; Platform=[^;()]+\)", USER_AGENT
    )


def test_feed_options_and_path_ids_are_encoded(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.post(f"{FEEDS}/feeds", status_code=202, json={"feedId": 7})
    mock.get(f"{FEEDS}/feeds/a%2Fb%20c", json={"feedId": "a/b c"})
    client = make_client(clock)
    assert (
        client.create_feed(
            feed_type="POST_EASYSHIP_DOCUMENTS",
            marketplace_ids="A21TJRUUN4KGV",
            document_id="d",
            feed_options={"AmazonOrderId": "1", "DocumentType": "ShippingLabel"},
        )
        == "7"
    )
    assert json.loads(mock.request_history[0].body)["feedOptions"] == {
        "AmazonOrderId": "1",
        "DocumentType": "ShippingLabel",
    }
    assert client.get_feed("a/b c") == {"feedId": "a/b c"}


def test_get_feeds_pages_with_next_token_alone(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{FEEDS}/feeds",
        [
            {"json": {"feeds": [{"feedId": "1"}], "nextToken": "tok+/="}},
            {"json": {"feeds": [{"feedId": "2"}], "nextToken": "tok2"}},
            {"json": {"feeds": [{"feedId": "3"}]}},
        ],
    )
    feeds = make_client(clock).get_feeds(
        feed_types=["JSON_LISTINGS_FEED", "POST_FLAT_FILE_FULFILLMENT_DATA"],
        created_until=datetime(2026, 11, 27, 12, 0),
    )
    assert [f["feedId"] for f in feeds] == ["1", "2", "3"]
    first, second, third = (urlsplit(r.url).query for r in mock.request_history)
    # Arrays travel comma-separated with the commas literal.
    assert first == (
        "feedTypes=JSON_LISTINGS_FEED,POST_FLAT_FILE_FULFILLMENT_DATA&pageSize=100"
        "&createdUntil=2026-11-27T12%3A00%3A00Z"
    )
    assert parse_qs(second) == {"nextToken": ["tok+/="]}
    assert parse_qs(third) == {"nextToken": ["tok2"]}


def test_get_feeds_stops_at_max_pages(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(f"{FEEDS}/feeds", json={"feeds": [{"feedId": "1"}], "nextToken": "again"})
    assert len(make_client(clock).get_feeds(feed_types=["X"], max_pages=2)) == 2
    assert mock.call_count == 2


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "getFeeds needs 1 to 10 feed types, not 0."),
        (
            {"feed_types": [f"T{i}" for i in range(11)]},
            "getFeeds needs 1 to 10 feed types, not 11.",
        ),
        (
            {"feed_types": ["X"], "marketplace_ids": [f"M{i}" for i in range(11)]},
            "getFeeds takes at most 10 marketplace ids, not 11.",
        ),
        (
            {"feed_types": ["X"], "processing_statuses": ["FINISHED"]},
            "Unknown processing status 'FINISHED': use CANCELLED, DONE, FATAL, IN_PROGRESS, "
            "IN_QUEUE.",
        ),
        ({"feed_types": ["X"], "page_size": 0}, "getFeeds page size must be 1 to 100, not 0."),
    ],
)
def test_get_feeds_arguments_are_checked_before_sending(
    clock: FakeClock, mock: requests_mock.Mocker, kw: dict, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        make_client(clock).get_feeds(**kw)
    assert str(info.value) == message
    assert mock.call_count == 0


@pytest.mark.parametrize("count", [0, 26])
def test_create_feed_takes_one_to_25_marketplaces(clock: FakeClock, count: int) -> None:
    with pytest.raises(UsageError, match=f"1 to 25 marketplace ids, not {count}"):
        make_client(clock).create_feed(
            feed_type="JSON_LISTINGS_FEED", marketplace_ids=["M"] * count, document_id="d"
        )


def test_generic_request_for_other_apis(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    url = ENDPOINT + "/definitions/2020-09-01/productTypes/LUGGAGE"
    mock.get(url, json={"productType": "LUGGAGE"}, headers={"x-amzn-RateLimit-Limit": "4.0"})
    client = make_client(clock)
    response = client.request(
        "getDefinitionsProductType",
        "GET",
        "/definitions/2020-09-01/productTypes/LUGGAGE",
        params={
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "requirementsEnforced": "NOT_ENFORCED",
            "sellerId": None,
        },
    )
    assert response.json() == {"productType": "LUGGAGE"}
    assert urlsplit(mock.last_request.url).query == (
        "marketplaceIds=ATVPDKIKX0DER&requirementsEnforced=NOT_ENFORCED"
    )
    assert client.limiter.limit("getDefinitionsProductType") == Limit(4.0, 10)


@pytest.mark.skipif(not MODEL.exists(), reason="Amazon's Feeds model is not available")
def test_shapes_match_amazons_model() -> None:
    import jsonschema

    model = json.loads(MODEL.read_text(encoding="utf-8"))
    definitions = {"definitions": model["definitions"]}
    bodies = {
        "createFeedDocument": "CreateFeedDocumentSpecification",
        "createFeed": "CreateFeedSpecification",
    }
    responses = {
        "createFeedDocument": "CreateFeedDocumentResponse",
        "createFeed": "CreateFeedResponse",
        "getFeed": "Feed",
        "getFeeds": "GetFeedsResponse",
        "getFeedDocument": "FeedDocument",
    }
    for operation, _call, method, path, status, response, body, query in OPERATIONS:
        template = (
            re.sub(r"/feeds/[^/]+$", "/feeds/{feedId}", path) if path.count("/") > 3 else path
        )
        template = re.sub(r"/documents/[^/]+$", "/documents/{feedDocumentId}", template)
        spec = model["paths"][template][method.lower()]
        assert spec["operationId"] == operation
        assert str(status) in spec["responses"]
        names = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
        assert set(query) <= names
        if operation in bodies:
            jsonschema.validate(body, {"$ref": f"#/definitions/{bodies[operation]}", **definitions})
        if operation in responses:
            jsonschema.validate(
                response, {"$ref": f"#/definitions/{responses[operation]}", **definitions}
            )


# ----------------------------------------------------------------------------- retries


def test_server_errors_are_retried_with_backoff(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{FEEDS}/feeds/1",
        [
            {"status_code": 503},
            {"status_code": 500},
            {"exc": requests.exceptions.ConnectionError},
            {"json": {"feedId": "1"}},
        ],
    )
    assert make_client(clock).get_feed("1") == {"feedId": "1"}
    assert mock.call_count == 4
    assert clock.slept == [1.0, 2.0, 4.0]


def test_jitter_is_full(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(f"{FEEDS}/feeds/1", [{"status_code": 502}, {"status_code": 504}, {"json": {}}])
    draws = iter([0.25, 0.0])
    client = make_client(clock)
    client.rng = lambda: next(draws)
    client.get_feed("1")
    assert clock.slept == [0.25]  # 0.25 * 1 s, then 0.0 * 2 s (no sleep at all)


def test_attempts_are_bounded(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(
        f"{FEEDS}/feeds/1",
        status_code=500,
        json=err("InternalFailure", "We broke"),
        headers={"x-amzn-RequestId": "rid-500"},
    )
    with pytest.raises(ApiError) as info:
        make_client(clock).get_feed("1")
    assert mock.call_count == 6
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert str(info.value) == (
        "getFeed failed with HTTP 500: InternalFailure We broke; request id rid-500."
    )
    assert (info.value.status, info.value.operation, info.value.request_id) == (
        500,
        "getFeed",
        "rid-500",
    )
    assert info.value.context["feed_id"] == "1"


def test_elapsed_time_is_bounded(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(f"{FEEDS}/feeds/1", status_code=503)
    client = make_client(clock, retry=RetryPolicy(max_attempts=10, max_elapsed=5.0))
    with pytest.raises(ApiError, match=r"^getFeed failed with HTTP 503\.$"):
        client.get_feed("1")
    assert mock.call_count == 3  # waits 1 and 2; a third wait of 4 would pass 5 s
    assert clock.slept == [1.0, 2.0]


def test_backoff_is_capped(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(f"{FEEDS}/feeds/1", status_code=503)
    client = make_client(clock, retry=RetryPolicy(max_attempts=5, cap=3.0))
    with pytest.raises(ApiError):
        client.get_feed("1")
    assert clock.slept == [1.0, 2.0, 3.0, 3.0]


def test_retry_after_is_honoured_and_429_empties_the_bucket(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{FEEDS}/feeds/1",
        [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": {"feedId": "1"}}],
    )
    make_client(clock).get_feed("1")
    # 7 s, not the 1 s backoff; the emptied bucket (0.5 s to a token) refills meanwhile.
    assert clock.slept == [7.0]


def test_429_waits_for_a_fresh_token(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.post(
        f"{FEEDS}/documents",
        [
            {"status_code": 429},
            {"status_code": 201, "json": {"feedDocumentId": "d", "url": UPLOAD_URL}},
        ],
    )
    make_client(clock).create_feed_document(CT)
    # Backoff says 1 s, but after a 429 the bucket is empty: a token takes 1 / 0.5 = 2 s.
    assert clock.slept == [2.0]


def test_retry_after_as_http_date(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    when = "Fri, 27 Nov 2026 12:30:17 GMT"  # 12 s after WALL
    mock.get(
        f"{FEEDS}/feeds/1", [{"status_code": 503, "headers": {"Retry-After": when}}, {"json": {}}]
    )
    make_client(clock).get_feed("1")
    assert clock.slept == [12.0]


def test_throttling_exhaustion_raises_throttled_error(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.get(
        f"{FEEDS}/feeds/1",
        status_code=429,
        json=err("QuotaExceeded", "You exceeded"),
        headers={"x-amzn-RequestId": "rid-429"},
    )
    client = make_client(clock, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ThrottledError) as info:
        client.get_feed("1")
    assert str(info.value) == (
        "Amazon throttled getFeed (HTTP 429) 3 times in 3s: try again in a few minutes; "
        "request id rid-429."
    )
    assert info.value.errors == [{"code": "QuotaExceeded", "message": "You exceeded"}]


def test_persistent_connection_failure_is_a_network_error(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.get(f"{FEEDS}/feeds/1", exc=requests.exceptions.ConnectTimeout)
    with pytest.raises(NetworkError) as info:
        make_client(clock, retry=RetryPolicy(max_attempts=2)).get_feed("1")
    assert str(info.value) == (
        "getFeed could not reach sellingpartnerapi-eu.amazon.com: connection timed out after 2 "
        "attempts; check the network, a proxy or FEEDS_KIT_ENDPOINT."
    )


# ----------------------------------------------------------------------------- 4xx


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            err("InvalidInput", "One or more required parameters missing", "contentType;"),
            "createFeedDocument failed with HTTP 400: InvalidInput One or more required "
            "parameters missing (contentType;); request id rid-4.",
        ),
        (
            403,
            err("Unauthorized", "Access to requested resource is denied."),
            "createFeedDocument failed with HTTP 403: Unauthorized Access to requested resource "
            "is denied; request id rid-4.",
        ),
        (
            413,
            None,
            "createFeedDocument failed with HTTP 413: the request is too large; request id rid-4.",
        ),
        (
            404,
            "<html>gateway</html>",
            "createFeedDocument failed with HTTP 404: not found; the id may be mistyped, belong "
            "to another seller or be older than 90 days; request id rid-4.",
        ),
    ],
)
def test_client_errors_are_not_retried(
    clock: FakeClock, mock: requests_mock.Mocker, status: int, body: Any, message: str
) -> None:
    kw = {"json": body} if isinstance(body, dict) else {"text": body or ""}
    mock.post(f"{FEEDS}/documents", status_code=status, headers={"x-amzn-RequestId": "rid-4"}, **kw)
    with pytest.raises(ApiError) as info:
        make_client(clock).create_feed_document(CT)
    assert type(info.value) is ApiError
    assert str(info.value) == message
    assert mock.call_count == 1
    assert clock.slept == []
    assert info.value.exit_code == 3


def test_expired_token_is_refreshed_once(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    expired = err(
        "Unauthorized",
        "Access to requested resource is denied.",
        "The access token you provided has expired.",
    )
    mock.get(f"{FEEDS}/feeds/1", [{"status_code": 403, "json": expired}, {"json": {"feedId": "1"}}])
    auth = TokenAuth()
    assert make_client(clock, auth=auth).get_feed("1") == {"feedId": "1"}
    assert auth.invalidated == ["Atza|1"]
    assert [r.headers["x-amz-access-token"] for r in mock.request_history] == ["Atza|1", "Atza|2"]


def test_expired_token_twice_is_an_error(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    expired = err("Unauthorized", "The access token you provided has expired.")
    mock.get(f"{FEEDS}/feeds/1", status_code=401, json=expired)
    auth = TokenAuth()
    with pytest.raises(ApiError, match="HTTP 401: Unauthorized The access token"):
        make_client(clock, auth=auth).get_feed("1")
    assert mock.call_count == 2
    assert auth.invalidated == ["Atza|1"]


# ----------------------------------------------------------------------------- createFeed


def _create(client: FeedsClient) -> str:
    return client.create_feed(
        feed_type="JSON_LISTINGS_FEED", marketplace_ids=["A1PA6795UKMFR9"], document_id="doc-1"
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"exc": requests.exceptions.ReadTimeout}, "no answer in time after sending"),
        ({"exc": requests.exceptions.ConnectionError}, "connection dropped after sending"),
        ({"status_code": 500}, "HTTP 500"),
        ({"status_code": 503}, "HTTP 503"),
        ({"status_code": 504}, "HTTP 504"),
    ],
)
def test_create_feed_is_never_blindly_retried(
    clock: FakeClock, mock: requests_mock.Mocker, answer: dict, reason: str
) -> None:
    mock.post(f"{FEEDS}/feeds", [answer, {"status_code": 202, "json": {"feedId": "dup"}}])
    with pytest.raises(AmbiguousRequestError) as info:
        _create(make_client(clock))
    assert mock.call_count == 1
    assert str(info.value) == (
        f"createFeed may or may not have been taken by Amazon ({reason}): it was not sent "
        "again — check getFeeds before retrying."
    )
    assert info.value.context["document_id"] == "doc-1"
    assert info.value.context["feed_type"] == "JSON_LISTINGS_FEED"


@pytest.mark.parametrize(
    "answer",
    [
        {"exc": requests.exceptions.ConnectTimeout},  # never connected: nothing was sent
        {"status_code": 429},  # refused: nothing was taken
    ],
)
def test_create_feed_is_retried_when_certainly_not_taken(
    clock: FakeClock, mock: requests_mock.Mocker, answer: dict
) -> None:
    mock.post(f"{FEEDS}/feeds", [answer, {"status_code": 202, "json": {"feedId": "42"}}])
    assert _create(make_client(clock)) == "42"
    assert mock.call_count == 2


def test_create_feed_accepted_without_feed_id_is_ambiguous(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.post(f"{FEEDS}/feeds", status_code=202, text="", headers={"x-amzn-RequestId": "r"})
    with pytest.raises(AmbiguousRequestError, match="accepted \\(HTTP 202\\) but the answer"):
        _create(make_client(clock))


def test_create_feed_respects_the_json_listings_feed_budget(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.post(f"{FEEDS}/feeds", status_code=202, json={"feedId": "1"})
    client = make_client(clock)
    for _ in range(5):
        _create(client)
    assert clock.slept == []
    _create(client)
    assert clock.slept == [pytest.approx(300.0)]


def test_rate_limit_header_is_adopted(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(f"{FEEDS}/feeds/1", json={}, headers={"x-amzn-RateLimit-Limit": "0.5"})
    client = make_client(clock)
    client.get_feed("1")
    assert client.limiter.limit("getFeed") == Limit(0.5, 15)


# ----------------------------------------------------------------------------- upload


def test_upload_puts_raw_bytes_with_the_identical_content_type(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    mock.put(UPLOAD_URL, status_code=200)
    data = b'{"header":{"sellerId":"A","version":"2.0"},"messages":[]}'
    make_client(clock).upload_document(UPLOAD_URL, data, CT)
    sent = mock.last_request
    assert sent.method == "PUT"
    assert sent.body == data
    assert sent.headers["Content-Type"] == CT
    for header in ("x-amz-access-token", "Authorization", "x-amz-date", "User-Agent"):
        assert header not in sent.headers
    assert parse_qs(urlsplit(sent.url).query)["X-Amz-Signature"] == [SIGNATURE]


def test_upload_is_retried_on_server_errors(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.put(
        UPLOAD_URL,
        [{"status_code": 503}, {"exc": requests.exceptions.ConnectionError}, {"status_code": 200}],
    )
    make_client(clock).upload_document(UPLOAD_URL, b"{}", CT)
    assert mock.call_count == 3
    assert clock.slept == [1.0, 2.0]


def s3_xml(code: str, message: str, extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
        f"{code}</Code><Message>{message}</Message>{extra}<RequestId>R1</RequestId></Error>"
    )


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (
            403,
            s3_xml(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                f"<SignatureProvided>{SIGNATURE}</SignatureProvided><StringToSign>AWS4"
                "</StringToSign>",
            ),
            UploadError,
            "Uploading the feed document failed: S3 answered HTTP 403 SignatureDoesNotMatch: "
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method — the upload's Content-Type must be "
            "byte-identical to the contentType given to createFeedDocument.",
        ),
        (
            403,
            s3_xml("AccessDenied", "Request has expired", "<Expires>2026-11-27</Expires>"),
            UploadExpiredError,
            "Uploading the feed document failed: the presigned URL has expired (S3 answered HTTP "
            "403 AccessDenied: Request has expired); create a new feed document and upload "
            "again.",
        ),
        (
            400,
            s3_xml("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
            UploadError,
            "Uploading the feed document failed: S3 answered HTTP 400 EntityTooLarge: Your "
            "proposed upload exceeds the maximum allowed size — keep feed documents under 10 MiB.",
        ),
        (
            403,
            "<html><body>Forbidden by proxy</body></html>",
            UploadError,
            "Uploading the feed document failed: S3 answered HTTP 403.",
        ),
        (
            503,
            s3_xml("SlowDown", "Please reduce your request rate."),
            UploadError,
            "Uploading the feed document failed: S3 answered HTTP 503 SlowDown: Please reduce "
            "your request rate.",
        ),
    ],
)
def test_s3_errors_become_sentences_without_the_signature(
    clock: FakeClock,
    mock: requests_mock.Mocker,
    status: int,
    body: str,
    kind: type[Exception],
    message: str,
) -> None:
    mock.put(UPLOAD_URL, status_code=status, text=body)
    client = make_client(clock, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(UploadError) as info:
        client.upload_document(UPLOAD_URL, b"{}", CT)
    assert type(info.value) is kind
    assert str(info.value) == message
    assert SIGNATURE not in str(info.value)
    assert SIGNATURE not in repr(info.value.context)
    assert info.value.context["url"] == (
        "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/%2FNinetyDays/amzn1.tortuga.4.eu.doc?…"
    )


def test_upload_connection_failure_hides_the_url_signature(
    clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    failure = requests.exceptions.ConnectionError(f"Max retries exceeded with url: {UPLOAD_URL}")
    mock.put(UPLOAD_URL, exc=failure)
    with pytest.raises(UploadError) as info:
        make_client(clock, retry=RetryPolicy(max_attempts=1)).upload_document(UPLOAD_URL, b"{}", CT)
    assert str(info.value) == (
        "Uploading the feed document to tortuga-prod-eu.s3-eu-west-1.amazonaws.com failed: "
        "connection dropped after 1 attempt."
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__


# ----------------------------------------------------------------------------- download

REPORT = b'{"header":{"feedId":"1"},"issues":[],"summary":{"messagesProcessed":1}}'


@pytest.mark.parametrize(
    ("content", "headers", "compression"),
    [
        (REPORT, {}, None),  # plain
        (gzip.compress(REPORT), {}, "GZIP"),  # gzip bytes, Content-Encoding identity
        (gzip.compress(REPORT), {"Content-Encoding": "gzip"}, "GZIP"),  # decoded on the way
        (gzip.compress(gzip.compress(REPORT)), {"Content-Encoding": "gzip"}, "GZIP"),  # twice
        (gzip.compress(REPORT), {}, "gzip"),  # any case
        (gzip.compress(REPORT), {}, None),  # undeclared but unmistakable
        (gzip.compress(REPORT[:20]) + gzip.compress(REPORT[20:]), {}, "GZIP"),  # two members
    ],
)
def test_download_variants(
    clock: FakeClock,
    mock: requests_mock.Mocker,
    content: bytes,
    headers: dict,
    compression: str | None,
) -> None:
    mock.get(UPLOAD_URL, content=content, headers={"Content-Type": "text/plain", **headers})
    document = make_client(clock).download_document(UPLOAD_URL, compression=compression)
    assert document.data == REPORT
    sent = mock.last_request
    assert "x-amz-access-token" not in sent.headers
    assert "Authorization" not in sent.headers


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("text/plain; charset=UTF-8", "UTF-8"),
        ('application/json;charset="iso-8859-1"', "iso-8859-1"),
        ("application/octet-stream", None),
        (None, None),
    ],
)
def test_download_takes_the_charset_from_content_type(
    clock: FakeClock, mock: requests_mock.Mocker, content_type: str | None, charset: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    mock.get(UPLOAD_URL, content=b"x", headers=headers)
    document = make_client(clock).download_document(UPLOAD_URL)
    assert (document.charset, document.content_type) == (charset, content_type)


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("Größe".encode("latin-1"), "ISO-8859-1", "Größe"),
        ("\ufeffGröße".encode(), "utf-8", "Größe"),
        ("Größe".encode(), None, "Größe"),
        ("Größe".encode(), "no-such-charset", "Größe"),
        (b"\xffok", "utf-8", "\ufffdok"),
    ],
)
def test_downloaded_text(data: bytes, charset: str | None, text: str) -> None:
    assert DownloadedDocument(data, charset, None).text() == text


@pytest.mark.parametrize(
    ("content", "compression", "message"),
    [
        (gzip.compress(REPORT)[:-12], "GZIP", "The downloaded document is not valid gzip data"),
        (REPORT, "ZSTD", "The document uses the compression 'ZSTD'"),
    ],
)
def test_download_problems(
    clock: FakeClock, mock: requests_mock.Mocker, content: bytes, compression: str, message: str
) -> None:
    mock.get(UPLOAD_URL, content=content)
    with pytest.raises(UploadError, match=f"^{re.escape(message)}"):
        make_client(clock).download_document(UPLOAD_URL, compression=compression)


def test_download_size_is_bounded(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(UPLOAD_URL, content=gzip.compress(b"a" * 10_000))
    client = make_client(clock, max_document_bytes=1000)
    with pytest.raises(UploadError, match="unpacks to more than 1,000 bytes"):
        client.download_document(UPLOAD_URL, compression="GZIP")


def test_expired_download_url(clock: FakeClock, mock: requests_mock.Mocker) -> None:
    mock.get(UPLOAD_URL, status_code=403, text=s3_xml("AccessDenied", "Request has expired"))
    with pytest.raises(UploadExpiredError) as info:
        make_client(clock).download_document(UPLOAD_URL)
    assert str(info.value) == (
        "Downloading the document failed: the presigned URL has expired (S3 answered HTTP 403 "
        "AccessDenied: Request has expired); call getFeedDocument again for a fresh URL."
    )


# ----------------------------------------------------------------------------- secrets


CLIENT_SECRET = "amzn1.oa2-cs.v1.TOPSECRET"
REFRESH = "Atzr|IwEBREFRESHSECRET"
ACCESS = "Atza|IwEBACCESSSECRET"
LWA = "https://api.amazon.com/auth/o2/token"


def test_no_secret_reaches_logs_or_errors(
    clock: FakeClock, mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.post(LWA, json={"access_token": ACCESS, "expires_in": 3600})
    mock.post(
        f"{FEEDS}/documents", status_code=201, json={"feedDocumentId": "doc", "url": UPLOAD_URL}
    )
    mock.put(
        UPLOAD_URL,
        [
            {"status_code": 500},
            {"status_code": 403, "text": s3_xml("AccessDenied", "Request has expired")},
        ],
    )
    mock.get(f"{FEEDS}/feeds/1", status_code=400, json=err("InvalidInput", f"Bad token {ACCESS}"))
    mock.get(UPLOAD_URL, [{"exc": requests.exceptions.ConnectionError(UPLOAD_URL)}])
    auth = LwaAuth(
        client_id="cid",
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH,
        endpoint=LWA,
        clock=clock,
        sleep=clock.sleep,
    )
    client = make_client(clock, auth=auth, retry=RetryPolicy(max_attempts=2))

    upload = client.create_feed_document(CT)
    texts = [repr(upload)]
    for action in (
        lambda: client.upload_document(upload.url, b"{}", CT),
        lambda: client.get_feed("1"),
        lambda: client.download_document(UPLOAD_URL),
    ):
        with pytest.raises(Exception) as info:
            action()
        texts += [str(info.value), repr(info.value.context)]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("feeds_kit"))
    texts.append(ours)
    assert "sellingpartnerapi-eu.amazon.com/feeds/2021-06-30/documents" in ours
    assert "(attempt 2, request id -)" in ours
    for text in texts:
        for secret in (CLIENT_SECRET, REFRESH, ACCESS, SIGNATURE, "AKIAEXAMPLE"):
            assert secret not in text
    assert "Bad token ***" in texts[3]


def test_redacting_filter_scrubs_other_libraries_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RedactingFilter(lambda: [ACCESS]))
    caplog.set_level(logging.DEBUG)
    third_party = logging.getLogger("urllib3.connectionpool")
    third_party.debug('%s "PUT %s HTTP/1.1" 200 0', "https://s3:443", UPLOAD_URL)
    third_party.debug("header %s", ACCESS)
    try:
        raise ValueError(UPLOAD_URL)
    except ValueError:
        third_party.exception("failed")
    assert SIGNATURE not in caplog.text
    assert ACCESS not in caplog.text
    assert "amzn1.tortuga.4.eu.doc?… HTTP/1.1" in caplog.text
    assert "header ***" in caplog.text


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (
            UPLOAD_URL,
            "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/%2FNinetyDays/"
            "amzn1.tortuga.4.eu.doc?…",
        ),
        ("https://user:pw@host:8443/p?q=1#frag", "https://host:8443/p?…"),
        ("http://127.0.0.1:5000/documents/x", "http://127.0.0.1:5000/documents/x"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_redact_text_handles_urls_and_loose_parameters() -> None:
    text = f"failed for {UPLOAD_URL} (X-Amz-Signature={SIGNATURE}) with Atza|x"
    assert redact_text(text, ["Atza|x"]) == (
        "failed for https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/%2FNinetyDays/"
        "amzn1.tortuga.4.eu.doc?… (X-Amz-Signature=***) with ***"
    )


# ----------------------------------------------------------------------------- settings


def _settings(tmp_path: Path, **env: str):
    base = {
        "LWA_CLIENT_ID": "cid",
        "LWA_CLIENT_SECRET": CLIENT_SECRET,
        "SP_API_REFRESH_TOKEN": REFRESH,
        "FEEDS_KIT_HOME": str(tmp_path / "home"),
        **env,
    }
    return load_settings(env=base, path=tmp_path / "none.toml")


def test_from_settings_wires_auth_endpoint_and_shared_budget(
    tmp_path: Path, clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    settings = _settings(tmp_path, SP_API_REGION="eu")
    client = FeedsClient.from_settings(
        settings, clock=clock, sleep=clock.sleep, wall_clock=lambda: WALL
    )
    assert client.endpoint == ENDPOINT
    assert isinstance(client.auth, LwaAuth)
    assert client.signer is None
    mock.post(LWA, json={"access_token": ACCESS, "expires_in": 3600})
    mock.post(f"{FEEDS}/feeds", status_code=202, json={"feedId": "9"})
    assert _create(client) == "9"
    assert mock.last_request.headers["x-amz-access-token"] == ACCESS
    state = json.loads((tmp_path / "home" / "ratelimit.json").read_text())
    assert list(state["windows"]["JSON_LISTINGS_FEED"]) == ["eu"]


def test_from_settings_in_the_sandbox(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[profiles.s]\nregion = "fe"\nsandbox = true\n')
    settings = load_settings(
        profile="s",
        env={"LWA_CLIENT_ID": "c", "LWA_CLIENT_SECRET": "s", "SP_API_REFRESH_TOKEN": "r"},
        path=config,
    )
    client = FeedsClient.from_settings(settings)
    assert client.endpoint == "https://sandbox.sellingpartnerapi-fe.amazon.com"
    assert client.limiter.limit("createFeed") == Limit(5.0, 15)
    assert client.limiter.budgets == {}


def test_from_settings_without_credentials(tmp_path: Path) -> None:
    settings = load_settings(env={}, path=tmp_path / "none.toml")
    with pytest.raises(ConfigError, match=r"^Missing credentials: LWA client id"):
        FeedsClient.from_settings(settings)


def test_from_settings_signs_when_aws_keys_are_set(
    tmp_path: Path, clock: FakeClock, mock: requests_mock.Mocker
) -> None:
    settings = load_settings(
        env={"LWA_CLIENT_ID": "c", "LWA_CLIENT_SECRET": "s", "SP_API_REFRESH_TOKEN": "r"},
        path=tmp_path / "none.toml",
        overrides={
            "region": "eu",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "AWSSECRET",
        },
    )
    client = FeedsClient.from_settings(settings, clock=clock, sleep=clock.sleep)
    mock.post(LWA, json={"access_token": ACCESS, "expires_in": 3600})
    mock.get(f"{FEEDS}/feeds/1", json={})
    client.get_feed("1")
    authorization = mock.last_request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/" in authorization
