"""Header matching: which canonical field a column means, which kind a sheet is.

Matching is forgiving the way sellers write headers: case, surrounding and inner spaces, ``-``
versus ``_`` and a trailing ``*`` do not matter, and every alias the row schemas list under
``x-aliases`` (plus each field's name and title) is accepted. Amazon's own templates are
understood too:

* attribute-path headers of the unified offer-only and Price & Quantity templates
  (``contribution_sku#1.value``,
  ``purchasable_offer[marketplace_id=X][audience=ALL]#1.our_price#1.schedule#1.value_with_tax``,
  ``fulfillment_availability#1.quantity``, ...); a ``marketplace_id`` selector becomes the sheet's
  default marketplace;
* legacy field names of the flat files and ``fptcustom`` templates that differ from our aliases
  (``fulfillment_latency``, ``fulfillment-center-id``), and the ones that look like ours but mean
  something else there (``list_price`` is the MSRP in Amazon's templates, not the price).

Everything else is an unknown column: reported (a warning), its values kept in ``Row.extra``.
The row schemas are the single source of fields and aliases: a new alias in
``schemas/rows/*.json`` is picked up here without code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from feeds_kit.errors import UsageError
from feeds_kit.issues import Issue, IssueType, Location, Severity
from feeds_kit.resources import load_schema, schema_path
from feeds_kit.rows import Column, column_letter

__all__ = [
    "AMAZON_FAMILIES",
    "KINDS",
    "OFFER_ATTRIBUTES",
    "ColumnMapping",
    "HeaderMatch",
    "check_kind",
    "detect_kind",
    "field_specs",
    "field_title",
    "header_aliases",
    "header_score",
    "header_text",
    "is_product_attribute_path",
    "map_columns",
    "match_header",
    "normalize_header",
    "parse_attribute_path",
    "row_schema",
    "takes_attribute_columns",
]

# --- issue catalogue --------------------------------------------------------------------------

UNKNOWN_COLUMN = IssueType(
    code="unknown-column",
    title="Unknown column",
    message='"{header}" is not a column of {kind} sheets, so its values are not sent',
    hint="rename it to one of {known}, or delete the column if it is not meant for Amazon",
    description=(
        "A column whose header matches no field of the sheet's kind (names, titles and aliases "
        "are compared ignoring case, spaces, hyphens and underscores). Its values are kept "
        "for the annotated copy but not sent to Amazon, so check for a typo in the header."
    ),
    severity=Severity.WARNING,
    tags=("structure", "column"),
)
#: Unknown columns reported one by one; the rest are folded into ``unknown-columns-more``.
UNKNOWN_COLUMNS_SHOWN = 20
UNKNOWN_COLUMNS_MORE = IssueType(
    code="unknown-columns-more",
    title="Many unknown columns",
    message=(
        "{count:,} more columns, from {first} to {last}, are not columns of {kind} sheets "
        "either, so their values are not sent"
    ),
    hint="check that this is the right sheet (--sheet) and kind (--kind)",
    description=(
        f"Past the first {UNKNOWN_COLUMNS_SHOWN} unknown columns, the rest are counted in one "
        "warning instead of one each, so a sheet with thousands of stray columns stays "
        "readable and its real errors are not pushed past the issue limit."
    ),
    severity=Severity.WARNING,
    tags=("structure", "column"),
)
COLUMN_NOT_IN_KIND = IssueType(
    code="column-not-in-kind",
    title="Column of another sheet kind",
    message='"{header}" means {title}, which {kind} sheets do not send',
    hint="use --kind {other} if the sheet is meant to send it, or delete the column",
    description=(
        "The sheet was read as a prices or inventory sheet (by --kind) but carries a column of "
        "the other half. Its values are not sent."
    ),
    severity=Severity.WARNING,
    tags=("structure", "column"),
)
OTHER_MARKETPLACE_COLUMN = IssueType(
    code="other-marketplace-column",
    title="Column for another marketplace",
    message='"{header}" is for marketplace {other}, but this sheet is read for {marketplace}',
    hint="send each marketplace from its own template, or use one Marketplace column per row",
    description=(
        "Some Amazon templates carry one price column per marketplace. feeds-kit sends one "
        "marketplace per row, taken from the template's first (primary) marketplace; the "
        "columns of the other marketplaces are not sent."
    ),
    severity=Severity.WARNING,
    tags=("structure", "column", "amazon-template"),
)
DUPLICATE_COLUMN = IssueType(
    code="duplicate-column",
    title="Two columns mean the same field",
    message='columns {first} "{first_header}" and {second} "{second_header}" both mean {title}',
    hint="keep one of the two columns",
    description=(
        "Two headers match the same field (for example 'price' and 'standard-price'), so "
        "feeds-kit cannot tell which value to send. Rows are not checked until one is removed."
    ),
    tags=("structure", "column"),
)
MISSING_COLUMN = IssueType(
    code="missing-column",
    title="Required column missing",
    message="the header row (row {row}) has no {title} column",
    hint='add a column headed "{field}"',
    description=(
        "Every sheet needs a SKU column: each row updates the listing with that SKU. Rows are not "
        "checked until the column is there."
    ),
    tags=("structure", "column"),
)

# --- kinds and their schemas ------------------------------------------------------------------

_PREFERRED_ORDER: Final = ("offers", "prices", "inventory")


def _discover_kinds() -> tuple[str, ...]:
    names = sorted(p.stem for p in schema_path("rows").glob("*.json"))
    ordered = [k for k in _PREFERRED_ORDER if k in names]
    return tuple(ordered + [k for k in names if k not in ordered])


#: The sheet kinds feeds-kit knows, one per row schema in ``schemas/rows/``.
KINDS: tuple[str, ...] = _discover_kinds()

def check_kind(kind: str) -> str:
    """The kind named by ``kind`` (any case); :class:`UsageError` naming the known kinds."""
    key = str(kind).strip().lower()
    if key not in KINDS:
        raise UsageError(f"Unknown sheet kind {kind!r}: use {', '.join(KINDS)}.")
    return key


def row_schema(kind: str) -> dict[str, Any]:
    """The row schema of ``kind`` (parsed JSON, cached; read-only)."""
    schema: dict[str, Any] = load_schema("rows", f"{check_kind(kind)}.json")
    return schema


def field_specs(kind: str) -> dict[str, dict[str, Any]]:
    """Field name -> schema property of ``kind``, in schema order."""
    props: dict[str, dict[str, Any]] = row_schema(kind).get("properties", {})
    return props


def field_title(field_name: str, kind: str | None = None) -> str:
    """A field's title for messages (``Handling Time``), from the first schema that has it."""
    for name in (kind,) if kind else KINDS:
        spec = field_specs(name).get(field_name)
        if spec and spec.get("title"):
            return str(spec["title"])
    return field_name


