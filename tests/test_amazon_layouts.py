"""Amazon's own spreadsheets, end to end: for every header layout in
``tests/data/amazon-templates/``, a workbook built on those exact header rows plus data rows
written here validates and builds to the expected feed messages; the annotated copy keeps
Amazon's layout (and an ``.xlsm`` its macros)."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from feeds_kit.feed import FeedBuilder, validate_document
from feeds_kit.issues import Issue, Report
from feeds_kit.listings import ListingValidator
from feeds_kit.reading import open_sheet
from feeds_kit.rows import SheetLayout
from feeds_kit.validation import RowValidator
from feeds_kit.workbook import annotate_workbook

DATA = Path(__file__).resolve().parent / "data" / "amazon-templates"
EG = "ARBP9OOSHTCHU"
ES = "A1RKKUPIHCS9HS"
UK = "A1F83G8C2ARO7P"
US = "ATVPDKIKX0DER"


def header_rows(name: str) -> list[list[str]]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return [list(row) for row in csv.reader(fh)]


def place(headers: list[str], values: dict[str, Any]) -> list[Any]:
    """A data row: each value under the header (as written in the template) it names."""
    row: list[Any] = [None] * len(headers)
    for header, value in values.items():
        row[headers.index(header)] = value
    return row


def workbook(path: Path, rows: list[list[Any]], sheet: str = "Template") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


class Outcome:
    """Issues, verdicts, documents and the layout of one pipeline pass."""

    def __init__(self, layout: SheetLayout, report: Report, messages: list[dict[str, Any]],
                 manifest: Any) -> None:
        self.layout = layout
        self.report = report
        self.messages = messages
        self.manifest = manifest

    def issues(self) -> list[tuple[Any, ...]]:
        return [(i.row, i.column, i.code) for i in self.report.issues]


def pipeline(path: Path, tmp_path: Path, *, marketplace: str | None = None) -> Outcome:
    """api._run's loop with the validator ``api`` is to choose by kind, then the builder;
    ``marketplace`` is the --marketplace option."""
    report = Report(file=str(path))
    with open_sheet(path) as source:
        layout = source.layout
        report.extend(source.issues)
        assert source.structure_ok, [i.sentence() for i in source.issues]
        validator: Any = (ListingValidator(layout, marketplace=marketplace)
                          if layout.kind == "listings"
                          else RowValidator(layout, marketplace=marketplace))
        builder = FeedBuilder(layout, seller_id="A2SELLER", output=tmp_path / "o" / "feed.json")
        for row in source.rows():
            verdict = validator.evaluate(row)
            report.extend(verdict.issues)
            report.rows += 1
            for earlier in verdict.retracted:
                builder.discard(earlier)
            if verdict.valid and verdict.marketplace_id is not None:
                builder.add(row, verdict.marketplace_id)
        report.extend(validator.finish())
        built = builder.finish()
    messages: list[dict[str, Any]] = []
    for doc in built.documents:
        data = json.loads(doc.path.read_text("utf-8"))
        assert validate_document(data) == []
        messages.extend(data["messages"])
    return Outcome(layout, report, messages, built.manifest)


def errors(issues: list[Issue]) -> list[str]:
    return [i.sentence() for i in issues if i.is_error]


def offer(market: str, currency: str, price: float) -> dict[str, Any]:
    return {"op": "merge", "path": "/attributes/purchasable_offer", "value": [
        {"marketplace_id": market, "currency": currency, "audience": "ALL",
         "our_price": [{"schedule": [{"value_with_tax": price}]}]}]}


def stock(quantity: int, **extra: Any) -> dict[str, Any]:
    return {"op": "merge", "path": "/attributes/fulfillment_availability", "value": [
        {"fulfillment_channel_code": "DEFAULT", "quantity": quantity, **extra}]}


def patch(message_id: int, sku: str, *patches: dict[str, Any]) -> dict[str, Any]:
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH",
            "productType": "PRODUCT", "patches": list(patches)}


# --- the retired flat files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "market", "currency"),
    [("price-inventory-flat.es.csv", ES, "EUR"), ("price-inventory-flat.eg.csv", EG, "EGP")],
)
def test_price_and_quantity_flat_file(tmp_path: Path, name: str, market: str, currency: str
                                      ) -> None:
    (headers,) = header_rows(name)
    rows = [
        headers,
        place(headers, {"sku": "PQ-1", "price": 19.5, "quantity": 4, "handling-time": 2}),
        place(headers, {"sku": "PQ-2", "quantity": 0}),
        place(headers, {"sku": "PQ-3", "price": 7, "fulfillment-channel": "amazon"}),
    ]
    path = workbook(tmp_path / "pq.xlsx", rows)
    # The flat file names no marketplace: said once, and nothing is built.
    alone = pipeline(path, tmp_path)
    assert (alone.layout.family, alone.layout.kind) == ("price-inventory-flat", "offers")
    assert alone.issues() == [(None, None, "marketplace-missing")]
    assert alone.messages == []
    outcome = pipeline(path, tmp_path, marketplace=market)
    assert outcome.issues() == []
    assert outcome.messages == [
        patch(1, "PQ-1", offer(market, currency, 19.5),
              stock(4, lead_time_to_ship_max_days=2)),
        patch(2, "PQ-2", stock(0)),
        patch(3, "PQ-3", offer(market, currency, 7)),
    ]
    entry = outcome.manifest.documents[0].messages[1]
    assert entry.attributes["purchasable_offer"].to_json() == ["B", "price"]


def test_inventory_loader_flat_file(tmp_path: Path) -> None:
    (headers,) = header_rows("inventory-loader-flat.us.csv")
    assert len(headers) == 45
    rows = [
        headers,
        place(headers, {"sku": "IL-1", "price": 12.99, "quantity": 3, "handling-time": 1,
                        "item-condition": 11, "add-delete": "a"}),
        place(headers, {"sku": "IL-2", "price": 8, "fulfillment-center-id": "AMAZON_NA"}),
    ]
    outcome = pipeline(workbook(tmp_path / "il.xlsx", rows), tmp_path, marketplace="US")
    assert (outcome.layout.family, outcome.layout.kind) == ("inventory-loader-flat", "offers")
    # Its product-safety columns are not offer fields, never sent: the first 20 reported one
    # by one, the rest counted in one warning.
    codes = [code for _, _, code in outcome.issues()]
    assert codes.count("unknown-column") == 20
    assert set(codes) == {"unknown-column", "unknown-columns-more"}
    assert errors(outcome.report.issues) == []
    assert outcome.messages == [
        patch(1, "IL-1", offer(US, "USD", 12.99), stock(3, lead_time_to_ship_max_days=1)),
        patch(2, "IL-2", offer(US, "USD", 8)),  # Fulfilled by Amazon: no availability
    ]


# --- fptcustom category templates -------------------------------------------------------------


def test_fptcustom_category_template(tmp_path: Path) -> None:
    top = header_rows("fptcustom-3row.guild-home.us-2023-05-09.csv")
    names = top[2]
    data = [
        place(names, {
            "feed_product_type": "guildhome", "item_sku": "GH-1", "brand_name": "Acme",
            "update_delete": "Update", "item_name": "Linen napkins, set of 4",
            "product_description": "Stone-washed linen.", "bullet_point1": "100% linen",
            "bullet_point2": "Machine washable", "generic_keywords": "napkins table",
            "color_name": "Sand", "standard_price": 24.99, "quantity": 12,
            "main_image_url": "https://example.com/gh1.jpg",
            "pt2_image_url": "https://example.com/gh1-2.jpg",
            "package_weight": 0.4, "package_weight_unit_of_measure": "KG",
        }),
        place(names, {"feed_product_type": "guildhome", "item_sku": "GH-2",
                      "update_delete": "PartialUpdate", "standard_price": 9.5}),
        place(names, {"item_sku": "GH-3", "update_delete": "Delete"}),
        place(names, {"feed_product_type": "guildhome", "item_sku": "GH-4",
                      "update_delete": "Replace", "item_name": "x"}),
    ]
    path = workbook(tmp_path / "GUILD_HOME.xlsx", [*top, *data])
    outcome = pipeline(path, tmp_path)
    layout = outcome.layout
    assert (layout.family, layout.kind, layout.header_row, layout.data_row) == (
        "fptcustom", "listings", 3, 4)
    assert outcome.issues() == [
        (4, "A", "product-type-not-cached"),
        (5, "A", "product-type-not-cached"),
        (7, "D", "not-allowed-value"),
    ]
    assert outcome.report.issues[0].message == (
        "the schema of product type GUILD_HOME for US is not cached, so the attributes were "
        "not checked"
    )
    text = {"marketplace_id": US, "language_tag": "en_US"}
    assert outcome.messages == [
        {"messageId": 1, "sku": "GH-1", "operationType": "UPDATE", "productType": "GUILD_HOME",
         "requirements": "LISTING", "attributes": {
             "brand": [{**text, "value": "Acme"}],
             "item_name": [{**text, "value": "Linen napkins, set of 4"}],
             "product_description": [{**text, "value": "Stone-washed linen."}],
             "purchasable_offer": [{"marketplace_id": US, "currency": "USD", "audience": "ALL",
                                    "our_price": [{"schedule": [{"value_with_tax": 24.99}]}]}],
             "fulfillment_availability": [{"quantity": 12, "fulfillment_channel_code": "DEFAULT"}],
             "main_product_image_locator": [{"media_location": "https://example.com/gh1.jpg"}],
             "other_product_image_locator_2": [
                 {"media_location": "https://example.com/gh1-2.jpg"}],
             "color": [{**text, "value": "Sand"}],
             "generic_keyword": [{**text, "value": "napkins table"}],
             "bullet_point": [{**text, "value": "100% linen"},
                              {**text, "value": "Machine washable"}],
             "item_package_weight": [{"value": 0.4, "unit": "KG"}],
         }},
        {"messageId": 2, "sku": "GH-2", "operationType": "PARTIAL_UPDATE",
         "productType": "GUILD_HOME", "attributes": {
             "purchasable_offer": [{"marketplace_id": US, "currency": "USD", "audience": "ALL",
                                    "our_price": [{"schedule": [{"value_with_tax": 9.5}]}]}]}},
        {"messageId": 3, "sku": "GH-3", "operationType": "DELETE"},
    ]
    entry = outcome.manifest.documents[0].messages[1]
    assert entry.row == 4
    assert entry.attributes["bullet_point"].to_json() == ["AX", "bullet_point1"]
    assert entry.attributes["brand"].to_json() == ["C", "brand_name"]


# --- unified templates ----------------------------------------------------------------------


def b64(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def settings_cells(pairs: dict[str, str], size: int = 400) -> list[str]:
    """Row 1 of a unified template: the query string split over ``settings=``,
    ``settings2=``, ... cells, as Amazon splits blobs longer than a cell."""
    from urllib.parse import urlencode

    blob = urlencode(pairs)
    parts = [blob[i:i + size] for i in range(0, len(blob), size)]
    return [("settings=" if n == 0 else f"settings{n + 1}=") + part
            for n, part in enumerate(parts)]


CATEGORY_ALIASES = [
    {"attribute": "::record_action", "aliases": {
        "Create or Replace (Full Update)": "full_update", "Edit (Partial Update)":
        "partial_update", "Delete": "delete"}},
    {"attribute": "amzn1.volt.ca.product_id_type", "aliases": {
        "GTIN": "gtin", "EAN": "ean", "UPC": "upc", "ASIN": "asin", "GTIN Exempt": "exempt"}},
    {"attribute": f"parentage_level[marketplace_id={EG}]#1.value", "aliases": {
        "Parent": "parent", "Child": "child"}},
    {"attribute": f"batteries_required[marketplace_id={EG}]#1.value", "aliases": {
        "Yes": "true", "No": "false"}},
    {"attribute": "fulfillment_availability#1.fulfillment_channel_code", "aliases": {
        "Fulfilment by Merchant (Default)": "DEFAULT"}},
]


def category_row1() -> list[str]:
    return settings_cells({
        "AttributeDefaultValues": b64({"::record_action": "full_update"}),
        "attributeRow": "5", "labelRow": "4", "dataRow": "7",
        "attributeSettings": b64(CATEGORY_ALIASES),
        "contentLanguageTag": "en_AE", "feedType": "256", "flavor": "full-seller",
        "listingsItemRequirement": "LISTING", "primaryMarketplaceId": f"amzn1.mp.o.{EG}",
        "ptds": base64.b64encode(b"HOME_ORGANIZERS_AND_STORAGE,BABY_PRODUCT,APPAREL").decode(),
        "TemplateType": "unified", "Version": "2026.0410",
    })


def test_unified_category_template(tmp_path: Path) -> None:
    rows_2_to_5 = header_rows("unified-category.en_AE-2026-04-10.rows2-5.csv")
    paths = rows_2_to_5[3]
    item = f"item_name[marketplace_id={EG}][language_tag=en_AE]#1.value"
    brand = f"brand[marketplace_id={EG}][language_tag=en_AE]#1.value"
    bullet = f"bullet_point[marketplace_id={EG}][language_tag=en_AE]#{{}}.value"
    price = (f"purchasable_offer[marketplace_id={EG}][audience=ALL]#1.our_price#1.schedule#1"
             ".value_with_tax")
    example = place(paths, {"contribution_sku#1.value": "ABC123", "product_type#1.value":
                            "APPAREL", "::record_action": "(Default) Create or Replace",
                            item: "Example", "amzn1.volt.ca.product_id_type": "UPC"})
    data = [
        place(paths, {
            "contribution_sku#1.value": "EG-TEE-1", "product_type#1.value": "APPAREL",
            "::record_action": "Create or Replace (Full Update)",
            f"parentage_level[marketplace_id={EG}]#1.value": "Child",
            f"child_parent_sku_relationship[marketplace_id={EG}]#1.parent_sku": "EG-TEE",
            item: "Cotton tee", brand: "Acme",
            "amzn1.volt.ca.product_id_type": "EAN", "amzn1.volt.ca.product_id_value":
            "5012345678900", bullet.format(1): "Soft", bullet.format(2): "Breathable",
            f"batteries_required[marketplace_id={EG}]#1.value": "No",
            "fulfillment_availability#1.fulfillment_channel_code":
            "Fulfilment by Merchant (Default)",
            "fulfillment_availability#1.quantity": 5, price: 250,
        }),
        place(paths, {
            "contribution_sku#1.value": "EG-TEE-2", "product_type#1.value": "APPAREL",
            item: "Cotton tee 2", "amzn1.volt.ca.product_id_type": "ASIN",
            "amzn1.volt.ca.product_id_value": "B0ABCDE123",
        }),
        place(paths, {"contribution_sku#1.value": "EG-TEE-3",
                      "product_type#1.value": "APPAREL",
                      "::record_action": "Edit (Partial Update)", price: 199}),
        place(paths, {"contribution_sku#1.value": "EG-TEE-4", "::record_action": "Delete"}),
    ]
    path = workbook(tmp_path / "category.xlsx", [category_row1(), *rows_2_to_5, example, *data])
    outcome = pipeline(path, tmp_path)
    layout = outcome.layout
    assert (layout.family, layout.kind, layout.header_row, layout.data_row) == (
        "unified", "listings", 5, 7)
    # Row 6 is Amazon's example: never data. No warning but the missing schemas.
    assert outcome.issues() == [
        (7, "B", "product-type-not-cached"),
        (8, "B", "product-type-not-cached"),
        (9, "B", "product-type-not-cached"),
    ]
    text = {"marketplace_id": EG, "language_tag": "en_AE"}
    offer_250 = {"marketplace_id": EG, "audience": "ALL", "currency": "EGP",
                 "our_price": [{"schedule": [{"value_with_tax": 250}]}]}
    assert outcome.messages == [
        {"messageId": 1, "sku": "EG-TEE-1", "operationType": "UPDATE", "productType": "APPAREL",
         "requirements": "LISTING", "attributes": {
             "parentage_level": [{"marketplace_id": EG, "value": "child"}],
             "child_parent_sku_relationship": [{"marketplace_id": EG, "parent_sku": "EG-TEE"}],
             "item_name": [{**text, "value": "Cotton tee"}],
             "brand": [{**text, "value": "Acme"}],
             "externally_assigned_product_identifier": [{"type": "ean",
                                                         "value": "5012345678900"}],
             "bullet_point": [{**text, "value": "Soft"}, {**text, "value": "Breathable"}],
             "batteries_required": [{"marketplace_id": EG, "value": False}],
             "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT",
                                           "quantity": 5}],
             "purchasable_offer": [offer_250],
         }},
        {"messageId": 2, "sku": "EG-TEE-2", "operationType": "UPDATE", "productType": "APPAREL",
         "requirements": "LISTING", "attributes": {
             "item_name": [{**text, "value": "Cotton tee 2"}],
             "merchant_suggested_asin": [{"value": "B0ABCDE123"}],
         }},
        {"messageId": 3, "sku": "EG-TEE-3", "operationType": "PARTIAL_UPDATE",
         "productType": "APPAREL", "attributes": {"purchasable_offer": [
             {**offer_250, "our_price": [{"schedule": [{"value_with_tax": 199}]}]}]}},
        {"messageId": 4, "sku": "EG-TEE-4", "operationType": "DELETE"},
    ]
    # Amazon's findings name attributes; each maps back to the template's column.
    entry = outcome.manifest.documents[0].messages[1]
    assert entry.row == 7
    assert entry.attributes["item_name"].to_json() == ["G", item]
    assert outcome.manifest.documents[0].messages[2].attributes[
        "merchant_suggested_asin"].to_json() == ["J", "amzn1.volt.ca.product_id_value"]


@pytest.mark.parametrize(
    ("name", "market", "currency", "channel_label"),
    [
        ("unified-offer-only.es_ES-2026-01-14.csv", ES, "EUR", "DEFAULT"),
        ("unified-offer-only.en_AE-2026-04-10.csv", EG, "EGP", "DEFAULT"),
        ("unified-price-quantity.en_GB-2026-08-28.secondary.csv", UK, "GBP",
         "Fulfilment by Merchant (Default)"),
    ],
)
def test_unified_offer_templates_stay_offers(tmp_path: Path, name: str, market: str,
                                             currency: str, channel_label: str) -> None:
    top = header_rows(name)
    paths = top[4]
    price = next(p for p in paths if p.startswith("purchasable_offer[")
                 and "[audience=ALL]" in p and p.endswith("#1.our_price#1.schedule#1"
                                                           ".value_with_tax"))
    example = place(paths, {"contribution_sku#1.value": "ABC123", price: "9.00",
                            "fulfillment_availability#1.quantity": 10})
    data = [
        place(paths, {"contribution_sku#1.value": "OF-1", price: 12.5,
                      "fulfillment_availability#1.fulfillment_channel_code": channel_label,
                      "fulfillment_availability#1.quantity": 7}),
        place(paths, {"contribution_sku#1.value": "OF-2", price: 30}),
    ]
    path = workbook(tmp_path / "offers.xlsx", [*top, example, *data])
    outcome = pipeline(path, tmp_path)
    layout = outcome.layout
    assert (layout.family, layout.kind, layout.header_row, layout.data_row) == (
        "unified", "offers", 5, 7)
    assert errors(outcome.report.issues) == []
    assert outcome.messages == [
        patch(1, "OF-1", offer(market, currency, 12.5), stock(7)),
        patch(2, "OF-2", offer(market, currency, 30)),
    ]


# --- the annotated copy -----------------------------------------------------------------------


def make_xlsm(xlsx: Path, xlsm: Path, vba: bytes) -> Path:
    """``xlsx`` turned into a macro workbook: a VBA project part, its relationship and the
    macro-enabled content types, as Excel saves an ``.xlsm``."""
    with zipfile.ZipFile(xlsx) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    ).replace(
        b"</Types>",
        b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
        b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    parts["xl/vbaProject.bin"] = vba
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    xlsm.write_bytes(buffer.getvalue())
    return xlsm


def test_annotated_fptcustom_xlsm_keeps_layout_and_macros(tmp_path: Path) -> None:
    top = header_rows("fptcustom-3row.guild-home.us-2023-05-09.csv")
    names = top[2]
    data = [
        place(names, {"feed_product_type": "guildhome", "item_sku": "GH-1",
                      "update_delete": "Update", "item_name": "Napkins", "brand_name": "Acme"}),
        place(names, {"feed_product_type": "guildhome", "item_sku": "GH-2",
                      "update_delete": "Replace"}),
    ]
    xlsx = workbook(tmp_path / "plain.xlsx", [*top, *data])
    vba = b"\xd0\xcf\x11\xe0 feeds-kit test VBA project"
    source = make_xlsm(xlsx, tmp_path / "GUILD_HOME.xlsm", vba)
    outcome = pipeline(source, tmp_path)
    assert (outcome.layout.family, outcome.layout.kind) == ("fptcustom", "listings")
    assert [m["sku"] for m in outcome.messages] == ["GH-1"]
    written = annotate_workbook(source, outcome.layout, outcome.report, tmp_path / "checked.xlsm")
    assert written.suffix == ".xlsm"
    with zipfile.ZipFile(written) as archive:
        assert archive.read("xl/vbaProject.bin") == vba
    wb = openpyxl.load_workbook(written, keep_vba=True)
    ws = wb["Template"]
    # Amazon's three header rows are untouched, data still starts on row 4.
    for number, expected in enumerate(top, start=1):
        got = [ws.cell(row=number, column=c).value for c in range(1, len(expected) + 1)]
        assert got == [v if v != "" else None for v in expected]
    assert ws["B5"].value == "GH-2"
    assert ws["D5"].comment is not None and "[not-allowed-value]" in ws["D5"].comment.text
