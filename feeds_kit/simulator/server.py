"""The simulator: HTTP routing over loopback and the :class:`Simulator` that owns the parts.

Every request goes the same way: route → fault (if the plan says so) → authentication →
rate limit → handler → headers (``x-amzn-RequestId`` always, ``x-amzn-RateLimit-Limit`` on
2xx/400/404 only) → the request log. Nothing the simulator logs carries a token or a
presigned-URL signature: paths are logged without their query strings.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from feeds_kit.simulator.config import SimulatorConfig
from feeds_kit.simulator.faults import FaultInjector, FaultRule
from feeds_kit.simulator.feeds import FeedsApi
from feeds_kit.simulator.listings import ListingsStore, listing_view
from feeds_kit.simulator.lwa import Principal, TokenService, oauth_error
from feeds_kit.simulator.processing import FeedProcessor
from feeds_kit.simulator.ptd import DefinitionsApi, default_folder
from feeds_kit.simulator.ratelimits import LISTINGS_FEED_PLAN, USAGE_PLANS, RateLimiter
from feeds_kit.simulator.storage import DocumentStore
from feeds_kit.simulator.wire import Drop, Reply, Request, api_error, json_reply, s3_error

logger = logging.getLogger(__name__)

_FEED = r"/feeds/2021-06-30/feeds"
_DOCS = r"/feeds/2021-06-30/documents"
_PTD = r"/definitions/2020-09-01/productTypes"
#: (method, path pattern, operation name)
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("POST", r"^/auth/o2/token$", "token"),
        ("GET", rf"^{_FEED}$", "getFeeds"),
        ("POST", rf"^{_FEED}$", "createFeed"),
        ("GET", rf"^{_FEED}/(?P<feedId>[^/]+)$", "getFeed"),
        ("DELETE", rf"^{_FEED}/(?P<feedId>[^/]+)$", "cancelFeed"),
        ("POST", rf"^{_DOCS}$", "createFeedDocument"),
        ("GET", rf"^{_DOCS}/(?P<feedDocumentId>[^/]+)$", "getFeedDocument"),
        ("GET", rf"^{_PTD}$", "searchDefinitionsProductTypes"),
        ("GET", rf"^{_PTD}/(?P<productType>[^/]+)$", "getDefinitionsProductType"),
        ("PUT", r"^/s3/.+$", "upload"),
        ("GET", r"^/s3/.+$", "download"),
        (
            "GET",
            r"^/_simulator/listings(?:/(?P<sellerId>[^/]+)(?:/(?P<sku>[^/]+))?)?/?$",
            "simulatorListings",
        ),
        ("GET", r"^/_simulator/requests/?$", "simulatorRequests"),
    )
)
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}
_QUERY = re.compile(r"\?[^\s'\"]*")


class Simulator:
    """A local imitation of the SP-API parts feeds-kit uses (LWA, Feeds, S3 documents, PTD).

    ``start()`` serves on a background thread (tests, ``submit --local``); ``serve_forever()``
    in the foreground (``feeds-kit sandbox serve``). ``clock`` is injectable; the default is
    the wall clock.
    """

    endpoint: str
    lwa_endpoint: str

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        product_types: Path | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self._clock = clock
        self._rng = random.Random(self.config.seed)
        self._rng_lock = threading.Lock()
        self._next_feed = self._rng.randrange(50_000_000_000, 60_000_000_000)
        self.tokens = TokenService(self.config.all_clients(), self.config.all_sellers(), clock)
        self.limiter = RateLimiter(clock, self.config.speed)
        self.faults = FaultInjector(self.config.faults, random.Random(self._rng.random()))
        self.documents = DocumentStore(clock, lambda: self._document_id("na"), self._request_id)
        self.store = ListingsStore(clock, self.config.store_path)
        # One product-type folder for the definitions served and the required attributes
        # checked when processing, so the simulator never contradicts itself.
        folder = product_types
        schemas = (lambda: folder) if folder is not None else default_folder
        self.processor = FeedProcessor(
            clock=clock,
            speed=self.config.speed,
            processing_seconds=self.config.processing_seconds,
            store=self.store,
            documents=self.documents,
            faults=self.faults,
            new_feed_id=self._feed_id,
            new_document_id=self._document_id,
            product_types=schemas,
        )
        self.feeds = FeedsApi(
            self.processor,
            self.documents,
            clock=clock,
            url_lifetime=self.config.url_lifetime,
            listings_budget=lambda seller: self.limiter.allow(
                "JSON_LISTINGS_FEED", seller, LISTINGS_FEED_PLAN
            ),
        )
        self.definitions = DefinitionsApi(self.documents, schemas)
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""
        self.lwa_endpoint = ""
        self._wildcard = False

    # -- running -----------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        """Serve on a background thread; ``port`` 0 picks a free one. Returns ``self``."""
        server = self._bind(host, port)
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            daemon=True,
            name="feeds-kit-simulator",
        )
        self._thread.start()
        return self

    def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ready: Callable[[Simulator], None] | None = None,
    ) -> None:
        """Serve in the foreground until interrupted; ``ready`` is called once bound."""
        server = self._bind(host, port)
        try:
            if ready is not None:
                ready(self)
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Simulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self, host: str, port: int) -> ThreadingHTTPServer:
        if self._server is not None:
            raise RuntimeError(f"the simulator already serves {self.endpoint}")
        server_class = _Server6 if ":" in host else _Server
        server = server_class((host, port), _Handler)
        server.simulator = self
        bound_port = server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.endpoint = f"http://{shown}:{bound_port}"
        self.lwa_endpoint = f"{self.endpoint}/auth/o2/token"
        self._server = server
        self._wildcard = host in _WILDCARD_HOSTS
        return server

    # -- views for people and tests ----------------------------------------------------------

    def listing(self, seller_id: str, sku: str) -> dict[str, Any] | None:
        """What Amazon now holds for a SKU (Listings Items API shape), ``None`` when absent."""
        self.processor.advance()
        record = self.store.get(seller_id, sku)
        return listing_view(record) if record is not None else None

    def request_log(self) -> list[dict[str, Any]]:
        """Every request so far: operation, method, path (no query), status, time, fault."""
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    # -- dispatch ----------------------------------------------------------------------------

    def dispatch(self, request: Request, base_url: str | None = None) -> Reply:
        """Answer one request (the HTTP layer calls this; tests may too)."""
        base = base_url or self.endpoint
        operation, params = _route(request)
        reply, fault, principal = self._answer(request, operation, params, base)
        self._record(request, operation, reply, fault, principal)
        return reply

    def _answer(
        self, request: Request, operation: str | None, params: dict[str, str], base: str
    ) -> tuple[Reply, FaultRule | None, Principal | None]:
        request_id = self._request_id()
        if operation is None:
            reply = api_error(404, "NotFound", "Resource not found")
            reply.headers.append(("x-amzn-RequestId", request_id))
            return reply, None, None
        if operation.startswith("simulator"):
            return self._simulator_view(operation, params), None, None
        if operation in {"upload", "download"}:
            fault = self.faults.draw(operation)
            faulted = _transport_fault(fault, s3=True, request_id=request_id)
            reply = faulted or _after(self.documents.serve(request, fault), fault)
            return reply, fault, None
        if operation == "token":
            fault = self.faults.draw("token")
            faulted = _transport_fault(fault, oauth=True, request_id=request_id)
            reply = faulted or _after(self.tokens.token_endpoint(request, fault), fault)
            reply.headers.append(("x-amzn-RequestId", request_id))
            return reply, fault, None
        fault = self.faults.draw(operation)
        faulted = _transport_fault(fault, request_id=request_id)
        principal: Principal | None = None
        if faulted is not None:
            reply = faulted
        else:
            found = self.tokens.authenticate(request.header("x-amz-access-token"))
            if isinstance(found, str):
                reply = api_error(
                    403, "Unauthorized", "Access to requested resource is denied.", found
                )
            elif found.seller_id is None:
                principal = found
                reply = api_error(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token was issued without a selling partner (grantless); "
                    "this operation needs a refresh-token grant.",
                )
            elif not self.limiter.allow(operation, (found.client_id, found.seller_id)):
                principal = found
                reply = _throttled()
            else:
                principal = found
                reply = self._operation(request, operation, params, found.seller_id, base)
            reply = _after(reply, fault)
        reply.headers.append(("x-amzn-RequestId", request_id))
        if operation in USAGE_PLANS and (200 <= reply.status < 300 or reply.status in {400, 404}):
            reply.headers.append(("x-amzn-RateLimit-Limit", self.limiter.header_value(operation)))
        return reply, fault, principal

    def _operation(
        self, request: Request, operation: str, params: dict[str, str], seller: str, base: str
    ) -> Reply:
        if operation == "getFeeds":
            return self.feeds.get_feeds(request, seller)
        if operation == "createFeed":
            return self.feeds.create_feed(request, seller)
        if operation == "getFeed":
            return self.feeds.get_feed(request, seller, params["feedId"])
        if operation == "cancelFeed":
            return self.feeds.cancel_feed(request, seller, params["feedId"])
        if operation == "createFeedDocument":
            return self.feeds.create_feed_document(request, seller, base)
        if operation == "getFeedDocument":
            return self.feeds.get_feed_document(request, seller, params["feedDocumentId"], base)
        if operation == "searchDefinitionsProductTypes":
            return self.definitions.search(request)
        return self.definitions.get(request, params["productType"], base)

    def _simulator_view(self, operation: str, params: dict[str, str]) -> Reply:
        if operation == "simulatorRequests":
            return json_reply(200, {"requests": self.request_log()})
        self.processor.advance()
        seller, sku = params.get("sellerId"), params.get("sku")
        if seller is None:
            return json_reply(
                200,
                {"sellers": {s: self.store.skus(s) for s in self.store.sellers()}},
            )
        if sku is None:
            views = [
                listing_view(record)
                for name in self.store.skus(seller)
                if (record := self.store.get(seller, name)) is not None
            ]
            return json_reply(200, {"sellerId": seller, "listings": views})
        view = self.listing(seller, sku)
        if view is None:
            return api_error(
                404, "NotFound", f"The SKU {sku!r} does not exist for seller {seller}."
            )
        return json_reply(200, {"sellerId": seller, **view})

    def _record(
        self,
        request: Request,
        operation: str | None,
        reply: Reply,
        fault: FaultRule | None,
        principal: Principal | None,
    ) -> None:
        if operation is not None and operation.startswith("simulator"):
            return
        entry = {
            "operation": operation,
            "method": request.method,
            "path": request.path,
            "status": None if reply.drop is not None else reply.status,
            "time": self._clock(),
            "request_id": reply.header("x-amzn-RequestId") or reply.header("x-amz-request-id"),
            "fault": str(fault) if fault is not None else None,
            "seller_id": principal.seller_id if principal else None,
        }
        with self._log_lock:
            self._log.append(entry)
        logger.debug("%s %s -> %s (%s)", request.method, request.path, entry["status"], operation)

    # -- identifiers (seeded) ----------------------------------------------------------------

    def _request_id(self) -> str:
        with self._rng_lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _feed_id(self) -> str:
        with self._rng_lock:
            self._next_feed += self._rng.randrange(1, 400)
            return str(self._next_feed)

    def _document_id(self, region: str) -> str:
        with self._rng_lock:
            unique = uuid.UUID(int=self._rng.getrandbits(128), version=4)
            suffix = "".join(self._rng.choices(string.ascii_uppercase + string.digits, k=12))
        return f"amzn1.tortuga.4.{region}.{unique}.T{suffix}"

    def base_url_for(self, host_header: str | None) -> str:
        """The URL prefix presigned links use: the bound endpoint, or the Host asked for when
        the server listens on every interface."""
        if self._wildcard and host_header:
            return f"http://{host_header}"
        return self.endpoint


def _route(request: Request) -> tuple[str | None, dict[str, str]]:
    for method, pattern, name in ROUTES:
        if method != request.method:
            continue
        match = pattern.match(request.path)
        if match:
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            return name, params
    return None, {}


def _after(reply: Reply, fault: FaultRule | None) -> Reply:
    """The handler's reply, dropped on the floor or held back when the fault says so."""
    if fault is not None and fault.action == "drop-after":
        reply.drop = Drop.AFTER
    if fault is not None and fault.action == "delay":
        reply.delay = fault.seconds
    return reply


