"""Amazon's own spreadsheet layouts: where their header and data rows are.

Sellers keep the files Amazon gave them, so the reader recognises them from the first rows
(facts: ``amazon-templates.md`` §0):

* ``unified``: row 1 is the ``settings=`` blob split over ``settings2=``, … cells; labels in
  row 4, attribute paths in row 5, Amazon's worked example in row 6, data from row 7;
* ``fptcustom``: A1 ``TemplateType=fptcustom``; labels row 2, field names row 3, data row 4;
* ``price-inventory`` / ``inventory-loader``: A1 ``TemplateType=PriceInventory`` or
  ``InventoryLoader`` (JP: localized labels row 2), field names in row 3 (or 2), data below;
* ``offer-loader``: A1 ``TemplateType=Offer`` (the old Listing Loader), names row 2, data row 3;
* ``price-inventory-flat`` / ``inventory-loader-flat``: the retired flat files, field names in
  row 1, data from row 2 (recognised by their field names, :func:`flat_family`).

The row numbers written in the settings blob (``attributeRow``, ``labelRow``, ``dataRow``) win
over these defaults; key order in the blob is never relied on. Rows between the field-name row
and ``dataRow`` (Amazon's worked example) are never data.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl

from feeds_kit.headers import header_text, normalize_header

__all__ = [
    "TemplateLayout",
    "detect_template",
    "flat_family",
    "parse_settings",
    "settings_value_aliases",
]

_SETTINGS_CELL = re.compile(r"settings(\d*)=", re.IGNORECASE)

#: Settings keys worth keeping in ``SheetLayout.notes["template"]`` (no account identifiers).
_KEPT_SETTINGS: Final = (
    "TemplateType",
    "Version",
    "flavor",
    "feedType",
    "contentLanguageTag",
    "headerLanguageTag",
    "primaryMarketplaceId",
    "listingsItemRequirement",
    "productTypeRequirement",
)


@dataclass
class TemplateLayout:
    """An Amazon layout recognised from row 1.

    ``header_rows`` are the candidate field-name rows, best first (one when the template says
    where it is); ``data_row`` is ``None`` when the data follow the header row directly.
    ``settings`` is the parsed settings blob (empty when there is none).
    """

    family: str
    header_rows: tuple[int, ...]
    data_row: int | None = None
    label_row: int | None = None
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def primary_marketplace(self) -> str | None:
        """The marketplace id the template was made for (``amzn1.mp.o.<id>`` in settings)."""
        value = self.settings.get("primaryMarketplaceId", "")
        if value.startswith("amzn1.mp.o."):
            value = value[len("amzn1.mp.o."):]
        return value or None

    def notes(self) -> dict[str, Any]:
        """Facts for ``SheetLayout.notes["template"]``."""
        kept: dict[str, Any] = {
            k: self.settings[k] for k in _KEPT_SETTINGS if self.settings.get(k)
        }
        if self.label_row:
            kept["labelRow"] = self.label_row
        return kept


def parse_settings(cells: Sequence[Any]) -> dict[str, str] | None:
    """The settings blob of row 1 as a dict, or ``None`` when row 1 has none.

    Amazon splits the blob over cells ``settings=``, ``settings2=``, ``settings3=``, … because a
    cell holds at most 32,767 characters; the parts are joined in their numbered order (column
    order as a fallback) and parsed as one URL query string.
    """
    parts: list[tuple[int, int, str]] = []
    for position, cell in enumerate(cells):
        if not isinstance(cell, str):
            continue
        match = _SETTINGS_CELL.match(cell.lstrip())
        if match:
            number = int(match.group(1) or 1)
            parts.append((number, position, cell.lstrip()[match.end():]))
    if not parts:
        return None
    blob = "".join(text for _, _, text in sorted(parts))
    settings: dict[str, str] = {}
    for key, value in parse_qsl(blob, keep_blank_values=True):
        settings.setdefault(key, value)
    return settings


def _row_number(settings: dict[str, str], key: str) -> int | None:
    value = settings.get(key, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _template_type(cells: Sequence[Any]) -> tuple[str | None, dict[str, str]]:
    """``TemplateType=`` and sibling ``Key=value`` cells of row 1 (``Version=``, …)."""
    found: dict[str, str] = {}
    for cell in cells:
        if isinstance(cell, str) and "=" in cell and not cell.lstrip().lower().startswith(
            "settings"
        ):
            key, _, value = cell.strip().partition("=")
            if key and " " not in key:
                found.setdefault(key, value.strip())
    template = found.get("TemplateType")
    if template is None:
        for key, value in found.items():
            if key.lower() == "templatetype":
                template = value
    return template, found


def detect_template(first_row: Sequence[Any]) -> TemplateLayout | None:
    """The Amazon template family announced by row 1, or ``None`` (a plain header row).

    Amazon's detection rule (``amazon-templates.md`` §0): a ``settings`` blob gives the row
    numbers; otherwise ``TemplateType=`` in A1 names the family and its usual geometry.
    """
    blob = parse_settings(first_row)
    settings = dict(blob or {})
    template, pairs = _template_type(first_row)
    template = (settings.get("TemplateType") or template or "").strip()
    kind = template.lower()
    if blob is None and not template:
        return None
    for key in ("Version", "TemplateSignature"):
        if key in pairs and key not in settings:
            settings[key] = pairs[key]
    if template and "TemplateType" not in settings:
        settings["TemplateType"] = template

    attribute_row = _row_number(settings, "attributeRow")
    label_row = _row_number(settings, "labelRow")
    data_row = _row_number(settings, "dataRow")

    if kind == "fptcustom":
        family, default = "fptcustom", (3, 2, 4)
    elif kind == "unified":
        family, default = "unified", (5, 4, 7)
    elif kind == "priceinventory":
        # JP files carry a localized label row 2 and the names in row 3; others none.
        return TemplateLayout("price-inventory", (3, 2), label_row=None, settings=settings)
    elif kind == "inventoryloader":
        return TemplateLayout("inventory-loader", (3, 2), label_row=None, settings=settings)
    elif kind in ("offer", "listingloader"):
        return TemplateLayout("offer-loader", (2, 3), settings=settings)
    elif blob is not None:
        # A settings blob without a known TemplateType: trust its row numbers if it has them.
        family, default = "unified", (5, 4, 7)
    else:
        # An unknown TemplateType: names in row 2 or 3, data right below.
        return TemplateLayout(f"template-{kind or 'unknown'}", (2, 3), settings=settings)

    header = attribute_row or default[0]
    label = label_row or default[1]
    data = data_row or (default[2] if attribute_row is None else header + 1)
    if data <= header:
        data = header + 1
    return TemplateLayout(family, (header,), data_row=data, label_row=label, settings=settings)


_PQ_NAMES: Final = frozenset(
    {"minimum seller allowed price", "maximum seller allowed price", "fulfillment channel",
     "handling time", "leadtime to ship", "business price", "quantity price type"}
)
_IL_NAMES: Final = frozenset(
    {"product id", "product id type", "item condition", "add delete", "item note",
     "will ship internationally", "expedited shipping", "fulfillment center id"}
)


def flat_family(headers: Sequence[Any]) -> str:
    """Name the family of a sheet whose field names are in its header row.

    Amazon's retired flat files are recognised by their own field names (``add-delete``,
    ``product-id``: Inventory Loader; ``minimum-seller-allowed-price``, ``fulfillment-channel``:
    Price & Quantity); anything else is ``native``.
    """
    keys = {normalize_header(h) for h in headers if header_text(h)}
    if "sku" not in keys:
        return "native"
    if len(keys & _IL_NAMES) >= 2:
        return "inventory-loader-flat"
    raw = {header_text(h) for h in headers}
    # The P&Q file writes its names hyphenated and lower-case, exactly so.
    hyphenated = {r for r in raw if r == r.lower() and "-" in r}
    if len(keys & _PQ_NAMES) >= 2 and hyphenated:
        return "price-inventory-flat"
    return "native"


def settings_value_aliases(settings: dict[str, str]) -> dict[str, dict[str, str]]:
    """Attribute path -> {display label: value} from the unified ``attributeSettings``.

    Unified templates fill cells with display labels ("Fulfilment by Merchant (Default)") that
    the blob translates to the values Amazon expects ("DEFAULT"). A blob that does not decode
    yields no aliases: the labels are then read as typed.
    """
    raw = settings.get("attributeSettings")
    if not raw:
        return {}
    try:
        padded = raw + "=" * (-len(raw) % 4)
        decoded = json.loads(base64.b64decode(padded.replace(" ", "+"), validate=False))
    except (binascii.Error, ValueError):
        return {}
    aliases: dict[str, dict[str, str]] = {}
    if isinstance(decoded, list):
        for entry in decoded:
            if not isinstance(entry, dict):
                continue
            name, table = entry.get("attribute"), entry.get("aliases")
            if isinstance(name, str) and isinstance(table, dict):
                aliases[name] = {str(k): str(v) for k, v in table.items()}
    return aliases
