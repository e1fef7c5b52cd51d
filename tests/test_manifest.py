"""The manifest's JSON: streamed piece by piece, identical to the whole-tree encoding."""

from __future__ import annotations

import json
from pathlib import Path

from feeds_kit.manifest import CellRef, DocumentEntry, Manifest, MessageEntry


def sample() -> Manifest:
    shared = {"purchasable_offer.our_price": CellRef("C", "Price"),
              "fulfillment_availability.quantity": CellRef("D", 'Q"ty é')}
    other = {"item_name": CellRef("E", "Title")}
    return Manifest(
        file="offers.xlsx", sheet="Offers", kind="offers", seller_id="A1", header_row=1,
        documents=[
            DocumentEntry("feed-001.json", ["ATVPDKIKX0DER"], {
                2: MessageEntry(2, 3, "SKU-ä", "ATVPDKIKX0DER", "PATCH", shared),
                1: MessageEntry(1, 2, "A", None, None, other),
            }, "abc", 10),
            DocumentEntry("feed-002.json", ["A1PA6795UKMFR9"], {
                1: MessageEntry(1, 4, "B", "A1PA6795UKMFR9", "PATCH", shared),
            }),
            DocumentEntry("feed-003.json", [], {}),
        ],
    )


def test_streamed_json_is_the_whole_tree_encoding() -> None:
    manifest = sample()
    expected = json.dumps(manifest.to_json(), ensure_ascii=False, separators=(",", ":"))
    assert manifest.dumps() == expected
    assert Manifest.from_json(json.loads(manifest.dumps())).to_json() == manifest.to_json()


def test_write_then_load(tmp_path: Path) -> None:
    path = tmp_path / "feed.manifest.json"
    sample().write(path)
    assert Manifest.load(path).to_json() == sample().to_json()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
