"""Feed documents: message shapes, chunking, Amazon's schema, discards, the manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds_kit import resources
from feeds_kit.errors import FeedsKitError, UsageError
from feeds_kit.feed import (
    DEFAULT_MAX_BYTES,
    BuildResult,
    FeedBuilder,
    build_message,
    build_patches,
    document_paths,
    json_number,
    validate_document,
)
from feeds_kit.manifest import Manifest
from feeds_kit.marketplaces import BY_CODE, BY_ID
from feeds_kit.rows import Column, Row, SheetLayout, column_letter

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
JP = "A1VC38T7YXB528"

FIELDS = [
    "sku",
    "marketplace",
    "price",
    "currency",
    "quantity",
    "handling_time",
    "fulfillment_channel",
    "sale_price",
    "sale_start_date",
    "sale_end_date",
    "minimum_price",
    "maximum_price",
    "restock_date",
]
HEADERS = {
    "sku": "seller-sku",
    "marketplace": "Marketplace",
    "price": "Price",
    "currency": "Currency",
    "quantity": "Quantity",
    "handling_time": "Handling Time",
    "fulfillment_channel": "Fulfillment Channel",
    "sale_price": "Sale Price",
    "sale_start_date": "Sale Start Date",
    "sale_end_date": "Sale End Date",
    "minimum_price": "Minimum Price",
    "maximum_price": "Maximum Price",
    "restock_date": "Restock Date",
}


def make_layout(fields: list[str] = FIELDS, kind: str = "offers") -> SheetLayout:
    columns = [Column(i, column_letter(i), HEADERS[name], name) for i, name in enumerate(fields)]
    return SheetLayout(
        file="offers.xlsx", sheet="Offers", kind=kind, header_row=1, data_row=2, columns=columns
    )


def make_builder(tmp_path: Path, layout: SheetLayout | None = None, **kwargs: Any) -> FeedBuilder:
    return FeedBuilder(
        layout or make_layout(), seller_id="A3SELLER", output=tmp_path / "feed.json", **kwargs
    )


def price_row(number: int, price: str = "19.99", sku: str | None = None) -> Row:
    return Row(number, {"sku": sku or f"SKU-{number}", "price": Decimal(price)})


def load(path: Path) -> dict[str, Any]:
    return orjson.loads(path.read_bytes())


def skus(path: Path) -> list[tuple[int, str]]:
    return [(m["messageId"], m["sku"]) for m in load(path)["messages"]]


@pytest.fixture(scope="module")
def amazon_schema_validator() -> jsonschema.Draft7Validator:
    """An independent check with the reference Python implementation of JSON Schema."""
    return jsonschema.Draft7Validator(
        resources.load_schema("amazon", "listings-feed-schema-v2.json")
    )


# -- message shapes ------------------------------------------------------------------------------


def offer_patch(value: dict[str, Any]) -> dict[str, Any]:
    return {"op": "merge", "path": "/attributes/purchasable_offer", "value": [value]}


def availability_patch(value: dict[str, Any]) -> dict[str, Any]:
    return {"op": "merge", "path": "/attributes/fulfillment_availability", "value": [value]}


US_OFFER = {"marketplace_id": US, "currency": "USD", "audience": "ALL"}


@pytest.mark.parametrize(
    ("marketplace", "values", "patches"),
    [
        pytest.param(
            US,
            {"price": Decimal("19.99")},
            [offer_patch({**US_OFFER, "our_price": [{"schedule": [{"value_with_tax": 19.99}]}]})],
            id="price-only",
        ),
        pytest.param(
            US,
            {"quantity": 25},
            [availability_patch({"fulfillment_channel_code": "DEFAULT", "quantity": 25})],
            id="quantity-only",
        ),
        pytest.param(
            US,
            {"price": Decimal("5.5"), "quantity": 0, "handling_time": 3},
            [
                offer_patch({**US_OFFER, "our_price": [{"schedule": [{"value_with_tax": 5.5}]}]}),
                availability_patch(
                    {
                        "fulfillment_channel_code": "DEFAULT",
                        "quantity": 0,
                        "lead_time_to_ship_max_days": 3,
                    }
                ),
            ],
            id="both",
        ),
        pytest.param(
            US,
            {
                "sale_price": Decimal("15.00"),
                "sale_start_date": dt.date(2026, 12, 1),
                "sale_end_date": dt.datetime(2026, 12, 24, 18, 30),
            },
            [
                offer_patch(
                    {
                        **US_OFFER,
                        "discounted_price": [
                            {
                                "schedule": [
                                    {
                                        "value_with_tax": 15,
                                        "start_at": "2026-12-01",
                                        "end_at": "2026-12-24",
                                    }
                                ]
                            }
                        ],
                    }
                )
            ],
            id="sale-only",
        ),
        pytest.param(
            DE,
            {
                "price": Decimal("20"),
                "currency": "EUR",
                "minimum_price": Decimal("15.00"),
                "maximum_price": Decimal("29.99"),
            },
            [
                offer_patch(
                    {
                        "marketplace_id": DE,
                        "currency": "EUR",
                        "audience": "ALL",
                        "our_price": [{"schedule": [{"value_with_tax": 20}]}],
                        "minimum_seller_allowed_price": [{"schedule": [{"value_with_tax": 15}]}],
                        "maximum_seller_allowed_price": [{"schedule": [{"value_with_tax": 29.99}]}],
                    }
                )
            ],
            id="min-max",
        ),
        pytest.param(
            JP,
            {"price": Decimal("1500")},
            [
                offer_patch(
                    {
                        "marketplace_id": JP,
                        "currency": "JPY",
                        "audience": "ALL",
                        "our_price": [{"schedule": [{"value_with_tax": 1500}]}],
                    }
                )
            ],
            id="jpy",
        ),
        pytest.param(
            US,
            {"restock_date": dt.date(2027, 1, 15), "fulfillment_channel": "DEFAULT"},
            [
                availability_patch(
                    {"fulfillment_channel_code": "DEFAULT", "restock_date": "2027-01-15"}
                )
            ],
            id="restock",
        ),
        pytest.param(
            US,
            {"price": Decimal("9"), "fulfillment_channel": "AMAZON", "handling_time": 2},
            [offer_patch({**US_OFFER, "our_price": [{"schedule": [{"value_with_tax": 9}]}]})],
            id="fba-price-never-touches-availability",
        ),
        pytest.param(US, {"fulfillment_channel": "AMAZON"}, [], id="fba-nothing"),
        pytest.param(US, {"currency": "USD"}, [], id="currency-alone"),
    ],
)
def test_patches(marketplace: str, values: dict[str, Any], patches: list[dict[str, Any]]) -> None:
    assert build_patches(values, BY_ID[marketplace]) == patches


def test_message_shape() -> None:
    message = build_message(7, "SKU-7", {"quantity": 3}, BY_CODE["US"])
    assert message == {
        "messageId": 7,
        "sku": "SKU-7",
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [availability_patch({"fulfillment_channel_code": "DEFAULT", "quantity": 3})],
    }
    assert build_message(1, "S", {}, BY_CODE["US"]) is None


@pytest.mark.parametrize(
    ("amount", "number", "text"),
    [
        (Decimal("19.99"), 19.99, b"19.99"),
        (Decimal("19.90"), 19.9, b"19.9"),
        (Decimal("0.1"), 0.1, b"0.1"),
        (Decimal("1234567.89"), 1234567.89, b"1234567.89"),
        (Decimal("1500"), 1500, b"1500"),
        (Decimal("1E+2"), 100, b"100"),
        (Decimal("7.00"), 7, b"7"),
        (12, 12, b"12"),
        (2.5, 2.5, b"2.5"),
    ],
)
def test_json_number_keeps_exact_decimals(amount: Any, number: Any, text: bytes) -> None:
    result = json_number(amount)
    assert result == number
    assert type(result) is type(number)
    assert orjson.dumps(result) == text


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("1234567890123.4567"), True, "5"])
def test_json_number_refuses_what_it_cannot_carry(amount: Any) -> None:
    with pytest.raises(FeedsKitError):
        json_number(amount)


# -- documents -------------------------------------------------------------------------------------


def test_single_document_header_and_bytes(tmp_path: Path, amazon_schema_validator: Any) -> None:
    builder = make_builder(tmp_path, issue_locale="en_US")
    builder.add(price_row(2, "19.99"), US)
    builder.add(Row(3, {"sku": "Q", "quantity": 4}), US)
    result = builder.finish()
    (doc,) = result.documents
    assert doc.path == tmp_path / "feed.json"
    data = doc.path.read_bytes()
    assert data.startswith(
        b'{"header":{"sellerId":"A3SELLER","version":"2.0","issueLocale":"en_US"},"messages":['
    )
    assert b'"value_with_tax":19.99}' in data
    assert b"\n" not in data  # compact
    assert (doc.size, doc.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (doc.message_count, doc.marketplace_ids, doc.region) == (2, [US], "na")
    assert skus(doc.path) == [(1, "SKU-2"), (2, "Q")]
    assert validate_document(load(doc.path)) == []
    assert list(amazon_schema_validator.iter_errors(load(doc.path))) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.json"]  # no temp files left
    umask = os.umask(0o022)
    os.umask(umask)
    assert doc.path.stat().st_mode & 0o777 == 0o666 & ~umask  # as umask allows, unlike mkstemp


def test_header_without_locale(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    builder.add(price_row(2), US)
    (doc,) = builder.finish().documents
    assert load(doc.path)["header"] == {"sellerId": "A3SELLER", "version": "2.0"}


@pytest.mark.parametrize(
    ("rows", "max_messages", "counts"),
    [
        (3, 3, [3]),
        (6, 3, [3, 3]),
        (7, 3, [3, 3, 1]),
        (1, 1, [1]),
        (4, 1, [1, 1, 1, 1]),
    ],
)
def test_chunks_by_message_count(
    tmp_path: Path, rows: int, max_messages: int, counts: list[int], amazon_schema_validator: Any
) -> None:
    builder = make_builder(tmp_path, max_messages=max_messages)
    for n in range(2, 2 + rows):
        builder.add(price_row(n), US)
    result = builder.finish()
    assert [d.message_count for d in result.documents] == counts
    assert [d.path for d in result.documents] == document_paths(tmp_path / "feed.json", len(counts))
    number = 2
    for doc in result.documents:
        expected = [(i, f"SKU-{number + i - 1}") for i in range(1, doc.message_count + 1)]
        assert skus(doc.path) == expected
        number += doc.message_count
        assert list(amazon_schema_validator.iter_errors(load(doc.path))) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        d.path.name for d in result.documents
    )


def _size_of(tmp_path: Path, count: int) -> int:
    """Bytes of a document holding the first ``count`` price rows."""
    probe = tmp_path / "probe"
    builder = FeedBuilder(make_layout(), seller_id="A3SELLER", output=probe / "feed.json")
    for n in range(2, 2 + count):
        builder.add(price_row(n), US)
    return builder.finish().documents[0].size


@pytest.mark.parametrize(("slack", "per_document"), [(0, 1), (1, 2)])
def test_chunks_by_bytes(tmp_path: Path, slack: int, per_document: int) -> None:
    # A document of exactly max_bytes is too big ("< max_bytes"): one byte more fits two.
    two = _size_of(tmp_path, 2)
    builder = make_builder(tmp_path, max_bytes=two + slack)
    for n in range(2, 8):
        builder.add(price_row(n), US)
    result = builder.finish()
    assert [d.message_count for d in result.documents] == [per_document] * (6 // per_document)
    assert all(d.size < two + slack for d in result.documents)
    assert all(d.size == len(d.path.read_bytes()) for d in result.documents)


def test_a_message_too_big_for_any_document(tmp_path: Path) -> None:
    builder = make_builder(tmp_path, max_bytes=120)
    with pytest.raises(FeedsKitError, match="row 2"):
        builder.add(price_row(2), US)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_messages": 0}, "max_messages"),
        ({"max_messages": 25_001}, "max_messages"),
        ({"max_bytes": 10}, "max_bytes"),
    ],
)
def test_limits_are_checked(tmp_path: Path, kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make_builder(tmp_path, **kwargs)


def test_default_limits_follow_amazon(tmp_path: Path) -> None:
    assert DEFAULT_MAX_BYTES < 10 * 1024 * 1024
    builder = make_builder(tmp_path)
    for n in range(2, 25_004):
        builder.add(Row(n, {"sku": f"S{n}", "quantity": 1}), US)
    result = builder.finish()
    assert [d.message_count for d in result.documents] == [25_000, 2]
    assert validate_document(load(result.documents[0].path)) == []


def test_regions_go_to_separate_documents(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    builder.add(price_row(2), US)
    builder.add(Row(3, {"sku": "E", "price": Decimal("3"), "currency": "EUR"}), DE)
    builder.add(price_row(4), CA)
    builder.add(Row(5, {"sku": "F", "quantity": 2}), FR)
    result = builder.finish()
    assert [(d.path.name, d.marketplace_ids, d.region) for d in result.documents] == [
        ("feed-001.json", [US, CA], "na"),
        ("feed-002.json", [DE, FR], "eu"),
    ]
    assert skus(result.documents[1].path) == [(1, "E"), (2, "F")]


def test_prices_sheet_never_touches_quantity(tmp_path: Path) -> None:
    layout = make_layout(["sku", "marketplace", "price", "quantity"], kind="prices")
    builder = make_builder(tmp_path, layout)
    builder.add(Row(2, {"sku": "A", "price": Decimal("2"), "quantity": 9}), US)
    builder.add(Row(3, {"sku": "B", "quantity": 9}), US)
    result = builder.finish()
    (message,) = load(result.documents[0].path)["messages"]
    assert [p["path"] for p in message["patches"]] == ["/attributes/purchasable_offer"]
    assert result.skipped_rows == [3]


# -- Amazon's schema -------------------------------------------------------------------------------


def test_validate_document_reports_where() -> None:
    doc = {
        "header": {"sellerId": "S", "version": "1.0"},
        "messages": [{"messageId": 0, "sku": "A", "operationType": "DELETE"}],
    }
    reasons = validate_document(doc)
    assert any(r.startswith("/header/version:") for r in reasons)
    assert any(r.startswith("/messages/0/messageId:") for r in reasons)
    assert validate_document({"header": {"sellerId": "S", "version": "2.0"}, "messages": []})


def test_an_invalid_message_is_refused_and_nothing_written(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    builder.add(price_row(2), US)
    with pytest.raises(
        FeedsKitError, match=r"row 3 does not match Amazon's listings feed schema \(/messages/0/sku"
    ):
        builder.add(Row(3, {"sku": "", "price": Decimal("1")}), US)
    result = builder.finish()
    assert skus(result.documents[0].path) == [(1, "SKU-2")]


def test_every_built_shape_validates(tmp_path: Path, amazon_schema_validator: Any) -> None:
    builder = make_builder(tmp_path)
    rows = [
        Row(2, {"sku": "P", "price": Decimal("19.99")}),
        Row(
            3, {"sku": "Q", "quantity": 0, "handling_time": 30, "restock_date": dt.date(2027, 1, 1)}
        ),
        Row(
            4,
            {
                "sku": "S",
                "price": Decimal("20"),
                "sale_price": Decimal("15"),
                "sale_start_date": dt.date(2026, 12, 1),
                "sale_end_date": dt.date(2026, 12, 24),
                "minimum_price": Decimal("10"),
                "maximum_price": Decimal("30"),
                "quantity": 3,
                "fulfillment_channel": "DEFAULT",
            },
        ),
        Row(5, {"sku": "F", "price": Decimal("5"), "fulfillment_channel": "AMAZON"}),
    ]
    for r in rows:
        builder.add(r, US)
    (doc,) = builder.finish().documents
    assert validate_document(load(doc.path)) == []
    assert list(amazon_schema_validator.iter_errors(load(doc.path))) == []


# -- taking rows back ------------------------------------------------------------------------------


def test_discard_from_the_open_chunk_renumbers(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    for n in (2, 3, 4):
        builder.add(price_row(n), US)
    assert builder.discard(3) is True
    assert builder.discard(3) is False
    assert builder.discard(99) is False
    builder.add(price_row(5), US)
    result = builder.finish()
    assert skus(result.documents[0].path) == [(1, "SKU-2"), (2, "SKU-4"), (3, "SKU-5")]
    assert sorted(result.manifest.documents[0].messages) == [1, 2, 3]
    assert result.manifest.documents[0].messages[2].row == 4
    assert result.skipped_rows == [3]


def test_discard_across_a_chunk_boundary(tmp_path: Path, amazon_schema_validator: Any) -> None:
    builder = make_builder(tmp_path, max_messages=2)
    for n in (2, 3, 4, 5, 6):
        builder.add(price_row(n), US)
    # Rows 2 and 3 were written to feed-001.json when row 4 arrived; row 2 turns out a duplicate.
    assert (tmp_path / "feed-001.json").exists()
    assert builder.discard(2) is True
    result = builder.finish()
    assert [skus(d.path) for d in result.documents] == [
        [(1, "SKU-3")],
        [(1, "SKU-4"), (2, "SKU-5")],
        [(1, "SKU-6")],
    ]
    first = result.documents[0]
    data = first.path.read_bytes()
    assert (first.size, first.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert list(amazon_schema_validator.iter_errors(load(first.path))) == []
    entry = result.manifest.documents[0]
    assert {k: v.row for k, v in entry.messages.items()} == {1: 3}
    assert (entry.size, entry.sha256) == (first.size, first.sha256)
    assert result.skipped_rows == [2]


def test_a_written_chunk_emptied_by_discards_disappears(tmp_path: Path) -> None:
    builder = make_builder(tmp_path, max_messages=2)
    for n in (2, 3, 4):
        builder.add(price_row(n), US)
    builder.discard(2)
    builder.discard(3)
    result = builder.finish()
    # One document is left, so it takes the plain name.
    assert [d.path.name for d in result.documents] == ["feed.json"]
    assert skus(result.documents[0].path) == [(1, "SKU-4")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.json"]
    assert [d.name for d in result.manifest.documents] == ["feed.json"]


def test_nothing_to_build(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    builder.add(Row(2, {"sku": "F", "fulfillment_channel": "AMAZON"}), US)
    result = builder.finish()
    assert result == BuildResult(documents=[], manifest=result.manifest, skipped_rows=[2])
    assert result.manifest.documents == []
    assert list(tmp_path.iterdir()) == []


def test_finished_builder_refuses_more(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    builder.add(price_row(2), US)
    builder.finish()
    with pytest.raises(FeedsKitError, match="finished"):
        builder.add(price_row(3), US)


def test_unknown_marketplace_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="XYZ"):
        make_builder(tmp_path).add(price_row(2), "XYZ")


@pytest.mark.parametrize(
    ("count", "names"),
    [
        (1, ["feed.json", "feed.json"]),
        (2, ["feed-001.json", "feed-002.json"]),
        (1000, ["feed-0001.json", "feed-1000.json"]),
    ],
)
def test_document_paths(count: int, names: list[str]) -> None:
    paths = document_paths(Path("out/feed.json"), count)
    assert len(paths) == count
    assert [paths[0].name, paths[-1].name] == names
    assert all(p.parent == Path("out") for p in paths)


# -- the manifest ----------------------------------------------------------------------------------


def test_manifest_maps_messages_to_rows_and_cells(tmp_path: Path) -> None:
    builder = make_builder(tmp_path, max_messages=2)
    builder.add(
        Row(
            2,
            {
                "sku": "FULL",
                "marketplace": US,
                "price": Decimal("20"),
                "currency": "USD",
                "sale_price": Decimal("15"),
                "sale_start_date": dt.date(2026, 12, 1),
                "sale_end_date": dt.date(2026, 12, 24),
                "minimum_price": Decimal("10"),
                "quantity": 4,
                "handling_time": 2,
            },
        ),
        US,
    )
    builder.add(Row(3, {"sku": "QTY", "quantity": 1}), US)
    builder.add(Row(4, {"sku": "MIN", "minimum_price": Decimal("3")}), CA)
    result = builder.finish()
    manifest = result.manifest
    assert (
        manifest.file,
        manifest.sheet,
        manifest.kind,
        manifest.seller_id,
        manifest.header_row,
    ) == (
        "offers.xlsx",
        "Offers",
        "offers",
        "A3SELLER",
        1,
    )
    assert [(d.name, d.marketplace_ids) for d in manifest.documents] == [
        ("feed-001.json", [US]),
        ("feed-002.json", [CA]),
    ]
    full = manifest.entry(0, 1)
    assert full is not None
    assert (full.row, full.sku, full.marketplace_id, full.operation) == (2, "FULL", US, "PATCH")
    assert {k: v.to_json() for k, v in full.attributes.items()} == {
        "purchasable_offer": ["C", "Price"],
        "purchasable_offer.marketplace_id": ["B", "Marketplace"],
        "purchasable_offer.our_price": ["C", "Price"],
        "purchasable_offer.currency": ["D", "Currency"],
        "purchasable_offer.discounted_price": ["H", "Sale Price"],
        "purchasable_offer.minimum_seller_allowed_price": ["K", "Minimum Price"],
        "purchasable_offer.maximum_seller_allowed_price": ["L", "Maximum Price"],
        "fulfillment_availability": ["E", "Quantity"],
        "fulfillment_availability.quantity": ["E", "Quantity"],
        "fulfillment_availability.lead_time_to_ship_max_days": ["F", "Handling Time"],
        "fulfillment_availability.fulfillment_channel_code": ["G", "Fulfillment Channel"],
        "fulfillment_availability.restock_date": ["M", "Restock Date"],
    }
    quantity_only = manifest.entry(0, 2)
    assert quantity_only is not None
    assert quantity_only.row == 3
    assert set(quantity_only.attributes) == {
        "fulfillment_availability",
        "fulfillment_availability.quantity",
        "fulfillment_availability.lead_time_to_ship_max_days",
        "fulfillment_availability.fulfillment_channel_code",
        "fulfillment_availability.restock_date",
    }
    # Without a price the offer's main cell is the first one the row fills.
    minimum_only = manifest.entry(1, 1)
    assert minimum_only is not None
    assert minimum_only.attributes["purchasable_offer"].to_json() == ["K", "Minimum Price"]
    # The JSON form round-trips.
    again = Manifest.from_json(json.loads(manifest.dumps()))
    assert again.to_json() == manifest.to_json()
    assert manifest.documents[0].sha256 == result.documents[0].sha256


def test_manifest_without_some_columns(tmp_path: Path) -> None:
    layout = make_layout(["sku", "price"])
    builder = make_builder(tmp_path, layout)
    builder.add(Row(2, {"sku": "A", "price": Decimal("1")}), US)
    entry = builder.finish().manifest.entry(0, 1)
    assert entry is not None
    assert {k: v.to_json() for k, v in entry.attributes.items()} == {
        "purchasable_offer": ["B", "Price"],
        "purchasable_offer.our_price": ["B", "Price"],
    }


def test_discard_when_rows_arrive_out_of_order(tmp_path: Path) -> None:
    builder = make_builder(tmp_path, max_messages=2)
    for n in (9, 3, 5):
        builder.add(price_row(n), US)
    assert builder.discard(3) is True  # in the written feed-001.json, found without bisect
    result = builder.finish()
    assert [skus(d.path) for d in result.documents] == [[(1, "SKU-9")], [(1, "SKU-5")]]


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.sampled_from([US, CA, DE])),
            st.tuples(st.just("discard"), st.integers(min_value=0, max_value=30)),
        ),
        max_size=30,
    ),
    max_messages=st.integers(min_value=1, max_value=4),
)
def test_any_adds_and_discards_give_exactly_the_kept_rows(
    steps: list[tuple[str, Any]], max_messages: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        builder = FeedBuilder(
            make_layout(), seller_id="S", output=out / "feed.json", max_messages=max_messages
        )
        kept: dict[int, str] = {}
        number = 1
        for action, arg in steps:
            if action == "add":
                number += 1
                builder.add(price_row(number), arg)
                kept[number] = arg
            else:
                assert builder.discard(arg) is (kept.pop(arg, None) is not None)
        result = builder.finish()
        found: list[int] = []
        for doc, entry in zip(result.documents, result.manifest.documents, strict=True):
            data = load(doc.path)
            assert validate_document(data) == []
            messages = data["messages"]
            assert 1 <= len(messages) <= max_messages
            assert [m["messageId"] for m in messages] == list(range(1, len(messages) + 1))
            assert {BY_ID[kept[e.row]].region for e in entry.messages.values()} == {doc.region}
            assert [m["sku"] for m in messages] == [e.sku for e in entry.messages.values()]
            found.extend(e.row for e in entry.messages.values())
        assert sorted(found) == sorted(kept)
        assert sorted(p.name for p in out.iterdir()) == sorted(
            d.path.name for d in result.documents
        )
        assert [d.path for d in result.documents] == document_paths(
            out / "feed.json", len(result.documents)
        )
