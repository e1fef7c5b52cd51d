"""Row checks: the row schema of the sheet's kind, cross-field rules, marketplaces, duplicates.

One :class:`RowValidator` per sheet, fed row by row as the reader streams them, so memory stays
flat: the only thing kept per row is what duplicate detection needs (marketplace -> SKU -> row
number, one small int per SKU). Findings are :class:`~feeds_kit.issues.Issue` records whose
wording comes from the issue types declared below, never from the JSON Schema library.

The schema check is jsonschema-rs: ``is_valid`` first (about a microsecond a row) and
``iter_errors`` only for the rare invalid row, each error mapped by keyword and instance path to
the column it concerns. The rules JSON Schema cannot say (decimals per currency, sale price
below price, minimum <= price <= maximum, FBA quantities, duplicates, regions) follow in Python.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

import jsonschema_rs

from feeds_kit import resources
from feeds_kit.cells import SHOWN_HEAD, SHOWN_LIMIT, int_text
from feeds_kit.column_checks import ColumnSchema, compile_columns, present_positions
from feeds_kit.errors import UsageError
from feeds_kit.issues import Issue, IssueType, Report, Severity
from feeds_kit.marketplaces import (
    BY_ID,
    CURRENCY_DECIMALS,
    REGIONS,
    Marketplace,
    find_marketplace,
    get_marketplace,
)
from feeds_kit.rows import ABSENT, Row, RowBatch, SheetLayout
from feeds_kit.sku_index import SkuIndex

__all__ = [
    "RowSchema",
    "RowValidator",
    "RowVerdict",
    "row_schema",
    "shown",
    "validate_rows",
]

_TAGS = ("row",)

SKU_MISSING = IssueType(
    code="sku-missing",
    title="SKU is blank",
    message="the SKU is blank",
    hint="fill in the seller SKU exactly as it is in Seller Central",
    description="Every row needs the SKU of the listing it changes: Amazon finds the offer by it.",
    tags=_TAGS,
)
SKU_TOO_LONG = IssueType(
    code="sku-too-long",
    title="SKU longer than 40 characters",
    message='"{shown}" is {length} characters long, more than the 40 Amazon allows',
    hint="use the SKU exactly as it is in Seller Central (at most 40 characters)",
    description="Amazon SKUs have at most 40 characters; a longer one cannot name a listing.",
    tags=_TAGS,
)
FIELD_REQUIRED = IssueType(
    code="field-required",
    title="Required value is blank",
    message="{title} is blank",
    hint="fill in {title}",
    description="The row schema of the sheet's kind requires this value on every row.",
    tags=_TAGS,
)
DEPENDENT_FIELD_MISSING = IssueType(
    code="dependent-field-missing",
    title="A value needs another one beside it",
    message="{title} is blank although {trigger} is filled in",
    hint="fill in {title}, or clear {trigger}",
    description=(
        "Some values only make sense together: a sale price needs its start and end dates, "
        "and sale dates need a sale price."
    ),
    tags=_TAGS,
)
MONEY_NOT_A_NUMBER = IssueType(
    code="money-not-a-number",
    title="Amount is not a number",
    message='"{shown}" is not a number',
    hint="write the amount with a dot as decimal separator and no currency symbol, e.g. 19.99",
    description="Prices and price limits are plain numbers, without currency symbols or text.",
    tags=_TAGS,
)
MONEY_NOT_POSITIVE = IssueType(
    code="price-not-positive",
    title="Amount is not more than 0",
    message='"{shown}" is not more than 0',
    hint="write a {title} greater than 0, or leave the cell blank to keep the current one",
    description="Amazon refuses a price (or sale price, minimum or maximum price) of 0 or less.",
    tags=_TAGS,
)
MONEY_DECIMALS = IssueType(
    code="price-too-many-decimals",
    title="Amount has more decimals than its currency",
    message='"{shown}" has {decimals} decimal places, more than {currency} allows ({allowed})',
    hint="{rounding}, e.g. {example}",
    description=(
        "An amount carries at most the decimals of the marketplace's currency: two for most, "
        "none for JPY."
    ),
    tags=_TAGS,
)
CURRENCY_INVALID = IssueType(
    code="currency-invalid",
    title="Currency is not a currency code",
    message='"{shown}" is not a three-letter currency code',
    hint="write the ISO 4217 code of the marketplace's currency (e.g. USD, EUR) or leave it blank",
    description="Currencies are written as ISO 4217 codes such as USD, EUR, GBP or JPY.",
    tags=_TAGS,
)
CURRENCY_MISMATCH = IssueType(
    code="currency-mismatch",
    title="Currency is not the marketplace's",
    message='"{shown}" is not the currency of {marketplace}, which sells in {expected}',
    hint="write {expected} or leave the cell blank",
    description=(
        "Amazon prices an offer in the currency of its marketplace; a blank currency means "
        "the marketplace's own."
    ),
    tags=_TAGS,
)
QUANTITY_INVALID = IssueType(
    code="quantity-invalid",
    title="Quantity is not a whole number of 0 or more",
    message='"{shown}" is not a whole number of 0 or more',
    hint="write the units you can ship, e.g. 25 (0 when out of stock)",
    description="Quantity counts units: a whole number, 0 or more.",
    tags=_TAGS,
)
HANDLING_TIME_INVALID = IssueType(
    code="handling-time-invalid",
    title="Handling time is not 0 to 30 days",
    message='"{shown}" is not a whole number of days from 0 to 30',
    hint="write the days between order and dispatch, e.g. 2",
    description="Handling time (lead time to ship) is a whole number of days from 0 to 30.",
    tags=_TAGS,
)
VALUE_NOT_IN_LIST = IssueType(
    code="value-not-in-list",
    title="Value is not one of the allowed ones",
    message='"{shown}" is not a {title} Amazon knows',
    hint="write {choices}",
    description="This column takes one of a fixed list of values (see the template's drop-down).",
    tags=_TAGS,
)
DATE_FORMAT_INVALID = IssueType(
    code="date-format-invalid",
    title="Date is not a calendar date",
    message='"{shown}" is not a calendar date',
    hint="write it as YYYY-MM-DD, e.g. 2026-12-01, or as an Excel date",
    description="Dates are written as YYYY-MM-DD or typed as Excel dates.",
    tags=_TAGS,
)
FIELD_INVALID = IssueType(
    code="field-invalid",
    title="Value does not fit its column",
    message='"{shown}" is not a valid {title}',
    hint="{help}",
    description="The value breaks the rule the row schema sets for this column.",
    tags=_TAGS,
)
SALE_PRICE_NOT_BELOW_PRICE = IssueType(
    code="sale-price-not-below-price",
    title="Sale price is not below the price",
    message='the sale price "{shown}" is not below the price {price}',
    hint="write a sale price lower than {price}, or clear the sale",
    description="A sale price is a discount: it must be lower than the regular price.",
    tags=_TAGS,
)
SALE_DATES_REVERSED = IssueType(
    code="sale-dates-reversed",
    title="Sale ends before it starts",
    message='the sale ends on "{shown}", before it starts on {start}',
    hint="make Sale End Date on or after Sale Start Date",
    description="A sale runs from its start date to its end date, so the end cannot come first.",
    tags=_TAGS,
)
PRICE_BELOW_MINIMUM = IssueType(
    code="price-below-minimum",
    title="Price is below the minimum price",
    message='"{shown}" is below the minimum price {limit}',
    hint="raise the price to at least {limit}, or lower Minimum Price",
    description=(
        "Amazon deactivates an offer whose price falls below its minimum seller allowed price."
    ),
    tags=_TAGS,
)
PRICE_ABOVE_MAXIMUM = IssueType(
    code="price-above-maximum",
    title="Price is above the maximum price",
    message='"{shown}" is above the maximum price {limit}',
    hint="lower the price to at most {limit}, or raise Maximum Price",
    description=(
        "Amazon deactivates an offer whose price rises above its maximum seller allowed price."
    ),
    tags=_TAGS,
)
MINIMUM_ABOVE_MAXIMUM = IssueType(
    code="minimum-above-maximum",
    title="Minimum price is above the maximum price",
    message='the minimum price "{shown}" is above the maximum price {limit}',
    hint="make Minimum Price at most Maximum Price",
    description="The minimum seller allowed price cannot exceed the maximum one.",
    tags=_TAGS,
)
FBA_QUANTITY = IssueType(
    code="fba-quantity",
    title="Quantity given for a Fulfilled by Amazon SKU",
    message='"{shown}" units cannot be set for a Fulfilled by Amazon (AMAZON) SKU',
    hint="leave Quantity blank on AMAZON rows: Amazon counts FBA stock itself",
    description=(
        "Amazon manages the quantity of FBA offers from what is in its warehouses; a quantity "
        "sent for one is refused."
    ),
    tags=_TAGS,
)
FBA_FIELD_IGNORED = IssueType(
    code="fba-field-ignored",
    title="Value not sent for a Fulfilled by Amazon SKU",
    message='"{shown}" is not sent: {title} does not apply to a Fulfilled by Amazon (AMAZON) SKU',
    hint="leave {title} blank on AMAZON rows",
    description="Amazon ships FBA orders itself, so handling time and restock date are not sent.",
    severity=Severity.WARNING,
    tags=_TAGS,
)
NOTHING_TO_UPDATE = IssueType(
    code="nothing-to-update",
    title="Row changes nothing",
    message="the row fills none of {fields}, so there is nothing to send",
    hint="fill in what should change, or delete the row",
    description=(
        "A row with only a SKU (and marketplace) would send an empty update; it is left out."
    ),
    severity=Severity.WARNING,
    tags=_TAGS,
)
MARKETPLACE_UNKNOWN = IssueType(
    code="marketplace-unknown",
    title="Marketplace Amazon does not know",
    message='"{shown}" is not a marketplace Amazon knows',
    hint="write a country code such as US, DE or UK, or a marketplace id such as ATVPDKIKX0DER",
    description="Marketplaces are named by country code, domain (amazon.de) or marketplace id.",
    tags=_TAGS,
)
MARKETPLACE_MISSING = IssueType(
    code="marketplace-missing",
    title="No marketplace",
    message="{count} row(s) do not say which marketplace they are for (first: row {first})",
    hint="add a Marketplace column (e.g. US, DE, UK) or pass --marketplace",
    description=(
        "Each row goes to one marketplace: from its Marketplace cell, else the --marketplace "
        "option, else the marketplace the template names. Reported once for the whole file."
    ),
    tags=("file",),
)
MIXED_REGIONS = IssueType(
    code="mixed-regions",
    title="Marketplaces of different regions in one file",
    message=(
        "this row is for {marketplace} in {region}, but {majority_count} row(s) are for "
        "{majority}, and one submission goes to one region"
    ),
    hint="put the {region} rows in a sheet of their own and submit it separately",
    description=(
        "Amazon takes a feed in one region (North America, Europe or Far East). The rows of "
        "the region with fewer rows are marked."
    ),
    tags=_TAGS,
)
NO_DATA_ROWS = IssueType(
    code="no-data-rows",
    title="No data rows",
    message="no data rows below the header row (row {header_row})",
    hint="fill in at least one row under the headers, or pick the sheet with --sheet",
    description=(
        "The sheet has its header row but nothing under it, so there is nothing to check or "
        "send. Usually the rows are on another sheet, or the file is a blank template."
    ),
    tags=_TAGS,
)
DUPLICATE_SKU = IssueType(
    code="duplicate-sku",
    title="SKU appears twice for a marketplace",
    message='SKU "{shown}" is also in row {other}{for_marketplace}',
    hint="keep one row per SKU and marketplace",
    description=(
        "Two rows for the same SKU and marketplace would race each other on Amazon; both are "
        "marked so the right one can be kept."
    ),
    tags=_TAGS,
)

_FULFILLMENT_GROUP = "fulfillment_availability"
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(4)}
_FBA = "AMAZON"


def shown(value: Any) -> str:
    """A value as a person would write it in a cell (``19.90``, ``2026-12-01``, ``25``), unquoted
    (these messages' templates quote it); cut like :func:`feeds_kit.cells.shown` cuts: over
    ``SHOWN_LIMIT`` characters, the first ``SHOWN_HEAD`` and an ellipsis."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        return value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, int):
        text = int_text(value)  # a huge one is described in a few words, never cut
    else:
        text = str(value)
    if len(text) > SHOWN_LIMIT:
        return text[:SHOWN_HEAD] + "…"
    return text


def _rounded(amount: Decimal, quantum: Decimal) -> str:
    """``amount`` rounded to ``quantum`` as an example, in a context wide enough for its digits
    (a library caller may pass more than the default 28)."""
    digits = max(amount.adjusted() - quantum.adjusted() + 2, 28)
    with localcontext() as context:
        context.prec = digits
        return shown(amount.quantize(quantum, rounding=ROUND_HALF_UP))


def _decimal(value: Any) -> Decimal | None:
    """The exact decimal of a money value (Decimal, int, or a float as Excel stores it)."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() is the shortest text that round-trips: 19.99, not 19.989999...
        try:
            return Decimal(repr(value))
        except InvalidOperation:
            return None
    return None


def _decimals(value: Decimal) -> int:
    """Decimal places that carry a digit (``19.90`` has 1, ``20`` has 0)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    # Trailing zeros counted by hand: normalize() would round to the context's 28 digits.
    zeros = len(digits) - len(bytes(digits).rstrip(b"\x00"))
    return 0 if zeros == len(digits) else max(-exponent - zeros, 0)


@dataclass(frozen=True, slots=True)
class RowSchema:
    """The row schema of one sheet kind, with what the checks and the builder derive from it."""

    kind: str
    schema: Mapping[str, Any]
    #: Field -> Amazon attribute path (``price`` -> ``purchasable_offer.our_price``).
    attributes: Mapping[str, str]
    money_fields: tuple[str, ...]
    date_fields: tuple[str, ...]
    update_fields: tuple[str, ...]
    dependent_required: Mapping[str, tuple[str, ...]]
    #: The compiled jsonschema-rs validator (``format: date`` checked).
    validator: Any = field(compare=False, repr=False)
    #: The schema as column checks for whole batches (``None``: rows are checked one by one).
    columns: ColumnSchema | None = field(default=None, compare=False, repr=False)

    @property
    def properties(self) -> Mapping[str, Mapping[str, Any]]:
        """The schema's ``properties``: canonical field -> its JSON Schema."""
        props: Mapping[str, Mapping[str, Any]] = self.schema.get("properties", {})
        return props

    def title(self, field_name: str) -> str:
        """The field's title as the templates show it (``Sale Price``)."""
        prop = self.properties.get(field_name, {})
        return str(prop.get("title") or field_name.replace("_", " ").title())


@functools.cache
def row_schema(kind: str) -> RowSchema:
    """The :class:`RowSchema` of ``kind`` (``offers``, ``prices``, ``inventory``); cached.

    Raises :class:`~feeds_kit.errors.UsageError` for a kind without a row schema.
    """
    try:
        schema = resources.load_schema("rows", f"{kind}.json")
    except (FileNotFoundError, OSError):
        raise UsageError(
            f"There is no row schema for sheet kind {kind!r}: use offers, prices or inventory."
        ) from None
    props: Mapping[str, Mapping[str, Any]] = schema.get("properties", {})
    return RowSchema(
        kind=kind,
        schema=schema,
        attributes={
            name: str(prop["x-amazon-attribute"])
            for name, prop in props.items()
            if "x-amazon-attribute" in prop
        },
        money_fields=tuple(n for n, p in props.items() if p.get("x-format") == "money"),
        date_fields=tuple(n for n, p in props.items() if p.get("format") == "date"),
        update_fields=tuple(schema.get("x-update-fields", ())),
        dependent_required={k: tuple(v) for k, v in schema.get("dependentRequired", {}).items()},
        validator=jsonschema_rs.validator_for(schema, validate_formats=True),
        columns=compile_columns(schema),
    )


@dataclass(slots=True)
class RowVerdict:
    """What the validator made of one row.

    ``valid`` is False when any error concerns the row, including one that is reported once for
    the whole file (``marketplace-missing``). ``retracted`` lists earlier rows that were valid
    when checked and are not any more (the first row of a duplicate SKU): a builder must
    :meth:`~feeds_kit.feed.FeedBuilder.discard` them.
    """

    row: int
    valid: bool
    marketplace_id: str | None
    issues: list[Issue]
    retracted: list[int] = field(default_factory=list)


@dataclass(slots=True)
class BatchVerdict:
    """What the validator made of a :class:`~feeds_kit.rows.RowBatch`.

    ``rows`` counts the batch's non-blank rows; ``verdicts`` holds, in row order, the verdict
    of every row that had to be checked on its own (a finding, a duplicate, a doubt). Every
    other row is valid and has nothing to say.
    """

    rows: int
    verdicts: list[RowVerdict]


# Duplicate detection keeps, per marketplace, a compact SkuIndex (sku_index.py): SKU -> one
# packed int, the row number and two flags.
_VALID_BIT = 1
_FLAGGED_BIT = 2
_SHIFT = 2


class RowValidator:
    """Checks the rows of one sheet, one at a time, as the reader streams them.

    ``marketplace`` is the ``--marketplace`` option: used for rows whose Marketplace cell is
    blank (or that have no such column), before ``layout.notes["marketplace"]`` (the marketplace
    an Amazon template names).
    """

    def __init__(self, layout: SheetLayout, *, marketplace: Marketplace | None = None) -> None:
        if not layout.kind:
            raise UsageError(
                "The kind of the sheet is not known: pass --kind offers, prices or inventory."
            )
        self._layout = layout
        self._schema = row_schema(layout.kind)
        self._validator = self._schema.validator
        self._props = frozenset(self._schema.properties)
        self._columns = {c.field: c.index for c in layout.columns if c.field is not None}
        self._date_fields = self._schema.date_fields
        self._money_fields = self._schema.money_fields
        self._update_fields = self._schema.update_fields
        self._fulfillment_fields = frozenset(
            name
            for name, attribute in self._schema.attributes.items()
            if attribute.split(".", 1)[0] == _FULFILLMENT_GROUP
        )
        self._fulfillment_order = sorted(
            self._fulfillment_fields, key=lambda n: self._columns.get(n, 1 << 20)
        )
        self._update_set = frozenset(self._update_fields)
        self._date_set = frozenset(self._date_fields)
        #: Fulfillment fields an FBA row must leave blank (all but the channel itself).
        self._fba_blank = self._fulfillment_fields - {"fulfillment_channel"}
        self._money_set = frozenset(self._money_fields)
        self._sale_dates = frozenset(("sale_start_date", "sale_end_date"))
        #: Currency code -> the smallest step its amounts may have (0.01, 1, ...).
        self._quanta: dict[str, Decimal] = {}
        self._early: list[Issue] = []
        self._default = self._resolve_default(marketplace)
        self._seen: dict[str, SkuIndex] = {}
        self._typed_marketplace: dict[str, Any] = {}
        self._regions: Counter[str] = Counter()
        self._missing_count = 0
        self._missing_first: int | None = None
        self._finished = False
        #: Whether any row came: a sheet of headers only is an error, said by :meth:`finish`.
        self._any_row = False
        #: Rows valid when checked that :meth:`finish` found invalid (minority regions).
        self.invalid_at_finish: list[int] = []

    # -- marketplaces -------------------------------------------------------------------------

    def _resolve_default(self, marketplace: Marketplace | str | None) -> Marketplace | None:
        if isinstance(marketplace, str):
            marketplace = get_marketplace(marketplace)
        if marketplace is not None:
            return marketplace
        noted = self._layout.notes.get("marketplace")
        if noted is None or noted == "":
            return None
        found = find_marketplace(str(noted))
        if found is None:
            self._early.append(
                MARKETPLACE_UNKNOWN.at(self._layout.where(), value=noted, shown=shown(noted))
            )
        return found

    def marketplace_id(self, row: Row) -> str | None:
        """The marketplace id ``row`` is for (its own cell, else the defaults), if known."""
        if any(i.field == "marketplace" and i.is_error for i in row.issues):
            return None
        value = row.values.get("marketplace")
        if value is None:
            return self._default.id if self._default else None
        found = BY_ID.get(value) or find_marketplace(str(value))
        return found.id if found else None

    # -- the row check ------------------------------------------------------------------------

    def check(self, row: Row) -> list[Issue]:
        """Every finding for ``row`` (its reading issues first), plus retro-active ones for
        earlier rows it duplicates (those carry the earlier row's number)."""
        return self.evaluate(row).issues

    def evaluate(self, row: Row) -> RowVerdict:
        """Like :meth:`check`, with the verdict: valid or not, the marketplace, retractions."""
        # Most rows are clean: prove it with no side effect and little work (one schema call,
        # a few comparisons), then record the row. Anything that would say a word about the
        # row sends it down the general path, which finds and words every finding.
        self._any_row = True
        values = row.values
        if self._early or row.issues or not self._props.issuperset(values):
            return self._evaluate(row)
        instance = values
        if not self._date_set.isdisjoint(values):
            instance = self._date_text(values)
        if not self._validator.is_valid(instance):
            return self._evaluate(row)
        value = values.get("marketplace")
        marketplace: Marketplace | None
        if value is None:
            marketplace = self._default
        else:
            marketplace = BY_ID.get(value) if type(value) is str else None
            if marketplace is None:
                return self._evaluate(row)
        if not self._clean(values, marketplace):
            return self._evaluate(row)

        number = row.number
        valid = True
        issues: list[Issue] = []
        retracted: list[int] = []
        if marketplace is None:
            # No marketplace anywhere: one file-level issue at the end instead of one per row.
            valid = False
            self._missing_count += 1
            if self._missing_first is None:
                self._missing_first = number
            key = ""
        else:
            key = marketplace.id
            if value is not None and key not in self._typed_marketplace:
                self._typed_marketplace[key] = row.raw.get("marketplace", value)
            self._regions[marketplace.region] += 1
        sku = values.get("sku")
        if sku is not None:
            sku = sku if type(sku) is str else str(sku)
            seen = self._seen.get(key)
            if seen is not None and sku not in seen:
                seen[sku] = (number << _SHIFT) | (_VALID_BIT if valid else 0)
            else:
                valid = self._duplicates(row, sku, marketplace, valid, issues, retracted)
        return RowVerdict(number, valid, key or None, issues, retracted)

    def evaluate_batch(self, batch: RowBatch) -> BatchVerdict:
        """Check a batch of rows; the same findings, in the same order, as :meth:`evaluate`
        called on each of :meth:`RowBatch.rows() <feeds_kit.rows.RowBatch.rows>`.

        Most rows are proven clean by column (see :mod:`feeds_kit.column_checks`) and recorded
        in the duplicate index in bulk; the others (suspects) and the clean rows whose SKU
        came before go through :meth:`evaluate`, in sheet order.
        """
        plan = self._batch_plan(batch)
        if plan is None:
            each = [self.evaluate(row) for row in batch.rows()]
            return BatchVerdict(len(each), each)
        suspects, keys = plan
        skus = batch.column("sku")
        assert skus is not None  # _batch_plan answers None without one
        order = sorted(suspects)
        size = batch.size
        clean = range(size) if not order else [k for k in range(size) if k not in suspects]
        verdicts: list[RowVerdict] = []
        if not self._at_once(batch, order, clean, skus, keys):
            # A suspect shares a SKU with a clean row, or a marketplace is met for the first
            # time: record the clean rows run by run between the suspects, as rows would be.
            count = 0
            start = 0
            for k in (*order, size):
                if k > start:
                    count += k - start
                    self._check_known(batch, self._record(batch, range(start, k), skus, keys),
                                      verdicts)
                if k < size:
                    row = batch.row(k)
                    if row is not None:
                        verdicts.append(self.evaluate(row))
                        count += 1
                start = k + 1
            return BatchVerdict(count, verdicts)
        # No suspect shares a SKU with a clean row: recording every clean row first finds
        # the same duplicates; only the order of the verdicts must be the sheet's.
        known = self._record(batch, clean, skus, keys) if clean else []
        count = len(clean)
        for k in heapq.merge(order, known):
            row = batch.row(k)
            if row is not None:
                verdicts.append(self.evaluate(row))
                count += k in suspects
        return BatchVerdict(count, verdicts)

    def _at_once(self, batch: RowBatch, order: list[int], clean: Sequence[int],
                 skus: list[Any], keys: list[str] | str) -> bool:
        """Whether the clean rows of a batch may be recorded before its suspects are checked."""
        met = {keys} if isinstance(keys, str) else set(keys)
        met.discard("")
        if not {BY_ID[key].region for key in met}.issubset(self._regions):
            return False  # the first region counted wins a tie: a matter of order
        if batch.column("marketplace") is not None and not met.issubset(self._typed_marketplace):
            return False  # which row names a marketplace first is a matter of order
        if not order or not clean:
            return True
        theirs = set()
        for k in order:
            row = batch.special.get(k) if k in batch.special else None
            sku = row.values.get("sku") if row is not None else skus[k]
            if sku is not None and sku is not ABSENT:
                theirs.add(sku if type(sku) is str else str(sku))
        return theirs.isdisjoint(map(skus.__getitem__, clean))

    def _record(self, batch: RowBatch, positions: Sequence[int], skus: list[Any],
                keys: list[str] | str) -> list[int]:
        """Record clean rows (batch positions, ascending) in the duplicate index, counting
        their regions; the positions whose SKU was known already, ascending."""
        self._any_row = True
        first = batch.first
        groups: Iterable[tuple[str, Sequence[int]]]
        if isinstance(keys, str):
            groups = ((keys, positions),)
        else:
            # A stable sort keeps each marketplace's positions ascending.
            by_key = sorted(positions, key=keys.__getitem__)
            # Marketplaces in the order the rows name them: the first region counted wins a
            # tie for the majority (see _mixed_regions).
            groups = sorted(((key, list(group)) for key, group in
                             itertools.groupby(by_key, key=keys.__getitem__)),
                            key=lambda item: item[1][0])
        markets = batch.column("marketplace")
        known: list[int] = []
        for key, group in groups:
            index = self._seen.get(key)
            if index is None:
                index = self._seen[key] = SkuIndex()
            if isinstance(group, range):
                found = index.add_new(skus[group.start:group.stop], range(
                    ((first + group.start) << _SHIFT) | _VALID_BIT,
                    (first + group.stop) << _SHIFT, 1 << _SHIFT,
                ))
                found = [group.start + i for i in found]
            else:
                found = [group[i] for i in index.add_new(
                    list(map(skus.__getitem__, group)),
                    [((first + k) << _SHIFT) | _VALID_BIT for k in group],
                )]
            if markets is not None and key not in self._typed_marketplace:
                typed = next((markets[k] for k in group if markets[k] is not ABSENT), ABSENT)
                if typed is not ABSENT:
                    self._typed_marketplace[key] = typed
            self._regions[BY_ID[key].region] += len(group) - len(found)
            known.extend(found)
        known.sort()
        return known

    def _check_known(self, batch: RowBatch, known: list[int],
                     verdicts: list[RowVerdict]) -> None:
        for k in known:
            # A clean row whose SKU came before: the row path words the duplicate.
            row = batch.row(k)
            assert row is not None
            verdicts.append(self.evaluate(row))

    def _batch_plan(self, batch: RowBatch) -> tuple[set[int], list[str] | str] | None:
        """The suspects of a batch and each position's marketplace id (one id for all), or
        ``None`` when the batch is to be checked row by row."""
        columns = self._schema.columns
        skus = batch.column("sku")
        if columns is None or self._early or skus is None:
            return None
        size = batch.size
        fields = batch.fields
        values = batch.columns
        if batch.special:
            # Rows read with findings go the row path; their cells hold findings, not values.
            values = [cells.copy() for cells in values]
            for cells in values:
                for k in batch.special:
                    cells[k] = ABSENT
        by_field = dict(zip(fields, values, strict=True))
        column = by_field.get
        # Fields of the other half (quantity in a prices sheet) are not in the schema's
        # properties: a closed schema makes their rows suspects, and the row path words them.
        suspects = columns.suspects(fields, values, size)
        suspects.update(batch.special)
        # Rows without a SKU are suspects whatever the schema says: blank rows are among them.
        if ABSENT in skus:
            suspects.update(k for k, v in enumerate(skus) if v is ABSENT)

        # Marketplaces: each distinct cell once.
        markets = column("marketplace")
        keys: list[str] | str
        by_value: dict[Any, Marketplace] = {}
        if markets is None:
            if self._default is None:
                return None
            keys = self._default.id
            found = [self._default]
        else:
            refused = []
            for value in set(markets):
                if value is ABSENT:
                    market = self._default
                else:
                    market = BY_ID.get(value) if type(value) is str else None
                if market is None:
                    refused.append(value)
                else:
                    by_value[value] = market
            if refused:
                suspects.update(itertools.compress(
                    itertools.count(), map(set(refused).__contains__, markets)))
            if not by_value:
                return None  # no row has a marketplace: each row says why on its own
            found = list(dict.fromkeys(by_value.values()))
            if len(found) == 1:
                keys = found[0].id  # the refused values' rows are suspects, not recorded
            else:
                # Positions of refused values get a key never used (they are suspects).
                ids = {value: market.id for value, market in by_value.items()}
                keys = list(map(ids.get, markets, itertools.repeat("")))

        # Currency: the marketplace's own, when given.
        currencies = column("currency")
        if currencies is not None:
            given = markets if markets is not None else [ABSENT] * size
            mismatched = set()
            for value, currency in set(zip(given, currencies, strict=True)):
                if currency is ABSENT:
                    continue
                market = by_value.get(value)
                if market is None or currency != market.currency:
                    mismatched.add((value, currency))
            if mismatched:
                suspects.update(itertools.compress(itertools.count(), map(
                    mismatched.__contains__, zip(given, currencies, strict=True))))

        # Money: finite decimals, no more places than the currency has, in order.
        quanta = {self._quantum(m.currency) for m in found}
        money = {name: by_field[name] for name in self._money_fields if name in by_field}
        if money and len(quanta) > 1:
            return None  # currencies of different precision in one batch: row by row
        quantum = next(iter(quanta))
        for amounts in money.values():
            suspects.update(_money_suspects(amounts, quantum))
        if len(money) > 1:
            for low, high, strict in _MONEY_ORDER:
                if low in money and high in money:
                    suspects.update(_order_suspects(money[low], money[high], strict))
        if self._sale_dates.issubset(fields):
            start_dates = column("sale_start_date")
            end_dates = column("sale_end_date")
            assert start_dates is not None and end_dates is not None
            suspects.update(_order_suspects(start_dates, end_dates, False))

        # Fulfilment: an FBA row leaves the merchant's fields blank; every row sends something.
        channels = column("fulfillment_channel")
        fba = [] if channels is None else list(itertools.compress(
            itertools.count(), map(operator.eq, channels, itertools.repeat(_FBA))))
        if fba:
            blank_columns = [v for f, v in by_field.items() if f in self._fba_blank]
            for k in fba:
                if any(cells[k] is not ABSENT for cells in blank_columns):
                    suspects.add(k)
        if self._update_fields:
            sent = [v for f, v in by_field.items() if f in self._update_set]
            if not sent:
                return None
            # Rows blank in every column sent: narrowed column by column (most rows have a
            # price or a quantity, so the first column leaves few to look at).
            nothing = list(itertools.compress(itertools.count(), map(
                operator.is_, sent[0], itertools.repeat(ABSENT))))
            for cells in sent[1:]:
                if not nothing:
                    break
                nothing = [k for k in nothing if cells[k] is ABSENT]
            suspects.update(nothing)
            if fba:
                others = [v for f, v in by_field.items()
                          if f in self._update_set and f not in self._fulfillment_fields]
                for k in fba:
                    if not any(cells[k] is not ABSENT for cells in others):
                        suspects.add(k)
        return suspects, keys

    def _date_text(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with its dates as ``YYYY-MM-DD`` text, as the row schema takes them."""
        instance = dict(values)
        for name in self._date_fields:
            value = instance.get(name)
            if value is not None and not isinstance(value, str):
                if isinstance(value, dt.datetime):
                    value = value.date()
                instance[name] = value.isoformat() if isinstance(value, dt.date) else value
        return instance

    def _quantum(self, currency: str) -> Decimal:
        quantum = self._quanta.get(currency)
        if quantum is None:
            allowed = CURRENCY_DECIMALS.get(currency, 2)
            quantum = self._quanta[currency] = (
                _QUANTUM.get(allowed) or Decimal(1).scaleb(-allowed)
            )
        return quantum

    def _clean(self, values: Mapping[str, Any], marketplace: Marketplace | None) -> bool:
        """True when the rules after the schema have nothing to say about a schema-valid row
        (the same rules as :meth:`_rules`, answering only yes or no)."""
        get = values.get
        currency = get("currency")
        if marketplace is not None:
            if currency is not None and currency != marketplace.currency:
                return False
            quantum = self._quantum(marketplace.currency)
        else:
            quantum = self._quantum(currency or "")
        money = self._money_set.intersection(values)
        for name in money:
            if not _money_ok(values[name], quantum):
                return False
        if len(money) > 1:
            price = get("price")
            minimum = get("minimum_price")
            maximum = get("maximum_price")
            if price is not None:
                sale = get("sale_price")
                if (
                    (sale is not None and sale >= price)
                    or (minimum is not None and price < minimum)
                    or (maximum is not None and price > maximum)
                ):
                    return False
            if minimum is not None and maximum is not None and minimum > maximum:
                return False
        if self._sale_dates.issubset(values):
            try:
                if values["sale_start_date"] > values["sale_end_date"]:
                    return False
            except TypeError:
                pass  # not both dates: the schema check has said so
        fba = get("fulfillment_channel") == _FBA
        if fba and not self._fba_blank.isdisjoint(values):
            return False
        if self._update_fields:
            sent = self._update_set.intersection(values)
            if fba:
                sent -= self._fulfillment_fields
            if not sent:
                return False
        return True

    def _evaluate(self, row: Row) -> RowVerdict:
        """The general path of :meth:`evaluate`: every finding, worded."""
        self._any_row = True
        values = row.values
        issues: list[Issue] = []
        if self._early:
            issues.extend(self._early)
            self._early = []
        bad: set[str] = set()
        if row.issues:
            issues.extend(row.issues)
            bad = {i.field for i in row.issues if i.field and i.severity is Severity.ERROR}
        instance: dict[str, Any] = values
        if not self._props.issuperset(values):
            # A column of the other half (quantity in a prices sheet): headers.py reports it
            # once as column-not-in-kind; its values are neither checked nor sent.
            instance = {k: v for k, v in values.items() if k in self._props}
            values = instance
        for name in () if self._date_set.isdisjoint(instance) else self._date_fields:
            value = instance.get(name)
            if value is not None and not isinstance(value, str):
                if instance is values:
                    instance = dict(values)
                if isinstance(value, dt.datetime):
                    value = value.date()
                instance[name] = value.isoformat() if isinstance(value, dt.date) else value
        failed = bad
        own: list[Issue] = []
        if not self._validator.is_valid(instance):
            own.extend(self._schema_issues(row, instance, failed))

        marketplace, resolvable = self._row_marketplace(row, values, failed, own)
        self._rules(row, values, marketplace, failed, own)

        if len(own) > 1:
            own.sort(key=self._order)
        issues.extend(own)
        valid = not issues or not any(i.severity is Severity.ERROR for i in issues)
        if marketplace is None and resolvable:
            # No marketplace anywhere: one file-level issue at the end instead of one per row.
            valid = False
            self._missing_count += 1
            if self._missing_first is None:
                self._missing_first = row.number
        if marketplace is not None:
            self._regions[marketplace.region] += 1

        retracted: list[int] = []
        sku = values.get("sku")
        if sku is not None and "sku" not in failed and resolvable:
            valid = self._duplicates(row, str(sku), marketplace, valid, issues, retracted)
        return RowVerdict(
            row=row.number,
            valid=valid,
            marketplace_id=marketplace.id if marketplace else None,
            issues=issues,
            retracted=retracted,
        )

    def _order(self, issue: Issue) -> int:
        return self._columns.get(issue.field, 1 << 20) if issue.field else -1

    def _issue(self, itype: IssueType, row: Row, field_name: str | None, **params: Any) -> Issue:
        typed = None
        if field_name is not None:
            typed = row.raw.get(field_name, row.values.get(field_name))
        where = self._layout.where(row.number, field_name, row.sku)
        title = self._schema.title(field_name) if field_name else ""
        params.setdefault("title", title)
        return itype.at(where, value=typed, shown=shown(typed), **params)

    def _schema_issues(self, row: Row, instance: dict[str, Any], failed: set[str]) -> list[Issue]:
        found: list[Issue] = []
        for error in self._validator.iter_errors(instance):
            path = error.instance_path
            keyword = error.kind.name
            if path:
                name = str(path[0])
                if name in failed:
                    continue  # one finding per cell
                failed.add(name)
                found.append(self._field_issue(row, name, keyword, instance.get(name)))
                continue
            schema_path = error.schema_path
            if keyword == "required" or (schema_path and schema_path[0] == "dependentRequired"):
                # required/dependentRequired point at the row: the field is in the error.
                missing = str(error.kind.as_dict().get("property", ""))
                if not missing or missing in failed:
                    continue
                failed.add(missing)
                if schema_path and schema_path[0] == "dependentRequired":
                    trigger = next(
                        (
                            t
                            for t, needs in self._schema.dependent_required.items()
                            if missing in needs and t in instance
                        ),
                        None,
                    )
                    found.append(
                        self._issue(
                            DEPENDENT_FIELD_MISSING,
                            row,
                            missing,
                            trigger=self._schema.title(trigger) if trigger else "another value",
                        )
                    )
                elif missing == "sku":
                    found.append(self._issue(SKU_MISSING, row, "sku"))
                else:
                    found.append(self._issue(FIELD_REQUIRED, row, missing))
            # additionalProperties cannot happen: foreign fields are filtered out beforehand.
        return found

    def _field_issue(self, row: Row, name: str, keyword: str, value: Any) -> Issue:
        prop = self._schema.properties.get(name, {})
        if name == "sku":
            if keyword == "minLength":
                return self._issue(SKU_MISSING, row, name)
            if keyword == "maxLength":
                return self._issue(SKU_TOO_LONG, row, name, length=len(str(value)))
        if prop.get("x-format") == "money":
            if keyword in ("exclusiveMinimum", "minimum"):
                return self._issue(MONEY_NOT_POSITIVE, row, name)
            return self._issue(MONEY_NOT_A_NUMBER, row, name)
        if name == "quantity":
            return self._issue(QUANTITY_INVALID, row, name)
        if name == "handling_time":
            return self._issue(HANDLING_TIME_INVALID, row, name)
        if name == "currency":
            return self._issue(CURRENCY_INVALID, row, name)
        if name == "marketplace":
            return self._issue(MARKETPLACE_UNKNOWN, row, name)
        if keyword == "enum" and "enum" in prop:
            labels = [str(x) for x in prop.get("x-enum-labels") or prop["enum"]]
            choices = ", ".join(labels[:-1]) + " or " + labels[-1] if len(labels) > 1 else labels[0]
            return self._issue(VALUE_NOT_IN_LIST, row, name, choices=choices)
        if prop.get("format") == "date":
            return self._issue(DATE_FORMAT_INVALID, row, name)
        help_text = str(prop.get("description") or f"see the {self._schema.kind} template")
        return self._issue(FIELD_INVALID, row, name, help=help_text.rstrip("."))

    def _row_marketplace(
        self, row: Row, values: Mapping[str, Any], failed: set[str], own: list[Issue]
    ) -> tuple[Marketplace | None, bool]:
        """The row's marketplace and whether its absence is "missing" (not "unreadable")."""
        if "marketplace" in failed:
            return None, False
        value = values.get("marketplace")
        if value is None:
            return self._default, True
        found = BY_ID.get(value) if isinstance(value, str) else None
        if found is None:
            found = find_marketplace(str(value))
        if found is None:
            failed.add("marketplace")
            own.append(self._issue(MARKETPLACE_UNKNOWN, row, "marketplace"))
            return None, False
        if found.id not in self._typed_marketplace:
            self._typed_marketplace[found.id] = row.raw.get("marketplace", value)
        return found, True

    def _rules(
        self,
        row: Row,
        values: Mapping[str, Any],
        marketplace: Marketplace | None,
        failed: set[str],
        own: list[Issue],
    ) -> None:
        # The hot path of validation: plain lookups, no closures, sets compared in C.
        get = values.get
        currency = get("currency")
        if currency is not None and "currency" in failed:
            currency = None
        if marketplace is not None:
            if currency is not None and currency != marketplace.currency:
                own.append(
                    self._issue(
                        CURRENCY_MISMATCH,
                        row,
                        "currency",
                        marketplace=f"{marketplace.country} ({marketplace.code})",
                        expected=marketplace.currency,
                    )
                )
                failed.add("currency")
            currency_code = marketplace.currency
        else:
            currency_code = currency or ""
        allowed = CURRENCY_DECIMALS.get(currency_code, 2)
        quantum = _QUANTUM.get(allowed) or Decimal(1).scaleb(-allowed)
        amounts: dict[str, Decimal] = {}
        for name in self._money_fields:
            value = get(name)
            if value is None or name in failed:
                continue
            amount = value if type(value) is Decimal else _decimal(value)
            if amount is None or not amount.is_finite():
                failed.add(name)
                own.append(self._issue(MONEY_NOT_A_NUMBER, row, name))
                continue
            try:
                exact = amount.quantize(quantum) == amount
            except InvalidOperation:  # more digits than the context holds
                exact = False
            if not exact:
                failed.add(name)
                own.append(self._decimals_issue(row, name, amount, allowed, currency_code))
                continue
            amounts[name] = amount

        if amounts:
            self._money_rules(row, amounts, own)
        start = get("sale_start_date")
        end = get("sale_end_date")
        if (
            start is not None
            and end is not None
            and "sale_start_date" not in failed
            and "sale_end_date" not in failed
        ):
            try:
                reversed_dates = start > end
            except TypeError:
                reversed_dates = False  # not both dates: the schema check has said so
            if reversed_dates:
                own.append(
                    self._issue(SALE_DATES_REVERSED, row, "sale_end_date", start=shown(start))
                )

        # Fulfilled by Amazon: Amazon owns the availability.
        fba = get("fulfillment_channel") == _FBA and "fulfillment_channel" not in failed
        if fba:
            for name in self._fulfillment_order:
                if name == "fulfillment_channel" or name not in values or name in failed:
                    continue
                if name == "quantity":
                    own.append(self._issue(FBA_QUANTITY, row, name))
                else:
                    own.append(self._issue(FBA_FIELD_IGNORED, row, name))
                failed.add(name)  # said why it is not sent: no "nothing to update" on top

        # A row must change something; unreadable cells already say why they are not sent.
        # (A kind without update fields, such as listings, has its own notion of "nothing".)
        if self._update_fields and failed.isdisjoint(self._update_set):
            sent = self._update_set.intersection(values)
            if fba:
                sent -= self._fulfillment_fields
            if not sent:
                names = [self._schema.title(n) for n in self._update_fields]
                own.append(
                    self._issue(
                        NOTHING_TO_UPDATE,
                        row,
                        None,
                        fields=", ".join(names[:-1]) + " or " + names[-1],
                    )
                )

    def _money_rules(self, row: Row, amounts: dict[str, Decimal], own: list[Issue]) -> None:
        price = amounts.get("price")
        sale = amounts.get("sale_price")
        if price is not None and sale is not None and sale >= price:
            own.append(
                self._issue(SALE_PRICE_NOT_BELOW_PRICE, row, "sale_price", price=shown(price))
            )
        minimum = amounts.get("minimum_price")
        maximum = amounts.get("maximum_price")
        if price is not None and minimum is not None and price < minimum:
            own.append(self._issue(PRICE_BELOW_MINIMUM, row, "price", limit=shown(minimum)))
        if price is not None and maximum is not None and price > maximum:
            own.append(self._issue(PRICE_ABOVE_MAXIMUM, row, "price", limit=shown(maximum)))
        if minimum is not None and maximum is not None and minimum > maximum:
            own.append(
                self._issue(MINIMUM_ABOVE_MAXIMUM, row, "minimum_price", limit=shown(maximum))
            )

    def _decimals_issue(
        self, row: Row, name: str, amount: Decimal, allowed: int, currency: str
    ) -> Issue:
        quantum = Decimal(1).scaleb(-allowed)
        return self._issue(
            MONEY_DECIMALS,
            row,
            name,
            decimals=_decimals(amount),
            allowed=allowed,
            currency=currency or "the currency",
            rounding=(
                f"round it to {allowed} decimal places" if allowed else "round it to a whole number"
            ),
            example=_rounded(amount, quantum),
        )

    def _duplicates(
        self,
        row: Row,
        sku: str,
        marketplace: Marketplace | None,
        valid: bool,
        issues: list[Issue],
        retracted: list[int],
    ) -> bool:
        key = marketplace.id if marketplace else ""
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = SkuIndex()
        previous = seen.get(sku)
        if previous is None:
            seen[sku] = (row.number << _SHIFT) | (_VALID_BIT if valid else 0)
            return valid
        first = previous >> _SHIFT
        where_name = f" for {marketplace.country} ({marketplace.code})" if marketplace else ""
        issues.append(
            self._issue(DUPLICATE_SKU, row, "sku", other=first, for_marketplace=where_name)
        )
        if not previous & _FLAGGED_BIT:
            location = self._layout.where(first, "sku", sku)
            issues.append(
                DUPLICATE_SKU.at(
                    location, value=sku, shown=sku, other=row.number, for_marketplace=where_name
                )
            )
            if previous & _VALID_BIT:
                retracted.append(first)
            seen[sku] = (first << _SHIFT) | _FLAGGED_BIT
        return False

    # -- end of file --------------------------------------------------------------------------

    def finish(self) -> list[Issue]:
        """End-of-file findings: a sheet without data rows, the missing marketplace (once),
        rows of minority regions."""
        if self._finished:
            return []
        self._finished = True
        found: list[Issue] = list(self._early)
        self._early = []
        if not self._any_row:
            found.append(
                NO_DATA_ROWS.at(self._layout.where(None), header_row=self._layout.header_row)
            )
        if self._missing_count:
            where = self._layout.where(None, "marketplace")
            found.append(
                MARKETPLACE_MISSING.at(where, count=self._missing_count, first=self._missing_first)
            )
        if len(self._regions) > 1:
            found.extend(self._mixed_regions())
        return found

    def _mixed_regions(self) -> list[Issue]:
        # most_common keeps first-seen order among equal counts: a tie goes to the first region.
        (majority, majority_count), *_ = self._regions.most_common(1)
        minority_markets = {
            mp_id for mp_id in self._seen if mp_id and BY_ID[mp_id].region != majority
        }
        marked: list[tuple[int, str, str, int]] = []
        for mp_id in minority_markets:
            for sku, packed in self._seen[mp_id].items():
                marked.append((packed >> _SHIFT, sku, mp_id, packed))
        marked.sort()
        found: list[Issue] = []
        for number, sku, mp_id, packed in marked:
            market = BY_ID[mp_id]
            typed = self._typed_marketplace.get(mp_id, market.code)
            found.append(
                MIXED_REGIONS.at(
                    self._layout.where(number, "marketplace", sku),
                    value=typed,
                    marketplace=f"{market.country} ({market.code})",
                    region=REGIONS[market.region].name,
                    majority=REGIONS[majority].name,
                    majority_count=majority_count,
                )
            )
            if packed & _VALID_BIT:
                self.invalid_at_finish.append(number)
        return found


#: Amounts that must be in order when both are given: (lower, higher, strictly lower).
_MONEY_ORDER: tuple[tuple[str, str, bool], ...] = (
    ("sale_price", "price", True),
    ("minimum_price", "price", False),
    ("price", "maximum_price", False),
    ("minimum_price", "maximum_price", False),
)


def _money_ok(amount: Any, quantum: Decimal) -> bool:
    """A finite decimal with no more places than ``quantum`` allows."""
    try:
        return type(amount) is Decimal and amount.is_finite() and amount.quantize(
            quantum) == amount
    except InvalidOperation:
        return False


def _money_suspects(values: list[Any], quantum: Decimal) -> list[int]:
    """Positions of a money column whose amount is not a finite decimal of at most the
    currency's places (the same test as :meth:`RowValidator._clean`, for a column)."""
    amounts = list(itertools.compress(values, map(operator.is_not, values,
                                                    itertools.repeat(ABSENT))))
    if not amounts:
        return []
    try:
        if set(map(type, amounts)) == {Decimal} and all(map(Decimal.is_finite, amounts)):
            same = list(map(operator.eq, map(
                operator.methodcaller("quantize", quantum), amounts), amounts))
            if all(same):
                return []
            present = present_positions(values)
            return [present[i] for i in itertools.compress(
                itertools.count(), map(operator.not_, same))]
    except InvalidOperation:
        pass  # an amount too long to round: found below
    return [k for k in present_positions(values) if not _money_ok(values[k], quantum)]


def _order_suspects(low: list[Any], high: list[Any], strict: bool) -> list[int]:
    """Positions where both are given and ``low`` is not below (or at most) ``high``."""
    keep = operator.lt if strict else operator.le
    found: list[int] = []
    for k in present_positions(low):
        other = high[k]
        if other is ABSENT:
            continue
        try:
            if not keep(low[k], other):
                found.append(k)
        except (TypeError, ArithmeticError):
            found.append(k)
    return found


def validate_rows(
    layout: SheetLayout,
    rows: Iterable[Row],
    *,
    marketplace: Marketplace | None = None,
    limit: int | None = 1000,
    report: Report | None = None,
) -> Report:
    """Check every row of a sheet and return the findings as a :class:`Report`.

    ``limit`` caps the issues kept in a new report (the count of the rest is in
    ``Report.dropped``); a ``report`` passed in (e.g. holding the structure findings) keeps its
    own limit and gets the row findings and counts added.
    """
    if report is None:
        report = Report(file=layout.file, sheet=layout.sheet, kind=layout.kind, limit=limit)
    else:
        report.file = report.file or layout.file
        report.sheet = report.sheet or layout.sheet
        report.kind = report.kind or layout.kind
    validator = RowValidator(layout, marketplace=marketplace)
    count = 0
    valid = 0
    for row in rows:
        verdict = validator.evaluate(row)
        count += 1
        valid += verdict.valid - len(verdict.retracted)
        report.extend(verdict.issues)
    report.extend(validator.finish())
    valid -= len(validator.invalid_at_finish)
    report.rows += count
    report.valid_rows += valid
    return report
