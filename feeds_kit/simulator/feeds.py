"""The six Feeds API 2021-06-30 operations, checked against the model as Amazon checks them.

Handlers take a parsed :class:`~feeds_kit.simulator.wire.Request` and the authenticated
seller and return a :class:`~feeds_kit.simulator.wire.Reply`; the server adds the request id,
the rate-limit header and applies throttling and faults around them.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feeds_kit.marketplaces import BY_ID
from feeds_kit.simulator.processing import KNOWN_FEED_TYPES, FeedProcessor, FeedRecord
from feeds_kit.simulator.storage import INPUT_DOCUMENT_LIFETIME, DocumentStore
from feeds_kit.simulator.wire import Reply, Request, api_error, json_reply

PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
#: Feeds are retained (and listed) for 90 days.
RETENTION = 90 * 24 * 3600.0
_GET_FEEDS_PARAMS = (
    "feedTypes",
    "marketplaceIds",
    "pageSize",
    "processingStatuses",
    "createdSince",
    "createdUntil",
)
#: createFeedDocument bodies above this size are refused with 413.
MAX_DOCUMENT_SPEC_BYTES = 64 * 1024


class InvalidInput(Exception):
    """A request Amazon answers 400 ``InvalidInput``; ``details`` names what is wrong."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def reply(self) -> Reply:
        """The 400 response."""
        return api_error(400, "InvalidInput", self.message, self.details)


def missing(*names: str) -> InvalidInput:
    """Amazon's error for absent required parameters (``details`` "contentType;")."""
    return InvalidInput("One or more required parameters missing", "".join(f"{n};" for n in names))


@dataclass(slots=True)
class _Page:
    seller_id: str
    filters: dict[str, Any]
    offset: int


