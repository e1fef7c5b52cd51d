"""SkuIndex: a compact SKU -> packed int map that must behave exactly like a dict.

The index is compared with a plain ``dict[str, int]`` on random operation sequences, with tiny
batches (so sealing, deflating and the split of big calls all happen) and with hash functions
that collide on purpose (so the exact overflow is exercised). Empty SKUs are valid keys here:
the index holds any str, blank-SKU findings are the validator's business.
"""

from __future__ import annotations

import random
import tracemalloc
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds_kit import sku_index
from feeds_kit.sku_index import PACKED_LIMIT, SkuIndex

HASHES: dict[str, Callable[[str], int]] = {
    "builtin": hash,
    # Everything collides: one key in the table, every other SKU in the overflow.
    "constant": lambda sku: 7,
    # Collides by length: several batches hold SKUs sharing a key.
    "length": len,
    # Differs only above bit 60, which the index masks away: collisions after masking.
    "high-bits": lambda sku: (ord(sku[0]) if sku else 0) << 60,
}


@contextmanager
def tuned(
    hash_name: str = "builtin", batch_size: int | None = None, batch_max: int | None = None
) -> Iterator[None]:
    """The module with another hash function and batch sizes, for the duration."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sku_index, "_hash", HASHES[hash_name])
        if batch_size is not None:
            patch.setattr(sku_index, "BATCH_SIZE", batch_size)
            patch.setattr(sku_index, "BATCH_MAX", batch_max or batch_size * 2)
        yield


def structured(i: int) -> str:
    return f"TSH-{i:07d}-{('BLK', 'WHT', 'RED')[i % 3]}-{('XS', 'M', 'XL')[i % 3]}"


def expected_add(model: dict[str, int], skus: list[str], packed: list[int]) -> list[int]:
    """What add_new must do, on a dict: insert the new, return the rest's positions."""
    rejected = []
    seen: set[str] = set()
    for i, (sku, value) in enumerate(zip(skus, packed, strict=True)):
        if sku in model or sku in seen:
            rejected.append(i)
        else:
            model[sku] = value
        seen.add(sku)
    return rejected


def assert_same(index: SkuIndex, model: dict[str, int]) -> None:
    assert len(index) == len(model)
    assert list(index.items()) == list(model.items())
    for sku, value in model.items():
        assert sku in index
        assert index.get(sku) == value


# -- random operation sequences against a dict ----------------------------------------------

# A few characters, so SKUs repeat and collide often; the separators the index tries first;
# anything else of unicode, lone surrogates included (UTF-8 cannot carry them plainly).
_FEW = st.text(alphabet="ab\x00\n\x1f", max_size=3)
_ANY = st.text(st.characters(codec=None, exclude_categories=()), max_size=45)
SKUS = st.one_of(_FEW, _FEW, _ANY)
PACKED = st.one_of(st.integers(0, 1000), st.integers(0, PACKED_LIMIT - 1))
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.tuples(SKUS, PACKED), max_size=14)),
        st.tuples(st.just("set"), SKUS, PACKED),
        st.tuples(st.just("get"), SKUS),
    ),
    max_size=40,
)


def run(operations: list[Any], compress: bool) -> None:
    index = SkuIndex(compress=compress)
    model: dict[str, int] = {}
    for operation in operations:
        if operation[0] == "add":
            skus = [sku for sku, _ in operation[1]]
            packed = [value for _, value in operation[1]]
            assert index.add_new(skus, packed) == expected_add(model, skus, packed)
        elif operation[0] == "set":
            index[operation[1]] = operation[2]
            model[operation[1]] = operation[2]
        else:
            assert index.get(operation[1]) == model.get(operation[1])
            assert (operation[1] in index) == (operation[1] in model)
        assert len(index) == len(model)
    assert_same(index, model)


@pytest.mark.parametrize("hash_name", list(HASHES))
@pytest.mark.parametrize("compress", [True, False])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_behaves_like_a_dict(operations: list[Any], hash_name: str, compress: bool) -> None:
    with tuned(hash_name, batch_size=4, batch_max=6):
        run(operations, compress)


