"""Product type schemas: Amazon's vocabulary, violations in spreadsheet words, the cache."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import socket
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from feeds_kit import resources
from feeds_kit.errors import ApiError, NetworkError, NotFoundError, UploadError, UsageError
from feeds_kit.issues import CATALOGUE, Location, Severity
from feeds_kit.product_types import (
    META_SCHEMA_ID,
    SCHEMA_ID_PREFIX,
    AttributeValidator,
    ProductTypeCache,
    check_schema,
    coerce_attributes,
    describe,
    fetch,
    item_properties,
    list_cached,
    load_cached,
    relax_requirements,
    validate_attributes,
)

US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"


def luggage() -> dict[str, Any]:
    return copy.deepcopy(resources.load_schema("product-types", "LUGGAGE.json"))


def shirt() -> dict[str, Any]:
    return copy.deepcopy(resources.load_schema("product-types", "SHIRT.json"))


def text(value: str, market: str = US, lang: str = "en_US") -> list[dict[str, Any]]:
    return [{"value": value, "marketplace_id": market, "language_tag": lang}]


def flag(value: Any, market: str = US) -> list[dict[str, Any]]:
    return [{"value": value, "marketplace_id": market}]


def valid_luggage() -> dict[str, Any]:
    return {
        "item_name": text("Orlando trolley case"),
        "brand": text("Travelite"),
        "batteries_required": flag(False),
        "condition_type": flag("new_new"),
    }


def shaped(keyword_schema: dict[str, Any], selectors: list[str] | None = None,
           **array_keywords: Any) -> dict[str, Any]:
    """A one-attribute schema in Amazon's shape with ``keyword_schema`` on ``value``."""
    attribute: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"value": {"type": "string", **keyword_schema},
                           "marketplace_id": {"type": "string"},
                           "language_tag": {"type": "string"}},
            "additionalProperties": False,
        },
        **array_keywords,
    }
    if selectors is not None:
        attribute["selectors"] = selectors
    return {"$schema": META_SCHEMA_ID, "$id": SCHEMA_ID_PREFIX + "TEST", "type": "object",
            "properties": {"a": attribute}}


def found(schema: dict[str, Any], attributes: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(v.pointer, v.code, v.message) for v in validate_attributes(schema, attributes)]


# --- the fixtures and the meta-schema ----------------------------------------------------------


@pytest.mark.parametrize("name", ["LUGGAGE.json", "SHIRT.json"])
def test_fixtures_are_valid_under_the_meta_schema(name: str) -> None:
    schema = resources.load_schema("product-types", name)
    assert schema["$schema"] == META_SCHEMA_ID
    assert schema["$id"] == SCHEMA_ID_PREFIX + name.removesuffix(".json")
    assert check_schema(schema) == []


@pytest.mark.parametrize(
    ("keyword", "value", "problem"),
    [
        ("maxUtf8ByteLength", "ten", "'ten' is not of type 'integer'"),
        ("minUtf8ByteLength", -1, "-1 is less than the minimum of 0"),
        ("maxUniqueItems", 1.5, "1.5 is not of type 'integer'"),
        ("selectors", "marketplace_id", "'marketplace_id' is not of type 'array'"),
        ("enumNames", [1, 2], "1 is not of type 'string'"),
        ("editable", "yes", "'yes' is not of type 'boolean'"),
        ("hidden", 0, "0 is not of type 'boolean'"),
        ("$lifecycle", [], "[] is not of type 'object'"),
        ("maxLength", "x", "'x' is not of type 'integer'"),
    ],
)
def test_meta_schema_rejects_broken_keywords(keyword: str, value: Any, problem: str) -> None:
    schema = luggage()
    schema["properties"]["bullet_point"]["items"]["properties"]["value"][keyword] = value
    problems = check_schema(schema)
    assert len(problems) == 1
    assert problems[0].startswith("properties/bullet_point/items/properties/value")
    assert problems[0].endswith(problem)


def test_the_meta_schema_never_goes_to_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    schema = luggage()
    # A $ref to Amazon's meta-schema URI resolves from the local registry.
    schema["$defs"]["meta"] = {"$ref": META_SCHEMA_ID}
    schema["properties"]["probe"] = {"$ref": "#/$defs/meta"}
    assert check_schema(schema) == []
    assert found(schema, {**valid_luggage(), "probe": {"maxUtf8ByteLength": 3}}) == []
    assert found(schema, {**valid_luggage(), "probe": {"maxUtf8ByteLength": "x"}})[0][1] == (
        "attribute-wrong-type")


# --- Amazon's custom keywords ----------------------------------------------------------------


