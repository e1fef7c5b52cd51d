"""Rows -> ``JSON_LISTINGS_FEED`` documents: messages, chunks, Amazon's schema check, the manifest.

Each valid row of an offers (prices, inventory) sheet becomes one ``PATCH`` message (productType
``PRODUCT``) with ``merge`` patches on ``/attributes/purchasable_offer`` and/or
``/attributes/fulfillment_availability``, carrying only what the row fills: a blank cell means
"leave unchanged" on Amazon, so a price-only row never touches availability, and no blank
optional field is sent as a value that would wipe it. Each valid row of a listings sheet becomes
one ``UPDATE``, ``PARTIAL_UPDATE`` or ``DELETE`` message (:mod:`feeds_kit.listings`), whose
manifest entry maps every attribute Amazon may name (``item_name``, ``bullet_point``,
``purchasable_offer.our_price``) to the column it came from.

Documents are built streaming. One chunk per region is open at a time (normally one): its
messages are kept as compact orjson bytes, so its size is measured as it grows; a chunk closes
before it would pass ``max_messages`` messages or reach ``max_bytes`` bytes. Nothing unchecked is
written: every message is checked against Amazon's ``listings-feed-schema-v2.json``
(jsonschema-rs) as it is added, inside its document's header, and the document's own limits when
it is written, atomically (temp file in the same directory, then ``os.replace``). A row found
invalid later (the first row of a duplicate SKU) is taken back with :meth:`FeedBuilder.discard`,
even from a chunk already written: that document is rewritten, renumbered and checked whole,
when the build finishes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import os
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from feeds_kit import resources
from feeds_kit.errors import FeedsKitError, OutputError, UsageError
from feeds_kit.files import write_atomic
from feeds_kit.manifest import CellRef, DocumentEntry, Manifest, MessageEntry, MessageTable
from feeds_kit.marketplaces import BY_ID, Marketplace
from feeds_kit.rows import Row, SheetLayout
from feeds_kit.validation import RowSchema, row_schema

if TYPE_CHECKING:
    # Listings machinery (product type schemas, jsonschema) is loaded only for listings
    # sheets: offers, the daily job, start faster without it.
    from feeds_kit.listings import ListingLayout
    from feeds_kit.product_types import ProductTypeCache

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_MESSAGES",
    "OPERATION",
    "PRODUCT_TYPE",
    "BuildResult",
    "BuiltDocument",
    "FeedBuilder",
    "build_message",
    "build_patches",
    "document_paths",
    "json_number",
    "validate_document",
]

#: Amazon's schema caps a feed at 25,000 messages (``maxItems``).
DEFAULT_MAX_MESSAGES = 25_000
#: Amazon's guidance is "keep file size less than 10 MiB" (10,485,760 bytes); stay clear of it.
DEFAULT_MAX_BYTES = 10_000_000
FEED_VERSION = "2.0"
OPERATION = "PATCH"
#: Offer-only updates need no real product type: Amazon's own pricing samples send PRODUCT.
PRODUCT_TYPE = "PRODUCT"
AUDIENCE = "ALL"
MERCHANT_CHANNEL = "DEFAULT"
FBA_CHANNEL = "AMAZON"

OFFER = "purchasable_offer"
AVAILABILITY = "fulfillment_availability"

#: Sheet field -> key inside the purchasable_offer value that carries a schedule of amounts.
_OFFER_AMOUNTS: tuple[tuple[str, str], ...] = (
    ("price", "our_price"),
    ("sale_price", "discounted_price"),
    ("minimum_price", "minimum_seller_allowed_price"),
    ("maximum_price", "maximum_seller_allowed_price"),
)
#: Sheet field -> key inside the fulfillment_availability value.
_AVAILABILITY_KEYS: tuple[tuple[str, str], ...] = (
    ("quantity", "quantity"),
    ("handling_time", "lead_time_to_ship_max_days"),
    ("restock_date", "restock_date"),
)
_AVAILABILITY_FIELDS = frozenset(
    {"quantity", "handling_time", "restock_date", "fulfillment_channel"}
)
#: The column Amazon's top-level attribute name is mapped to: the first filled, else present.
_MAIN_FIELDS: dict[str, tuple[str, ...]] = {
    OFFER: ("price", "sale_price", "minimum_price", "maximum_price"),
    AVAILABILITY: ("quantity", "handling_time", "restock_date", "fulfillment_channel"),
}


# -- message building ---------------------------------------------------------------------------


def json_number(value: Any) -> int | float:
    """A money amount as the JSON number with exactly its decimals (``Decimal("19.99")`` -> 19.99).

    orjson writes a float as the shortest text that reads back as the same float, so a decimal
    of up to 15 significant digits comes out exactly as written. Whole amounts become ints (JPY).
    Raises :class:`FeedsKitError` for an amount no JSON number can carry exactly.
    """
    if type(value) is not Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise FeedsKitError(f"{value!r} is not an amount.")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value) if value.is_integer() else value
    if not value.is_finite():
        raise FeedsKitError(f"{value} is not an amount.")
    parts = value.as_tuple()
    if isinstance(parts.exponent, int) and parts.exponent >= 0:
        return int(value)
    if len(parts.digits) > 15:
        raise FeedsKitError(f"The amount {value} has too many digits to be sent exactly.")
    number = float(value)
    return int(number) if number.is_integer() else number


def _iso_date(value: Any) -> str:
    """ISO 8601 calendar date ``YYYY-MM-DD`` for ``start_at``/``end_at`` and ``restock_date``.

    Amazon's schemas take ``restock_date`` as a date (or date-time) and Amazon's own templates
    carry the sale dates as whole days; a plain date keeps the seller's day exactly, with no time
    zone to get wrong.
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _schedule(amount: Any, **extra: str) -> list[dict[str, Any]]:
    return [{"schedule": [{"value_with_tax": json_number(amount), **extra}]}]


