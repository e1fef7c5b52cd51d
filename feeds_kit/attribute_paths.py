"""Amazon's attribute-path header grammar, and the ``attributes`` object built from a row's cells.

Seller Central templates name their columns with attribute paths (amazon-templates.md §5)::

    item_name[marketplace_id=ATVPDKIKX0DER][language_tag=en_US]#1.value
    purchasable_offer[marketplace_id=A1F83G8C2ARO7P][audience=ALL]#1.our_price#1.schedule#1.value_with_tax
    bullet_point#2.value            fulfillment_availability#1.quantity

A step is ``name``, then ``[key=value]`` selectors written into the element, then ``#N`` (1-based
position among the elements sharing the same selectors). feeds-kit also takes a short form for the
common case: ``item_name``, ``bullet_point#2``, ``brand`` mean ``<name>#N.value`` with the row's
marketplace and language filled in.

:func:`parse_attribute_path` turns a header into an :class:`AttributePath` (raising
:class:`AttributePathError`); :func:`parse_attribute_columns` does it for a sheet's columns and
turns malformed or clashing headers into :class:`~feeds_kit.issues.Issue` records.
:func:`assemble` builds the nested ``attributes`` object of a JSON_LISTINGS_FEED message from one
row's cells and records, in a :class:`ColumnMap`, which column produced each value, so an error at
``/bullet_point/1/value`` maps back to the "Bullet Point 2" column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from feeds_kit.issues import Issue, IssueType, Location
from feeds_kit.manifest import CellRef
from feeds_kit.marketplaces import find_marketplace
from feeds_kit.rows import Column

__all__ = [
    "ATTRIBUTE_PATH_CONFLICT",
    "DUPLICATE_ATTRIBUTE_PATH",
    "MALFORMED_ATTRIBUTE_PATH",
    "Assembly",
    "AttributeColumn",
    "AttributeColumns",
    "AttributePath",
    "AttributePathError",
    "ColumnMap",
    "Conflict",
    "Step",
    "assemble",
    "is_attribute_path",
    "is_pseudo_name",
    "json_pointer",
    "parse_attribute_columns",
    "parse_attribute_path",
]

MALFORMED_ATTRIBUTE_PATH = IssueType(
    code="malformed-attribute-path",
    title="Column header is not an Amazon attribute path",
    message="{value!r} is not an Amazon attribute path: {reason}",
    hint=(
        "write the attribute name, optionally with [key=value] selectors, #N positions and "
        "sub-properties, e.g. item_name, bullet_point#2 or "
        "item_name[marketplace_id=ATVPDKIKX0DER][language_tag=en_US]#1.value"
    ),
    description=(
        "In a listings sheet every column that is not one of the fixed columns (SKU, product "
        "type, operation, marketplace, language) names an Amazon attribute, using the grammar of "
        "Amazon's Seller Central templates: `name[key=value]#N.sub#N.leaf`. The header could not "
        "be read that way (unbalanced bracket, empty selector, `#0`, stray character, ...), so "
        "the column is ignored."
    ),
    tags=("listings", "structure"),
)

DUPLICATE_ATTRIBUTE_PATH = IssueType(
    code="duplicate-attribute-path",
    title="Two columns address the same attribute value",
    message="{value!r} addresses the same value as column {other_column} {other_header!r}",
    hint="keep one of the two columns",
    description=(
        "Two headers name the same value once their short forms are expanded (for example "
        "`bullet_point#1` and `bullet_point#1.value`); only the first column is used."
    ),
    tags=("listings", "structure"),
)

ATTRIBUTE_PATH_CONFLICT = IssueType(
    code="attribute-path-conflict",
    title="Two columns give conflicting shapes or values to one attribute",
    message="{value!r} conflicts with column {other_column} {other_header!r} at {path}",
    hint="remove one of the two columns, or give them different #N positions",
    description=(
        "Either two columns write the same value of an attribute, or one column treats a part "
        "of an attribute as a single value while another treats it as a group of values "
        "(e.g. `item_weight#1.unit` and `item_weight#1.unit.value`). The later column is "
        "ignored for this row."
    ),
    tags=("listings",),
)

_NAME = re.compile(r"[A-Za-z0-9_]+")
_SELECTOR_KEY = re.compile(r"[A-Za-z0-9_]+\Z")
_SHORT_WORDS = re.compile(r"[\s\-]+")
_TRAILING_NUMBER = re.compile(r"^(?P<name>[a-z0-9_]*?[a-z])_?(?P<n>[1-9][0-9]*)$")

#: Selector keys the row fills in when a column does not say them (amazon-templates.md §5.2).
MARKETPLACE_ID = "marketplace_id"
LANGUAGE_TAG = "language_tag"


class AttributePathError(ValueError):
    """A header that does not follow the attribute-path grammar.

    ``reason`` says what is wrong in a few words; ``position`` is the 0-based offset in the header
    where reading stopped (``None`` when the whole header is at fault).
    """

    def __init__(self, header: str, reason: str, position: int | None = None) -> None:
        super().__init__(f"{header!r}: {reason}")
        self.header = header
        self.reason = reason
        self.position = position


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: ``name``, its ``[key=value]`` selectors, its 1-based ``#index``."""

    name: str
    selectors: tuple[tuple[str, str], ...] = ()
    index: int | None = None

    def __str__(self) -> str:
        text = self.name + "".join(f"[{k}={v}]" for k, v in self.selectors)
        if self.index is not None:
            text += f"#{self.index}"
        return text


