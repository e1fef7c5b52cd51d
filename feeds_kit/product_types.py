"""Amazon product type schemas: Amazon's JSON Schema vocabulary, validation, the local cache.

Amazon describes each product type (``LUGGAGE``, ``SHIRT``, ...) with a JSON Schema (Draft
2019-09) that uses a custom vocabulary (spapi-facts.md §4.2): ``maxUtf8ByteLength`` /
``minUtf8ByteLength`` count UTF-8 bytes, ``maxUniqueItems`` / ``minUniqueItems`` count the
combinations of the ``selectors`` values of an array's items, and ``editable``, ``hidden``,
``enumNames``, ``enumDeprecated``, ``$lifecycle``, ``replacedBy``, ``replaces`` are informational.

- :data:`ProductTypeValidator` is ``Draft201909Validator`` extended with that vocabulary;
  :func:`validate_attributes` turns its errors into :class:`AttributeViolation` records (a JSON
  pointer into ``attributes`` and a sentence in spreadsheet words) that the listings code places
  on cells. The meta-schema is resolved from a local :class:`referencing.Registry`, never over the
  network.
- :func:`fetch` calls ``getDefinitionsProductType``, downloads the schema and meta-schema through
  their links, checks Amazon's base64 MD5 checksums and stores them in a :class:`ProductTypeCache`
  (``<FEEDS_KIT_HOME>/product-types/``); :func:`load_cached` and :func:`list_cached` read it back,
  falling back to the hand-written fixtures in ``schemas/product-types/`` so everything works
  offline.
- :func:`describe` lists a schema's attributes for ``product-types show`` and template generation.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests
from jsonschema import Draft201909Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT201909

from feeds_kit import resources
from feeds_kit.config import home_dir
from feeds_kit.errors import (
    ApiError,
    FeedsKitError,
    NetworkError,
    NotFoundError,
    UploadError,
    UsageError,
)
from feeds_kit.files import write_atomic
from feeds_kit.issues import Issue, IssueType, Location, Severity
from feeds_kit.marketplaces import find_marketplace, get_marketplace

__all__ = [
    "META_SCHEMA_ID",
    "REQUIREMENTS",
    "SCHEMA_ID_PREFIX",
    "VOCABULARY_ID",
    "AttributeInfo",
    "AttributeValidator",
    "AttributeViolation",
    "CachedProductType",
    "LeafInfo",
    "ProductTypeCache",
    "ProductTypeError",
    "ProductTypeValidator",
    "SupportsRequest",
    "check_schema",
    "checksum",
    "coerce_attributes",
    "describe",
    "fetch",
    "item_properties",
    "list_cached",
    "load_cached",
    "relax_requirements",
    "to_json_value",
    "validate_attributes",
]

log = logging.getLogger(__name__)

META_SCHEMA_ID = "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1"
VOCABULARY_ID = "https://schemas.amazon.com/selling-partners/definitions/product-types/vocabulary/v1"
SCHEMA_ID_PREFIX = "https://schemas.amazon.com/selling-partners/definitions/product-types/schema/v1/"

OPERATION = "getDefinitionsProductType"
DEFINITION_PATH = "/definitions/2020-09-01/productTypes/{productType}"
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
#: Selector properties filled from the row, never columns of their own.
AUTO_FILLED = frozenset({"marketplace_id", "language_tag"})


class ProductTypeError(FeedsKitError):
    """A product type schema cannot be used: unreadable, not JSON, or broken as a schema.

    Context: ``product_type``, ``marketplace_id``, ``file``.
    """


# --- Amazon's vocabulary -------------------------------------------------------------------


def _utf8_length(instance: str) -> int:
    return len(instance.encode("utf-8"))


def _max_utf8(validator: Any, limit: int, instance: Any, schema: Mapping[str, Any]) -> Iterator[
    ValidationError
]:
    if isinstance(instance, str):
        size = _utf8_length(instance)
        if size > limit:
            yield ValidationError(f"{size} bytes, at most {limit} allowed")


def _min_utf8(validator: Any, limit: int, instance: Any, schema: Mapping[str, Any]) -> Iterator[
    ValidationError
]:
    if isinstance(instance, str):
        size = _utf8_length(instance)
        if size < limit:
            yield ValidationError(f"{size} bytes, at least {limit} required")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _selector_key(item: Any, selectors: Sequence[str] | None) -> str:
    """The identity of an array item for the unique-items keywords: the values of its
    ``selectors`` properties, or the whole item when there are none (Amazon's reference code)."""
    if selectors and isinstance(item, Mapping):
        return _canonical([item.get(name) for name in selectors])
    return _canonical(item)


def _describe_key(item: Any, selectors: Sequence[str] | None) -> str:
    if selectors and isinstance(item, Mapping):
        parts = [f"{name} {item.get(name)}" for name in selectors if item.get(name) is not None]
        return " for " + ", ".join(parts) if parts else ""
    return ""


class _CountedError(ValidationError):  # type: ignore[misc]
    """A unique-items error carrying its counts, so the finding can be worded from them."""

    def __init__(self, message: str, details: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.details = dict(details)


def _values(count: int, kind: str = "") -> str:
    return f"{kind}value" if count == 1 else f"{kind}values"


def _max_unique_items(validator: Any, limit: int, instance: Any, schema: Mapping[str, Any]
                      ) -> Iterator[ValidationError]:
    if not isinstance(instance, list):
        return
    selectors = schema.get("selectors")
    seen: Counter[str] = Counter()
    reported: set[str] = set()
    for index, item in enumerate(instance):
        key = _selector_key(item, selectors)
        seen[key] += 1
        if seen[key] > limit and key not in reported:
            reported.add(key)
            count = sum(1 for other in instance if _selector_key(other, selectors) == key)
            scope = _describe_key(item, selectors)
            yield _CountedError(
                f"{count} values{scope}, at most {limit} allowed",
                {"count": count, "limit": limit, "scope": scope, "values": _values(count)},
                path=(index,),
                instance=item,
            )


def _min_unique_items(validator: Any, limit: int, instance: Any, schema: Mapping[str, Any]
                      ) -> Iterator[ValidationError]:
    if not isinstance(instance, list):
        return
    selectors = schema.get("selectors")
    distinct = len({_selector_key(item, selectors) for item in instance})
    if distinct < limit:
        yield _CountedError(
            f"{distinct} distinct values, at least {limit} required",
            {"count": distinct, "limit": limit, "scope": "",
             "values": _values(distinct, "distinct ")},
        )


def _required(validator: Any, required: Sequence[str], instance: Any, schema: Mapping[str, Any]
              ) -> Iterator[ValidationError]:
    # Same rule as Draft 2019-09, but each error points at the missing property itself, so
    # the finding can be placed on the column that should hold it.
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"{name!r} is a required property", path=(name,))


def _informational(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]
                   ) -> Iterator[ValidationError]:
    return iter(())


#: Draft 2019-09 plus Amazon's product type vocabulary (spapi-facts.md §4.2).
ProductTypeValidator = validators.extend(
    Draft201909Validator,
    validators={
        "required": _required,
        "maxUtf8ByteLength": _max_utf8,
        "minUtf8ByteLength": _min_utf8,
        "maxUniqueItems": _max_unique_items,
        "minUniqueItems": _min_unique_items,
        "selectors": _informational,
        "editable": _informational,
        "hidden": _informational,
        "enumNames": _informational,
        "enumDeprecated": _informational,
        "$lifecycle": _informational,
        "replacedBy": _informational,
        "replaces": _informational,
    },
)


class _FastKeyword:
    """Amazon's keywords for the compiled (jsonschema-rs) validator: same rules as above, a
    failure is any exception."""

    def __init__(self, parent_schema: Mapping[str, Any], value: Any, schema_path: Any) -> None:
        self.limit = value
        self.selectors = parent_schema.get("selectors")


class _FastMaxUtf8(_FastKeyword):
    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and _utf8_length(instance) > self.limit:
            raise ValueError("maxUtf8ByteLength")


class _FastMinUtf8(_FastKeyword):
    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and _utf8_length(instance) < self.limit:
            raise ValueError("minUtf8ByteLength")


class _FastMaxUnique(_FastKeyword):
    def validate(self, instance: Any) -> None:
        if isinstance(instance, list):
            counts = Counter(_selector_key(item, self.selectors) for item in instance)
            if counts and max(counts.values()) > self.limit:
                raise ValueError("maxUniqueItems")