VALUE = "/a/0/value"
BYTES = "attribute-too-many-bytes"


@pytest.mark.parametrize(
    ("value", "violations"),
    [
        ("a" * 500, []),
        ("é" * 250, []),  # 250 characters, 500 bytes
        ("é" * 251, [(VALUE, BYTES, "502 bytes, at most 500 allowed")]),
        ("€" * 167, [(VALUE, BYTES, "501 bytes, at most 500 allowed")]),
        ("😀" * 126, [(VALUE, BYTES, "504 bytes, at most 500 allowed")]),
    ],
)
def test_max_utf8_byte_length_counts_bytes_not_characters(value: str, violations: list) -> None:
    assert found(shaped({"maxUtf8ByteLength": 500}), {"a": [{"value": value}]}) == violations


@pytest.mark.parametrize(
    ("value", "violations"),
    [
        ("12345678", []),
        ("éé", [("/a/0/value", "attribute-too-few-bytes", "4 bytes, at least 8 required")]),
        ("ééé", [("/a/0/value", "attribute-too-few-bytes", "6 bytes, at least 8 required")]),
        ("éééé", []),  # 4 characters, 8 bytes
    ],
)
def test_min_utf8_byte_length(value: str, violations: list) -> None:
    assert found(shaped({"minUtf8ByteLength": 8}), {"a": [{"value": value}]}) == violations


def item(value: str, market: str = US, lang: str = "en_US") -> dict[str, str]:
    return {"value": value, "marketplace_id": market, "language_tag": lang}


@pytest.mark.parametrize(
    ("items", "violations"),
    [
        ([item("a"), item("b")], []),
        ([item("a"), item("b"), item("c")],
         [("/a/2", "attribute-too-many-values",
           f"3 values for marketplace_id {US}, language_tag en_US, at most 2 allowed")]),
        # Counted per combination of selector values: other languages have their own count.
        ([item("a"), item("b"), item("c", lang="de_DE"), item("d", lang="de_DE")], []),
        ([item("a"), item("b"), item("c", market=UK), item("d"), item("e", market=UK)],
         [("/a/3", "attribute-too-many-values",
           f"3 values for marketplace_id {US}, language_tag en_US, at most 2 allowed")]),
    ],
)
def test_max_unique_items_per_selector_combination(items: list, violations: list) -> None:
    schema = shaped({}, ["marketplace_id", "language_tag"], maxUniqueItems=2)
    assert found(schema, {"a": items}) == violations


def test_max_unique_items_without_selectors_compares_whole_items() -> None:
    schema = shaped({}, None, maxUniqueItems=1)
    assert found(schema, {"a": [item("a"), item("b")]}) == []
    assert found(schema, {"a": [item("a"), item("b"), item("a")]}) == [
        ("/a/2", "attribute-too-many-values", "2 values, at most 1 allowed")]


@pytest.mark.parametrize(
    ("items", "violations"),
    [
        ([item("a"), item("b", lang="de_DE")], []),
        ([item("a"), item("b")],
         [("/a", "attribute-too-few-values", "1 distinct value, at least 2 required")]),
        ([], [("/a", "attribute-too-few-values", "0 distinct values, at least 2 required")]),
    ],
)
def test_min_unique_items_counts_distinct_selector_combinations(items: list,
                                                                violations: list) -> None:
    schema = shaped({}, ["marketplace_id", "language_tag"], minUniqueItems=2)
    assert found(schema, {"a": items}) == violations


@pytest.mark.parametrize(
    "keywords",
    [
        {"editable": False},
        {"hidden": True},
        {"enumNames": ["One"], "enum": ["one"]},
        {"enumDeprecated": ["one"], "enum": ["one"]},
        {"$lifecycle": {"replacedBy": ["1/b"], "enumDeprecated": ["one"]}},
        {"replacedBy": ["1/b"]},
        {"replaces": ["1/c"]},
    ],
)
def test_informational_keywords_never_fail(keywords: dict[str, Any]) -> None:
    schema = shaped(keywords)
    assert check_schema(schema) == []
    assert found(schema, {"a": [{"value": "one"}]}) == []


# --- violations in spreadsheet words ---------------------------------------------------------


def test_required_names_the_missing_attribute_and_its_column() -> None:
    violations = validate_attributes(luggage(), {"item_name": text("Case")})
    assert [(v.pointer, v.attribute, v.code, v.message, v.hint) for v in violations] == [
        ("/batteries_required", "batteries_required", "attribute-required",
         '"Batteries Required" (batteries_required) is required by product type LUGGAGE',
         "fill the batteries_required column"),
        ("/brand", "brand", "attribute-required",
         '"Brand Name" (brand) is required by product type LUGGAGE', "fill the brand column"),
        ("/condition_type", "condition_type", "attribute-required",
         '"Item Condition" (condition_type) is required by product type LUGGAGE',
         "fill the condition_type column"),
    ]


