"""Listings end to end: ListingValidator, FeedBuilder, kind detection, templates for a product
type, the simulator's listings rules and Product Type Definitions, the listings sample."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from sheetmaker import write_xlsx

from feeds_kit import api, templates
from feeds_kit.feed import FeedBuilder, validate_document
from feeds_kit.headers import detect_kind, map_columns
from feeds_kit.issues import Issue
from feeds_kit.listings import ListingValidator
from feeds_kit.product_types import ProductTypeCache, fetch
from feeds_kit.reading import open_sheet
from feeds_kit.rows import SheetLayout
from feeds_kit.simulator import Simulator, SimulatorConfig
from feeds_kit.simulator.testing import ManualClock, SimulatorSession
from feeds_kit.validation import RowVerdict

UK = "A1F83G8C2ARO7P"
US = "ATVPDKIKX0DER"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def flat(issues: list[Issue]) -> list[tuple[Any, ...]]:
    """(row, column, code, severity) per issue, for compact assertions."""
    return [(i.row, i.column, i.code, i.severity.value) for i in issues]


class Run:
    """What one pass of the pipeline (api._run's loop) produced."""

    def __init__(self) -> None:
        self.layout: SheetLayout | None = None
        self.issues: list[Issue] = []
        self.verdicts: list[RowVerdict] = []
        self.documents: list[dict[str, Any]] = []
        self.manifest: Any = None


def run(path: Path, tmp_path: Path, *, marketplace: str | None = None,
        cache: ProductTypeCache | None = None, **options: Any) -> Run:
    """Our copy of ``api._run``'s loop, with the ListingValidator and the FeedBuilder."""
    result = Run()
    with open_sheet(path, **options) as source:
        layout = source.layout
        result.layout = layout
        result.issues.extend(source.issues)
        assert source.structure_ok, flat(source.issues)
        validator = ListingValidator(layout, marketplace=marketplace, cache=cache)
        builder = FeedBuilder(layout, seller_id="A2SELLER", output=tmp_path / "out" / "feed.json",
                              product_types=validator.cache)
        for row in source.rows():
            verdict = validator.evaluate(row)
            result.verdicts.append(verdict)
            result.issues.extend(verdict.issues)
            for earlier in verdict.retracted:
                builder.discard(earlier)
            if verdict.valid and verdict.marketplace_id is not None:
                builder.add(row, verdict.marketplace_id)
        result.issues.extend(validator.finish())
        for late in validator.invalid_at_finish:
            builder.discard(late)
        built = builder.finish()
    for doc in built.documents:
        data = json.loads(doc.path.read_text("utf-8"))
        assert validate_document(data) == []
        result.documents.append(data)
    result.manifest = built.manifest
    return result


SHIRT_HEADERS = [
    "SKU", "Product Type", "Operation", "Marketplace", "item_name", "brand", "department",
    "color", "Bullet Point 1", "Bullet Point 2",
    "supplier_declared_has_product_identifier_exemption",
    "shirt_size#1.size_system", "shirt_size#1.size_class", "shirt_size#1.size",
    "shirt_size#1.body_type", "shirt_size#1.height_type",
]


def shirt(sku: str, operation: str = "update", **changes: Any) -> list[Any]:
    """A complete SHIRT row for the UK (``changes`` by header, ``None`` to blank a cell)."""
    values = dict(zip(SHIRT_HEADERS, [
        sku, "SHIRT", operation, "UK", f"Oxford shirt {sku}", "Acme", "Men's", "White",
        "100% cotton", "Button-down collar", "Yes", "UK", "Alpha", "M", "Regular", "Regular",
    ], strict=True))
    values.update(changes)
    return [values[h] for h in SHIRT_HEADERS]


# --- the validator ------------------------------------------------------------------------------


def test_valid_rows_build_update_partial_update_and_delete(tmp_path: Path) -> None:
    rows = [
        SHIRT_HEADERS,
        shirt("SH-1"),
        [*shirt("SH-2", "PartialUpdate")[:5], *[None] * (len(SHIRT_HEADERS) - 5)],
        ["SH-3", None, "Delete", "UK", *[None] * (len(SHIRT_HEADERS) - 4)],
    ]
    path = write_xlsx(tmp_path / "shirts.xlsx", rows, sheet="Listings")
    result = run(path, tmp_path)
    assert result.layout is not None and result.layout.kind == "listings"
    assert flat(result.issues) == []
    assert [v.valid for v in result.verdicts] == [True, True, True]
    (doc,) = result.documents
    text = {"marketplace_id": UK, "language_tag": "en_GB"}
    assert doc["messages"] == [
        {
            "messageId": 1, "sku": "SH-1", "operationType": "UPDATE", "productType": "SHIRT",
            "requirements": "LISTING",
            "attributes": {
                "item_name": [{**text, "value": "Oxford shirt SH-1"}],
                "brand": [{**text, "value": "Acme"}],
                "department": [{**text, "value": "mens"}],
                "color": [{**text, "value": "White"}],
                "bullet_point": [{**text, "value": "100% cotton"},
                                 {**text, "value": "Button-down collar"}],
                "supplier_declared_has_product_identifier_exemption": [
                    {"marketplace_id": UK, "value": True}],
                "shirt_size": [{"marketplace_id": UK, "size_system": "as3", "size_class": "alpha",
                                "size": "m", "body_type": "regular", "height_type": "regular"}],
            },
        },
        {
            "messageId": 2, "sku": "SH-2", "operationType": "PARTIAL_UPDATE",
            "productType": "SHIRT",
            "attributes": {"item_name": [{**text, "value": "Oxford shirt SH-2"}]},
        },
        {"messageId": 3, "sku": "SH-3", "operationType": "DELETE"},
    ]
    messages = result.manifest.documents[0].messages
    assert messages[1].operation == "UPDATE" and messages[1].row == 2
    assert messages[1].attributes["bullet_point"].to_json() == ["I", "Bullet Point 1"]
    assert messages[1].attributes["department"].to_json() == ["G", "department"]
    # A partial update maps the columns it leaves blank too, for Amazon's own findings.
    assert messages[2].attributes["brand"].to_json() == ["F", "brand"]
    assert messages[3].attributes == {}


def test_findings_land_on_their_cells(tmp_path: Path) -> None:
    rows = [
        SHIRT_HEADERS,
        shirt("SH-1", brand=None),                              # required, blank
        shirt("SH-2", **{"Bullet Point 2": "é" * 300}),         # 600 bytes > 500
        shirt("SH-3", Operation="replace"),                     # not an operation
        shirt("SH-4", Marketplace=None),                        # no marketplace anywhere
        shirt("SH-5", **{"Product Type": "shirt-2"}),           # not a product type name
        shirt("S" * 41),                                        # SKU too long
    ]
    path = write_xlsx(tmp_path / "shirts.xlsx", rows, sheet="Listings")
    result = run(path, tmp_path)
    assert flat(result.issues) == [
        (2, "F", "attribute-required", "error"),
        (3, "J", "attribute-too-many-bytes", "error"),
        (4, "C", "not-allowed-value", "error"),
        (5, "D", "listing-missing-marketplace", "error"),
        (6, "B", "listing-bad-product-type", "error"),
        (7, "A", "sku-too-long", "error"),
    ]
    by_row = {i.row: i for i in result.issues}
    assert by_row[2].sentence() == (
        'Row 2, column F "brand": "Brand Name" (brand) is required by product type SHIRT — '
        "fill the brand column."
    )
    assert by_row[3].message == "600 bytes, at most 500 allowed"
    assert by_row[6].sentence() == (
        "Row 6, column B \"Product Type\": 'shirt-2' is not a product type name — write "
        "Amazon's product type name, letters, digits and underscores, e.g. SHIRT."
    )
    assert [v.valid for v in result.verdicts] == [False] * 6
    assert result.documents == []


def test_marketplace_option_duplicates_and_regions(tmp_path: Path) -> None:
    luggage = ["sku", "product_type", "operation", "marketplace", "item_name"]
    rows = [
        luggage,
        ["L-1", "LUGGAGE", "partial_update", "US", "Cabin case"],
        ["L-2", "LUGGAGE", "partial_update", None, "Cabin case 2"],
        ["L-1", "LUGGAGE", "partial_update", "US", "Cabin case again"],
        ["S-1", "SHIRT", "partial_update", "UK", "Shirt"],
    ]
    path = write_xlsx(tmp_path / "mixed.xlsx", rows, sheet="Listings")
    result = run(path, tmp_path, marketplace="US")
    assert flat(result.issues) == [
        (4, "A", "duplicate-sku", "error"),
        (2, "A", "duplicate-sku", "error"),
        (5, "D", "mixed-regions", "error"),
    ]
    assert result.verdicts[1].marketplace_id == US  # the --marketplace option fills the blank
    assert result.verdicts[2].retracted == [2]
    # Only row 3 is left: rows 2 and 4 are duplicates, row 5 the minority region.
    assert [(m["sku"], m["attributes"]["item_name"][0]["value"])
            for m in result.documents[0]["messages"]] == [("L-2", "Cabin case 2")]


def test_header_findings_come_once(tmp_path: Path) -> None:
    rows = [
        ["sku", "product_type", "marketplace", "item_name", "item_name#1.value", "bad[name#1"],
        ["S-1", "SHIRT", "UK", "A", None, None],
        ["S-2", "SHIRT", "UK", "B", None, None],
    ]
    path = write_xlsx(tmp_path / "h.xlsx", rows, sheet="Listings")
    with open_sheet(path, kind="listings") as source:
        validator = ListingValidator(source.layout)
        verdicts = [validator.evaluate(row) for row in source.rows()]
    first = [(i.row, i.column, i.code) for i in verdicts[0].issues[:2]]
    assert first == [(1, "E", "duplicate-attribute-path"), (1, "F", "malformed-attribute-path")]
    assert not any(i.code.endswith("attribute-path") for i in verdicts[1].issues)
    assert validator.finish() == []


def test_listing_validator_refuses_other_kinds() -> None:
    layout = SheetLayout(file="o.csv", sheet=None, kind="offers", header_row=1, data_row=2,
                         columns=[])
    with pytest.raises(Exception, match="reads listings sheets, not offers ones"):
        ListingValidator(layout)


# --- kind detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        (["sku", "product_type", "item_name"], "listings"),
        (["item_sku", "feed_product_type", "update_delete"], "listings"),
        (["contribution_sku#1.value", "::record_action"], "listings"),
        (["sku", "item_name[marketplace_id=ATVPDKIKX0DER][language_tag=en_US]#1.value"],
         "listings"),
        (["sku", "bullet_point#2"], "listings"),
        # Offer-only attribute paths (Amazon's offer-only and P&Q templates) stay offers.
        (["contribution_sku#1.value", "condition_type#1.value",
          "fulfillment_availability#1.quantity",
          "purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=ALL]#1.our_price#1"
          ".schedule#1.value_with_tax"], "offers"),
        (["contribution_sku#1.value", "other_offer_image_locator_3#1.media_location",
          "fulfillment_availability#1.quantity"], "inventory"),
        (["sku", "price", "quantity"], "offers"),
        (["sku", "item_name"], "offers"),  # a bare name is no proof: could be a seller's note
    ],
)
def test_detect_kind(headers: list[str], kind: str) -> None:
    assert map_columns(headers).kind == kind


