"""Header matching, Amazon attribute paths, kind detection, structural findings."""

from __future__ import annotations

from typing import Any

import pytest

from feeds_kit import headers
from feeds_kit.errors import UsageError
from feeds_kit.headers import (
    HeaderMatch,
    check_kind,
    detect_kind,
    map_columns,
    match_header,
    normalize_header,
    parse_attribute_path,
)
from feeds_kit.issues import Severity

PO_UK = "purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=ALL]#1."
PO_US = "purchasable_offer[marketplace_id=ATVPDKIKX0DER]#1."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SKU", "sku"),
        ("  Seller-SKU ", "seller sku"),
        ("handling_time", "handling time"),
        ("Handling   Time", "handling time"),
        ("Price*", "price"),
        ("Quantity:", "quantity"),
        (2026.0, "2026"),
        (None, ""),
    ],
)
def test_normalize_header(text: Any, expected: str) -> None:
    assert normalize_header(text) == expected


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("SKU", "sku"),
        ("seller_sku", "sku"),
        ("Item-SKU", "sku"),
        ("Standard Price", "price"),
        ("our_price", "price"),
        ("QTY", "quantity"),
        ("leadtime-to-ship", "handling_time"),
        ("Fulfillment Channel", "fulfillment_channel"),
        ("minimum-seller-allowed-price", "minimum_price"),
        ("maximum_seller_allowed_price", "maximum_price"),
        ("sale-from-date", "sale_start_date"),
        ("Sale Through Date", "sale_end_date"),
        ("Restock Date", "restock_date"),
        ("Marketplace ID", "marketplace"),
        ("currency_code", "currency"),
        ("fulfillment_latency", "handling_time"),
        ("fulfillment-center-id", "fulfillment_channel"),
        ("contribution_sku#1.value", "sku"),
        (PO_UK + "our_price#1.schedule#1.value_with_tax", "price"),
        (PO_UK + "minimum_seller_allowed_price#1.schedule#1.value_with_tax", "minimum_price"),
        (PO_UK + "maximum_seller_allowed_price#1.schedule#1.value_with_tax", "maximum_price"),
        (PO_UK + "discounted_price#1.schedule#1.value_with_tax", "sale_price"),
        (PO_UK + "discounted_price#1.schedule#1.start_at", "sale_start_date"),
        (PO_UK + "discounted_price#1.schedule#1.end_at", "sale_end_date"),
        (PO_US + "our_price#1.schedule#1.value_with_tax", "price"),
        ("fulfillment_availability#1.quantity", "quantity"),
        ("fulfillment_availability#1.lead_time_to_ship_max_days", "handling_time"),
        ("fulfillment_availability#1.fulfillment_channel_code", "fulfillment_channel"),
        ("fulfillment_availability#1.restock_date", "restock_date"),
    ],
)
def test_headers_that_mean_our_fields(header: str, field: str) -> None:
    found = match_header(header, "offers")
    assert found is not None and found.field == field


@pytest.mark.parametrize(
    "header",
    [
        "product-id",
        "add-delete",
        "item-condition",
        "fulfillment_availability#1.is_inventory_available",
        "purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=B2B]#1.our_price#1.schedule"
        "#1.value_with_tax",
        "purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=ALL]#2.our_price#1.schedule"
        "#1.value_with_tax",
        PO_UK + "automated_pricing_merchandising_rule_plan#1.merchandising_rule.rule_id",
        "merchant_shipping_group[marketplace_id=A1F83G8C2ARO7P]#1.value",
        "colour",
        "",
    ],
)
def test_amazon_columns_offers_do_not_carry(header: str) -> None:
    assert match_header(header, "offers") is None


def test_attribute_path_selector_gives_the_marketplace() -> None:
    found = match_header(PO_UK + "our_price#1.schedule#1.value_with_tax", "offers")
    assert found == HeaderMatch("price", "attribute-path", "A1F83G8C2ARO7P")


def test_list_price_is_msrp_in_amazon_templates_but_a_price_in_a_sellers_sheet() -> None:
    assert match_header("list_price", "offers", family="fptcustom") is None
    found = match_header("List Price", "offers", family="native")
    assert found is not None and found.field == "price"