def test_required_inside_an_attribute_points_at_the_missing_part() -> None:
    attrs = {**valid_luggage(), "item_package_weight": [{"value": 2, "marketplace_id": US}]}
    [violation] = validate_attributes(luggage(), attrs)
    assert violation.pointer == "/item_package_weight/0/unit"
    assert violation.message == (
        '"Package Weight Unit" (item_package_weight.unit) is required by product type LUGGAGE')
    assert violation.hint == "fill the item_package_weight#1.unit column"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"batteries_required": flag(True)}, [
            ("/battery", "attribute-required-by-rule",
             '"Battery" (battery) is required because of "Batteries Required" '
             "(batteries_required)",
             'fill the battery#1.cell_composition#1.value column, or change "Batteries Required" '
             "(batteries_required)"),
            ("/num_batteries", "attribute-required-by-rule",
             '"Number of Batteries" (num_batteries) is required because of "Batteries Required" '
             "(batteries_required)",
             'fill the num_batteries#1.quantity column, or change "Batteries Required" '
             "(batteries_required)"),
        ]),
        ({"batteries_required": flag(True),
          "battery": [{"cell_composition": [{"value": "alkaline"}], "marketplace_id": US}],
          "num_batteries": [{"quantity": 2, "type": "aa", "marketplace_id": US}]}, []),
        # A lithium cell needs the battery weight too (a condition inside an attribute).
        ({"batteries_required": flag(True),
          "battery": [{"cell_composition": [{"value": "lithium_ion"}], "marketplace_id": US}],
          "num_batteries": [{"quantity": 1, "type": "lithium_ion", "marketplace_id": US}]}, [
            ("/battery/0/weight", "attribute-required-by-rule",
             '"Battery Weight" (battery.weight) is required because of "Battery" (battery)',
             'fill the battery#1.weight#1.unit column, or change "Battery" (battery)'),
        ]),
        ({"batteries_required": flag(False)}, []),
    ],
)
def test_conditional_requirements(extra: dict[str, Any], expected: list) -> None:
    violations = validate_attributes(luggage(), {**valid_luggage(), **extra})
    assert [(v.pointer, v.code, v.message, v.hint) for v in violations] == expected


def test_any_of_requirements_name_every_choice_and_else_branches_apply() -> None:
    base = {"item_name": text("Oxford", UK, "en_GB"), "brand": text("ET", UK, "en_GB"),
            "department": text("mens", UK, "en_GB"), "color": text("White", UK, "en_GB")}
    violations = validate_attributes(shirt(), base)
    assert [(v.pointer, v.code, v.message) for v in violations] == [
        ("/externally_assigned_product_identifier", "attribute-one-of-required",
         'one of "External Product ID" (externally_assigned_product_identifier), '
         '"Merchant Suggested ASIN" (merchant_suggested_asin) or "Product ID Exemption" '
         "(supplier_declared_has_product_identifier_exemption) is required"),
        ("/shirt_size", "attribute-required-by-rule",
         '"Shirt Size" (shirt_size) is required because of "Parentage Level" (parentage_level)'),
    ]
    parent = {**base, "parentage_level": flag("parent", UK),
              "variation_theme": [{"name": "SIZE/COLOR"}]}
    assert validate_attributes(shirt(), parent) == []


