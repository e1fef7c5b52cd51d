"""Attribute-path header grammar and the assembly of ``attributes`` from a row's cells."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from feeds_kit.attribute_paths import (
    AttributeColumn,
    AttributePathError,
    ColumnMap,
    assemble,
    is_attribute_path,
    is_pseudo_name,
    json_pointer,
    parse_attribute_columns,
    parse_attribute_path,
)
from feeds_kit.manifest import CellRef
from feeds_kit.rows import Column, column_letter

US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
EG = "ARBP9OOSHTCHU"


def columns(*headers: str, fields: dict[str, str] | None = None) -> list[Column]:
    fields = fields or {}
    return [Column(i, column_letter(i), h, fields.get(h)) for i, h in enumerate(headers)]


def cells(values: dict[str, object]) -> dict[AttributeColumn, object]:
    return {
        AttributeColumn(parse_attribute_path(header), column_letter(i), header): value
        for i, (header, value) in enumerate(values.items())
    }


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "canonical", "short", "dotted"),
    [
        (
            f"item_name[marketplace_id={US}][language_tag=en_US]#1.value",
            f"item_name[marketplace_id={US}][language_tag=en_US]#1.value",
            False,
            "item_name.value",
        ),
        (
            f"purchasable_offer[marketplace_id={UK}][audience=ALL]#1.our_price#1.schedule#1"
            ".value_with_tax",
            f"purchasable_offer[marketplace_id={UK}][audience=ALL]#1.our_price#1.schedule#1"
            ".value_with_tax",
            False,
            "purchasable_offer.our_price.schedule.value_with_tax",
        ),
        ("bullet_point#2.value", "bullet_point#2.value", False, "bullet_point.value"),
        ("contribution_sku#1.value", "contribution_sku#1.value", False, "contribution_sku.value"),
        ("item_name", "item_name#1.value", True, "item_name.value"),
        ("bullet_point#2", "bullet_point#2.value", True, "bullet_point.value"),
        ("brand", "brand#1.value", True, "brand.value"),
        ("Item Name", "item_name#1.value", True, "item_name.value"),
        ("  Batteries-Required ", "batteries_required#1.value", True, "batteries_required.value"),
        ("item_name[language_tag=de_DE]", "item_name[language_tag=de_DE]#1.value", True,
         "item_name.value"),
        ("fulfillment_availability#1.quantity", "fulfillment_availability#1.quantity", False,
         "fulfillment_availability.quantity"),
        (f"unit_count[marketplace_id={EG}]#1.type[language_tag=en_AE].value",
         f"unit_count[marketplace_id={EG}]#1.type[language_tag=en_AE].value", False,
         "unit_count.type.value"),
        (f"color[marketplace_id={EG}][language_tag=en_AE]#1.standardized_values#1",
         f"color[marketplace_id={EG}][language_tag=en_AE]#1.standardized_values#1", False,
         "color.standardized_values"),
        ("epr_product_packaging#2.granular_materials#3.weight.unit",
         "epr_product_packaging#2.granular_materials#3.weight.unit", False,
         "epr_product_packaging.granular_materials.weight.unit"),
        # Selector values keep their case; names do not.
        ("Item_Name[Marketplace_ID=amzn1.mp.o.X]#1.Value",
         "item_name[marketplace_id=amzn1.mp.o.X]#1.value", False, "item_name.value"),
    ],
)
def test_parse_valid_headers(header: str, canonical: str, short: bool, dotted: str) -> None:
    path = parse_attribute_path(header)
    assert str(path) == canonical
    assert path.short is short
    assert path.dotted_name == dotted
    assert path.steps[0].index is not None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "the header is empty"),
        ("item_name[", "the '[' at position 10 is not closed"),
        ("item_name[marketplace_id]#1.value",
         "selector [marketplace_id] must look like [marketplace_id=ATVPDKIKX0DER]"),
        ("item_name[=US]#1.value", "selector [=US] must look like [marketplace_id=ATVPDKIKX0DER]"),
        ("item_name[marketplace_id=]#1.value",
         "selector [marketplace_id=] must look like [marketplace_id=ATVPDKIKX0DER]"),
        ("item_name[a=1][a=2]#1.value", "selector 'a' is given twice"),
        ("item_name#0.value", "positions start at #1, not #0"),
        ("item_name#01.value", "positions start at #1, not #01"),
        ("item_name#.value", "'#' at position 10 needs a number"),
        ("item_name#1..value", "expected an attribute name at position 13, found '.'"),
        ("item_name#1.", "the path ends with '.'"),
        ("#1.value", "expected an attribute name at position 1, found '#'"),
        ("item name#1.value", "unexpected ' ' at position 5"),
        ("item_name#1.value!", "unexpected '!' at position 18"),
        ("unit_count#1.type[language_tag=en_AE]",
         "selectors on 'type' need a property after them, e.g. .value"),
        ("::record_action", "it is a template pseudo-column, not an attribute"),
        ("amzn1.volt.ca.product_id_type", "it is a template pseudo-column, not an attribute"),
    ],
)
def test_parse_malformed_headers(header: str, reason: str) -> None:
    with pytest.raises(AttributePathError) as caught:
        parse_attribute_path(header)
    assert caught.value.reason == reason
    assert caught.value.header == header


@pytest.mark.parametrize(
    ("header", "path", "pseudo"),
    [
        ("item_name#1.value", True, False),
        (f"brand[marketplace_id={US}]", True, False),
        ("item_name", False, False),
        ("quantity-price1", False, False),
        ("::record_action", False, True),
        ("amzn1.volt.ca.product_id_value", False, True),
    ],
)
def test_path_and_pseudo_detection(header: str, path: bool, pseudo: bool) -> None:
    assert is_attribute_path(header) is path
    assert is_pseudo_name(header) is pseudo


# Row-5 names copied verbatim from Amazon's 2026 unified templates (amazon-templates/ CSVs).
REAL_HEADERS = [
    "contribution_sku#1.value",
    "externally_assigned_product_identifier#1.type",
    "merchant_suggested_asin#1.value",
    "supplemental_condition_information#1.features#3",
    "fulfillment_availability#1.is_inventory_available",
    f"purchasable_offer[marketplace_id={EG}][audience=ALL]#1.automated_pricing_merchandising_rule"
    "_plan#1.merchandising_rule.rule_id",
    f"purchasable_offer[marketplace_id={EG}][audience=ALL]#1.discounted_price#1.schedule#1.end_at",
    f"purchasable_offer[marketplace_id={EG}][audience=ALL]#1.start_at.value",
    f"purchasable_offer[marketplace_id={UK}][audience=B2B]#1.quantity_discount_plan#1.schedule#1"
    ".levels#2.lower_bound",
    f"merchant_shipping_group[marketplace_id={UK}]#1.value",
    "item_package_dimensions#1.length.unit",
    "num_batteries#2.type",
    "ghs#1.classification#4.class",
    f"compliance_media[marketplace_id={EG}][content_language=en_AE][content_type=user_manual]#1"
    ".source_location",
    f"display[marketplace_id={EG}]#1.resolution_maximum[language_tag=en_AE]#1.value",
    f"closure[marketplace_id={EG}]#1.type[language_tag=en_AE]#2.value",
    f"child_parent_sku_relationship[marketplace_id={EG}]#1.parent_sku",
]


@pytest.mark.parametrize("header", REAL_HEADERS)
def test_real_template_headers_round_trip(header: str) -> None:
    assert str(parse_attribute_path(header)) == header


REFERENCE = Path("/work/shared/reference/amazon-templates")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference templates not available")
def test_every_path_of_the_reference_templates_parses() -> None:
    names = set()
    for path in REFERENCE.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                names.update(c.strip() for c in row if is_attribute_path(c.strip()))
    assert len(names) > 300
    for name in names:
        assert str(parse_attribute_path(name)) == name


# --- columns of a sheet ----------------------------------------------------------------------


def test_parse_attribute_columns_reports_malformed_and_duplicates() -> None:
    result = parse_attribute_columns(
        columns("sku", "item_name", "bullet_point#1", "bullet_point#1.value", "brand[x]",
                "item_weight#1.unit", "item_weight#1.unit.value", fields={"sku": "sku"}),
        file="cat.xlsx", sheet="Listings", row=1,
    )
    assert [c.header for c in result.columns] == ["item_name", "bullet_point#1",
                                                   "item_weight#1.unit"]
    assert [(i.code, i.column, i.row) for i in result.issues] == [
        ("duplicate-attribute-path", "D", 1),
        ("malformed-attribute-path", "E", 1),
        ("attribute-path-conflict", "G", 1),
    ]
    assert [i.sentence() for i in result.issues] == [
        'Row 1, column D "bullet_point#1.value": \'bullet_point#1.value\' addresses the same value'
        " as column C 'bullet_point#1' — keep one of the two columns.",
        "Row 1, column E \"brand[x]\": 'brand[x]' is not an Amazon attribute path: selector [x] "
        "must look like [marketplace_id=ATVPDKIKX0DER] — write the attribute name, optionally "
        "with [key=value] selectors, #N positions and sub-properties, e.g. item_name, "
        "bullet_point#2 or item_name[marketplace_id=ATVPDKIKX0DER][language_tag=en_US]#1.value.",
        'Row 1, column G "item_weight#1.unit.value": \'item_weight#1.unit.value\' conflicts with '
        "column F 'item_weight#1.unit' at item_weight#1.unit — remove one of the two "
        "columns, or give them different #N positions.",
    ]
    assert result.issues[0].file == "cat.xlsx" and result.issues[0].sheet == "Listings"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bullet Point 2", "bullet_point#2.value"),
        ("bullet_point3", "bullet_point#3.value"),
        ("other_product_image_locator_1", "other_product_image_locator_1#1.value"),
        ("item_name", "item_name#1.value"),
        ("unknown_thing_4", "unknown_thing_4#1.value"),
    ],
)
def test_numbered_legacy_headers_resolve_against_the_product_type(header: str,
                                                                  expected: str) -> None:
    known = {"bullet_point", "item_name", "other_product_image_locator_1"}
    result = parse_attribute_columns(columns(header), known_attributes=known)
    assert [str(c.path) for c in result.columns] == [expected]


# --- assembly --------------------------------------------------------------------------------


def test_assemble_builds_amazons_shape_and_records_columns() -> None:
    assembly = assemble(
        cells({
            "item_name": "Orlando Trolley",
            "bullet_point#1": "Four wheels",
            "bullet_point#2": "TSA lock",
            "brand": "  Travelite  ",
            f"purchasable_offer[marketplace_id={US}][audience=ALL]#1.our_price#1.schedule#1"
            ".value_with_tax": 129.99,
            f"purchasable_offer[marketplace_id={US}][audience=ALL]#1.discounted_price#1.schedule#1"
            ".value_with_tax": 99.0,
            f"purchasable_offer[marketplace_id={US}][audience=ALL]#1.end_at.value": "2027-01-01",
            "fulfillment_availability#1.fulfillment_channel_code": "DEFAULT",
            "fulfillment_availability#1.quantity": 7,
            "color#1.standardized_values#1": "blue",
            "generic_keyword#1.value": "",
            "material#1.value": None,
        }),
        "US",
        "en_US",
    )
    assert assembly.attributes == {
        "item_name": [{"marketplace_id": US, "language_tag": "en_US", "value": "Orlando Trolley"}],
        "bullet_point": [
            {"marketplace_id": US, "language_tag": "en_US", "value": "Four wheels"},
            {"marketplace_id": US, "language_tag": "en_US", "value": "TSA lock"},
        ],
        "brand": [{"marketplace_id": US, "language_tag": "en_US", "value": "Travelite"}],
        "purchasable_offer": [{
            "marketplace_id": US, "audience": "ALL", "currency": "USD",
            "our_price": [{"schedule": [{"value_with_tax": 129.99}]}],
            "discounted_price": [{"schedule": [{"value_with_tax": 99.0}]}],
            "end_at": {"value": "2027-01-01"},
        }],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
        "color": [{"standardized_values": ["blue"]}],
    }
    assert assembly.conflicts == []
    col = assembly.columns
    assert col.for_pointer("/bullet_point/1/value") == CellRef("C", "bullet_point#2")
    assert col.for_pointer("/bullet_point/1") == CellRef("C", "bullet_point#2")
    assert col.for_pointer("/purchasable_offer/0/end_at/value").column == "G"
    assert col.for_pointer("/purchasable_offer/0/currency").column == "E"
    assert col.for_pointer("/fulfillment_availability/0/quantity").column == "I"
    assert col.for_pointer("/brand/0/value/extra") == CellRef("D", "brand")
    assert col.for_pointer("/battery") is None
    assert col.for_attribute("purchasable_offer.discounted_price").column == "F"
    assert col.for_attribute("purchasable_offer.our_price.schedule.value_with_tax").column == "E"
    assert col.for_attribute("bullet_point") == CellRef("B", "bullet_point#1")
    assert col.for_attribute("fulfillment_availability.quantity.more").column == "I"
    assert col.for_attribute("weight") is None
    names = col.attribute_names()
    assert "item_name.value" in names and "item_name.marketplace_id" not in names
    assert "purchasable_offer.currency" not in names


def test_indexes_order_elements_within_their_selector_group() -> None:
    assembly = assemble(
        cells({
            f"purchasable_offer[marketplace_id={US}]#1.our_price#1.schedule#1.value_with_tax": 10,
            "purchasable_offer[marketplace_id=A2EUQ1WTGCTBG2]#1.our_price#1.schedule#1"
            ".value_with_tax": 13,
            f"purchasable_offer[marketplace_id={US}][audience=B2B]#1.our_price#1.schedule#1"
            ".value_with_tax": 9,
            "bullet_point#3": "third",
            "bullet_point#1": "first",
            "num_batteries#2.type": "aa",
            "num_batteries#2.quantity": 2,
        }),
        "US",
        "en_US",
    )
    offers = assembly.attributes["purchasable_offer"]
    assert [(o["marketplace_id"], o["audience"], o["currency"]) for o in offers] == [
        (US, "ALL", "USD"), ("A2EUQ1WTGCTBG2", "ALL", "CAD"), (US, "B2B", "USD"),
    ]
    # #1 and #3 with nothing at #2: positions close up, pointers follow what was built.
    assert [b["value"] for b in assembly.attributes["bullet_point"]] == ["first", "third"]
    assert assembly.columns.for_pointer("/bullet_point/1/value").header == "bullet_point#3"
    assert assembly.attributes["num_batteries"] == [{"type": "aa", "quantity": 2}]
    assert assembly.columns.for_pointer("/purchasable_offer/2/our_price").column == "C"


def test_item_properties_decide_which_selectors_are_filled() -> None:
    props = {
        "batteries_required": frozenset({"value", "marketplace_id"}),
        "condition_type": frozenset({"value", "marketplace_id"}),
        "item_name": frozenset({"value", "marketplace_id", "language_tag"}),
        "list_price": frozenset({"value", "currency", "marketplace_id"}),
        "fulfillment_availability": frozenset({"fulfillment_channel_code", "quantity"}),
    }
    assembly = assemble(
        cells({
            "batteries_required": "Yes",
            "condition_type#1.value": "new_new",
            "item_name[language_tag=de_DE]": "Koffer",
            "list_price#1.value": 20,
            "fulfillment_availability#1.quantity": 3,
            "not_in_schema": "x",
        }),
        "DE",
        "de_DE",
        item_properties=props,
    )
    de = "A1PA6795UKMFR9"
    assert assembly.attributes == {
        "batteries_required": [{"marketplace_id": de, "value": "Yes"}],
        "condition_type": [{"marketplace_id": de, "value": "new_new"}],
        "item_name": [{"language_tag": "de_DE", "marketplace_id": de, "value": "Koffer"}],
        "list_price": [{"marketplace_id": de, "currency": "EUR", "value": 20}],
        "fulfillment_availability": [{"quantity": 3}],
        "not_in_schema": [{"value": "x"}],
    }


def test_nested_selectors_and_object_steps() -> None:
    assembly = assemble(
        cells({
            f"unit_count[marketplace_id={EG}]#1.type[language_tag=en_AE].value": "count",
            f"unit_count[marketplace_id={EG}]#1.value": 12,
            f"closure[marketplace_id={EG}]#1.type[language_tag=en_AE]#2.value": "zip",
        }),
        None,
        None,
    )
    assert assembly.attributes == {
        "unit_count": [{"marketplace_id": EG, "type": {"language_tag": "en_AE", "value": "count"},
                        "value": 12}],
        "closure": [{"marketplace_id": EG, "type": [{"language_tag": "en_AE", "value": "zip"}]}],
    }


def test_a_column_overrides_a_filled_in_selector_without_conflict() -> None:
    assembly = assemble(
        cells({"fulfillment_availability#1.quantity": 1,
               "item_name": "Case", "item_name#1.language_tag": "en_GB"}),
        "US", "en_US",
        item_properties={"item_name": {"value", "marketplace_id", "language_tag"}},
    )
    assert assembly.conflicts == []
    assert assembly.attributes["item_name"] == [
        {"marketplace_id": US, "language_tag": "en_GB", "value": "Case"}]


@pytest.mark.parametrize(
    ("first", "second", "where"),
    [
        ("item_name", f"item_name[marketplace_id={US}][language_tag=en_US]#1.value",
         f"item_name[marketplace_id={US}][language_tag=en_US]#1.value"),
        # A value where another column needs a group, and the reverse: at the contested step.
        ("item_weight#1.unit", "item_weight#1.unit.value", "item_weight#1.unit"),
        ("item_weight#1.unit.value", "item_weight#1.unit", "item_weight#1.unit"),
        ("color#1.standardized_values#1", "color#1.standardized_values#1.value",
         "color#1.standardized_values#1"),
    ],
)
def test_conflicting_columns_keep_the_first(first: str, second: str, where: str) -> None:
    assembly = assemble(cells({first: "a", second: "b"}), "US", "en_US")
    assert [(c.path, c.first.column, c.second.column) for c in assembly.conflicts] == [
        (where, "A", "B")]


def test_bare_paths_are_accepted_as_keys() -> None:
    assembly = assemble({parse_attribute_path("brand"): "X"}, "UK", "en_GB")
    assert assembly.attributes == {
        "brand": [{"marketplace_id": UK, "language_tag": "en_GB", "value": "X"}]}
    assert assembly.columns.for_pointer("/brand/0/value") == CellRef("", "brand#1.value")


def test_column_map_lookups() -> None:
    cmap = ColumnMap()
    cmap.record(["bullet_point", 1, "value"], CellRef("F", "Bullet Point 2"))
    cmap.record(["bullet_point", 1, "marketplace_id"], CellRef("F", "Bullet Point 2"),
                named=False)
    assert cmap.for_pointer("/bullet_point/1/value") == CellRef("F", "Bullet Point 2")
    assert cmap.for_pointer("/bullet_point") == CellRef("F", "Bullet Point 2")
    assert cmap.for_pointer("") == CellRef("F", "Bullet Point 2")
    assert cmap.for_pointer("/brand") is None
    assert cmap.attribute_names() == {"bullet_point": CellRef("F", "Bullet Point 2"),
                                      "bullet_point.value": CellRef("F", "Bullet Point 2")}
    assert len(cmap) == 4
    assert json_pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"