class _FastMinUnique(_FastKeyword):
    def validate(self, instance: Any) -> None:
        if isinstance(instance, list) and len(
            {_selector_key(item, self.selectors) for item in instance}
        ) < self.limit:
            raise ValueError("minUniqueItems")


def _fast_validator(schema: Mapping[str, Any], meta_schema: Mapping[str, Any] | None) -> Any:
    """The schema compiled by jsonschema-rs with Amazon's keywords, offline; ``None`` when it
    cannot be compiled (validation then takes the Python path only)."""
    try:
        import jsonschema_rs

        meta = dict(meta_schema) if meta_schema is not None else _packaged_meta_schema()
        return jsonschema_rs.Draft201909Validator(
            dict(schema),
            registry=jsonschema_rs.Registry([(META_SCHEMA_ID, meta)]),
            offline=True,
            validate_formats=False,
            keywords={
                "maxUtf8ByteLength": _FastMaxUtf8,
                "minUtf8ByteLength": _FastMinUtf8,
                "maxUniqueItems": _FastMaxUnique,
                "minUniqueItems": _FastMinUnique,
            },
        )
    except Exception as exc:  # an optional accelerator: any failure means "not available"
        log.debug("Product type schema not compiled by jsonschema-rs: %s", exc)
        return None


@functools.cache
def _packaged_meta_schema() -> dict[str, Any]:
    data = resources.load_schema("product-types", "meta-schema.json")
    return copy.deepcopy(data)


def _registry(meta_schema: Mapping[str, Any] | None = None) -> Registry:
    """A registry holding Amazon's meta-schema under its URI: ``meta_schema`` when given (a
    downloaded one), else the packaged fixture. Nothing is ever fetched over the network."""
    meta = dict(meta_schema) if meta_schema is not None else _packaged_meta_schema()
    resource = Resource.from_contents(meta, default_specification=DRAFT201909)
    registry: Registry = Registry().with_resource(META_SCHEMA_ID, resource)
    own_id = meta.get("$id")
    if isinstance(own_id, str) and own_id != META_SCHEMA_ID:
        registry = registry.with_resource(own_id, resource)
    return registry


def check_schema(schema: Mapping[str, Any], meta_schema: Mapping[str, Any] | None = None
                 ) -> list[str]:
    """Problems that make ``schema`` an invalid product type schema under Amazon's meta-schema
    (``meta_schema`` or the packaged one), one sentence each; empty when it is valid."""
    meta = dict(meta_schema) if meta_schema is not None else _packaged_meta_schema()
    checker = Draft201909Validator(meta, registry=_registry(meta))
    problems = []
    errors = [best_match([e]) or e for e in checker.iter_errors(schema)]
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: {error.message}")
    return problems


# --- findings ------------------------------------------------------------------------------

_TAGS = ("listings", "product-type")

ATTRIBUTE_REQUIRED = IssueType(
    code="attribute-required",
    title="Required attribute missing",
    message='"{title}" ({name}) is required by product type {product_type}',
    hint="fill the {header} column",
    description=(
        "The product type schema lists this attribute (or this part of an attribute) as "
        "required for a full update (`update`). Add the column if the sheet lacks it and fill "
        "it; a `partial_update` row does not need it."
    ),
    tags=_TAGS,
)

ATTRIBUTE_REQUIRED_BY_RULE = IssueType(
    code="attribute-required-by-rule",
    title="Attribute required by another attribute's value",
    message='"{title}" ({name}) is required because of {conditions}',
    hint="fill the {header} column, or change {conditions}",
    description=(
        "A conditional rule of the product type schema (`if`/`then`/`else`) makes this "
        "attribute required given the values of other attributes of the row, e.g. battery "
        "details when Batteries Required is Yes."
    ),
    tags=_TAGS,
)

ATTRIBUTE_ONE_OF_REQUIRED = IssueType(
    code="attribute-one-of-required",
    title="One of several attributes is required",
    message="one of {names} is required",
    hint="fill one of them",
    description=(
        "The product type schema accepts any one of several attributes (e.g. an external "
        "product id, a suggested ASIN or an exemption) but needs at least one."
    ),
    tags=_TAGS,
)

ATTRIBUTE_NOT_TOGETHER = IssueType(
    code="attribute-not-together",
    title="Attributes that exclude each other",
    message="{names} cannot be given together",
    hint="keep only one of them",
    description="The product type schema forbids giving these attributes in the same listing.",
    tags=_TAGS,
)

ATTRIBUTE_TOO_MANY_BYTES = IssueType(
    code="attribute-too-many-bytes",
    title="Text too long in bytes",
    message="{count} bytes, at most {limit} allowed",
    hint=(
        "shorten it to {limit} bytes (Amazon counts UTF-8 bytes: accented letters take 2, "
        "many symbols 3 or 4)"
    ),
    description=(
        "Amazon limits many texts by their UTF-8 size (`maxUtf8ByteLength`), not by their "
        "number of characters: an `é` counts 2 bytes, a `€` 3, an emoji 4."
    ),
    tags=_TAGS,
)

ATTRIBUTE_TOO_FEW_BYTES = IssueType(
    code="attribute-too-few-bytes",
    title="Text too short in bytes",
    message="{count} bytes, at least {limit} required",
    hint="write at least {limit} bytes",
    description="The text is shorter in UTF-8 bytes than `minUtf8ByteLength` allows.",
    tags=_TAGS,
)

ATTRIBUTE_TOO_LONG = IssueType(
    code="attribute-too-long",
    title="Text too long",
    message="{count} characters, at most {limit} allowed",
    hint="shorten it to {limit} characters",
    description="The text has more characters than the schema's `maxLength` allows.",
    tags=_TAGS,
)

ATTRIBUTE_TOO_SHORT = IssueType(
    code="attribute-too-short",
    title="Text too short",
    message="{count} characters, at least {limit} required",
    hint="write at least {limit} characters",
    description="The text has fewer characters than the schema's `minLength` asks.",
    tags=_TAGS,
)

ATTRIBUTE_TOO_MANY_VALUES = IssueType(
    code="attribute-too-many-values",
    title="Too many values for an attribute",
    message="{count} {values}{scope}, at most {limit} allowed",
    hint="give at most {limit}",
    description=(
        "The attribute has more values than `maxItems` allows, or more values with the same "
        "marketplace/language (its `selectors`) than `maxUniqueItems` allows."
    ),
    tags=_TAGS,
)

ATTRIBUTE_TOO_FEW_VALUES = IssueType(
    code="attribute-too-few-values",
    title="Too few values for an attribute",
    message="{count} {values}{scope}, at least {limit} required",
    hint="give at least {limit}",
    description=(
        "The attribute has fewer values than `minItems`, or fewer distinct marketplace/language "
        "combinations than `minUniqueItems`, asks."
    ),
    tags=_TAGS,
)

ATTRIBUTE_VALUE_NOT_ALLOWED = IssueType(
    code="attribute-value-not-allowed",
    title="Value not in the allowed list",
    message="{value!r} is not one of the allowed values",
    hint="use one of: {choices}",
    description=(
        "The product type schema restricts this value to a list (`enum`, shown in templates "
        "with Amazon's labels from `enumNames`); labels and values are both accepted."
    ),
    tags=_TAGS,
)

ATTRIBUTE_WRONG_TYPE = IssueType(
    code="attribute-wrong-type",
    title="Value of the wrong kind",
    message="{value!r} is not {expected}",
    hint="write {example}",
    description=(
        "The schema expects a number, a whole number, Yes/No or text here and the cell holds "
        "something else."
    ),
    tags=_TAGS,
)

ATTRIBUTE_OUT_OF_RANGE = IssueType(
    code="attribute-out-of-range",
    title="Number out of range",
    message="{value} is {comparison}",
    hint="use a value {allowed}",
    description=(
        "The number is outside the schema's `minimum`/`maximum` (or exclusive) bounds, or not a "
        "multiple of `multipleOf`."
    ),
    tags=_TAGS,
)

ATTRIBUTE_BAD_FORMAT = IssueType(
    code="attribute-bad-format",
    title="Value does not have the required format",
    message="{value!r} does not have the required format",
    hint="it must match the pattern {pattern}",
    description="The text does not match the regular expression (`pattern`) of the schema.",
    tags=_TAGS,
)

