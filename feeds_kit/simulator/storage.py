"""Feed documents and their presigned URLs, with S3's behaviour on the same server.

An upload URL signs the method, the path, the time, the lifetime and the declared content
type, like an S3 SigV4 presigned URL whose signed headers include ``content-type``: a PUT whose
``Content-Type`` is not byte-identical to the declared one gets ``SignatureDoesNotMatch``; a URL
used after ``X-Amz-Expires`` seconds gets ``AccessDenied`` "Request has expired". Neither needs
SP-API headers. Signatures never appear in logs or error bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlencode

from feeds_kit.simulator.faults import FaultRule
from feeds_kit.simulator.wire import Reply, Request, s3_error

#: Path prefixes: input documents are kept 90 days, result documents 28 (facts §1.4).
INPUT_PREFIX = "/s3/NinetyDays/"
RESULT_PREFIX = "/s3/TwentyEightDays/"
DEFINITIONS_PREFIX = "/s3/SevenDays/"
#: A feedDocumentId may be used in createFeed for two days.
INPUT_DOCUMENT_LIFETIME = 2 * 24 * 3600.0
#: Result documents are kept 28 days.
RESULT_DOCUMENT_LIFETIME = 28 * 24 * 3600.0

_REQUIRED_QUERY = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(slots=True)
class Document:
    """A stored object: an input feed document, a result document or a definitions file.

    ``content_type`` is what createFeedDocument declared (input) or what a download announces
    (result). ``compression`` is ``"GZIP"`` when the bytes are gzip. ``force_gzip_encoding``
    serves ``Content-Encoding: gzip`` whatever the URL asked (a fault).
    """

    document_id: str
    seller_id: str | None
    kind: str
    content_type: str
    created: float
    content: bytes | None = None
    uploaded_at: float | None = None
    compression: str | None = None
    force_gzip_encoding: bool = False
    etag: str = ""

    @property
    def prefix(self) -> str:
        """The URL path prefix of this kind of document."""
        return {"input": INPUT_PREFIX, "result": RESULT_PREFIX}.get(self.kind, DEFINITIONS_PREFIX)


class DocumentStore:
    """Documents by id and the presigned-URL gate in front of them. Thread-safe."""

    def __init__(
        self,
        clock: Callable[[], float],
        new_id: Callable[[], str],
        new_request_id: Callable[[], str],
    ) -> None:
        self._clock = clock
        self._new_id = new_id
        self._new_request_id = new_request_id
        self._key = secrets.token_bytes(32)
        self._documents: dict[str, Document] = {}
        self._lock = threading.Lock()

    # -- documents -------------------------------------------------------------------------

    def create(
        self,
        kind: str,
        content_type: str,
        *,
        seller_id: str | None,
        content: bytes | None = None,
        compression: str | None = None,
        force_gzip_encoding: bool = False,
        document_id: str | None = None,
    ) -> Document:
        """Store a new document (``content`` ``None``: waiting for its upload)."""
        now = self._clock()
        doc = Document(
            document_id=document_id or self._new_id(),
            seller_id=seller_id,
            kind=kind,
            content_type=content_type,
            created=now,
            compression=compression,
            force_gzip_encoding=force_gzip_encoding,
        )
        if content is not None:
            self._put_content(doc, content, now)
        with self._lock:
            self._documents[doc.document_id] = doc
        return doc

    def get(self, document_id: str, seller_id: str | None = None) -> Document | None:
        """A document by id, ``None`` when unknown, another seller's, or past its retention."""
        with self._lock:
            doc = self._documents.get(document_id)
        if doc is None or (seller_id is not None and doc.seller_id != seller_id):
            return None
        if doc.kind == "result" and self._clock() - doc.created > RESULT_DOCUMENT_LIFETIME:
            return None
        return doc

    @staticmethod
    def _put_content(doc: Document, content: bytes, now: float) -> None:
        doc.content = content
        doc.uploaded_at = now
        doc.etag = '"' + hashlib.md5(content, usedforsecurity=False).hexdigest() + '"'

    # -- presigning ------------------------------------------------------------------------

    def presign(
        self,
        doc: Document,
        method: str,
        base_url: str,
        lifetime: float,
        *,
        content_encoding: str | None = None,
    ) -> str:
        """A presigned URL for ``method`` on ``doc``, valid ``lifetime`` seconds from now."""
        path = doc.prefix + quote(doc.document_id, safe="")
        amz_date = datetime.fromtimestamp(self._clock(), UTC).strftime(_AMZ_DATE)
        expires = str(int(lifetime))
        signed_headers = "content-type;host" if method == "PUT" else "host"
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"ASIAFEEDSKITLOCAL/{amz_date[:8]}/us-east-1/s3/aws4_request",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": expires,
            "X-Amz-SignedHeaders": signed_headers,
        }
        if content_encoding:
            query["response-content-encoding"] = content_encoding
        content_type = doc.content_type if method == "PUT" else ""
        query["X-Amz-Signature"] = self._sign(
            method, path, amz_date, expires, content_type, content_encoding or ""
        )
        return f"{base_url}{path}?{urlencode(query)}"

    def _sign(self, *parts: str) -> str:
        message = "\n".join(parts).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    # -- the S3 side -----------------------------------------------------------------------

    def serve(self, request: Request, fault: FaultRule | None = None) -> Reply:
        """Answer a PUT (upload) or GET (download) on a presigned URL."""
        request_id = self._new_request_id()
        doc_id = request.path.rsplit("/", 1)[-1]
        doc = self.get(unquote(doc_id))
        missing = [name for name in _REQUIRED_QUERY if request.param(name) is None]
        if missing:
            return s3_error(
                403,
                "AccessDenied",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                "and X-Amz-Expires parameters.",
                request_id,
            )
        expired = self._expired(request, request_id)
        if fault is not None and fault.action == "expire":
            expired = expired or self._expired(request, request_id, force=True)
        if expired is not None:
            return expired
        if doc is None or not request.path.startswith(doc.prefix):
            if request.method == "GET":
                return s3_error(
                    404, "NoSuchKey", "The specified key does not exist.", request_id, Key=doc_id
                )
            return _signature_mismatch(request_id)
        signed_type = (request.header("content-type") or "") if request.method == "PUT" else ""
        expected = self._sign(
            request.method,
            request.path,
            request.param("X-Amz-Date") or "",
            request.param("X-Amz-Expires") or "",
            signed_type,
            request.param("response-content-encoding") or "",
        )
        provided = request.param("X-Amz-Signature") or ""
        forged = fault is not None and fault.action == "signature"
        if forged or not hmac.compare_digest(expected, provided):
            return _signature_mismatch(request_id)
        if request.method == "PUT":
            return self._upload(doc, request.body, request_id)
        return self._download(doc, request, request_id, fault)

    def _expired(self, request: Request, request_id: str, *, force: bool = False) -> Reply | None:
        try:
            signed_at = datetime.strptime(request.param("X-Amz-Date") or "", _AMZ_DATE)
            lifetime = int(request.param("X-Amz-Expires") or "")
        except ValueError:
            return s3_error(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format and X-Amz-Expires a number.",
                request_id,
            )
        expires_at = signed_at.replace(tzinfo=UTC).timestamp() + lifetime
        now = self._clock()
        if not force and now <= expires_at:
            return None
        return s3_error(
            403,
            "AccessDenied",
            "Request has expired",
            request_id,
            **{
                "X-Amz-Expires": str(lifetime),
                "Expires": _iso(expires_at),
                "ServerTime": _iso(now),
            },
        )

    def _upload(self, doc: Document, body: bytes, request_id: str) -> Reply:
        with self._lock:
            self._put_content(doc, body, self._clock())
        return Reply(200, b"", [("ETag", doc.etag), ("x-amz-request-id", request_id)])

    def _download(
        self, doc: Document, request: Request, request_id: str, fault: FaultRule | None
    ) -> Reply:
        if doc.content is None:
            return s3_error(
                404,
                "NoSuchKey",
                "The specified key does not exist.",
                request_id,
                Key=doc.document_id,
            )
        headers = [
            ("Content-Type", doc.content_type),
            ("ETag", doc.etag),
            ("x-amz-request-id", request_id),
        ]
        asked = request.param("response-content-encoding")
        if doc.compression == "GZIP":
            gzip_header = doc.force_gzip_encoding or asked == "gzip"
            headers.append(("Content-Encoding", "gzip" if gzip_header else "identity"))
        elif asked:
            headers.append(("Content-Encoding", asked))
        reply = Reply(200, doc.content, headers)
        if fault is not None and fault.action == "truncate":
            reply.truncate_to = int(len(doc.content) * fault.fraction)
        return reply


def content_md5(content: bytes) -> str:
    """Base64 of the MD5 digest, as Amazon's PTD ``checksum``."""
    digest = hashlib.md5(content, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _signature_mismatch(request_id: str) -> Reply:
    return s3_error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        request_id,
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
