"""A third-party SP-API client (python-amazon-sp-api) completes the whole feed flow.

createFeedDocument → upload → createFeed → getFeed → getFeedDocument → download, with the
client's endpoint and its LWA URL pointed at a simulator serving on loopback.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from feeds_kit.simulator import (
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    LOCAL_SELLER_ID,
    Simulator,
    SimulatorConfig,
)

sp_api = pytest.importorskip("sp_api", reason="python-amazon-sp-api is a test-only dependency")

from sp_api.api import Feeds  # noqa: E402
from sp_api.auth import AccessTokenClient, access_token_client  # noqa: E402
from sp_api.base import Marketplaces  # noqa: E402


@pytest.fixture
def sim():
    with Simulator(SimulatorConfig(speed=2000, seed=9)) as simulator:
        yield simulator


def feeds_client(sim: Simulator) -> Feeds:
    host = sim.lwa_endpoint.split("://", 1)[1].split("/", 1)[0]

    class LocalTokenClient(AccessTokenClient):
        # The library builds its LWA URL from these class attributes.
        scheme = "http://"

    LocalTokenClient.host = host
    # The library caches tokens per refresh token across clients; a token of an earlier
    # simulator would be unknown to this one.
    access_token_client.cache.clear()
    client = Feeds(
        marketplace=Marketplaces.US,
        credentials={
            "refresh_token": LOCAL_REFRESH_TOKEN,
            "lwa_app_id": LOCAL_CLIENT_ID,
            "lwa_client_secret": LOCAL_CLIENT_SECRET,
        },
        auth_token_client_class=LocalTokenClient,
    )
    client.endpoint = sim.endpoint
    return client


def test_python_amazon_sp_api_completes_the_feed_flow(sim: Simulator) -> None:
    client = feeds_client(sim)
    document = {
        "header": {"sellerId": LOCAL_SELLER_ID, "version": "2.0"},
        "messages": [
            {
                "messageId": 1,
                "sku": "FK-TEE-BLUE-M",
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "merge",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
                    }
                ],
            },
            {
                "messageId": 2,
                "sku": "FK-NOT-IN-CATALOGUE",
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "merge",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
                    }
                ],
            },
        ],
    }
    created = client.create_feed_document(
        io.StringIO(json.dumps(document)), content_type="application/json; charset=UTF-8"
    )
    feed_id = client.create_feed("JSON_LISTINGS_FEED", created.payload["feedDocumentId"]).payload[
        "feedId"
    ]
    deadline = time.monotonic() + 10
    while True:
        feed = client.get_feed(feed_id).payload
        if feed["processingStatus"] in {"DONE", "FATAL"} or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert feed["processingStatus"] == "DONE"
    report = json.loads(client.get_feed_document(feed["resultFeedDocumentId"]))
    assert report["summary"] == {
        "errors": 1,
        "warnings": 0,
        "messagesProcessed": 2,
        "messagesAccepted": 1,
        "messagesInvalid": 1,
    }
    assert report["issues"][0]["sku"] == "FK-NOT-IN-CATALOGUE"
    listing = sim.listing(LOCAL_SELLER_ID, "FK-TEE-BLUE-M")
    assert listing is not None
    assert listing["fulfillmentAvailability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 3}
    ]
    operations = [e["operation"] for e in sim.request_log()]
    assert operations[:4] == ["token", "createFeedDocument", "upload", "createFeed"]
    assert operations[-2:] == ["getFeedDocument", "download"]
