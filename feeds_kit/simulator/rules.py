"""Amazon-only rules: what Amazon rejects or warns about although the message is schema-valid.

Each check returns processing-report issues (``messageId``, ``sku``, ``code``, ``severity``,
``message``, ``attributeName``). Codes are the simulator's own (Amazon publishes no list);
``docs/simulator.md`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from feeds_kit.simulator.listings import (
    PatchError,
    attribute_name,
    first_price,
    marketplace_currency,
    selector_key,
)

# Feed-level and message-structure codes (4xxxxxx, as Amazon's reports show them).
FEED_NOT_JSON = "4000001"
FEED_SCHEMA = "4002006"
FEED_SELLER_MISMATCH = "4002007"
MESSAGE_SCHEMA = "4002008"
MESSAGE_DUPLICATE_ID = "4002009"
# Listing-data codes (9xxxx).
FEED_INTERNAL_ERROR = "90001"
FEED_DOCUMENT_EMPTY = "90002"
FEED_TYPE_RETIRED = "90003"
FEED_TYPE_NOT_SIMULATED = "90004"
SKU_NOT_FOUND = "90101"
PATCH_UNSUPPORTED = "90102"
SELECTOR_MISSING = "90103"
MARKETPLACE_NOT_IN_FEED = "90104"
CURRENCY_MISMATCH = "90105"
PRICE_NOT_POSITIVE = "90106"
QUANTITY_INVALID = "90107"
PRICE_CHANGE = "90108"

#: Price fields of ``purchasable_offer`` whose schedule values must be above 0.
PRICE_FIELDS = (
    "our_price",
    "discounted_price",
    "minimum_seller_allowed_price",
    "maximum_seller_allowed_price",
)
#: Share of the current price beyond which a new price draws a warning.
PRICE_CHANGE_LIMIT = 0.5
#: Selectors a merge must name (Amazon: "You must provide non-empty values for the selector
#: field"); ``audience`` may be left out and means ALL.
MERGE_SELECTORS: dict[str, tuple[str, ...]] = {
    "purchasable_offer": ("marketplace_id", "currency"),
    "fulfillment_availability": ("fulfillment_channel_code",),
}


def issue(
    message_id: int | None,
    sku: str | None,
    code: str,
    severity: str,
    text: str,
    attribute: str | None = None,
) -> dict[str, Any]:
    """One processing-report issue (optional keys left out when unknown)."""
    record: dict[str, Any] = {}
    if message_id is not None:
        record["messageId"] = message_id
    if sku:
        record["sku"] = sku
    record.update({"code": code, "severity": severity, "message": text})
    if attribute:
        record["attributeName"] = attribute
    return record


def check_message(
    message: dict[str, Any],
    marketplace_ids: Sequence[str],
    existing: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """Issues Amazon would raise for a schema-valid message against the current listing."""
    message_id = message["messageId"]
    sku = message["sku"]
    operation = message["operationType"]
    if existing is None and operation in {"PATCH", "PARTIAL_UPDATE", "DELETE"}:
        verb = "deleted" if operation == "DELETE" else "updated"
        return [
            issue(
                message_id,
                sku,
                SKU_NOT_FOUND,
                "ERROR",
                f"The SKU '{sku}' does not exist for this seller, so it cannot be {verb}; "
                "create it with an UPDATE message first.",
            )
        ]
    found: list[dict[str, Any]] = []
    for op, name, entries, error in _changes(message):
        if error is not None:
            found.append(issue(message_id, sku, PATCH_UNSUPPORTED, "ERROR", error))
            continue
        for entry in entries:
            found.extend(_check_entry(message_id, sku, op, name, entry, marketplace_ids, existing))
    return found


def _changes(
    message: dict[str, Any],
) -> Iterator[tuple[str, str, list[dict[str, Any]], str | None]]:
    """(op, attribute, entries, error) for each change a message asks for."""
    if message["operationType"] == "PATCH":
        for patch in message.get("patches", []):
            try:
                name = attribute_name(patch["path"])
            except PatchError as exc:
                yield patch["op"], "", [], str(exc)
                continue
            yield patch["op"], name, _entries(patch.get("value")), None
    elif message["operationType"] in {"UPDATE", "PARTIAL_UPDATE"}:
        for name, value in message.get("attributes", {}).items():
            if not isinstance(value, list):
                yield (
                    "replace",
                    name,
                    [],
                    (
                        f"The attribute '{name}' must be a list of objects, not "
                        f"{type(value).__name__}."
                    ),
                )
                continue
            yield "replace", name, _entries(value), None


def _entries(value: Any) -> list[dict[str, Any]]:
    return [v for v in (value or []) if isinstance(v, dict)]


def _check_entry(
    message_id: int,
    sku: str,
    op: str,
    name: str,
    entry: dict[str, Any],
    marketplace_ids: Sequence[str],
    existing: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    market = entry.get("marketplace_id")
    if market is not None and market not in marketplace_ids:
        found.append(
            issue(
                message_id,
                sku,
                MARKETPLACE_NOT_IN_FEED,
                "ERROR",
                f"The marketplace '{market}' in '{name}' is not one of the feed's "
                f"marketplaceIds ({', '.join(marketplace_ids)}).",
                f"{name}.marketplace_id",
            )
        )
    if op == "merge":
        for selector in MERGE_SELECTORS.get(name, ()):
            if entry.get(selector) not in (None, ""):
                continue
            found.append(
                issue(
                    message_id,
                    sku,
                    SELECTOR_MISSING,
                    "ERROR",
                    f"The selector '{selector}' is required to merge '{name}'.",
                    f"{name}.{selector}",
                )
            )
    if op == "delete":
        return found
    if name == "purchasable_offer":
        found.extend(_check_offer(message_id, sku, entry, marketplace_ids, existing))
    elif name == "fulfillment_availability":
        found.extend(_check_availability(message_id, sku, entry))
    return found


def _check_offer(
    message_id: int,
    sku: str,
    entry: dict[str, Any],
    marketplace_ids: Sequence[str],
    existing: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    market = entry.get("marketplace_id") or (marketplace_ids[0] if marketplace_ids else None)
    expected = marketplace_currency(market) if market else None
    currency = entry.get("currency")
    if currency is not None and expected is not None and currency != expected:
        found.append(
            issue(
                message_id,
                sku,
                CURRENCY_MISMATCH,
                "ERROR",
                f"The currency '{currency}' is not valid for marketplace {market}; use {expected}.",
                "purchasable_offer.currency",
            )
        )
    for field in PRICE_FIELDS:
        attribute = f"purchasable_offer.{field}"
        for value in _schedule_values(entry.get(field)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                text = f"The value '{value}' for '{attribute}' is not a number."
            elif value <= 0:
                text = f"The value '{value:g}' for '{attribute}' must be greater than 0."
            else:
                continue
            found.append(issue(message_id, sku, PRICE_NOT_POSITIVE, "ERROR", text, attribute))
    new_price = first_price(entry, "our_price")
    if found or new_price is None or existing is None:
        return found
    key = selector_key("purchasable_offer", {**entry, "marketplace_id": market})
    for current in existing["attributes"].get("purchasable_offer", []):
        if selector_key("purchasable_offer", current) != key:
            continue
        old_price = first_price(current, "our_price")
        if old_price and abs(new_price - old_price) / old_price > PRICE_CHANGE_LIMIT:
            found.append(
                issue(
                    message_id,
                    sku,
                    PRICE_CHANGE,
                    "WARNING",
                    f"The price {new_price:g} for 'purchasable_offer.our_price' in marketplace "
                    f"{market} differs by more than {PRICE_CHANGE_LIMIT:.0%} from the current "
                    f"price {old_price:g}; check that it is intended.",
                    "purchasable_offer.our_price",
                )
            )
    return found


def _schedule_values(prices: Any) -> Iterator[Any]:
    for price in prices if isinstance(prices, list) else []:
        schedules = price.get("schedule") if isinstance(price, dict) else None
        for schedule in schedules if isinstance(schedules, list) else []:
            if isinstance(schedule, dict) and "value_with_tax" in schedule:
                yield schedule["value_with_tax"]


def _check_availability(message_id: int, sku: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for field in ("quantity", "lead_time_to_ship_max_days"):
        if field not in entry or entry[field] is None:
            continue
        value = entry[field]
        attribute = f"fulfillment_availability.{field}"
        if isinstance(value, bool) or not isinstance(value, int):
            text = f"The value '{value}' for '{attribute}' is not a whole number."
        elif value < 0:
            text = f"The value '{value}' for '{attribute}' must be 0 or greater."
        else:
            continue
        found.append(issue(message_id, sku, QUANTITY_INVALID, "ERROR", text, attribute))
    return found