def build_patches(values: Mapping[str, Any], marketplace: Marketplace) -> list[dict[str, Any]]:
    """The ``merge`` patches for one row's normalised ``values`` (only the fields it fills).

    ``purchasable_offer`` when a price, sale price, minimum or maximum is given;
    ``fulfillment_availability`` when quantity, handling time, restock date or the channel is
    given, except for Fulfilled by Amazon rows (Amazon manages FBA availability).
    """
    patches: list[dict[str, Any]] = []
    get = values.get
    offer: dict[str, Any] = {}
    for name, key in _OFFER_AMOUNTS:
        amount = get(name)
        if amount is None:
            continue
        if name == "sale_price":
            dates = {}
            if get("sale_start_date") is not None:
                dates["start_at"] = _iso_date(values["sale_start_date"])
            if get("sale_end_date") is not None:
                dates["end_at"] = _iso_date(values["sale_end_date"])
            offer[key] = _schedule(amount, **dates)
        else:
            offer[key] = _schedule(amount)
    if offer:
        value = {
            "marketplace_id": marketplace.id,
            "currency": get("currency") or marketplace.currency,
            "audience": AUDIENCE,
            **offer,
        }
        patches.append({"op": "merge", "path": f"/attributes/{OFFER}", "value": [value]})

    channel = get("fulfillment_channel") or MERCHANT_CHANNEL
    if channel != FBA_CHANNEL and not _AVAILABILITY_FIELDS.isdisjoint(values):
        availability: dict[str, Any] = {"fulfillment_channel_code": MERCHANT_CHANNEL}
        for name, key in _AVAILABILITY_KEYS:
            item = get(name)
            if item is None:
                continue
            availability[key] = _iso_date(item) if name == "restock_date" else int(item)
        patches.append(
            {"op": "merge", "path": f"/attributes/{AVAILABILITY}", "value": [availability]}
        )
    return patches


def build_message(
    message_id: int, sku: str, values: Mapping[str, Any], marketplace: Marketplace
) -> dict[str, Any] | None:
    """One ``PATCH`` message for a row, or ``None`` when the row has nothing to send."""
    patches = build_patches(values, marketplace)
    if not patches:
        return None
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": OPERATION,
        "productType": PRODUCT_TYPE,
        "patches": patches,
    }


# -- Amazon's schema ----------------------------------------------------------------------------