@dataclass(frozen=True, slots=True)
class AttributePath:
    """A parsed header: the steps from the top-level attribute down to one value.

    The first step always carries an index (every Amazon attribute is an array). ``short`` is true
    for the short forms (``item_name``, ``bullet_point#2``): they were expanded to ``...#N.value``
    and take the row's marketplace and language as selectors.
    """

    steps: tuple[Step, ...]
    short: bool = False

    @property
    def attribute(self) -> str:
        """The top-level attribute name (``purchasable_offer``)."""
        return self.steps[0].name

    @property
    def dotted_name(self) -> str:
        """The path without selectors or positions, as Amazon's ``attributeName`` writes it
        (``purchasable_offer.our_price.schedule.value_with_tax``)."""
        return ".".join(step.name for step in self.steps)

    def __str__(self) -> str:
        return ".".join(str(step) for step in self.steps)

    @classmethod
    def parse(cls, header: str) -> AttributePath:
        """Same as :func:`parse_attribute_path`."""
        return parse_attribute_path(header)


@dataclass(frozen=True, slots=True)
class AttributeColumn:
    """An attribute column of a sheet: its parsed path, Excel letter and header as written."""

    path: AttributePath
    column: str
    header: str

    @property
    def cell(self) -> CellRef:
        return CellRef(self.column, self.header)


def is_pseudo_name(header: str) -> bool:
    """True for the template pseudo-columns (``::record_action``, ``amzn1.volt.ca.…``)."""
    text = header.strip()
    return text.startswith("::") or text.lower().startswith("amzn1.")


def is_attribute_path(header: str) -> bool:
    """True when ``header`` is written in the full path grammar (has ``#`` or ``[``) and is not
    a pseudo-column; a bare name may be a short form or a legacy flat-file name alike."""
    text = header.strip()
    return not is_pseudo_name(text) and ("#" in text or "[" in text)


