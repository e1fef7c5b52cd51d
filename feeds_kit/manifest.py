"""The manifest: which spreadsheet row and cells each feed message came from.

Written beside the feed document(s) by ``build`` and stored in the journal by ``submit``; read
back to map Amazon's processing report (``messageId``, ``attributeName``) onto rows and cells.
The JSON form is versioned (``"manifest": 1``) and uses Amazon's wire names for attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1


@dataclass(slots=True)
class CellRef:
    """A cell a message attribute came from: column letter and header as written."""

    column: str
    header: str

    def to_json(self) -> list[str]:
        return [self.column, self.header]


@dataclass(slots=True)
class MessageEntry:
    """One message of one document: its row, SKU, marketplace and attribute -> cell map.

    ``attributes`` keys are Amazon attribute paths as they appear in ``attributeName``
    (``purchasable_offer.our_price``, ``fulfillment_availability.quantity``, ``item_name``).
    """

    message_id: int
    row: int
    sku: str
    marketplace_id: str | None = None
    operation: str | None = None
    attributes: dict[str, CellRef] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"row": self.row, "sku": self.sku}
        if self.marketplace_id:
            data["marketplaceId"] = self.marketplace_id
        if self.operation:
            data["operationType"] = self.operation
        data["attributes"] = {k: v.to_json() for k, v in self.attributes.items()}
        return data

    @classmethod
    def from_json(cls, message_id: int, data: dict[str, Any]) -> MessageEntry:
        return cls(
            message_id=message_id,
            row=int(data["row"]),
            sku=str(data["sku"]),
            marketplace_id=data.get("marketplaceId"),
            operation=data.get("operationType"),
            attributes={k: CellRef(v[0], v[1]) for k, v in data.get("attributes", {}).items()},
        )


@dataclass(slots=True)
class DocumentEntry:
    """One feed document (a chunk): its file name, marketplaces, messages by ``messageId``."""

    name: str
    marketplace_ids: list[str]
    messages: dict[int, MessageEntry] = field(default_factory=dict)
    sha256: str | None = None
    size: int | None = None

    def _head(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "marketplaceIds": self.marketplace_ids,
            "sha256": self.sha256,
            "size": self.size,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self._head(),
            "messages": {str(k): v.to_json() for k, v in sorted(self.messages.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentEntry:
        return cls(
            name=data["name"],
            marketplace_ids=list(data.get("marketplaceIds", [])),
            sha256=data.get("sha256"),
            size=data.get("size"),
            messages={
                int(k): MessageEntry.from_json(int(k), v)
                for k, v in data.get("messages", {}).items()
            },
        )


@dataclass(slots=True)
class Manifest:
    """Everything needed to put Amazon's verdict back on the user's rows."""

    file: str
    sheet: str | None
    kind: str | None
    seller_id: str | None = None
    header_row: int | None = None
    documents: list[DocumentEntry] = field(default_factory=list)

    def entry(self, document_index: int, message_id: int) -> MessageEntry | None:
        """The message ``message_id`` of document ``document_index`` (0-based), if any."""
        if 0 <= document_index < len(self.documents):
            return self.documents[document_index].messages.get(message_id)
        return None

    def _head(self) -> dict[str, Any]:
        return {
            "manifest": MANIFEST_VERSION,
            "file": self.file,
            "sheet": self.sheet,
            "kind": self.kind,
            "sellerId": self.seller_id,
            "headerRow": self.header_row,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self._head(), "documents": [d.to_json() for d in self.documents]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        version = data.get("manifest")
        if version != MANIFEST_VERSION:
            raise ValueError(f"unsupported manifest version {version!r}")
        return cls(
            file=data["file"],
            sheet=data.get("sheet"),
            kind=data.get("kind"),
            seller_id=data.get("sellerId"),
            header_row=data.get("headerRow"),
            documents=[DocumentEntry.from_json(d) for d in data.get("documents", [])],
        )

    def dumps(self) -> str:
        """The manifest as compact JSON (the same document :meth:`to_json` describes)."""
        return "".join(self.iter_json())

    def iter_json(self) -> Iterator[str]:
        """:meth:`dumps` in pieces, one message at a time, to stream into a file.

        A million messages share a handful of attribute maps: each distinct map is encoded
        once, so no tree of a million small dicts and lists is built on the way (it cost
        gigabytes at a million rows).
        """

        def dumps(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

        encoded: dict[int, tuple[dict[str, CellRef], str]] = {}
        yield dumps(self._head())[:-1] + ',"documents":['
        for d_index, document in enumerate(self.documents):
            doc_head = document._head()
            yield ("," if d_index else "") + dumps(doc_head)[:-1] + ',"messages":{'
            for m_index, (number, entry) in enumerate(sorted(document.messages.items())):
                cached = encoded.get(id(entry.attributes))
                if cached is None or cached[0] is not entry.attributes:
                    text = dumps({k: v.to_json() for k, v in entry.attributes.items()})
                    # The map is kept alongside its text so its id cannot be reused meanwhile.
                    cached = encoded[id(entry.attributes)] = (entry.attributes, text)
                fields = [f'"row":{entry.row}', f'"sku":{dumps(entry.sku)}']
                if entry.marketplace_id:
                    fields.append(f'"marketplaceId":{dumps(entry.marketplace_id)}')
                if entry.operation:
                    fields.append(f'"operationType":{dumps(entry.operation)}')
                fields.append(f'"attributes":{cached[1]}')
                yield ("," if m_index else "") + f'"{number}":{{' + ",".join(fields) + "}"
            yield "}}"
        yield "]}"

    def write(self, path: str | Path) -> None:
        """Write the manifest to ``path`` atomically, streamed (see :meth:`iter_json`)."""
        from feeds_kit.files import save_atomic

        def save(temp: str) -> None:
            with open(temp, "w", encoding="utf-8") as fh:
                fh.writelines(self.iter_json())

        save_atomic(Path(path), save)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))