def test_not_together() -> None:
    attrs = {"item_name": text("Oxford", UK, "en_GB"), "brand": text("ET", UK, "en_GB"),
             "department": text("mens", UK, "en_GB"), "color": text("White", UK, "en_GB"),
             "shirt_size": [{"size_system": "as3", "size_class": "alpha", "size": "m",
                             "body_type": "regular", "height_type": "regular",
                             "marketplace_id": UK}],
             "externally_assigned_product_identifier": [{"type": "ean", "value": "4006381333931",
                                                         "marketplace_id": UK}],
             "supplier_declared_has_product_identifier_exemption": flag(True, UK)}
    [violation] = validate_attributes(shirt(), attrs)
    assert violation.pointer == "/supplier_declared_has_product_identifier_exemption"
    assert violation.message == (
        '"External Product ID" (externally_assigned_product_identifier) and "Product ID '
        'Exemption" (supplier_declared_has_product_identifier_exemption) cannot be given together')


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"shell_type": flag("round")}, ("/shell_type/0/value", "attribute-value-not-allowed",
                                         "'round' is not one of the allowed values",
                                         "use one of: Hard Shell (hard_shell), Soft Shell "
                                         "(soft_shell), Hybrid (hybrid)")),
        ({"number_of_wheels": flag("four")}, ("/number_of_wheels/0/value", "attribute-wrong-type",
                                              "'four' is not a whole number",
                                              "write a whole number such as 3")),
        ({"number_of_wheels": flag(9)}, ("/number_of_wheels/0/value", "attribute-out-of-range",
                                         "9 is above the maximum of 8",
                                         "use a value of 8 or less")),
        ({"item_package_weight": [{"value": 0, "unit": "grams", "marketplace_id": US}]},
         ("/item_package_weight/0/value", "attribute-out-of-range", "0 is not greater than 0",
          "use a value greater than 0")),
        ({"merchant_suggested_asin": flag("b0000test1")},
         ("/merchant_suggested_asin/0/value", "attribute-bad-format",
          "'b0000test1' does not have the required format",
          "it must match the pattern ^[A-Z0-9]{10}$")),
        ({"item_name": text("x" * 201)}, ("/item_name/0/value", "attribute-too-long",
                                          "201 characters, at most 200 allowed",
                                          "shorten it to 200 characters")),
        ({"brand": [{**text("T")[0], "colour": "red"}]},
         ("/brand/0/colour", "attribute-unknown-property",
          "'colour' is not a part of \"Brand Name\"",
          "remove the column or correct its path (see feeds-kit product-types show LUGGAGE)")),
        ({"batteries_required": flag("yes")}, ("/batteries_required/0/value",
                                               "attribute-wrong-type", "'yes' is not Yes or No",
                                               "write Yes or No (true or false)")),
        ({"item_name": []}, ("/item_name", "attribute-too-few-values",
                             "0 values, at least 1 required", "give at least 1")),
        ({"battery": [{"cell_composition": [{"value": "nimh"}, {"value": "alkaline"}],
                       "marketplace_id": US}]},
         ("/battery/0/cell_composition", "attribute-too-many-values",
          "2 values, at most 1 allowed", "give at most 1")),
        ({"wheel_colour": flag("red")}, ("/wheel_colour", "attribute-unknown",
                                         "'wheel_colour' is not an attribute of product type "
                                         "LUGGAGE",
                                         "check the spelling with feeds-kit product-types show "
                                         "LUGGAGE")),
    ],
)
def test_violation_messages(extra: dict[str, Any], expected: tuple) -> None:
    violations = validate_attributes(luggage(), {**valid_luggage(), **extra})
    assert [(v.pointer, v.code, v.message, v.hint) for v in violations] == [expected]


def test_one_message_per_value_and_best_match_for_branches() -> None:
    schema = shaped({"maxLength": 3, "maxUtf8ByteLength": 4})
    # Both limits fail for the same cell: the byte rule is the one reported.
    assert found(schema, {"a": [{"value": "ééééé"}]}) == [
        ("/a/0/value", "attribute-too-many-bytes", "10 bytes, at most 4 allowed")]
    branches = {"$id": SCHEMA_ID_PREFIX + "TEST", "type": "object", "properties": {"a": {
        "type": "array", "items": {"type": "object", "properties": {"value": {
            "anyOf": [{"type": "string", "enum": ["small", "large"]},
                      {"type": "integer", "minimum": 1}]}}}}}}
    assert found(branches, {"a": [{"value": 0}]}) == [
        ("/a/0/value", "attribute-out-of-range", "0 is below the minimum of 1")]
    assert found(branches, {"a": [{"value": "medium"}]}) == [
        ("/a/0/value", "attribute-value-not-allowed", "'medium' is not one of the allowed values")]


def test_violation_becomes_an_issue_at_a_cell() -> None:
    [violation] = validate_attributes(luggage(), {**valid_luggage(),
                                                  "bullet_point": text("é" * 306)})
    issue = violation.issue(Location(file="l.xlsx", sheet="S", row=12, column="F",
                                     header="Bullet Point 2", sku="SKU-1"))
    assert issue.sentence() == (
        'Row 12, column F "Bullet Point 2": 612 bytes, at most 500 allowed — shorten it to 500 '
        "bytes (Amazon counts UTF-8 bytes: accented letters take 2, many symbols 3 or 4).")
    assert issue.attribute == "bullet_point"
    assert issue.severity is Severity.ERROR
    assert CATALOGUE["attribute-too-many-bytes"].description


