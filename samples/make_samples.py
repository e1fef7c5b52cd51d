"""Regenerate the sample sheets in this folder (deterministic; run from anywhere).

    python samples/make_samples.py

- offers.xlsx                 a clean daily price & quantity sheet for amazon.com; on the local
                              simulator most rows are accepted, two unknown SKUs are rejected by
                              Amazon and one large price jump draws a warning.
- offers-with-mistakes.xlsx   the same job typed the way real sheets arrive: varied headers, a SKU
                              typed as a number, text prices with a decimal comma, negative and
                              fractional quantities, a duplicate SKU, blank rows, a formula, an
                              unknown column, sale and min/max mistakes.
- prices-uk.csv               a price-only CSV for amazon.co.uk (UTF-8).
- inventory-de.csv            a quantity-only CSV for amazon.de as Excel saves it on a German
                              Windows machine: windows-1252, semicolons, umlauts.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 11, 27, 9, 0, 0)


def _save(wb: Workbook, name: str) -> None:
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "feeds-kit samples"
    wb.save(HERE / name)


def offers() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Offers"
    ws.append(
        [
            "SKU",
            "Marketplace",
            "Price",
            "Currency",
            "Quantity",
            "Handling Time",
            "Sale Price",
            "Sale Start Date",
            "Sale End Date",
        ]
    )
    rows = [
        ("FK-TEE-RED-S", "US", 19.49, "USD", 30, 2, None, None, None),
        ("FK-TEE-RED-M", "US", 19.49, "USD", 45, 2, None, None, None),
        ("FK-TEE-RED-L", "US", 19.49, "USD", 10, 2, None, None, None),
        ("FK-TEE-BLUE-S", "US", None, None, 20, None, None, None, None),
        ("FK-TEE-BLUE-M", "US", None, None, 14, None, None, None, None),
        (
            "FK-TEE-BLACK-M",
            "US",
            21.99,
            "USD",
            None,
            None,
            17.99,
            dt.date(2026, 12, 1),
            dt.date(2026, 12, 24),
        ),
        ("FK-HOODIE-GREY-S", "US", 42.0, "USD", 12, 3, None, None, None),
        ("FK-HOODIE-GREY-M", "US", 42.0, "USD", 18, 3, None, None, None),
        ("FK-HOODIE-NAVY-L", "US", 44.5, "USD", 0, 3, None, None, None),
        ("FK-MUG-WHITE", "US", 12.99, "USD", 140, 1, None, None, None),
        ("FK-MUG-BLACK", "US", 12.99, "USD", 90, 1, None, None, None),
        ("FK-CAP-RED", "US", 16.5, "USD", 25, 2, None, None, None),
        ("FK-SOCKS-3PK", "US", 11.49, "USD", 220, 1, None, None, None),
        (
            "FK-SOCKS-6PK",
            "US",
            19.99,
            "USD",
            160,
            1,
            16.99,
            dt.date(2026, 11, 28),
            dt.date(2026, 12, 2),
        ),
        ("FK-BOTTLE-500", "US", 24.99, "USD", None, None, None, None, None),
        ("FK-TOTE-NATURAL", "US", 13.5, "USD", 80, 2, None, None, None),
        ("FK-LAPTOP-SLEEVE-13", "US", 29.99, "USD", 22, 3, None, None, None),
        ("FK-NOTEBOOK-A5", "US", 9.25, "USD", 310, 1, None, None, None),
        ("FK-PEN-SET", "US", 15.99, "USD", 175, 1, None, None, None),  # more than double: warning
        ("FK-STICKER-PACK", "US", 4.99, "USD", 480, 1, None, None, None),
        ("FK-KEYRING", "US", None, None, 35, 1, None, None, None),
        ("FK-APRON-BLACK", "US", 21.0, "USD", 16, 2, None, None, None),
        ("FK-PHONE-CASE-IP16", "US", 19.99, "USD", 50, 1, None, None, None),  # unknown to Amazon
        ("FK-GRILL-GLOVE", "US", 16.5, "USD", 30, 2, None, None, None),
        ("FK-LUNCHBOX", "US", 18.0, "USD", 6, 4, None, None, None),
        ("FK-MUG-GREEN", "US", 12.99, "USD", 40, 1, None, None, None),  # unknown to Amazon
    ]
    for row in rows:
        ws.append(list(row))
    for cells in ws.iter_rows(min_row=2, min_col=8, max_col=9):
        for cell in cells:
            cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    _save(wb, "offers.xlsx")


def offers_with_mistakes() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(
        [
            "Seller SKU",
            "price",
            "Qty",
            "handling-time",
            "Currency",
            "Marketplace",
            "Notes",
            "sale price",
            "sale-from-date",
            "sale-through-date",
            "min price",
        ]
    )
    ws.append(["FK-TEE-RED-S", 19.99, 25, 2, "USD", "US", "ok", None, None, None, None])
    ws.append([12345, 9.99, 10, 2, "USD", "US", "SKU typed as a number", None, None, None, None])
    ws.append(
        ["FK-TEE-RED-M", "12,99", 40, 2, "USD", "US", "decimal comma", None, None, None, None]
    )
    ws.append(
        ["FK-TEE-RED-L", 19.99, -3, 2, "USD", "US", "negative quantity", None, None, None, None]
    )
    ws.append(["FK-TEE-BLUE-S", 19.99, 2.5, 2, "USD", "US", "half a unit", None, None, None, None])
    ws.append([None] * 11)
    ws.append(
        ["FK-MUG-WHITE", 12.5, 100, 1, "USD", "US", "first of a duplicate", None, None, None, None]
    )
    ws.append(
        [
            "FK-MUG-BLACK",
            "=B8*2",
            95,
            1,
            "USD",
            "US",
            "formula never calculated",
            None,
            None,
            None,
            None,
        ]
    )
    ws.append(["FK-MUG-WHITE", 12.75, 90, 1, "USD", "US", "duplicate SKU", None, None, None, None])
    ws.append([None] * 11)
    ws.append(
        ["FK-CAP-RED", 17.0, 30, 45, "USD", "US", "handling time too long", None, None, None, None]
    )
    ws.append(["FK-CAP-BLUE", 17.0, 5, 2, "EUR", "US", "wrong currency", None, None, None, None])
    ws.append(
        [
            "FK-SOCKS-3PK",
            11.99,
            200,
            1,
            "USD",
            "US",
            "sale above price",
            13.99,
            dt.date(2026, 12, 1),
            dt.date(2026, 12, 24),
            None,
        ]
    )
    ws.append(
        ["FK-SOCKS-6PK", 19.99, 150, 1, "USD", "US", "sale without dates", 15.99, None, None, None]
    )
    ws.append(
        ["FK-TOTE-NATURAL", 14.0, 75, 2, "USD", "US", "minimum above price", None, None, None, 15.0]
    )
    ws.append(
        [
            "FK-PEN-SET ",
            7.255,
            180,
            1,
            "USD",
            "US",
            "trailing space, three decimals",
            None,
            None,
            None,
            None,
        ]
    )
    ws.append(
        [
            "FK-KEYRING",
            6.0,
            12,
            1,
            "USD",
            "US",
            "date typed as text",
            5.0,
            "12/01/2026",
            "12/24/2026",
            None,
        ]
    )
    ws.append(["FK-APRON-BLACK", 22.0, 16, 2, "USD", "US", "ok", None, None, None, None])
    for cells in ws.iter_rows(min_row=2, min_col=9, max_col=10):
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    _save(wb, "offers-with-mistakes.xlsx")


def prices_uk() -> None:
    with open(HERE / "prices-uk.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "sku",
                "marketplace",
                "price",
                "currency",
                "minimum-seller-allowed-price",
                "maximum-seller-allowed-price",
            ]
        )
        writer.writerow(["FK-TEE-RED-S", "UK", "16.49", "GBP", "12.00", "24.00"])
        writer.writerow(["FK-TEE-RED-M", "UK", "16.49", "GBP", "12.00", "24.00"])
        writer.writerow(["FK-HOODIE-GREY-M", "UK", "38.00", "GBP", "30.00", "55.00"])
        writer.writerow(["FK-MUG-WHITE", "UK", "10.49", "GBP", "", ""])
        writer.writerow(["FK-POSTER-A2", "UK", "17.99", "GBP", "", ""])
        writer.writerow(["FK-TEA-TOWEL", "UK", "8.75", "GBP", "", ""])
        writer.writerow(["FK-SCARF-BLUE", "UK", "24.99", "GBP", "20.00", "35.00"])


def inventory_de() -> None:
    with open(HERE / "inventory-de.csv", "w", encoding="cp1252", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["sku", "quantity", "handling-time", "Bezeichnung"])
        writer.writerow(["FK-TEE-RED-S", "18", "2", "T-Shirt Rot, Größe S"])
        writer.writerow(["FK-TEE-RED-M", "27", "2", "T-Shirt Rot, Größe M"])
        writer.writerow(["FK-MUG-WHITE", "64", "1", "Becher Weiß"])
        writer.writerow(["FK-SCARF-BLUE", "9", "3", "Schal Blau, für kühle Tage"])
        writer.writerow(["FK-LUNCHBOX", "0", "4", "Brotdose (ausverkauft)"])


if __name__ == "__main__":
    offers()
    offers_with_mistakes()
    prices_uk()
    inventory_de()
    print(f"samples written to {HERE}")