# --- normalisation and aliases ----------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_header(text: Any) -> str:
    """The comparison key of a header: lower case, ``-``/``_``/spaces as single spaces, no
    trailing ``*`` (required-column marker) or ``:``."""
    key = _SEPARATORS.sub(" ", header_text(text).lower()).strip()
    return key.rstrip("*: ").strip()


def header_text(value: Any) -> str:
    """A header cell as text, as written (numbers without ``.0``), surrounding spaces removed."""
    if value is None:
        return ""
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value).strip()


@functools.cache
def _alias_index(kind: str | None) -> dict[str, str]:
    """Normalised alias -> field for ``kind`` (``None``: every kind, earlier kinds first)."""
    index: dict[str, str] = {}
    for name in (kind,) if kind else KINDS:
        for field_name, spec in field_specs(name).items():
            for alias in (field_name, spec.get("title"), *spec.get("x-aliases", ())):
                if alias:
                    index.setdefault(normalize_header(alias), field_name)
    return index


#: Layout families that are Amazon's own templates (``layouts.py`` names them).
AMAZON_FAMILIES: Final[frozenset[str]] = frozenset(
    {
        "price-inventory-flat",
        "inventory-loader-flat",
        "price-inventory",
        "inventory-loader",
        "offer-loader",
        "fptcustom",
        "unified",
    }
)

