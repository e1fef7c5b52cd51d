"""Feed processing: Amazon-only rules, the listings store, reports that match Amazon's schema."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from feeds_kit.resources import load_schema
from feeds_kit.simulator import LOCAL_SELLER_ID, Simulator, SimulatorConfig
from feeds_kit.simulator.listings import load_catalogue
from feeds_kit.simulator.testing import FEEDS, US, ManualClock, SimulatorSession

UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
REPORT_SCHEMA = load_schema("amazon", "listings-feed-processing-report-schema-v2.json")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock):
    with Simulator(SimulatorConfig(seed=5), clock=clock) as simulator:
        yield simulator


@pytest.fixture
def api(sim: Simulator) -> SimulatorSession:
    return SimulatorSession(sim)


def feed(*messages: dict[str, Any], seller: str = LOCAL_SELLER_ID, **header: Any) -> dict:
    return {"header": {"sellerId": seller, "version": "2.0", **header}, "messages": list(messages)}


def offer(
    message_id: int,
    sku: str,
    price: Any = 21.0,
    *,
    market: str = US,
    currency: str = "USD",
    op: str = "merge",
    **extra: Any,
) -> dict:
    value = {
        "marketplace_id": market,
        "currency": currency,
        "audience": "ALL",
        "our_price": [{"schedule": [{"value_with_tax": price}]}],
        **extra,
    }
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [{"op": op, "path": "/attributes/purchasable_offer", "value": [value]}],
    }


def stock(message_id: int, sku: str, quantity: Any, **extra: Any) -> dict:
    value = {"fulfillment_channel_code": "DEFAULT", "quantity": quantity, **extra}
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {"op": "merge", "path": "/attributes/fulfillment_availability", "value": [value]}
        ],
    }


def run(
    api: SimulatorSession, clock: ManualClock, document: dict | bytes, **submit: Any
) -> tuple[dict, dict | None]:
    feed_id = api.submit(document, **submit)
    done = api.wait(feed_id, clock=clock)
    report = api.report(feed_id) if "resultFeedDocumentId" in done else None
    if report is not None and "header" in report:
        jsonschema.Draft7Validator(REPORT_SCHEMA).validate(report)
    return done, report


def price_of(sim: Simulator, sku: str, market: str = US) -> str | None:
    listing = sim.listing(LOCAL_SELLER_ID, sku)
    assert listing is not None
    for entry in listing["offers"]:
        if entry["marketplaceId"] == market:
            return entry["price"]["amount"]
    return None


def test_accepted_changes_are_visible_in_the_store(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    done, report = run(
        api, clock, feed(offer(1, "FK-TEE-RED-S", 21.5), stock(2, "FK-MUG-WHITE", 7))
    )
    assert done["processingStatus"] == "DONE"
    assert report == {
        "header": {"sellerId": LOCAL_SELLER_ID, "version": "2.0", "feedId": done["feedId"]},
        "issues": [],
        "summary": {
            "errors": 0,
            "warnings": 0,
            "messagesProcessed": 2,
            "messagesAccepted": 2,
            "messagesInvalid": 0,
        },
    }
    assert price_of(sim, "FK-TEE-RED-S") == "21.5"
    assert price_of(sim, "FK-TEE-RED-S", UK) == "16.99"  # other marketplaces untouched
    availability = sim.listing(LOCAL_SELLER_ID, "FK-MUG-WHITE")["attributes"][
        "fulfillment_availability"
    ]
    # merge keeps the lead time the patch left out
    assert availability == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 7, "lead_time_to_ship_max_days": 1}
    ]


def test_changes_apply_only_when_the_feed_is_done(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    feed_id = api.submit(feed(offer(1, "FK-TEE-RED-S", 22.0)))
    clock.advance(79)
    assert price_of(sim, "FK-TEE-RED-S") == "19.99"
    clock.advance(1)
    assert price_of(sim, "FK-TEE-RED-S") == "22.0"
    assert api.feed(feed_id)["processingStatus"] == "DONE"


ERROR_CASES = [
    (
        stock(1, "FK-DOES-NOT-EXIST", 3),
        {
            "code": "90101",
            "message": "The SKU 'FK-DOES-NOT-EXIST' does not exist for this seller, "
            "so it cannot be updated; create it with an UPDATE message first.",
        },
    ),
    (
        offer(1, "FK-MUG-BLACK", 0),
        {
            "code": "90106",
            "attributeName": "purchasable_offer.our_price",
            "message": "The value '0' for 'purchasable_offer.our_price' must be greater than 0.",
        },
    ),
    (
        offer(1, "FK-MUG-BLACK", -5.5),
        {
            "code": "90106",
            "attributeName": "purchasable_offer.our_price",
            "message": "The value '-5.5' for 'purchasable_offer.our_price' must be greater than 0.",
        },
    ),
    (
        offer(
            1,
            "FK-MUG-BLACK",
            12.5,
            minimum_seller_allowed_price=[{"schedule": [{"value_with_tax": 0}]}],
        ),
        {
            "code": "90106",
            "attributeName": "purchasable_offer.minimum_seller_allowed_price",
            "message": "The value '0' for 'purchasable_offer.minimum_seller_allowed_price' must be "
            "greater than 0.",
        },
    ),
    (
        offer(1, "FK-MUG-BLACK", 12.5, currency="EUR"),
        {
            "code": "90105",
            "attributeName": "purchasable_offer.currency",
            "message": "The currency 'EUR' is not valid for marketplace ATVPDKIKX0DER; use USD.",
        },
    ),
    (
        stock(1, "FK-MUG-BLACK", -1),
        {
            "code": "90107",
            "attributeName": "fulfillment_availability.quantity",
            "message": "The value '-1' for 'fulfillment_availability.quantity' must be 0 or "
            "greater.",
        },
    ),
    (
        stock(1, "FK-MUG-BLACK", 2.5),
        {
            "code": "90107",
            "attributeName": "fulfillment_availability.quantity",
            "message": "The value '2.5' for 'fulfillment_availability.quantity' is not a whole "
            "number.",
        },
    ),
    (
        offer(1, "FK-MUG-BLACK", 12.5, market=DE, currency="EUR"),
        {
            "code": "90104",
            "attributeName": "purchasable_offer.marketplace_id",
            "message": "The marketplace 'A1PA6795UKMFR9' in 'purchasable_offer' is not one of the "
            "feed's marketplaceIds (ATVPDKIKX0DER).",
        },
    ),
    (
        {
            "messageId": 1,
            "sku": "FK-MUG-BLACK",
            "operationType": "PATCH",
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "merge",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"quantity": 4}],
                }
            ],
        },
        {
            "code": "90103",
            "attributeName": "fulfillment_availability.fulfillment_channel_code",
            "message": "The selector 'fulfillment_channel_code' is required to merge "
            "'fulfillment_availability'.",
        },
    ),
    (
        {
            "messageId": 1,
            "sku": "FK-MUG-BLACK",
            "operationType": "PATCH",
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/purchasable_offer/0/our_price",
                    "value": [{}],
                }
            ],
        },
        {
            "code": "90102",
            "message": "The patch path '/attributes/purchasable_offer/0/our_price' "
            "is not supported; use /attributes/<attribute name>.",
        },
    ),
    (
        {"messageId": 1, "sku": "FK-MUG-BLACK", "operationType": "PATCH"},
        {
            "code": "4002008",
            "message": "The provided message did not meet the schema validation "
            "requirements for a feed message ('productType' is a required property in PATCH "
            "messages).",
        },
    ),
    (
        {"messageId": 1, "sku": "FK-MUG-BLACK", "operationType": "DELETE", "productType": "X"},
        {
            "code": "4002008",
            "message": "The provided message did not meet the schema validation "
            "requirements for a feed message ('productType' is not allowed in DELETE messages).",
        },
    ),
    (
        {
            "messageId": 1,
            "sku": "FK-NOPE",
            "operationType": "PARTIAL_UPDATE",
            "productType": "SHIRT",
            "attributes": {"item_name": [{"value": "x"}]},
        },
        {
            "code": "90101",
            "message": "The SKU 'FK-NOPE' does not exist for this seller, so it "
            "cannot be updated; create it with an UPDATE message first.",
        },
    ),
]


@pytest.mark.parametrize(("message", "expected"), ERROR_CASES)
def test_amazon_only_rules_reject_the_message(
    sim: Simulator, api: SimulatorSession, clock: ManualClock, message: dict, expected: dict
) -> None:
    before = sim.listing(LOCAL_SELLER_ID, "FK-MUG-BLACK")
    done, report = run(api, clock, feed(message))
    assert done["processingStatus"] == "DONE"
    assert report["issues"] == [
        {"messageId": 1, "sku": message["sku"], "severity": "ERROR", **expected}
    ]
    assert report["summary"] == {
        "errors": 1,
        "warnings": 0,
        "messagesProcessed": 1,
        "messagesAccepted": 0,
        "messagesInvalid": 1,
    }
    assert sim.listing(LOCAL_SELLER_ID, "FK-MUG-BLACK") == before


def test_a_big_price_change_is_accepted_with_a_warning(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    _done, report = run(
        api, clock, feed(offer(1, "FK-MUG-WHITE", 30), offer(2, "FK-MUG-BLACK", 13))
    )
    assert report["issues"] == [
        {
            "messageId": 1,
            "sku": "FK-MUG-WHITE",
            "code": "90108",
            "severity": "WARNING",
            "message": "The price 30 for 'purchasable_offer.our_price' in marketplace "
            "ATVPDKIKX0DER differs by more than 50% from the current price 12.5; check that it "
            "is intended.",
            "attributeName": "purchasable_offer.our_price",
        },
    ]
    assert report["summary"]["messagesAccepted"] == 2
    assert report["summary"]["warnings"] == 1
    assert price_of(sim, "FK-MUG-WHITE") == "30.0"


def test_a_mixed_feed_reports_each_message(api: SimulatorSession, clock: ManualClock) -> None:
    _done, report = run(
        api,
        clock,
        feed(
            offer(1, "FK-TEE-RED-S", 20.0),
            offer(2, "FK-UNKNOWN", 20.0),
            stock(3, "FK-CAP-RED", -3),
            stock(4, "FK-CAP-BLUE", 10),
            offer(4, "FK-CAP-BLUE", 17.5),
        ),
    )
    assert [(i.get("messageId"), i["code"]) for i in report["issues"]] == [
        (2, "90101"),
        (3, "90107"),
        (4, "4002009"),
    ]
    assert report["summary"] == {
        "errors": 3,
        "warnings": 0,
        "messagesProcessed": 5,
        "messagesAccepted": 2,
        "messagesInvalid": 3,
    }


def test_update_creates_and_delete_removes(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    attributes = {
        "item_name": [{"value": "New thing", "language_tag": "en_US", "marketplace_id": US}],
        "purchasable_offer": [
            {
                "marketplace_id": US,
                "currency": "USD",
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": 9.99}]}],
            }
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
    }
    _done, report = run(
        api,
        clock,
        feed(
            {
                "messageId": 1,
                "sku": "FK-NEW-1",
                "operationType": "UPDATE",
                "productType": "SHIRT",
                "requirements": "LISTING_OFFER_ONLY",
                "attributes": attributes,
            },
            {"messageId": 2, "sku": "FK-KEYRING", "operationType": "DELETE"},
            {
                "messageId": 3,
                "sku": "FK-PEN-SET",
                "operationType": "PARTIAL_UPDATE",
                "productType": "PRODUCT",
                "attributes": {
                    "fulfillment_availability": [
                        {"fulfillment_channel_code": "DEFAULT", "quantity": 1}
                    ]
                },
            },
        ),
    )
    assert report["summary"]["messagesAccepted"] == 3
    created = sim.listing(LOCAL_SELLER_ID, "FK-NEW-1")
    assert created["productType"] == "SHIRT"
    assert created["attributes"] == attributes
    assert sim.listing(LOCAL_SELLER_ID, "FK-KEYRING") is None
    # PARTIAL_UPDATE replaces the attribute: the lead time is gone
    assert sim.listing(LOCAL_SELLER_ID, "FK-PEN-SET")["attributes"]["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 1}
    ]


def test_patch_replace_and_delete_are_per_marketplace(
    sim: Simulator, api: SimulatorSession, clock: ManualClock
) -> None:
    replace = offer(1, "FK-TEE-RED-S", 15.0, market=UK, currency="GBP", op="replace")
    delete = {
        "messageId": 2,
        "sku": "FK-TEE-RED-S",
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "delete",
                "path": "/attributes/purchasable_offer",
                "value": [{"marketplace_id": DE, "currency": "EUR"}],
            }
        ],
    }
    _done, report = run(api, clock, feed(replace, delete), marketplace_ids=[UK, DE])
    assert report["issues"] == []
    offers = sim.listing(LOCAL_SELLER_ID, "FK-TEE-RED-S")["offers"]
    assert [(o["marketplaceId"], o["price"]["amount"]) for o in offers] == [
        (US, "19.99"),
        (UK, "15.0"),
    ]


def test_included_data_adds_items_to_the_report(api: SimulatorSession, clock: ManualClock) -> None:
    header = {
        "report": {
            "includedData": ["offers", "fulfillmentAvailability"],
            "apiVersion": "2021-08-01",
        }
    }
    _done, report = run(api, clock, feed(stock(1, "FK-MUG-WHITE", 3), **header))
    assert report["header"]["report"] == header["report"]
    assert report["summary"]["itemSummary"] == {"items": 1, "errors": 0, "warnings": 0}
    item = report["items"][0]
    assert item["sku"] == "FK-MUG-WHITE"
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}]
    assert {o["marketplaceId"] for o in item["offers"]} == {US, UK, DE}


@pytest.mark.parametrize(
    ("document", "code", "message"),
    [
        (
            b'{"header": ',
            "4000001",
            "The feed document could not be parsed as JSON: Expecting value at line 1, column 12.",
        ),
        (b"\xff\xfe{}", "4000001", None),
        (
            json.dumps(
                feed(stock(1, "FK-MUG-WHITE", 1))
                | {"header": {"sellerId": LOCAL_SELLER_ID, "version": "1.0"}}
            ).encode(),
            "4002006",
            "attribute 'header.version' does not meet the feed schema: '2.0' was expected.",
        ),
        (
            json.dumps(feed()).encode(),
            "4002006",
            "attribute 'messages' does not meet the feed schema: [] should be non-empty.",
        ),
        (
            json.dumps(feed(stock(1, "FK-MUG-WHITE", 1), seller="A9SOMEONEELSE")).encode(),
            "4002007",
            "The sellerId 'A9SOMEONEELSE' in the feed header does not match the selling "
            "partner 'A2FEEDSKITLOCAL' that submitted the feed.",
        ),
    ],
)
def test_feed_level_problems_end_fatal_without_message_ids(
    api: SimulatorSession, clock: ManualClock, document: bytes, code: str, message: str | None
) -> None:
    done, report = run(api, clock, document)
    assert done["processingStatus"] == "FATAL"
    assert len(report["issues"]) == 1
    issue = report["issues"][0]
    assert "messageId" not in issue
    assert issue["code"] == code and issue["severity"] == "ERROR"
    if message is not None:
        assert issue["message"] == message
    assert report["summary"]["messagesProcessed"] == 0


def test_a_feed_never_uploaded_ends_fatal(api: SimulatorSession, clock: ManualClock) -> None:
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
    done = api.wait(response.json()["feedId"], clock=clock)
    assert done["processingStatus"] == "FATAL"
    report = api.report(done["feedId"])
    assert report["issues"][0]["code"] == "90002"


@pytest.mark.parametrize(
    ("feed_type", "content_type", "marker"),
    [
        (
            "POST_PRODUCT_PRICING_DATA",
            "text/xml; charset=UTF-8",
            b"<ResultMessageCode>90003</ResultMessageCode>",
        ),
        (
            "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
            "text/tab-separated-values; charset=UTF-8",
            b"0\t\t90003\tFatal\tThe feed type",
        ),
    ],
)
def test_retired_feed_types_end_fatal_with_a_report(
    api: SimulatorSession, clock: ManualClock, feed_type: str, content_type: str, marker: bytes
) -> None:
    feed_id = api.submit(b"sku\tprice\n", feed_type=feed_type, content_type="text/plain")
    done = api.wait(feed_id, clock=clock)
    assert done["processingStatus"] == "FATAL"
    info = api.call("GET", f"{FEEDS}/documents/{done['resultFeedDocumentId']}").json()
    assert "compressionAlgorithm" not in info
    download = requests.get(info["url"], timeout=5)
    assert download.headers["Content-Type"] == content_type
    assert marker in download.content
    assert f"{feed_type} is no longer supported".encode() in download.content


def test_feeds_of_a_seller_are_processed_in_order(
    api: SimulatorSession, clock: ManualClock
) -> None:
    first = api.submit(feed(offer(1, "FK-TEE-RED-S", 20.0)))
    second = api.submit(feed(offer(1, "FK-TEE-RED-S", 21.0)))
    clock.advance(80)
    assert api.feed(first)["processingStatus"] == "DONE"
    assert api.feed(second)["processingStatus"] == "IN_PROGRESS"
    clock.advance(60)
    assert api.feed(second)["processingStatus"] == "DONE"


def test_speed_compresses_processing(clock: ManualClock) -> None:
    config = SimulatorConfig(speed=100, processing_seconds=(10.0, 30.0))
    with Simulator(config, clock=clock) as sim:
        api = SimulatorSession(sim)
        feed_id = api.submit(feed(stock(1, "FK-MUG-WHITE", 2)))
        clock.advance(0.1)
        assert api.feed(feed_id)["processingStatus"] == "IN_PROGRESS"
        clock.advance(0.3)
        assert api.feed(feed_id)["processingStatus"] == "DONE"


def test_file_backed_store_survives_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "listings.json"
    with Simulator(SimulatorConfig(store_path=path), clock=clock) as sim:
        api = SimulatorSession(sim)
        api.wait(api.submit(feed(stock(1, "FK-MUG-WHITE", 77))), clock=clock)
    assert json.loads(path.read_text("utf-8"))["sellers"][LOCAL_SELLER_ID]["FK-MUG-WHITE"]
    with Simulator(SimulatorConfig(store_path=path), clock=clock) as again:
        availability = again.listing(LOCAL_SELLER_ID, "FK-MUG-WHITE")["fulfillmentAvailability"]
        assert availability == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 77}]


def test_catalogue_seeds_every_seller_with_about_forty_skus_per_marketplace(
    sim: Simulator,
) -> None:
    catalogue = load_catalogue()
    for code in ("US", "UK", "DE"):
        count = sum(1 for item in catalogue["items"] if code in item["prices"])
        assert 38 <= count <= 45
    listing = sim.listing("A1ANYSELLER", "FK-HOODIE-NAVY-M")
    assert listing is not None
    assert {o["price"]["currencyCode"] for o in listing["offers"]} == {"USD", "GBP", "EUR"}
    fba = sim.listing("A1ANYSELLER", "FK-BOTTLE-500")["fulfillmentAvailability"]
    assert fba == [{"fulfillmentChannelCode": "AMAZON_EU"}, {"fulfillmentChannelCode": "AMAZON_NA"}]


def test_report_is_gzip_and_parses_after_gunzip(api: SimulatorSession, clock: ManualClock) -> None:
    feed_id = api.submit(feed(stock(1, "FK-MUG-WHITE", 2)))
    done = api.wait(feed_id, clock=clock)
    info = api.call("GET", f"{FEEDS}/documents/{done['resultFeedDocumentId']}").json()
    raw = requests.get(info["url"], timeout=5).content
    assert json.loads(gzip.decompress(raw))["header"]["feedId"] == feed_id
