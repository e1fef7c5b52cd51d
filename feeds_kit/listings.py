"""Listings rows → ``UPDATE`` / ``PARTIAL_UPDATE`` / ``DELETE`` messages, checked by product type.

A listings sheet has a few fixed columns (``schemas/rows/listings.json``: SKU, product type,
operation, marketplace, language, requirements) and attribute columns named with Amazon's
attribute-path grammar (:mod:`feeds_kit.attribute_paths`). One row becomes one message:

- ``update`` → ``UPDATE`` with ``productType``, ``requirements`` (``LISTING`` unless the row
  says otherwise) and ``attributes``; checked against the ENFORCED product type schema, so every
  required attribute must be there;
- ``partial_update`` → ``PARTIAL_UPDATE`` with ``productType`` and the filled attributes only;
  checked against the NOT_ENFORCED schema (structure of each attribute, no required ones);
- ``delete`` → ``DELETE`` with nothing but the SKU.

Amazon's own spellings are accepted in the operation column: ``Update``, ``PartialUpdate``,
``Delete`` (``update_delete`` of the fptcustom templates) and ``Create or Replace (Full
Update)``, ``Edit (Partial Update)``, ``full_update``, ``partial_update`` (``::record_action``
of the unified templates); blank means ``update``, as in Amazon's templates.

:func:`check_listing` returns the row's findings as :class:`~feeds_kit.issues.Issue` records
addressed by column; :func:`build_listing_message` returns the message plus the attribute →
column map for the manifest. A row :func:`check_listing` finds no error in always builds, and
every message built validates against ``listings-feed-schema-v2.json``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from feeds_kit import resources
from feeds_kit.attribute_paths import (
    ATTRIBUTE_PATH_CONFLICT,
    Assembly,
    AttributeColumn,
    AttributePath,
    ColumnMap,
    assemble,
    is_pseudo_name,
    parse_attribute_columns,
    parse_attribute_path,
)
from feeds_kit.errors import EXIT_DATA, FeedsKitError, UsageError
from feeds_kit.headers import match_header
from feeds_kit.issues import Issue, IssueType, Location, Severity
from feeds_kit.layouts import PSEUDO_COLUMNS, legacy_attribute_paths, product_type_name
from feeds_kit.manifest import CellRef, MessageEntry
from feeds_kit.marketplaces import BY_ID, REGIONS, Marketplace, find_marketplace, get_marketplace
from feeds_kit.product_types import (
    REQUIREMENTS,
    CachedProductType,
    ProductTypeCache,
    coerce_attributes,
)
from feeds_kit.rows import Column, Row, SheetLayout
from feeds_kit.validation import (
    DUPLICATE_SKU,
    MIXED_REGIONS,
    NO_DATA_ROWS,
    SKU_TOO_LONG,
    RowVerdict,
)

__all__ = [
    "FIELDS",
    "LISTING_BAD_LANGUAGE_TAG",
    "LISTING_BAD_PRODUCT_TYPE",
    "LISTING_DELETE_IGNORES_ATTRIBUTES",
    "LISTING_MISSING_MARKETPLACE",
    "LISTING_MISSING_PRODUCT_TYPE",
    "LISTING_MISSING_SKU",
    "LISTING_NO_ATTRIBUTES",
    "LISTING_UNKNOWN_MARKETPLACE",
    "LISTING_UNKNOWN_OPERATION",
    "LISTING_UNKNOWN_REQUIREMENTS",
    "OPERATIONS",
    "PRODUCT_TYPE_NOT_CACHED",
    "TEMPLATE_COLUMN_NOT_SENT",
    "ListingLayout",
    "ListingMessage",
    "ListingRow",
    "ListingSheet",
    "ListingValidator",
    "UnbuildableListing",
    "build_listing_message",
    "check_and_build",
    "check_listing",
    "parse_operation",
]

#: The fixed fields of a listings row (``schemas/rows/listings.json``).
FIELDS = ("sku", "product_type", "operation", "marketplace", "language_tag", "requirements")

UPDATE = "UPDATE"
PARTIAL_UPDATE = "PARTIAL_UPDATE"
DELETE = "DELETE"

#: Accepted spellings (lower case, letters only) → Amazon's ``operationType``.
OPERATIONS: dict[str, str] = {
    "update": UPDATE,
    "fullupdate": UPDATE,
    "createorreplace": UPDATE,
    "createorreplacefullupdate": UPDATE,
    "defaultcreateorreplace": UPDATE,
    "partialupdate": PARTIAL_UPDATE,
    "editpartialupdate": PARTIAL_UPDATE,
    "edit": PARTIAL_UPDATE,
    "delete": DELETE,
}

_LETTERS = re.compile(r"[^a-z]")
_WORDS = {UPDATE: "update", PARTIAL_UPDATE: "partial_update", DELETE: "delete"}
_TAGS = ("listings",)

LISTING_MISSING_SKU = IssueType(
    code="listing-missing-sku",
    title="SKU missing",
    message="the row has no SKU",
    hint="fill the SKU column with the seller SKU of the listing",
    description="Every listings row needs the SKU it creates, changes or deletes.",
    tags=_TAGS,
)

LISTING_UNKNOWN_OPERATION = IssueType(
    code="listing-unknown-operation",
    title="Unknown operation",
    message="{value!r} is not an operation",
    hint="write update, partial_update or delete (Amazon's Update, PartialUpdate, Delete work too)",
    description=(
        "The operation column says what to do with the listing: `update` (create or replace "
        "it), `partial_update` (change only the filled columns) or `delete`. Amazon's template "
        "spellings are accepted: `Update`, `PartialUpdate`, `Delete`, `Create or Replace (Full "
        "Update)`, `Edit (Partial Update)`, `full_update`, `partial_update`. Blank means update."
    ),
    tags=_TAGS,
)

LISTING_MISSING_MARKETPLACE = IssueType(
    code="listing-missing-marketplace",
    title="Marketplace missing",
    message="the row has no marketplace",
    hint="fill the Marketplace column (e.g. US) or pass --marketplace",
    description=(
        "Attribute columns without a `[marketplace_id=...]` selector take the row's "
        "marketplace, and the product type schema is per marketplace."
    ),
    tags=_TAGS,
)

LISTING_UNKNOWN_MARKETPLACE = IssueType(
    code="listing-unknown-marketplace",
    title="Unknown marketplace",
    message="{value!r} is not an Amazon marketplace",
    hint="write a country code such as US, DE, UK or a marketplace id such as ATVPDKIKX0DER",
    description="The marketplace is neither a known code, domain, country nor marketplace id.",
    tags=_TAGS,
)

LISTING_MISSING_PRODUCT_TYPE = IssueType(
    code="listing-missing-product-type",
    title="Product type missing",
    message="a {operation} row needs a product type",
    hint="fill the Product Type column with Amazon's product type, e.g. LUGGAGE",
    description=(
        "`update` and `partial_update` messages carry the product type the attributes belong "
        "to; see `feeds-kit product-types list` for the ones cached."
    ),
    tags=_TAGS,
)

LISTING_UNKNOWN_REQUIREMENTS = IssueType(
    code="listing-unknown-requirements",
    title="Unknown requirements",
    message="{value!r} is not a requirements set",
    hint="write LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY, or leave it blank",
    description=(
        "The requirements column chooses Amazon's requirement set for an update: LISTING "
        "(product facts and offer), LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY."
    ),
    tags=_TAGS,
)

LISTING_NO_ATTRIBUTES = IssueType(
    code="listing-no-attributes",
    title="No attribute values",
    message="a {operation} row needs at least one attribute value",
    hint="fill the attribute columns, or write delete to remove the listing",
    description=(
        "An `update` or `partial_update` message must carry attributes; every attribute cell of "
        "the row is blank."
    ),
    tags=_TAGS,
)

LISTING_DELETE_IGNORES_ATTRIBUTES = IssueType(
    code="listing-delete-ignores-attributes",
    title="Attributes on a delete row",
    message="the row deletes the listing, so its {count} attribute values are not sent",
    hint="clear them, or write partial_update to change the listing instead",
    description="A `delete` message carries only the SKU; filled attribute cells are ignored.",
    severity=Severity.WARNING,
    tags=_TAGS,
)

PRODUCT_TYPE_NOT_CACHED = IssueType(
    code="product-type-not-cached",
    title="Product type schema not available",
    message=(
        "the schema of product type {product_type} for {marketplace} is not cached, so the "
        "attributes were not checked"
    ),
    hint="run feeds-kit product-types fetch {product_type} --marketplace {marketplace}",
    description=(
        "Attributes are checked offline against Amazon's product type schema, which must be "
        "fetched once (`feeds-kit product-types fetch`). Without it the row is built as is and "
        "Amazon's processing report will tell what is wrong."
    ),
    severity=Severity.WARNING,
    tags=_TAGS,
)


LISTING_BAD_PRODUCT_TYPE = IssueType(
    code="listing-bad-product-type",
    title="Product type is not a product type name",
    message="{value!r} is not a product type name",
    hint="write Amazon's product type name, letters, digits and underscores, e.g. SHIRT",
    description=(
        "Product types are named the way the Product Type Definitions API names them "
        "(`LUGGAGE`, `SHIRT`, `HOME_ORGANIZERS_AND_STORAGE`): a letter, then letters, digits "
        "and underscores."
    ),
    tags=_TAGS,
)

LISTING_BAD_LANGUAGE_TAG = IssueType(
    code="listing-bad-language-tag",
    title="Language is not a language tag",
    message="{value!r} is not a language tag",
    hint="write it the way Amazon does, language_COUNTRY, e.g. en_GB, de_DE or fr_CA",
    description=(
        "The Language column names the language of the row's texts as Amazon's "
        "`language_tag` selector writes it: a lower-case language, an underscore and an "
        "upper-case country."
    ),
    tags=_TAGS,
)

TEMPLATE_COLUMN_NOT_SENT = IssueType(
    code="template-column-not-sent",
    title="Template column feeds-kit does not send",
    message="{value!r} is a column of Amazon's template that has no attribute to send",
    hint="leave it as it is; fill the attribute columns instead",
    description=(
        "Amazon's unified templates carry a few pseudo-columns (`::name`, `amzn1.volt.…`) that "
        "Seller Central reads itself. Those feeds-kit knows (`::record_action`, the product id "
        "pair) are translated; any other is reported once and its values are not sent."
    ),
    severity=Severity.WARNING,
    tags=(*_TAGS, "structure", "amazon-template"),
)


#: Findings that leave nothing to build (the others are reported, and the row still builds).
_BLOCKING = frozenset({
    LISTING_MISSING_SKU.code, LISTING_UNKNOWN_OPERATION.code, LISTING_MISSING_MARKETPLACE.code,
    LISTING_UNKNOWN_MARKETPLACE.code, LISTING_MISSING_PRODUCT_TYPE.code,
    LISTING_UNKNOWN_REQUIREMENTS.code, LISTING_NO_ATTRIBUTES.code,
})


class UnbuildableListing(FeedsKitError):
    """:func:`build_listing_message` was given a row with errors :func:`check_listing` reports
    (no SKU, unknown operation, ...). ``issues`` holds them; context: ``row``."""

    exit_code = EXIT_DATA

    def __init__(self, message: str, *, row: int, issues: Sequence[Issue]) -> None:
        super().__init__(message, row=row)
        self.row = row
        self.issues = list(issues)


def parse_operation(value: Any, default: str = UPDATE) -> str | None:
    """Amazon's ``operationType`` for an operation cell; ``default`` when blank, ``None`` when
    the value is not an operation."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return OPERATIONS.get(_LETTERS.sub("", str(value).casefold()))


