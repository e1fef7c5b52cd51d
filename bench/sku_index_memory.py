"""Memory and speed of :class:`feeds_kit.sku_index.SkuIndex` against a plain ``dict[str, int]``.

::

    python bench/sku_index_memory.py                    # 1,000,000 SKUs in batches of 1,024
    python bench/sku_index_memory.py --skus random      # SKUs that share no structure
    python bench/sku_index_memory.py --count 100000 --batch 1000

Every structure is built in a child process of its own, from the same SKUs (the bench sheets'
``TSH-0000123-BLK-XS`` pattern, or random ones), handed over batch by batch as the validator
does; the SKU strings of a batch are dropped once it is inserted, so what is measured is what
the structure keeps. Per structure:

* **bytes/SKU**: memory the structure holds after the build, by ``tracemalloc`` (a second,
  traced build), and the growth of the child's resident set over the untraced build;
* **µs/SKU**: wall time of the inserts alone (SKU generation excluded), best of ``--rounds``;
* **lookup µs**: ``get`` of an existing SKU picked at random (so from a cold batch), and of an
  absent one.

``dict bulk`` is the fastest a dict can take a batch (one ``isdisjoint`` and one ``update``);
``dict by row`` is the loop the validator runs today.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from feeds_kit.sku_index import SkuIndex

_COLOURS = ("BLK", "WHT", "RED", "BLU", "GRN", "GRY", "NVY", "BEI")
_SIZES = ("XS", "S", "M", "L", "XL", "XXL", "OS")
_FAMILIES = ("TSH", "HOOD", "MUG", "CASE", "LAMP", "BAG", "SOCK", "CAP", "BOTL", "PEN")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_"
STRUCTURES = ("SkuIndex", "SkuIndex(compress=False)", "dict bulk", "dict by row")


def structured_sku(index: int) -> str:
    """The SKU of row ``index`` in the bench sheets (bench/generate.py)."""
    family = _FAMILIES[index % len(_FAMILIES)]
    return f"{family}-{index:07d}-{_COLOURS[index % 8]}-{_SIZES[index % 7]}"


def batches(
    kind: str, count: int, size: int, seed: int = 7
) -> Iterator[tuple[list[str], list[int]]]:
    """``(skus, packed)`` batches, the same on every call; packed as the validator packs
    (row number << 2 | valid bit)."""
    rng = random.Random(seed)
    for start in range(0, count, size):
        stop = min(count, start + size)
        if kind == "structured":
            skus = [structured_sku(i) for i in range(start, stop)]
        else:
            # Unique by construction (the row number in base 36 at the end), random otherwise.
            skus = [
                "".join(rng.choices(_ALPHABET, k=rng.randint(6, 18))) + "." + _base36(i)
                for i in range(start, stop)
            ]
        yield skus, [((i + 2) << 2) | 1 for i in range(start, stop)]


def _base36(value: int) -> str:
    digits = ""
    while True:
        value, digit = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if not value:
            return digits


def _inserter(structure: str) -> tuple[Any, Callable[[list[str], list[int]], None]]:
    if structure.startswith("SkuIndex"):
        index = SkuIndex(compress="compress=False" not in structure)

        def add(skus: list[str], packed: list[int]) -> None:
            if index.add_new(skus, packed):
                raise AssertionError("unique SKUs reported as present")

        return index, add
    table: dict[str, int] = {}
    if structure == "dict bulk":

        def add(skus: list[str], packed: list[int]) -> None:
            if not table.keys().isdisjoint(skus):
                raise AssertionError("unique SKUs reported as present")
            table.update(zip(skus, packed, strict=True))

        return table, add

    def add_row(skus: list[str], packed: list[int]) -> None:
        for sku, value in zip(skus, packed, strict=True):
            if sku not in table:
                table[sku] = value

    return table, add_row


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(structure: str, kind: str, count: int, size: int, rounds: int) -> dict[str, Any]:
    """Build ``structure`` ``rounds`` times untimed-generation, then once traced."""
    best = float("inf")
    rss_growth = 0
    built: Any = None
    for _ in range(rounds):
        built = None
        rss_before = _rss()
        built, add = _inserter(structure)
        elapsed = 0.0
        for skus, packed in batches(kind, count, size):
            start = time.perf_counter()
            add(skus, packed)
            elapsed += time.perf_counter() - start
        del skus, packed
        best = min(best, elapsed)
        rss_growth = max(rss_growth, _rss() - rss_before)

    picks = random.Random(3).sample(range(count), 2000)
    wanted = set(picks)
    present = [s for n, s in enumerate(_all_skus(kind, count, size)) if n in wanted]
    absent = [s + "~" for s in present]
    lookup = {}
    for name, keys in (("present", present), ("absent", absent)):
        start = time.perf_counter()
        found = [built.get(key) for key in keys]
        lookup[name] = (time.perf_counter() - start) * 1e6 / len(keys)
        if (name == "present") != all(value is not None for value in found):
            raise AssertionError(f"lookups of {name} SKUs went wrong")
    built = None

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    built, add = _inserter(structure)
    for skus, packed in batches(kind, count, size):
        add(skus, packed)
    del skus, packed
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {
        "structure": structure,
        "bytes_per_sku": held / count,
        "rss_bytes_per_sku": rss_growth / count,
        "us_per_sku": best * 1e6 / count,
        "lookup_present_us": lookup["present"],
        "lookup_absent_us": lookup["absent"],
    }


def _all_skus(kind: str, count: int, size: int) -> Iterator[str]:
    for skus, _packed in batches(kind, count, size):
        yield from skus


def main(argv: list[str] | None = None) -> int:
    """Run every structure in a child process and print a table (or, with --one, one JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--skus", choices=("structured", "random"), default="structured")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", choices=STRUCTURES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        result = measure(args.one, args.skus, args.count, args.batch, args.rounds)
        print(json.dumps(result))
        return 0

    sample = next(batches(args.skus, 1, 1))[0][0]
    print(
        f"{args.count:,} {args.skus} SKUs (like {sample!r}) in batches of {args.batch:,}; "
        f"Python {sys.version.split()[0]}, best of {args.rounds}"
    )
    print(
        f"{'structure':26} {'bytes/SKU':>9} {'RSS B/SKU':>9} {'µs/SKU':>7} "
        f"{'get hit µs':>10} {'get miss µs':>11}"
    )
    for structure in STRUCTURES:
        command = [sys.executable, __file__, "--one", structure, "--count", str(args.count)]
        command += ["--batch", str(args.batch), "--skus", args.skus, "--rounds", str(args.rounds)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        row = json.loads(output)
        print(
            f"{structure:26} {row['bytes_per_sku']:9.1f} {row['rss_bytes_per_sku']:9.1f} "
            f"{row['us_per_sku']:7.3f} {row['lookup_present_us']:10.1f} "
            f"{row['lookup_absent_us']:11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
