"""Listings rows → UPDATE / PARTIAL_UPDATE / DELETE messages, checked against product types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from feeds_kit import resources
from feeds_kit.attribute_paths import AttributeColumn, parse_attribute_columns
from feeds_kit.issues import CATALOGUE, Severity
from feeds_kit.listings import (
    FIELDS,
    OPERATIONS,
    ListingRow,
    ListingSheet,
    UnbuildableListing,
    build_listing_message,
    check_and_build,
    check_listing,
    parse_operation,
)
from feeds_kit.manifest import CellRef
from feeds_kit.product_types import ProductTypeCache
from feeds_kit.rows import Column, Row, SheetLayout, column_letter

US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"

FEED_SCHEMA = resources.load_schema("amazon", "listings-feed-schema-v2.json")


def assert_valid_feed(*messages: dict[str, Any]) -> None:
    feed = {"header": {"sellerId": "A2SELLER", "version": "2.0"}, "messages": list(messages)}
    jsonschema.Draft7Validator(FEED_SCHEMA).validate(feed)
    # And it is plain JSON.
    json.dumps(feed)


@pytest.fixture
def cache(tmp_path: Path) -> ProductTypeCache:
    """An empty cache: the packaged LUGGAGE (US) and SHIRT (UK) fixtures answer."""
    return ProductTypeCache(tmp_path)


class Sheet:
    """A listings sheet built in the test: headers → layout, attribute columns, rows."""

    def __init__(self, *headers: str) -> None:
        self.columns = [
            Column(i, column_letter(i), h, h if h in FIELDS else None)
            for i, h in enumerate(headers)
        ]
        self.layout = SheetLayout(file="listings.xlsx", sheet="Listings", kind="listings",
                                  header_row=1, data_row=2, columns=self.columns)
        parsed = parse_attribute_columns(self.columns, file="listings.xlsx", sheet="Listings",
                                         row=1, known_attributes={"bullet_point"})
        assert parsed.issues == []
        self.attributes = parsed.columns
        self.sheet = ListingSheet.from_layout(self.layout, self.attributes)

    def row(self, number: int, *values: Any) -> ListingRow:
        fixed: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for col, value in zip(self.columns, values, strict=True):
            if value is None or value == "":
                continue
            (fixed if col.field else extra)[col.field or col.header] = value
        return ListingRow.from_row(Row(number, fixed, extra=extra), self.attributes)


LUGGAGE_HEADERS = ("sku", "product_type", "operation", "marketplace", "item_name", "brand",
                   "Bullet Point 1", "Bullet Point 2", "batteries_required", "condition_type",
                   "fulfillment_availability#1.fulfillment_channel_code",
                   "fulfillment_availability#1.quantity",
                   "purchasable_offer[marketplace_id=ATVPDKIKX0DER][audience=ALL]#1.our_price#1"
                   ".schedule#1.value_with_tax")


def luggage_row(sheet: Sheet, number: int = 12, **changes: Any) -> ListingRow:
    values = dict(zip(LUGGAGE_HEADERS, [
        "LUG-77", "luggage", "update", "US", "Orlando trolley case 77 cm", "Travelite",
        "Four double wheels", "TSA lock", "No", "New", "DEFAULT", "7", "129.99",
    ], strict=True))
    values.update(changes)
    return sheet.row(number, *values.values())


# --- operations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "operation"),
    [
        ("update", "UPDATE"), ("Update", "UPDATE"), ("UPDATE", "UPDATE"),
        ("full_update", "UPDATE"), ("Create or Replace (Full Update)", "UPDATE"),
        ("(Default) Create or Replace", "UPDATE"), (None, "UPDATE"), ("  ", "UPDATE"),
        ("partial_update", "PARTIAL_UPDATE"), ("PartialUpdate", "PARTIAL_UPDATE"),
        ("Partial Update", "PARTIAL_UPDATE"), ("PARTIAL_UPDATE", "PARTIAL_UPDATE"),
        ("Edit (Partial Update)", "PARTIAL_UPDATE"),
        ("delete", "DELETE"), ("Delete", "DELETE"), ("DELETE", "DELETE"),
        ("remove", None), ("patch", None), (3, None),
    ],
)
def test_parse_operation(value: Any, operation: str | None) -> None:
    assert parse_operation(value) == operation


def test_blank_operation_default_can_be_chosen() -> None:
    assert parse_operation("", default="PARTIAL_UPDATE") == "PARTIAL_UPDATE"
    assert set(OPERATIONS.values()) == {"UPDATE", "PARTIAL_UPDATE", "DELETE"}


def test_listings_row_schema_matches_the_fields() -> None:
    schema = resources.load_schema("rows", "listings.json")
    assert tuple(schema["properties"]) == FIELDS
    assert schema["x-kind"] == "listings"
    for label in schema["properties"]["operation"]["x-enum-aliases"]:
        assert parse_operation(label) is not None


# --- building ------------------------------------------------------------------------------


def test_update_message(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    listing = luggage_row(sheet)
    assert check_listing(listing, sheet.sheet, cache=cache) == []
    built = build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache)
    text = {"marketplace_id": US, "language_tag": "en_US"}
    assert built.message == {
        "messageId": 1,
        "sku": "LUG-77",
        "operationType": "UPDATE",
        "productType": "LUGGAGE",
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{**text, "value": "Orlando trolley case 77 cm"}],
            "brand": [{**text, "value": "Travelite"}],
            "bullet_point": [{**text, "value": "Four double wheels"},
                             {**text, "value": "TSA lock"}],
            "batteries_required": [{"marketplace_id": US, "value": False}],
            "condition_type": [{"marketplace_id": US, "value": "new_new"}],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
            "purchasable_offer": [{"marketplace_id": US, "audience": "ALL", "currency": "USD",
                                   "our_price": [{"schedule": [{"value_with_tax": 129.99}]}]}],
        },
    }
    assert_valid_feed(built.message)
    entry = built.manifest_entry()
    assert (entry.message_id, entry.row, entry.sku, entry.marketplace_id, entry.operation) == (
        1, 12, "LUG-77", US, "UPDATE")
    assert entry.attributes["bullet_point"] == CellRef("G", "Bullet Point 1")
    assert entry.attributes["fulfillment_availability.quantity"] == CellRef(
        "L", "fulfillment_availability#1.quantity")
    assert entry.attributes["purchasable_offer.our_price"].column == "M"
    assert built.columns.for_pointer("/bullet_point/1/value") == CellRef("H", "Bullet Point 2")
    assert built.product_type is not None and built.product_type.product_type == "LUGGAGE"


def test_partial_update_message_carries_only_filled_attributes(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    listing = luggage_row(sheet, operation="PartialUpdate", item_name="", brand="",
                          **{"Bullet Point 1": "", "Bullet Point 2": "", "batteries_required": "",
                             "condition_type": ""})
    assert check_listing(listing, sheet.sheet, cache=cache) == []
    built = build_listing_message(listing, 7, sheet=sheet.sheet, cache=cache)
    assert built.message == {
        "messageId": 7,
        "sku": "LUG-77",
        "operationType": "PARTIAL_UPDATE",
        "productType": "LUGGAGE",
        "attributes": {
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
            "purchasable_offer": [{"marketplace_id": US, "audience": "ALL", "currency": "USD",
                                   "our_price": [{"schedule": [{"value_with_tax": 129.99}]}]}],
        },
    }
    assert built.product_type is not None and built.product_type.enforced is False
    assert_valid_feed(built.message)


def test_delete_message(cache: ProductTypeCache) -> None:
    sheet = Sheet("sku", "operation")
    listing = sheet.row(3, "LUG-OLD", "Delete")
    assert check_listing(listing, sheet.sheet, cache=cache) == []
    built = build_listing_message(listing, 2, sheet=sheet.sheet, cache=cache)
    assert built.message == {"messageId": 2, "sku": "LUG-OLD", "operationType": "DELETE"}
    assert built.manifest_entry().attributes == {}
    assert_valid_feed(built.message)


def test_every_kind_of_message_in_one_feed(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    messages = [
        build_listing_message(luggage_row(sheet, 2, sku=f"S{i}", operation=op), i,
                              sheet=sheet.sheet, cache=cache).message
        for i, op in enumerate(["update", "partial_update", "delete", "Create or Replace"],
                               start=1)
    ]
    assert [m["operationType"] for m in messages] == ["UPDATE", "PARTIAL_UPDATE", "DELETE",
                                                      "UPDATE"]
    assert_valid_feed(*messages)


def test_requirements_column_and_offer_only(cache: ProductTypeCache) -> None:
    sheet = Sheet("sku", "product_type", "marketplace", "requirements",
                  "fulfillment_availability#1.quantity")
    listing = sheet.row(4, "LUG-1", "LUGGAGE", "US", "listing_offer_only", 3)
    issues = check_listing(listing, sheet.sheet, cache=cache)
    # No LISTING_OFFER_ONLY schema is at hand: built as is, with a warning.
    assert [(i.code, i.severity, i.column) for i in issues] == [
        ("product-type-not-cached", Severity.WARNING, "B")]
    assert issues[0].sentence() == (
        'Row 4, column B "product_type": the schema of product type LUGGAGE for US is not '
        "cached, so the attributes were not checked — run feeds-kit product-types fetch "
        "LUGGAGE --marketplace US.")
    built = build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache)
    assert built.message["requirements"] == "LISTING_OFFER_ONLY"
    assert built.message["attributes"] == {"fulfillment_availability": [{"quantity": 3}]}
    assert_valid_feed(built.message)


def test_without_a_schema_values_are_still_json(tmp_path: Path) -> None:
    from decimal import Decimal

    sheet = Sheet("sku", "product_type", "marketplace", "item_name", "list_price#1.value")
    listing = sheet.row(5, "BAG-1", "BACKPACK", "DE", "Rucksack", Decimal("49.90"))
    built = build_listing_message(listing, 3, sheet=sheet.sheet,
                                  cache=ProductTypeCache(tmp_path))
    assert built.message["attributes"] == {
        "item_name": [{"marketplace_id": "A1PA6795UKMFR9", "language_tag": "de_DE",
                       "value": "Rucksack"}],
        "list_price": [{"value": 49.9}],
    }
    assert_valid_feed(built.message)


# --- checking ------------------------------------------------------------------------------


def test_errors_land_on_the_column_that_produced_the_value(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    listing = luggage_row(sheet, **{"Bullet Point 2": "é" * 306, "condition_type": "Mint",
                                    "fulfillment_availability#1.quantity": "lots"})
    issues = check_listing(listing, sheet.sheet, cache=cache)
    assert [i.sentence() for i in issues] == [
        'Row 12, column H "Bullet Point 2": 612 bytes, at most 500 allowed — shorten it to 500 '
        "bytes (Amazon counts UTF-8 bytes: accented letters take 2, many symbols 3 or 4).",
        "Row 12, column J \"condition_type\": 'Mint' is not one of the allowed values — use one "
        "of: New (new_new), Used - Like New (used_like_new), Used - Very Good (used_very_good), "
        "Used - Good (used_good), Used - Acceptable (used_acceptable).",
        'Row 12, column L "fulfillment_availability#1.quantity": \'lots\' is not a whole number'
        " — write a whole number such as 3.",
    ]
    assert {(i.file, i.sheet, i.sku, i.row) for i in issues} == {
        ("listings.xlsx", "Listings", "LUG-77", 12)}
    assert [i.attribute for i in issues] == ["bullet_point", "condition_type",
                                             "fulfillment_availability"]


def test_missing_required_attributes(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    listing = luggage_row(sheet, brand="", batteries_required="Yes")
    issues = check_listing(listing, sheet.sheet, cache=cache)
    assert [i.sentence() for i in issues] == [
        # The sheet has no battery columns: on the row, naming the header to add.
        'Row 12: "Battery" (battery) is required because of "Batteries Required" '
        '(batteries_required) — fill the battery#1.cell_composition#1.value column, or change '
        '"Batteries Required" (batteries_required).',
        'Row 12: "Number of Batteries" (num_batteries) is required because of "Batteries '
        'Required" (batteries_required) — fill the num_batteries#1.quantity column, or change '
        '"Batteries Required" (batteries_required).',
        # The sheet has a Brand column, blank in this row: on that cell.
        'Row 12, column F "brand": "Brand Name" (brand) is required by product type LUGGAGE — '
        "fill the brand column.",
    ]
    assert all(i.code in CATALOGUE for i in issues)


def test_battery_columns_satisfy_the_condition(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS, "battery#1.cell_composition#1.value",
                  "num_batteries#1.quantity", "num_batteries#1.type")
    listing = sheet.row(9, "LUG-77", "LUGGAGE", "update", "US", "Case", "Travelite", None, None,
                        "Yes", "New", None, None, None, "Alkaline", "2", "AA")
    assert check_listing(listing, sheet.sheet, cache=cache) == []
    attributes = build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache).message[
        "attributes"]
    assert attributes["battery"] == [{"marketplace_id": US,
                                      "cell_composition": [{"value": "alkaline"}]}]
    assert attributes["num_batteries"] == [{"marketplace_id": US, "quantity": 2, "type": "aa"}]


def test_partial_update_uses_the_not_enforced_schema(cache: ProductTypeCache) -> None:
    sheet = Sheet("sku", "product_type", "operation", "marketplace", "Bullet Point 1",
                  "batteries_required")
    fine = sheet.row(20, "LUG-77", "LUGGAGE", "partial_update", "US", "Lighter", "Yes")
    # No item_name, brand, condition, nor battery details: not enforced for a partial update.
    assert check_listing(fine, sheet.sheet, cache=cache) == []
    too_long = sheet.row(21, "LUG-77", "LUGGAGE", "partial_update", "US", "é" * 300, None)
    assert [(i.code, i.column, i.message) for i in check_listing(too_long, sheet.sheet,
                                                                 cache=cache)] == [
        ("attribute-too-many-bytes", "E", "600 bytes, at most 500 allowed")]
    full = sheet.row(22, "LUG-77", "LUGGAGE", "update", "US", "Lighter", "Yes")
    assert [i.code for i in check_listing(full, sheet.sheet, cache=cache)] == [
        "attribute-required-by-rule", "attribute-required", "attribute-required",
        "attribute-required", "attribute-required-by-rule"]


def test_shirt_in_the_uk(cache: ProductTypeCache) -> None:
    sheet = Sheet("sku", "product_type", "marketplace", "item_name", "brand", "department",
                  "color", "color#1.standardized_values#1", "parentage_level",
                  "variation_theme#1.name")
    listing = sheet.row(2, "OX-WHITE", "SHIRT", "GB", "Oxford shirt", "ET", "Men's", "White",
                        "White", "Parent", "Size & Colour")
    assert check_listing(listing, sheet.sheet, cache=cache) == []
    attributes = build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache).message[
        "attributes"]
    uk_text = {"marketplace_id": UK, "language_tag": "en_GB"}
    assert attributes == {
        "item_name": [{**uk_text, "value": "Oxford shirt"}],
        "brand": [{**uk_text, "value": "ET"}],
        "department": [{**uk_text, "value": "mens"}],
        "color": [{**uk_text, "value": "White", "standardized_values": ["white"]}],
        "parentage_level": [{"marketplace_id": UK, "value": "parent"}],
        "variation_theme": [{"name": "SIZE/COLOR"}],
    }
    child = sheet.row(3, "OX-WHITE-M", "SHIRT", "UK", "Oxford shirt M", "ET", "mens", "White",
                      None, "child", None)
    assert [(i.code, i.column) for i in check_listing(child, sheet.sheet, cache=cache)] == [
        ("attribute-required-by-rule", None),
        ("attribute-one-of-required", None),
        ("attribute-required-by-rule", None),
        ("attribute-required-by-rule", "J"),
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sku": ""}, [("listing-missing-sku", "A", "the row has no SKU")]),
        ({"operation": "remove"}, [("listing-unknown-operation", "C",
                                    "'remove' is not an operation")]),
        ({"marketplace": ""}, [("listing-missing-marketplace", "D",
                                "the row has no marketplace")]),
        ({"marketplace": "Atlantis"}, [("listing-unknown-marketplace", "D",
                                        "'Atlantis' is not an Amazon marketplace")]),
        ({"product_type": ""}, [("listing-missing-product-type", "B",
                                 "a update row needs a product type")]),
        ({"product_type": "", "operation": "partial_update"},
         [("listing-missing-product-type", "B", "a partial_update row needs a product type")]),
    ],
)
def test_fixed_field_problems(cache: ProductTypeCache, changes: dict[str, Any],
                              expected: list) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    listing = luggage_row(sheet, **changes)
    issues = check_listing(listing, sheet.sheet, cache=cache)
    assert [(i.code, i.column, i.message) for i in issues] == expected
    with pytest.raises(UnbuildableListing) as caught:
        build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache)
    assert caught.value.row == 12
    assert [i.code for i in caught.value.issues] == [e[0] for e in expected]
    assert caught.value.exit_code == 1
    assert str(caught.value) == f"Row 12 cannot be built: {expected[0][2]}."


def test_a_row_without_attribute_values(cache: ProductTypeCache) -> None:
    sheet = Sheet("sku", "product_type", "marketplace", "item_name")
    listing = sheet.row(6, "LUG-77", "LUGGAGE", "US", None)
    issues = check_listing(listing, sheet.sheet, cache=cache)
    assert [i.sentence() for i in issues] == [
        "Row 6: a update row needs at least one attribute value — fill the attribute columns, "
        "or write delete to remove the listing."]
    with pytest.raises(UnbuildableListing):
        build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache)


def test_delete_with_attribute_values_warns(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    listing = luggage_row(sheet, operation="delete")
    [issue] = check_listing(listing, sheet.sheet, cache=cache)
    assert (issue.code, issue.severity, issue.message) == (
        "listing-delete-ignores-attributes", Severity.WARNING,
        "the row deletes the listing, so its 9 attribute values are not sent")
    assert build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache).message == {
        "messageId": 1, "sku": "LUG-77", "operationType": "DELETE"}


def test_conflicting_cells_in_a_row(cache: ProductTypeCache) -> None:
    sheet = Sheet("sku", "product_type", "marketplace", "operation", "item_name",
                  "item_name[marketplace_id=ATVPDKIKX0DER][language_tag=en_US]#1.value")
    listing = sheet.row(8, "LUG-77", "LUGGAGE", "US", "partial_update", "Case A", "Case B")
    [issue] = check_listing(listing, sheet.sheet, cache=cache)
    assert (issue.code, issue.column) == ("attribute-path-conflict", "F")
    built = build_listing_message(listing, 1, sheet=sheet.sheet, cache=cache)
    assert built.message["attributes"]["item_name"][0]["value"] == "Case A"


def test_an_explicit_product_type_overrides_the_cache(cache: ProductTypeCache) -> None:
    shirt = cache.load("SHIRT", "UK")
    sheet = Sheet("sku", "product_type", "marketplace", "operation", "department")
    listing = sheet.row(2, "X", "SHIRT", "UK", "partial_update", "Robots")
    [issue] = check_listing(listing, sheet.sheet, product_type=shirt)
    assert issue.code == "attribute-value-not-allowed"
    built = build_listing_message(listing, 1, sheet=sheet.sheet, product_type=shirt)
    assert built.product_type is not None and built.product_type.derived is True


def test_listing_row_from_row_uses_defaults() -> None:
    column = AttributeColumn(parse_attribute_columns([Column(0, "A", "brand")]).columns[0].path,
                             "A", "brand")
    row = Row(5, {"sku": 12345, "product_type": " luggage "}, extra={"brand": "T"})
    listing = ListingRow.from_row(row, [column], marketplace="US", language_tag="en_US")
    assert (listing.row, listing.sku, listing.product_type, listing.marketplace_id,
            listing.language_tag, listing.operation, dict(listing.cells)) == (
        5, "12345", "luggage", "US", "en_US", None, {column: "T"})


def test_check_and_build_in_one_pass(cache: ProductTypeCache) -> None:
    sheet = Sheet(*LUGGAGE_HEADERS)
    issues, built = check_and_build(luggage_row(sheet), 4, sheet=sheet.sheet, cache=cache)
    assert issues == [] and built is not None
    assert built.message == build_listing_message(luggage_row(sheet), 4, sheet=sheet.sheet,
                                                  cache=cache).message
    issues, built = check_and_build(luggage_row(sheet, brand=""), 5, sheet=sheet.sheet,
                                    cache=cache)
    assert [i.code for i in issues] == ["attribute-required"] and built is None
    issues, built = check_and_build(luggage_row(sheet, operation="delete"), 6,
                                    sheet=sheet.sheet, cache=cache)
    assert [i.severity for i in issues] == [Severity.WARNING]
    assert built is not None and built.message["operationType"] == "DELETE"