#: Amazon template field names (normalised) and what they mean to us; ``None`` marks names
#: that look like one of our aliases but mean something else in Amazon's templates.
AMAZON_NAMES: Final[dict[str, str | None]] = {
    "fulfillment latency": "handling_time",  # fptcustom; Amazon's FulfillmentLatency [MAP]
    "fulfillment center id": "fulfillment_channel",  # Inventory Loader: AMAZON_NA / DEFAULT
    "list price": None,  # fptcustom list_price is the MSRP, not the selling price
    "list price with tax": None,
}


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """What a header means: the canonical ``field`` and how it was recognised.

    ``via`` is ``alias``, ``amazon-name`` or ``attribute-path``; ``marketplace_id`` is set when an
    attribute path fixes the marketplace (``purchasable_offer[marketplace_id=X]...``).
    """

    field: str
    via: str
    marketplace_id: str | None = None


# --- Amazon attribute paths -------------------------------------------------------------------

_STEP = re.compile(r"([A-Za-z0-9_]+)((?:\[[^\[\]=]+=[^\[\]]*\])*)(?:#(\d+))?")
_SELECTOR = re.compile(r"\[([^\[\]=]+)=([^\[\]]*)\]")


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of an attribute path: name, ``[k=v]`` selectors, 1-based ``#N`` index."""

    name: str
    selectors: tuple[tuple[str, str], ...] = ()
    index: int | None = None


def parse_attribute_path(header: str) -> tuple[PathStep, ...] | None:
    """Split an Amazon attribute-path header into steps; ``None`` when it is not one.

    Only the part of the grammar needed to recognise our fields; the full grammar (and
    building attributes from it) lives in ``attribute_paths.py``.
    """
    text = header.strip()
    if ("#" not in text and "[" not in text) or text.startswith(("::", "amzn1.")):
        return None
    steps: list[PathStep] = []
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if not match or match.end() == pos:
            return None
        name, selectors, index = match.groups()
        steps.append(
            PathStep(
                name=name,
                selectors=tuple(_SELECTOR.findall(selectors or "")),
                index=int(index) if index else None,
            )
        )
        pos = match.end()
        if pos < len(text):
            if text[pos] != ".":
                return None
            pos += 1
            if pos == len(text):
                return None
    return tuple(steps)


# (top-level attribute, remaining step names) -> field
_ATTRIBUTE_FIELDS: Final[dict[tuple[str, str], str]] = {
    ("contribution_sku", "value"): "sku",
    ("purchasable_offer", "our_price.schedule.value_with_tax"): "price",
    ("purchasable_offer", "minimum_seller_allowed_price.schedule.value_with_tax"): "minimum_price",
    ("purchasable_offer", "maximum_seller_allowed_price.schedule.value_with_tax"): "maximum_price",
    ("purchasable_offer", "discounted_price.schedule.value_with_tax"): "sale_price",
    ("purchasable_offer", "discounted_price.schedule.start_at"): "sale_start_date",
    ("purchasable_offer", "discounted_price.schedule.end_at"): "sale_end_date",
    ("purchasable_offer", "currency"): "currency",
    ("fulfillment_availability", "quantity"): "quantity",
    ("fulfillment_availability", "lead_time_to_ship_max_days"): "handling_time",
    ("fulfillment_availability", "fulfillment_channel_code"): "fulfillment_channel",
    ("fulfillment_availability", "restock_date"): "restock_date",
}


