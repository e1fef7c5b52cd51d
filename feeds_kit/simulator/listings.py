"""The listings store: what Amazon holds per seller and SKU, and how messages change it.

Attributes are kept in Amazon's shape (``purchasable_offer``, ``fulfillment_availability``,
``item_name`` ... each a list of objects). JSON Patch operations follow Amazon's listings
semantics: entries of an attribute are identified by its *selectors* (``marketplace_id``,
``currency`` and ``audience`` for ``purchasable_offer``; ``fulfillment_channel_code`` for
``fulfillment_availability``; ``marketplace_id`` and ``language_tag`` otherwise), ``merge``
updates only the fields given in the matching entry, and ``add``/``replace`` on a
marketplace-scoped attribute replace the entries of the marketplaces named, leaving the other
marketplaces alone (Amazon stores offers per marketplace).
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from feeds_kit.marketplaces import BY_CODE, BY_ID

SELECTORS: dict[str, tuple[str, ...]] = {
    "purchasable_offer": ("marketplace_id", "currency", "audience"),
    "fulfillment_availability": ("fulfillment_channel_code",),
}
DEFAULT_SELECTORS = ("marketplace_id", "language_tag")
#: Selector values Amazon assumes when an entry leaves them out.
SELECTOR_DEFAULTS: dict[tuple[str, str], str] = {("purchasable_offer", "audience"): "ALL"}
_PATH = re.compile(r"^/attributes/(?P<name>[^/]+)$")
#: FBA channel codes of the regions of the catalogue's marketplaces.
_FBA_CHANNELS = {"na": "AMAZON_NA", "eu": "AMAZON_EU", "fe": "AMAZON_JP"}


class PatchError(ValueError):
    """A patch Amazon would refuse (unsupported path); the message is one sentence."""


def selectors_of(attribute: str) -> tuple[str, ...]:
    """The selector fields of an attribute."""
    return SELECTORS.get(attribute, DEFAULT_SELECTORS)


def selector_key(
    attribute: str, entry: dict[str, Any], fields: Iterable[str] | None = None
) -> tuple:
    """The identity of an entry: its selector values (defaults filled in)."""
    return tuple(
        entry.get(name, SELECTOR_DEFAULTS.get((attribute, name)))
        for name in (fields if fields is not None else selectors_of(attribute))
    )


def attribute_name(path: str) -> str:
    """The attribute a patch path addresses (``/attributes/purchasable_offer``)."""
    match = _PATH.match(path)
    if match is None:
        raise PatchError(
            f"The patch path '{path}' is not supported; use /attributes/<attribute name>."
        )
    return match["name"]


def apply_patch(attributes: dict[str, Any], op: str, path: str, value: Any) -> None:
    """Apply one JSON Patch operation to ``attributes`` in place."""
    name = attribute_name(path)
    current: list[dict[str, Any]] = list(attributes.get(name) or [])
    entries = [v for v in (value or []) if isinstance(v, dict)]
    if op in {"add", "replace"}:
        attributes[name] = _replace_entries(current, entries)
    elif op == "merge":
        for entry in entries:
            key = selector_key(name, entry)
            for index, existing in enumerate(current):
                if selector_key(name, existing) == key:
                    merged = {**existing, **entry}
                    current[index] = {k: v for k, v in merged.items() if v is not None}
                    break
            else:
                current.append({k: v for k, v in entry.items() if v is not None})
        attributes[name] = current
    elif op == "delete":
        if not entries:
            attributes.pop(name, None)
            return
        for entry in entries:
            fields = [f for f in selectors_of(name) if f in entry] or list(entry)
            key = selector_key(name, entry, fields)
            current = [e for e in current if selector_key(name, e, fields) != key]
        if current:
            attributes[name] = current
        else:
            attributes.pop(name, None)
    else:
        raise PatchError(f"The patch operation '{op}' is not supported.")


def _replace_entries(
    current: list[dict[str, Any]], entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    markets = {e.get("marketplace_id") for e in entries}
    if not entries or None in markets:
        return [copy.deepcopy(e) for e in entries]
    kept = [e for e in current if e.get("marketplace_id") not in markets]
    return kept + [copy.deepcopy(e) for e in entries]


def clone(value: Any) -> Any:
    """A deep copy of JSON data (through orjson: far faster than ``copy.deepcopy``)."""
    return orjson.loads(orjson.dumps(value))


def load_catalogue() -> dict[str, Any]:
    """The seeded catalogue shipped beside this module."""
    text = resources.files("feeds_kit.simulator").joinpath("catalogue.json").read_text("utf-8")
    return json.loads(text)


def catalogue_listings(catalogue: dict[str, Any], now: str) -> dict[str, dict[str, Any]]:
    """The catalogue as listing records keyed by SKU."""
    listings: dict[str, dict[str, Any]] = {}
    for item in catalogue["items"]:
        markets = [BY_CODE[code] for code in item["prices"]]
        offers = [
            {
                "marketplace_id": m.id,
                "currency": m.currency,
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": item["prices"][m.code]}]}],
            }
            for m in markets
        ]
        fulfillment = item["fulfillment"]
        if fulfillment["channel"] == "AMAZON":
            codes = sorted({_FBA_CHANNELS[m.region] for m in markets})
            availability = [{"fulfillment_channel_code": code} for code in codes]
        else:
            availability = [
                {
                    "fulfillment_channel_code": "DEFAULT",
                    "quantity": fulfillment["quantity"],
                    "lead_time_to_ship_max_days": fulfillment["leadTimeDays"],
                }
            ]
        attributes = {
            "item_name": [
                {"value": item["itemName"], "language_tag": m.language_tag, "marketplace_id": m.id}
                for m in markets
            ],
            "condition_type": [{"value": "new_new", "marketplace_id": m.id} for m in markets],
            "purchasable_offer": offers,
            "fulfillment_availability": availability,
        }
        listings[item["sku"]] = {
            "sku": item["sku"],
            "productType": item["productType"],
            "attributes": attributes,
            "createdDate": now,
            "lastUpdatedDate": now,
        }
    return listings


def listing_view(record: dict[str, Any]) -> dict[str, Any]:
    """A listing as the Listings Items API shows it: attributes plus offers and availability."""
    attributes = record["attributes"]
    names = {e.get("marketplace_id"): e.get("value") for e in attributes.get("item_name", [])}
    offers = []
    markets: list[str] = []
    for entry in attributes.get("purchasable_offer", []):
        market = entry.get("marketplace_id")
        if market and market not in markets:
            markets.append(market)
        price = first_price(entry, "our_price")
        offer: dict[str, Any] = {
            "marketplaceId": market,
            "offerType": "B2B" if entry.get("audience") == "B2B" else "B2C",
            "audience": {"value": entry.get("audience", "ALL")},
        }
        if price is not None:
            offer["price"] = {"currencyCode": entry.get("currency"), "amount": f"{price}"}
        offers.append(offer)
    summaries = [
        {
            "marketplaceId": market,
            "productType": record["productType"],
            "conditionType": "new_new",
            "status": ["BUYABLE", "DISCOVERABLE"] if _buyable(attributes) else ["DISCOVERABLE"],
            "itemName": names.get(market),
            "createdDate": record["createdDate"],
            "lastUpdatedDate": record["lastUpdatedDate"],
        }
        for market in markets
    ]
    availability = [
        {
            "fulfillmentChannelCode": e.get("fulfillment_channel_code"),
            **({"quantity": e["quantity"]} if "quantity" in e else {}),
        }
        for e in attributes.get("fulfillment_availability", [])
    ]
    return {
        "sku": record["sku"],
        "productType": record["productType"],
        "summaries": summaries,
        "attributes": copy.deepcopy(attributes),
        "offers": offers,
        "fulfillmentAvailability": availability,
        "issues": [],
    }


def first_price(entry: dict[str, Any], field: str) -> float | None:
    """The first ``schedule[].value_with_tax`` of a price field of a purchasable offer."""
    for price in entry.get(field) or []:
        for schedule in (price or {}).get("schedule") or []:
            value = (schedule or {}).get("value_with_tax")
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def _buyable(attributes: dict[str, Any]) -> bool:
    for entry in attributes.get("fulfillment_availability", []):
        code = entry.get("fulfillment_channel_code", "")
        if code != "DEFAULT" or (entry.get("quantity") or 0) > 0:
            return True
    return False


def iso_now(timestamp: float) -> str:
    """Amazon's date-time format (UTC, milliseconds, ``Z``)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ListingsStore:
    """Listings per seller, seeded from the catalogue on a seller's first use. Thread-safe.

    With ``path`` the store is read at start and written (atomically) after every change.
    """

    def __init__(self, clock: Callable[[], float], path: Path | None = None) -> None:
        self._clock = clock
        self._path = path
        self._lock = threading.RLock()
        self._sellers: dict[str, dict[str, dict[str, Any]]] = {}
        self._catalogue = load_catalogue()
        if path is not None and path.exists():
            data = json.loads(path.read_text("utf-8"))
            self._sellers = data.get("sellers", {})

    def seller(self, seller_id: str) -> dict[str, dict[str, Any]]:
        """The seller's records (seeded on first use). Callers hold :attr:`lock` to modify."""
        with self._lock:
            records = self._sellers.get(seller_id)
            if records is None:
                records = catalogue_listings(self._catalogue, iso_now(self._clock()))
                self._sellers[seller_id] = records
            return records

    @property
    def lock(self) -> threading.RLock:
        """The store's lock, held while a feed is applied."""
        return self._lock

    def get(self, seller_id: str, sku: str) -> dict[str, Any] | None:
        """A copy of one listing record, ``None`` when the SKU does not exist."""
        with self._lock:
            record = self.seller(seller_id).get(sku)
            return clone(record) if record is not None else None

    def peek(self, seller_id: str, sku: str) -> dict[str, Any] | None:
        """The live record, for reading only, by a caller that holds :attr:`lock`."""
        return self.seller(seller_id).get(sku)

    def skus(self, seller_id: str) -> list[str]:
        """The seller's SKUs, sorted."""
        with self._lock:
            return sorted(self.seller(seller_id))

    def sellers(self) -> list[str]:
        """Sellers the store knows."""
        with self._lock:
            return sorted(self._sellers)

    def put(self, seller_id: str, record: dict[str, Any]) -> None:
        """Store a record (created or changed)."""
        with self._lock:
            self.seller(seller_id)[record["sku"]] = record

    def delete(self, seller_id: str, sku: str) -> None:
        """Remove a listing."""
        with self._lock:
            self.seller(seller_id).pop(sku, None)

    def save(self) -> None:
        """Write the file-backed store, if any (atomic replace)."""
        if self._path is None:
            return
        with self._lock:
            text = json.dumps({"version": 1, "sellers": self._sellers}, ensure_ascii=False)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".listings-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def marketplace_currency(marketplace_id: str) -> str | None:
    """The currency of a marketplace id, ``None`` when unknown."""
    market = BY_ID.get(marketplace_id)
    return market.currency if market else None