@functools.cache
def _feed_validator() -> Any:
    schema = resources.load_schema("amazon", "listings-feed-schema-v2.json")
    return jsonschema_rs.validator_for(schema)


def validate_document(doc: dict[str, Any]) -> list[str]:
    """Where ``doc`` breaks Amazon's ``listings-feed-schema-v2.json``; empty when it is valid.

    Each reason is ``<JSON pointer>: <what is wrong>``.
    """
    validator = _feed_validator()
    if validator.is_valid(doc):
        return []
    reasons = []
    for error in validator.iter_errors(doc):
        pointer = "".join(f"/{part}" for part in error.instance_path) or "/"
        reasons.append(f"{pointer}: {error.message}")
    return reasons


# -- documents ----------------------------------------------------------------------------------


def document_paths(output: Path, count: int) -> list[Path]:
    """Where ``count`` documents go: ``feed.json`` alone, else ``feed-001.json``, ... ."""
    output = Path(output)
    if count == 1:
        return [output]
    width = max(3, len(str(count)))
    return [
        output.with_name(f"{output.stem}-{i:0{width}d}{output.suffix}") for i in range(1, count + 1)
    ]


def _numbered_path(output: Path, number: int) -> Path:
    width = max(3, len(str(number)))
    return output.with_name(f"{output.stem}-{number:0{width}d}{output.suffix}")


@dataclass(slots=True)
class BuiltDocument:
    """A written feed document: its path, marketplaces, message count, byte size and SHA-256."""

    path: Path
    marketplace_ids: list[str]
    message_count: int
    size: int
    sha256: str

    @property
    def region(self) -> str | None:
        """The region (``na``/``eu``/``fe``) of the document's marketplaces."""
        for marketplace_id in self.marketplace_ids:
            market = BY_ID.get(marketplace_id)
            if market is not None:
                return market.region
        return None


@dataclass(slots=True)
class BuildResult:
    """What :meth:`FeedBuilder.finish` produced.

    ``skipped_rows`` are the rows given to :meth:`FeedBuilder.add` that are in no document:
    taken back with :meth:`FeedBuilder.discard`, or with nothing to send.
    """

    documents: list[BuiltDocument]
    manifest: Manifest
    skipped_rows: list[int] = field(default_factory=list)

    @property
    def message_count(self) -> int:
        """Messages in all documents together."""
        return sum(d.message_count for d in self.documents)


@dataclass(slots=True, eq=False)
class _Chunk:
    """One document in the making. While open, its messages are held as orjson bytes."""

    seq: int
    region: str
    rows: array[int] = field(default_factory=lambda: array("q"))
    # The manifest entry of each message, by column (see manifest.MessageTable): the SKU and
    # indexes into the builder's tables of marketplaces, operations and attribute maps.
    skus: list[str] = field(default_factory=list)
    markets: array[int] = field(default_factory=lambda: array("H"))
    operations: array[int] = field(default_factory=lambda: array("B"))
    maps: array[int] = field(default_factory=lambda: array("I"))
    blobs: list[bytes | None] = field(default_factory=list)
    discarded: set[int] = field(default_factory=set)
    size: int = 0
    live: int = 0
    ordered: bool = True
    path: Path | None = None
    written_size: int = 0
    written_sha256: str = ""

    def position(self, row: int) -> int | None:
        rows = self.rows
        if not rows:
            return None
        if self.ordered:
            if row < rows[0] or row > rows[-1]:
                return None
            at = bisect.bisect_left(rows, row)
            return at if at < len(rows) and rows[at] == row else None
        try:
            return rows.index(row)
        except ValueError:
            return None


def _drop(chunk: _Chunk, positions: set[int]) -> None:
    """Take the messages at ``positions`` out of a chunk's manifest columns."""
    kept = [i for i in range(len(chunk.rows)) if i not in positions]
    chunk.rows = array("q", map(chunk.rows.__getitem__, kept))
    chunk.skus = list(map(chunk.skus.__getitem__, kept))
    chunk.markets = array("H", map(chunk.markets.__getitem__, kept))
    chunk.operations = array("B", map(chunk.operations.__getitem__, kept))
    chunk.maps = array("I", map(chunk.maps.__getitem__, kept))