def test_a_compiled_validator_is_reusable() -> None:
    validator = AttributeValidator(luggage())
    assert validator.product_type == "LUGGAGE"
    assert validator.validate(valid_luggage()) == []
    assert validate_attributes(validator, {**valid_luggage(), "brand": text("")}) == []
    assert [v.code for v in validator.validate({})] == ["attribute-required"] * 4


# --- coercion, selectors, NOT_ENFORCED, describe ------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("batteries_required", "Yes", True),
        ("batteries_required", "no", False),
        ("batteries_required", "TRUE", True),
        ("batteries_required", 1, True),
        ("batteries_required", "maybe", "maybe"),
        ("shell_type", "Hard Shell", "hard_shell"),
        ("shell_type", "SOFT_SHELL", "soft_shell"),
        ("number_of_wheels", "4", 4),
        ("number_of_wheels", Decimal("4"), 4),
        ("number_of_wheels", 4.0, 4),
        ("number_of_wheels", "4.5", "4.5"),
        ("brand", 12345, "12345"),
        ("brand", Decimal("1.50"), "1.50"),
        ("item_name", 4006381333931.0, "4006381333931"),
    ],
)
def test_coerce_attributes(attribute: str, value: Any, expected: Any) -> None:
    coerced = coerce_attributes(luggage(), {attribute: [{"value": value}]})
    assert coerced[attribute][0]["value"] == expected
    assert type(coerced[attribute][0]["value"]) is type(expected)


def test_coerce_nested_numbers_dates_and_without_schema() -> None:
    coerced = coerce_attributes(luggage(), {
        "capacity": [{"value": "35.5", "unit": "Liters"}],
        "fulfillment_availability": [{"fulfillment_channel_code": "default", "quantity": "7",
                                      "restock_date": datetime(2027, 1, 15).date()}],
        "purchasable_offer": [{"our_price": [{"schedule": [
            {"value_with_tax": Decimal("19.99")}]}]}],
    })
    assert coerced == {
        "capacity": [{"value": 35.5, "unit": "liters"}],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7,
                                      "restock_date": "2027-01-15"}],
        "purchasable_offer": [{"our_price": [{"schedule": [{"value_with_tax": 19.99}]}]}],
    }
    assert coerce_attributes(None, {"a": [{"value": Decimal("2.50"), "b": Decimal("3")}]}) == {
        "a": [{"value": 2.5, "b": 3}]}


def test_item_properties() -> None:
    props = item_properties(luggage())
    assert props["item_name"] == {"value", "marketplace_id", "language_tag"}
    assert props["batteries_required"] == {"value", "marketplace_id"}
    assert props["purchasable_offer"] >= {"marketplace_id", "currency", "audience", "our_price"}
    assert props["fulfillment_availability"] == {
        "fulfillment_channel_code", "quantity", "lead_time_to_ship_max_days", "restock_date",
        "is_inventory_available"}


def test_relaxed_schema_checks_structure_without_requirements() -> None:
    relaxed = relax_requirements(luggage())
    partial = {"bullet_point": text("Lightweight")}
    assert validate_attributes(luggage(), partial) != []
    assert validate_attributes(relaxed, partial) == []
    assert found(relaxed, {"bullet_point": text("é" * 300)}) == [
        ("/bullet_point/0/value", "attribute-too-many-bytes", "600 bytes, at most 500 allowed")]
    # Batteries required no longer pulls in the battery attributes…
    assert validate_attributes(relaxed, {"batteries_required": flag(True)}) == []
    # …but what is inside an attribute is still required.
    assert found(relaxed, {"item_package_weight": [{"value": 1}]})[0][0] == (
        "/item_package_weight/0/unit")
    # Prohibitions stay: an id and an exemption together.
    relaxed_shirt = relax_requirements(shirt())
    assert [v.code for v in validate_attributes(relaxed_shirt, {
        "externally_assigned_product_identifier": [{"type": "ean", "value": "4006381333931"}],
        "supplier_declared_has_product_identifier_exemption": flag(True, UK),
    })] == ["attribute-not-together"]
    assert luggage()["required"] == ["brand", "item_name", "batteries_required",
                                     "condition_type"]


def test_relax_drops_one_of_requirements() -> None:
    schema = {"type": "object", "properties": {"a": {}, "b": {}},
              "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
              "dependentRequired": {"a": ["b"]}}
    assert validate_attributes(schema, {}) != []
    relaxed = relax_requirements(schema)
    assert "oneOf" not in relaxed and "dependentRequired" not in relaxed
    assert validate_attributes(relaxed, {}) == []