def parse_attribute_path(header: str) -> AttributePath:
    """Parse one header into an :class:`AttributePath`.

    Names are case-insensitive (``Item_Name`` is ``item_name``); a bare header may use spaces or
    hyphens between words (``item name``). Selector values keep their case (marketplace ids do).
    Raises :class:`AttributePathError` with the reason when the header does not parse.
    """
    text = header.strip()
    if not text:
        raise AttributePathError(header, "the header is empty")
    if is_pseudo_name(text):
        raise AttributePathError(header, "it is a template pseudo-column, not an attribute")
    if not any(ch in text for ch in "[#."):
        text = _SHORT_WORDS.sub("_", text)
    steps: list[Step] = []
    pos = 0
    length = len(text)
    while True:
        match = _NAME.match(text, pos)
        if match is None:
            found = repr(text[pos]) if pos < length else "the end"
            raise AttributePathError(
                header, f"expected an attribute name at position {pos + 1}, found {found}", pos
            )
        name = match.group().lower()
        pos = match.end()
        selectors: list[tuple[str, str]] = []
        while pos < length and text[pos] == "[":
            close = text.find("]", pos)
            if close < 0:
                raise AttributePathError(
                    header, f"the '[' at position {pos + 1} is not closed", pos
                )
            body = text[pos + 1 : close]
            key, sep, value = body.partition("=")
            key = key.strip()
            value = value.strip()
            if not sep or not _SELECTOR_KEY.match(key) or not value or "[" in value:
                raise AttributePathError(
                    header, f"selector [{body}] must look like [marketplace_id=ATVPDKIKX0DER]", pos
                )
            key = key.lower()
            if any(k == key for k, _ in selectors):
                raise AttributePathError(header, f"selector {key!r} is given twice", pos)
            selectors.append((key, value))
            pos = close + 1
        index: int | None = None
        if pos < length and text[pos] == "#":
            digits = re.match(r"[0-9]+", text[pos + 1 :])
            if digits is None:
                raise AttributePathError(header, f"'#' at position {pos + 1} needs a number", pos)
            index = int(digits.group())
            if index < 1 or digits.group().startswith("0"):
                raise AttributePathError(
                    header, f"positions start at #1, not #{digits.group()}", pos
                )
            pos += 1 + len(digits.group())
        steps.append(Step(name, tuple(selectors), index))
        if pos == length:
            break
        if text[pos] != ".":
            raise AttributePathError(
                header, f"unexpected {text[pos]!r} at position {pos + 1}", pos
            )
        pos += 1
        if pos == length:
            raise AttributePathError(header, "the path ends with '.'", pos - 1)

    last = steps[-1]
    if len(steps) > 1 and last.selectors and last.index is None:
        raise AttributePathError(
            header, f"selectors on {last.name!r} need a property after them, e.g. .value"
        )
    first = steps[0]
    short = len(steps) == 1
    if first.index is None:
        steps[0] = Step(first.name, first.selectors, 1)
    if short:
        steps.append(Step("value"))
    return AttributePath(tuple(steps), short=short)


def _split_trailing_number(name: str) -> tuple[str, int] | None:
    match = _TRAILING_NUMBER.match(name)
    if match is None:
        return None
    return match.group("name"), int(match.group("n"))


def _against_schema(path: AttributePath, known: Collection[str]) -> AttributePath:
    """``bullet_point2`` / ``Bullet Point 2`` → ``bullet_point#2`` when the product type has
    ``bullet_point`` and no ``bullet_point2`` (Amazon's legacy numbered columns)."""
    if not path.short or path.attribute in known:
        return path
    first = path.steps[0]
    split = _split_trailing_number(first.name)
    if split is None or split[0] not in known or first.index not in (None, 1):
        return path
    name, number = split
    return AttributePath((Step(name, first.selectors, number), *path.steps[1:]), short=True)


@dataclass(slots=True)
class AttributeColumns:
    """The attribute columns of a sheet and the findings about their headers."""

    columns: list[AttributeColumn] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def __iter__(self) -> Iterator[AttributeColumn]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def for_attribute(self, name: str) -> list[AttributeColumn]:
        """The columns that write into top-level attribute ``name``."""
        return [c for c in self.columns if c.path.attribute == name]


