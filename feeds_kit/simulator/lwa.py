"""Login with Amazon: ``POST /auth/o2/token`` and the access tokens it issues.

Accepts the refresh-token grant (seller tokens) and the client-credentials grant (grantless
tokens, which the Feeds API refuses as Amazon does). Errors use the OAuth shape
``{"error": ..., "error_description": ...}`` with LWA's status codes (facts §5.1).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from feeds_kit.simulator.faults import FaultRule
from feeds_kit.simulator.wire import Reply, Request, json_reply

#: Seconds an access token lives, as announced in ``expires_in`` (facts §5.1).
TOKEN_LIFETIME = 3600
GRANTLESS_SCOPES = frozenset(
    {
        "sellingpartnerapi::notifications",
        "sellingpartnerapi::migration",
        "sellingpartnerapi::client_credential:rotation",
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an access token speaks for: an application, and a seller unless grantless."""

    client_id: str
    seller_id: str | None


@dataclass(slots=True)
class _Token:
    principal: Principal
    expires_at: float


def oauth_error(status: int, error: str, description: str) -> Reply:
    """LWA's error response."""
    return json_reply(status, {"error": error, "error_description": description})


class TokenService:
    """Issues and checks access tokens. Thread-safe."""

    def __init__(
        self,
        clients: Mapping[str, str],
        sellers: Mapping[str, str],
        clock: Callable[[], float],
    ) -> None:
        self._clients = dict(clients)
        self._sellers = dict(sellers)
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def token_endpoint(self, request: Request, fault: FaultRule | None = None) -> Reply:
        """Answer ``POST /auth/o2/token``; ``fault`` may be an ``expire-early`` rule."""
        params = _form(request)
        grant_type = params.get("grant_type")
        if not grant_type:
            return oauth_error(
                400, "invalid_request", "The request is missing a required parameter : grant_type"
            )
        if grant_type not in {"refresh_token", "client_credentials"}:
            return oauth_error(
                400, "unsupported_grant_type", f"The grant type {grant_type} is not supported"
            )
        client_id = params.get("client_id", "")
        secret = self._clients.get(client_id)
        if secret is None or not secrets.compare_digest(secret, params.get("client_secret", "")):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        body: dict[str, object]
        if grant_type == "refresh_token":
            refresh_token = params.get("refresh_token")
            if not refresh_token:
                return oauth_error(
                    400,
                    "invalid_request",
                    "The request is missing a required parameter : refresh_token",
                )
            seller_id = self._sellers.get(refresh_token)
            if seller_id is None:
                return oauth_error(
                    400,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                )
            access = self._issue(Principal(client_id, seller_id), fault)
            body = {"access_token": access, "refresh_token": refresh_token}
        else:
            scope = params.get("scope", "")
            if scope not in GRANTLESS_SCOPES:
                return oauth_error(
                    400, "invalid_scope", "The request has an invalid parameter : scope"
                )
            body = {"access_token": self._issue(Principal(client_id, None), fault), "scope": scope}
        body.update({"token_type": "bearer", "expires_in": TOKEN_LIFETIME})
        reply = json_reply(200, body)
        reply.headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        return reply

    def _issue(self, principal: Principal, fault: FaultRule | None) -> str:
        lifetime = float(TOKEN_LIFETIME)
        if fault is not None and fault.action == "expire-early":
            lifetime = fault.seconds
        token = "Atza|" + secrets.token_urlsafe(48)
        now = self._clock()
        with self._lock:
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now - 3600}
            self._tokens[token] = _Token(principal, now + lifetime)
        return token

    def authenticate(self, token: str | None) -> Principal | str:
        """The principal of a valid token, else the ``details`` sentence Amazon would give."""
        if not token:
            return "Access token is missing in the request header."
        with self._lock:
            found = self._tokens.get(token)
        if found is None:
            return "The access token you provided is revoked, malformed or invalid."
        if self._clock() >= found.expires_at:
            return "The access token you provided has expired."
        return found.principal


def _form(request: Request) -> dict[str, str]:
    """The token request's parameters, from a form or a JSON body (Amazon's Java SDK sends JSON)."""
    text = request.body.decode("utf-8", errors="replace")
    content_type = (request.header("content-type") or "").lower()
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if v is not None}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
