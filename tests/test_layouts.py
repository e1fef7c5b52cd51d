"""Amazon's layouts recognised from row 1: settings blob, TemplateType, flat files."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from feeds_kit.layouts import detect_template, flat_family, parse_settings, settings_value_aliases

FPT_SETTINGS = (
    "settings=attributeRow=3&contentLanguageTag=en_US&dataRow=4&feedType=113&headerLanguageTag="
    "en_US&isEdit=false&isExpose=false&isProcessingSummary=false&labelRow=2&metadataVersion="
    "MatprodVm9MVFByb2RfMTIzNA%3D%3D&primaryMarketplaceId=amzn1.mp.o.ATVPDKIKX0DER&ptds="
    "R1VJTERfSE9NRQ%3D%3D&reportProvenance=false&templateIdentifier=534bf816&timestamp="
    "2023-05-09T05%3A03%3A32.850Z"
)
FPT_ROW1 = [
    "TemplateType=fptcustom", "Version=2023.0509", "TemplateSignature=R1VJTERfSE9NRQ==",
    FPT_SETTINGS,
    "     Use ENGLISH to fill this template.The top 3 rows are for Amazon.com use only.",
    "", "Variation",
]


def unified_row1(*, extra: str = "", split_at: int = 40) -> list[str]:
    """A unified settings blob split over settings= / settings2= like Amazon does."""
    aliases = [
        {"attribute": "fulfillment_availability#1.fulfillment_channel_code",
         "aliases": {"Fulfilment by Merchant (Default)": "DEFAULT",
                     "Fulfilment by Amazon (EU)": "AMAZON_EU"}},
    ]
    encoded = base64.b64encode(json.dumps(aliases).encode()).decode()
    blob = (
        "feedType=256&contributorId=amzn1.cr.o.A190P9F3Y5ZWH&primaryMarketplaceId=amzn1.mp.o."
        "A1F83G8C2ARO7P&contentLanguageTag=en_GB&labelRow=4&attributeRow=5&dataRow=7"
        "&flavor=seller-price-quantity&listingsItemRequirement=LISTING_OFFER_ONLY"
        f"&attributeSettings={encoded}&TemplateType=unified&Version=2026.0828{extra}"
    )
    return ["settings=" + blob[:split_at], "settings2=" + blob[split_at:], "", ""]


def test_settings_split_over_cells_are_joined_in_their_numbered_order() -> None:
    row = unified_row1()
    swapped = [row[1], row[0]]
    assert parse_settings(row) == parse_settings(swapped)
    settings = parse_settings(row)
    assert settings is not None
    assert settings["attributeRow"] == "5" and settings["TemplateType"] == "unified"
    assert settings["primaryMarketplaceId"] == "amzn1.mp.o.A1F83G8C2ARO7P"


def test_no_settings() -> None:
    assert parse_settings(["sku", "price"]) is None
    assert detect_template(["sku", "price", "quantity"]) is None
    assert detect_template([]) is None


def test_unified_geometry_comes_from_settings() -> None:
    layout = detect_template(unified_row1())
    assert layout is not None
    assert (layout.family, layout.header_rows, layout.label_row, layout.data_row) == (
        "unified", (5,), 4, 7
    )
    assert layout.primary_marketplace == "A1F83G8C2ARO7P"
    notes = layout.notes()
    assert notes["flavor"] == "seller-price-quantity" and notes["labelRow"] == 4
    assert "contributorId" not in notes


def test_unified_rows_elsewhere_are_followed() -> None:
    blob = "settings=TemplateType=unified&attributeRow=2&labelRow=1&dataRow=3"
    layout = detect_template([blob])
    assert layout is not None and (layout.header_rows, layout.data_row) == ((2,), 3)


def test_fptcustom_with_settings() -> None:
    layout = detect_template(FPT_ROW1)
    assert layout is not None
    assert (layout.family, layout.header_rows, layout.label_row, layout.data_row) == (
        "fptcustom", (3,), 2, 4
    )
    assert layout.primary_marketplace == "ATVPDKIKX0DER"
    assert layout.settings["Version"] == "2023.0509"


@pytest.mark.parametrize(
    "row1",
    [
        ["TemplateType=fptcustom", "Version=2019.1010", "TemplateSignature=U0hJUlQ="],
        ["TemplateType=fptcustom", "Version=2021.0101",
         "settings=contentLanguageTag=en_US&feedType=610841&primaryMarketplaceId=amzn1.mp.o."
         "ATVPDKIKX0DER"],
    ],
)
def test_older_fptcustom_without_row_keys_use_the_usual_rows(row1: list[str]) -> None:
    layout = detect_template(row1)
    assert layout is not None
    assert (layout.family, layout.header_rows, layout.data_row) == ("fptcustom", (3,), 4)


@pytest.mark.parametrize(
    ("row1", "family", "candidates"),
    [
        (["TemplateType=PriceInventory", "Version=2018.0924", "この行はAmazonが使用します"],
         "price-inventory", (3, 2)),
        (["TemplateType=InventoryLoader", "Version=2020.0805"], "inventory-loader", (3, 2)),
        (["TemplateType=Offer", "Version=1.4"], "offer-loader", (2, 3)),
        (["TemplateType=Mystery"], "template-mystery", (2, 3)),
    ],
)
def test_template_type_families(row1: list[str], family: str, candidates: tuple[int, ...]) -> None:
    layout = detect_template(row1)
    assert layout is not None
    assert (layout.family, layout.header_rows, layout.data_row) == (family, candidates, None)


@pytest.mark.parametrize(
    ("header", "family"),
    [
        (["sku", "price", "minimum-seller-allowed-price", "maximum-seller-allowed-price",
          "quantity", "fulfillment-channel", "handling-time"], "price-inventory-flat"),
        (["sku", "product-id", "product-id-type", "price", "item-condition", "quantity",
          "add-delete"], "inventory-loader-flat"),
        (["SKU", "Price", "Quantity"], "native"),
        (["Seller SKU", "Minimum Seller Allowed Price", "Handling Time"], "native"),
        (["price", "quantity"], "native"),
    ],
)
def test_flat_family(header: list[Any], family: str) -> None:
    assert flat_family(header) == family


def test_value_aliases_from_attribute_settings() -> None:
    layout = detect_template(unified_row1())
    assert layout is not None
    aliases = settings_value_aliases(layout.settings)
    assert aliases["fulfillment_availability#1.fulfillment_channel_code"] == {
        "Fulfilment by Merchant (Default)": "DEFAULT",
        "Fulfilment by Amazon (EU)": "AMAZON_EU",
    }


@pytest.mark.parametrize("value", ["", "!!!not base64!!!", base64.b64encode(b"{}").decode(),
                                   base64.b64encode(b"[1, {\"attribute\": 3}]").decode()])
def test_value_aliases_tolerate_blobs_they_cannot_read(value: str) -> None:
    assert settings_value_aliases({"attributeSettings": value}) == {}
