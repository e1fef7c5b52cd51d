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
    "LEGACY_FAMILIES",
    "PSEUDO_COLUMNS",
    "TemplateLayout",
    "decode_base64_json",
    "detect_template",
    "flat_family",
    "legacy_attribute_paths",
    "parse_settings",
    "product_type_name",
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
        product_types = self.product_types
        if product_types:
            kept["productTypes"] = product_types
        defaults = self.default_values
        if defaults:
            kept["defaultValues"] = defaults
        aliases = settings_value_aliases(self.settings)
        if aliases:
            # Per attribute path: display label -> JSON value, so attribute columns (which the
            # reader keeps as they are) can be translated the way Amazon does on upload.
            kept["valueAliases"] = aliases
        return kept

    @property
    def product_types(self) -> list[str]:
        """The product types the template covers (``ptds`` or ``TemplateSignature``, base64
        comma lists such as ``R1VJTERfSE9NRQ==`` = ``GUILD_HOME``)."""
        for key in ("ptds", "TemplateSignature"):
            raw = self.settings.get(key, "").strip()
            if not raw:
                continue
            text = _decode_base64(raw)
            if text is None:
                continue
            names = [n.strip().upper() for n in text.split(",")]
            names = [n for n in names if _PRODUCT_TYPE.match(n)]
            if names:
                return names
        return []

    @property
    def default_values(self) -> dict[str, str]:
        """``AttributeDefaultValues``: column (attribute path or ``::record_action``) -> the
        value Amazon assumes when the cell is blank (``full_update``, ``PRODUCT``)."""
        decoded = decode_base64_json(self.settings.get("AttributeDefaultValues", ""))
        if not isinstance(decoded, dict):
            return {}
        return {str(k): str(v) for k, v in decoded.items() if isinstance(v, str | int | float)}


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


_PRODUCT_TYPE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _decode_base64(raw: str) -> str | None:
    """Text of a base64 settings value; ``None`` when it does not decode."""
    text = raw.strip().replace(" ", "+")
    if not text:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=False).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def decode_base64_json(raw: str) -> Any:
    """A base64-encoded JSON settings value (``attributeSettings``, ``AttributeDefaultValues``),
    or ``None`` when it is blank or does not decode."""
    text = _decode_base64(raw) if raw else None
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def settings_value_aliases(settings: dict[str, str]) -> dict[str, dict[str, str]]:
    """Attribute path -> {display label: value} from the unified ``attributeSettings``.

    Unified templates fill cells with display labels ("Fulfilment by Merchant (Default)") that
    the blob translates to the values Amazon expects ("DEFAULT"). A blob that does not decode
    yields no aliases: the labels are then read as typed.
    """
    raw = settings.get("attributeSettings")
    if not raw:
        return {}
    decoded = decode_base64_json(raw)
    aliases: dict[str, dict[str, str]] = {}
    if isinstance(decoded, list):
        for entry in decoded:
            if not isinstance(entry, dict):
                continue
            name, table = entry.get("attribute"), entry.get("aliases")
            if isinstance(name, str) and isinstance(table, dict):
                aliases[name] = {str(k): str(v) for k, v in table.items()}
    return aliases


# --- legacy field names of Amazon's category templates ----------------------------------------

#: Layout families whose bare column names are Amazon's legacy field names (``brand_name``,
#: ``bullet_point1``), translated by :func:`legacy_attribute_paths`.
LEGACY_FAMILIES: Final = frozenset(
    {"fptcustom", "price-inventory", "inventory-loader", "offer-loader",
     "price-inventory-flat", "inventory-loader-flat"}
)

_OFFER = "purchasable_offer#1"
_AVAILABILITY = "fulfillment_availability#1"

#: Legacy ``fptcustom`` row-3 names -> attribute paths (``amazon-templates.md`` §6.3; the
#: offer, inventory and image names after Amazon's mapping guide, the others by their labels).
#: Names not listed are read as attributes of the same name (``item_name``,
#: ``condition_type``, ``country_of_origin``).
LEGACY_NAMES: Final[dict[str, str]] = {
    "brand_name": "brand#1.value",
    "generic_keywords": "generic_keyword#1.value",
    "special_features": "special_feature#1.value",
    "item_type": "item_type_keyword#1.value",
    "standard_price": f"{_OFFER}.our_price#1.schedule#1.value_with_tax",
    "sale_price": f"{_OFFER}.discounted_price#1.schedule#1.value_with_tax",
    "sale_from_date": f"{_OFFER}.discounted_price#1.schedule#1.start_at",
    "sale_end_date": f"{_OFFER}.discounted_price#1.schedule#1.end_at",
    "offering_start_date": f"{_OFFER}.start_at.value",
    "offering_end_date": f"{_OFFER}.end_at.value",
    "quantity": f"{_AVAILABILITY}.quantity",
    "fulfillment_latency": f"{_AVAILABILITY}.lead_time_to_ship_max_days",
    "fulfillment_center_id": f"{_AVAILABILITY}.fulfillment_channel_code",
    "restock_date": f"{_AVAILABILITY}.restock_date",
    "main_image_url": "main_product_image_locator#1.media_location",
    "swatch_image_url": "swatch_product_image_locator#1.media_location",
    "parent_child": "parentage_level#1.value",
    "parent_sku": "child_parent_sku_relationship#1.parent_sku",
    "relationship_type": "child_parent_sku_relationship#1.child_relationship_type",
    "variation_theme": "variation_theme#1.name",
    "color_name": "color#1.value",
    "color_map": "color#1.standardized_values#1",
    "size_name": "size#1.value",
    "material_type": "material#1.value",
    "pattern_name": "pattern#1.value",
    "style_name": "style#1.value",
    "unit_count": "unit_count#1.value",
    "unit_count_type": "unit_count#1.type.value",
    "package_weight": "item_package_weight#1.value",
    "package_weight_unit_of_measure": "item_package_weight#1.unit",
    "package_length": "item_package_dimensions#1.length.value",
    "package_length_unit_of_measure": "item_package_dimensions#1.length.unit",
    "package_width": "item_package_dimensions#1.width.value",
    "package_width_unit_of_measure": "item_package_dimensions#1.width.unit",
    "package_height": "item_package_dimensions#1.height.value",
    "package_height_unit_of_measure": "item_package_dimensions#1.height.unit",
    "merchant_shipping_group_name": "merchant_shipping_group#1.value",
    "offering_can_be_gift_messaged": "gift_options#1.can_be_messaged",
    "offering_can_be_giftwrapped": "gift_options#1.can_be_wrapped",
    "external_product_id": "externally_assigned_product_identifier#1.value",
    "external_product_id_type": "externally_assigned_product_identifier#1.type",
    "are_batteries_included": "batteries_included#1.value",
}

