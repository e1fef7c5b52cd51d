"""Product Type Definitions served from a folder, with links back to the simulator."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import requests

from feeds_kit.simulator import Simulator, SimulatorConfig
from feeds_kit.simulator.testing import US, ManualClock, SimulatorSession

PTD = "/definitions/2020-09-01/productTypes"
META_ID = "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1"
SCHEMA = {
    "$schema": META_ID,
    "$id": "https://schemas.amazon.com/selling-partners/definitions/product-types/schema/v1/MUG",
    "title": "Mug",
    "description": "Drinking mugs and cups",
    "type": "object",
    "required": ["item_name"],
    "properties": {
        "item_name": {"type": "array", "items": {"type": "object"}},
        "purchasable_offer": {"type": "array", "items": {"type": "object"}},
    },
    "allOf": [{"if": {"required": ["purchasable_offer"]}, "then": {"required": ["item_name"]}}],
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "MUG.json").write_text(json.dumps(SCHEMA), "utf-8")
    (tmp_path / "TOY_FIGURE.json").write_text(json.dumps({"type": "object"}), "utf-8")
    (tmp_path / "meta-schema.json").write_text(json.dumps({"$id": META_ID}), "utf-8")
    return tmp_path


@pytest.fixture
def api(folder: Path):
    with Simulator(SimulatorConfig(seed=2), clock=ManualClock(), product_types=folder) as sim:
        yield SimulatorSession(sim)


def md5_b64(content: bytes) -> str:
    return base64.b64encode(hashlib.md5(content).digest()).decode()


def test_definition_links_back_with_checksums(api: SimulatorSession) -> None:
    response = api.call("GET", f"{PTD}/MUG", params={"marketplaceIds": US})
    assert response.status_code == 200
    assert response.headers["x-amzn-RateLimit-Limit"] == "5.0"
    body = response.json()
    assert body["productType"] == "MUG"
    assert body["displayName"] == "Mug"
    assert body["marketplaceIds"] == [US]
    assert body["locale"] == "en_US"
    assert body["requirements"] == "LISTING"
    assert body["requirementsEnforced"] == "ENFORCED"
    assert body["productTypeVersion"]["latest"] is True
    assert body["propertyGroups"]["all"]["propertyNames"] == ["item_name", "purchasable_offer"]
    for key, expected_id in (("schema", SCHEMA["$id"]), ("metaSchema", META_ID)):
        link = body[key]
        assert link["link"]["verb"] == "GET"
        assert link["link"]["resource"].startswith(api.simulator.endpoint + "/s3/")
        download = requests.get(link["link"]["resource"], timeout=5)
        assert download.status_code == 200
        assert md5_b64(download.content) == link["checksum"]
        assert download.json()["$id"] == expected_id


def test_not_enforced_definition_drops_requirements(api: SimulatorSession) -> None:
    body = api.call(
        "GET", f"{PTD}/MUG", params={"marketplaceIds": US, "requirementsEnforced": "NOT_ENFORCED"}
    ).json()
    schema = requests.get(body["schema"]["link"]["resource"], timeout=5).json()
    assert "required" not in schema
    assert "required" not in schema["allOf"][0]["then"]
    assert body["requirementsEnforced"] == "NOT_ENFORCED"


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        (
            f"{PTD}/NO_SUCH_TYPE",
            {"marketplaceIds": US},
            404,
            "The product type NO_SUCH_TYPE was not found.",
        ),
        (f"{PTD}/MUG", {}, 400, "One or more required parameters missing"),
        (
            f"{PTD}/MUG",
            {"marketplaceIds": f"{US},A1F83G8C2ARO7P"},
            400,
            "marketplaceIds is limited to one marketplaceId at this time.",
        ),
        (
            f"{PTD}/MUG",
            {"marketplaceIds": US, "requirements": "ALL"},
            400,
            "requirements 'ALL' is not one of LISTING, LISTING_PRODUCT_ONLY, LISTING_OFFER_ONLY.",
        ),
    ],
)
def test_definition_errors(
    api: SimulatorSession, path: str, params: dict, status: int, message: str
) -> None:
    response = api.call("GET", path, params=params)
    assert response.status_code == status
    assert response.json()["errors"][0]["message"] == message


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"marketplaceIds": US}, ["MUG", "TOY_FIGURE"]),
        ({"marketplaceIds": US, "keywords": "mug"}, ["MUG"]),
        ({"marketplaceIds": US, "itemName": "drinking cups"}, ["MUG"]),
        ({"marketplaceIds": US, "keywords": "toy figure"}, ["TOY_FIGURE"]),
        ({"marketplaceIds": US, "keywords": "luggage"}, []),
    ],
)
def test_search(api: SimulatorSession, params: dict, names: list[str]) -> None:
    response = api.call("GET", PTD, params=params)
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["productTypes"]] == names


def test_packaged_fixtures_are_served_with_their_index() -> None:
    from feeds_kit.simulator.ptd import INDEX_FILE, default_folder

    packaged = default_folder()
    if packaged is None or not (packaged / INDEX_FILE).is_file():
        pytest.skip("no packaged product type fixtures in this checkout")
    index = json.loads((packaged / INDEX_FILE).read_text("utf-8"))["productTypes"][0]
    with Simulator(SimulatorConfig(seed=2), clock=ManualClock()) as sim:
        api = SimulatorSession(sim)
        market = index["marketplaceIds"][0]
        body = api.call(
            "GET", f"{PTD}/{index['productType']}", params={"marketplaceIds": market}
        ).json()
        assert body["displayName"] == index["displayName"]
        assert body["productTypeVersion"] == index["productTypeVersion"]
        assert body["propertyGroups"] == index["propertyGroups"]
        schema = requests.get(body["schema"]["link"]["resource"], timeout=5)
        assert md5_b64(schema.content) == body["schema"]["checksum"]
        assert schema.json()["$id"].endswith(f"/{index['productType']}")
