"""Feed processing: the IN_QUEUE → IN_PROGRESS → DONE/FATAL life of a feed and its report.

Time is computed, not ticked: a feed's start and end are fixed when it is created (queued
behind the seller's earlier feeds, since Amazon processes them in order), and its status at any
moment follows from the clock. Work happens lazily: :meth:`FeedProcessor.advance` processes,
in order, every feed whose end has passed, whenever anybody looks (an API call, a store read).
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import jsonschema
import jsonschema_rs

from feeds_kit.marketplaces import BY_ID
from feeds_kit.resources import load_schema
from feeds_kit.simulator import rules
from feeds_kit.simulator.faults import FaultInjector
from feeds_kit.simulator.listings import (
    ListingsStore,
    apply_patch,
    clone,
    iso_now,
    listing_view,
)
from feeds_kit.simulator.ptd import default_folder, load_schema_file
from feeds_kit.simulator.storage import DocumentStore

#: Amazon's code for a required attribute an UPDATE does not carry ("'brand' is required but
#: not supplied.").
ATTRIBUTE_REQUIRED = "90220"
#: Requirement sets whose product facts an UPDATE must carry in full.
_PRODUCT_REQUIREMENTS = frozenset({"LISTING", "LISTING_PRODUCT_ONLY"})

JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
#: Listings feed types Amazon retired on 2025-07-31; they end FATAL (facts §3.1).
RETIRED_FEED_TYPES = frozenset(
    {
        "POST_PRODUCT_DATA",
        "POST_INVENTORY_AVAILABILITY_DATA",
        "POST_PRODUCT_OVERRIDES_DATA",
        "POST_PRODUCT_PRICING_DATA",
        "POST_PRODUCT_IMAGE_DATA",
        "POST_PRODUCT_RELATIONSHIP_DATA",
        "POST_FLAT_FILE_INVLOADER_DATA",
        "POST_FLAT_FILE_BOOKLOADER_DATA",
        "POST_FLAT_FILE_CONVERGENCE_LISTINGS_DATA",
        "POST_FLAT_FILE_LISTINGS_DATA",
        "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
        "POST_UIEE_BOOKLOADER_DATA",
    }
)
#: Feed types Amazon still lists (facts §3.2); accepted, but only JSON_LISTINGS_FEED is processed.
CURRENT_FEED_TYPES = frozenset(
    {
        JSON_LISTINGS_FEED,
        "POST_EASYSHIP_DOCUMENTS",
        "POST_FULFILLMENT_ORDER_REQUEST_DATA",
        "POST_FULFILLMENT_ORDER_CANCELLATION_REQUEST_DATA",
        "POST_FBA_INBOUND_CARTON_CONTENTS",
        "POST_FLAT_FILE_FBA_CREATE_REMOVAL",
        "POST_FLAT_FILE_FULFILLMENT_ORDER_REQUEST_DATA",
        "POST_FLAT_FILE_FULFILLMENT_ORDER_CANCELLATION_REQUEST_DATA",
        "UPLOAD_VAT_INVOICE",
        "POST_FLAT_FILE_ORDER_ACKNOWLEDGEMENT_DATA",
        "POST_FLAT_FILE_PAYMENT_ADJUSTMENT_DATA",
        "POST_FLAT_FILE_FULFILLMENT_DATA",
        "POST_FLAT_FILE_IL_SNAPSHOT_FEED",
        "POST_FLAT_FILE_IL_ALLOCATION_REQUESTS_CONFIRMATION_FEED",
        "POST_EXPECTED_SHIP_DATE_SOD_FLAT_FILE",
        "POST_INVOICE_CONFIRMATION_DATA",
        "POST_ORDER_ACKNOWLEDGEMENT_DATA",
        "POST_PAYMENT_ADJUSTMENT_DATA",
        "POST_ORDER_FULFILLMENT_DATA",
        "POST_EXPECTED_SHIP_DATE_SOD",
        "RFQ_UPLOAD_FEED",
    }
)
KNOWN_FEED_TYPES = CURRENT_FEED_TYPES | RETIRED_FEED_TYPES
REPORT_CONTENT_TYPE = "application/json; charset=UTF-8"
REPORT_CONTENT_TYPE_CP1252 = "application/json; charset=windows-1252"


@dataclass(slots=True)
class FeedRecord:
    """A feed as the simulator keeps it."""

    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    content: bytes | None
    content_type: str
    feed_options: dict[str, str]
    created: float
    start_at: float
    end_at: float
    fate: str = "done"  # done | fatal | fatal-no-report | stuck
    status: str | None = None  # set once terminal (DONE, FATAL, CANCELLED)
    ended: float | None = None
    result_document_id: str | None = None
    report: dict[str, Any] | None = field(default=None, repr=False)

    def status_at(self, now: float) -> str:
        """The processingStatus at ``now``."""
        if self.status is not None:
            return self.status
        if now < self.start_at:
            return "IN_QUEUE"
        return "IN_PROGRESS"

    def view(self, now: float) -> dict[str, Any]:
        """The ``Feed`` object of the Feeds API model."""
        status = self.status_at(now)
        feed: dict[str, Any] = {
            "feedId": self.feed_id,
            "feedType": self.feed_type,
            "marketplaceIds": list(self.marketplace_ids),
            "createdTime": iso_now(self.created),
            "processingStatus": status,
        }
        if status in {"IN_PROGRESS", "DONE", "FATAL"}:
            feed["processingStartTime"] = iso_now(self.start_at)
        if self.ended is not None:
            feed["processingEndTime"] = iso_now(self.ended)
        if self.result_document_id is not None:
            feed["resultFeedDocumentId"] = self.result_document_id
        return feed


class FeedProcessor:
    """Feeds per seller, their schedule, processing and result documents. Thread-safe."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        speed: float,
        processing_seconds: tuple[float, float],
        store: ListingsStore,
        documents: DocumentStore,
        faults: FaultInjector,
        new_feed_id: Callable[[], str],
        new_document_id: Callable[[str], str],
        product_types: Callable[[], Path | None] = default_folder,
    ) -> None:
        self._clock = clock
        self._product_types = product_types
        self._schemas: dict[str, dict[str, Any] | None] = {}
        self._queue = processing_seconds[0] / speed
        self._progress = processing_seconds[1] / speed
        self._store = store
        self._documents = documents
        self._faults = faults
        self._new_feed_id = new_feed_id
        self._new_document_id = new_document_id
        self._feeds: dict[str, FeedRecord] = {}
        self._last_end: dict[str, float] = {}
        self._lock = threading.RLock()
        feed_schema = load_schema("amazon", "listings-feed-schema-v2.json")
        envelope = copy.deepcopy(feed_schema)
        envelope["properties"]["messages"]["items"] = {}
        self._envelope = jsonschema.Draft7Validator(envelope)
        message_schema = feed_schema["properties"]["messages"]["items"]
        self._message = jsonschema.Draft7Validator(message_schema)
        # The compiled validator answers "valid?" fast; jsonschema explains the rare failures.
        self._message_fast = jsonschema_rs.Draft7Validator(message_schema)

    # -- life cycle --------------------------------------------------------------------------

    def create(
        self,
        seller_id: str,
        feed_type: str,
        marketplace_ids: list[str],
        input_document_id: str,
        content: bytes | None,
        content_type: str,
        feed_options: dict[str, str],
    ) -> FeedRecord:
        """Queue a feed; its schedule and fate (faults) are fixed now."""
        now = self._clock()
        fault = self._faults.draw("feed")
        with self._lock:
            start = max(now + self._queue, self._last_end.get(seller_id, 0.0))
            record = FeedRecord(
                feed_id=self._new_feed_id(),
                seller_id=seller_id,
                feed_type=feed_type,
                marketplace_ids=list(marketplace_ids),
                input_document_id=input_document_id,
                content=content,
                content_type=content_type,
                feed_options=dict(feed_options),
                created=now,
                start_at=start,
                end_at=start + self._progress,
            )
            if fault is not None:
                record.fate = (
                    "stuck"
                    if fault.action == "stuck"
                    else ("fatal-no-report" if fault.arg == "no-report" else "fatal")
                )
            if record.fate != "stuck":
                # A stuck feed does not hold up the seller's later feeds.
                self._last_end[seller_id] = record.end_at
            self._feeds[record.feed_id] = record
        return record

    def get(self, seller_id: str, feed_id: str) -> FeedRecord | None:
        """A seller's feed (after processing whatever is due)."""
        self.advance()
        with self._lock:
            record = self._feeds.get(feed_id)
        return record if record is not None and record.seller_id == seller_id else None

    def feeds(self, seller_id: str) -> list[FeedRecord]:
        """A seller's feeds, newest first."""
        self.advance()
        with self._lock:
            found = [f for f in self._feeds.values() if f.seller_id == seller_id]
        return sorted(found, key=lambda f: (f.created, f.feed_id), reverse=True)

    def cancel(self, record: FeedRecord) -> bool:
        """Cancel a feed still IN_QUEUE; ``False`` when it is past that."""
        now = self._clock()
        with self._lock:
            if record.status_at(now) != "IN_QUEUE":
                return False
            record.status = "CANCELLED"
            record.ended = now
            self._reschedule(record.seller_id, now)
            return True

    def _reschedule(self, seller_id: str, now: float) -> None:
        """Move the seller's queued feeds up after a cancellation freed the queue."""
        last_end = 0.0
        feeds = sorted(
            (f for f in self._feeds.values() if f.seller_id == seller_id),
            key=lambda f: (f.created, f.feed_id),
        )
        for feed in feeds:
            if feed.status == "CANCELLED" or feed.fate == "stuck":
                continue
            if feed.status is None and feed.start_at > now:
                feed.start_at = max(feed.created + self._queue, last_end)
                feed.end_at = feed.start_at + self._progress
            last_end = max(last_end, feed.end_at)
        self._last_end[seller_id] = last_end

    def advance(self) -> None:
        """Process, in order, every feed whose processing time has passed."""
        now = self._clock()
        with self._lock:
            due = [
                f
                for f in self._feeds.values()
                if f.status is None and f.fate != "stuck" and f.end_at <= now
            ]
            for record in sorted(due, key=lambda f: (f.end_at, f.feed_id)):
                self._finish(record)

    # -- processing --------------------------------------------------------------------------

    def _finish(self, record: FeedRecord) -> None:
        record.ended = record.end_at
        if record.fate in {"fatal", "fatal-no-report"}:
            record.status = "FATAL"
            if record.fate == "fatal":
                report = self._report(
                    record,
                    [
                        rules.issue(
                            None,
                            None,
                            rules.FEED_INTERNAL_ERROR,
                            "ERROR",
                            "An internal error occurred while processing the feed; "
                            "submit it again.",
                        )
                    ],
                    processed=0,
                    accepted=0,
                )
                self._store_json_report(record, report)
            return
        if record.feed_type != JSON_LISTINGS_FEED:
            self._finish_other(record)
            return
        status, report = self._process_listings(record)
        record.status = status
        self._store_json_report(record, report)

    def _finish_other(self, record: FeedRecord) -> None:
        record.status = "FATAL"
        if record.feed_type in RETIRED_FEED_TYPES:
            code = rules.FEED_TYPE_RETIRED
            text = (
                f"The feed type {record.feed_type} is no longer supported since 2025-07-31; "
                "submit listings data as JSON_LISTINGS_FEED."
            )
        else:
            code = rules.FEED_TYPE_NOT_SIMULATED
            text = f"The local simulator does not process feed type {record.feed_type}."
        if "FLAT_FILE" in record.feed_type:
            body = (
                "Feed Processing Summary:\n\tNumber of records processed\t\t0\n"
                "\tNumber of records successful\t\t0\n\n"
                "original-record-number\tsku\terror-code\terror-type\terror-message\n"
                f"0\t\t{code}\tFatal\t{text}\n"
            )
            content_type = "text/tab-separated-values; charset=UTF-8"
        else:
            body = _xml_report(record, code, text)
            content_type = "text/xml; charset=UTF-8"
        doc = self._documents.create(
            "result",
            content_type,
            seller_id=record.seller_id,
            content=body.encode("utf-8"),
            document_id=self._new_document_id(_region_of(record)),
        )
        record.result_document_id = doc.document_id

    def _process_listings(self, record: FeedRecord) -> tuple[str, dict[str, Any]]:
        """Validate and apply a JSON_LISTINGS_FEED; (final status, report)."""

        def fatal(issues: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
            return "FATAL", self._report(record, issues, processed=0, accepted=0)

        if not record.content:
            return fatal(
                [
                    rules.issue(
                        None,
                        None,
                        rules.FEED_DOCUMENT_EMPTY,
                        "ERROR",
                        f"The feed document {record.input_document_id} is empty or was never "
                        "uploaded; upload it before calling createFeed.",
                    )
                ]
            )
        try:
            text = record.content.decode(_charset(record.content_type))
            if text.startswith("\ufeff"):
                text = text[1:]
            document = json.loads(text)
        except (UnicodeDecodeError, LookupError) as exc:
            return fatal([_not_json(f"it is not {_charset(record.content_type)} text ({exc})")])
        except json.JSONDecodeError as exc:
            return fatal([_not_json(f"{exc.msg} at line {exc.lineno}, column {exc.colno}")])
        envelope_errors = sorted(self._envelope.iter_errors(document), key=lambda e: e.path)
        if envelope_errors:
            return fatal(
                [
                    rules.issue(
                        None,
                        None,
                        rules.FEED_SCHEMA,
                        "ERROR",
                        f"attribute '{_dotted(error.absolute_path) or 'feed'}' does not meet the "
                        f"feed schema: {error.message}.",
                    )
                    for error in envelope_errors[:100]
                ]
            )
        header_seller = document["header"]["sellerId"]
        if header_seller != record.seller_id:
            return fatal(
                [
                    rules.issue(
                        None,
                        None,
                        rules.FEED_SELLER_MISMATCH,
                        "ERROR",
                        f"The sellerId '{header_seller}' in the feed header does not match the "
                        f"selling partner '{record.seller_id}' that submitted the feed.",
                    )
                ]
            )
        issues: list[dict[str, Any]] = []
        accepted = 0
        seen: set[int] = set()
        skus: dict[str, None] = {}
        with self._store.lock:
            for message in document["messages"]:
                message_issues = self._process_message(record, message, seen)
                issues.extend(message_issues)
                if not any(i["severity"] == "ERROR" for i in message_issues):
                    accepted += 1
                sku = message.get("sku") if isinstance(message, dict) else None
                if isinstance(sku, str):
                    skus.setdefault(sku)
            self._store.save()
        report = self._report(
            record, issues, processed=len(document["messages"]), accepted=accepted
        )
        included = (document["header"].get("report") or {}).get("includedData")
        if included:
            report["header"]["report"] = copy.deepcopy(document["header"]["report"])
            items = [self._item(record.seller_id, sku, included) for sku in skus]
            report["items"] = [item for item in items if item]
            report["summary"]["itemSummary"] = {
                "items": len(report["items"]),
                "errors": 0,
                "warnings": 0,
            }
        return "DONE", report

    def _process_message(
        self, record: FeedRecord, message: Any, seen: set[int]
    ) -> list[dict[str, Any]]:
        message_id = message.get("messageId") if isinstance(message, dict) else None
        if not (isinstance(message_id, int) and not isinstance(message_id, bool)) or message_id < 1:
            message_id = None
        sku = message.get("sku") if isinstance(message, dict) else None
        sku = sku if isinstance(sku, str) else None
        errors = (
            [] if self._message_fast.is_valid(message) else list(self._message.iter_errors(message))
        )
        # A plain error (a wrong type, a bad enum) says more than the per-operation oneOf.
        plain = [e for e in errors if e.validator != "oneOf"]
        error = jsonschema.exceptions.best_match(plain or errors)
        if error is not None:
            return [
                rules.issue(
                    message_id,
                    sku,
                    rules.MESSAGE_SCHEMA,
                    "ERROR",
                    "The provided message did not meet the schema validation requirements for "
                    f"a feed message ({_describe(error, message)}).",
                )
            ]
        assert message_id is not None and sku is not None  # the schema requires both
        if message_id in seen:
            return [
                rules.issue(
                    message_id,
                    sku,
                    rules.MESSAGE_DUPLICATE_ID,
                    "ERROR",
                    f"The messageId {message_id} is used by an earlier message in this feed; "
                    "each message needs its own messageId.",
                )
            ]
        seen.add(message_id)
        existing = self._store.peek(record.seller_id, sku)
        found = rules.check_message(message, record.marketplace_ids, existing)
        if message["operationType"] == "UPDATE":
            found.extend(self._required(message))
        if any(i["severity"] == "ERROR" for i in found):
            return found
        self._apply(record, message, clone(existing) if existing is not None else None)
        return found

    def _required(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Amazon checks an UPDATE against its product type: every attribute the schema
        requires must be there. Product types the simulator has no schema for pass."""
        if message.get("requirements", "LISTING") not in _PRODUCT_REQUIREMENTS:
            return []
        name = str(message.get("productType", ""))
        if name not in self._schemas:
            self._schemas[name] = load_schema_file(self._product_types(), name)
        schema = self._schemas[name]
        if schema is None:
            return []
        attributes = message.get("attributes") or {}
        return [
            rules.issue(
                message["messageId"],
                message["sku"],
                ATTRIBUTE_REQUIRED,
                "ERROR",
                f"'{attribute}' is required but not supplied.",
                attribute,
            )
            for attribute in schema.get("required", [])
            if not attributes.get(attribute)
        ]

    def _apply(
        self, record: FeedRecord, message: dict[str, Any], existing: dict[str, Any] | None
    ) -> None:
        now = iso_now(record.end_at)
        operation = message["operationType"]
        sku = message["sku"]
        if operation == "DELETE":
            self._store.delete(record.seller_id, sku)
            return
        if operation == "UPDATE":
            listing = {
                "sku": sku,
                "productType": message["productType"],
                "attributes": copy.deepcopy(message["attributes"]),
                "createdDate": existing["createdDate"] if existing else now,
                "lastUpdatedDate": now,
            }
            self._store.put(record.seller_id, listing)
            return
        assert existing is not None  # rules reject PATCH/PARTIAL_UPDATE of unknown SKUs
        listing = existing
        if operation == "PARTIAL_UPDATE":
            for name, value in message["attributes"].items():
                apply_patch(listing["attributes"], "replace", f"/attributes/{name}", value)
        else:
            for patch in message["patches"]:
                apply_patch(listing["attributes"], patch["op"], patch["path"], patch.get("value"))
        if message.get("productType") and message["productType"] != "PRODUCT":
            listing["productType"] = message["productType"]
        listing["lastUpdatedDate"] = now
        self._store.put(record.seller_id, listing)

    def _item(self, seller_id: str, sku: str, included: list[str]) -> dict[str, Any] | None:
        record = self._store.get(seller_id, sku)
        if record is None:
            return None
        view = listing_view(record)
        item: dict[str, Any] = {"sku": sku}
        for name in included:
            if name in view:
                item[name] = view[name]
            elif name == "productTypes":
                item[name] = [
                    {"marketplaceId": s["marketplaceId"], "productType": record["productType"]}
                    for s in view["summaries"]
                ]
            else:
                item[name] = []
        return item

    # -- reports ---------------------------------------------------------------------------

    def _report(
        self, record: FeedRecord, issues: list[dict[str, Any]], *, processed: int, accepted: int
    ) -> dict[str, Any]:
        return {
            "header": {"sellerId": record.seller_id, "version": "2.0", "feedId": record.feed_id},
            "issues": issues,
            "summary": {
                "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                "messagesProcessed": processed,
                "messagesAccepted": accepted,
                "messagesInvalid": processed - accepted,
            },
        }

    def _store_json_report(self, record: FeedRecord, report: dict[str, Any]) -> None:
        record.report = report
        fault = self._faults.draw("report")
        text = json.dumps(report, ensure_ascii=False, indent=2)
        content_type = REPORT_CONTENT_TYPE
        if fault is not None and fault.action == "windows-1252":
            raw = text.encode("cp1252", errors="replace")
            content_type = REPORT_CONTENT_TYPE_CP1252
        else:
            raw = text.encode("utf-8")
        # mtime=0 keeps the bytes reproducible for a given report.
        compressed = gzip.compress(raw, mtime=0)
        if fault is not None and fault.action == "truncate":
            compressed = compressed[: max(1, int(len(compressed) * fault.fraction))]
        elif fault is not None and fault.action == "corrupt":
            middle = bytes(b ^ 0x5A for b in compressed[10:-8])
            compressed = compressed[:10] + middle + compressed[-8:]
        doc = self._documents.create(
            "result",
            content_type,
            seller_id=record.seller_id,
            content=compressed,
            compression="GZIP",
            force_gzip_encoding=fault is not None and fault.action == "double-gzip",
            document_id=self._new_document_id(_region_of(record)),
        )
        record.result_document_id = doc.document_id


def _not_json(reason: str) -> dict[str, Any]:
    return rules.issue(
        None,
        None,
        rules.FEED_NOT_JSON,
        "ERROR",
        f"The feed document could not be parsed as JSON: {reason}.",
    )


def _describe(error: jsonschema.ValidationError, message: Any) -> str:
    """One clause for a message's schema error; for the per-operation ``oneOf`` rules, the
    reason of the branch of the message's own operationType."""
    if error.validator == "oneOf" and isinstance(message, dict):
        operation = message.get("operationType")
        for index, branch in enumerate(error.validator_value):
            const = branch.get("properties", {}).get("operationType", {}).get("const")
            if const != operation:
                continue
            forbidden = [
                name
                for name, sub in branch.get("properties", {}).items()
                if sub is False and name in message
            ]
            if forbidden:
                return f"'{forbidden[0]}' is not allowed in {operation} messages"
            reasons = [
                e for e in error.context or [] if e.schema_path and e.schema_path[0] == index
            ]
            if reasons:
                return f"{reasons[0].message} in {operation} messages"
    where = _dotted(error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _charset(content_type: str) -> str:
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else "utf-8"


def _dotted(path: Any) -> str:
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _region_of(record: FeedRecord) -> str:
    market = BY_ID.get(record.marketplace_ids[0]) if record.marketplace_ids else None
    return market.region if market else "na"


def _xml_report(record: FeedRecord, code: str, text: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">\n'
        "  <Header><DocumentVersion>1.02</DocumentVersion>"
        f"<MerchantIdentifier>{escape(record.seller_id)}</MerchantIdentifier></Header>\n"
        "  <MessageType>ProcessingReport</MessageType>\n"
        "  <Message><MessageID>1</MessageID><ProcessingReport>\n"
        f"    <DocumentTransactionID>{escape(record.feed_id)}</DocumentTransactionID>\n"
        "    <StatusCode>Complete</StatusCode>\n"
        "    <ProcessingSummary><MessagesProcessed>0</MessagesProcessed>"
        "<MessagesSuccessful>0</MessagesSuccessful><MessagesWithError>1</MessagesWithError>"
        "<MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>\n"
        "    <Result><MessageID>0</MessageID><ResultCode>Error</ResultCode>"
        f"<ResultMessageCode>{code}</ResultMessageCode>"
        f"<ResultDescription>{escape(text)}</ResultDescription></Result>\n"
        "  </ProcessingReport></Message>\n"
        "</AmazonEnvelope>\n"
    )