def test_fields_of_another_kind_do_not_match_a_forced_kind() -> None:
    assert match_header("quantity", "prices") is None
    assert match_header("quantity", None) == HeaderMatch("quantity", "alias")


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("contribution_sku#1.value", ["contribution_sku", "value"]),
        ("item_name[marketplace_id=X][language_tag=en_AE]#1.value", ["item_name", "value"]),
        ("supplemental_condition_information#1.features#3", ["supplemental_condition_information",
                                                            "features"]),
    ],
)
def test_parse_attribute_path(header: str, names: list[str]) -> None:
    steps = parse_attribute_path(header)
    assert steps is not None and [s.name for s in steps] == names


def test_parse_attribute_path_keeps_selectors_and_indexes() -> None:
    steps = parse_attribute_path("item_name[marketplace_id=X][language_tag=en_AE]#2.value")
    assert steps is not None
    assert steps[0].selectors == (("marketplace_id", "X"), ("language_tag", "en_AE"))
    assert steps[0].index == 2 and steps[1].index is None


@pytest.mark.parametrize("header", ["sku", "::record_action", "amzn1.volt.ca.product_id_type",
                                    "a#1.", "a[#1", "bad name#1"])
def test_not_attribute_paths(header: str) -> None:
    assert parse_attribute_path(header) is None


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        (["sku", "price", "quantity"], "offers"),
        (["sku", "price"], "prices"),
        (["sku", "minimum_price", "marketplace"], "prices"),
        (["sku", "quantity"], "inventory"),
        (["sku", "handling_time", "currency"], "offers"),
        (["sku", "fulfillment_channel"], "inventory"),
        (["sku"], "offers"),
        (["sku", "marketplace"], "offers"),
    ],
)
def test_detect_kind(fields: list[str], kind: str) -> None:
    assert detect_kind(fields) == kind


def test_kinds_come_from_the_row_schemas() -> None:
    assert headers.KINDS[:3] == ("offers", "prices", "inventory")
    assert check_kind(" Prices ") == "prices"
    with pytest.raises(UsageError) as caught:
        check_kind("pricez")
    assert str(caught.value).startswith(
        "Unknown sheet kind 'pricez': use offers, prices, inventory"
    )


def test_map_columns_letters_fields_and_unknown_column() -> None:
    mapping = map_columns(["Seller SKU", "Price", "", "Colour", "qty"], file="f.csv")
    assert mapping.kind == "offers"
    assert [(c.letter, c.header, c.field) for c in mapping.columns] == [
        ("A", "Seller SKU", "sku"),
        ("B", "Price", "price"),
        ("D", "Colour", None),
        ("E", "qty", "quantity"),
    ]
    [issue] = mapping.issues
    assert issue.code == "unknown-column" and issue.severity is Severity.WARNING
    assert (issue.column, issue.header, issue.row) == ("D", "Colour", None)
    assert issue.message == '"Colour" is not a column of offers sheets, so its values are not sent'
    assert mapping.structure_ok


def test_duplicate_column_names_both_letters() -> None:
    mapping = map_columns(["sku", "price", "qty", "Standard-Price"], file="f.xlsx", sheet="S")
    [issue] = mapping.issues
    assert issue.code == "duplicate-column" and issue.is_error
    assert issue.sentence() == (
        'column D "Standard-Price": columns B "price" and D "Standard-Price" both mean Price '
        "— keep one of the two columns."
    )
    assert [c.field for c in mapping.columns] == ["sku", "price", "quantity", None]
    assert not mapping.structure_ok


def test_missing_sku_column() -> None:
    mapping = map_columns(["price", "quantity"], file="f.xlsx", sheet="Offers", header_row=3)
    [issue] = mapping.issues
    assert issue.code == "missing-column" and issue.is_error
    assert issue.sentence() == (
        'Sheet "Offers": the header row (row 3) has no SKU column — add a column headed "sku".'
    )


def test_forced_kind_reports_columns_of_the_other_half() -> None:
    mapping = map_columns(["sku", "price", "quantity"], kind="prices", file="f.csv")
    [issue] = mapping.issues
    assert issue.code == "column-not-in-kind" and issue.severity is Severity.WARNING
    assert issue.message == '"quantity" means Quantity, which prices sheets do not send'
    assert issue.hint == "use --kind offers if the sheet is meant to send it, or delete the column"
    assert mapping.columns[2].field is None


def test_errors_come_before_warnings() -> None:
    mapping = map_columns(["foo", "price", "price"], file="f.csv")
    assert [i.code for i in mapping.issues] == ["duplicate-column", "missing-column",
                                                "unknown-column"]