def test_describe_lists_required_then_conditional_then_the_rest() -> None:
    entry = load_cached("LUGGAGE", "US", cache=ProductTypeCache(Path("/nonexistent")))
    infos = describe(entry.schema, entry.property_groups)
    names = [i.name for i in infos]
    assert names[:4] == ["item_name", "brand", "batteries_required", "condition_type"]
    assert {i.name for i in infos if i.conditional} == {"battery", "num_batteries"}
    assert names.index("battery") < names.index("bullet_point")
    by_name = {i.name: i for i in infos}
    bullet = by_name["bullet_point"]
    assert (bullet.title, bullet.required, bullet.simple, bullet.max_bytes, bullet.group,
            bullet.selectors, bullet.max_unique_items) == (
        "Bullet Point", False, True, 500, "Product Details", ("marketplace_id", "language_tag"), 5)
    shell = by_name["shell_type"]
    assert shell.enum == ("hard_shell", "soft_shell", "hybrid")
    assert shell.enum_names == ("Hard Shell", "Soft Shell", "Hybrid")
    assert shell.deprecated_values == ("hybrid",)
    assert by_name["outer_material_type"].hidden is True
    assert by_name["outer_material_type"].replaced_by == ("1/material",)
    assert by_name["brand"].editable is False
    battery = by_name["battery"]
    assert battery.simple is False
    assert [leaf.path for leaf in battery.leaves] == [
        "battery#1.cell_composition#1.value", "battery#1.weight#1.value",
        "battery#1.weight#1.unit"]
    assert battery.leaves[2].enum_names == ("Grams", "Kilograms")
    weight = by_name["item_package_weight"].leaves
    assert [(leaf.path, leaf.minimum) for leaf in weight] == [
        ("item_package_weight#1.value", 0), ("item_package_weight#1.unit", None)]
    assert [leaf.path for leaf in by_name["item_name"].leaves] == ["item_name#1.value"]
    assert by_name["item_name"].leaves[0].required is True
    assert entry.describe() == infos


# --- the cache and fetch -----------------------------------------------------------------------


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


SIGNED = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA&X-Amz-Signature=SECRETSIGNATURE"
SCHEMA_URL = "https://tortuga.example/schemas/LUGGAGE.json"
META_URL = "https://tortuga.example/schemas/meta-schema.json"


class FakeClient:
    """Stands in for FeedsClient.request; answers getDefinitionsProductType."""

    def __init__(self, body: Any, status: int = 200) -> None:
        self.body = body
        self.status = status
        self.calls: list[tuple[str, str, str, dict[str, Any], tuple[int, ...]]] = []

    def request(self, operation: str, method: str, path: str, *,
                params: dict[str, Any] | None = None,
                expected: tuple[int, ...] = (200,)) -> requests.Response:
        self.calls.append((operation, method, path, dict(params or {}), expected))
        response = requests.Response()
        response.status_code = self.status
        response._content = (self.body if isinstance(self.body, bytes)
                             else json.dumps(self.body).encode())
        response.headers["x-amzn-RequestId"] = "req-1"
        return response


def definition(schema_bytes: bytes, meta_bytes: bytes | None = None, *,
               enforced: str = "ENFORCED", version: str = "U1v2", locale: str = "en_US",
               schema_checksum: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema": {"link": {"resource": SCHEMA_URL + SIGNED, "verb": "GET"},
                   "checksum": schema_checksum or md5(schema_bytes)},
        "requirements": "LISTING",
        "requirementsEnforced": enforced,
        "propertyGroups": {"offer": {"title": "Offer", "propertyNames": ["purchasable_offer"]}},
        "locale": locale,
        "marketplaceIds": [US],
        "productType": "LUGGAGE",
        "displayName": "Luggage",
        "productTypeVersion": {"version": version, "latest": True, "releaseCandidate": False},
    }
    if meta_bytes is not None:
        body["metaSchema"] = {"link": {"resource": META_URL + SIGNED, "verb": "GET"},
                              "checksum": md5(meta_bytes)}
    return body


@pytest.fixture
def schema_bytes() -> bytes:
    data = luggage()
    data["properties"]["bullet_point"]["items"]["properties"]["value"]["maxUtf8ByteLength"] = 100
    return json.dumps(data).encode()


@pytest.fixture
def meta_bytes() -> bytes:
    return resources.schema_path("product-types", "meta-schema.json").read_bytes()