@settings(max_examples=40, deadline=None)
@given(operations=OPERATIONS)
def test_behaves_like_a_dict_with_real_batch_sizes(operations: list[Any]) -> None:
    run(operations, compress=True)


# -- add_new ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "skus", "rejected"),
    [
        pytest.param([], [], [], id="empty call"),
        pytest.param([], ["A", "B", "C"], [], id="all new"),
        pytest.param(["A"], ["B", "A", "C"], [1], id="already present"),
        pytest.param([], ["A", "B", "A", "A", "B"], [2, 3, 4], id="repeated in the call"),
        pytest.param(["X"], ["X", "Y", "X", "Y", "Z"], [0, 2, 3], id="both"),
        pytest.param(["", "a"], ["", "a\x00", "a", "\n", "a\x00"], [0, 2, 4], id="separators"),
    ],
)
@pytest.mark.parametrize("hash_name", ["builtin", "constant"])
def test_add_new_returns_the_positions_not_inserted(
    before: list[str], skus: list[str], rejected: list[int], hash_name: str
) -> None:
    with tuned(hash_name):
        index = SkuIndex()
        assert index.add_new(before, [1] * len(before)) == []
        packed = [100 + i for i in range(len(skus))]
        assert index.add_new(skus, packed) == rejected
        model = dict.fromkeys(before, 1)
        for i, sku in enumerate(skus):
            model.setdefault(sku, packed[i])
        assert_same(index, model)


def test_add_new_takes_a_range_and_any_sequence() -> None:
    index = SkuIndex()
    assert index.add_new(("A", "B", "C"), range(9, 21, 4)) == []
    assert list(index.items()) == [("A", 9), ("B", 13), ("C", 17)]


def test_a_call_bigger_than_a_batch_is_cut_and_still_finds_repeats() -> None:
    skus = [structured(i) for i in range(5000)] + [structured(10), structured(4999)]
    index = SkuIndex()
    assert index.add_new(skus, range(len(skus))) == [5000, 5001]
    assert len(index) == 5000
    assert index.get(structured(4999)) == 4999
    assert [sku for sku, _ in index.items()] == skus[:5000]


@pytest.mark.parametrize(
    ("skus", "packed", "error", "message"),
    [
        (["A", "B"], [1], ValueError, "2 SKUs but 1 packed values"),
        (["A", 5], [1, 2], TypeError, "expected str instance, int found"),
        (["A", None], [1, 2], TypeError, "expected str instance, NoneType found"),
        (["A", "B"], [1, -1], ValueError, "packed values must be from 0 to 2**62 - 1, not -1"),
        (["A", "B"], [1, 2**62], ValueError, f"from 0 to 2**62 - 1, not {2**62}"),
        (["A", "B"], [1, 2**64], ValueError, f"from 0 to 2**62 - 1, not {2**64}"),
        (["A", "B"], [1, 2.0], TypeError, "'float' object cannot be interpreted as an integer"),
    ],
)
def test_add_new_refuses_bad_input_and_changes_nothing(
    skus: list[Any], packed: list[Any], error: type[Exception], message: str
) -> None:
    index = SkuIndex()
    index.add_new(["Z"], [3])
    with pytest.raises(error) as caught:
        index.add_new(skus, packed)
    assert message in str(caught.value)
    assert list(index.items()) == [("Z", 3)]
    assert "A" not in index


# -- __setitem__, get, items --------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("hash_name", list(HASHES))
def test_overwrites_show_in_get_and_items(compress: bool, hash_name: str) -> None:
    with tuned(hash_name, batch_size=8):
        index = SkuIndex(compress=compress)
        skus = [structured(i) for i in range(30)]
        # Sealed batches from add_new, then an open one from single inserts.
        assert index.add_new(skus[:20], [i << 2 | 1 for i in range(20)]) == []
        for i in range(20, 30):
            index[skus[i]] = i << 2 | 1
        model = {sku: i << 2 | 1 for i, sku in enumerate(skus)}
        for i in (0, 7, 8, 19, 21, 29):
            index[skus[i]] = i << 2 | 2  # flagged as duplicate, as the validator marks it
            model[skus[i]] = i << 2 | 2
        index[skus[3]] = 2**61 + 5  # past 32 bits: that batch's values widen
        model[skus[3]] = 2**61 + 5
        index[skus[25]] = 2**40
        model[skus[25]] = 2**40
        assert_same(index, model)


