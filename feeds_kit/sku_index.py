"""A compact, exact map from SKU text to a packed int, for duplicate detection on big sheets.

:class:`~feeds_kit.validation.RowValidator` remembers every SKU it has seen per marketplace
(SKU -> ``(row << 2) | flags``). A ``dict[str, int]`` spends about 140 bytes on each: a str
object, an int object and its table slot. At a million rows that is most of the memory a
validation run may take, so this index holds **one** small Python object per SKU and keeps the
rest in a few shared buffers:

* ``_slots``: a dict from the SKU's hash, masked to 60 bits (an int below ``2**60`` is a 32-byte
  object, above it 40), to the ordinal of the *batch* holding the SKU. The value is one int
  object per batch, shared by all of its SKUs, so a SKU costs its key and its table slot.
* batches of up to :data:`BATCH_MAX` SKUs in insertion order: their text as UTF-8 joined by a
  separator none of them contains (deflated when that pays), and their packed ints in one
  ``array`` (4 bytes an entry while they fit, else 8).
* ``_overflow``: the exact ``dict[str, int]`` (SKU -> batch) for the rare SKU whose 60-bit hash
  is already the key of a *different* SKU: a hash only says where to look, the SKU is found by
  comparing its text, so a collision can never merge two SKUs.

Bulk insertion (:meth:`SkuIndex.add_new`, what the validator calls with ~1,000 clean rows) runs
at C speed: hashing, the membership test and the table update are ``map``/``zip`` over the batch,
and only SKUs whose hash is already known are looked at one by one. Finding where a known SKU
lives searches its batch's text for it between separators (the last batch inflated is cached);
that costs tens of microseconds, paid only for duplicates and overwrites, which are rare.

``bench/sku_index_memory.py`` measures it: at 1M SKUs like ``TSH-0000123-BLK-XS``, about 83
bytes and 0.4 µs a SKU, against 130 bytes and 0.3 µs for a dict's own bulk update.

Hashes are Python's ``hash()`` of the text: randomised per process (``PYTHONHASHSEED``), which is
fine for an index that lives and dies in one process. Every str is a valid SKU here, the empty
one, NULs, newlines, lone surrogates and any length included; validity is the validator's job.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator, Sequence
from itertools import compress, repeat
from operator import and_, index, ne, not_

__all__ = ["BATCH_MAX", "BATCH_SIZE", "PACKED_LIMIT", "SkuIndex"]

#: Packed values are ``0 <= packed < PACKED_LIMIT``.
PACKED_LIMIT = 1 << 62
#: A batch is sealed (joined, maybe deflated) once it holds this many SKUs.
BATCH_SIZE = 1024
#: No batch holds more: a bigger :meth:`SkuIndex.add_new` is cut into batches of this size.
BATCH_MAX = 2048

# The hash function, a module global so tests can force collisions by replacing it.
_hash = hash
# Below 2**60 an int is two 30-bit digits: 32 bytes, against 40 for a full 64-bit hash.
_MASK = (1 << 60) - 1
# Separators tried in turn; ASCII only, so a separator byte never occurs inside a UTF-8
# sequence and splitting the encoded text splits exactly the SKUs.
_SEPARATORS = "\x00\x1f\x1e\x1d\x1c\n\t" + "".join(
    chr(c) for c in range(128) if chr(c) not in "\x00\x1f\x1e\x1d\x1c\n\t"
)
# 32-bit entries while every packed value fits, 64-bit otherwise.
_NARROW = "I" if array("I").itemsize == 4 else "L"
_WIDE = "Q"
# Deflate a batch only if that saves at least a fifth; when it saves less than half, skip the
# next batches before trying again, so unpredictable SKUs do not pay for deflating every batch.
_KEEP_RATIO = 0.8
_GOOD_RATIO = 0.5
_BACK_OFF = 32
_WBITS = -15  # raw deflate: no header, no checksum (the data never leaves the process)


def _values(packed: Sequence[int]) -> array[int]:
    """``packed`` as an array, 32-bit if every value fits; checks types and range."""
    try:
        return array(_NARROW, packed)
    except OverflowError:
        pass
    try:
        values = array(_WIDE, packed)
    except OverflowError:
        values = None
    if values is None or max(values) >= PACKED_LIMIT:
        raise ValueError(f"packed values must be from 0 to 2**62 - 1, not {_outside(packed)}")
    return values


def _outside(packed: Sequence[int]) -> int:
    """The first value of ``packed`` outside ``0 .. PACKED_LIMIT - 1``, for the error message."""
    return next(v for v in packed if not 0 <= v < PACKED_LIMIT)


def _checked(packed: int) -> int:
    value = index(packed)
    if not 0 <= value < PACKED_LIMIT:
        raise ValueError(f"packed values must be from 0 to 2**62 - 1, not {value}")
    return value


def _widened(values: array[int]) -> array[int]:
    return values if values.typecode == _WIDE else array(_WIDE, values)


class _Batch:
    """The SKUs of one sealed batch, in insertion order, and their packed values."""

    __slots__ = ("packed", "sep", "text", "zipped")

    def __init__(
        self, text: bytes | tuple[str, ...], sep: str, zipped: bool, packed: array[int]
    ) -> None:
        #: The SKUs as UTF-8 (lone surrogates kept), joined by ``sep`` and deflated if
        #: ``zipped``; a tuple of them when every ASCII character occurs in them (no separator).
        self.text = text
        self.sep = sep
        self.zipped = zipped
        self.packed = packed

    def plain(self) -> bytes | tuple[str, ...]:
        """The text, inflated."""
        text = self.text
        if self.zipped:
            return zlib.decompress(text, wbits=_WBITS)  # type: ignore[arg-type]
        return text

    def skus(self) -> list[str] | tuple[str, ...]:
        """The batch's SKUs, in order."""
        text = self.plain()
        if isinstance(text, tuple):
            return text
        return text.decode("utf-8", "surrogatepass").split(self.sep)

    def find(self, plain: bytes | tuple[str, ...], sku: str) -> int:
        """The position of ``sku`` in the batch whose :meth:`plain` text is ``plain``, or -1.

        Searches the text (C speed, no object a SKU) for the SKU between separators, then counts
        the separators before it.
        """
        if isinstance(plain, tuple):
            try:
                return plain.index(sku)
            except ValueError:
                return -1
        if self.sep in sku:
            return -1  # no SKU of this batch holds its separator
        sep = self.sep.encode("ascii")
        key = sku.encode("utf-8", "surrogatepass")
        if plain == key or plain.startswith(key + sep):
            return 0
        at = plain.find(sep + key + sep)
        if at >= 0:
            return plain.count(sep, 0, at) + 1
        if plain.endswith(sep + key):
            return plain.count(sep)
        return -1