def _attribute_match(header: str) -> HeaderMatch | None:
    steps = parse_attribute_path(header)
    if not steps:
        return None
    top = steps[0]
    rest = ".".join(s.name for s in steps[1:])
    field_name = _ATTRIBUTE_FIELDS.get((top.name, rest))
    if field_name is None:
        return None
    # Only the first element of each array is "the" offer/availability; #2 would be another.
    if any(s.index not in (None, 1) for s in steps):
        return None
    selectors = dict(top.selectors)
    # A business (B2B) price is another offer; our price is the one for everybody.
    if selectors.get("audience", "ALL").upper() != "ALL":
        return None
    marketplace = selectors.get("marketplace_id")
    return HeaderMatch(field_name, "attribute-path", marketplace or None)


def match_header(
    header: Any, kind: str | None = None, *, family: str = "native"
) -> HeaderMatch | None:
    """The field ``header`` means for ``kind`` (``None``: any kind), or ``None``."""
    text = header_text(header)
    if not text:
        return None
    attribute = _attribute_match(text)
    if attribute is not None:
        if kind is None or attribute.field in field_specs(kind):
            return attribute
        return None
    key = normalize_header(text)
    index = _alias_index(kind)
    # In Amazon's templates their names win; elsewhere our aliases do ("List Price" in a
    # seller's own sheet is their price).
    if key in AMAZON_NAMES and (family in AMAZON_FAMILIES or key not in index):
        meant = AMAZON_NAMES[key]
        if meant is None or (kind is not None and meant not in field_specs(kind)):
            return None
        return HeaderMatch(meant, "amazon-name")
    found = index.get(key)
    return HeaderMatch(found, "alias") if found else None


def header_score(cells: Sequence[Any], *, family: str = "native") -> int:
    """How much a row looks like a header row: the number of distinct fields it names."""
    seen: set[str] = set()
    for cell in cells:
        if cell is None or cell == "" or not isinstance(cell, str):
            continue
        match = match_header(cell, None, family=family)
        if match is not None:
            seen.add(match.field)
    return len(seen)


# --- kind detection ---------------------------------------------------------------------------

@functools.cache
def _kind_sides() -> tuple[frozenset[str], frozenset[str]]:
    """(price-like fields, quantity-like fields), from the prices and inventory schemas."""
    prices = set(field_specs("prices")) if "prices" in KINDS else set()
    inventory = set(field_specs("inventory")) if "inventory" in KINDS else set()
    common = prices & inventory
    return frozenset(prices - common), frozenset(inventory - common)


#: Top-level attributes of Amazon's offer-only templates (unified ``seller-empty-add-offer`` and
#: ``seller-price-quantity`` flavors, requirements ``LISTING_OFFER_ONLY``): attribute-path
#: columns naming only these describe an offer on an existing product, so the sheet stays an
#: offers sheet. Any other attribute (``item_name``, ``bullet_point``, ``color``) is a product
#: fact, which only a listings sheet sends.
OFFER_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {
        "batteries_included", "batteries_required", "battery", "condition_note",
        "condition_type", "contribution_sku", "country_of_origin", "epr_product_packaging",
        "externally_assigned_product_identifier", "fulfillment_availability", "ghs",
        "ghs_chemical_h_code", "gift_options", "hazmat",
        "is_this_product_subject_to_buyer_age_restrictions", "item_dimensions",
        "item_package_dimensions", "item_package_weight", "item_weight", "lithium_battery",
        "main_offer_image_locator", "max_order_quantity", "merchant_release_date",
        "merchant_shipping_group", "merchant_suggested_asin", "num_batteries",
        "number_of_lithium_ion_cells", "number_of_lithium_metal_cells", "product_tax_code",
        "purchasable_offer", "safety_data_sheet_url", "ships_globally", "skip_offer",
        "supplemental_condition_information", "supplier_declared_dg_hz_regulation",
    }
)
_OFFER_IMAGE = re.compile(r"^other_offer_image_locator_[0-9]+$")
#: Fields only a listings sheet has: a product type or an operation column makes it one.
_LISTING_FIELDS: Final = frozenset({"product_type", "operation"})