ATTRIBUTE_DUPLICATE_VALUES = IssueType(
    code="attribute-duplicate-values",
    title="The same value given twice",
    message="the same value is given more than once",
    hint="remove the repeated value",
    description="The schema asks for distinct values (`uniqueItems`) and a value repeats.",
    tags=_TAGS,
)

ATTRIBUTE_UNKNOWN_PROPERTY = IssueType(
    code="attribute-unknown-property",
    title="Unknown part of an attribute",
    message="{name!r} is not a part of {parent}",
    hint="remove the column or correct its path (see feeds-kit product-types show {product_type})",
    description=(
        "The column writes a property the attribute does not have in this product type "
        "(the schema says `additionalProperties: false`)."
    ),
    tags=_TAGS,
)

ATTRIBUTE_UNKNOWN = IssueType(
    code="attribute-unknown",
    title="Not an attribute of the product type",
    message="{name!r} is not an attribute of product type {product_type}",
    hint="check the spelling with feeds-kit product-types show {product_type}",
    description=(
        "The column names an attribute the product type schema does not define; Amazon ignores "
        "or rejects it."
    ),
    severity=Severity.WARNING,
    tags=_TAGS,
)

ATTRIBUTE_INVALID = IssueType(
    code="attribute-invalid",
    title="Value breaks a rule of the product type",
    message="the value breaks the {keyword} rule of product type {product_type}: {detail}",
    hint="compare the value with feeds-kit product-types show {product_type}",
    description="A product type rule that has no more specific explanation failed.",
    tags=_TAGS,
)


@dataclass(frozen=True, slots=True)
class AttributeViolation:
    """One way an ``attributes`` object breaks its product type schema.

    ``pointer`` is a JSON pointer into ``attributes`` (``/bullet_point/1/value``; for a missing
    attribute, where it would be: ``/battery``); ``attribute`` the top-level attribute name
    (``""`` for rules about the whole object); ``keyword`` the schema keyword that failed.
    ``message`` and ``hint`` are the sentence parts, in spreadsheet words and without a
    location (``612 bytes, at most 500 allowed``). :meth:`issue` places it on a cell.
    """

    pointer: str
    attribute: str
    keyword: str
    issue_type: IssueType
    params: Mapping[str, Any] = field(default_factory=dict)
    value: Any = None
    severity: Severity | None = None

    @property
    def code(self) -> str:
        return self.issue_type.code

    @property
    def message(self) -> str:
        return self.issue_type.message.format(value=self.value, **self.params)

    @property
    def hint(self) -> str | None:
        if not self.issue_type.hint:
            return None
        return self.issue_type.hint.format(value=self.value, **self.params)

    def issue(self, where: Location | None = None) -> Issue:
        """The :class:`Issue` for this violation at ``where`` (a cell, a row, ...)."""
        issue = self.issue_type.at(where, severity=self.severity, value=self.value, **self.params)
        issue.attribute = self.attribute or None
        return issue


def _pointer(tokens: Iterable[Any]) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def _header_for(tokens: Sequence[Any]) -> str:
    """The attribute-path header that addresses ``tokens`` (``("battery", 0, "weight")`` →
    ``battery#1.weight``)."""
    parts: list[str] = []
    for token in tokens:
        if isinstance(token, int):
            if parts:
                parts[-1] += f"#{token + 1}"
        else:
            parts.append(str(token))
    if parts and "#" not in parts[0]:
        parts[0] += "#1"
    return ".".join(parts)


def _product_type_of(schema: Mapping[str, Any]) -> str:
    schema_id = schema.get("$id")
    if isinstance(schema_id, str) and schema_id.rstrip("/"):
        return schema_id.rstrip("/").rsplit("/", 1)[-1]
    return "(unknown)"


