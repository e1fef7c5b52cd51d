"""A row schema compiled to column checks: which rows of a batch the schema may refuse.

Checking a row against a JSON Schema costs a call and a dict per row. A batch of rows read by
column (:class:`~feeds_kit.rows.RowBatch`) can be checked a column at a time instead, mostly in
C: ``set(map(type, column))`` for types, ``min``/``max`` for bounds, the distinct values only
for enums and patterns. The answer is a set of *suspect* positions: every row the schema could
refuse is in it (rows outside it are certainly valid); a suspect may still be valid, because
the row-by-row path decides and words every finding. So the checks may be conservative, never
lax.

Only the keywords the row schemas use are compiled; a schema using any other one (``allOf``,
``if``, ``multipleOf``, ...) compiles to ``None`` and its rows are checked one by one.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema_rs

from feeds_kit.rows import ABSENT

__all__ = ["ColumnSchema", "compile_columns", "present_positions"]

# Keywords that say nothing about validity (or that name our own extensions, x-...).
_NOTES = frozenset(
    ("$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated",
     "readOnly", "writeOnly")
)
_PROPERTY_KEYWORDS = frozenset(
    ("type", "minLength", "maxLength", "pattern", "enum", "format", "minimum", "maximum",
     "exclusiveMinimum", "exclusiveMaximum")
)
_TOP_KEYWORDS = frozenset(
    ("type", "properties", "required", "dependentRequired", "additionalProperties")
)
# The Python types a row value may have and be certain to pass the JSON type (exact types:
# a bool is not a number here, a float is left to the row path).
_TYPES: Mapping[str, frozenset[type]] = {
    "string": frozenset((str,)),
    "integer": frozenset((int,)),
    "number": frozenset((int, Decimal)),
}
_DATE_TYPES = frozenset((dt.date, dt.datetime))

#: Positions ``k`` of a batch of ``size`` rows where a check failed.
Suspects = set[int]
#: A compiled check: (column, its present values, suspects to add to).
_Check = Callable[[list[Any], list[Any], Suspects], None]


def present_positions(column: Sequence[Any]) -> list[int]:
    """The positions of a column that hold a value (not :data:`~feeds_kit.rows.ABSENT`)."""
    return list(itertools.compress(itertools.count(), map(operator.is_not, column,
                                                          itertools.repeat(ABSENT))))


def _is_note(keyword: str) -> bool:
    return keyword in _NOTES or keyword.startswith("x-")


def _positions(column: list[Any], bad: Callable[[Any], bool]) -> list[int]:
    """The positions whose present value ``bad`` refuses (only called when a bulk test failed)."""
    absent = ABSENT
    found: list[int] = []
    for k, value in enumerate(column):
        if value is absent:
            continue
        try:
            if bad(value):
                found.append(k)
        except (TypeError, ArithmeticError):
            found.append(k)
    return found


def _type_check(allowed: frozenset[type]) -> _Check:
    allowed_or_absent = allowed | {type(ABSENT)}

    def check(column: list[Any], present: list[Any], suspects: Suspects) -> None:
        if not set(map(type, present)) <= allowed:
            suspects.update(itertools.compress(itertools.count(), map(
                operator.not_, map(allowed_or_absent.__contains__, map(type, column)))))

    return check


def _breaks(keep: Callable[[Any, Any], bool], limit: Any, value: Any) -> bool:
    return not keep(value, limit)


def _range_check(spec: Mapping[str, Any]) -> _Check | None:
    """``minimum``/``exclusiveMinimum`` and ``maximum``/``exclusiveMaximum`` as one check."""
    bounds: list[tuple[Callable[[Any, Any], bool], Any, Callable[..., Any], float]] = []
    for keyword, keep, extreme, neutral in (
        ("minimum", operator.ge, min, math.inf),
        ("exclusiveMinimum", operator.gt, min, math.inf),
        ("maximum", operator.le, max, -math.inf),
        ("exclusiveMaximum", operator.lt, max, -math.inf),
    ):
        if keyword in spec:
            limit = spec[keyword]
            if isinstance(limit, bool) or not isinstance(limit, (int, float)):
                return None
            # neutral: what a blank cell is compared as, a value that keeps the bound.
            bounds.append((keep, limit, extreme, neutral))
    if not bounds:
        return None

    def check(column: list[Any], present: list[Any], suspects: Suspects) -> None:
        for keep, limit, extreme, neutral in bounds:
            try:
                if keep(extreme(present), limit):
                    continue
                values = [neutral if v is ABSENT else v for v in column]
                kept = list(map(keep, values, itertools.repeat(limit)))
            except (TypeError, ArithmeticError):
                # A NaN or a value of another type somewhere: one by one.
                suspects.update(_positions(column, functools.partial(_breaks, keep, limit)))
                continue
            suspects.update(itertools.compress(itertools.count(), map(operator.not_, kept)))

    return check


def _length_check(minimum: int | None, maximum: int | None) -> _Check:
    low = 0 if minimum is None else minimum
    high = math.inf if maximum is None else maximum

    def check(column: list[Any], present: list[Any], suspects: Suspects) -> None:
        try:
            lengths = list(map(len, present))
            if low <= min(lengths) and max(lengths) <= high:
                return
        except TypeError:
            pass  # not all text: the type check has made those rows suspects
        suspects.update(k for k, v in enumerate(column)
                        if type(v) is str and not low <= len(v) <= high)

    return check


def _distinct_check(accept: Callable[[Any], bool]) -> _Check:
    """For rules on few distinct values (enums, patterns): each distinct value tested once,
    answers remembered across batches (up to a bound, for columns that never repeat)."""
    known: dict[Any, bool] = {}

    def check(column: list[Any], present: list[Any], suspects: Suspects) -> None:
        refused: set[Any] = set()
        for value in set(present):
            # Keys by (type, value): 1 and True share a dict slot, not a verdict.
            key = (type(value), value)
            verdict = known.get(key)
            if verdict is None:
                try:
                    verdict = bool(accept(value))
                except (TypeError, ValueError):
                    verdict = False
                if len(known) < 10_000:
                    known[key] = verdict
            if not verdict:
                refused.add(key)
        if refused:
            # Equal values of other types (1, 1.0, True) share a set slot: test types after.
            values = {value for _kind, value in refused}
            suspects.update(
                k for k in itertools.compress(itertools.count(), map(values.__contains__, column))
                if (type(column[k]), column[k]) in refused
            )

    return check


def _property_checks(spec: Mapping[str, Any]) -> list[_Check] | None:
    keywords = {k for k in spec if not _is_note(k)}
    if not keywords <= _PROPERTY_KEYWORDS:
        return None
    json_type = spec.get("type")
    if not isinstance(json_type, str) or json_type not in _TYPES:
        return None
    checks: list[_Check] = []
    fmt = spec.get("format")
    if fmt is not None:
        # Dates come from the reader as dates; their ISO text always passes "format": "date".
        # Text in a date column is left to the row path (it is an error there).
        if fmt != "date" or json_type != "string" or keywords & {
            "minLength", "maxLength", "pattern", "enum"
        }:
            return None
        return [_type_check(_DATE_TYPES)]
    checks.append(_type_check(_TYPES[json_type]))
    if "minLength" in spec or "maxLength" in spec:
        checks.append(_length_check(spec.get("minLength"), spec.get("maxLength")))
    if "pattern" in spec:
        # Amazon's (and JSON Schema's) regular expressions are ECMA 262, not Python's: the
        # validator that checks rows one by one answers for each distinct value.
        pattern = jsonschema_rs.validator_for({"type": "string", "pattern": spec["pattern"]})
        checks.append(_distinct_check(pattern.is_valid))
    if "enum" in spec:
        options = spec["enum"]
        if not all(isinstance(o, str) for o in options):
            return None
        allowed = frozenset(options)
        checks.append(_distinct_check(lambda v: type(v) is str and v in allowed))
    if keywords & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        ranged = _range_check(spec)
        if ranged is None:
            return None
        checks.append(ranged)
    return checks


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """A row schema as column checks (see :func:`compile_columns`)."""

    checks: Mapping[str, Sequence[_Check]]
    required: frozenset[str]
    dependent: Mapping[str, tuple[str, ...]]
    closed: bool

    def suspects(self, fields: Sequence[str], columns: Sequence[list[Any]],
                 size: int) -> Suspects:
        """The positions of a batch the schema might refuse.

        ``columns[i]`` holds field ``fields[i]`` for ``size`` rows, :data:`ABSENT` for a blank
        cell. A blank row is a suspect (it lacks the required fields): the caller tells blank
        rows from rows missing a field.
        """
        suspects: Suspects = set()
        by_field = dict(zip(fields, columns, strict=True))
        for name in self.required:
            needed = by_field.get(name)
            if needed is None:
                return set(range(size))
            if ABSENT in needed:
                suspects.update(k for k, v in enumerate(needed) if v is ABSENT)
        for name, column in by_field.items():
            checks = self.checks.get(name)
            if checks is None:
                if self.closed:
                    suspects.update(present_positions(column))
                continue
            present = list(itertools.compress(column, map(operator.is_not, column,
                                                          itertools.repeat(ABSENT))))
            if present:
                for check in checks:
                    check(column, present, suspects)
        for name, others in self.dependent.items():
            given = by_field.get(name)
            if given is None:
                continue
            having = present_positions(given)
            if not having:
                continue
            for other in others:
                other_column = by_field.get(other)
                if other_column is None:
                    suspects.update(having)
                    break
                suspects.update(k for k in having if other_column[k] is ABSENT)
        return suspects


def compile_columns(schema: Mapping[str, Any]) -> ColumnSchema | None:
    """Compile a row schema to column checks; ``None`` when it uses a keyword they lack."""
    keywords = {k for k in schema if not _is_note(k)}
    if not keywords <= _TOP_KEYWORDS or schema.get("type", "object") != "object":
        return None
    additional = schema.get("additionalProperties", True)
    if additional not in (True, False):
        return None
    checks: dict[str, list[_Check]] = {}
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, Mapping):
            return None
        compiled = _property_checks(spec)
        if compiled is None:
            return None
        checks[name] = compiled
    dependent: dict[str, tuple[str, ...]] = {}
    for name, needed in (schema.get("dependentRequired") or {}).items():
        dependent[name] = tuple(needed)
    return ColumnSchema(
        checks=checks,
        required=frozenset(schema.get("required") or ()),
        dependent=dependent,
        closed=additional is False,
    )