def test_detect_kind_keeps_its_old_signature() -> None:
    assert detect_kind(["sku", "price"]) == "prices"
    assert detect_kind(["sku", "operation"]) == "listings"


# --- templates for a product type ---------------------------------------------------------------


def test_template_for_a_product_type(tmp_path: Path) -> None:
    out = templates.write_template("listings", tmp_path / "shirt.xlsx", product_type="shirt")
    wb = openpyxl.load_workbook(out)
    ws = wb["Listings"]
    headers = [c.value for c in ws[1]]
    assert headers[:6] == ["SKU", "Product Type", "Operation", "Marketplace", "Language",
                           "Requirements"]
    # Required attributes first, in schema order; then conditional ones; hidden ones left out.
    assert headers[6:10] == ["item_name#1.value", "brand#1.value", "department#1.value",
                             "color#1.value"]
    assert "shirt_size#1.size" in headers
    assert [h for h in headers if h and h.startswith("bullet_point")] == [
        f"bullet_point#{n}.value" for n in range(1, 6)]
    department = ws.cell(row=1, column=headers.index("department#1.value") + 1)
    assert department.comment is not None
    assert "Required for update (create or replace)." in department.comment.text
    assert "Allowed values: Men's, Women's, Unisex, Boys', Girls'." in department.comment.text
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    letter = openpyxl.utils.get_column_letter(headers.index("shirt_size#1.size") + 1)
    assert lists[f"{letter}2:{letter}1048576"] == '"S,M,L,XL"'
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props[templates.PRODUCT_TYPE_PROPERTY] == "SHIRT"
    instructions = [c.value for c in wb["Instructions"]["A"] if c.value]
    assert "Product type SHIRT (Shirt) for UK" in instructions
    assert ("Required for update: item_name#1.value, brand#1.value, department#1.value, "
            "color#1.value.") in instructions