def _resolve(node: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """Follow a local ``$ref`` (``#/$defs/...``); anything else is returned as is."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < 20:
        ref = node["$ref"]
        if not ref.startswith("#"):
            return node
        target: Any = root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                return node
            target = target[part]
        if len(node) > 1:
            merged = dict(target) if isinstance(target, Mapping) else {}
            merged.update({k: v for k, v in node.items() if k != "$ref"})
            target = merged
        node = target
        depth += 1
    return node


def _subschema(root: Mapping[str, Any], tokens: Sequence[Any]) -> Mapping[str, Any] | None:
    """The schema that describes the instance at ``tokens`` (through properties and items)."""
    node: Any = root
    for token in tokens:
        node = _resolve(node, root)
        if not isinstance(node, Mapping):
            return None
        if isinstance(token, int):
            items = node.get("items")
            node = items if isinstance(items, Mapping) else None
        else:
            node = (node.get("properties") or {}).get(token)
        if node is None:
            return None
    node = _resolve(node, root)
    return node if isinstance(node, Mapping) else None


def _title(root: Mapping[str, Any], tokens: Sequence[Any]) -> str:
    at = list(tokens)
    while True:
        node = _subschema(root, at)
        if node is not None and isinstance(node.get("title"), str):
            return str(node["title"])
        if not at or not isinstance(at[-1], int):
            break
        # An array's item usually has no title of its own; the array has.
        at.pop()
    names = [t for t in tokens if isinstance(t, str)]
    return names[-1] if names else "the listing"


_TYPE_WORDS = {
    "number": ("a number", "a number such as 12.5"),
    "integer": ("a whole number", "a whole number such as 3"),
    "boolean": ("Yes or No", "Yes or No (true or false)"),
    "string": ("text", "text"),
    "array": ("a list of values", "the values as separate columns (#1, #2, ...)"),
    "object": ("a group of values", "the values in columns for each part, e.g. name#1.value"),
    "null": ("empty", "nothing"),
}

# Which violation wins when one value breaks several rules (one message per cell).
_PRIORITY = {
    "type": 0, "enum": 1, "const": 1, "required": 2, "pattern": 3,
    "maxUtf8ByteLength": 4, "minUtf8ByteLength": 4, "maxLength": 5, "minLength": 5,
}


def _choices(schema: Mapping[str, Any], limit: int = 8) -> str:
    values = list(schema.get("enum") or ([schema["const"]] if "const" in schema else []))
    names = schema.get("enumNames")
    shown = []
    for i, value in enumerate(values[:limit]):
        label = names[i] if isinstance(names, list) and i < len(names) else None
        text = _display(value)
        shown.append(f"{label} ({text})" if label and str(label) != text else text)
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(shown) + more


def _display(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _names(names: Sequence[str], root: Mapping[str, Any], prefix: Sequence[Any]) -> str:
    quoted = [f'"{_title(root, [*prefix, n])}" ({n})' for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


class AttributeValidator:
    """A product type schema compiled once, validating many ``attributes`` objects.

    ``meta_schema`` is the meta-schema to resolve Amazon's URI with (a downloaded one); the
    packaged fixture is used otherwise.
    """

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        meta_schema: Mapping[str, Any] | None = None,
        product_type: str | None = None,
    ) -> None:
        self.schema = schema
        self.product_type = product_type or _product_type_of(schema)
        self._validator = ProductTypeValidator(schema, registry=_registry(meta_schema))
        self._fast = _fast_validator(schema, meta_schema)
        root_additional = schema.get("additionalProperties", True)
        self._root_closed = root_additional is False
        self._properties = frozenset((schema.get("properties") or {}).keys())

    def validate(self, attributes: Mapping[str, Any]) -> list[AttributeViolation]:
        """Every violation of the schema by ``attributes``, at most one per value, in pointer
        order. Raises :class:`ProductTypeError` when the schema itself is broken."""
        found: list[AttributeViolation] = []
        try:
            errors = [] if self._passes_fast(attributes) else list(
                self._validator.iter_errors(attributes))
        except (Unresolvable, re.error) as exc:
            raise ProductTypeError(
                f"The schema of product type {self.product_type} cannot be used: {exc}.",
                product_type=self.product_type,
            ) from exc
        for error in errors:
            found.extend(self._explain(error, attributes))
        if not self._root_closed and isinstance(attributes, Mapping):
            for name in attributes:
                if name not in self._properties:
                    found.append(AttributeViolation(
                        pointer=_pointer([name]), attribute=name, keyword="properties",
                        issue_type=ATTRIBUTE_UNKNOWN, value=name,
                        params={"name": name, "product_type": self.product_type},
                    ))
        best: dict[str, AttributeViolation] = {}
        for violation in found:
            current = best.get(violation.pointer)
            if current is None or _PRIORITY.get(violation.keyword, 9) < _PRIORITY.get(
                current.keyword, 9
            ):
                best[violation.pointer] = violation
        return sorted(best.values(), key=lambda v: _sort_key(v.pointer))

    def _passes_fast(self, attributes: Mapping[str, Any]) -> bool:
        """True when the compiled validator finds nothing; the Python one then need not run
        (it only runs to explain what is wrong)."""
        if self._fast is None:
            return False
        try:
            return bool(self._fast.is_valid(attributes))
        except Exception:  # any doubt goes to the Python validator
            return False

    # -- explaining one jsonschema error --------------------------------------------------

    def _explain(self, error: ValidationError, attributes: Any) -> list[AttributeViolation]:
        keyword = str(error.validator)
        tokens = list(error.absolute_path)
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        value = error.instance
        root = self.schema
        attribute = str(tokens[0]) if tokens and isinstance(tokens[0], str) else ""

        def make(issue_type: IssueType, *, at: Sequence[Any] = tokens, value: Any = value,
                 **params: Any) -> list[AttributeViolation]:
            name = str(at[0]) if at and isinstance(at[0], str) else attribute
            return [AttributeViolation(
                pointer=_pointer(at), attribute=name, keyword=keyword, issue_type=issue_type,
                params={"product_type": self.product_type, **params}, value=value,
            )]

        if keyword in ("anyOf", "oneOf"):
            return self._explain_branches(error, attributes)
        if keyword == "required":
            return self._explain_required(error, tokens)
        limit = error.validator_value
        if keyword == "maxUtf8ByteLength":
            return make(ATTRIBUTE_TOO_MANY_BYTES, count=_utf8_length(value), limit=limit)
        if keyword == "minUtf8ByteLength":
            return make(ATTRIBUTE_TOO_FEW_BYTES, count=_utf8_length(value), limit=limit)
        if keyword == "maxLength":
            return make(ATTRIBUTE_TOO_LONG, count=len(value), limit=error.validator_value)
        if keyword == "minLength":
            return make(ATTRIBUTE_TOO_SHORT, count=len(value), limit=error.validator_value)
        if keyword in ("maxUniqueItems", "minUniqueItems"):
            details = error.details if isinstance(error, _CountedError) else {}
            issue_type = (ATTRIBUTE_TOO_MANY_VALUES if keyword == "maxUniqueItems"
                          else ATTRIBUTE_TOO_FEW_VALUES)
            return make(issue_type, value=None, **details)
        if keyword in ("maxItems", "minItems"):
            issue_type = ATTRIBUTE_TOO_MANY_VALUES if keyword == "maxItems" else (
                ATTRIBUTE_TOO_FEW_VALUES)
            count = len(value) if isinstance(value, list) else 0
            return make(issue_type, value=None, count=count, limit=error.validator_value,
                        scope="", values=_values(count))
        if keyword in ("enum", "const"):
            return make(ATTRIBUTE_VALUE_NOT_ALLOWED, choices=_choices(schema))
        if keyword == "type":
            expected = error.validator_value
            kinds = [expected] if isinstance(expected, str) else list(expected)
            words = " or ".join(_TYPE_WORDS.get(k, (k, k))[0] for k in kinds)
            example = _TYPE_WORDS.get(kinds[0], (kinds[0], kinds[0]))[1] if kinds else "a value"
            return make(ATTRIBUTE_WRONG_TYPE, expected=words, example=example)
        if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                       "multipleOf"):
            comparison, allowed = {
                "minimum": (f"below the minimum of {limit}", f"of {limit} or more"),
                "maximum": (f"above the maximum of {limit}", f"of {limit} or less"),
                "exclusiveMinimum": (f"not greater than {limit}", f"greater than {limit}"),
                "exclusiveMaximum": (f"not less than {limit}", f"less than {limit}"),
                "multipleOf": (f"not a multiple of {limit}", f"that is a multiple of {limit}"),
            }[keyword]
            return make(ATTRIBUTE_OUT_OF_RANGE, comparison=comparison, allowed=allowed)
        if keyword == "pattern":
            return make(ATTRIBUTE_BAD_FORMAT, pattern=error.validator_value)
        if keyword == "uniqueItems":
            return make(ATTRIBUTE_DUPLICATE_VALUES, value=None)
        if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(
            value, Mapping
        ):
            declared = schema.get("properties") or {}
            patterns = [re.compile(p) for p in (schema.get("patternProperties") or {})]
            extras = [k for k in value if k not in declared
                      and not any(p.search(k) for p in patterns)]
            if not tokens:
                return [AttributeViolation(
                    pointer=_pointer([k]), attribute=k, keyword=keyword,
                    issue_type=ATTRIBUTE_UNKNOWN, value=k, severity=Severity.ERROR,
                    params={"name": k, "product_type": self.product_type},
                ) for k in extras]
            parent = f'"{_title(root, tokens)}"'
            out: list[AttributeViolation] = []
            for k in extras:
                out += make(ATTRIBUTE_UNKNOWN_PROPERTY, at=[*tokens, k], value=value[k], name=k,
                            parent=parent)
            return out
        if keyword == "not" and isinstance(error.validator_value, Mapping):
            names = error.validator_value.get("required")
            if isinstance(names, list) and set(error.validator_value) == {"required"}:
                joined = " and ".join(f'"{_title(root, [*tokens, n])}" ({n})' for n in names)
                at = [*tokens, names[-1]] if names else tokens
                return make(ATTRIBUTE_NOT_TOGETHER, at=at, value=None, names=joined)
        return make(ATTRIBUTE_INVALID, keyword=keyword, detail=error.message)

    def _explain_required(self, error: ValidationError, tokens: list[Any]
                          ) -> list[AttributeViolation]:
        names = [str(t) for t in tokens if isinstance(t, str)]
        params: dict[str, Any] = {
            "name": ".".join(names),
            "title": _title(self.schema, tokens),
            "header": self._example_header(tokens),
            "product_type": self.product_type,
        }
        conditions = self._conditions(error)
        issue_type = ATTRIBUTE_REQUIRED
        if conditions:
            issue_type = ATTRIBUTE_REQUIRED_BY_RULE
            params["conditions"] = conditions
        return [AttributeViolation(
            pointer=_pointer(tokens), attribute=names[0] if names else "",
            keyword="required", issue_type=issue_type, params=params, value=None,
        )]

    def _example_header(self, tokens: Sequence[Any]) -> str:
        """A column header that would supply the missing part: down through the first
        required property of each level to a single value (``battery#1.cell_composition#1.value``;
        ``brand`` for a simple attribute)."""
        path = list(tokens)
        node = _subschema(self.schema, path)
        for _ in range(12):
            if node is None:
                break
            if node.get("type") == "array" or "items" in node:
                path.append(0)
            else:
                props = node.get("properties")
                if not isinstance(props, Mapping) or not props:
                    break
                wanted = [p for p in (node.get("required") or list(props))
                          if p not in AUTO_FILLED and p in props]
                if not wanted:
                    break
                path.append(wanted[0])
            node = _subschema(self.schema, path)
        if len(path) == 3 and path[1] == 0 and path[2] == "value":
            return str(path[0])
        return _header_for(path)

    def _conditions(self, error: ValidationError) -> str | None:
        """For a requirement that comes from ``then``/``else``, the attributes its ``if`` reads."""
        path = list(error.absolute_schema_path)
        for cut in range(len(path) - 1, -1, -1):
            if path[cut] in ("then", "else"):
                node: Any = self.schema
                for part in path[:cut]:
                    node = _resolve(node, self.schema)
                    try:
                        node = node[part]
                    except (KeyError, IndexError, TypeError):
                        return None
                node = _resolve(node, self.schema)
                condition = node.get("if") if isinstance(node, Mapping) else None
                if not isinstance(condition, Mapping):
                    return None
                names = list((condition.get("properties") or {}).keys())
                names += [n for n in condition.get("required") or [] if n not in names]
                if not names:
                    return "another attribute's value"
                return " and ".join(f'"{_title(self.schema, [n])}" ({n})' for n in names)
        return None

    def _explain_branches(self, error: ValidationError, attributes: Any
                          ) -> list[AttributeViolation]:
        context = list(error.context or [])
        tokens = list(error.absolute_path)
        if context and all(e.validator == "required" for e in context) and all(
            len(e.absolute_path) == len(tokens) + 1 for e in context
        ):
            missing = [str(e.absolute_path[-1]) for e in context]
            unique = list(dict.fromkeys(missing))
            return [AttributeViolation(
                pointer=_pointer([*tokens, unique[0]]), attribute=str(tokens[0]) if tokens
                else unique[0], keyword="required", issue_type=ATTRIBUTE_ONE_OF_REQUIRED,
                params={"names": _names(unique, self.schema, tokens),
                        "product_type": self.product_type},
            )]
        best = best_match([error])
        if best is not None and best is not error and best.validator not in ("anyOf", "oneOf"):
            return self._explain(best, attributes)
        return [AttributeViolation(
            pointer=_pointer(tokens), attribute=str(tokens[0]) if tokens else "",
            keyword=str(error.validator), issue_type=ATTRIBUTE_INVALID, value=error.instance,
            params={"keyword": error.validator, "detail": "it matches none of the allowed forms",
                    "product_type": self.product_type},
        )]


def _sort_key(pointer: str) -> list[tuple[int, Any]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in pointer.split("/")[1:]]


def validate_attributes(
    schema: Mapping[str, Any] | AttributeValidator | CachedProductType,
    attributes: Mapping[str, Any],
) -> list[AttributeViolation]:
    """Check an ``attributes`` object against a product type schema.

    ``schema`` is a schema dict, a compiled :class:`AttributeValidator` or a
    :class:`CachedProductType` (whose validator is compiled once and reused). Returns the
    violations, each with a JSON pointer into ``attributes``: required-at-parent errors point at
    the missing attribute, ``anyOf``/``oneOf`` keep the best-matching branch, conditional
    ``allOf``/``if``/``then`` requirements name the attributes of their condition.
    """
    if isinstance(schema, CachedProductType):
        return schema.validator.validate(attributes)
    if isinstance(schema, AttributeValidator):
        return schema.validate(attributes)
    return AttributeValidator(schema).validate(attributes)


# --- schema walking: coercion, selector properties, NOT_ENFORCED, describe --------------------

_TRUE = frozenset({"true", "yes", "y", "1", "on", "enabled"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "disabled"})
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def _json_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def to_json_value(value: Any) -> Any:
    """A value JSON can carry: ``Decimal`` → int/float, dates → ISO text; others unchanged."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value  # most values of a listing: no ABC isinstance check needed
    if kind is dict:
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return _json_number(value) if value.is_finite() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_json_value(v) for k, v in value.items()}
    return value


