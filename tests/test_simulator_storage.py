"""Presigned document URLs behave like S3: exact content type, expiry, signatures, encodings."""

from __future__ import annotations

import gzip
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from feeds_kit.simulator import LOCAL_SELLER_ID, Simulator, SimulatorConfig
from feeds_kit.simulator.testing import FEEDS, ManualClock, SimulatorSession

CONTENT_TYPE = "application/json; charset=UTF-8"
FEED = {
    "header": {"sellerId": LOCAL_SELLER_ID, "version": "2.0"},
    "messages": [{"messageId": 1, "sku": "FK-KEYRING", "operationType": "DELETE"}],
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock):
    with Simulator(SimulatorConfig(seed=11), clock=clock) as simulator:
        yield simulator


@pytest.fixture
def api(sim: Simulator) -> SimulatorSession:
    return SimulatorSession(sim)


def s3_error(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def test_upload_needs_no_sp_api_headers_and_answers_an_etag(
    sim: Simulator, api: SimulatorSession
) -> None:
    document = api.create_document(CONTENT_TYPE)
    response = requests.put(
        document["url"], data=b'{"a": 1}', headers={"Content-Type": CONTENT_TYPE}, timeout=5
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["ETag"] == '"' + hashlib.md5(b'{"a": 1}').hexdigest() + '"'
    assert sim.documents.get(document["feedDocumentId"]).content == b'{"a": 1}'


@pytest.mark.parametrize(
    "sent",
    [
        "application/json",
        "application/json;charset=UTF-8",
        "application/json; charset=utf-8",
        None,
    ],
)
def test_upload_content_type_must_be_byte_identical(
    sim: Simulator, api: SimulatorSession, sent: str | None
) -> None:
    document = api.create_document(CONTENT_TYPE)
    headers = {"Content-Type": sent} if sent else {}
    response = requests.put(document["url"], data=b"{}", headers=headers, timeout=5)
    assert response.status_code == 403
    error = s3_error(response)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["Message"] == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    signature = parse_qs(urlsplit(document["url"]).query)["X-Amz-Signature"][0]
    assert signature not in response.text
    assert sim.documents.get(document["feedDocumentId"]).content is None


def test_upload_after_300_seconds_has_expired(api: SimulatorSession, clock: ManualClock) -> None:
    document = api.create_document(CONTENT_TYPE)
    clock.advance(300)
    ok = requests.put(
        document["url"], data=b"{}", headers={"Content-Type": CONTENT_TYPE}, timeout=5
    )
    assert ok.status_code == 200
    clock.advance(1)
    late = requests.put(
        document["url"], data=b"{}", headers={"Content-Type": CONTENT_TYPE}, timeout=5
    )
    assert late.status_code == 403
    error = s3_error(late)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "Request has expired"
    assert error["X-Amz-Expires"] == "300"
    assert error["Expires"] == "2026-01-01T00:05:00Z"
    assert error["ServerTime"] == "2026-01-01T00:05:01Z"


def test_url_lifetime_is_configurable(clock: ManualClock) -> None:
    with Simulator(SimulatorConfig(url_lifetime=60, speed=100), clock=clock) as sim:
        document = SimulatorSession(sim).create_document(CONTENT_TYPE)
        assert "X-Amz-Expires=60" in document["url"]
        clock.advance(61)  # not scaled by speed
        late = requests.put(
            document["url"], data=b"{}", headers={"Content-Type": CONTENT_TYPE}, timeout=5
        )
        assert s3_error(late)["Message"] == "Request has expired"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda q: q.update({"X-Amz-Signature": "0" * 64}), "SignatureDoesNotMatch"),
        (lambda q: q.update({"X-Amz-Expires": "3600"}), "SignatureDoesNotMatch"),
        (lambda q: q.pop("X-Amz-Signature"), "AccessDenied"),
    ],
)
def test_tampered_urls_are_refused(api: SimulatorSession, change, code: str) -> None:
    document = api.create_document(CONTENT_TYPE)
    split = urlsplit(document["url"])
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    change(query)
    base = f"{split.scheme}://{split.netloc}{split.path}"
    response = requests.put(
        base, params=query, data=b"{}", headers={"Content-Type": CONTENT_TYPE}, timeout=5
    )
    assert response.status_code == 403
    assert s3_error(response)["Code"] == code


def test_upload_url_cannot_be_used_to_download(api: SimulatorSession) -> None:
    document = api.create_document(CONTENT_TYPE)
    requests.put(document["url"], data=b"{}", headers={"Content-Type": CONTENT_TYPE}, timeout=5)
    response = requests.get(document["url"], timeout=5)
    assert response.status_code == 403
    assert s3_error(response)["Code"] == "SignatureDoesNotMatch"


def _report_document(api: SimulatorSession, clock: ManualClock, **params: str) -> dict:
    feed_id = api.submit(FEED)
    feed = api.wait(feed_id, clock=clock)
    response = api.call("GET", f"{FEEDS}/documents/{feed['resultFeedDocumentId']}", params=params)
    assert response.status_code == 200
    return response.json()


def test_report_download_is_gzip_with_identity_encoding_by_default(
    api: SimulatorSession, clock: ManualClock
) -> None:
    document = _report_document(api, clock)
    raw = requests.get(document["url"], timeout=5, stream=True)
    assert raw.headers["Content-Encoding"] == "identity"
    assert raw.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = raw.raw.read()
    assert body[:2] == b"\x1f\x8b"
    report = json.loads(gzip.decompress(body))
    assert report["summary"]["messagesAccepted"] == 1


def test_report_download_says_gzip_when_asked(api: SimulatorSession, clock: ManualClock) -> None:
    document = _report_document(api, clock, enableContentEncodingUrlHeader="true")
    assert "response-content-encoding=gzip" in document["url"]
    response = requests.get(document["url"], timeout=5)
    assert response.headers["Content-Encoding"] == "gzip"
    # requests decodes Content-Encoding itself: the body arrives as plain JSON.
    assert response.json()["header"]["version"] == "2.0"


def test_download_url_expires_too(api: SimulatorSession, clock: ManualClock) -> None:
    document = _report_document(api, clock)
    clock.advance(301)
    response = requests.get(document["url"], timeout=5)
    assert response.status_code == 403
    assert s3_error(response)["Message"] == "Request has expired"


def test_input_documents_can_be_read_back_uncompressed(api: SimulatorSession) -> None:
    document = api.create_document(CONTENT_TYPE)
    requests.put(
        document["url"], data=b'{"x":1}', headers={"Content-Type": CONTENT_TYPE}, timeout=5
    )
    info = api.call("GET", f"{FEEDS}/documents/{document['feedDocumentId']}").json()
    assert "compressionAlgorithm" not in info
    download = requests.get(info["url"], timeout=5)
    assert download.content == b'{"x":1}'
    assert download.headers["Content-Type"] == CONTENT_TYPE