def test_per_marketplace_price_columns_keep_the_primary_marketplace() -> None:
    ca = "purchasable_offer[marketplace_id=A2EUQ1WTGCTBG2]#1.our_price#1.schedule#1.value_with_tax"
    us = "purchasable_offer[marketplace_id=ATVPDKIKX0DER]#1.our_price#1.schedule#1.value_with_tax"
    mapping = map_columns(["item_sku", ca, us], family="fptcustom", file="f.xlsx",
                          primary_marketplace="ATVPDKIKX0DER")
    assert [c.field for c in mapping.columns] == ["sku", None, "price"]
    assert mapping.notes == {"marketplace": "ATVPDKIKX0DER"}
    [issue] = mapping.issues
    assert issue.code == "other-marketplace-column" and issue.column == "B"
    assert issue.message == (
        f'"{ca}" is for marketplace A2EUQ1WTGCTBG2, but this sheet is read for ATVPDKIKX0DER'
    )


UNIFIED_PQ = [
    "contribution_sku#1.value",
    "fulfillment_availability#1.fulfillment_channel_code",
    "fulfillment_availability#1.quantity",
    "fulfillment_availability#1.lead_time_to_ship_max_days",
    "fulfillment_availability#1.restock_date",
    "fulfillment_availability#1.is_inventory_available",
    PO_UK + "our_price#1.schedule#1.value_with_tax",
    PO_UK + "automated_pricing_merchandising_rule_plan#1.merchandising_rule.rule_id",
    PO_UK + "minimum_seller_allowed_price#1.schedule#1.value_with_tax",
    PO_UK + "maximum_seller_allowed_price#1.schedule#1.value_with_tax",
    PO_UK + "discounted_price#1.schedule#1.value_with_tax",
    PO_UK + "discounted_price#1.schedule#1.start_at",
    PO_UK + "discounted_price#1.schedule#1.end_at",
    "purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=B2B]#1.our_price#1.schedule#1"
    ".value_with_tax",
    "merchant_shipping_group[marketplace_id=A1F83G8C2ARO7P]#1.value",
]


def test_unified_price_and_quantity_template_header_row() -> None:
    mapping = map_columns(UNIFIED_PQ, family="unified", file="pq.xlsm", sheet="Template",
                          header_row=5)
    assert mapping.kind == "offers"
    fields = {c.letter: c.field for c in mapping.columns if c.field}
    assert fields == {
        "A": "sku", "B": "fulfillment_channel", "C": "quantity", "D": "handling_time",
        "E": "restock_date", "G": "price", "I": "minimum_price", "J": "maximum_price",
        "K": "sale_price", "L": "sale_start_date", "M": "sale_end_date",
    }
    assert mapping.notes["marketplace"] == "A1F83G8C2ARO7P"
    assert [i.column for i in mapping.issues] == ["F", "H", "N", "O"]
    assert {i.code for i in mapping.issues} == {"unknown-column"}


PRICE_INVENTORY_ES = ["sku", "price", "minimum-seller-allowed-price",
                      "maximum-seller-allowed-price", "quantity", "fulfillment-channel",
                      "handling-time"]


def test_retired_price_and_quantity_file_maps_every_column() -> None:
    mapping = map_columns(PRICE_INVENTORY_ES, family="price-inventory-flat")
    assert [c.field for c in mapping.columns] == [
        "sku", "price", "minimum_price", "maximum_price", "quantity", "fulfillment_channel",
        "handling_time",
    ]
    assert mapping.issues == []


def test_inventory_loader_meaningful_columns_are_reported_not_dropped() -> None:
    row = ["sku", "product-id", "product-id-type", "price", "item-condition", "quantity",
           "add-delete", "fulfillment-center-id"]
    mapping = map_columns(row, family="inventory-loader-flat")
    assert [c.field for c in mapping.columns] == [
        "sku", None, None, "price", None, "quantity", None, "fulfillment_channel",
    ]
    assert [i.header for i in mapping.issues] == ["product-id", "product-id-type",
                                                  "item-condition", "add-delete"]


def test_header_score_counts_distinct_fields() -> None:
    assert headers.header_score(["sku", "price", "Price", "x", None, 3]) == 2
    assert headers.header_score(["SKU-1", 19.99, 3]) == 0


@pytest.mark.parametrize(
    ("header", "field"),
    [("Preis", "price"), ("Menge", "quantity"), ("Währung", "currency"), ("prix", "price"),
     ("Quantité", "quantity"), ("Precio", "price"), ("prezzo minimo", "minimum_price"),
     ("Bearbeitungszeit", "handling_time")],
)
def test_european_sellers_headers_are_understood(header: str, field: str) -> None:
    match = match_header(header, "offers")
    assert match is not None and match.field == field