def _coerce_scalar(value: Any, schema: Mapping[str, Any]) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum and not isinstance(value, bool):
        text = str(value).strip().casefold()
        names = schema.get("enumNames")
        if isinstance(names, list):
            for i, label in enumerate(names):
                if i < len(enum) and str(label).strip().casefold() == text:
                    return enum[i]
        matches = [e for e in enum if _display(e).casefold() == text]
        if len(matches) == 1:
            return matches[0]
    kinds = schema.get("type")
    types = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if not types:
        return to_json_value(value)
    for kind in types:
        converted = _convert(value, kind)
        if converted is not _NO:
            return converted
    return to_json_value(value)


_NO = object()


def _convert(value: Any, kind: str) -> Any:
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | Decimal) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().casefold()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        return _NO
    if kind in ("integer", "number"):
        if isinstance(value, bool):
            return _NO
        number: Decimal | None = None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, Decimal):
            number = value
        elif isinstance(value, str) and _NUMBER.match(value.strip()):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                return _NO
        if number is None or not number.is_finite():
            return _NO
        if kind == "integer" and number != number.to_integral_value():
            return _NO
        return _json_number(number)
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return _NO
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else repr(value)
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, datetime | date):
            return value.isoformat()
        return _NO
    if kind == "null":
        return None if value is None else _NO
    return _NO


def _coerce(value: Any, node: Any, root: Mapping[str, Any]) -> Any:
    node = _resolve(node, root)
    if not isinstance(node, Mapping):
        return to_json_value(value)
    if isinstance(value, list):
        items = node.get("items")
        return [_coerce(v, items if isinstance(items, Mapping) else None, root) for v in value]
    if isinstance(value, Mapping):
        props = node.get("properties") or {}
        return {k: _coerce(v, props.get(k), root) for k, v in value.items()}
    return _coerce_scalar(value, node)


def coerce_attributes(schema: Mapping[str, Any] | None, attributes: Mapping[str, Any]
                      ) -> dict[str, Any]:
    """Type the cell values of ``attributes`` the way the schema wants them.

    Spreadsheet cells arrive as text, ``Decimal`` or dates; Amazon wants JSON types. Per value:
    an ``enumNames`` label (``Yes``, ``Hard Shell``) or a differently-cased value becomes its
    ``enum`` value; text becomes a number, whole number or boolean where the schema says so;
    numbers become text where text is expected (``4006381333931``). What cannot be converted is
    left as is, for validation to report. Without a schema only ``Decimal`` and dates change.
    """
    if schema is None:
        return {k: to_json_value(v) for k, v in attributes.items()}
    props = schema.get("properties") or {}
    return {k: _coerce(v, props.get(k), schema) for k, v in attributes.items()}


