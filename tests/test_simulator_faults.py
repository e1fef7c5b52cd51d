"""The --faults language and each fault's behaviour over loopback HTTP."""

from __future__ import annotations

import gzip
import http.client
import json
import random
import zlib
from urllib.parse import urlsplit

import pytest
import requests

from feeds_kit.simulator import (
    LOCAL_SELLER_ID,
    FaultPlan,
    FaultRule,
    Simulator,
    SimulatorConfig,
    parse_faults,
)
from feeds_kit.simulator.faults import FaultInjector
from feeds_kit.simulator.testing import FEEDS, US, ManualClock, SimulatorSession

FEED = {
    "header": {"sellerId": LOCAL_SELLER_ID, "version": "2.0"},
    "messages": [
        {
            "messageId": 1,
            "sku": "FK-MUG-WHITE",
            "operationType": "PATCH",
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "merge",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}],
                }
            ],
        },
        {"messageId": 2, "sku": "FK-SÜß-€", "operationType": "DELETE"},
    ],
}


# -- the language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "rules"),
    [
        ("getFeed:throttle*5", [FaultRule("getFeed", "throttle", count=5)]),
        ("createFeed:drop-after", [FaultRule("createFeed", "drop-after")]),
        ("createfeed:DROP", [FaultRule("createFeed", "drop-before")]),
        ("*:503*inf~0.25@2", [FaultRule("*", "503", None, None, 0.25, 2)]),
        ("getFeeds:500~30%", [FaultRule("getFeeds", "500", probability=0.3)]),
        ("token:expire-early=5", [FaultRule("token", "expire-early", "5")]),
        (
            "feed:fatal=no-report, report:cp1252",
            [FaultRule("feed", "fatal", "no-report"), FaultRule("report", "windows-1252")],
        ),
        (
            "upload:expire*1,report:double-gzip,",
            [FaultRule("upload", "expire"), FaultRule("report", "double-gzip")],
        ),
        ("", []),
    ],
)
def test_parse_faults(spec: str, rules: list[FaultRule]) -> None:
    plan = parse_faults(spec)
    assert plan == FaultPlan(tuple(rules))
    assert parse_faults(str(plan)) == plan


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "getFeedz:throttle",
            'unknown fault scope "getFeedz" in "getFeedz:throttle": use one of '
            "*, getFeeds, createFeed, getFeed, cancelFeed, createFeedDocument, getFeedDocument, "
            "getDefinitionsProductType, searchDefinitionsProductTypes, token, upload, download, "
            "feed, report.",
        ),
        (
            "getFeed:stuck",
            'fault action "stuck" in "getFeed:stuck" does not apply to getFeed: '
            "use one of 500, 503, delay, drop-after, drop-before, throttle.",
        ),
        (
            "getFeed",
            'fault rule "getFeed" is not SCOPE:ACTION[=ARG][*COUNT][~PROBABILITY][@AFTER]: '
            'write e.g. "getFeed:throttle*5".',
        ),
        (
            "getFeed:throttle*0",
            '*COUNT "0" in "getFeed:throttle*0" is not a whole number of 1 or more.',
        ),
        (
            "getFeed:throttle~2",
            '~PROBABILITY "2" in "getFeed:throttle~2" is not between 0 and 1: '
            "write e.g. ~0.3 or ~30%.",
        ),
        (
            "getFeed:throttle=3",
            'fault action "throttle" in "getFeed:throttle=3" takes no "=3": remove it.',
        ),
        (
            "token:expire-early=soon",
            '"soon" in "token:expire-early=soon" is not allowed: write a '
            "number of seconds of 0 or more (default 0).",
        ),
    ],
)
def test_parse_faults_errors_are_one_sentence(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_faults(spec)
    assert str(raised.value) == message


def test_injector_counts_skips_and_is_deterministic() -> None:
    plan = parse_faults("getFeed:throttle*2@1,getFeed:500,*:503*inf~0.5")
    first = FaultInjector(plan, random.Random(1))
    fired = [getattr(first.draw("getFeed"), "action", None) for _ in range(6)]
    # event 1 is let through by @1, so the 500 takes it; then the two throttles
    assert fired[:3] == ["500", "throttle", "throttle"]
    assert set(fired[3:]) <= {None, "503"}
    again = FaultInjector(plan, random.Random(1))
    assert [getattr(again.draw("getFeed"), "action", None) for _ in range(6)] == fired
    assert first.draw("feed") is None
    assert first.remaining()[:2] == [("getFeed:throttle*2@1", 0), ("getFeed:500", 0)]


# -- behaviour over HTTP -----------------------------------------------------------------------


def make(spec: str, clock: ManualClock, **config) -> Simulator:
    return Simulator(SimulatorConfig(faults=parse_faults(spec), seed=3, **config), clock=clock)


def ops(sim: Simulator, operation: str) -> list:
    return [(e["status"], e["fault"]) for e in sim.request_log() if e["operation"] == operation]


def test_throttling_storm_answers_429_for_the_next_n_calls() -> None:
    clock = ManualClock()
    with make("getFeed:throttle*3", clock) as sim:
        api = SimulatorSession(sim)
        feed_id = api.submit(FEED)
        responses = [api.call("GET", f"{FEEDS}/feeds/{feed_id}") for _ in range(4)]
        assert [r.status_code for r in responses] == [429, 429, 429, 200]
        assert "x-amzn-RateLimit-Limit" not in responses[0].headers
        assert responses[0].json()["errors"][0]["code"] == "QuotaExceeded"
        assert [s for s, _ in ops(sim, "getFeed")] == [429, 429, 429, 200]


@pytest.mark.parametrize(
    ("status", "code"), [("500", "InternalFailure"), ("503", "ServiceUnavailable")]
)
def test_server_errors(status: str, code: str) -> None:
    clock = ManualClock()
    with make(f"createFeedDocument:{status}", clock) as sim:
        api = SimulatorSession(sim)
        first = api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"})
        assert first.status_code == int(status)
        assert first.json()["errors"][0]["code"] == code
        assert "x-amzn-RateLimit-Limit" not in first.headers
        assert first.headers["x-amzn-RequestId"]
        assert api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"}).status_code == 201


def _create_feed(api: SimulatorSession) -> requests.Response:
    document = api.create_document()
    requests.put(
        document["url"],
        data=json.dumps(FEED).encode(),
        headers={"Content-Type": "application/json; charset=UTF-8"},
        timeout=5,
    )
    return api.call(
        "POST",
        f"{FEEDS}/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )


@pytest.mark.parametrize(("action", "created"), [("drop-before", 0), ("drop-after", 1)])
def test_dropped_connection_before_or_after_create_feed_took_effect(
    action: str, created: int
) -> None:
    clock = ManualClock()
    with make(f"createFeed:{action}", clock) as sim:
        api = SimulatorSession(sim)
        with pytest.raises(requests.ConnectionError):
            _create_feed(api)
        listed = api.call("GET", f"{FEEDS}/feeds", params={"feedTypes": "JSON_LISTINGS_FEED"})
        assert len(listed.json()["feeds"]) == created
        assert ops(sim, "createFeed") == [(None, f"createFeed:{action}")]
        assert _create_feed(api).status_code == 202


def test_stuck_feed_never_leaves_in_progress_and_does_not_block_the_next() -> None:
    clock = ManualClock()
    with make("feed:stuck", clock) as sim:
        api = SimulatorSession(sim)
        stuck = _create_feed(api).json()["feedId"]
        normal = _create_feed(api).json()["feedId"]
        clock.advance(1_000)
        assert api.feed(stuck)["processingStatus"] == "IN_PROGRESS"
        assert api.feed(normal)["processingStatus"] == "DONE"


@pytest.mark.parametrize("arg", ["", "=no-report"])
def test_fatal_feed(arg: str) -> None:
    clock = ManualClock()
    with make(f"feed:fatal{arg}", clock) as sim:
        api = SimulatorSession(sim)
        feed_id = _create_feed(api).json()["feedId"]
        done = api.wait(feed_id, clock=clock)
        assert done["processingStatus"] == "FATAL"
        assert (
            sim.listing(LOCAL_SELLER_ID, "FK-MUG-WHITE")["fulfillmentAvailability"][0]["quantity"]
            == 120
        )
        if arg:
            assert "resultFeedDocumentId" not in done
        else:
            assert api.report(feed_id)["issues"][0]["code"] == "90001"


def test_upload_url_expired_on_purpose() -> None:
    clock = ManualClock()
    with make("upload:expire", clock) as sim:
        api = SimulatorSession(sim)
        document = api.create_document("text/plain")
        first = requests.put(
            document["url"], data=b"x", headers={"Content-Type": "text/plain"}, timeout=5
        )
        assert first.status_code == 403
        assert b"<Message>Request has expired</Message>" in first.content
        again = requests.put(
            document["url"], data=b"x", headers={"Content-Type": "text/plain"}, timeout=5
        )
        assert again.status_code == 200


def _report_url(api: SimulatorSession, clock: ManualClock) -> tuple[str, dict]:
    feed_id = _create_feed(api).json()["feedId"]
    done = api.wait(feed_id, clock=clock)
    info = api.call("GET", f"{FEEDS}/documents/{done['resultFeedDocumentId']}").json()
    return info["url"], info


def _raw_get(url: str) -> tuple[http.client.HTTPResponse, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    try:
        body = response.read()
    except http.client.IncompleteRead as exc:
        body = exc.partial
    connection.close()
    return response, body


def test_report_served_with_content_encoding_gzip_on_top_of_gzip() -> None:
    clock = ManualClock()
    with make("report:double-gzip", clock) as sim:
        api = SimulatorSession(sim)
        url, info = _report_url(api, clock)
        assert info["compressionAlgorithm"] == "GZIP"
        response, body = _raw_get(url)
        assert response.getheader("Content-Encoding") == "gzip"
        report = json.loads(gzip.decompress(body))
        assert report["summary"]["messagesProcessed"] == 2
        # a client that lets HTTP decode the body gets JSON, not gzip
        assert requests.get(url, timeout=5).content.startswith(b"{")


def test_windows_1252_report() -> None:
    clock = ManualClock()
    with make("report:windows-1252", clock) as sim:
        api = SimulatorSession(sim)
        url, _ = _report_url(api, clock)
        response, body = _raw_get(url)
        assert response.getheader("Content-Type") == "application/json; charset=windows-1252"
        text = gzip.decompress(body)
        with pytest.raises(UnicodeDecodeError):
            text.decode("utf-8")
        assert "FK-SÜß-€" in text.decode("cp1252")


@pytest.mark.parametrize("action", ["truncate", "corrupt"])
def test_damaged_report(action: str) -> None:
    clock = ManualClock()
    with make(f"report:{action}", clock) as sim:
        api = SimulatorSession(sim)
        url, _ = _report_url(api, clock)
        _, body = _raw_get(url)
        with pytest.raises((EOFError, OSError, zlib.error)):
            gzip.decompress(body)


def test_download_cut_short() -> None:
    clock = ManualClock()
    with make("download:truncate=0.25", clock) as sim:
        api = SimulatorSession(sim)
        url, _ = _report_url(api, clock)
        response, body = _raw_get(url)
        assert int(response.getheader("Content-Length")) > len(body)
        _, whole = _raw_get(url)
        assert json.loads(gzip.decompress(whole))["header"]["version"] == "2.0"


def test_access_token_that_expires_early() -> None:
    clock = ManualClock()
    with make("token:expire-early=30", clock) as sim:
        api = SimulatorSession(sim)
        assert api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"}).status_code == 201
        clock.advance(31)
        expired = api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"})
        assert expired.status_code == 403
        assert (
            expired.json()["errors"][0]["details"] == "The access token you provided has expired."
        )
        api.login()
        clock.advance(31)
        assert api.call("POST", f"{FEEDS}/documents", json={"contentType": "x"}).status_code == 201


def test_token_endpoint_server_error() -> None:
    clock = ManualClock()
    with make("token:503", clock) as sim:
        with pytest.raises(requests.HTTPError):
            SimulatorSession(sim)
        assert ops(sim, "token")[0] == (503, "token:503")
        SimulatorSession(sim)


def test_probabilistic_faults_are_reproducible_with_a_seed() -> None:
    outcomes = []
    for _ in range(2):
        clock = ManualClock()
        with make("getFeeds:503*inf~0.5", clock) as sim:
            api = SimulatorSession(sim)
            outcomes.append(
                [
                    api.call("GET", f"{FEEDS}/feeds", params={"feedTypes": "X"}).status_code
                    for _ in range(8)
                ]
            )
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 503}
