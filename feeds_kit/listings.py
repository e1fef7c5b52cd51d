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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from feeds_kit.attribute_paths import (
    ATTRIBUTE_PATH_CONFLICT,
    Assembly,
    AttributeColumn,
    ColumnMap,
    assemble,
)
from feeds_kit.errors import EXIT_DATA, FeedsKitError
from feeds_kit.issues import Issue, IssueType, Location, Severity
from feeds_kit.manifest import CellRef, MessageEntry
from feeds_kit.marketplaces import Marketplace, find_marketplace
from feeds_kit.product_types import (
    REQUIREMENTS,
    CachedProductType,
    ProductTypeCache,
    coerce_attributes,
)
from feeds_kit.rows import Row, SheetLayout

__all__ = [
    "FIELDS",
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
    "ListingMessage",
    "ListingRow",
    "ListingSheet",
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