def _throttled() -> Reply:
    return api_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def _transport_fault(
    fault: FaultRule | None, *, request_id: str, s3: bool = False, oauth: bool = False
) -> Reply | None:
    """The reply for a fault that answers instead of the handler (``None``: let it run)."""
    if fault is None:
        return None
    action = fault.action
    if action == "drop-before":
        return Reply(0, drop=Drop.BEFORE)
    if action == "throttle":
        return _throttled()
    if action not in {"500", "503"}:
        return None
    status = int(action)
    if s3:
        code, text = (
            ("InternalError", "We encountered an internal error. Please try again.")
            if status == 500
            else ("SlowDown", "Please reduce your request rate.")
        )
        return s3_error(status, code, text, request_id)
    if oauth:
        return oauth_error(
            status,
            "server_error" if status == 500 else "temporarily_unavailable",
            "The authorization server encountered an unexpected condition.",
        )
    if status == 500:
        return api_error(
            500, "InternalFailure", "We encountered an internal error. Please try again."
        )
    return api_error(
        503, "ServiceUnavailable", "Service temporarily unavailable. Please try again."
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: Simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client gone before its answer (killed inside a ``delay`` window, timed out) is part
        # of what the simulator is for: not worth socketserver's traceback on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("client %s went away before its answer", client_address[0])
            return
        super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Amazon's API hosts answer "Server: Server"; don't advertise Python's version.
    server_version = "Server"
    sys_version = ""
    # Headers and body go out in separate writes; without TCP_NODELAY each response waits
    # for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        simulator = self.server.simulator
        try:
            reply = simulator.dispatch(request, simulator.base_url_for(self.headers.get("Host")))
        except Exception:
            logger.exception("simulator failed on %s %s", self.command, split.path)
            reply = api_error(500, "InternalFailure", "We encountered an internal error.")
        if reply.delay > 0:
            # Real time on purpose: the delay exists to let a test act while it lasts.
            time.sleep(reply.delay)
        if reply.drop is not None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.truncate_to is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        payload = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
        if payload:
            self.wfile.write(payload)
        if reply.truncate_to is not None:
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Requests are recorded by Simulator.dispatch, without query strings.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        # http.server may quote the request line, whose query holds URL signatures.
        logger.debug(_QUERY.sub("?...", format % args))
