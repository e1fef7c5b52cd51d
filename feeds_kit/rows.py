"""What a sheet becomes once read: its layout (columns with letters and headers) and its rows.

A :class:`Row` holds the row number the spreadsheet shows and, per canonical field, the value as
the seller meant it (already normalised: ``"12345"`` for a SKU typed as a number, a ``Decimal``
for ``"19.99"``, a ``date`` for an Excel date). Blank cells are absent: a blank means "leave
unchanged". The column of a field comes from the shared :class:`SheetLayout`, so a row costs one
small dict, whatever its width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from feeds_kit.issues import Issue, Location


def column_letter(index: int) -> str:
    """Excel column letter of a 0-based column index (0 -> ``A``, 27 -> ``AB``)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the sheet: 0-based ``index``, Excel ``letter``, ``header`` as written in the
    file, and the canonical ``field`` it maps to (``None`` for an unknown column)."""

    index: int
    letter: str
    header: str
    field: str | None = None


@dataclass(slots=True)
class SheetLayout:
    """The structure found in a sheet: where the headers are and what each column means.

    ``family`` names the layout (``native``, ``price-inventory-flat``, ``inventory-loader``,
    ``fptcustom``, ``unified``, ...); ``header_row`` and ``data_row`` are spreadsheet row numbers.
    ``notes`` carries reader facts worth telling the user (encoding fallback, delimiter, ...).
    """

    file: str
    sheet: str | None
    kind: str | None
    header_row: int
    data_row: int
    columns: list[Column]
    family: str = "native"
    format: str = "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def column_for(self, field_name: str) -> Column | None:
        """The column a canonical field came from, if the sheet has it."""
        for col in self.columns:
            if col.field == field_name:
                return col
        return None

    def fields(self) -> dict[str, Column]:
        """Canonical field -> column, for the mapped columns."""
        return {c.field: c for c in self.columns if c.field is not None}

    def where(self, row: int | None = None, field_name: str | None = None,
              sku: str | None = None) -> Location:
        """A :class:`Location` for a row (and a field's column) of this sheet."""
        col = self.column_for(field_name) if field_name else None
        return Location(
            file=self.file,
            sheet=self.sheet,
            row=row,
            column=col.letter if col else None,
            header=col.header if col else None,
            field=field_name,
            sku=sku,
        )


@dataclass(slots=True)
class Row:
    """One data row: spreadsheet row ``number`` and normalised ``values`` by canonical field.

    ``raw`` keeps, per field, the value as read when normalisation changed it, so messages can
    quote what the seller typed. ``extra`` holds the values of unknown columns by header.
    """

    number: int
    values: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    #: Findings made while reading and normalising this row's cells.
    issues: list[Issue] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sku(self) -> str | None:
        sku = self.values.get("sku")
        return None if sku is None else str(sku)


class _Absent:
    """The one marker of a blank cell in a :class:`RowBatch` column (falsy, prints ABSENT)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


#: A blank cell in a :class:`RowBatch` column: the field is absent from the row's ``values``.
ABSENT: Final = _Absent()


@dataclass(slots=True)
class RowBatch:
    """Consecutive spreadsheet rows, held by column: what a validator can check in bulk.

    Position ``k`` is spreadsheet row ``first + k``. ``columns[i]`` holds the normalised values
    of ``fields[i]``, :data:`ABSENT` for a blank cell. Rows that had something to say while
    being read (a cell finding, a flagged cell) are in ``special`` already built, ``None`` for
    a row that turned out blank; their slots in ``columns`` are not to be trusted.
    ``extra_of(k)`` gives row ``k``'s unknown-column values (``None`` when the sheet has no
    unknown column). :meth:`rows` gives exactly the rows a row-by-row reader would.
    """

    first: int
    size: int
    fields: tuple[str, ...]
    columns: list[list[Any]]
    special: dict[int, Row | None] = field(default_factory=dict)
    extra_of: Callable[[int], dict[str, Any]] | None = None

    def __len__(self) -> int:
        return self.size

    def column(self, field_name: str) -> list[Any] | None:
        """The column of a canonical field, if the sheet has it."""
        try:
            return self.columns[self.fields.index(field_name)]
        except ValueError:
            return None

    def row(self, k: int) -> Row | None:
        """Row ``k`` of the batch as a :class:`Row`; ``None`` when it is blank."""
        if k in self.special:
            return self.special[k]
        absent = ABSENT
        values = {
            name: column[k]
            for name, column in zip(self.fields, self.columns, strict=True)
            if column[k] is not absent
        }
        extra = self.extra_of(k) if self.extra_of is not None else {}
        if not values and not extra:
            return None
        return Row(self.first + k, values, {}, [], extra)

    def rows(self) -> Iterator[Row]:
        """Every non-blank row, in sheet order."""
        for k in range(self.size):
            row = self.row(k)
            if row is not None:
                yield row