#: Numbered legacy names (``other_image_url3``, ``pt3_image_url``) -> attribute path template.
_NUMBERED_NAMES: Final = (
    (re.compile(r"^other_image_url(\d+)$"), "other_product_image_locator_{n}#1.media_location"),
    (re.compile(r"^pt(\d+)_image_url$"), "other_product_image_locator_{n}#1.media_location"),
)
_TRAILING_NUMBER: Final = re.compile(r"^(?P<base>[a-z][a-z0-9_]*?[a-z])_?(?P<n>[1-9][0-9]*)$")
_UNIT_SUFFIX = "_unit_of_measure"

#: Pseudo-columns of unified templates and the attribute they stand for. The product id pair
#: becomes ``externally_assigned_product_identifier`` (``merchant_suggested_asin`` for an ASIN).
PSEUDO_COLUMNS: Final[dict[str, str]] = {
    "amzn1.volt.ca.product_id_type": "externally_assigned_product_identifier#1.type",
    "amzn1.volt.ca.product_id_value": "externally_assigned_product_identifier#1.value",
}


def _legacy_key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def legacy_attribute_paths(headers: Sequence[str]) -> dict[str, str]:
    """Header -> attribute path (header grammar) for the legacy names among ``headers``.

    Only bare names are translated (a header with ``#`` or ``[`` is a path already):

    * the names of :data:`LEGACY_NAMES` (``brand_name`` -> ``brand#1.value``);
    * numbered families (``bullet_point1`` .. ``bullet_point5`` -> ``bullet_point#1.value`` ..;
      ``generic_keywords2`` -> ``generic_keyword#2.value``) when the sheet has the family's
      first member or at least two members, so a name that merely ends in a digit is kept;
    * a measure and its ``_unit_of_measure`` column (``item_weight`` +
      ``item_weight_unit_of_measure`` -> ``item_weight#1.value`` / ``item_weight#1.unit``).

    Headers without a translation are left out (they read as attributes of the same name).
    """
    keys = {h: _legacy_key(h) for h in headers if h and "#" not in h and "[" not in h
            and not h.strip().startswith("::") and not h.strip().lower().startswith("amzn1.")}
    present = set(keys.values())
    families: dict[str, list[int]] = {}
    for key in present:
        match = _TRAILING_NUMBER.match(key)
        if match and key not in LEGACY_NAMES:
            families.setdefault(match.group("base"), []).append(int(match.group("n")))
    paths: dict[str, str] = {}
    for header, key in keys.items():
        if key in LEGACY_NAMES:
            paths[header] = LEGACY_NAMES[key]
            continue
        numbered = next(((pattern, target) for pattern, target in _NUMBERED_NAMES
                         if pattern.match(key)), None)
        if numbered is not None:
            number = numbered[0].match(key).group(1)  # type: ignore[union-attr]
            paths[header] = numbered[1].format(n=int(number))
            continue
        if key.endswith(_UNIT_SUFFIX):
            base = key[: -len(_UNIT_SUFFIX)]
            if base in present:
                target = LEGACY_NAMES.get(base, f"{base}#1.value")
                paths[header] = target.rsplit(".", 1)[0] + ".unit"
                continue
        if f"{key}{_UNIT_SUFFIX}" in present and key not in LEGACY_NAMES:
            paths[header] = f"{key}#1.value"
            continue
        match = _TRAILING_NUMBER.match(key)
        if match:
            base, number = match.group("base"), int(match.group("n"))
            members = families.get(base, [])
            if 1 in members or len(members) >= 2:
                target = LEGACY_NAMES.get(base, f"{base}#1.value")
                attribute, _, rest = target.partition("#1")
                paths[header] = f"{attribute}#{number}{rest}"
    return paths


def product_type_name(value: str, known: Sequence[str]) -> str:
    """Amazon's product type for a template's product type cell.

    ``fptcustom`` templates write a lower-case token (``guildhome``) where the API wants the
    Product Type Definitions name (``GUILD_HOME``): the token is matched, ignoring case and
    underscores, against ``known`` (the template's own product types). Anything else is
    upper-cased as written.
    """
    text = value.strip()
    squeezed = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    for name in known:
        if re.sub(r"[^A-Za-z0-9]", "", name).upper() == squeezed:
            return name
    return text.upper()
