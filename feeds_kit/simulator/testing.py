"""Helpers for tests and rehearsals against a simulator: a manual clock and a logged-in session.

Like botocore's stubber, these ship with the library so other test suites (end-to-end tests
of the submit flow, the CLI) drive the simulator the same way. They use only ``requests``.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from feeds_kit.simulator.config import (
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    LOCAL_SELLER_ID,
)
from feeds_kit.simulator.server import Simulator

FEEDS = "/feeds/2021-06-30"
US = "ATVPDKIKX0DER"
#: 2026-01-01T00:00:00Z, a fixed start for manual clocks.
EPOCH = 1_767_225_600.0


class ManualClock:
    """A clock that moves only when told: ``clock()`` is the time, ``advance(s)`` moves it."""

    def __init__(self, start: float = EPOCH) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class SimulatorSession:
    """A ``requests`` session logged in to a simulator as a seller (the local one by default)."""

    def __init__(
        self,
        simulator: Simulator,
        *,
        client_id: str = LOCAL_CLIENT_ID,
        client_secret: str = LOCAL_CLIENT_SECRET,
        refresh_token: str = LOCAL_REFRESH_TOKEN,
        seller_id: str = LOCAL_SELLER_ID,
        session: requests.Session | None = None,
    ) -> None:
        self.simulator = simulator
        self.seller_id = seller_id
        self.http = session or requests.Session()
        self._credentials = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self.token = ""
        self.login()

    def login(self) -> str:
        """Get a fresh access token (and keep it)."""
        response = self.http.post(self.simulator.lwa_endpoint, data=self._credentials, timeout=10)
        response.raise_for_status()
        self.token = response.json()["access_token"]
        return self.token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An SP-API request with the access token (``path`` from the API root)."""
        headers = {"x-amz-access-token": self.token, **kwargs.pop("headers", {})}
        return self.http.request(
            method, self.simulator.endpoint + path, headers=headers, timeout=10, **kwargs
        )

    def create_document(self, content_type: str = "application/json; charset=UTF-8") -> dict:
        """createFeedDocument; the response body."""
        response = self.call("POST", f"{FEEDS}/documents", json={"contentType": content_type})
        response.raise_for_status()
        return response.json()

    def submit(
        self,
        document: dict[str, Any] | bytes,
        *,
        marketplace_ids: list[str] | None = None,
        feed_type: str = "JSON_LISTINGS_FEED",
        content_type: str = "application/json; charset=UTF-8",
    ) -> str:
        """createFeedDocument → upload → createFeed; the feed id."""
        created = self.create_document(content_type)
        body = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
        upload = self.http.put(
            created["url"], data=body, headers={"Content-Type": content_type}, timeout=10
        )
        upload.raise_for_status()
        response = self.call(
            "POST",
            f"{FEEDS}/feeds",
            json={
                "feedType": feed_type,
                "marketplaceIds": marketplace_ids or [US],
                "inputFeedDocumentId": created["feedDocumentId"],
            },
        )
        response.raise_for_status()
        return str(response.json()["feedId"])

    def feed(self, feed_id: str) -> dict[str, Any]:
        """getFeed; the response body."""
        response = self.call("GET", f"{FEEDS}/feeds/{feed_id}")
        response.raise_for_status()
        return dict(response.json())

    def wait(
        self,
        feed_id: str,
        *,
        clock: ManualClock | None = None,
        step: float = 5.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll getFeed until the feed is DONE, FATAL or CANCELLED.

        With a :class:`ManualClock` the clock is advanced ``step`` seconds between polls and
        nothing sleeps; otherwise polls sleep a few milliseconds, up to ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            feed = self.feed(feed_id)
            if feed["processingStatus"] in {"DONE", "FATAL", "CANCELLED"}:
                return feed
            if clock is not None:
                clock.advance(step)
            elif time.monotonic() > deadline:
                raise TimeoutError(f"feed {feed_id} is still {feed['processingStatus']}")
            else:
                sleep(0.005)

    def report(self, feed_id: str) -> dict[str, Any]:
        """The processing report of a finished feed, downloaded and decompressed."""
        feed = self.feed(feed_id)
        response = self.call("GET", f"{FEEDS}/documents/{feed['resultFeedDocumentId']}")
        response.raise_for_status()
        document = response.json()
        download = self.http.get(document["url"], timeout=10)
        download.raise_for_status()
        content = download.content
        if document.get("compressionAlgorithm") == "GZIP":
            content = gzip.decompress(content)
        return dict(json.loads(content.decode(download.encoding or "utf-8")))