def item_properties(schema: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Top-level attribute → the property names its items declare (to fill selectors with)."""
    out: dict[str, frozenset[str]] = {}
    for name in schema.get("properties") or {}:
        item = _subschema(schema, [name, 0])
        props = item.get("properties") if item is not None else None
        out[name] = frozenset(props) if isinstance(props, Mapping) else frozenset()
    return out


def relax_requirements(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The NOT_ENFORCED form of an ENFORCED schema, for partial updates.

    Amazon's NOT_ENFORCED schemas check each attribute's structure without asking for the
    required attributes. When only the ENFORCED schema is at hand, this drops the attribute
    requirements of the listing as a whole: ``required`` and ``dependentRequired`` at the root
    and in the ``allOf``/``anyOf``/``then``/``else``/``dependentSchemas`` that apply to it, and a
    ``oneOf`` whose branches were requirements. Conditions (``if``), prohibitions (``not``) and
    everything inside an attribute stay.
    """
    relaxed, _ = _relax(copy.deepcopy(dict(schema)))
    return relaxed


def _relax(node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    changed = False
    for key in ("required", "dependentRequired"):
        if key in node:
            del node[key]
            changed = True
    for key in ("allOf", "anyOf"):
        if isinstance(node.get(key), list):
            branches = []
            for branch in node[key]:
                if isinstance(branch, dict):
                    branch, did = _relax(branch)
                    changed |= did
                branches.append(branch)
            node[key] = branches
    if isinstance(node.get("oneOf"), list):
        relaxed = [(_relax(b) if isinstance(b, dict) else (b, False)) for b in node["oneOf"]]
        if any(did for _, did in relaxed):
            # Exclusivity means nothing once the branches stop requiring; drop the rule.
            del node["oneOf"]
            changed = True
    for key in ("then", "else"):
        if isinstance(node.get(key), dict):
            node[key], did = _relax(node[key])
            changed |= did
    if isinstance(node.get("dependentSchemas"), dict):
        for name, sub in list(node["dependentSchemas"].items()):
            if isinstance(sub, dict):
                node["dependentSchemas"][name], did = _relax(sub)
                changed |= did
    return node, changed


def _conditionally_required(schema: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()

    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, Mapping) or depth > 6:
            return
        for key in ("then", "else"):
            sub = node.get(key)
            if isinstance(sub, Mapping):
                names.update(n for n in sub.get("required") or [] if isinstance(n, str))
                walk(sub, depth + 1)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key) or []:
                if isinstance(sub, Mapping):
                    if key != "allOf":
                        names.update(n for n in sub.get("required") or [] if isinstance(n, str))
                    walk(sub, depth + 1)

    walk(schema, 0)
    return names


@dataclass(frozen=True, slots=True)
class LeafInfo:
    """One value of an attribute a column can hold: its path (``item_package_weight#1.unit``),
    label and the rules a template shows (choices, limits, examples)."""

    path: str
    title: str
    description: str | None = None
    type: str | None = None
    required: bool = False
    hidden: bool = False
    enum: tuple[Any, ...] = ()
    enum_names: tuple[str, ...] = ()
    max_bytes: int | None = None
    min_bytes: int | None = None
    max_length: int | None = None
    minimum: float | int | None = None
    maximum: float | int | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """A top-level attribute of a product type, for ``product-types show`` and templates.

    ``required`` (always, for a full update) and ``conditional`` (by a rule on other attributes)
    come from the schema; ``simple`` attributes carry one ``value`` and can be written as a bare
    column (``item_name``); ``leaves`` list every value a column can address. ``enum``,
    ``enum_names``, ``max_bytes`` ... describe the ``value`` of a simple attribute.
    """

    name: str
    title: str
    description: str | None
    required: bool
    conditional: bool = False
    group: str | None = None
    hidden: bool = False
    editable: bool | None = None
    simple: bool = False
    type: str | None = None
    enum: tuple[Any, ...] = ()
    enum_names: tuple[str, ...] = ()
    max_bytes: int | None = None
    min_bytes: int | None = None
    max_length: int | None = None
    examples: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    max_unique_items: int | None = None
    replaced_by: tuple[str, ...] = ()
    deprecated_values: tuple[Any, ...] = ()
    leaves: tuple[LeafInfo, ...] = ()


def _type_name(node: Mapping[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        return "/".join(str(k) for k in kind)
    return str(kind) if kind is not None else None


def _leaf(path: str, node: Mapping[str, Any], required: bool) -> LeafInfo:
    names = node.get("enumNames")
    return LeafInfo(
        path=path,
        title=str(node.get("title") or path),
        description=node.get("description"),
        type=_type_name(node),
        required=required,
        hidden=bool(node.get("hidden", False)),
        enum=tuple(node.get("enum") or ()),
        enum_names=tuple(str(n) for n in names) if isinstance(names, list) else (),
        max_bytes=node.get("maxUtf8ByteLength"),
        min_bytes=node.get("minUtf8ByteLength"),
        max_length=node.get("maxLength"),
        minimum=node.get("minimum", node.get("exclusiveMinimum")),
        maximum=node.get("maximum", node.get("exclusiveMaximum")),
        examples=tuple(str(e) for e in node.get("examples") or ()),
    )


def _leaves(root: Mapping[str, Any], node: Any, path: str, required: bool, depth: int
            ) -> list[LeafInfo]:
    node = _resolve(node, root)
    if not isinstance(node, Mapping) or depth > 8:
        return []
    kind = node.get("type")
    if kind == "array" or (kind is None and "items" in node):
        return _leaves(root, node.get("items"), f"{path}#1", required, depth + 1)
    props = node.get("properties")
    if kind == "object" or isinstance(props, Mapping):
        wanted = set(node.get("required") or [])
        out: list[LeafInfo] = []
        for name, sub in (props or {}).items():
            if name in AUTO_FILLED:
                continue
            out += _leaves(root, sub, f"{path}.{name}", required and name in wanted, depth + 1)
        return out
    return [_leaf(path, node, required)]


def describe(schema: Mapping[str, Any],
             property_groups: Mapping[str, Any] | None = None) -> list[AttributeInfo]:
    """The attributes of a product type schema: required first, then conditionally required,
    then the rest, each group in schema order."""
    required = [n for n in schema.get("required") or [] if isinstance(n, str)]
    conditional = _conditionally_required(schema)
    groups: dict[str, str] = {}
    for key, group in (property_groups or {}).items():
        if isinstance(group, Mapping):
            for name in group.get("propertyNames") or []:
                groups.setdefault(name, str(group.get("title") or key))
    infos: list[AttributeInfo] = []
    for name, raw in (schema.get("properties") or {}).items():
        node = _resolve(raw, schema)
        if not isinstance(node, Mapping):
            continue
        item = _subschema(schema, [name, 0]) or {}
        item_props = item.get("properties") or {}
        value = _resolve(item_props.get("value"), schema) if "value" in item_props else None
        value = value if isinstance(value, Mapping) else {}
        simple = bool(value) and not [p for p in item_props if p not in AUTO_FILLED | {"value"}]
        lifecycle = _mapping(node.get("$lifecycle"))
        value_lifecycle = _mapping(value.get("$lifecycle"))
        names = value.get("enumNames")
        is_required = name in required
        leaves = _leaves(schema, node, name, True, 0)
        if not is_required:
            leaves = [LeafInfo(**{**_asdict(leaf), "required": False}) for leaf in leaves]
        infos.append(AttributeInfo(
            name=name,
            title=str(node.get("title") or name),
            description=node.get("description"),
            required=is_required,
            conditional=not is_required and name in conditional,
            group=groups.get(name),
            hidden=bool(node.get("hidden", False)),
            editable=value.get("editable", node.get("editable")),
            simple=simple,
            type=_type_name(value) if value else _type_name(node),
            enum=tuple(value.get("enum") or ()),
            enum_names=tuple(str(n) for n in names) if isinstance(names, list) else (),
            max_bytes=value.get("maxUtf8ByteLength"),
            min_bytes=value.get("minUtf8ByteLength"),
            max_length=value.get("maxLength"),
            examples=tuple(str(e) for e in node.get("examples") or value.get("examples") or ()),
            selectors=tuple(node.get("selectors") or ()),
            max_unique_items=node.get("maxUniqueItems"),
            replaced_by=tuple(node.get("replacedBy") or lifecycle.get("replacedBy") or ()),
            deprecated_values=tuple(value.get("enumDeprecated")
                                    or value_lifecycle.get("enumDeprecated") or ()),
            leaves=tuple(leaves),
        ))
    infos.sort(key=lambda i: 0 if i.required else 1 if i.conditional else 2)
    return infos


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _asdict(leaf: LeafInfo) -> dict[str, Any]:
    return {name: getattr(leaf, name) for name in LeafInfo.__slots__}


# --- the cache -----------------------------------------------------------------------------


def _enforcement(enforced: bool) -> str:
    return "ENFORCED" if enforced else "NOT_ENFORCED"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")


def _safe(text: str | None) -> str:
    return _UNSAFE.sub("_", text or "DEFAULT")[:120] or "_"


@dataclass(eq=False)
class CachedProductType:
    """A product type schema at hand: downloaded into the cache, or a packaged fixture.

    Keyed by ``product_type``, ``marketplace_id``, ``requirements``, ``enforced`` (Amazon's
    ``requirementsEnforced``), ``locale`` and ``version``. ``source`` is ``cache`` or
    ``packaged``; ``derived`` marks a NOT_ENFORCED schema made from the ENFORCED one with
    :func:`relax_requirements` because Amazon's own was not at hand. The schema is read lazily.
    """

    product_type: str
    marketplace_id: str
    requirements: str
    enforced: bool
    locale: str | None
    version: str | None
    schema_path: Path
    meta_schema_path: Path | None = None
    display_name: str | None = None
    property_groups: dict[str, Any] = field(default_factory=dict)
    fetched_at: datetime | None = None
    source: str = "cache"
    derived: bool = False
    schema_checksum: str | None = None

    @functools.cached_property
    def schema(self) -> dict[str, Any]:
        """The product type schema (relaxed for a derived NOT_ENFORCED entry)."""
        data = _read_json(self.schema_path, self.product_type, self.marketplace_id)
        if not isinstance(data, dict):
            raise ProductTypeError(
                f"The schema of product type {self.product_type} in {self.schema_path} is not a "
                "JSON object.", product_type=self.product_type, file=str(self.schema_path))
        return relax_requirements(data) if self.derived else data

    @functools.cached_property
    def meta_schema(self) -> dict[str, Any]:
        """The meta-schema that came with the schema, else the packaged fixture."""
        if self.meta_schema_path is not None and self.meta_schema_path.is_file():
            data = _read_json(self.meta_schema_path, self.product_type, self.marketplace_id)
            if isinstance(data, dict):
                return data
        return _packaged_meta_schema()

    @functools.cached_property
    def validator(self) -> AttributeValidator:
        """The schema compiled once for this entry."""
        return AttributeValidator(self.schema, meta_schema=self.meta_schema,
                                  product_type=self.product_type)

    @functools.cached_property
    def item_properties(self) -> dict[str, frozenset[str]]:
        """See :func:`item_properties`."""
        return item_properties(self.schema)

    def validate(self, attributes: Mapping[str, Any]) -> list[AttributeViolation]:
        """See :func:`validate_attributes`."""
        return self.validator.validate(attributes)

    def describe(self) -> list[AttributeInfo]:
        """See :func:`describe` (with this definition's property groups)."""
        return describe(self.schema, self.property_groups)

    def relaxed(self) -> CachedProductType:
        """The NOT_ENFORCED counterpart derived from this ENFORCED entry (made once)."""
        return self._relaxed

    @functools.cached_property
    def _relaxed(self) -> CachedProductType:
        return CachedProductType(
            product_type=self.product_type, marketplace_id=self.marketplace_id,
            requirements=self.requirements, enforced=False, locale=self.locale,
            version=self.version, schema_path=self.schema_path,
            meta_schema_path=self.meta_schema_path, display_name=self.display_name,
            property_groups=self.property_groups, fetched_at=self.fetched_at,
            source=self.source, derived=True, schema_checksum=self.schema_checksum,
        )

    @property
    def key(self) -> tuple[str, str, str, str, str | None, str | None]:
        return (self.product_type, self.marketplace_id, self.requirements,
                _enforcement(self.enforced), self.locale, self.version)


def _read_json(path: Path, product_type: str, marketplace_id: str | None) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except OSError as exc:
        raise ProductTypeError(
            f"Cannot read the schema file {path} of product type {product_type}: "
            f"{exc.strerror or exc}.", product_type=product_type,
            marketplace_id=marketplace_id, file=str(path)) from exc
    except ValueError as exc:
        raise ProductTypeError(
            f"The schema file {path} of product type {product_type} is not valid JSON: {exc}.",
            product_type=product_type, marketplace_id=marketplace_id, file=str(path)) from exc


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class ProductTypeCache:
    """The product type schemas kept in ``<root>`` (default ``<FEEDS_KIT_HOME>/product-types``).

    Each fetched definition lives in ``<PRODUCT_TYPE>/<MARKETPLACE_ID>/<requirements>-
    <ENFORCED|NOT_ENFORCED>-<locale>-<version>/`` as ``definition.json`` (Amazon's response with
    the download links removed, plus when it was fetched), ``schema.json`` and
    ``meta-schema.json`` byte for byte as downloaded. ``packaged`` enables the fallback to the
    fixtures shipped in ``schemas/product-types/``.
    """

    def __init__(self, root: str | Path | None = None, *, packaged: bool = True) -> None:
        self.root = Path(root) if root is not None else home_dir() / "product-types"
        self.use_packaged = packaged
        # Lookups are remembered so a sheet of many rows reads the folder and compiles each
        # schema once; store() forgets them.
        self._entries: list[CachedProductType] | None = None
        self._found: dict[tuple[Any, ...], CachedProductType | None] = {}

    # -- reading ----------------------------------------------------------------------------

    def entries(self) -> list[CachedProductType]:
        """Every cached definition, newest first (the packaged fixtures are not included)."""
        if self._entries is None:
            self._entries = self._scan()
        return list(self._entries)

    def _scan(self) -> list[CachedProductType]:
        found: list[CachedProductType] = []
        if not self.root.is_dir():
            return found
        for definition in sorted(self.root.glob("*/*/*/definition.json")):
            entry = self._entry(definition)
            if entry is not None:
                found.append(entry)
        found.sort(key=lambda e: e.fetched_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return found

    def _entry(self, definition_path: Path) -> CachedProductType | None:
        try:
            data = json.loads(definition_path.read_bytes())
        except (OSError, ValueError):
            log.warning("Skipping unreadable product type cache entry %s", definition_path)
            return None
        if not isinstance(data, dict):
            return None
        own = data.get("feedsKit") or {}
        folder = definition_path.parent
        marketplaces = data.get("marketplaceIds") or [own.get("marketplaceId")]
        version = data.get("productTypeVersion") or {}
        meta_path = folder / "meta-schema.json"
        try:
            return CachedProductType(
                product_type=str(data["productType"]),
                marketplace_id=str(marketplaces[0]),
                requirements=str(data.get("requirements") or "LISTING"),
                enforced=data.get("requirementsEnforced", "ENFORCED") != "NOT_ENFORCED",
                locale=data.get("locale"),
                version=version.get("version") if isinstance(version, Mapping) else None,
                schema_path=folder / "schema.json",
                meta_schema_path=meta_path if meta_path.is_file() else None,
                display_name=data.get("displayName"),
                property_groups=dict(data.get("propertyGroups") or {}),
                fetched_at=_parse_time(own.get("fetchedAt")),
                source="cache",
                schema_checksum=(data.get("schema") or {}).get("checksum"),
            )
        except (KeyError, IndexError, TypeError):
            log.warning("Skipping incomplete product type cache entry %s", definition_path)
            return None

    def packaged_entries(self) -> list[CachedProductType]:
        """The fixtures shipped with feeds-kit (``schemas/product-types/index.json``)."""
        return list(_packaged_entries())

    def find(
        self,
        product_type: str,
        marketplace_id: str,
        *,
        requirements: str = "LISTING",
        enforced: bool = True,
        locale: str | None = None,
        version: str | None = None,
    ) -> CachedProductType | None:
        """The best schema at hand for the key, or ``None``.

        Order: the newest matching cache entry; for NOT_ENFORCED, the ENFORCED entry relaxed
        (:func:`relax_requirements`); then the packaged fixtures the same way. ``locale`` and
        ``version`` narrow the search when given.
        """
        product = product_type.strip().upper()
        market = find_marketplace(marketplace_id)
        market_id = market.id if market else marketplace_id.strip()
        memo = (product, market_id, requirements, enforced, locale, version)
        if memo in self._found:
            return self._found[memo]
        result = self._find(product, market_id, requirements, enforced, locale, version)
        self._found[memo] = result
        return result

    def _find(self, product: str, market_id: str, requirements: str, enforced: bool,
              locale: str | None, version: str | None) -> CachedProductType | None:

        def matches(entry: CachedProductType, want_enforced: bool) -> bool:
            return (entry.product_type.upper() == product
                    and entry.marketplace_id == market_id
                    and entry.requirements == requirements
                    and entry.enforced == want_enforced
                    and (locale is None or entry.locale == locale)
                    and (version is None or entry.version == version))

        pools = [self.entries()]
        if self.use_packaged:
            pools.append(self.packaged_entries())
        for pool in pools:
            for entry in pool:
                if matches(entry, enforced):
                    return entry
            if not enforced:
                for entry in pool:
                    if matches(entry, True):
                        return entry.relaxed()
        return None

    def load(
        self,
        product_type: str,
        marketplace_id: str,
        *,
        requirements: str = "LISTING",
        enforced: bool = True,
        locale: str | None = None,
        version: str | None = None,
    ) -> CachedProductType:
        """Like :meth:`find`, but raises :class:`~feeds_kit.errors.NotFoundError` saying how to
        fetch the schema."""
        found = self.find(product_type, marketplace_id, requirements=requirements,
                          enforced=enforced, locale=locale, version=version)
        if found is None:
            market = find_marketplace(marketplace_id)
            code = market.code if market else marketplace_id
            raise NotFoundError(
                f"Product type {product_type.strip().upper()} for {code} is not cached: run "
                f"feeds-kit product-types fetch {product_type.strip().upper()} --marketplace "
                f"{code}.",
                product_type=product_type, marketplace_id=marketplace_id,
            )
        return found

    # -- writing ----------------------------------------------------------------------------

    def store(
        self,
        definition: Mapping[str, Any],
        schema_bytes: bytes,
        meta_schema_bytes: bytes | None,
        *,
        fetched_at: datetime,
    ) -> CachedProductType:
        """Save a fetched definition; returns its entry. ``definition`` is Amazon's response;
        its download links (presigned URLs) are not written."""
        clean = {k: v for k, v in definition.items() if k not in ("schema", "metaSchema")}
        for key in ("schema", "metaSchema"):
            link = definition.get(key)
            if isinstance(link, Mapping):
                clean[key] = {"checksum": link.get("checksum")}
        marketplaces = list(definition.get("marketplaceIds") or [])
        version = definition.get("productTypeVersion") or {}
        version_text = version.get("version") if isinstance(version, Mapping) else None
        folder = (
            self.root
            / _safe(str(definition["productType"]).upper())
            / _safe(marketplaces[0] if marketplaces else None)
            / "-".join((
                _safe(str(definition.get("requirements") or "LISTING")),
                _safe(str(definition.get("requirementsEnforced") or "ENFORCED")),
                _safe(definition.get("locale")),
                _safe(version_text),
            ))
        )
        clean["feedsKit"] = {"fetchedAt": fetched_at.isoformat()}
        write_atomic(folder / "schema.json", schema_bytes)
        meta_path = folder / "meta-schema.json"
        if meta_schema_bytes is not None:
            write_atomic(meta_path, meta_schema_bytes)
        # definition.json last: an entry is complete once it exists.
        write_atomic(folder / "definition.json",
                      json.dumps(clean, indent=2, ensure_ascii=False).encode("utf-8"))
        self._entries = None
        self._found.clear()
        entry = self._entry(folder / "definition.json")
        if entry is None:
            raise ProductTypeError(
                f"The cache entry just written in {folder} cannot be read back.",
                product_type=str(definition.get("productType")), file=str(folder))
        return entry


@functools.cache
def _packaged_entries() -> tuple[CachedProductType, ...]:
    index = resources.load_schema("product-types", "index.json")
    entries: list[CachedProductType] = []
    for item in index.get("productTypes", []):
        version = item.get("productTypeVersion") or {}
        for market in item.get("marketplaceIds") or []:
            entries.append(CachedProductType(
                product_type=item["productType"],
                marketplace_id=market,
                requirements=item.get("requirements", "LISTING"),
                enforced=item.get("requirementsEnforced", "ENFORCED") != "NOT_ENFORCED",
                locale=item.get("locale"),
                version=version.get("version"),
                schema_path=resources.schema_path("product-types", item["file"]),
                meta_schema_path=resources.schema_path("product-types", "meta-schema.json"),
                display_name=item.get("displayName"),
                property_groups=dict(item.get("propertyGroups") or {}),
                source="packaged",
            ))
    return tuple(entries)


def list_cached(cache: ProductTypeCache | None = None) -> list[CachedProductType]:
    """The cached product type schemas, newest first (``feeds-kit product-types list``)."""
    return (cache or ProductTypeCache()).entries()


def load_cached(
    product_type: str,
    marketplace_id: str,
    *,
    requirements: str = "LISTING",
    enforced: bool = True,
    locale: str | None = None,
    version: str | None = None,
    cache: ProductTypeCache | None = None,
) -> CachedProductType:
    """The schema for a product type and marketplace from the cache, else the packaged
    fixtures; :class:`~feeds_kit.errors.NotFoundError` when neither has it."""
    return (cache or ProductTypeCache()).load(
        product_type, marketplace_id, requirements=requirements, enforced=enforced,
        locale=locale, version=version,
    )


# --- fetching ------------------------------------------------------------------------------


class SupportsRequest(Protocol):
    """The part of the SP-API client :func:`fetch` uses (``FeedsClient.request``)."""

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = ...,
        expected: tuple[int, ...] = ...,
    ) -> requests.Response: ...


def _safe_url(url: str) -> str:
    """A URL fit for messages: the presigned query (with its signature) removed."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def checksum(data: bytes) -> str:
    """Amazon's checksum of a schema document: base64 of its MD5 digest."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _link(definition: Mapping[str, Any], key: str, product_type: str) -> tuple[str, str] | None:
    link = definition.get(key)
    if link is None:
        return None
    try:
        resource = link["link"]["resource"]
        digest = link["checksum"]
    except (KeyError, TypeError) as exc:
        raise ApiError(
            f"{OPERATION} answered for {product_type} without a usable {key} link.",
            operation=OPERATION,
        ) from exc
    if not isinstance(resource, str) or not isinstance(digest, str):
        raise ApiError(f"{OPERATION} answered for {product_type} with a malformed {key} link.",
                       operation=OPERATION)
    return resource, digest


def _download(session: requests.Session, url: str, expected: str, *, what: str,
              product_type: str, timeout: float) -> bytes:
    shown = _safe_url(url)
    try:
        response = session.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise NetworkError(
            f"Could not download the {what} of product type {product_type} from {shown}: "
            f"{type(exc).__name__}.", product_type=product_type) from exc
    if response.status_code != 200:
        raise UploadError(
            f"Downloading the {what} of product type {product_type} from {shown} failed with "
            f"HTTP {response.status_code}.", product_type=product_type,
            status=response.status_code)
    data = response.content
    actual = checksum(data)
    if actual != expected:
        raise UploadError(
            f"The {what} of product type {product_type} downloaded from {shown} does not match "
            f"its checksum (expected {expected}, got {actual}); fetch it again.",
            product_type=product_type)
    try:
        json.loads(data)
    except ValueError as exc:
        raise UploadError(
            f"The {what} of product type {product_type} downloaded from {shown} is not JSON.",
            product_type=product_type) from exc
    return data


def fetch(
    client: SupportsRequest,
    product_type: str,
    marketplace_id: str,
    *,
    locale: str | None = None,
    requirements: str = "LISTING",
    enforced: bool = True,
    version: str | None = None,
    seller_id: str | None = None,
    session: requests.Session | None = None,
    cache: ProductTypeCache | None = None,
    clock: Callable[[], datetime] | None = None,
    timeout: float = 60.0,
) -> CachedProductType:
    """Fetch a product type definition from Amazon and cache its schema and meta-schema.

    Calls ``getDefinitionsProductType`` through ``client.request`` (requirements ``LISTING`` by
    default; ``enforced=False`` asks for ``NOT_ENFORCED``, the schema for partial updates), then
    downloads ``schema`` and ``metaSchema`` with plain GETs on their links (``session``; no
    SP-API headers), checks Amazon's base64 MD5 checksums and stores everything in ``cache``.
    ``marketplace_id`` is an id or a code (``US``). Raises :class:`~feeds_kit.errors.ApiError`,
    :class:`~feeds_kit.errors.NetworkError` or :class:`~feeds_kit.errors.UploadError`; no message
    carries a presigned URL's signature.
    """
    product = product_type.strip().upper()
    market = get_marketplace(marketplace_id)
    if requirements not in REQUIREMENTS:
        raise UsageError(f"Unknown requirements {requirements!r}: use one of "
                         f"{', '.join(REQUIREMENTS)}.")
    params: dict[str, Any] = {
        "marketplaceIds": market.id,
        "requirements": requirements,
        "requirementsEnforced": _enforcement(enforced),
    }
    if locale:
        params["locale"] = locale
    if version:
        params["productTypeVersion"] = version
    if seller_id:
        params["sellerId"] = seller_id
    response = client.request(
        OPERATION, "GET", DEFINITION_PATH.format(productType=quote(product, safe="")),
        params=params, expected=(200,),
    )
    try:
        definition = response.json()
    except ValueError as exc:
        raise ApiError(f"{OPERATION} answered for {product} with a body that is not JSON.",
                       operation=OPERATION, status=response.status_code,
                       request_id=response.headers.get("x-amzn-RequestId")) from exc
    if not isinstance(definition, dict) or "schema" not in definition:
        raise ApiError(f"{OPERATION} answered for {product} without a schema link.",
                       operation=OPERATION, status=response.status_code,
                       request_id=response.headers.get("x-amzn-RequestId"))
    definition.setdefault("productType", product)
    definition.setdefault("marketplaceIds", [market.id])
    definition.setdefault("requirements", requirements)
    definition.setdefault("requirementsEnforced", _enforcement(enforced))
    schema_link = _link(definition, "schema", product)
    meta_link = _link(definition, "metaSchema", product)
    own_session = session is None
    http = session or requests.Session()
    try:
        assert schema_link is not None
        schema_bytes = _download(http, schema_link[0], schema_link[1], what="schema",
                                 product_type=product, timeout=timeout)
        meta_bytes = None
        if meta_link is not None:
            meta_bytes = _download(http, meta_link[0], meta_link[1], what="meta-schema",
                                   product_type=product, timeout=timeout)
    finally:
        if own_session:
            http.close()
    now = (clock or (lambda: datetime.now(UTC)))()
    entry = (cache or ProductTypeCache()).store(definition, schema_bytes, meta_bytes,
                                                fetched_at=now)
    problems = check_schema(entry.schema, entry.meta_schema)
    if problems:
        log.warning("Product type %s schema does not follow its meta-schema: %s", product,
                    "; ".join(problems[:3]))
    return entry
