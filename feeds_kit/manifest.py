"""The manifest: which spreadsheet row and cells each feed message came from.

Written beside the feed document(s) by ``build`` and stored in the journal by ``submit``; read
back to map Amazon's processing report (``messageId``, ``attributeName``) onto rows and cells.
The JSON form is versioned (``"manifest": 2``) and uses Amazon's wire names for attributes.

Version 2 writes each distinct attribute -> cell map once, in ``attributeMaps``, and a message's
``attributes`` is its index there: the rows of a sheet share a handful of maps, and writing one
per message made the manifest of a million rows half a gigabyte. Version 1 manifests (a map in
every message) still load.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 2
#: Versions :meth:`Manifest.from_json` reads.
READABLE_VERSIONS = (1, 2)


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
    def from_json(cls, message_id: int, data: dict[str, Any],
                  maps: list[dict[str, CellRef]] | None = None) -> MessageEntry:
        """Read a message; ``maps`` are the manifest's shared attribute maps (version 2),
        which a message's ``attributes`` index; version 1 holds the map itself."""
        attributes = data.get("attributes", {})
        if isinstance(attributes, int) and not isinstance(attributes, bool):
            if maps is None or not 0 <= attributes < len(maps):
                raise ValueError(f"message {message_id} names attribute map {attributes}, "
                                 "which the manifest does not have")
            shared = maps[attributes]
        else:
            shared = _cell_map(attributes)
        return cls(
            message_id=message_id,
            row=int(data["row"]),
            sku=str(data["sku"]),
            marketplace_id=data.get("marketplaceId"),
            operation=data.get("operationType"),
            attributes=shared,
        )


def _cell_map(data: dict[str, Any]) -> dict[str, CellRef]:
    return {k: CellRef(v[0], v[1]) for k, v in data.items()}


class MessageTable(Mapping[int, MessageEntry]):
    """The messages of one document held by column: ``messageId`` 1 to n → a
    :class:`MessageEntry` made when asked.

    A document of 25,000 messages as entry objects costs ~200 bytes a message (the object, its
    row number, its SKU); here it is two array slots and the SKU, so ``build`` of a million
    rows does not hold a million objects until the manifest is written. Marketplace ids,
    operations and attribute maps are indexes into tables shared by every document.
    """

    __slots__ = ("_maps", "_markets", "_operations", "_rows", "_skus", "_tables")

    def __init__(
        self,
        rows: Sequence[int],
        skus: Sequence[str],
        markets: Sequence[int],
        operations: Sequence[int],
        maps: Sequence[int],
        tables: tuple[Sequence[str | None], Sequence[str | None], Sequence[dict[str, CellRef]]],
    ) -> None:
        if not len(rows) == len(skus) == len(markets) == len(operations) == len(maps):
            raise ValueError("a message table's columns must have one value per message")
        self._rows = array("q", rows)
        self._skus = list(skus)
        self._markets = array("H", markets)
        self._operations = array("B", operations)
        self._maps = array("I", maps)
        #: (marketplace ids, operations, attribute maps) the indexes point into.
        self._tables = tables

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[int]:
        return iter(range(1, len(self._rows) + 1))

    def __contains__(self, message_id: object) -> bool:
        return (type(message_id) is int and 1 <= message_id <= len(self._rows))

    def __getitem__(self, message_id: int) -> MessageEntry:
        if not self.__contains__(message_id):
            raise KeyError(message_id)
        i = message_id - 1
        markets, operations, maps = self._tables
        return MessageEntry(
            message_id=message_id,
            row=self._rows[i],
            sku=self._skus[i],
            marketplace_id=markets[self._markets[i]],
            operation=operations[self._operations[i]],
            attributes=maps[self._maps[i]],
        )


@dataclass(slots=True)
class DocumentEntry:
    """One feed document (a chunk): its file name, marketplaces, messages by ``messageId``."""

    name: str
    marketplace_ids: list[str]
    #: ``messageId`` → entry: a dict, or a :class:`MessageTable` as ``build`` makes it.
    messages: Mapping[int, MessageEntry] = field(default_factory=dict)
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
        """The document with every message's attribute map inline (version 1's shape; a
        :class:`Manifest` writes the maps once, see :meth:`Manifest.to_json`)."""
        return {
            **self._head(),
            "messages": {str(k): v.to_json() for k, v in sorted(self.messages.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any],
                  maps: list[dict[str, CellRef]] | None = None) -> DocumentEntry:
        return cls(
            name=data["name"],
            marketplace_ids=list(data.get("marketplaceIds", [])),
            sha256=data.get("sha256"),
            size=data.get("size"),
            messages={
                int(k): MessageEntry.from_json(int(k), v, maps)
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
        """The JSON document :meth:`dumps` writes, as Python objects."""
        return json.loads(self.dumps())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        version = data.get("manifest")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported manifest version {version!r}")
        # Messages that shared a map when written share it again: one dict per map, not one
        # per message (a million messages make a handful of maps).
        maps = [_cell_map(m) for m in data.get("attributeMaps", [])]
        return cls(
            file=data["file"],
            sheet=data.get("sheet"),
            kind=data.get("kind"),
            seller_id=data.get("sellerId"),
            header_row=data.get("headerRow"),
            documents=[DocumentEntry.from_json(d, maps) for d in data.get("documents", [])],
        )

    def dumps(self) -> str:
        """The manifest as compact JSON (the same document :meth:`to_json` describes)."""
        return "".join(self.iter_json())

    def iter_json(self) -> Iterator[str]:
        """:meth:`dumps` in pieces, one message at a time, to stream into a file.

        A million messages share a handful of attribute maps: each distinct map is written
        once, in ``attributeMaps`` after the documents, and messages name it by its index; no
        tree of a million small dicts and lists is built on the way (it cost gigabytes).
        """

        def dumps(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

        # Maps by identity (the builder shares them), then by content: equal maps built
        # apart still get one index.
        by_id: dict[int, tuple[dict[str, CellRef], int]] = {}
        by_text: dict[str, int] = {}
        yield dumps(self._head())[:-1] + ',"documents":['
        for d_index, document in enumerate(self.documents):
            doc_head = document._head()
            yield ("," if d_index else "") + dumps(doc_head)[:-1] + ',"messages":{'
            for m_index, (number, entry) in enumerate(sorted(document.messages.items())):
                known = by_id.get(id(entry.attributes))
                if known is None or known[0] is not entry.attributes:
                    text = dumps({k: v.to_json() for k, v in entry.attributes.items()})
                    index = by_text.setdefault(text, len(by_text))
                    # The map is kept alongside its index so its id cannot be reused meanwhile.
                    known = by_id[id(entry.attributes)] = (entry.attributes, index)
                fields = [f'"row":{entry.row}', f'"sku":{dumps(entry.sku)}']
                if entry.marketplace_id:
                    fields.append(f'"marketplaceId":{dumps(entry.marketplace_id)}')
                if entry.operation:
                    fields.append(f'"operationType":{dumps(entry.operation)}')
                fields.append(f'"attributes":{known[1]}')
                yield ("," if m_index else "") + f'"{number}":{{' + ",".join(fields) + "}"
            yield "}}"
        yield '],"attributeMaps":[' + ",".join(by_text) + "]}"

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