def test_filled_product_type_template_round_trips(tmp_path: Path) -> None:
    out = templates.write_template("listings", tmp_path / "shirt.xlsx", product_type="SHIRT",
                                   marketplace="UK")
    wb = openpyxl.load_workbook(out)
    ws = wb["Listings"]
    headers = [c.value for c in ws[1]]
    fill = {
        "SKU": "SH-9", "Product Type": "SHIRT", "Operation": "update",
        "item_name#1.value": "Linen shirt", "brand#1.value": "Acme",
        "department#1.value": "Women's", "color#1.value": "Blue",
        "color#1.standardized_values#1": "Blue", "shirt_size#1.size_system": "EU",
        "shirt_size#1.size_class": "Alpha", "shirt_size#1.size": "L",
        "shirt_size#1.body_type": "Big", "shirt_size#1.height_type": "Tall",
        "merchant_suggested_asin#1.value": "B000123456",
    }
    for col, header in enumerate(headers, start=1):
        if header in fill:
            ws.cell(row=2, column=col, value=fill[header])
    wb.save(out)
    result = run(out, tmp_path, marketplace="UK")
    assert flat(result.issues) == []
    attributes = result.documents[0]["messages"][0]["attributes"]
    assert attributes["department"] == [{"marketplace_id": UK, "language_tag": "en_GB",
                                         "value": "womens"}]
    assert attributes["color"][0]["standardized_values"] == ["blue"]
    assert attributes["shirt_size"] == [{"marketplace_id": UK, "size_system": "as4",
                                         "size_class": "alpha", "size": "l", "body_type": "big",
                                         "height_type": "tall"}]