def clock() -> datetime:
    return datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_fetch_downloads_checks_and_caches(tmp_path: Path, requests_mock: Any,
                                           schema_bytes: bytes, meta_bytes: bytes) -> None:
    requests_mock.get(SCHEMA_URL, content=schema_bytes)
    requests_mock.get(META_URL, content=meta_bytes)
    client = FakeClient(definition(schema_bytes, meta_bytes))
    cache = ProductTypeCache(tmp_path)
    entry = fetch(client, "luggage", "US", locale="en_US", cache=cache, clock=clock,
                  session=requests.Session())
    assert client.calls == [(
        "getDefinitionsProductType", "GET", "/definitions/2020-09-01/productTypes/LUGGAGE",
        {"marketplaceIds": US, "requirements": "LISTING", "requirementsEnforced": "ENFORCED",
         "locale": "en_US"}, (200,))]
    # The downloads are plain GETs: no SP-API token header.
    assert all("x-amz-access-token" not in r.headers for r in requests_mock.request_history)
    assert entry.key == ("LUGGAGE", US, "LISTING", "ENFORCED", "en_US", "U1v2")
    assert entry.source == "cache" and entry.fetched_at == clock()
    folder = tmp_path / "LUGGAGE" / US / "LISTING-ENFORCED-en_US-U1v2"
    assert sorted(p.name for p in folder.iterdir()) == ["definition.json", "meta-schema.json",
                                                        "schema.json"]
    assert (folder / "schema.json").read_bytes() == schema_bytes
    saved = (folder / "definition.json").read_text()
    assert "SECRETSIGNATURE" not in saved and "X-Amz" not in saved and "tortuga" not in saved
    assert json.loads(saved)["schema"] == {"checksum": md5(schema_bytes)}
    assert entry.meta_schema == json.loads(meta_bytes)
    # The cached schema wins over the packaged fixture.
    loaded = load_cached("LUGGAGE", "ATVPDKIKX0DER", cache=cache)
    assert loaded.source == "cache"
    assert [v.message for v in loaded.validate({**valid_luggage(),
                                                "bullet_point": text("x" * 101)})] == [
        "101 bytes, at most 100 allowed"]
    assert [e.key for e in list_cached(cache)] == [entry.key]


def test_fetch_not_enforced_is_its_own_cache_entry(tmp_path: Path, requests_mock: Any,
                                                   schema_bytes: bytes) -> None:
    relaxed = json.dumps(relax_requirements(json.loads(schema_bytes))).encode()
    requests_mock.get(SCHEMA_URL, content=relaxed)
    client = FakeClient(definition(relaxed, enforced="NOT_ENFORCED"))
    cache = ProductTypeCache(tmp_path)
    entry = fetch(client, "LUGGAGE", US, enforced=False, cache=cache, clock=clock)
    assert client.calls[0][3]["requirementsEnforced"] == "NOT_ENFORCED"
    assert "locale" not in client.calls[0][3]
    assert entry.enforced is False and entry.derived is False
    assert entry.meta_schema_path is None
    assert cache.load("LUGGAGE", "US", enforced=False).key == entry.key
    # ENFORCED is not cached, so the packaged fixture answers for it.
    assert cache.load("LUGGAGE", "US").source == "packaged"


