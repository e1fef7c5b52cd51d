"""The manifest's JSON: streamed piece by piece, attribute maps written once, v1 still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feeds_kit.manifest import CellRef, DocumentEntry, Manifest, MessageEntry, MessageTable


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


def test_each_attribute_map_is_written_once_and_named_by_index() -> None:
    manifest = sample()
    # A map equal to a shared one but built apart still gets the shared one's index.
    manifest.documents[2].messages[1] = MessageEntry(
        1, 5, "C", None, "PATCH", {"item_name": CellRef("E", "Title")})
    data = json.loads(manifest.dumps())
    assert data["manifest"] == 2
    assert data["attributeMaps"] == [
        {"item_name": ["E", "Title"]},
        {"purchasable_offer.our_price": ["C", "Price"],
         "fulfillment_availability.quantity": ["D", 'Q"ty é']},
    ]
    messages = [d["messages"] for d in data["documents"]]
    assert messages[0] == {
        "1": {"row": 2, "sku": "A", "attributes": 0},
        "2": {"row": 3, "sku": "SKU-ä", "marketplaceId": "ATVPDKIKX0DER",
              "operationType": "PATCH", "attributes": 1},
    }
    assert messages[1]["1"]["attributes"] == 1
    assert messages[2]["1"]["attributes"] == 0


def test_loaded_messages_share_their_maps_again() -> None:
    loaded = Manifest.from_json(json.loads(sample().dumps()))
    first, second = loaded.documents[0], loaded.documents[1]
    assert first.messages[2].attributes is second.messages[1].attributes
    assert first.messages[2] == sample().documents[0].messages[2]
    assert loaded.dumps() == sample().dumps()


def test_version_1_manifests_still_load() -> None:
    v1 = {"manifest": 1, "file": "offers.xlsx", "sheet": "Offers", "kind": "offers",
          "sellerId": "A1", "headerRow": 1, "documents": [
              {"name": "feed.json", "marketplaceIds": ["ATVPDKIKX0DER"], "sha256": None,
               "size": None, "messages": {"1": {
                   "row": 2, "sku": "A", "marketplaceId": "ATVPDKIKX0DER",
                   "operationType": "PATCH",
                   "attributes": {"purchasable_offer.our_price": ["C", "Price"]}}}}]}
    entry = Manifest.from_json(v1).entry(0, 1)
    assert entry is not None
    assert entry.attributes == {"purchasable_offer.our_price": CellRef("C", "Price")}


@pytest.mark.parametrize(("change", "message"), [
    ({"manifest": 3}, "unsupported manifest version 3"),
    ({"attributeMaps": []}, "message 1 names attribute map 0, which the manifest does not have"),
])
def test_manifests_that_cannot_be_read(change: dict[str, object], message: str) -> None:
    data = {**json.loads(sample().dumps()), **change}
    with pytest.raises(ValueError, match=message):
        Manifest.from_json(data)


def test_write_then_load(tmp_path: Path) -> None:
    path = tmp_path / "feed.manifest.json"
    sample().write(path)
    assert Manifest.load(path).to_json() == sample().to_json()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_message_table_is_the_mapping_of_its_entries() -> None:
    shared = {"purchasable_offer.our_price": CellRef("C", "Price")}
    tables = (["ATVPDKIKX0DER", None], ["PATCH"], [shared, {}])
    table = MessageTable([2, 5, 9], ["A", "B", "C"], [0, 1, 0], [0, 0, 0], [0, 1, 0], tables)
    assert len(table) == 3 and list(table) == [1, 2, 3]
    assert table[2] == MessageEntry(2, 5, "B", None, "PATCH", {})
    assert table[3].attributes is shared
    assert 4 not in table and 0 not in table and "1" not in table
    with pytest.raises(KeyError):
        table[4]
    as_dict = DocumentEntry("feed.json", ["ATVPDKIKX0DER"], dict(table.items()))
    assert DocumentEntry("feed.json", ["ATVPDKIKX0DER"], table) == as_dict
    manifest = Manifest("offers.csv", None, "offers", documents=[as_dict])
    assert Manifest("offers.csv", None, "offers", documents=[
        DocumentEntry("feed.json", ["ATVPDKIKX0DER"], table)]).dumps() == manifest.dumps()


def test_a_message_table_needs_one_value_per_message_in_each_column() -> None:
    with pytest.raises(ValueError, match="one value per message"):
        MessageTable([2, 3], ["A"], [0, 0], [0, 0], [0, 0], ([None], [None], [{}]))
