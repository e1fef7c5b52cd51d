"""The simulator's LWA endpoint and the six Feeds operations, over real loopback HTTP."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from feeds_kit.simulator import (
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    LOCAL_SELLER_ID,
    Simulator,
    SimulatorConfig,
)
from feeds_kit.simulator.ratelimits import USAGE_PLANS, UsagePlan
from feeds_kit.simulator.server import ROUTES
from feeds_kit.simulator.testing import FEEDS, US, ManualClock, SimulatorSession

UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
FEED = {"header": {"sellerId": LOCAL_SELLER_ID, "version": "2.0"}, "messages": []}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock):
    config = SimulatorConfig(
        seed=7,
        clients={"amzn1.application-oa2-client.other": "other-secret"},
        sellers={"Atzr|other-refresh": "A3OTHERSELLER"},
    )
    with Simulator(config, clock=clock) as simulator:
        yield simulator


@pytest.fixture
def api(sim: Simulator) -> SimulatorSession:
    return SimulatorSession(sim)


def token_request(sim: Simulator, **overrides: str) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": LOCAL_REFRESH_TOKEN,
        "client_id": LOCAL_CLIENT_ID,
        "client_secret": LOCAL_CLIENT_SECRET,
        **overrides,
    }
    return requests.post(sim.lwa_endpoint, data={k: v for k, v in form.items() if v}, timeout=5)


def error_of(response: requests.Response) -> dict:
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1
    return body["errors"][0]


# -- LWA ---------------------------------------------------------------------------------------


def test_token_endpoint_issues_expiring_bearer_tokens(sim: Simulator) -> None:
    response = token_request(sim)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == LOCAL_REFRESH_TOKEN
    assert body["access_token"].startswith("Atza|")


def test_token_endpoint_accepts_a_json_body_and_registered_clients(sim: Simulator) -> None:
    body = {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|other-refresh",
        "client_id": "amzn1.application-oa2-client.other",
        "client_secret": "other-secret",
    }
    response = requests.post(sim.lwa_endpoint, json=body, timeout=5)
    assert response.status_code == 200
    session = SimulatorSession(
        sim,
        client_id=body["client_id"],
        client_secret=body["client_secret"],
        refresh_token=body["refresh_token"],
    )
    document = session.create_document()
    assert sim.documents.get(document["feedDocumentId"]).seller_id == "A3OTHERSELLER"


@pytest.mark.parametrize(
    ("overrides", "status", "error", "description"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", "Client authentication failed"),
        ({"client_id": "nobody"}, 401, "invalid_client", "Client authentication failed"),
        (
            {"refresh_token": "Atzr|unknown"},
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        ),
        (
            {"refresh_token": ""},
            400,
            "invalid_request",
            "The request is missing a required parameter : refresh_token",
        ),
        (
            {"grant_type": ""},
            400,
            "invalid_request",
            "The request is missing a required parameter : grant_type",
        ),
        (
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
            "The grant type password is not supported",
        ),
    ],
)
def test_token_endpoint_refuses_bad_credentials_in_oauth_shape(
    sim: Simulator, overrides: dict, status: int, error: str, description: str
) -> None:
    response = token_request(sim, **overrides)
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}


def test_grantless_token_cannot_call_the_feeds_api(sim: Simulator) -> None:
    response = token_request(
        sim, grant_type="client_credentials", scope="sellingpartnerapi::notifications"
    )
    token = response.json()["access_token"]
    feeds = requests.get(
        sim.endpoint + f"{FEEDS}/feeds",
        params={"feedTypes": "JSON_LISTINGS_FEED"},
        headers={"x-amz-access-token": token},
        timeout=5,
    )
    assert feeds.status_code == 403
    assert error_of(feeds)["code"] == "Unauthorized"


# -- authentication of SP-API calls ------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "details"),
    [
        (None, "Access token is missing in the request header."),
        ("Atza|forged", "The access token you provided is revoked, malformed or invalid."),
    ],
)
def test_missing_or_invalid_access_token_is_403_unauthorized(
    sim: Simulator, token: str | None, details: str
) -> None:
    headers = {"x-amz-access-token": token} if token else {}
    response = requests.post(
        sim.endpoint + f"{FEEDS}/documents",
        json={"contentType": "application/json"},
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": details,
    }
    assert response.headers["x-amzn-RequestId"]
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_access_tokens_expire_after_an_hour(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    assert api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"}).status_code == 201
    clock.advance(3600)
    response = api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"})
    assert response.status_code == 403
    assert error_of(response)["details"] == "The access token you provided has expired."
    api.login()
    assert api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"}).status_code == 201


# -- createFeedDocument ------------------------------------------------------------------------


def test_create_feed_document_is_201_with_a_presigned_url(api: SimulatorSession) -> None:
    response = api.call("POST", f"{FEEDS}/documents", json={"contentType": "text/plain"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"feedDocumentId", "url"}
    assert body["feedDocumentId"].startswith("amzn1.tortuga.4.na.")
    assert "X-Amz-Expires=300" in body["url"]
    assert "X-Amz-Signature=" in body["url"]
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [
        ({}, "One or more required parameters missing", "contentType;"),
        ({"contentType": ""}, "One or more required parameters missing", "contentType;"),
        ({"contentType": 5}, "contentType must be a string.", "contentType"),
        ([1], "The request body must be a JSON object.", "body"),
    ],
)
def test_create_feed_document_checks_its_body(
    api: SimulatorSession, body: object, message: str, details: str
) -> None:
    response = api.call("POST", f"{FEEDS}/documents", json=body)
    assert response.status_code == 400
    assert error_of(response) == {"code": "InvalidInput", "message": message, "details": details}
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"


def test_create_feed_document_refuses_a_non_json_content_type(api: SimulatorSession) -> None:
    response = api.call(
        "POST",
        f"{FEEDS}/documents",
        data=b"contentType=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "UnsupportedMediaType"
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_create_feed_document_refuses_an_oversized_body(api: SimulatorSession) -> None:
    response = api.call(
        "POST", f"{FEEDS}/documents", json={"contentType": "x", "pad": "y" * 70_000}
    )
    assert response.status_code == 413


# -- createFeed --------------------------------------------------------------------------------


def test_create_feed_is_202_with_a_feed_id(api: SimulatorSession) -> None:
    document = api.create_document()
    response = api.call(
        "POST",
        f"{FEEDS}/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    assert response.status_code == 202
    assert list(response.json()) == ["feedId"]
    assert response.json()["feedId"].isdigit()


@pytest.mark.parametrize(
    ("change", "message", "details"),
    [
        (
            {"feedType": None},
            "One or more required parameters missing",
            "feedType;",
        ),
        (
            {"feedType": None, "marketplaceIds": None},
            "One or more required parameters missing",
            "feedType;marketplaceIds;",
        ),
        ({"feedType": "NOT_A_FEED"}, "Invalid feedType 'NOT_A_FEED'.", "feedType"),
        (
            {"marketplaceIds": []},
            "marketplaceIds must have between 1 and 25 items; it has 0.",
            "marketplaceIds",
        ),
        (
            {"marketplaceIds": [US] * 26},
            "marketplaceIds must have between 1 and 25 items; it has 26.",
            "marketplaceIds",
        ),
        (
            {"marketplaceIds": ["XX"]},
            "Invalid marketplaceIds value XX.",
            "marketplaceIds",
        ),
        (
            {"marketplaceIds": "ATVPDKIKX0DER"},
            "marketplaceIds must be an array of strings.",
            "marketplaceIds",
        ),
        (
            {"marketplaceIds": [US, DE]},
            "marketplaceIds must all belong to one region (na, eu or fe); this endpoint "
            "received eu, na.",
            "marketplaceIds",
        ),
        (
            {"feedOptions": {"a": 1}},
            "feedOptions must be an object of string values.",
            "feedOptions",
        ),
        (
            {"inputFeedDocumentId": "amzn1.tortuga.4.na.unknown"},
            "The inputFeedDocumentId 'amzn1.tortuga.4.na.unknown' is not a feed document of "
            "this selling partner.",
            "inputFeedDocumentId",
        ),
    ],
)
def test_create_feed_checks_its_body_against_the_model(
    api: SimulatorSession, change: dict, message: str, details: str
) -> None:
    document = api.create_document()
    body = {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [US],
        "inputFeedDocumentId": document["feedDocumentId"],
    }
    body.update(change)
    response = api.call(
        "POST", f"{FEEDS}/feeds", json={k: v for k, v in body.items() if v is not None}
    )
    assert response.status_code == 400
    assert error_of(response) == {"code": "InvalidInput", "message": message, "details": details}
    assert "x-amzn-RateLimit-Limit" in response.headers


def test_create_feed_refuses_another_sellers_document(
    sim: Simulator, api: SimulatorSession
) -> None:
    document = api.create_document()
    other = SimulatorSession(
        sim,
        client_id="amzn1.application-oa2-client.other",
        client_secret="other-secret",
        refresh_token="Atzr|other-refresh",
    )
    response = other.call(
        "POST",
        f"{FEEDS}/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    assert response.status_code == 400


def test_create_feed_refuses_a_document_older_than_two_days(
    api: SimulatorSession, clock: ManualClock
) -> None:
    document = api.create_document()
    clock.advance(2 * 24 * 3600 + 1)
    api.login()
    response = api.call(
        "POST",
        f"{FEEDS}/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    assert response.status_code == 400
    assert "has expired" in error_of(response)["message"]


# -- getFeed / cancelFeed ----------------------------------------------------------------------


def test_get_feed_follows_the_feed_through_its_states(
    api: SimulatorSession, clock: ManualClock
) -> None:
    feed_id = api.submit(FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]})
    first = api.feed(feed_id)
    assert first == {
        "feedId": feed_id,
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [US],
        "createdTime": "2026-01-01T00:00:00.000Z",
        "processingStatus": "IN_QUEUE",
    }
    clock.advance(20)
    assert api.feed(feed_id)["processingStatus"] == "IN_PROGRESS"
    assert api.feed(feed_id)["processingStartTime"] == "2026-01-01T00:00:20.000Z"
    clock.advance(60)
    done = api.feed(feed_id)
    assert done["processingStatus"] == "DONE"
    assert done["processingEndTime"] == "2026-01-01T00:01:20.000Z"
    assert done["resultFeedDocumentId"].startswith("amzn1.tortuga.4.na.")


@pytest.mark.parametrize(
    ("feed_id", "status", "code"),
    [("123456789", 404, "NotFound"), ("badFeedId1", 400, "InvalidInput")],
)
def test_get_feed_of_an_unknown_feed(
    api: SimulatorSession, feed_id: str, status: int, code: str
) -> None:
    response = api.call("GET", f"{FEEDS}/feeds/{feed_id}")
    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert "x-amzn-RateLimit-Limit" in response.headers


def test_feeds_are_private_to_their_seller(sim: Simulator, api: SimulatorSession) -> None:
    feed_id = api.submit(FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]})
    other = SimulatorSession(
        sim,
        client_id="amzn1.application-oa2-client.other",
        client_secret="other-secret",
        refresh_token="Atzr|other-refresh",
    )
    assert other.call("GET", f"{FEEDS}/feeds/{feed_id}").status_code == 404


def test_cancel_feed_only_while_in_queue(api: SimulatorSession, clock: ManualClock) -> None:
    queued = api.submit(FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]})
    response = api.call("DELETE", f"{FEEDS}/feeds/{queued}")
    assert response.status_code == 200
    assert response.content == b""
    assert api.feed(queued)["processingStatus"] == "CANCELLED"
    started = api.submit(FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]})
    clock.advance(25)
    response = api.call("DELETE", f"{FEEDS}/feeds/{started}")
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        f"The feed {started} cannot be cancelled because its processingStatus is IN_PROGRESS; "
        "only feeds that are IN_QUEUE can be cancelled."
    )
    clock.advance(100)
    assert api.feed(queued)["processingStatus"] == "CANCELLED"
    assert "resultFeedDocumentId" not in api.feed(queued)


# -- getFeeds ----------------------------------------------------------------------------------


def test_get_feeds_needs_feed_types_or_next_token(api: SimulatorSession) -> None:
    response = api.call("GET", f"{FEEDS}/feeds")
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "InvalidInput",
        "message": "Either feedTypes or nextToken is required.",
        "details": "feedTypes;nextToken;",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"feedTypes": ",".join(["X"] * 11)},
            "feedTypes must have between 1 and 10 items; it has 11.",
        ),
        ({"feedTypes": "A", "pageSize": "0"}, "pageSize '0' is not a whole number from 1 to 100."),
        (
            {"feedTypes": "A", "pageSize": "101"},
            "pageSize '101' is not a whole number from 1 to 100.",
        ),
        (
            {"feedTypes": "A", "processingStatuses": "BAD_VALUE,DONE"},
            "Invalid processingStatuses value BAD_VALUE; use one of CANCELLED, DONE, FATAL, "
            "IN_PROGRESS, IN_QUEUE.",
        ),
        ({"feedTypes": "A", "marketplaceIds": "NOPE"}, "Invalid marketplaceIds value NOPE."),
        (
            {"feedTypes": "A", "createdSince": "yesterday"},
            "createdSince 'yesterday' is not an ISO 8601 date-time.",
        ),
        (
            {"nextToken": "abc", "feedTypes": "A"},
            "nextToken must be the only parameter when it is given.",
        ),
        ({"nextToken": "abc"}, "The nextToken is not valid."),
    ],
)
def test_get_feeds_checks_its_parameters(api: SimulatorSession, params: dict, message: str) -> None:
    response = api.call("GET", f"{FEEDS}/feeds", params=params)
    assert response.status_code == 400
    assert error_of(response)["message"] == message


def test_get_feeds_filters_and_pages_with_next_token(
    api: SimulatorSession, clock: ManualClock
) -> None:
    ids = []
    for _ in range(4):  # the fifth JSON_LISTINGS_FEED of five minutes goes to UK
        ids.append(api.submit(FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]}))
        clock.advance(1)
    uk = api.submit(
        FEED | {"messages": [_patch(1, "FK-MUG-WHITE", market=UK, currency="GBP")]},
        marketplace_ids=[UK],
    )
    response = api.call(
        "GET",
        f"{FEEDS}/feeds",
        params=[("feedTypes", "JSON_LISTINGS_FEED"), ("marketplaceIds", US), ("pageSize", "3")],
    )
    assert response.status_code == 200
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0222"
    page = response.json()
    seen = [f["feedId"] for f in page["feeds"]]
    while "nextToken" in page:
        page = api.call("GET", f"{FEEDS}/feeds", params={"nextToken": page["nextToken"]}).json()
        seen += [f["feedId"] for f in page["feeds"]]
    assert seen == list(reversed(ids))
    assert uk not in seen
    statuses = api.call(
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "JSON_LISTINGS_FEED", "processingStatuses": "DONE"},
    ).json()
    assert statuses == {"feeds": []}
    other_type = api.call("GET", f"{FEEDS}/feeds", params={"feedTypes": "POST_PRODUCT_DATA"})
    assert other_type.json() == {"feeds": []}


def test_get_feeds_ignores_parameters_outside_the_model(api: SimulatorSession) -> None:
    # python-amazon-sp-api adds MarketplaceId, MarketplaceIds and marketplace_ids.
    response = api.call(
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "JSON_LISTINGS_FEED", "MarketplaceId": US, "marketplace_ids": US},
    )
    assert response.status_code == 200


# -- getFeedDocument ---------------------------------------------------------------------------


def test_get_feed_document_of_a_result_says_gzip(api: SimulatorSession, clock: ManualClock) -> None:
    feed_id = api.submit(FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]})
    clock.advance(80)
    result = api.feed(feed_id)["resultFeedDocumentId"]
    response = api.call("GET", f"{FEEDS}/documents/{result}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"feedDocumentId", "url", "compressionAlgorithm"}
    assert body["compressionAlgorithm"] == "GZIP"
    assert body["feedDocumentId"] == result


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 404), ({"enableContentEncodingUrlHeader": "maybe"}, 400)],
)
def test_get_feed_document_errors(api: SimulatorSession, params: dict, status: int) -> None:
    response = api.call("GET", f"{FEEDS}/documents/amzn1.tortuga.4.na.nothing", params=params)
    assert response.status_code == status
    assert "x-amzn-RateLimit-Limit" in response.headers


def test_unknown_paths_are_404(api: SimulatorSession) -> None:
    response = api.call("GET", "/feeds/2020-09-04/feeds")
    assert response.status_code == 404
    assert error_of(response) == {"code": "NotFound", "message": "Resource not found"}


# -- rate limits -------------------------------------------------------------------------------


def test_rate_limit_answers_429_without_the_rate_header_and_refills(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    document = api.create_document()
    path = f"{FEEDS}/documents/{document['feedDocumentId']}"
    statuses = [api.call("GET", path).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    throttled = api.call("GET", path)
    assert throttled.status_code == 429
    assert error_of(throttled) == {
        "code": "QuotaExceeded",
        "message": "You exceeded your quota for the requested resource.",
    }
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert throttled.headers["x-amzn-RequestId"]
    clock.advance(1 / 0.0222 + 0.01)
    assert api.call("GET", path).status_code == 200
    assert api.call("GET", path).status_code == 429
    logged = [e["status"] for e in sim.request_log() if e["operation"] == "getFeedDocument"]
    assert logged.count(429) == 3


def test_speed_scales_rate_limit_refills(clock: ManualClock) -> None:
    with Simulator(SimulatorConfig(speed=10), clock=clock) as sim:
        api = SimulatorSession(sim)
        document = api.create_document()
        path = f"{FEEDS}/documents/{document['feedDocumentId']}"
        assert [api.call("GET", path).status_code for _ in range(11)][-1] == 429
        clock.advance(1 / 0.222 + 0.01)
        response = api.call("GET", path)
        assert response.status_code == 200
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.222"


def test_listings_feed_budget_is_five_per_five_minutes(
    api: SimulatorSession, clock: ManualClock
) -> None:
    feed = FEED | {"messages": [_patch(1, "FK-MUG-WHITE")]}
    for _ in range(5):
        api.submit(feed)
    with pytest.raises(requests.HTTPError) as raised:
        api.submit(feed)
    assert raised.value.response.status_code == 429
    assert "x-amzn-RateLimit-Limit" not in raised.value.response.headers
    clock.advance(60)
    api.login()
    assert api.submit(feed).isdigit()


def _patch(message_id: int, sku: str, market: str = US, currency: str = "USD") -> dict:
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": market,
                        "currency": currency,
                        "audience": "ALL",
                        "our_price": [{"schedule": [{"value_with_tax": 12.0}]}],
                    }
                ],
            }
        ],
    }


def test_simulator_read_endpoints_show_listings(sim: Simulator) -> None:
    listing = requests.get(
        f"{sim.endpoint}/_simulator/listings/{LOCAL_SELLER_ID}/FK-TEE-RED-S", timeout=5
    )
    assert listing.status_code == 200
    body = listing.json()
    assert body["sellerId"] == LOCAL_SELLER_ID
    assert body["sku"] == "FK-TEE-RED-S"
    assert {
        "marketplaceId": US,
        "offerType": "B2C",
        "audience": {"value": "ALL"},
        "price": {"currencyCode": "USD", "amount": "19.99"},
    } in body["offers"]
    missing = requests.get(f"{sim.endpoint}/_simulator/listings/{LOCAL_SELLER_ID}/NOPE", timeout=5)
    assert missing.status_code == 404
    everything = requests.get(f"{sim.endpoint}/_simulator/listings", timeout=5).json()
    assert "FK-TEE-RED-S" in everything["sellers"][LOCAL_SELLER_ID]
    seller = requests.get(f"{sim.endpoint}/_simulator/listings/{LOCAL_SELLER_ID}", timeout=5)
    assert len(seller.json()["listings"]) == 44
    assert json.dumps(seller.json()).count("FK-TEE-RED-S") >= 1


# -- faithful to the model ---------------------------------------------------------------------

MODEL = Path(__file__).resolve().parents[1] / "schemas" / "amazon" / "feeds_2021-06-30.json"


@pytest.mark.skipif(
    not MODEL.is_file(), reason="the shared reference models are not beside the repo"
)
def test_routes_and_usage_plans_match_the_feeds_model() -> None:
    model = json.loads(MODEL.read_text("utf-8"))
    declared = {}
    for path, operations in model["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            plan = re.search(r"\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|", operation["description"])
            declared[operation["operationId"]] = (method.upper(), path, plan.groups())
    routes = {name: (method, pattern) for method, pattern, name in ROUTES}
    for name, (method, path, (rate, burst)) in declared.items():
        assert routes[name][0] == method
        concrete = re.sub(r"\{[^}]+\}", "X123", path)
        assert routes[name][1].match(concrete), (name, path)
        assert USAGE_PLANS[name] == UsagePlan(float(rate), int(burst)), name


def test_no_secret_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Simulator(SimulatorConfig(seed=1), clock=ManualClock()) as sim:
        api = SimulatorSession(sim)
        document = api.create_document()
        signature = parse_qs(urlsplit(document["url"]).query)["X-Amz-Signature"][0]
        requests.put(document["url"], data=b"{}", headers={"Content-Type": "wrong"}, timeout=5)
        requests.get(document["url"] + "&broken=%ZZ", timeout=5)
        # a malformed request line makes http.server log it, query string included
        host, port = urlsplit(sim.endpoint).hostname, urlsplit(sim.endpoint).port
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.sendall(f"GET /s3/x?X-Amz-Signature={signature} x HTTP/1.1\r\n\r\n".encode())
            raw.recv(1024)
        # urllib3, on the client side, logs whole URLs itself; only our records count here.
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("feeds_kit")]
        text = "\n".join(ours) + json.dumps(sim.request_log())
    assert "/s3/NinetyDays/" in text
    assert "Bad request syntax" in text
    for secret in (api.token, signature, LOCAL_CLIENT_SECRET, LOCAL_REFRESH_TOKEN):
        assert secret not in text


def test_serve_forever_runs_in_the_foreground_until_stopped() -> None:
    sim = Simulator(SimulatorConfig(seed=1))
    ready = threading.Event()
    thread = threading.Thread(
        target=sim.serve_forever, kwargs={"ready": lambda s: ready.set()}, daemon=True
    )
    thread.start()
    assert ready.wait(5)
    assert sim.lwa_endpoint == sim.endpoint + "/auth/o2/token"
    assert token_request(sim).status_code == 200
    sim.stop()
    thread.join(5)
    assert not thread.is_alive()


SANDBOX = (
    Path(__file__).resolve().parent / "data" / "amazon" / "feeds_2021-06-30.sandbox-static.json"
)
_METHODS = {
    "getFeeds": "GET",
    "createFeed": "POST",
    "cancelFeed": "DELETE",
    "getFeed": "GET",
    "createFeedDocument": "POST",
    "getFeedDocument": "GET",
}


def _sandbox_400_cases() -> list:
    if not SANDBOX.is_file():
        return []
    entries = json.loads(SANDBOX.read_text("utf-8"))["operations"]
    return [pytest.param(e, id=e["operationId"]) for e in entries if e["status"] == 400]


@pytest.mark.skipif(
    not SANDBOX.is_file(), reason="the shared reference models are not beside the repo"
)
@pytest.mark.parametrize("case", _sandbox_400_cases())
def test_amazons_static_sandbox_bad_requests_are_refused(api: SimulatorSession, case: dict) -> None:
    params = {k: v["value"] for k, v in case["request"]["parameters"].items()}
    path = case["path"]
    for name in ("feedId", "feedDocumentId"):
        if name in params:
            path = path.replace("{" + name + "}", params.pop(name))
    body = params.pop("body", None)
    query = {k: ",".join(v) if isinstance(v, list) else v for k, v in params.items()}
    response = api.call(_METHODS[case["operationId"]], path, params=query, json=body)
    # Amazon's static sandbox answers 400 to each; the simulator has no id formats to check, so
    # an unknown document id is the model's 404 "The specified resource does not exist".
    expected = 404 if case["operationId"] == "getFeedDocument" else 400
    assert response.status_code == expected
    assert response.json()["errors"][0]["code"] == (
        "NotFound" if expected == 404 else "InvalidInput"
    )
