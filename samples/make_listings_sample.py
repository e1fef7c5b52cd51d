"""Regenerate the listings sample in this folder (deterministic; run from anywhere).

    python samples/make_listings_sample.py

- listings-shirt-uk.xlsx   full listings of product type SHIRT for amazon.co.uk, one row per SKU:
                           two new shirts created (update), one existing tee renamed and repriced
                           (partial_update), one discontinued tee deleted, and two mistakes:
                           * row 4: the second bullet point is 612 bytes, more than the 500 the
                             SHIRT schema allows, so feeds-kit stops it before sending;
                           * row 6: a partial update of a SKU the seller does not have, which
                             only Amazon can know: the local simulator rejects it.

The attribute columns mix the short form (``item_name``, ``bullet_point#2``: marketplace and
language come from the row) with full attribute paths, as sellers' own sheets do.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 11, 27, 9, 0, 0)
NAME = "listings-shirt-uk.xlsx"

HEADERS = [
    "SKU",
    "Product Type",
    "Operation",
    "Marketplace",
    "item_name",
    "brand",
    "department",
    "color",
    "shirt_size#1.size_system",
    "shirt_size#1.size_class",
    "shirt_size#1.size",
    "shirt_size#1.body_type",
    "shirt_size#1.height_type",
    "externally_assigned_product_identifier#1.type",
    "externally_assigned_product_identifier#1.value",
    "bullet_point#1",
    "bullet_point#2",
    "purchasable_offer#1.our_price#1.schedule#1.value_with_tax",
    "fulfillment_availability#1.quantity",
]

#: 612 bytes: "é" takes two bytes in UTF-8, so 306 of them pass 500 bytes though far below
#: 500 characters.
TOO_LONG = "é" * 306


def _shirt(sku: str, size: str, colour: str, ean: str, price: float, quantity: int,
           bullet_2: str) -> list[object]:
    return [
        sku, "SHIRT", "update", "UK", f"feeds-kit Oxford Shirt, {colour}, {size}", "feeds-kit",
        "Men's", colour, "UK", "Alpha", size, "Regular", "Regular", "EAN", ean,
        "100% cotton Oxford weave", bullet_2, price, quantity,
    ]


def rows() -> list[list[object]]:
    """The data rows, in sheet order (rows 2 to 7)."""
    blank = [None] * (len(HEADERS) - 4)
    partial = ["FK-TEE-RED-S", "SHIRT", "partial_update", "UK", *blank]
    partial[HEADERS.index("item_name")] = "feeds-kit Organic Tee, Cherry Red, S"
    partial[HEADERS.index("purchasable_offer#1.our_price#1.schedule#1.value_with_tax")] = 15.99
    unknown = ["FK-TEE-PURPLE-M", "SHIRT", "partial_update", "UK", *blank]
    unknown[HEADERS.index("item_name")] = "feeds-kit Organic Tee, Purple, M"
    delete = ["FK-TEE-BLUE-L", None, "delete", "UK", *blank]
    return [
        _shirt("FK-OXF-WHT-M", "M", "White", "5012345678900", 34.5, 12, "Button-down collar"),
        _shirt("FK-OXF-WHT-L", "L", "White", "5012345678917", 34.5, 9, "Button-down collar"),
        _shirt("FK-OXF-BLU-M", "M", "Blue", "5012345678924", 34.5, 7, TOO_LONG),
        partial,
        unknown,
        delete,
    ]


def listings_shirt_uk(folder: Path = HERE) -> Path:
    """Write ``listings-shirt-uk.xlsx`` into ``folder`` and return its path."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Listings"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for values in rows():
        ws.append(values)
    ws.freeze_panes = "A2"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "feeds-kit samples"
    path = folder / NAME
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_stable_zip(buffer.getvalue()))
    return path


def _stable_zip(data: bytes) -> bytes:
    """The workbook with every zip entry and its ``modified`` property dated ``FIXED_TIME``:
    openpyxl stamps the time of saving on both, which would change the file at every run."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, content)
            target.writestr(entry, content)
    return out.getvalue()


if __name__ == "__main__":
    print(listings_shirt_uk())