def test_template_without_product_type_is_unchanged_and_unknown_type_says_how(
    tmp_path: Path
) -> None:
    out = templates.write_template("listings", tmp_path / "plain.xlsx", marketplace="US")
    headers = [c.value for c in openpyxl.load_workbook(out)["Listings"][1]]
    assert headers == ["SKU", "Product Type", "Operation", "Marketplace", "Language",
                       "Requirements"]
    with pytest.raises(Exception) as caught:
        templates.write_template("listings", tmp_path / "x.xlsx", product_type="SOFA",
                                 marketplace="DE", cache=ProductTypeCache(tmp_path / "c"))
    assert str(caught.value) == (
        "No schema of product type SOFA for DE is at hand: fetch it first with feeds-kit "
        "product-types fetch SOFA --marketplace DE."
    )
    with pytest.raises(Exception, match="--product-type makes a listings template"):
        templates.write_template("offers", tmp_path / "o.xlsx", product_type="SHIRT")


def test_text_template_for_a_product_type(tmp_path: Path) -> None:
    out = templates.write_template("listings", tmp_path / "shirt.csv", product_type="SHIRT")
    header = out.read_text("utf-8-sig").splitlines()[0].split(",")
    assert header[:7] == ["SKU", "Product Type", "Operation", "Marketplace", "Language",
                          "Requirements", "item_name#1.value"]


# --- the simulator ------------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(seed=7), clock=clock) as simulator:
        yield simulator


def test_simulator_checks_updates_against_their_product_type(
    sim: Simulator, clock: ManualClock
) -> None:
    session = SimulatorSession(sim)
    text = {"marketplace_id": UK, "language_tag": "en_GB"}
    messages = [
        {"messageId": 1, "sku": "NEW-1", "operationType": "UPDATE", "productType": "SHIRT",
         "requirements": "LISTING",
         "attributes": {"item_name": [{**text, "value": "Shirt"}],
                        "color": [{**text, "value": "Red"}]}},
        {"messageId": 2, "sku": "NEW-2", "operationType": "PARTIAL_UPDATE",
         "productType": "SHIRT", "attributes": {"item_name": [{**text, "value": "Shirt"}]}},
        {"messageId": 3, "sku": "NEW-3", "operationType": "UPDATE", "productType": "SHIRT",
         "requirements": "LISTING_OFFER_ONLY",
         "attributes": {"fulfillment_availability": [
             {"fulfillment_channel_code": "DEFAULT", "quantity": 2}]}},
    ]
    feed_id = session.submit({"header": {"sellerId": session.seller_id, "version": "2.0"},
                              "messages": messages}, marketplace_ids=[UK])
    session.wait(feed_id, clock=clock)
    report = session.report(feed_id)
    assert [(i["messageId"], i["code"], i.get("attributeName"), i["message"])
            for i in report["issues"]] == [
        (1, "90220", "brand", "'brand' is required but not supplied."),
        (1, "90220", "department", "'department' is required but not supplied."),
        (2, "90101", None, "The SKU 'NEW-2' does not exist for this seller, so it cannot be "
                           "updated; create it with an UPDATE message first."),
    ]
    assert report["summary"]["messagesAccepted"] == 1