def test_newest_fetch_wins_and_locale_version_narrow(tmp_path: Path, requests_mock: Any,
                                                     schema_bytes: bytes) -> None:
    requests_mock.get(SCHEMA_URL, content=schema_bytes)
    cache = ProductTypeCache(tmp_path)
    fetch(FakeClient(definition(schema_bytes, version="OLD")), "LUGGAGE", "US", cache=cache,
          clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    fetch(FakeClient(definition(schema_bytes, version="NEW", locale="es_US")), "LUGGAGE", "US",
          cache=cache, clock=lambda: datetime(2026, 6, 1, tzinfo=UTC))
    assert [e.version for e in cache.entries()] == ["NEW", "OLD"]
    assert cache.load("LUGGAGE", "US").version == "NEW"
    assert cache.load("LUGGAGE", "US", locale="en_US").version == "OLD"
    assert cache.load("LUGGAGE", "US", version="OLD").locale == "en_US"


@pytest.mark.parametrize(
    ("mock", "error", "message"),
    [
        ({"status_code": 403, "content": b"<Error>Request has expired</Error>"}, UploadError,
         "Downloading the schema of product type LUGGAGE from "
         "https://tortuga.example/schemas/LUGGAGE.json failed with HTTP 403."),
        ({"content": b"tampered"}, UploadError,
         "The schema of product type LUGGAGE downloaded from "
         "https://tortuga.example/schemas/LUGGAGE.json does not match its checksum (expected "
         "{expected}, got {actual}); fetch it again."),
        ({"exc": requests.ConnectionError("boom " + SIGNED)}, NetworkError,
         "Could not download the schema of product type LUGGAGE from "
         "https://tortuga.example/schemas/LUGGAGE.json: ConnectionError."),
    ],
)
def test_fetch_failures_name_the_download_without_its_signature(
    tmp_path: Path, requests_mock: Any, schema_bytes: bytes, mock: dict[str, Any],
    error: type[Exception], message: str,
) -> None:
    requests_mock.get(SCHEMA_URL, **mock)
    with pytest.raises(error) as caught:
        fetch(FakeClient(definition(schema_bytes)), "LUGGAGE", "US",
              cache=ProductTypeCache(tmp_path), clock=clock)
    expected = message.format(expected=md5(schema_bytes), actual=md5(b"tampered"))
    assert str(caught.value) == expected
    assert "SECRET" not in str(caught.value) and "SECRET" not in repr(caught.value.context)
    assert not any(tmp_path.iterdir())


def test_fetch_rejects_a_definition_without_schema(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="without a schema link"):
        fetch(FakeClient({"productType": "LUGGAGE"}), "LUGGAGE", "US",
              cache=ProductTypeCache(tmp_path))
    with pytest.raises(ApiError, match="not JSON"):
        fetch(FakeClient(b"<html>"), "LUGGAGE", "US", cache=ProductTypeCache(tmp_path))
    with pytest.raises(UsageError, match="Unknown marketplace 'XX'"):
        fetch(FakeClient({}), "LUGGAGE", "XX", cache=ProductTypeCache(tmp_path))


def test_packaged_fallback_and_not_found(tmp_path: Path) -> None:
    cache = ProductTypeCache(tmp_path)
    shirt_entry = cache.load("shirt", "UK")
    assert (shirt_entry.source, shirt_entry.marketplace_id, shirt_entry.locale,
            shirt_entry.display_name) == ("packaged", UK, "en_GB", "Shirt")
    relaxed = cache.load("SHIRT", "GB", enforced=False)
    assert relaxed.derived is True and relaxed.enforced is False
    assert "required" not in relaxed.schema
    with pytest.raises(NotFoundError) as caught:
        cache.load("SHIRT", "DE")
    assert str(caught.value) == (
        "Product type SHIRT for DE is not cached: run feeds-kit product-types fetch SHIRT "
        "--marketplace DE.")
    assert cache.find("LUGGAGE", "US", requirements="LISTING_OFFER_ONLY") is None
    assert ProductTypeCache(tmp_path, packaged=False).find("LUGGAGE", "US") is None
    assert list_cached(cache) == []


def test_default_cache_lives_under_feeds_kit_home(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDS_KIT_HOME", str(tmp_path))
    assert ProductTypeCache().root == tmp_path / "product-types"


def test_unreadable_cache_entries_are_skipped(tmp_path: Path) -> None:
    broken = tmp_path / "LUGGAGE" / US / "LISTING-ENFORCED-en_US-X"
    broken.mkdir(parents=True)
    (broken / "definition.json").write_text("{not json")
    assert ProductTypeCache(tmp_path).entries() == []
    assert ProductTypeCache(tmp_path).load("LUGGAGE", "US").source == "packaged"


@pytest.mark.parametrize(
    ("extra", "valid"),
    [
        ({}, True),
        ({"bullet_point": text("é" * 250)}, True),
        ({"bullet_point": text("é" * 251)}, False),
        ({"bullet_point": text("a") * 5}, True),
        ({"bullet_point": text("a") * 6}, False),
        ({"product_description": text("short")}, False),
        ({"item_name": []}, False),
        ({"batteries_required": flag(True)}, False),
        ({"shell_type": flag("round")}, False),
        ({"wheel_colour": flag("red")}, True),  # unknown attributes: our own warning, not schema
    ],
)
def test_compiled_fast_path_agrees_with_the_python_validator(extra: dict[str, Any],
                                                             valid: bool) -> None:
    validator = AttributeValidator(luggage())
    attrs = {**valid_luggage(), **extra}
    assert validator._fast is not None
    assert validator._fast.is_valid(attrs) is valid
    assert (not list(validator._validator.iter_errors(attrs))) == valid


def test_validation_works_without_the_compiled_validator() -> None:
    validator = AttributeValidator(luggage())
    validator._fast = None
    assert validator.validate(valid_luggage()) == []
    assert [v.code for v in validator.validate({**valid_luggage(),
                                                "bullet_point": text("é" * 251)})] == [
        "attribute-too-many-bytes"]