class SkuIndex:
    """SKU text -> packed int (non-negative, < 2**62), insertion-ordered, compact.

    Behaves exactly like a ``dict[str, int]`` restricted to the operations below (any str is a
    key, the empty one included), in about 80-100 bytes a SKU instead of 130-140.
    ``compress=False`` never deflates batch text: about 0.1 µs a SKU faster to fill, 15 bytes
    a SKU bigger for SKUs that share structure.
    """

    __slots__ = (
        "_batches",
        "_cache",
        "_cache_id",
        "_compress",
        "_count",
        "_open_id",
        "_open_packed",
        "_open_skus",
        "_overflow",
        "_skip",
        "_slots",
    )

    def __init__(self, *, compress: bool = True) -> None:
        self._slots: dict[int, int] = {}
        self._overflow: dict[str, int] = {}
        self._batches: list[_Batch] = []
        # The batch being filled: plain lists until sealed, so appends stay cheap.
        self._open_skus: list[str] = []
        self._open_packed: array[int] = array(_NARROW)
        self._open_id = 0
        self._count = 0
        self._compress = compress
        self._skip = 0
        self._cache_id = -1
        self._cache: bytes | tuple[str, ...] = b""

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def __contains__(self, sku: object) -> bool:
        return self._locate(sku) is not None

    def __repr__(self) -> str:
        batches = len(self._batches) + bool(self._open_skus)
        return f"<SkuIndex of {self._count} SKUs in {batches} batches>"

    def get(self, sku: str) -> int | None:
        """The packed value of ``sku``, or None if it is not in the index."""
        found = self._locate(sku)
        if found is None:
            return None
        batch, position = found
        packed = self._open_packed if batch == self._open_id else self._batches[batch].packed
        return packed[position]

    def items(self) -> Iterator[tuple[str, int]]:
        """Every ``(sku, packed)``, in insertion order, with the latest packed values."""
        for batch in self._batches:
            yield from zip(batch.skus(), batch.packed, strict=True)
        yield from zip(self._open_skus, self._open_packed, strict=True)

    def _locate(self, sku: object) -> tuple[int, int] | None:
        """``(batch ordinal, position)`` of ``sku``, or None."""
        if self._overflow:
            batch = self._overflow.get(sku)  # type: ignore[call-overload]
            if batch is not None:
                return batch, self._position(batch, sku)
        batch = self._slots.get(_hash(sku) & _MASK)
        if batch is None:
            return None
        try:
            return batch, self._position(batch, sku)
        except ValueError:
            return None  # another SKU with the same hash: this one is not here

    def _position(self, batch: int, sku: object) -> int:
        """Where ``sku`` is in ``batch``; ValueError if it is not there."""
        if batch == self._open_id:
            return self._open_skus.index(sku)  # type: ignore[arg-type]
        if not isinstance(sku, str):
            raise ValueError("not a SKU")
        sealed = self._batches[batch]
        if batch != self._cache_id:
            self._cache = sealed.plain()
            self._cache_id = batch
        position = sealed.find(self._cache, sku)
        if position < 0:
            raise ValueError(sku)
        return position

    # -- writing --------------------------------------------------------------------------------

    def __setitem__(self, sku: str, packed: int) -> None:
        value = _checked(packed)
        found = self._locate(sku)
        if found is not None:
            self._overwrite(*found, value)
            return
        if not isinstance(sku, str):
            raise TypeError(f"SKUs are str, not {type(sku).__name__}")
        key = _hash(sku) & _MASK
        if key in self._slots:
            self._overflow[sku] = self._open_id
        else:
            self._slots[key] = self._open_id
        self._open_skus.append(sku)
        try:
            self._open_packed.append(value)
        except OverflowError:
            self._open_packed = _widened(self._open_packed)
            self._open_packed.append(value)
        self._count += 1
        if len(self._open_skus) >= BATCH_SIZE:
            self._seal()

    def _overwrite(self, batch: int, position: int, value: int) -> None:
        packed = self._open_packed if batch == self._open_id else self._batches[batch].packed
        try:
            packed[position] = value
        except OverflowError:
            packed = _widened(packed)
            packed[position] = value
            if batch == self._open_id:
                self._open_packed = packed
            else:
                self._batches[batch].packed = packed

    def add_new(self, skus: Sequence[str], packed: Sequence[int]) -> list[int]:
        """Insert every skus[i] -> packed[i] not already present; return the positions i NOT
        inserted because the SKU was already in the index or appeared earlier in this same call
        (ascending). The caller handles those one by one with get/__setitem__.

        Raises ValueError if the two lengths differ or a packed value is out of range, TypeError
        if a SKU is not a str or a packed value not an int; the index is then unchanged.
        """
        count = len(skus)
        if len(packed) != count:
            raise ValueError(f"{count} SKUs but {len(packed)} packed values")
        if not count:
            return []
        if not isinstance(skus, list):
            skus = list(skus)
        "".join(skus)  # the cheapest check that every SKU is a str (TypeError otherwise)
        values = _values(packed)
        if count <= BATCH_MAX:
            return self._add(skus, values)
        rejected: list[int] = []
        for start in range(0, count, BATCH_MAX):
            stop = start + BATCH_MAX
            found = self._add(skus[start:stop], values[start:stop])
            rejected.extend(start + i for i in found)
        return rejected

    def _add(self, skus: list[str], values: array[int]) -> list[int]:
        """:meth:`add_new` for at most BATCH_MAX SKUs: all of them go to the open batch."""
        count = len(skus)
        if self._open_skus and len(self._open_skus) + count > BATCH_MAX:
            self._seal()
        batch = self._open_id
        slots = self._slots
        hashes = list(map(and_, map(_hash, skus), repeat(_MASK)))
        rejected: list[int] = []
        spilled: list[int] = []  # inserted, but their hash is another SKU's key: to _overflow
        positions: Sequence[int] = range(count)
        if not slots.keys().isdisjoint(hashes):
            # Some hashes are known: those SKUs are present, or collide with one that is.
            known = list(map(slots.__contains__, hashes))
            taken: set[str] = set()
            for i in compress(positions, known):
                sku = skus[i]
                if sku in taken or self._locate(sku) is not None:
                    rejected.append(i)
                else:
                    taken.add(sku)
                    spilled.append(i)
            fresh = list(map(not_, known))
            hashes = list(compress(hashes, fresh))
            positions = list(compress(positions, fresh))
        before = len(slots)
        slots.update(zip(hashes, repeat(batch)))
        if len(slots) - before != len(hashes):
            # A hash twice in this call: the same SKU repeated, or (rarely) two SKUs colliding.
            # The first occurrence holds the key; a later one is a repeat of it or of another
            # later one with the same hash (equal SKUs always have equal hashes).
            first = dict(zip(reversed(hashes), reversed(positions), strict=True))
            later = compress(positions, map(ne, map(first.__getitem__, hashes), positions))
            seen: set[str] = set()
            for i in later:
                sku = skus[i]
                if sku == skus[first[_hash(sku) & _MASK]] or sku in seen:
                    rejected.append(i)
                else:
                    seen.add(sku)
                    spilled.append(i)
        if spilled:
            self._overflow.update(zip(map(skus.__getitem__, spilled), repeat(batch)))
        if rejected:
            rejected.sort()
            keep = [True] * count
            for i in rejected:
                keep[i] = False
            skus = list(compress(skus, keep))
            values = array(values.typecode, compress(values, keep))
        self._append(skus, values)
        return rejected

    def _append(self, skus: list[str], values: array[int]) -> None:
        if not self._open_skus and len(skus) >= BATCH_SIZE:
            # A whole batch at once (the validator's usual call): seal it without the copy.
            self._count += len(skus)
            self._batches.append(self._pack(skus, values))
            self._open_id = len(self._batches)
            return
        if values.typecode != self._open_packed.typecode:
            values = _widened(values)
            self._open_packed = _widened(self._open_packed)
        self._open_skus.extend(skus)
        self._open_packed.extend(values)
        self._count += len(skus)
        if len(self._open_skus) >= BATCH_SIZE:
            self._seal()

    def _seal(self) -> None:
        """Turn the open batch into a compact :class:`_Batch`; start a new open batch."""
        skus = self._open_skus
        if not skus:
            return
        self._batches.append(self._pack(skus, self._open_packed))
        self._open_skus = []
        self._open_packed = array(_NARROW)
        self._open_id = len(self._batches)

    def _pack(self, skus: list[str], packed: array[int]) -> _Batch:
        count = len(skus)
        sep = _SEPARATORS[0]
        text = sep.join(skus)
        if text.count(sep) != count - 1:
            used = set("".join(skus))
            sep = next((c for c in _SEPARATORS if c not in used), "")
            if not sep:
                return _Batch(tuple(skus), "", False, packed)
            text = sep.join(skus)
        data = text.encode("utf-8", "surrogatepass")
        if self._compress:
            if self._skip:
                self._skip -= 1
            else:
                deflated = zlib.compress(data, 1, wbits=_WBITS)
                if len(deflated) > len(data) * _GOOD_RATIO:
                    self._skip = _BACK_OFF
                if len(deflated) <= len(data) * _KEEP_RATIO:
                    return _Batch(deflated, sep, True, packed)
        return _Batch(data, sep, False, packed)