def parse_attribute_columns(
    columns: Iterable[Column],
    *,
    file: str | None = None,
    sheet: str | None = None,
    row: int | None = None,
    known_attributes: Collection[str] | None = None,
) -> AttributeColumns:
    """Parse the headers of ``columns`` (those not mapped to a fixed field) as attribute paths.

    ``row`` is the header row number for the issues' location. With ``known_attributes`` (the
    product type's attribute names) legacy numbered headers resolve (``bullet_point2`` →
    ``bullet_point#2``). Malformed headers and columns that address the same value become issues;
    the first of two clashing columns is kept.
    """
    result = AttributeColumns()
    seen: dict[tuple[Any, ...], AttributeColumn] = {}
    for col in columns:
        if col.field is not None:
            continue
        where = Location(file=file, sheet=sheet, row=row, column=col.letter, header=col.header)
        try:
            path = parse_attribute_path(col.header)
        except AttributePathError as exc:
            result.issues.append(MALFORMED_ATTRIBUTE_PATH.at(where, value=col.header,
                                                             reason=exc.reason))
            continue
        if known_attributes is not None:
            path = _against_schema(path, known_attributes)
        key = _identity(path)
        previous = seen.get(key)
        if previous is not None:
            result.issues.append(
                DUPLICATE_ATTRIBUTE_PATH.at(
                    where,
                    value=col.header,
                    other_column=previous.column,
                    other_header=previous.header,
                )
            )
            continue
        attribute_column = AttributeColumn(path, col.letter, col.header)
        seen[key] = attribute_column
        result.columns.append(attribute_column)

    # A dry run with placeholder values finds shape conflicts (a value where another column
    # needs a group) that do not depend on the row.
    dry = assemble({c: "x" for c in result.columns}, None, None)
    bad: set[str] = set()
    for conflict in dry.conflicts:
        where = Location(file=file, sheet=sheet, row=row, column=conflict.second.column,
                         header=conflict.second.header)
        result.issues.append(
            ATTRIBUTE_PATH_CONFLICT.at(
                where,
                value=conflict.second.header,
                other_column=conflict.first.column,
                other_header=conflict.first.header,
                path=conflict.path,
            )
        )
        bad.add(conflict.second.column)
    if bad:
        result.columns = [c for c in result.columns if c.column not in bad]
    return result


def _identity(path: AttributePath) -> tuple[Any, ...]:
    return tuple((s.name, tuple(sorted(s.selectors)), s.index) for s in path.steps)


def json_pointer(tokens: Iterable[str | int]) -> str:
    """RFC 6901 pointer of ``tokens``: ``("bullet_point", 1, "value")`` → ``/bullet_point/1/value``.
    """
    return "".join(map(_pointer_piece, tokens))