def is_product_attribute_path(header: str) -> bool:
    """True for an attribute-path header (``item_name[...]#1.value``) naming a product fact,
    i.e. an attribute outside :data:`OFFER_ATTRIBUTES`."""
    steps = parse_attribute_path(header_text(header))
    if not steps:
        return False
    name = steps[0].name.lower()
    return name not in OFFER_ATTRIBUTES and not _OFFER_IMAGE.match(name)


def detect_kind(fields: Iterable[str], headers: Iterable[Any] = ()) -> str:
    """The kind a sheet with these columns is.

    ``listings`` when it has a product type or an operation (``update_delete``,
    ``::record_action``) column, or an attribute-path header naming a product fact
    (:func:`is_product_attribute_path`) among ``headers`` — Seller Central's category
    templates, fptcustom or unified; Amazon's offer-only and Price & Quantity templates stay
    offers. Otherwise offers when it has price-like and quantity-like columns (or neither),
    prices with only price-like ones, inventory with only quantity-like.
    """
    present = set(fields)
    if "listings" in KINDS and (
        not _LISTING_FIELDS.isdisjoint(present)
        or any(is_product_attribute_path(h) for h in headers if isinstance(h, str))
    ):
        return "listings"
    price_like, quantity_like = _kind_sides()
    has_price = bool(present & price_like)
    has_quantity = bool(present & quantity_like)
    if has_price and not has_quantity and "prices" in KINDS:
        return "prices"
    if has_quantity and not has_price and "inventory" in KINDS:
        return "inventory"
    return "offers" if "offers" in KINDS else KINDS[0]


def _kinds_with(field_name: str) -> list[str]:
    return [k for k in KINDS if field_name in field_specs(k)]


def takes_attribute_columns(kind: str) -> bool:
    """True for kinds whose other columns are Amazon attributes (``x-attribute-columns`` in the
    row schema, e.g. listings): such columns are expected, not unknown."""
    return bool(row_schema(kind).get("x-attribute-columns"))


# --- mapping a header row ---------------------------------------------------------------------

@dataclass
class ColumnMapping:
    """A header row read: the columns (with their fields), the kind, structural findings and
    facts for ``SheetLayout.notes`` (``marketplace`` when attribute paths fix one)."""

    columns: list[Column]
    kind: str
    issues: list[Issue] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def structure_ok(self) -> bool:
        return not any(i.is_error for i in self.issues)


def _known_list(kind: str) -> str:
    # The titles, as the template's header row shows them ("Handling Time", not
    # "handling_time"); any spelling of them is matched.
    return ", ".join(f'"{field_title(name, kind)}"' for name in field_specs(kind))


def _fold_unknown_columns(
    issues: list[Issue], *, file: str | None, sheet: str | None, kind: str
) -> list[Issue]:
    """Keep the first :data:`UNKNOWN_COLUMNS_SHOWN` unknown-column warnings; count the rest in
    one ``unknown-columns-more`` warning."""
    unknown = [i for i in issues if i.code == UNKNOWN_COLUMN.code]
    if len(unknown) <= UNKNOWN_COLUMNS_SHOWN:
        return issues
    folded = unknown[UNKNOWN_COLUMNS_SHOWN:]
    dropped = {id(i) for i in folded}
    kept = [i for i in issues if id(i) not in dropped]
    kept.append(
        UNKNOWN_COLUMNS_MORE.at(
            Location(file=file, sheet=sheet),
            count=len(folded),
            first=f'{folded[0].column} "{folded[0].header}"',
            last=f'{folded[-1].column} "{folded[-1].header}"',
            kind=kind,
        )
    )
    return kept