@dataclass(slots=True)
class ListingRow:
    """One listings row as feeds-kit needs it.

    ``row`` is the spreadsheet row number; the fixed fields hold the cell values as read
    (``operation`` in any accepted spelling, ``marketplace_id`` an id or a code); ``cells`` the
    attribute columns' values (blank cells may be left out or given as ``None``).
    """

    row: int
    sku: str | None
    operation: Any = None
    product_type: str | None = None
    marketplace_id: str | None = None
    language_tag: str | None = None
    requirements: str | None = None
    cells: Mapping[AttributeColumn, Any] = field(default_factory=dict)

    @classmethod
    def from_row(
        cls,
        row: Row,
        columns: Iterable[AttributeColumn],
        *,
        marketplace: str | None = None,
        language_tag: str | None = None,
    ) -> ListingRow:
        """From a :class:`~feeds_kit.rows.Row` whose fixed fields are in ``values`` and whose
        attribute cells are in ``extra`` (by header) — how the reader keeps unknown columns.
        ``marketplace`` and ``language_tag`` are the defaults for blank cells."""
        values = row.values
        cells = {c: row.extra.get(c.header, values.get(c.header)) for c in columns}
        sku = values.get("sku")
        return cls(
            row=row.number,
            sku=None if sku is None else str(sku),
            operation=values.get("operation"),
            product_type=_text(values.get("product_type")),
            marketplace_id=_text(values.get("marketplace")) or marketplace,
            language_tag=_text(values.get("language_tag")) or language_tag,
            requirements=_text(values.get("requirements")),
            cells=cells,
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class ListingSheet:
    """Where a listings row sits, for addressing its findings: file, sheet and the columns of
    the fixed fields (field → cell) and of the attributes."""

    file: str | None = None
    sheet: str | None = None
    fields: Mapping[str, CellRef] = field(default_factory=dict)
    columns: tuple[AttributeColumn, ...] = ()

    @classmethod
    def from_layout(cls, layout: SheetLayout, columns: Iterable[AttributeColumn] = ()
                    ) -> ListingSheet:
        """From the reader's :class:`~feeds_kit.rows.SheetLayout` and the parsed attribute
        columns (:func:`feeds_kit.attribute_paths.parse_attribute_columns`)."""
        fields = {name: CellRef(col.letter, col.header) for name, col in layout.fields().items()}
        return cls(file=layout.file, sheet=layout.sheet, fields=fields, columns=tuple(columns))

    def at(self, listing: ListingRow, cell: CellRef | None = None, field_name: str | None = None
           ) -> Location:
        """The location of a finding on ``listing``: a cell, a fixed field's cell, or the row."""
        if cell is None and field_name is not None:
            cell = self.fields.get(field_name)
        return Location(
            file=self.file, sheet=self.sheet, row=listing.row,
            column=(cell.column or None) if cell else None,
            header=cell.header if cell else None,
            field=field_name, sku=listing.sku,
        )

    def column_of(self, attribute: str) -> CellRef | None:
        """The first column writing into top-level ``attribute``, filled or not."""
        for col in self.columns:
            if col.path.attribute == attribute:
                return col.cell
        return None


@dataclass(slots=True)
class ListingMessage:
    """A built feed message and where its parts came from."""

    message: dict[str, Any]
    row: int
    sku: str
    operation: str
    marketplace_id: str
    columns: ColumnMap
    product_type: CachedProductType | None = None

    @property
    def message_id(self) -> int:
        return int(self.message["messageId"])

    @property
    def attributes(self) -> dict[str, CellRef]:
        """Amazon attribute name (``item_name``, ``purchasable_offer.our_price``) → the column it
        came from: the ``attributes`` of the manifest entry."""
        return self.columns.attribute_names()

    def manifest_entry(self) -> MessageEntry:
        """The manifest record of this message."""
        return MessageEntry(
            message_id=self.message_id, row=self.row, sku=self.sku,
            marketplace_id=self.marketplace_id, operation=self.operation,
            attributes=self.attributes,
        )


@dataclass(slots=True)
class _Prepared:
    issues: list[Issue]
    operation: str | None = None
    market: Marketplace | None = None
    language_tag: str | None = None
    product_type: str | None = None
    requirements: str = "LISTING"
    schema: CachedProductType | None = None
    assembly: Assembly | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def _filled(cells: Mapping[AttributeColumn, Any]) -> int:
    return sum(1 for v in cells.values()
               if v is not None and not (isinstance(v, str) and not v.strip()))


def _prepare(
    listing: ListingRow,
    sheet: ListingSheet,
    cache: ProductTypeCache | None,
    product_type: CachedProductType | None,
    default_operation: str,
) -> _Prepared:
    issues: list[Issue] = []
    prep = _Prepared(issues)
    if not listing.sku or not str(listing.sku).strip():
        issues.append(LISTING_MISSING_SKU.at(sheet.at(listing, field_name="sku")))
    operation = parse_operation(listing.operation, default_operation)
    if operation is None:
        issues.append(LISTING_UNKNOWN_OPERATION.at(sheet.at(listing, field_name="operation"),
                                                   value=listing.operation))
        return prep
    prep.operation = operation
    if operation == DELETE:
        filled = _filled(listing.cells)
        if filled:
            issues.append(LISTING_DELETE_IGNORES_ATTRIBUTES.at(sheet.at(listing), count=filled))
        market = find_marketplace(listing.marketplace_id) if listing.marketplace_id else None
        prep.market = market
        return prep
    if not listing.marketplace_id:
        issues.append(LISTING_MISSING_MARKETPLACE.at(sheet.at(listing, field_name="marketplace")))
        return prep
    market = find_marketplace(listing.marketplace_id)
    if market is None:
        issues.append(LISTING_UNKNOWN_MARKETPLACE.at(
            sheet.at(listing, field_name="marketplace"), value=listing.marketplace_id))
        return prep
    prep.market = market
    prep.language_tag = listing.language_tag or market.language_tag
    if not listing.product_type or not listing.product_type.strip():
        issues.append(LISTING_MISSING_PRODUCT_TYPE.at(
            sheet.at(listing, field_name="product_type"), operation=_WORDS[operation]))
        return prep
    prep.product_type = listing.product_type.strip().upper()
    if listing.requirements:
        wanted = str(listing.requirements).strip().upper()
        if wanted not in REQUIREMENTS:
            issues.append(LISTING_UNKNOWN_REQUIREMENTS.at(
                sheet.at(listing, field_name="requirements"), value=listing.requirements))
            return prep
        prep.requirements = wanted

    enforced = operation == UPDATE
    schema = product_type
    if schema is not None and enforced is False and schema.enforced:
        schema = schema.relaxed()
    if schema is None:
        schema = (cache or ProductTypeCache()).find(
            prep.product_type, market.id, requirements=prep.requirements, enforced=enforced)
    prep.schema = schema
    if schema is None:
        issues.append(PRODUCT_TYPE_NOT_CACHED.at(
            sheet.at(listing, field_name="product_type"), product_type=prep.product_type,
            marketplace=market.code))

    assembly = assemble(listing.cells, market.id, prep.language_tag,
                        item_properties=schema.item_properties if schema else None)
    prep.assembly = assembly
    for conflict in assembly.conflicts:
        issues.append(ATTRIBUTE_PATH_CONFLICT.at(
            sheet.at(listing, conflict.second), value=conflict.second.header,
            other_column=conflict.first.column, other_header=conflict.first.header,
            path=conflict.path))
    if not assembly.attributes:
        issues.append(LISTING_NO_ATTRIBUTES.at(sheet.at(listing), operation=_WORDS[operation]))
        return prep
    prep.attributes = coerce_attributes(schema.schema if schema else None, assembly.attributes)
    return prep


def check_listing(
    listing: ListingRow,
    sheet: ListingSheet | None = None,
    *,
    cache: ProductTypeCache | None = None,
    product_type: CachedProductType | None = None,
    default_operation: str = UPDATE,
) -> list[Issue]:
    """Every finding about one listings row, each addressed by column where one applies.

    Checks the fixed fields (SKU, operation, marketplace, product type, requirements), the
    attribute columns' consistency, and the attributes against the product type schema:
    ENFORCED for ``update``, NOT_ENFORCED for ``partial_update`` (``product_type`` overrides the
    lookup in ``cache``; an ENFORCED one is relaxed for a partial update). A schema violation
    lands on the column that produced the value; a missing attribute on its column if the sheet
    has one (blank in this row), else on the row, naming the header to add.
    """
    sheet = sheet or ListingSheet()
    prep = _prepare(listing, sheet, cache, product_type, default_operation)
    return _findings(prep, listing, sheet)


def build_listing_message(
    listing: ListingRow,
    message_id: int,
    *,
    sheet: ListingSheet | None = None,
    cache: ProductTypeCache | None = None,
    product_type: CachedProductType | None = None,
    default_operation: str = UPDATE,
) -> ListingMessage:
    """The JSON_LISTINGS_FEED message for one listings row, and its attribute → column map.

    Values are typed by the product type schema when one is at hand (``Yes`` → ``true``,
    ``"4"`` → ``4``, an ``enumNames`` label → its value), else made JSON-ready. Raises
    :class:`UnbuildableListing` (with the issues) when nothing can be built: no SKU, an unknown
    operation, marketplace or requirements, no product type or no attribute value. Schema
    violations and clashing columns (the first column wins) do not stop the build, so check
    first and skip the rows with errors (or use :func:`check_and_build`).
    """
    sheet = sheet or ListingSheet()
    prep = _prepare(listing, sheet, cache, product_type, default_operation)
    return _message(prep, listing, message_id)


def check_and_build(
    listing: ListingRow,
    message_id: int,
    *,
    sheet: ListingSheet | None = None,
    cache: ProductTypeCache | None = None,
    product_type: CachedProductType | None = None,
    default_operation: str = UPDATE,
) -> tuple[list[Issue], ListingMessage | None]:
    """:func:`check_listing` and :func:`build_listing_message` in one pass over the row: the
    findings, and the message when none of them is an error (``None`` otherwise)."""
    sheet = sheet or ListingSheet()
    prep = _prepare(listing, sheet, cache, product_type, default_operation)
    issues = _findings(prep, listing, sheet)
    if any(i.is_error for i in issues):
        return issues, None
    return issues, _message(prep, listing, message_id)


def _findings(prep: _Prepared, listing: ListingRow, sheet: ListingSheet) -> list[Issue]:
    issues = list(prep.issues)
    if prep.schema is None or not prep.attributes or prep.assembly is None:
        return issues
    columns = prep.assembly.columns
    found: list[Issue] = []
    for violation in prep.schema.validate(prep.attributes):
        cell = columns.for_pointer(violation.pointer) if violation.pointer else None
        if cell is None and violation.attribute:
            cell = sheet.column_of(violation.attribute)
        found.append(violation.issue(sheet.at(listing, cell)))
    # Row-level findings first, then the cells from left to right, as the sheet reads.
    found.sort(key=lambda i: (i.column is not None, len(i.column or ""), i.column or ""))
    issues.extend(found)
    return issues


def _message(prep: _Prepared, listing: ListingRow, message_id: int) -> ListingMessage:
    errors = [i for i in prep.issues if i.code in _BLOCKING]
    if errors or prep.operation is None:
        reason = errors[0].message if errors else "no operation"
        raise UnbuildableListing(f"Row {listing.row} cannot be built: {reason}.",
                                 row=listing.row, issues=errors)
    sku = str(listing.sku).strip()
    message: dict[str, Any] = {
        "messageId": message_id,
        "sku": sku,
        "operationType": prep.operation,
    }
    columns = prep.assembly.columns if prep.assembly is not None else ColumnMap()
    if prep.operation != DELETE:
        message["productType"] = prep.product_type
        if prep.operation == UPDATE:
            message["requirements"] = prep.requirements
        # Already JSON-ready: coerce_attributes types every value.
        message["attributes"] = prep.attributes
    market = prep.market
    return ListingMessage(
        message=message,
        row=listing.row,
        sku=sku,
        operation=prep.operation,
        marketplace_id=market.id if market else (listing.marketplace_id or ""),
        columns=columns,
        product_type=prep.schema,
    )


# --------------------------------------------------------------------------- whole sheets

_ROW_SCHEMA = resources.load_schema("rows", "listings.json")
_PROPS: Mapping[str, Any] = _ROW_SCHEMA["properties"]
_SKU_MAX = int(_PROPS["sku"].get("maxLength", 40))
_PRODUCT_TYPE_PATTERN = re.compile(str(_PROPS["product_type"]["pattern"]))
_LANGUAGE_PATTERN = re.compile(str(_PROPS["language_tag"]["pattern"]))
_AVAILABILITY = "fulfillment_availability"
_CHANNEL_CODE = "fulfillment_channel_code"
_DEFAULT_CHANNEL = "DEFAULT"
_PRODUCT_ID_TYPE = "amzn1.volt.ca.product_id_type"
_PRODUCT_ID_VALUE = "amzn1.volt.ca.product_id_value"
_ASIN_PATH = parse_attribute_path("merchant_suggested_asin#1.value")
_CHANNEL_PATH = parse_attribute_path(f"{_AVAILABILITY}#1.{_CHANNEL_CODE}")
_ALIAS_BOOLEANS: Mapping[str, bool] = {"true": True, "false": False}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _textual_attributes(columns: Sequence[AttributeColumn]) -> set[str]:
    """The attributes of translated legacy columns that are texts (``brand``, ``color`` with
    its colour map): they take the row's marketplace and language like a short form. A
    measure (a ``unit`` beside its value) or an image (``media_location``) takes no language,
    so its paths stay as written."""
    values: set[str] = set()
    measures: set[str] = set()
    for column in columns:
        steps = column.path.steps
        if steps[0].selectors:
            measures.add(column.path.attribute)
        elif len(steps) == 2 and steps[1].name == "value":
            values.add(column.path.attribute)
        elif steps[-1].name == "unit":
            measures.add(column.path.attribute)
    return values - measures


def _operation_spelling(row: Row) -> str | None:
    """The operation of a cell the reader's value list refused but :data:`OPERATIONS` knows
    (Amazon's ``PartialUpdate``, ``Create or Replace (Full Update)``, ``full_update``)."""
    if "operation" in row.values or "operation" not in row.raw:
        return None
    raw = row.raw["operation"]
    return None if _blank(raw) else parse_operation(raw)


@dataclass(slots=True)
class ListingLayout:
    """What a listings sheet's layout means for its rows, worked out once per sheet.

    Built by :meth:`from_layout` from the reader's :class:`~feeds_kit.rows.SheetLayout`: the
    attribute columns (attribute-path headers, short forms, Amazon's legacy ``fptcustom`` names
    such as ``brand_name`` and ``bullet_point3``, the unified product-id pseudo-columns), the
    findings about their headers, and what an Amazon template says about blank cells: its
    default operation and product type (``AttributeDefaultValues``), its content language,
    its product types (``guildhome`` → ``GUILD_HOME``) and its drop-down labels (``Yes`` →
    ``true``, ``New`` → ``new_new``). :meth:`listing_row` turns a reader row into a
    :class:`ListingRow` with all of that applied.
    """

    layout: SheetLayout
    sheet: ListingSheet
    columns: tuple[AttributeColumn, ...]
    issues: list[Issue]
    marketplace: Marketplace | None = None
    language_tag: str | None = None
    default_operation: str = UPDATE
    default_product_type: str | None = None
    product_types: tuple[str, ...] = ()
    value_aliases: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_layout(
        cls, layout: SheetLayout, *, marketplace: Marketplace | str | None = None
    ) -> ListingLayout:
        """Read ``layout``'s columns and template facts. ``marketplace`` (the ``--marketplace``
        option) wins over the marketplace the template names for rows with a blank cell."""
        issues: list[Issue] = []
        template: Mapping[str, Any] = layout.notes.get("template") or {}
        unnamed = [c for c in layout.columns if c.field is None]
        legacy = (
            {} if layout.family == "unified"
            else legacy_attribute_paths([c.header for c in unnamed])
        )
        translated: list[Column] = []
        original: dict[str, str] = {}
        for col in unnamed:
            text = col.header
            pseudo = PSEUDO_COLUMNS.get(text.strip().lower())
            if pseudo is not None:
                text = pseudo
            elif is_pseudo_name(text):
                issues.append(TEMPLATE_COLUMN_NOT_SENT.at(
                    Location(file=layout.file, sheet=layout.sheet, row=layout.header_row,
                             column=col.letter, header=col.header), value=col.header))
                continue
            else:
                text = legacy.get(col.header, text)
            translated.append(Column(col.index, col.letter, text, None))
            original[col.letter] = col.header
        parsed = parse_attribute_columns(translated, file=layout.file, sheet=layout.sheet,
                                         row=layout.header_row)
        for issue in parsed.issues:
            if issue.column in original:
                issue.header = original[issue.column]
        issues.extend(parsed.issues)
        translated_letters = {c.letter for c in unnamed if c.header in legacy}
        textual = _textual_attributes(
            [c for c in parsed.columns if c.column in translated_letters])
        columns = tuple(
            AttributeColumn(
                AttributePath(c.path.steps, short=True)
                if c.column in translated_letters and c.path.attribute in textual
                else c.path,
                c.column, original[c.column])
            for c in parsed.columns
        )

        if isinstance(marketplace, str):
            marketplace = get_marketplace(marketplace)
        market = marketplace
        noted = layout.notes.get("marketplace")
        if market is None and noted:
            market = find_marketplace(str(noted))

        language = template.get("contentLanguageTag")
        operation = UPDATE
        product_type: str | None = None
        for key, value in (template.get("defaultValues") or {}).items():
            match = match_header(key, "listings")
            if match is None:
                continue
            if match.field == "operation":
                operation = parse_operation(value) or UPDATE
            elif match.field == "product_type":
                product_type = str(value).strip() or None
        return cls(
            layout=layout,
            sheet=ListingSheet.from_layout(layout, columns),
            columns=columns,
            issues=issues,
            marketplace=market,
            language_tag=str(language) if language else None,
            default_operation=operation,
            default_product_type=product_type,
            product_types=tuple(template.get("productTypes") or ()),
            value_aliases=dict(template.get("valueAliases") or {}),
        )

    def listing_row(self, row: Row, marketplace: str | None = None) -> ListingRow:
        """The :class:`ListingRow` of reader row ``row``; ``marketplace`` (id or code) for a
        blank Marketplace cell, else the layout's default marketplace."""
        default_market = marketplace or (self.marketplace.id if self.marketplace else None)
        listing = ListingRow.from_row(row, self.columns, marketplace=default_market,
                                      language_tag=self.language_tag)
        if listing.operation is None and _operation_spelling(row) is not None:
            listing.operation = row.raw["operation"]
        if listing.product_type is None and self.default_product_type:
            listing.product_type = self.default_product_type
        if listing.product_type and self.product_types:
            listing.product_type = product_type_name(listing.product_type, self.product_types)
        listing.cells = self._cells(listing.cells)
        return listing

    def _cells(self, cells: Mapping[AttributeColumn, Any]) -> dict[AttributeColumn, Any]:
        out: dict[AttributeColumn, Any] = {}
        id_type: AttributeColumn | None = None
        id_value: AttributeColumn | None = None
        availability: AttributeColumn | None = None
        has_channel = False
        for column, value in cells.items():
            if _blank(value):
                continue
            aliases = self.value_aliases.get(column.header)
            if aliases and isinstance(value, str) and value.strip() in aliases:
                value = aliases[value.strip()]
                # The blob writes JSON values as text: its booleans are booleans.
                value = _ALIAS_BOOLEANS.get(value, value)
            out[column] = value
            key = column.header.strip().lower()
            if key == _PRODUCT_ID_TYPE:
                id_type = column
            elif key == _PRODUCT_ID_VALUE:
                id_value = column
            if column.path.attribute == _AVAILABILITY and column.path.steps[0].index == 1:
                availability = availability or column
                if len(column.path.steps) > 1 and column.path.steps[1].name == _CHANNEL_CODE:
                    has_channel = True
        if id_type is not None and id_value is not None and (
            str(out[id_type]).strip().lower() == "asin"
        ):
            # An ASIN is not an external product id: Amazon takes it as the suggested ASIN.
            value = out.pop(id_value)
            del out[id_type]
            out[AttributeColumn(_ASIN_PATH, id_value.column, id_value.header)] = value
        if availability is not None and not has_channel:
            # Merchant-fulfilled unless a channel is given, as Amazon's templates assume.
            out[AttributeColumn(_CHANNEL_PATH, availability.column, availability.header)] = (
                _DEFAULT_CHANNEL
            )
        return out

    def check(
        self,
        listing: ListingRow,
        *,
        cache: ProductTypeCache | None = None,
        product_type: CachedProductType | None = None,
    ) -> list[Issue]:
        """:func:`check_listing` with this sheet's addresses and default operation."""
        return check_listing(listing, self.sheet, cache=cache, product_type=product_type,
                             default_operation=self.default_operation)

    def build(
        self,
        row: Row,
        message_id: int,
        marketplace: str | None = None,
        *,
        cache: ProductTypeCache | None = None,
        product_type: CachedProductType | None = None,
    ) -> ListingMessage:
        """The message of reader row ``row`` (:func:`build_listing_message`)."""
        return build_listing_message(
            self.listing_row(row, marketplace), message_id, sheet=self.sheet, cache=cache,
            product_type=product_type, default_operation=self.default_operation)


# Duplicate detection keeps one int per (marketplace, SKU): row number and two flags.
_VALID_BIT = 1
_FLAGGED_BIT = 2
_SHIFT = 2


class ListingValidator:
    """Checks the rows of a listings sheet one at a time, as the reader streams them.

    The same interface as :class:`feeds_kit.validation.RowValidator`: :meth:`evaluate` gives a
    :class:`~feeds_kit.validation.RowVerdict` per row, :meth:`finish` the end-of-file findings
    and :attr:`invalid_at_finish` the rows they invalidate. Per row: the reading findings, the
    fixed columns (SKU, product type, operation, marketplace, language, requirements), the
    attribute columns assembled and checked against the product type schema (ENFORCED for
    ``update``, NOT_ENFORCED for ``partial_update``, nothing for ``delete``), duplicate SKUs per
    marketplace; at the end, rows of a minority region. The header findings about attribute
    columns come with the first row (or :meth:`finish`).

    ``marketplace`` is the ``--marketplace`` option (rows with a blank Marketplace cell, before
    the marketplace an Amazon template names); ``cache`` where product type schemas are looked
    up (default: ``<FEEDS_KIT_HOME>/product-types`` then the packaged fixtures);
    ``product_type`` forces one schema for every row.
    """

    def __init__(
        self,
        layout: SheetLayout,
        *,
        marketplace: Marketplace | str | None = None,
        cache: ProductTypeCache | None = None,
        product_type: CachedProductType | None = None,
    ) -> None:
        if layout.kind != "listings":
            raise UsageError(
                f"A ListingValidator reads listings sheets, not {layout.kind or 'unknown'} ones."
            )
        self._layout = layout
        self.spec = ListingLayout.from_layout(layout, marketplace=marketplace)
        self._cache = cache if cache is not None else ProductTypeCache()
        self._product_type = product_type
        self._early: list[Issue] = list(self.spec.issues)
        self._seen: dict[str, dict[str, int]] = {}
        self._regions: Counter[str] = Counter()
        self._typed_marketplace: dict[str, Any] = {}
        self._finished = False
        self._any_row = False
        #: Rows valid when checked that :meth:`finish` found invalid (minority regions).
        self.invalid_at_finish: list[int] = []

    @property
    def cache(self) -> ProductTypeCache:
        """The product type schemas rows are checked against (share it with the builder)."""
        return self._cache

    def marketplace_id(self, row: Row) -> str | None:
        """The marketplace id ``row`` is for (its own cell, else the defaults), if known."""
        if any(i.field == "marketplace" and i.is_error for i in row.issues):
            return None
        value = row.values.get("marketplace")
        if value is None:
            return self.spec.marketplace.id if self.spec.marketplace else None
        found = BY_ID.get(str(value)) or find_marketplace(str(value))
        return found.id if found else None

    def check(self, row: Row) -> list[Issue]:
        """Every finding for ``row`` (see :meth:`evaluate`)."""
        return self.evaluate(row).issues

    def evaluate(self, row: Row) -> RowVerdict:
        """The findings for ``row`` and its verdict: valid or not, marketplace, retractions."""
        issues: list[Issue] = []
        self._any_row = True
        if self._early:
            issues.extend(self._early)
            self._early = []
        own = row.issues
        issues.extend(own)
        failed = {i.field for i in own if i.field and i.is_error}
        issues.extend(self._fixed(row, failed))
        market_id = self.marketplace_id(row)
        if not failed & {"operation", "marketplace", "requirements", "product_type"}:
            listing = self.spec.listing_row(row, market_id)
            found = self.spec.check(listing, cache=self._cache, product_type=self._product_type)
            if market_id is None and not any(
                i.code in (LISTING_MISSING_MARKETPLACE.code, LISTING_UNKNOWN_MARKETPLACE.code)
                for i in found
            ):
                # A delete needs no product type schema, but its feed still needs a marketplace.
                found.insert(0, LISTING_MISSING_MARKETPLACE.at(
                    self.spec.sheet.at(listing, field_name="marketplace")))
            issues.extend(found)
        valid = not any(i.is_error for i in issues)
        retracted: list[int] = []
        sku = row.sku
        if market_id is not None:
            market = BY_ID[market_id]
            self._regions[market.region] += 1
            if market_id not in self._typed_marketplace:
                self._typed_marketplace[market_id] = row.raw.get(
                    "marketplace", row.values.get("marketplace", market.code))
            if sku is not None and "sku" not in failed and sku.strip():
                valid = self._duplicates(row, sku.strip(), market, valid, issues, retracted)
        return RowVerdict(row=row.number, valid=valid, marketplace_id=market_id,
                          issues=issues, retracted=retracted)

    def _fixed(self, row: Row, failed: set[str]) -> list[Issue]:
        """The row-schema rules of the fixed columns the reader does not check itself."""
        found: list[Issue] = []
        layout = self._layout
        sku = row.sku
        if sku is not None and "sku" not in failed and len(sku) > _SKU_MAX:
            found.append(SKU_TOO_LONG.at(layout.where(row.number, "sku", sku), value=sku,
                                         shown=sku, length=len(sku)))
            failed.add("sku")
        product_type = row.values.get("product_type")
        if product_type is not None and "product_type" not in failed:
            text = str(product_type).strip()
            if text and not _PRODUCT_TYPE_PATTERN.match(text):
                found.append(LISTING_BAD_PRODUCT_TYPE.at(
                    layout.where(row.number, "product_type", sku), value=product_type))
                failed.add("product_type")
        language = row.values.get("language_tag")
        if language is not None and "language_tag" not in failed:
            text = str(language).strip()
            if text and not _LANGUAGE_PATTERN.match(text):
                found.append(LISTING_BAD_LANGUAGE_TAG.at(
                    layout.where(row.number, "language_tag", sku), value=language))
                failed.add("language_tag")
        return found

    def _duplicates(self, row: Row, sku: str, market: Marketplace, valid: bool,
                    issues: list[Issue], retracted: list[int]) -> bool:
        seen = self._seen.setdefault(market.id, {})
        previous = seen.get(sku)
        if previous is None:
            seen[sku] = (row.number << _SHIFT) | (_VALID_BIT if valid else 0)
            return valid
        first = previous >> _SHIFT
        for_market = f" for {market.country} ({market.code})"
        issues.append(DUPLICATE_SKU.at(self._layout.where(row.number, "sku", sku), value=sku,
                                       shown=sku, other=first, for_marketplace=for_market))
        if not previous & _FLAGGED_BIT:
            issues.append(DUPLICATE_SKU.at(self._layout.where(first, "sku", sku), value=sku,
                                           shown=sku, other=row.number,
                                           for_marketplace=for_market))
            if previous & _VALID_BIT:
                retracted.append(first)
            seen[sku] = (first << _SHIFT) | _FLAGGED_BIT
        return False

    def finish(self) -> list[Issue]:
        """End-of-file findings: header findings not yet given (a sheet without rows) and the
        rows of a minority region (one submission goes to one region)."""
        if self._finished:
            return []
        self._finished = True
        found = list(self._early)
        self._early = []
        if not self._any_row:
            found.append(
                NO_DATA_ROWS.at(self._layout.where(None), header_row=self._layout.header_row)
            )
        if len(self._regions) > 1:
            found.extend(self._mixed_regions())
        return found

    def _mixed_regions(self) -> list[Issue]:
        (majority, majority_count), *_ = self._regions.most_common(1)
        marked: list[tuple[int, str, str, int]] = []
        for market_id, skus in self._seen.items():
            if BY_ID[market_id].region == majority:
                continue
            for sku, packed in skus.items():
                marked.append((packed >> _SHIFT, sku, market_id, packed))
        marked.sort()
        found: list[Issue] = []
        for number, sku, market_id, packed in marked:
            market = BY_ID[market_id]
            found.append(MIXED_REGIONS.at(
                self._layout.where(number, "marketplace", sku),
                value=self._typed_marketplace.get(market_id, market.code),
                marketplace=f"{market.country} ({market.code})",
                region=REGIONS[market.region].name,
                majority=REGIONS[majority].name,
                majority_count=majority_count,
            ))
            if packed & _VALID_BIT:
                self.invalid_at_finish.append(number)
        return found