@pytest.mark.parametrize(
    ("sku", "packed", "error", "message"),
    [
        ("A", -1, ValueError, "packed values must be from 0 to 2**62 - 1, not -1"),
        ("A", 2**62, ValueError, f"packed values must be from 0 to 2**62 - 1, not {2**62}"),
        ("A", 1.5, TypeError, "'float' object cannot be interpreted as an integer"),
        (5, 1, TypeError, "SKUs are str, not int"),
        (b"A", 1, TypeError, "SKUs are str, not bytes"),
    ],
)
def test_setitem_refuses_bad_input(
    sku: Any, packed: Any, error: type[Exception], message: str
) -> None:
    index = SkuIndex()
    with pytest.raises(error) as caught:
        index[sku] = packed
    assert str(caught.value) == message
    assert len(index) == 0


@pytest.mark.parametrize("other", [5, b"A", None, ("A",)])
def test_lookups_of_other_types_find_nothing(other: Any) -> None:
    with tuned("constant", batch_size=2):
        index = SkuIndex()
        index.add_new(["A", "B", "C"], [1, 2, 3])
        assert other not in index
        assert index.get(other) is None


def test_single_inserts_seal_batches_in_order() -> None:
    with tuned(batch_size=4):
        index = SkuIndex()
        model: dict[str, int] = {}
        for i in range(23):
            if i % 5 == 4:
                skus = [structured(100 + i), structured(i - 1), structured(200 + i)]
                assert index.add_new(skus, [1, 2, 3]) == [1]
                model[skus[0]], model[skus[2]] = 1, 3
            index[structured(i)] = i
            model[structured(i)] = i
        assert_same(index, model)
        assert repr(index) == f"<SkuIndex of {len(model)} SKUs in 8 batches>"


# -- exactness whatever the SKUs ---------------------------------------------------------------

ODD_SKUS = [
    "",
    "\x00",
    "a\x00b",
    "\n",
    "line\nbreak",
    "tab\tand\x1fseparators\x1e",
    "Größe-XL",
    "靴-28cm",
    "🧦-pair",
    "\ud800lone-surrogate",
    "\ud83d\ude00 as a pair of surrogates",
    "😀 as one code point",
    "x" * 40,
    "y" * 200,
    " padded ",
    "padded",
]


@pytest.mark.parametrize("hash_name", list(HASHES))
@pytest.mark.parametrize("compress", [True, False])
def test_odd_skus_are_kept_exactly(hash_name: str, compress: bool) -> None:
    with tuned(hash_name, batch_size=3):
        index = SkuIndex(compress=compress)
        assert index.add_new(ODD_SKUS, range(len(ODD_SKUS))) == []
        assert index.add_new(ODD_SKUS[::-1], range(len(ODD_SKUS))) == list(range(len(ODD_SKUS)))
        assert_same(index, {sku: i for i, sku in enumerate(ODD_SKUS)})
        # Text that spans two SKUs of a batch, or a SKU and its separator, is not a SKU.
        for absent in ("a", "b", "\x00a", "a\x00", "\x00\x00", "Größe", "x" * 39, "x" * 41):
            assert absent not in index
            assert index.get(absent) is None


@pytest.mark.parametrize("compress", [True, False])
def test_a_batch_using_every_ascii_character_is_kept_as_a_tuple(compress: bool) -> None:
    # No ASCII separator is free in this batch: the index keeps its SKUs as they are.
    skus = [chr(c) for c in range(128)] + [chr(c) * 2 for c in range(128)]
    with tuned("constant", batch_size=64):
        index = SkuIndex(compress=compress)
        assert index.add_new(skus, range(len(skus))) == []
        assert isinstance(index._batches[0].text, tuple)
        assert_same(index, {sku: i for i, sku in enumerate(skus)})
        assert "\x00\x01" not in index