class FeedsApi:
    """The Feeds API handlers over a processor and a document store."""

    def __init__(
        self,
        processor: FeedProcessor,
        documents: DocumentStore,
        *,
        clock: Callable[[], float],
        url_lifetime: float,
        listings_budget: Callable[[str], bool],
    ) -> None:
        self._processor = processor
        self._documents = documents
        self._clock = clock
        self._url_lifetime = url_lifetime
        self._listings_budget = listings_budget
        self._pages: dict[str, _Page] = {}
        self._lock = threading.Lock()

    # -- getFeeds ----------------------------------------------------------------------------

    def get_feeds(self, request: Request, seller_id: str) -> Reply:
        """``GET /feeds/2021-06-30/feeds``."""
        try:
            filters, offset = self._feeds_query(request, seller_id)
        except InvalidInput as exc:
            return exc.reply()
        feeds = [f for f in self._processor.feeds(seller_id) if _matches(f, filters, self._clock())]
        size = filters["pageSize"]
        chunk = feeds[offset : offset + size]
        now = self._clock()
        body: dict[str, Any] = {"feeds": [f.view(now) for f in chunk]}
        if offset + size < len(feeds):
            token = base64.b64encode(secrets.token_bytes(30)).decode("ascii")
            with self._lock:
                self._pages[token] = _Page(seller_id, filters, offset + size)
            body["nextToken"] = token
        return json_reply(200, body)

    def _feeds_query(self, request: Request, seller_id: str) -> tuple[dict[str, Any], int]:
        token = request.param("nextToken")
        given = [name for name in _GET_FEEDS_PARAMS if name in request.query]
        if token is not None:
            if given:
                raise InvalidInput(
                    "nextToken must be the only parameter when it is given.", ", ".join(given)
                )
            with self._lock:
                page = self._pages.get(token)
            if page is None or page.seller_id != seller_id:
                raise InvalidInput("The nextToken is not valid.", "nextToken")
            return page.filters, page.offset
        feed_types = _array(request, "feedTypes")
        if feed_types is None:
            raise InvalidInput("Either feedTypes or nextToken is required.", "feedTypes;nextToken;")
        _size(feed_types, "feedTypes", 1, 10)
        markets = _array(request, "marketplaceIds")
        if markets is not None:
            _size(markets, "marketplaceIds", 1, 10)
            _known_markets(markets)
        statuses = _array(request, "processingStatuses")
        if statuses is not None:
            _size(statuses, "processingStatuses", 1, None)
            bad = [s for s in statuses if s not in PROCESSING_STATUSES]
            if bad:
                raise InvalidInput(
                    f"Invalid processingStatuses value {', '.join(bad)}; use one of "
                    f"{', '.join(PROCESSING_STATUSES)}.",
                    "processingStatuses",
                )
        page_size = request.param("pageSize")
        size = 10
        if page_size is not None:
            if not page_size.isdigit() or not 1 <= int(page_size) <= 100:
                raise InvalidInput(
                    f"pageSize {page_size!r} is not a whole number from 1 to 100.", "pageSize"
                )
            size = int(page_size)
        now = self._clock()
        since = _date_time(request, "createdSince", now - RETENTION)
        until = _date_time(request, "createdUntil", now)
        if since > until:
            raise InvalidInput("createdSince is after createdUntil.", "createdSince")
        filters = {
            "feedTypes": feed_types,
            "marketplaceIds": markets,
            "processingStatuses": statuses,
            "createdSince": max(since, now - RETENTION),
            "createdUntil": until,
            "pageSize": size,
        }
        return filters, 0

    # -- createFeed --------------------------------------------------------------------------

    def create_feed(self, request: Request, seller_id: str) -> Reply:
        """``POST /feeds/2021-06-30/feeds``."""
        try:
            body = _json_body(request)
            spec = _create_feed_spec(body)
            doc = self._documents.get(spec["inputFeedDocumentId"], seller_id)
            if doc is None or doc.kind != "input":
                raise InvalidInput(
                    f"The inputFeedDocumentId {spec['inputFeedDocumentId']!r} is not a feed "
                    "document of this selling partner.",
                    "inputFeedDocumentId",
                )
            if self._clock() - doc.created > INPUT_DOCUMENT_LIFETIME:
                raise InvalidInput(
                    f"The inputFeedDocumentId {doc.document_id!r} has expired (feed documents "
                    "can be used for two days); create a new feed document.",
                    "inputFeedDocumentId",
                )
        except InvalidInput as exc:
            return exc.reply()
        except _UnsupportedMediaType as exc:
            return exc.reply()
        if spec["feedType"] == "JSON_LISTINGS_FEED" and not self._listings_budget(seller_id):
            return api_error(
                429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        record = self._processor.create(
            seller_id,
            spec["feedType"],
            spec["marketplaceIds"],
            doc.document_id,
            doc.content,
            doc.content_type,
            spec.get("feedOptions") or {},
        )
        return json_reply(202, {"feedId": record.feed_id})

    # -- getFeed / cancelFeed ----------------------------------------------------------------

    def get_feed(self, request: Request, seller_id: str, feed_id: str) -> Reply:
        """``GET /feeds/2021-06-30/feeds/{feedId}``."""
        found = self._find_feed(seller_id, feed_id)
        if isinstance(found, Reply):
            return found
        return json_reply(200, found.view(self._clock()))

    def cancel_feed(self, request: Request, seller_id: str, feed_id: str) -> Reply:
        """``DELETE /feeds/2021-06-30/feeds/{feedId}``: only IN_QUEUE feeds."""
        found = self._find_feed(seller_id, feed_id)
        if isinstance(found, Reply):
            return found
        if not self._processor.cancel(found):
            status = found.status_at(self._clock())
            return InvalidInput(
                f"The feed {feed_id} cannot be cancelled because its processingStatus is "
                f"{status}; only feeds that are IN_QUEUE can be cancelled.",
                "feedId",
            ).reply()
        return Reply(200)

    def _find_feed(self, seller_id: str, feed_id: str) -> FeedRecord | Reply:
        if not feed_id.isdigit():
            return InvalidInput(f"Invalid feedId {feed_id!r}.", "feedId").reply()
        record = self._processor.get(seller_id, feed_id)
        if record is None:
            return api_error(404, "NotFound", f"The feed {feed_id} was not found.")
        return record

    # -- documents ---------------------------------------------------------------------------

    def create_feed_document(self, request: Request, seller_id: str, base_url: str) -> Reply:
        """``POST /feeds/2021-06-30/documents``: 201 with a presigned upload URL."""
        if len(request.body) > MAX_DOCUMENT_SPEC_BYTES:
            return api_error(
                413, "RequestEntityTooLarge", "The request size exceeded the maximum accepted size."
            )
        try:
            body = _json_body(request)
            content_type = body.get("contentType")
            if content_type is None or content_type == "":
                raise missing("contentType")
            if not isinstance(content_type, str):
                raise InvalidInput("contentType must be a string.", "contentType")
        except InvalidInput as exc:
            return exc.reply()
        except _UnsupportedMediaType as exc:
            return exc.reply()
        doc = self._documents.create("input", content_type, seller_id=seller_id)
        url = self._documents.presign(doc, "PUT", base_url, self._url_lifetime)
        return json_reply(201, {"feedDocumentId": doc.document_id, "url": url})

    def get_feed_document(
        self, request: Request, seller_id: str, document_id: str, base_url: str
    ) -> Reply:
        """``GET /feeds/2021-06-30/documents/{feedDocumentId}``."""
        flag = request.param("enableContentEncodingUrlHeader")
        if flag is not None and flag.lower() not in {"true", "false"}:
            return InvalidInput(
                f"enableContentEncodingUrlHeader {flag!r} is not true or false.",
                "enableContentEncodingUrlHeader",
            ).reply()
        doc = self._documents.get(document_id, seller_id)
        if doc is None or doc.kind not in {"input", "result"}:
            return api_error(404, "NotFound", f"The feed document {document_id} was not found.")
        encoding = (
            "gzip" if flag is not None and flag.lower() == "true" and doc.compression else None
        )
        url = self._documents.presign(
            doc, "GET", base_url, self._url_lifetime, content_encoding=encoding
        )
        body: dict[str, Any] = {"feedDocumentId": doc.document_id, "url": url}
        if doc.compression:
            body["compressionAlgorithm"] = doc.compression
        return json_reply(200, body)


class _UnsupportedMediaType(Exception):
    def reply(self) -> Reply:
        return api_error(
            415, "UnsupportedMediaType", "The request's Content-Type header is invalid."
        )


def _json_body(request: Request) -> dict[str, Any]:
    content_type = (request.header("content-type") or "application/json").lower()
    if "json" not in content_type:
        raise _UnsupportedMediaType()
    try:
        body = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("The request body is not valid JSON.", str(exc)) from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.", "body")
    return body


def _create_feed_spec(body: dict[str, Any]) -> dict[str, Any]:
    absent = [
        name
        for name in ("feedType", "marketplaceIds", "inputFeedDocumentId")
        if body.get(name) in (None, "")
    ]
    if absent:
        raise missing(*absent)
    feed_type = body["feedType"]
    if not isinstance(feed_type, str):
        raise InvalidInput("feedType must be a string.", "feedType")
    if feed_type not in KNOWN_FEED_TYPES:
        raise InvalidInput(f"Invalid feedType {feed_type!r}.", "feedType")
    markets = body["marketplaceIds"]
    if not isinstance(markets, list) or not all(isinstance(m, str) for m in markets):
        raise InvalidInput("marketplaceIds must be an array of strings.", "marketplaceIds")
    _size(markets, "marketplaceIds", 1, 25)
    _known_markets(markets)
    regions = {BY_ID[m].region for m in markets}
    if len(regions) > 1:
        raise InvalidInput(
            "marketplaceIds must all belong to one region (na, eu or fe); this endpoint "
            f"received {', '.join(sorted(regions))}.",
            "marketplaceIds",
        )
    if not isinstance(body["inputFeedDocumentId"], str):
        raise InvalidInput("inputFeedDocumentId must be a string.", "inputFeedDocumentId")
    options = body.get("feedOptions")
    if options is not None and (
        not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values())
    ):
        raise InvalidInput("feedOptions must be an object of string values.", "feedOptions")
    return body