def test_product_types_fetch_from_the_simulator(tmp_path: Path) -> None:
    with api.local_simulator(marketplace="UK") as (_simulator, settings):
        client = api.local_client(settings)
        cache = ProductTypeCache(tmp_path / "cache", packaged=False)
        entry = fetch(client, "SHIRT", "UK", cache=cache)
        relaxed = fetch(client, "SHIRT", "UK", enforced=False, cache=cache)
    assert (entry.product_type, entry.marketplace_id, entry.enforced) == ("SHIRT", UK, True)
    assert entry.schema["required"] == ["brand", "item_name", "department", "color"]
    assert "required" not in relaxed.schema
    assert sorted((e.product_type, e.enforced, e.source) for e in cache.entries()) == [
        ("SHIRT", False, "cache"), ("SHIRT", True, "cache")]


# --- the sample, end to end ---------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FEEDS_KIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("LWA_CLIENT_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN", "LWA_APP_ID",
                 "SP_API_SELLER_ID", "SP_API_REGION", "FEEDS_KIT_ENDPOINT",
                 "FEEDS_KIT_LWA_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def test_sample_is_deterministic(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_listings_sample",
                                                  SAMPLES / "make_listings_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.listings_shirt_uk(tmp_path)
    assert written.read_bytes() == (SAMPLES / "listings-shirt-uk.xlsx").read_bytes()


def test_sample_submit_without_skip_invalid_sends_nothing(home: Path) -> None:
    result = CliRunner().invoke(api_cli(), [
        "submit", str(SAMPLES / "listings-shirt-uk.xlsx"), "--local", "--yes",
        "--kind", "listings", "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert [(i["row"], i["column"], i["code"]) for i in data["issues"]] == [
        (4, "Q", "attribute-too-many-bytes")]


def test_sample_submit_end_to_end(home: Path, tmp_path: Path) -> None:
    annotated = tmp_path / "verdict.xlsx"
    result = CliRunner().invoke(api_cli(), [
        "submit", str(SAMPLES / "listings-shirt-uk.xlsx"), "--local", "--yes",
        "--kind", "listings", "--skip-invalid", "--format", "json",
        "--annotate", str(annotated)])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    found = sorted((i["row"], i["column"], i["code"], i["source"]) for i in data["issues"])
    assert found == [
        (4, "Q", "attribute-too-many-bytes", "local"),
        (6, None, "90101", "amazon"),
    ]
    wb = openpyxl.load_workbook(annotated)
    assert wb.sheetnames[0] == "Summary"


def test_amazon_finding_maps_to_the_blank_column(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No schema at hand locally: the row is sent unchecked and Amazon names what is missing.
    empty = ProductTypeCache(tmp_path / "none", packaged=False)

    def unchecked(layout: SheetLayout, *, marketplace: Any = None) -> Any:
        return ListingValidator(layout, marketplace=marketplace, cache=empty)

    import feeds_kit.listings

    monkeypatch.setattr(feeds_kit.listings, "ListingValidator", unchecked)
    rows = [SHIRT_HEADERS, shirt("SH-NEW", brand=None, department=None)]
    path = write_xlsx(tmp_path / "new.xlsx", rows, sheet="Listings")
    result = CliRunner().invoke(api_cli(), [
        "submit", str(path), "--local", "--yes", "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    found = [(i["row"], i["column"], i["header"], i["code"], i["severity"], i["source"])
             for i in data["issues"]]
    assert found == [
        (2, "B", "Product Type", "product-type-not-cached", "warning", "local"),
        (2, "F", "brand", "90220", "error", "amazon"),
        (2, "G", "department", "90220", "error", "amazon"),
    ]


def api_cli() -> Any:
    from feeds_kit.cli import cli

    return cli


def test_a_listings_sheet_without_rows_says_so(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", [SHIRT_HEADERS], sheet="Listings")
    result = api.validate_file(path, kind="listings")
    assert [i.code for i in result.report.errors] == ["no-data-rows"]
    assert result.exit_code() == 1


def test_amazons_operation_spellings_need_no_workaround(tmp_path: Path) -> None:
    rows = [SHIRT_HEADERS, shirt("SH-1")]
    rows[1][SHIRT_HEADERS.index("Operation")] = "PartialUpdate"
    path = write_xlsx(tmp_path / "op.xlsx", rows, sheet="Listings")
    result = api.validate_file(path, kind="listings")
    assert not [i for i in result.report.issues if i.field == "operation"]