def map_columns(
    headers: Sequence[Any],
    *,
    kind: str | None = None,
    family: str = "native",
    file: str | None = None,
    sheet: str | None = None,
    header_row: int = 1,
    primary_marketplace: str | None = None,
) -> ColumnMapping:
    """Map a header row onto fields, detect the kind, and report structural problems.

    ``kind`` given (already checked) wins; otherwise it is detected from the headers. A column
    meaning a field another column already took is a ``duplicate-column`` error; no SKU column
    is a ``missing-column`` error; columns matching nothing are ``unknown-column`` warnings.
    ``primary_marketplace`` (from an Amazon template's settings) chooses among per-marketplace
    price columns.
    """
    texts = [header_text(h) for h in headers]
    matches: list[HeaderMatch | None] = [
        match_header(t, None, family=family) if t else None for t in texts
    ]
    if kind is None:
        kind = detect_kind((m.field for m in matches if m is not None), texts)
    specs = field_specs(kind)
    attribute_columns = takes_attribute_columns(kind)

    # Per-marketplace price columns (hybrid templates): keep the primary marketplace.
    marketplaces = [m.marketplace_id for m in matches if m and m.marketplace_id]
    chosen_marketplace: str | None = None
    if marketplaces:
        chosen_marketplace = (
            primary_marketplace if primary_marketplace in marketplaces else marketplaces[0]
        )

    columns: list[Column] = []
    issues: list[Issue] = []
    taken: dict[str, Column] = {}
    for index, (text, match) in enumerate(zip(texts, matches, strict=True)):
        if not text:
            continue
        letter = column_letter(index)
        where = Location(file=file, sheet=sheet, column=letter, header=text)
        field_name: str | None = None
        if attribute_columns and (match is None or match.field not in specs):
            # An attribute column of a listings-like kind: its values go to Row.extra.
            pass
        elif match is None:
            issues.append(
                UNKNOWN_COLUMN.at(where, header=text, kind=kind, known=_known_list(kind))
            )
        elif match.field not in specs:
            others = [k for k in _kinds_with(match.field) if k != kind]
            issues.append(
                COLUMN_NOT_IN_KIND.at(
                    Location(file=file, sheet=sheet, column=letter, header=text,
                             field=match.field),
                    header=text,
                    title=field_title(match.field),
                    kind=kind,
                    other=others[0] if others else "offers",
                )
            )
        elif match.marketplace_id and match.marketplace_id != chosen_marketplace:
            issues.append(
                OTHER_MARKETPLACE_COLUMN.at(
                    where,
                    header=text,
                    other=match.marketplace_id,
                    marketplace=chosen_marketplace,
                )
            )
        elif match.field in taken:
            first = taken[match.field]
            issues.append(
                DUPLICATE_COLUMN.at(
                    Location(file=file, sheet=sheet, column=letter, header=text,
                             field=match.field),
                    first=first.letter,
                    first_header=first.header,
                    second=letter,
                    second_header=text,
                    title=field_title(match.field, kind),
                )
            )
        else:
            field_name = match.field
        column = Column(index=index, letter=letter, header=text, field=field_name)
        if field_name is not None:
            taken[field_name] = column
        columns.append(column)

    for required in row_schema(kind).get("required", []):
        if required not in taken:
            issues.append(
                MISSING_COLUMN.at(
                    Location(file=file, sheet=sheet, field=required),
                    row=header_row,
                    title=field_title(required, kind),
                    field=required,
                )
            )
    issues = _fold_unknown_columns(issues, file=file, sheet=sheet, kind=kind)
    # Structural errors first: they decide whether rows are checked at all.
    issues.sort(key=lambda i: (not i.is_error,))
    notes: dict[str, Any] = {}
    if chosen_marketplace:
        notes["marketplace"] = chosen_marketplace
    return ColumnMapping(columns=columns, kind=kind, issues=issues, notes=notes)


def header_aliases(kind: str | None = None) -> Mapping[str, str]:
    """Normalised alias -> field (read-only view) for ``kind`` or every kind."""
    return dict(_alias_index(kind))