@functools.lru_cache(maxsize=4096)
def _pointer_piece(token: str | int) -> str:
    # A listing has a few dozen distinct tokens, met on every row: each escaped once.
    return "/" + str(token).replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two columns that want the same place of the attributes object; ``second`` was ignored.

    ``path`` is the attribute path (header grammar) of the contested place.
    """

    path: str
    first: CellRef
    second: CellRef


class ColumnMap:
    """Which column produced each value of an assembled ``attributes`` object.

    Keys are JSON pointers into ``attributes`` (``/bullet_point/1/value``) and Amazon's dotted
    attribute names (``purchasable_offer.our_price``). :meth:`for_pointer` answers for any pointer
    a schema error may carry: the exact value, else its nearest recorded parent, else the first
    column recorded below it.
    """

    __slots__ = ("_by_name", "_by_pointer")

    def __init__(self) -> None:
        self._by_pointer: dict[str, CellRef] = {}
        self._by_name: dict[str, CellRef] = {}

    def record(self, tokens: Sequence[str | int], cell: CellRef, *, named: bool = True) -> None:
        """Note that ``cell`` produced the value at ``tokens`` (and is first for its parents).

        ``named=False`` (selector values filled in from a header or the row) records the
        pointers only, keeping them out of :meth:`attribute_names`.
        """
        pointer = ""
        name = ""
        last = len(tokens) - 1
        by_pointer = self._by_pointer
        by_name = self._by_name
        for depth, token in enumerate(tokens):
            pointer += _pointer_piece(token)
            by_pointer.setdefault(pointer, cell)
            if type(token) is str and (named or depth != last):
                name = f"{name}.{token}" if name else token
                by_name.setdefault(name, cell)

    def for_pointer(self, pointer: str) -> CellRef | None:
        """The column for a JSON pointer into ``attributes`` (``""`` is the whole object)."""
        if pointer in self._by_pointer:
            return self._by_pointer[pointer]
        parent = pointer
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in self._by_pointer:
                return self._by_pointer[parent]
        prefix = pointer + "/"
        for key, cell in self._by_pointer.items():
            if key.startswith(prefix):
                return cell
        return None

    def for_attribute(self, name: str) -> CellRef | None:
        """The column for Amazon's ``attributeName`` (``item_name``,
        ``purchasable_offer.our_price``); a longer name falls back to its nearest recorded parent.
        """
        key = name.strip()
        while key:
            if key in self._by_name:
                return self._by_name[key]
            if "." not in key:
                return None
            key = key.rsplit(".", 1)[0]
        return None

    def pointers(self) -> dict[str, CellRef]:
        """Every recorded JSON pointer (values, elements, top-level attributes) → column."""
        return dict(self._by_pointer)

    def attribute_names(self) -> dict[str, CellRef]:
        """Dotted attribute name → first column, the ``attributes`` of a manifest entry."""
        return dict(self._by_name)

    def __len__(self) -> int:
        return len(self._by_pointer)


@dataclass(slots=True)
class Assembly:
    """The result of :func:`assemble`: the ``attributes`` object and where each part came from."""

    attributes: dict[str, list[Any]]
    columns: ColumnMap
    conflicts: list[Conflict] = field(default_factory=list)


# --- the tree built while reading a row's cells ----------------------------------------------


class _Leaf:
    __slots__ = ("cell", "selector", "soft", "value")

    def __init__(self, value: Any, cell: CellRef | None, *, soft: bool = False,
                 selector: bool = False) -> None:
        self.value = value
        self.cell = cell
        # A soft leaf was filled from a selector default; a column may overwrite it silently.
        self.soft = soft
        # Selector values come from a header or the row, not from a cell of their own.
        self.selector = selector or soft


class _Object:
    __slots__ = ("cell", "props")

    def __init__(self, cell: CellRef | None) -> None:
        self.props: dict[str, _Leaf | _Object | _Array] = {}
        self.cell = cell


class _Array:
    __slots__ = ("cell", "groups")

    def __init__(self, cell: CellRef | None) -> None:
        # selector identity -> {index -> element}; dicts keep first-seen order.
        self.groups: dict[tuple[tuple[str, str], ...], dict[int, _Leaf | _Object]] = {}
        self.cell = cell


_Node = _Leaf | _Object | _Array


@functools.lru_cache(maxsize=4096)
def _default_selectors(
    attribute: str,
    short: bool,
    item_properties: Collection[str] | None,
    marketplace_id: str | None,
    language_tag: str | None,
) -> dict[str, str]:
    market = find_marketplace(marketplace_id) if marketplace_id else None
    candidates: dict[str, str | None] = {
        MARKETPLACE_ID: market.id if market else marketplace_id,
        LANGUAGE_TAG: language_tag,
    }
    if attribute == "purchasable_offer" or item_properties is not None:
        candidates["currency"] = market.currency if market else None
    if attribute == "purchasable_offer":
        candidates["audience"] = "ALL"
    if item_properties is not None:
        keys: Collection[str] = item_properties
    elif attribute == "purchasable_offer":
        keys = (MARKETPLACE_ID, "currency", "audience")
    elif short:
        keys = (MARKETPLACE_ID, LANGUAGE_TAG)
    else:
        keys = ()
    return {k: v for k, v in candidates.items() if k in keys and v}


def assemble(
    cells: Mapping[AttributeColumn, Any] | Mapping[AttributePath, Any],
    marketplace_id: str | None,
    language_tag: str | None,
    *,
    item_properties: Mapping[str, Collection[str]] | None = None,
) -> Assembly:
    """Build the ``attributes`` object of a listing from one row's attribute cells.

    ``cells`` maps each column (or bare path) to the cell value; ``None`` and blank strings are
    skipped (a blank cell sends nothing). ``marketplace_id`` (an id or a code such as ``US``) and
    ``language_tag`` fill the selectors a column leaves out:

    - without ``item_properties``: short forms get ``marketplace_id`` and ``language_tag``;
      ``purchasable_offer`` elements get ``marketplace_id``, the marketplace's ``currency`` and
      ``audience`` ``ALL``; other explicit paths get nothing they do not say;
    - with ``item_properties`` (top-level attribute → property names of its elements, from the
      product type schema, see :func:`feeds_kit.product_types.item_properties`): every element
      gets those of ``marketplace_id``, ``language_tag``, ``currency`` (and ``audience`` for
      ``purchasable_offer``) that its schema declares, and nothing it does not.

    Columns whose selectors end up identical and whose ``#N`` match merge into one element;
    ``#N`` orders the elements of a group and the groups keep their first column's order.
    """
    root = _Object(None)
    conflicts: list[Conflict] = []
    for key, value in cells.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(key, AttributeColumn):
            path, cell = key.path, key.cell
        else:
            path, cell = key, CellRef("", str(key))
        if isinstance(value, str):
            value = value.strip()
        props = item_properties.get(path.attribute) if item_properties is not None else None
        if item_properties is not None and props is None:
            props = ()
        elif props is not None and not isinstance(props, frozenset | tuple):
            props = frozenset(props)  # a key of _default_selectors' cache
        defaults = _default_selectors(path.attribute, path.short, props, marketplace_id,
                                      language_tag)
        _place(root, path, value, cell, defaults, conflicts)
    columns = ColumnMap()
    attributes = _render_object(root, [], columns)
    return Assembly(attributes=attributes, columns=columns, conflicts=conflicts)


def _place(
    root: _Object,
    path: AttributePath,
    value: Any,
    cell: CellRef,
    defaults: Mapping[str, str],
    conflicts: list[Conflict],
) -> None:
    container: _Object = root
    # The steps walked so far, worded only for a conflict (rare; str() of each step is not).
    trail: list[Any] = []
    last = len(path.steps) - 1
    for depth, step in enumerate(path.steps):
        trail.append(step)
        written = dict(step.selectors)
        soft: dict[str, str] = {}
        if depth == 0:
            soft = {k: v for k, v in defaults.items() if k not in written}
            if "currency" in soft and MARKETPLACE_ID in written:
                # The currency follows the element's own marketplace, not the row's.
                own = find_marketplace(written[MARKETPLACE_ID])
                if own is None:
                    del soft["currency"]
                else:
                    soft["currency"] = own.currency
        existing = container.props.get(step.name)
        if step.index is not None:
            if existing is None:
                existing = _Array(cell)
                container.props[step.name] = existing
            if not isinstance(existing, _Array):
                conflicts.append(Conflict(_describe(trail), _first_cell(existing, cell), cell))
                return
            identity = tuple(sorted({**soft, **written}.items()))
            group = existing.groups.setdefault(identity, {})
            element = group.get(step.index)
            if depth == last:
                if element is not None:
                    conflicts.append(Conflict(_describe(trail), _first_cell(element, cell), cell))
                    return
                group[step.index] = _Leaf(value, cell)
                return
            if element is None:
                element = _Object(cell)
                for k, v in step.selectors:
                    element.props[k] = _Leaf(v, cell, selector=True)
                for k, v in soft.items():
                    element.props[k] = _Leaf(v, cell, soft=True)
                group[step.index] = element
            elif not isinstance(element, _Object):
                conflicts.append(Conflict(_describe(trail), _first_cell(element, cell), cell))
                return
            container = element
            continue
        if depth == last:
            if existing is not None and not (isinstance(existing, _Leaf) and existing.soft):
                conflicts.append(Conflict(_describe(trail), _first_cell(existing, cell), cell))
                return
            container.props[step.name] = _Leaf(value, cell)
            return
        if existing is None:
            existing = _Object(cell)
            for k, v in step.selectors:
                existing.props[k] = _Leaf(v, cell, selector=True)
            container.props[step.name] = existing
        elif not isinstance(existing, _Object) or not _has_selectors(existing, step.selectors):
            conflicts.append(Conflict(_describe(trail), _first_cell(existing, cell), cell))
            return
        container = existing


def _has_selectors(node: _Object, selectors: tuple[tuple[str, str], ...]) -> bool:
    for key, value in selectors:
        leaf = node.props.get(key)
        if not isinstance(leaf, _Leaf) or leaf.value != value:
            return False
    return True


def _describe(trail: list[Any]) -> str:
    return ".".join(map(str, trail))


def _first_cell(node: _Node, fallback: CellRef) -> CellRef:
    return node.cell or fallback


def _render_object(node: _Object, tokens: list[str | int], columns: ColumnMap) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in node.props.items():
        out[name] = _render(child, [*tokens, name], columns)
    return out


def _render(node: _Node, tokens: list[str | int], columns: ColumnMap) -> Any:
    if isinstance(node, _Leaf):
        if node.cell is not None:
            columns.record(tokens, node.cell, named=not node.selector)
        return node.value
    if isinstance(node, _Object):
        if node.cell is not None and not node.props:
            columns.record(tokens, node.cell)
        return _render_object(node, tokens, columns)
    items: list[Any] = []
    for group in node.groups.values():
        for index in sorted(group):
            items.append(_render(group[index], [*tokens, len(items)], columns))
    return items
