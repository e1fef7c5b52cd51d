"""What travels on the wire: a parsed request, a reply, and Amazon's and S3's error bodies.

Handlers are plain functions from :class:`Request` to :class:`Reply`, so they can be tested
without sockets; ``server.py`` turns sockets into requests and replies into bytes.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape


class Drop(enum.Enum):
    """Close the connection without an answer: before or after the request took effect."""

    BEFORE = "before"
    AFTER = "after"


@dataclass(slots=True)
class Request:
    """An HTTP request as the handlers see it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header's value, ``None`` when absent."""
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, ``None`` when absent."""
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(slots=True)
class Reply:
    """An HTTP response to send, or a connection to drop (``drop``).

    ``truncate_to`` sends only that many bytes of the body (with the full Content-Length) and
    then closes the connection, like a transfer cut short.
    """

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: Drop | None = None
    truncate_to: int | None = None
    #: Seconds to hold the answer after the request took effect (fault ``delay``), so a test
    #: can stop the client in that window.
    delay: float = 0.0

    def header(self, name: str) -> str | None:
        """The first value of a response header, ``None`` when absent."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII kept as is (as Amazon sends it)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON response."""
    reply = Reply(status, json_bytes(payload), [("Content-Type", "application/json")])
    reply.headers.extend((headers or {}).items())
    return reply


def error_body(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    """Amazon's ``ErrorList`` with one ``Error``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"errors": [error]}


def api_error(status: int, code: str, message: str, details: str | None = None) -> Reply:
    """An SP-API error response (``x-amzn-ErrorType`` set as Amazon does for 4xx/5xx)."""
    error_types = {
        400: "InvalidInputException",
        403: "AccessDeniedException",
        404: "NotFoundException",
        413: "RequestEntityTooLargeException",
        415: "UnsupportedMediaTypeException",
        429: "QuotaExceededException",
        500: "InternalFailure",
        503: "ServiceUnavailableException",
    }
    return json_reply(
        status,
        error_body(code, message, details),
        {"x-amzn-ErrorType": error_types.get(status, "Exception")},
    )


def s3_error(status: int, code: str, message: str, request_id: str, **extra: str) -> Reply:
    """An S3 XML error document (``<Error><Code>...``)."""
    parts = [f"<Code>{escape(code)}</Code>", f"<Message>{escape(message)}</Message>"]
    parts += [f"<{key}>{escape(value)}</{key}>" for key, value in extra.items()]
    parts.append(f"<RequestId>{escape(request_id)}</RequestId>")
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    return Reply(
        status,
        body.encode("utf-8"),
        [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)],
    )
