"""Product Type Definitions 2020-09-01: search and getDefinitionsProductType.

Definitions come from ``schemas/product-types/<PRODUCT_TYPE>.json`` (a product type schema in
Amazon's shape) and ``meta-schema.json``, or from a folder given to the simulator. The response
is a ``ProductTypeDefinition`` whose ``schema``/``metaSchema`` links point back at the
simulator's presigned storage, with base64-MD5 checksums, as Amazon's point at S3.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feeds_kit.marketplaces import BY_ID
from feeds_kit.simulator.storage import DocumentStore, content_md5
from feeds_kit.simulator.wire import Reply, Request, api_error, json_reply

#: Definition links stay valid seven days (facts §4.1).
LINK_LIFETIME = 7 * 24 * 3600.0
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
ENFORCEMENTS = ("ENFORCED", "NOT_ENFORCED")
META_SCHEMA_FILE = "meta-schema.json"
INDEX_FILE = "index.json"
_NAME = re.compile(r"^[A-Z0-9_]+$")


def default_folder() -> Path | None:
    """The packaged ``schemas/product-types`` folder, ``None`` when there is none."""
    try:
        from feeds_kit.resources import schema_path

        folder = schema_path("product-types")
    except FileNotFoundError:
        return None
    return folder if folder.is_dir() else None


def read_index(folder: Path | None) -> dict[str, dict[str, Any]]:
    """``index.json`` of ``folder``: product type -> the rest of its definition."""
    path = folder / INDEX_FILE if folder is not None else None
    if path is None or not path.is_file():
        return {}
    entries = json.loads(path.read_text("utf-8")).get("productTypes", [])
    return {e["productType"]: e for e in entries if isinstance(e, dict) and "productType" in e}


def load_schema_file(folder: Path | None, name: str) -> dict[str, Any] | None:
    """The product type schema ``name`` of ``folder`` (its index ``file`` or ``NAME.json``),
    ``None`` when there is none."""
    if folder is None or not _NAME.match(name):
        return None
    entry = read_index(folder).get(name, {})
    path = folder / str(entry.get("file") or f"{name}.json")
    if not path.is_file():
        return None
    return dict(json.loads(path.read_text("utf-8")))


class DefinitionsApi:
    """The two PTD operations over a folder of product type schemas."""

    def __init__(
        self,
        documents: DocumentStore,
        folder: Callable[[], Path | None],
    ) -> None:
        self._documents = documents
        self._folder = folder
        self._cache: dict[tuple[str, str], tuple[str, str]] = {}

    def _index(self) -> dict[str, dict[str, Any]]:
        """``index.json``: the rest of each definition (display name, version, groups...)."""
        return read_index(self._folder())

    def _names(self) -> list[str]:
        folder = self._folder()
        if folder is None:
            return []
        files = {p.stem for p in folder.glob("*.json") if _NAME.match(p.stem)}
        return sorted(files | set(self._index()))

    def _load(self, name: str) -> dict[str, Any] | None:
        return load_schema_file(self._folder(), name)

    def search(self, request: Request) -> Reply:
        """``GET /definitions/2020-09-01/productTypes``."""
        markets = _markets(request)
        if isinstance(markets, Reply):
            return markets
        keywords = [
            k.strip().lower() for v in request.query.get("keywords", []) for k in v.split(",")
        ]
        keywords = [k for k in keywords if k]
        item_name = (request.param("itemName") or "").lower()
        if keywords and item_name:
            return api_error(
                400, "InvalidInput", "Provide either keywords or itemName, not both.", "keywords"
            )
        words = keywords or item_name.split()
        found = []
        for name in self._names():
            schema = self._load(name) or {}
            display = _display_name(name, schema, self._index().get(name, {}))
            text = " ".join([name, display, str(schema.get("description", ""))]).lower()
            if words and not any(word in text or word.replace(" ", "_") in text for word in words):
                continue
            found.append({"name": name, "displayName": display, "marketplaceIds": markets})
        return json_reply(200, {"productTypes": found, "productTypeVersion": "LOCAL"})

    def get(self, request: Request, product_type: str, base_url: str) -> Reply:
        """``GET /definitions/2020-09-01/productTypes/{productType}``."""
        markets = _markets(request)
        if isinstance(markets, Reply):
            return markets
        if len(markets) != 1:
            return api_error(
                400,
                "InvalidInput",
                "marketplaceIds is limited to one marketplaceId at this time.",
                "marketplaceIds",
            )
        requirements = request.param("requirements") or "LISTING"
        enforced = request.param("requirementsEnforced") or "ENFORCED"
        for name, value, allowed in (
            ("requirements", requirements, REQUIREMENTS),
            ("requirementsEnforced", enforced, ENFORCEMENTS),
        ):
            if value not in allowed:
                return api_error(
                    400,
                    "InvalidInput",
                    f"{name} {value!r} is not one of {', '.join(allowed)}.",
                    name,
                )
        schema = self._load(product_type)
        if schema is None:
            return api_error(404, "NotFound", f"The product type {product_type} was not found.")
        if enforced == "NOT_ENFORCED":
            schema = _not_enforced(schema)
        schema_bytes = json.dumps(schema, ensure_ascii=False, indent=1).encode("utf-8")
        schema_link = self._link(f"{product_type}.{enforced}", schema_bytes, base_url)
        locale = request.param("locale") or "DEFAULT"
        if locale == "DEFAULT":
            locale = BY_ID[markets[0]].language_tag
        entry = self._index().get(product_type, {})
        version = entry.get("productTypeVersion") or {
            "version": content_md5(schema_bytes)[:12],
            "latest": True,
            "releaseCandidate": False,
        }
        body: dict[str, Any] = {
            "schema": schema_link,
            "requirements": requirements,
            "requirementsEnforced": enforced,
            "propertyGroups": entry.get("propertyGroups") or _property_groups(schema),
            "locale": locale,
            "marketplaceIds": markets,
            "productType": product_type,
            "displayName": _display_name(product_type, schema, entry),
            "productTypeVersion": version,
        }
        folder = self._folder()
        meta = folder / META_SCHEMA_FILE if folder else None
        if meta is not None and meta.is_file():
            body["metaSchema"] = self._link("meta-schema", meta.read_bytes(), base_url)
        return json_reply(200, body)

    def _link(self, key: str, content: bytes, base_url: str) -> dict[str, Any]:
        checksum = content_md5(content)
        cached = self._cache.get((key, checksum))
        doc = self._documents.get(cached[0]) if cached else None
        if doc is None:
            doc = self._documents.create(
                "definitions", "application/json", seller_id=None, content=content
            )
            self._cache[(key, checksum)] = (doc.document_id, checksum)
        url = self._documents.presign(doc, "GET", base_url, LINK_LIFETIME)
        return {"link": {"resource": url, "verb": "GET"}, "checksum": checksum}


def _markets(request: Request) -> list[str] | Reply:
    values = [m.strip() for v in request.query.get("marketplaceIds", []) for m in v.split(",")]
    values = [v for v in values if v]
    if not values:
        return api_error(
            400, "InvalidInput", "One or more required parameters missing", "marketplaceIds;"
        )
    unknown = [v for v in values if v not in BY_ID]
    if unknown:
        return api_error(
            400,
            "InvalidInput",
            f"Invalid marketplaceIds value {', '.join(unknown)}.",
            "marketplaceIds",
        )
    return values


def _display_name(name: str, schema: dict[str, Any], entry: dict[str, Any]) -> str:
    shown = entry.get("displayName") or schema.get("title")
    return str(shown) if shown else name.replace("_", " ").title()


def _property_groups(schema: dict[str, Any]) -> dict[str, Any]:
    groups = schema.get("propertyGroups")
    if isinstance(groups, dict):
        return groups
    names = sorted((schema.get("properties") or {}).keys())
    return {
        "all": {
            "title": "All attributes",
            "description": "Every attribute of this product type.",
            "propertyNames": names,
        }
    }


def _not_enforced(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its requirements, as Amazon serves it for NOT_ENFORCED."""
    relaxed = copy.deepcopy(schema)
    relaxed.pop("required", None)
    for branch in relaxed.get("allOf", []) or []:
        for key in ("then", "else"):
            if isinstance(branch, dict) and isinstance(branch.get(key), dict):
                branch[key].pop("required", None)
    return relaxed