def _array(request: Request, name: str) -> list[str] | None:
    """A query array, given as ``a,b`` (Amazon's csv format) or as repeated parameters."""
    values = request.query.get(name)
    if values is None:
        return None
    items = [item.strip() for value in values for item in value.split(",")]
    if any(not item for item in items):
        raise InvalidInput(f"{name} contains an empty value.", name)
    return items


def _size(items: list[Any], name: str, low: int, high: int | None) -> None:
    if len(items) < low or (high is not None and len(items) > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInput(f"{name} must have {bound} items; it has {len(items)}.", name)


def _known_markets(markets: list[str]) -> None:
    unknown = [m for m in markets if m not in BY_ID]
    if unknown:
        raise InvalidInput(f"Invalid marketplaceIds value {', '.join(unknown)}.", "marketplaceIds")


def _date_time(request: Request, name: str, default: float) -> float:
    value = request.param(name)
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} {value!r} is not an ISO 8601 date-time.", name) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} {value!r} has no time zone; add Z or an offset.", name)
    return moment.timestamp()


def _matches(feed: FeedRecord, filters: dict[str, Any], now: float) -> bool:
    if feed.feed_type not in filters["feedTypes"]:
        return False
    markets = filters["marketplaceIds"]
    if markets is not None and not set(markets) & set(feed.marketplace_ids):
        return False
    statuses = filters["processingStatuses"]
    if statuses is not None and feed.status_at(now) not in statuses:
        return False
    return bool(filters["createdSince"] <= feed.created <= filters["createdUntil"])