def test_colliding_skus_never_merge() -> None:
    """Forced collisions: every hash equal, yet each SKU is its own entry."""
    skus = [structured(i) for i in range(3000)]
    with tuned("constant"):
        index = SkuIndex()
        assert index.add_new(skus[:2000], range(2000)) == []
        for i in range(2000, 3000):
            assert skus[i] not in index
            index[skus[i]] = i
        assert index.add_new(skus[::-1], range(3000)) == list(range(3000))
        assert index.add_new(["new", "new"], [1, 2]) == [1]
        assert_same(index, {**{sku: i for i, sku in enumerate(skus)}, "new": 1})


# -- storage -------------------------------------------------------------------------------------


def test_structured_skus_are_deflated_and_random_ones_are_not() -> None:
    rng = random.Random(5)
    index = SkuIndex()
    index.add_new([structured(i) for i in range(1024)], range(1024))
    assert index._batches[-1].zipped
    noise = ["".join(rng.choices("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=16)) for _ in range(4096)]
    index.add_new(noise, range(4096))
    # Noise deflates poorly (a third saved, kept): the next batches are not even tried.
    assert [b.zipped for b in index._batches[1:]] == [True, False]
    assert index.get(noise[1500]) == 1500
    plain = SkuIndex(compress=False)
    plain.add_new([structured(i) for i in range(1024)], range(1024))
    assert not plain._batches[0].zipped


def test_values_stay_32_bit_until_one_needs_more() -> None:
    index = SkuIndex()
    index.add_new([structured(i) for i in range(1024)], range(1024))
    index.add_new([structured(i) for i in range(1024, 2048)], [2**40 + i for i in range(1024)])
    assert [b.packed.itemsize for b in index._batches] == [4, 8]
    assert index.get(structured(2047)) == 2**40 + 1023


# -- at scale --------------------------------------------------------------------------------------


def test_100k_skus_with_duplicates_like_a_dict() -> None:
    """A sheet's worth: batches of 1,000, about 1 % repeats, single inserts between."""
    rng = random.Random(11)
    index = SkuIndex()
    model: dict[str, int] = {}
    row = 2
    for start in range(0, 100_000, 1000):
        skus = [structured(i) for i in range(start, start + 1000)]
        for k in rng.sample(range(1000), 10):
            skus[k] = structured(rng.randrange(start + 1000))  # maybe earlier, maybe later
        packed = [(row + k) << 2 | 1 for k in range(1000)]
        assert index.add_new(skus, packed) == expected_add(model, skus, packed)
        row += 1000
        for sku in (f"one-by-one-{start}", structured(start)):
            value = row << 2
            if sku in model:
                assert index.get(sku) == model[sku]
                value |= 2
            index[sku] = model[sku] = value
            row += 1
    assert len(index) == len(model)
    assert list(index.items()) == list(model.items())
    for sku in rng.sample(list(model), 2000):
        assert index.get(sku) == model[sku]
    for i in rng.sample(range(100_000, 200_000), 500):
        assert structured(i) not in index


def test_holds_far_less_than_a_dict() -> None:
    skus = [[structured(i) for i in range(start, start + 1024)] for start in range(0, 51200, 1024)]

    def held(build: Callable[[], object]) -> int:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        size = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert kept is not None
        return size

    def build_index() -> SkuIndex:
        index = SkuIndex()
        for batch in skus:
            index.add_new(batch, array("I", range(len(batch))))
        return index

    def build_dict() -> dict[str, int]:
        table: dict[str, int] = {}
        for batch in skus:
            copies = [sku.encode().decode() for sku in batch]
            table.update(zip(copies, range(len(batch)), strict=True))
        return table

    index_bytes = held(build_index) / 51200
    dict_bytes = held(build_dict) / 51200
    assert index_bytes < 100
    assert index_bytes < dict_bytes * 0.75