class FeedBuilder:
    """Streams valid rows into ``JSON_LISTINGS_FEED`` documents and their manifest.

    ``output`` names the document (``feed.json``); when more than one is needed they are
    ``feed-001.json``, ``feed-002.json``, ... (see :func:`document_paths`). Each document holds at
    most ``max_messages`` messages, fewer than ``max_bytes`` UTF-8 bytes, and the marketplaces of
    one region only.

    For a listings sheet, ``product_types`` is where the product type schemas that type the
    attribute values are found (pass the validator's, so both see the same schemas; default
    ``<FEEDS_KIT_HOME>/product-types`` and the packaged fixtures).
    """

    def __init__(
        self,
        layout: SheetLayout,
        *,
        seller_id: str,
        output: Path,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        issue_locale: str | None = None,
        product_types: ProductTypeCache | None = None,
    ) -> None:
        if not layout.kind:
            raise UsageError(
                "The kind of the sheet is not known: pass --kind offers, prices or inventory."
            )
        if not 1 <= max_messages <= DEFAULT_MAX_MESSAGES:
            raise UsageError(
                f"max_messages must be from 1 to {DEFAULT_MAX_MESSAGES}, not {max_messages}."
            )
        self._layout = layout
        self._schema: RowSchema = row_schema(layout.kind)
        self._fields = frozenset(self._schema.properties)
        self._output = Path(output)
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        header: dict[str, Any] = {"sellerId": seller_id, "version": FEED_VERSION}
        if issue_locale:
            header["issueLocale"] = issue_locale
        self._header = header
        self._prefix = b'{"header":' + orjson.dumps(header) + b',"messages":['
        self._suffix = b"]}"
        self._chunks: list[_Chunk] = []
        self._open: dict[str, _Chunk] = {}
        self._skipped: set[int] = set()
        self._attribute_maps: dict[tuple[Any, ...], dict[str, CellRef]] = {}
        # The manifest's shared tables: what each message's entry points into.
        self._market_ids: list[str | None] = []
        self._operation_names: list[str | None] = []
        self._map_table: list[dict[str, CellRef]] = []
        self._indexes: dict[Any, int] = {}
        self._finished = False
        self._listings: ListingLayout | None = None
        self._product_types = product_types
        if layout.kind == "listings":
            from feeds_kit.listings import ListingLayout
            from feeds_kit.product_types import ProductTypeCache

            self._listings = ListingLayout.from_layout(layout)
            if self._product_types is None:
                self._product_types = ProductTypeCache()
        if len(self._prefix) + len(self._suffix) >= max_bytes:
            raise UsageError(f"max_bytes {max_bytes} is too small for even an empty document.")

    # -- adding -------------------------------------------------------------------------------

    def add(self, row: Row, marketplace_id: str) -> None:
        """Add a row the validator found valid, for ``marketplace_id``."""
        self._check_open()
        market = BY_ID.get(marketplace_id)
        if market is None:
            raise UsageError(f"Unknown marketplace id {marketplace_id!r} for row {row.number}.")
        if self._listings is not None:
            self._add_listing(row, market)
            return
        values = row.values
        if not self._fields.issuperset(values):
            # A prices sheet never touches quantity, an inventory sheet never touches prices.
            values = {k: v for k, v in values.items() if k in self._fields}
        sku = row.sku
        if sku is None:
            raise FeedsKitError(
                f"Row {row.number} has no SKU; only valid rows can be built.", row=row.number
            )
        patches = build_patches(values, market)
        if not patches:
            self._skipped.add(row.number)
            return
        message = {
            "messageId": 1,
            "sku": sku,
            "operationType": OPERATION,
            "productType": PRODUCT_TYPE,
            "patches": patches,
        }
        entry = MessageEntry(
            message_id=0,
            row=row.number,
            sku=sku,
            marketplace_id=market.id,
            operation=OPERATION,
            attributes=self._attribute_map(values, patches),
        )
        self._append(market, message, row.number, entry)

    def _add_listing(self, row: Row, market: Marketplace) -> None:
        from feeds_kit.listings import UnbuildableListing

        assert self._listings is not None
        try:
            built = self._listings.build(row, 1, market.id, cache=self._product_types)
        except UnbuildableListing as exc:
            reason = exc.issues[0].message if exc.issues else str(exc)
            raise FeedsKitError(
                f"Row {row.number} cannot be built ({reason}); only rows the validator found "
                "valid can be built.",
                row=row.number,
            ) from None
        entry = built.manifest_entry()
        entry.message_id = 0
        entry.marketplace_id = market.id
        if built.operation != "DELETE":
            # An attribute the row leaves blank still has its column: Amazon's "'brand' is
            # required but not supplied" then lands on the blank Brand cell, not on the row.
            for column in self._listings.columns:
                entry.attributes.setdefault(column.path.attribute, column.cell)
        self._append(market, built.message, row.number, entry)

    def _append(
        self, market: Marketplace, message: dict[str, Any], row: int, entry: MessageEntry
    ) -> None:
        """Check ``message`` and add it to the open chunk of its region (a new one if full)."""
        chunk = self._open.get(market.region)
        if chunk is None:
            chunk = self._new_chunk(market.region)
        message["messageId"] = chunk.live + 1
        self._check_message(message, row)
        blob = orjson.dumps(message)
        size = self._grown(chunk, blob)
        if chunk.live and (chunk.live >= self._max_messages or size >= self._max_bytes):
            self._close(chunk)
            chunk = self._new_chunk(market.region)
            blob = _renumbered(blob, 1)
            size = self._grown(chunk, blob)
        if size >= self._max_bytes:
            raise FeedsKitError(
                f"The message for row {row} is {len(blob)} bytes: no document of fewer "
                f"than {self._max_bytes} bytes can hold it.",
                row=row,
            )
        chunk.size = size
        chunk.live += 1
        rows = chunk.rows
        if rows and row <= rows[-1]:
            chunk.ordered = False
        rows.append(row)
        chunk.blobs.append(blob)
        chunk.skus.append(entry.sku)
        chunk.markets.append(self._index("market", entry.marketplace_id, self._market_ids))
        chunk.operations.append(self._index("operation", entry.operation, self._operation_names))
        chunk.maps.append(self._map_index(entry.attributes))

    def _index(self, table: str, value: str | None, values: list[str | None]) -> int:
        key = (table, value)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = len(values)
            values.append(value)
        return index

    def _map_index(self, attributes: dict[str, CellRef]) -> int:
        # Offers rows share a handful of map objects (_attribute_map); a listing row makes its
        # own, so equal maps are found by content.
        known = self._indexes.get(("map-id", id(attributes)))
        if known is not None and self._map_table[known] is attributes:
            return known
        content = ("map", tuple((k, v.column, v.header) for k, v in attributes.items()))
        index = self._indexes.get(content)
        if index is None:
            index = self._indexes[content] = len(self._map_table)
            self._map_table.append(attributes)
        if self._map_table[index] is attributes:
            self._indexes[("map-id", id(attributes))] = index
        return index

    def _grown(self, chunk: _Chunk, blob: bytes) -> int:
        if chunk.live == 0:
            return len(self._prefix) + len(blob) + len(self._suffix)
        return chunk.size + 1 + len(blob)  # a comma before it

    def _new_chunk(self, region: str) -> _Chunk:
        chunk = _Chunk(seq=len(self._chunks) + 1, region=region)
        self._chunks.append(chunk)
        self._open[region] = chunk
        return chunk

    def _attribute_map(
        self, values: Mapping[str, Any], patches: list[dict[str, Any]]
    ) -> dict[str, CellRef]:
        """Amazon attribute path -> cell, shared by every message touching the same columns."""
        # Which patches a row gets and which cells feed them depend only on the fields it
        # fills (and FBA or not), so a handful of maps serve every message.
        key = (*values, values.get("fulfillment_channel") == FBA_CHANNEL)
        cached = self._attribute_maps.get(key)
        if cached is not None:
            return cached
        groups = tuple(p["path"].rsplit("/", 1)[-1] for p in patches)
        mains = tuple(next((n for n in _MAIN_FIELDS.get(g, ()) if n in values), "") for g in groups)
        layout_fields = self._layout.fields()
        mapping: dict[str, CellRef] = {}
        for group, main in zip(groups, mains, strict=True):
            candidates = (
                (main, *_MAIN_FIELDS.get(group, ())) if main else _MAIN_FIELDS.get(group, ())
            )
            column = next((layout_fields[n] for n in candidates if n in layout_fields), None)
            if column is not None:
                mapping[group] = CellRef(column.letter, column.header)
            for name, attribute in self._schema.attributes.items():
                if attribute.split(".", 1)[0] != group or attribute in mapping:
                    continue
                column = layout_fields.get(name)
                if column is not None:
                    mapping[attribute] = CellRef(column.letter, column.header)
        self._attribute_maps[key] = mapping
        return mapping

    # -- taking back --------------------------------------------------------------------------

    def discard(self, row_number: int) -> bool:
        """Take back a row found invalid after it was added (the first row of a duplicate).

        True when the row's message was removed (from the open chunk now, from a written
        document when :meth:`finish` rewrites it); False when the row had no message.
        """
        self._check_open()
        if row_number in self._skipped:
            return False
        for chunk in self._chunks:
            at = chunk.position(row_number)
            if at is None or at in chunk.discarded:
                continue
            chunk.discarded.add(at)
            if chunk.blobs:  # still open: the bytes it no longer holds
                blob = chunk.blobs[at]
                chunk.blobs[at] = None
                chunk.live -= 1
                if blob is not None:
                    chunk.size -= len(blob) + (1 if chunk.live else 0)
                if chunk.live == 0:
                    chunk.size = 0
            self._skipped.add(row_number)
            return True
        return False

    # -- writing ------------------------------------------------------------------------------

    def _document_bytes(self, chunk: _Chunk) -> bytes:
        """The open chunk as a document, messages renumbered when some were taken back."""
        if not chunk.discarded:
            blobs = [b for b in chunk.blobs if b is not None]
        else:
            blobs = []
            for blob in chunk.blobs:
                if blob is not None:
                    blobs.append(_renumbered(blob, len(blobs) + 1))
        return self._prefix + b",".join(blobs) + self._suffix

    def _limits(self, data: bytes, count: int, name: str) -> bytes:
        """The document-level rules: 1 to 25,000 messages, fewer than ``max_bytes`` bytes."""
        if not 1 <= count <= min(self._max_messages, DEFAULT_MAX_MESSAGES):
            raise FeedsKitError(
                f"The feed document {name} would hold {count} messages; this is a feeds-kit "
                "bug, nothing was written.",
                document=name,
            )
        if len(data) >= self._max_bytes:
            raise FeedsKitError(
                f"The feed document {name} is {len(data)} bytes, not under {self._max_bytes}; "
                "this is a feeds-kit bug, nothing was written.",
                document=name,
            )
        return data

    def _check_message(self, message: dict[str, Any], row: int) -> None:
        """Check a message against Amazon's whole feed schema, inside this document's header.

        The schema asks nothing of a document beyond its header, its 1 to 25,000 messages and
        each message's own rules, so checking every message this way as it is added (plus the
        count when the document is written) checks the whole document, without parsing it back.
        """
        doc = {"header": self._header, "messages": [message]}
        if _feed_validator().is_valid(doc):
            return
        reasons = validate_document(doc)
        raise FeedsKitError(
            f"The feed message for row {row} does not match Amazon's listings feed schema "
            f"({reasons[0]}); this is a feeds-kit bug, nothing was written for it.",
            row=row,
            reasons=reasons[:20],
        )

    def _close(self, chunk: _Chunk) -> None:
        """Write a full chunk to its numbered file and drop its messages from memory."""
        path = _numbered_path(self._output, chunk.seq)
        data = self._limits(self._document_bytes(chunk), chunk.live, path.name)
        write_atomic(path, data)
        chunk.path = path
        chunk.written_size = len(data)
        chunk.written_sha256 = hashlib.sha256(data).hexdigest()
        chunk.blobs = []
        # Positions now follow the written file, where taken-back rows are already gone.
        if chunk.discarded:
            _drop(chunk, chunk.discarded)
            chunk.discarded = set()
        del self._open[chunk.region]

    def finish(self) -> BuildResult:
        """Write what is still open, rewrite documents that lost rows, return the result.

        With no message at all, nothing is written and ``documents`` is empty.
        """
        self._check_open()
        self._finished = True
        kept: list[_Chunk] = []
        for chunk in self._chunks:
            if len(chunk.rows) - len(chunk.discarded) > 0:
                kept.append(chunk)
            elif chunk.path is not None:
                chunk.path.unlink(missing_ok=True)
        paths = document_paths(self._output, len(kept)) if kept else []
        documents: list[BuiltDocument] = []
        entries: list[DocumentEntry] = []
        # Final numbers never exceed the chunk's own, so renaming in order never overwrites
        # a document not yet moved.
        for chunk, path in zip(kept, paths, strict=True):
            live_count = len(chunk.rows) - len(chunk.discarded)
            if chunk.path is None:
                data = self._limits(self._document_bytes(chunk), live_count, path.name)
                write_atomic(path, data)
                size, sha256 = len(data), hashlib.sha256(data).hexdigest()
            elif chunk.discarded:
                data = self._limits(self._rewritten(chunk, path.name), live_count, path.name)
                write_atomic(path, data)
                if chunk.path != path:
                    chunk.path.unlink(missing_ok=True)
                size, sha256 = len(data), hashlib.sha256(data).hexdigest()
            else:
                if chunk.path != path:
                    _replace(chunk.path, path)
                size, sha256 = chunk.written_size, chunk.written_sha256
            if chunk.discarded:
                _drop(chunk, chunk.discarded)
                chunk.discarded = set()
            messages = MessageTable(
                chunk.rows, chunk.skus, chunk.markets, chunk.operations, chunk.maps,
                (self._market_ids, self._operation_names, self._map_table),
            )
            marketplace_ids = [
                market for market in map(self._market_ids.__getitem__,
                                         dict.fromkeys(chunk.markets))
                if market
            ]
            documents.append(
                BuiltDocument(
                    path=path,
                    marketplace_ids=marketplace_ids,
                    message_count=len(messages),
                    size=size,
                    sha256=sha256,
                )
            )
            entries.append(
                DocumentEntry(
                    name=path.name,
                    marketplace_ids=list(marketplace_ids),
                    messages=messages,
                    sha256=sha256,
                    size=size,
                )
            )
            chunk.blobs = []
        self._open.clear()
        manifest = Manifest(
            file=self._layout.file,
            sheet=self._layout.sheet,
            kind=self._layout.kind,
            seller_id=str(self._header["sellerId"]),
            header_row=self._layout.header_row,
            documents=entries,
        )
        return BuildResult(
            documents=documents, manifest=manifest, skipped_rows=sorted(self._skipped)
        )

    def _rewritten(self, chunk: _Chunk, name: str) -> bytes:
        """A written document read back without its taken-back messages, renumbered, checked
        whole against Amazon's schema (it was read back from disk, so it is parsed anyway)."""
        assert chunk.path is not None
        try:
            doc = orjson.loads(chunk.path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise OutputError(
                f"{chunk.path}: cannot read back the feed document to take rows out of it ({exc}).",
                path=str(chunk.path),
            ) from None
        messages = [m for i, m in enumerate(doc["messages"]) if i not in chunk.discarded]
        for number, message in enumerate(messages, start=1):
            message["messageId"] = number
        doc["messages"] = messages
        reasons = validate_document(doc)
        if reasons:
            raise FeedsKitError(
                f"The feed document {name} does not match Amazon's listings feed schema "
                f"({reasons[0]}); it was changed on disk during the build.",
                document=name,
                reasons=reasons[:20],
            )
        return orjson.dumps(doc)

    def _check_open(self) -> None:
        if self._finished:
            raise FeedsKitError("This FeedBuilder has finished; start a new one.")


_ID_PREFIX = b'{"messageId":'


def _renumbered(blob: bytes, message_id: int) -> bytes:
    """A serialised message with another ``messageId`` (always its first key: we build it)."""
    end = blob.index(b",", len(_ID_PREFIX))
    return _ID_PREFIX + str(message_id).encode() + blob[end:]


def _replace(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot move the feed document there ({exc.strerror}).", path=str(target)
        ) from None
