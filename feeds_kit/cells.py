"""Cell normalisation: the value a seller meant, per the field's type in the row schema.

A spreadsheet cell arrives as whatever the reader produced: ``str`` from a CSV, ``float`` /
``int`` / ``bool`` / ``date`` / ``datetime`` from a workbook. :func:`converter_for` turns a
field's schema (``type``, ``format``, ``x-format``, ``enum``) into one small function, built once
per column, that maps a cell value to

* the normalised value (the fast path: a ``str`` SKU, a ``Decimal`` price, an ``int`` quantity,
  a ``date``, a marketplace id, an enum's canonical value), or
* :data:`BLANK` for a cell that holds nothing but spaces (blank means "leave unchanged"), or
* a :class:`Finding` when the cell needed a word: with a usable ``value`` and warnings
  (``$19.99`` read as 19.99), or without a value and an error (``"12,99"``).

Converters never raise for bad data and never build an :class:`~feeds_kit.issues.Issue`
themselves: the reader adds the location (file, sheet, row, column, SKU) only on the rare slow
path, which keeps the per-row loop tight.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final

from feeds_kit.issues import Issue as _Issue
from feeds_kit.issues import IssueType, Location, Severity
from feeds_kit.marketplaces import MARKETPLACES, find_marketplace
from feeds_kit.rows import ABSENT as _ABSENT

__all__ = [
    "ABSENT",
    "BLANK",
    "EXCEL_ERRORS",
    "MISSING",
    "CellResult",
    "ColumnConverter",
    "Converter",
    "Finding",
    "Problem",
    "base_converter",
    "canonical",
    "column_converter",
    "column_converter_for",
    "converter_for",
    "error_value_problem",
    "formula_problem",
    "is_blank",
    "normalize",
    "problem_issue",
    "shown",
]


# --- issue catalogue --------------------------------------------------------------------------

SKU_TYPED_AS_NUMBER = IssueType(
    code="sku-typed-as-number",
    title="SKU stored as a number",
    message="SKU {shown} is stored as a number, so Excel may have dropped leading zeros or digits",
    hint="format the SKU column as Text and type the SKU exactly as in Seller Central",
    description=(
        "Excel turns a SKU such as 00123 into the number 123 unless the column is formatted as "
        "Text. feeds-kit reads the number as the SKU without a decimal part (12345, never "
        "12345.0) and warns, because a SKU that lost its leading zeros names another listing."
    ),
    severity=Severity.WARNING,
    tags=("cell", "sku"),
)
SKU_TYPED_AS_DATE = IssueType(
    code="sku-typed-as-date",
    title="SKU turned into a date",
    message="the SKU cell holds the date {shown}: Excel turned the SKU into a date",
    hint="format the SKU column as Text and type the SKU again exactly as in Seller Central",
    description=(
        "Excel reads SKUs such as MAR-1 or 1/2 as dates. The original text is lost, so the row "
        "cannot be sent until the SKU is typed again in a Text column."
    ),
    tags=("cell", "sku"),
)
SKU_TRIMMED = IssueType(
    code="sku-trimmed",
    title="Spaces around the SKU",
    message="SKU {shown} has spaces around it; it was read as \"{sku}\"",
    hint="remove the spaces so the SKU matches Seller Central exactly",
    description=(
        "Spaces before or after a SKU are invisible in Excel but make a different SKU. feeds-kit "
        "removes them and warns; spaces inside the SKU are kept."
    ),
    severity=Severity.WARNING,
    tags=("cell", "sku"),
)
NUMBER_WITH_CURRENCY = IssueType(
    code="number-with-currency",
    title="Currency written with the number",
    message="{shown} carries the currency {currency}; it was read as {number}",
    hint="write the number alone ({number}) and the currency in a Currency column",
    description=(
        "A price such as $19.99 or 19.99 EUR is read as 19.99. The currency itself is not taken "
        "from the cell: it comes from the Currency column or the marketplace."
    ),
    severity=Severity.WARNING,
    tags=("cell", "number"),
)
NUMBER_THOUSANDS_SEPARATOR = IssueType(
    code="number-thousands-separator",
    title="Thousands separator in a number",
    message="{shown} has thousands separators; it was read as {number}",
    hint="write {number}",
    description=(
        "1,299.00 is read as 1299.00. A comma followed by exactly three digits is taken as a "
        "thousands separator, so check the value if you meant a decimal comma."
    ),
    severity=Severity.WARNING,
    tags=("cell", "number"),
)
NUMBER_DECIMAL_COMMA = IssueType(
    code="number-decimal-comma",
    title="Decimal comma",
    message="{shown} is not a number",
    hint="write {suggest}",
    description=(
        "Amazon reads numbers with a dot as the decimal separator. 12,99 could be twelve and "
        "ninety-nine hundredths or a typo for 1299, so feeds-kit does not guess: write 12.99."
    ),
    tags=("cell", "number"),
)
NOT_A_NUMBER = IssueType(
    code="not-a-number",
    title="Not a number",
    message="{shown} is not a number",
    hint="write a number with a dot for decimals, e.g. {example}",
    description="The column holds amounts or counts; the cell holds text that is not a number.",
    tags=("cell", "number"),
)
NOT_A_WHOLE_NUMBER = IssueType(
    code="not-a-whole-number",
    title="Not a whole number",
    message="{shown} is not a whole number",
    hint="write a whole number such as {suggest}",
    description="Quantities and handling times are counted in whole units or days.",
    tags=("cell", "number"),
)
DATE_AS_TEXT = IssueType(
    code="date-as-text",
    title="Date written as text",
    message="{shown} is a date written as text, which reads differently in different countries",
    hint="write it as YYYY-MM-DD (e.g. 2026-12-01) or format the cell as a date",
    description=(
        "12/01/2026 is December 1st in the US and January 12th in Europe. feeds-kit never "
        "guesses: type dates as YYYY-MM-DD or use Excel date cells."
    ),
    tags=("cell", "date"),
)
NOT_A_DATE = IssueType(
    code="not-a-date",
    title="Not a date",
    message="{shown} is not a date",
    hint="write the date as YYYY-MM-DD (e.g. 2026-12-01) or format the cell as a date",
    description="The column holds a day; the cell holds something that is not one.",
    tags=("cell", "date"),
)
DATE_WITH_TIME = IssueType(
    code="date-with-time",
    title="Date with a time of day",
    message="{shown} has a time of day, but the column holds a day",
    hint="give the day only, as YYYY-MM-DD",
    description=(
        "Amazon takes these dates as whole days. A time of day usually means the cell holds "
        "something else than intended (a formula result, a timestamp), so feeds-kit asks."
    ),
    tags=("cell", "date"),
)
NOT_ALLOWED_VALUE = IssueType(
    code="not-allowed-value",
    title="Value not allowed",
    message="{shown} is not one of the allowed values",
    hint="use one of: {allowed}",
    description="The column takes a fixed list of values (any case; common synonyms accepted).",
    tags=("cell", "enum"),
)
NOT_A_BOOLEAN = IssueType(
    code="not-a-boolean",
    title="Not yes or no",
    message="{shown} is not a yes/no value",
    hint="write yes or no (true/false and 1/0 work too)",
    description="The column holds a yes/no value.",
    tags=("cell",),
)
UNKNOWN_MARKETPLACE = IssueType(
    code="unknown-marketplace",
    title="Unknown marketplace",
    message="{shown} is not a marketplace Amazon knows",
    hint="use a country code ({codes}) or a marketplace id such as ATVPDKIKX0DER",
    description=(
        "Marketplaces are accepted as Amazon's marketplace id (ATVPDKIKX0DER), a country code "
        "(US, UK or GB, DE), a domain (amazon.de) or a country name."
    ),
    tags=("cell", "marketplace"),
)
EXCEL_ERROR_VALUE = IssueType(
    code="excel-error-value",
    title="Excel error in a cell",
    message="the cell shows the Excel error {shown}",
    hint="fix the formula, or type the value itself",
    description=(
        "Cells showing #N/A, #REF!, #VALUE!, #DIV/0! and the like carry no value to send."
    ),
    tags=("cell", "formula"),
)
NUMBER_TOO_LONG = IssueType(
    code="number-too-long",
    title="Number with too many digits",
    message="{shown} has {digits} digits, more than any price or count can have",
    hint="write the amount itself, at most {whole} digits before the decimal point, e.g. {example}",
    description=(
        "A number with more than 15 digits before the decimal point, or more than 28 digits in "
        "all, is no price or count: usually a code, an ID or a pasted block landed in the cell. "
        "Such numbers are refused rather than rounded."
    ),
    tags=("cell", "number"),
)
FORMULA_WITHOUT_VALUE = IssueType(
    code="formula-without-value",
    title="Formula without a computed value",
    message="the cell holds {formula} but no computed value",
    hint=(
        "open the file in Excel and save it so the results are stored, "
        "or replace the formulas by their values (Paste Special > Values)"
    ),
    description=(
        "Files written by scripts (openpyxl, some exports) keep formulas without their results. "
        "feeds-kit does not compute formulas, so such a cell has no value to send."
    ),
    tags=("cell", "formula"),
)


# --- results --------------------------------------------------------------------------------

class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False


#: :attr:`Finding.value` when the cell could not be normalised (an error).
MISSING: Final = _Sentinel("MISSING")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a cell, before it has a location: its type and template parameters."""

    type: IssueType
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Finding:
    """A converter's answer when the cell needs a word: ``value`` (or :data:`MISSING`) and why."""

    value: Any
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when the cell still yields a value (only warnings)."""
        return self.value is not MISSING


#: A converter's answer for a cell that holds nothing (spaces only): the field stays absent.
#: It is a :class:`Finding` (without value or problems) so the reader's loop tests one type.
BLANK: Final = Finding(MISSING, ())

Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class CellResult:
    """What :func:`normalize` made of one cell: the value (or ``None``) and the problems."""

    value: Any
    problems: tuple[Problem, ...] = ()

    @property
    def codes(self) -> list[str]:
        return [p.type.code for p in self.problems]


# --- small helpers ---------------------------------------------------------------------------

#: Excel's error values, as Excel shows them (also how CSV exports write them).
EXCEL_ERRORS: Final[frozenset[str]] = frozenset(
    {
        "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
        "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
        "#PYTHON!", "#EXTERNAL!",
    }
)

# Spaces a spreadsheet may carry around numbers: ordinary, no-break, narrow no-break, figure.
_SPACES = " \t\r\n\u00a0\u202f\u2007"


def canonical(value: Any) -> Any:
    """A cell value in the form both workbook engines agree on.

    calamine reads 12345 as ``12345.0`` and a date as ``date``; openpyxl as ``12345`` and a
    ``datetime`` at midnight. Issues and unknown-column values use this form so that the same
    file gives the same records whichever engine read it.
    """
    if type(value) is float:
        if value.is_integer():
            return int(value)
        return value
    if type(value) is datetime and not (value.hour or value.minute or value.second
                                        or value.microsecond):
        return value.date()
    if type(value) is str:
        return value
    return value


#: Messages quote text of up to this many characters whole; longer text is cut to
#: :data:`SHOWN_HEAD` characters and its length, so one 40,000-character cell stays one line.
SHOWN_LIMIT: Final = 60
SHOWN_HEAD: Final = 40


def int_text(value: int) -> str:
    """An integer as text, or a few words for one too long to write out."""
    # str() refuses ints of more than 4,300 digits (Python's guard against quadratic
    # conversion); such a number is noise, so it is described rather than written out.
    if value.bit_length() > 14_000:
        return f"a number of about {int(value.bit_length() * 0.30103):,} digits"
    return str(value)


def shown(value: Any) -> str:
    """How a message quotes a cell value: text in double quotes, numbers and dates as Excel
    shows them (``12345``, never ``12345.0``); long text cut: ``"SSSS…" (40,000 characters)``."""
    value = canonical(value)
    if value is None:
        return "a blank cell"
    if isinstance(value, str):
        if len(value) > SHOWN_LIMIT:
            return f'"{value[:SHOWN_HEAD]}…" ({len(value):,} characters)'
        return f'"{value}"'
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    text = int_text(value) if isinstance(value, int) else str(value)
    if len(text) > SHOWN_LIMIT:
        return f"{text[:SHOWN_HEAD]}… ({len(text):,} characters)"
    return text


def is_blank(value: Any) -> bool:
    """True for ``None``, ``""`` and text made only of spaces."""
    if value is None or value == "":
        return True
    return type(value) is str and not value.strip(_SPACES)


def _fail(type_: IssueType, **params: Any) -> Finding:
    return Finding(MISSING, (Problem(type_, params),))


def _warn(value: Any, *problems: Problem) -> Finding:
    return Finding(value, problems)


def _excel_error(text: str) -> Finding | None:
    """An Excel error value typed or exported as text (``#N/A`` in a CSV), else ``None``."""
    if text[:1] == "#" or text.strip(_SPACES)[:1] == "#":
        stripped = text.strip(_SPACES)
        if stripped.upper() in EXCEL_ERRORS:
            return _fail(EXCEL_ERROR_VALUE, shown=stripped)
    return None


def _memoized(convert: Converter, limit: int = 4096) -> Converter:
    """Remember a converter's answers for text values: marketplaces, currencies, channels and
    dates repeat on every row, and their answers (values and findings) never change."""
    cache: dict[str, Any] = {}

    def memo(value: Any) -> Any:
        if type(value) is str:
            hit = cache.get(value)
            if hit is None:
                hit = convert(value)
                if len(cache) < limit:
                    cache[value] = hit
            return hit
        return convert(value)

    return memo


def _memoized_numbers(convert: Converter, limit: int = 1 << 16) -> Converter:
    """Like :func:`_memoized`, also for floats and ints (prices and quantities repeat).

    One cache per type: ``True == 1`` and ``1.0 == 1`` share a hash, and a boolean must not
    be answered with the number's result.
    """
    floats: dict[float, Any] = {}
    ints: dict[int, Any] = {}
    texts: dict[str, Any] = {}

    def memo(value: Any) -> Any:
        kind = type(value)
        cache = floats if kind is float else ints if kind is int else texts if kind is str else (
            None
        )
        if cache is None:
            return convert(value)
        hit = cache.get(value)
        if hit is None:
            hit = convert(value)
            if len(cache) < limit:
                cache[value] = hit
        return hit

    return memo


# --- numbers ---------------------------------------------------------------------------------

# ASCII only: \d would take other scripts' digits ("٣") and \s control characters ("\x1f"),
# which Decimal() and int() read differently or refuse.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
# One separator kind per number: "1,299,000.50", "1 299.50", "1'299.50".
_THOUSANDS = re.compile(
    r"[+-]?\d{1,3}(?:(?P<sep>[,'\u00a0\u202f ])\d{3})(?:(?P=sep)\d{3})*(?:\.\d+)?",
    re.ASCII,
)
_DECIMAL_COMMA = re.compile(
    r"[+-]?(?:\d{1,3}(?:(?P<sep>[.'\u00a0\u202f ])\d{3})(?:(?P=sep)\d{3})*|\d+),\d+",
    re.ASCII,
)
_GROUP_CHARS = str.maketrans("", "", ",.'\u00a0\u202f ")
_THOUSANDS_CHARS = str.maketrans("", "", ",'\u00a0\u202f ")

_CURRENCY_CODES: Final[frozenset[str]] = frozenset(
    {m.currency for m in MARKETPLACES} | {"USD", "EUR", "GBP", "CHF", "CNY", "DKK", "NOK", "CZK"}
)
# Longest first, so "US$" wins over "$".
_CURRENCY_SYMBOLS: Final[tuple[str, ...]] = tuple(
    sorted(
        {"US$", "CA$", "C$", "A$", "AU$", "S$", "SG$", "MX$", "R$", "E£", "$", "€", "£", "¥",
         "￥", "₹", "zł", "kr", "₺", "د.إ", "ر.س", "ج.م"},
        key=len,
        reverse=True,
    )
)


def _strip_currency(text: str) -> tuple[str, str | None]:
    """Split a glued currency symbol or ISO code off ``text``: ``("19.99", "$")``."""
    for sym in _CURRENCY_SYMBOLS:
        if text.startswith(sym):
            return text[len(sym):].strip(_SPACES), sym
        if text.endswith(sym):
            return text[: -len(sym)].strip(_SPACES), sym
    head, tail = text[:3], text[-3:]
    if head.upper() in _CURRENCY_CODES and head.isalpha():
        return text[3:].strip(_SPACES), head.upper()
    if tail.upper() in _CURRENCY_CODES and tail.isalpha():
        return text[:-3].strip(_SPACES), tail.upper()
    return text, None


def _parse_number_text(text: str) -> Decimal | Finding:
    """A number typed as text, forgiving what is unambiguous and refusing what is not."""
    body = text.strip(_SPACES)
    if _PLAIN_NUMBER.fullmatch(body):
        return Decimal(body)
    error = _excel_error(body)
    if error is not None:
        return error
    body, currency = _strip_currency(body)
    problems: list[Problem] = []
    number: Decimal | None = None
    if _PLAIN_NUMBER.fullmatch(body):
        number = Decimal(body)
    elif _THOUSANDS.fullmatch(body):
        number = Decimal(body.translate(_THOUSANDS_CHARS))
        problems.append(
            Problem(NUMBER_THOUSANDS_SEPARATOR, {"shown": shown(text), "number": str(number)})
        )
    elif _DECIMAL_COMMA.fullmatch(body):
        whole, _, frac = body.rpartition(",")
        suggest = whole.translate(_GROUP_CHARS) + "." + frac
        return _fail(NUMBER_DECIMAL_COMMA, shown=shown(text), suggest=suggest)
    else:
        return _fail(NOT_A_NUMBER, shown=shown(text), example="19.99")
    if currency is not None:
        problems.insert(
            0,
            Problem(
                NUMBER_WITH_CURRENCY,
                {"shown": shown(text), "currency": currency, "number": str(number)},
            ),
        )
    return _warn(number, *problems)


#: The most digits a number may have before its decimal point (Excel keeps 15 significant
#: digits) and in all (Decimal's default precision: beyond it arithmetic rounds silently).
MAX_WHOLE_DIGITS: Final = 15
MAX_DIGITS: Final = 28
_WHOLE_LIMIT: Final = 10**MAX_WHOLE_DIGITS
_FLOAT_LIMIT: Final = float(_WHOLE_LIMIT)


def _too_long(number: Decimal, value: Any, example: str) -> Finding | None:
    """The :data:`NUMBER_TOO_LONG` error when ``number`` (finite) has absurdly many digits."""
    digits = len(number.as_tuple().digits)
    if number.adjusted() >= MAX_WHOLE_DIGITS or digits > MAX_DIGITS:
        return _fail(
            NUMBER_TOO_LONG,
            shown=shown(value),
            digits=f"{max(digits, number.adjusted() + 1):,}",
            whole=MAX_WHOLE_DIGITS,
            example=example,
        )
    return None


def _convert_number(value: Any) -> Any:
    """Money and other decimals → ``Decimal``, keeping the decimals the seller typed."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            return _fail(NOT_A_NUMBER, shown=shown(value), example="19.99")
        if -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
            if value.is_integer():
                return Decimal(int(value))
            # repr() is the shortest text that reads back as the same float: 19.99 stays 19.99
            # where Decimal(19.99) would be 19.989999999999998436805981327779591083526611328125.
            return Decimal(repr(value))
        return _too_long(Decimal(repr(value)), value, "19.99")
    if kind is str:
        if _PLAIN_NUMBER.fullmatch(value):
            number = Decimal(value)
            if len(value) > MAX_WHOLE_DIGITS:
                return _too_long(number, value, "19.99") or number
            return number
        if is_blank(value):
            return BLANK
        parsed = _parse_number_text(value)
        number = parsed.value if isinstance(parsed, Finding) else parsed
        if type(number) is Decimal:
            return _too_long(number, value, "19.99") or parsed
        return parsed
    if kind is int:
        if -_WHOLE_LIMIT < value < _WHOLE_LIMIT:
            return Decimal(value)
        return _too_long(Decimal(value), value, "19.99")
    if kind is Decimal:
        if not value.is_finite():
            return _fail(NOT_A_NUMBER, shown=shown(value), example="19.99")
        return _too_long(value, value, "19.99") or value
    return _fail(NOT_A_NUMBER, shown=shown(value), example="19.99")


_DIGITS = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)
_INT_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?", re.ASCII)


def _whole_suggestion(number: Decimal | float) -> str:
    low = math.floor(number)
    return f"{low} or {low + 1}"


def _whole(number: Decimal, value: Any, problems: tuple[Problem, ...] = ()) -> Any:
    """A finite Decimal as a count: too long, not whole, or the ``int`` (with ``problems``)."""
    too_long = _too_long(number, value, "10")
    if too_long is not None:
        return too_long
    if number != number.to_integral_value():
        return _fail(NOT_A_WHOLE_NUMBER, shown=shown(value), suggest=_whole_suggestion(number))
    return _warn(int(number), *problems) if problems else int(number)


def _convert_integer(value: Any) -> Any:
    """Counts → ``int``: ``10``, ``10.0`` and ``"10"`` are 10; ``2.5`` is refused."""
    kind = type(value)
    if kind is int:
        if -_WHOLE_LIMIT < value < _WHOLE_LIMIT:
            return value
        return _too_long(Decimal(value), value, "10")
    if kind is float:
        if not math.isfinite(value):
            return _fail(NOT_A_NUMBER, shown=shown(value), example="10")
        if -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
            if value.is_integer():
                return int(value)
            return _fail(NOT_A_WHOLE_NUMBER, shown=shown(value), suggest=_whole_suggestion(value))
        return _too_long(Decimal(repr(value)), value, "10")
    if kind is str:
        if len(value) <= MAX_WHOLE_DIGITS and _DIGITS.fullmatch(value):
            return int(value)
        text = value.strip(_SPACES)
        if _INT_TEXT.fullmatch(text):
            return _whole(Decimal(text), value)
        if not text:
            return BLANK
        parsed = _parse_number_text(text)
        if isinstance(parsed, Finding):
            if not parsed.ok:
                problem = parsed.problems[0]
                if problem.type is NOT_A_NUMBER:
                    return _fail(NOT_A_NUMBER, shown=shown(value), example="10")
                if problem.type is NUMBER_DECIMAL_COMMA:
                    number = Decimal(problem.params["suggest"])
                    too_long = _too_long(number, value, "10")
                    if too_long is not None:
                        return too_long
                    if number != number.to_integral_value():
                        return _fail(
                            NOT_A_WHOLE_NUMBER,
                            shown=shown(value),
                            suggest=_whole_suggestion(number),
                        )
                    return _fail(
                        NUMBER_DECIMAL_COMMA, shown=shown(value), suggest=str(int(number))
                    )
                return parsed
            if any(p.type is NUMBER_WITH_CURRENCY for p in parsed.problems):
                return _fail(NOT_A_NUMBER, shown=shown(value), example="10")
            number = parsed.value
            if _too_long(number, value, "10") is None and number == number.to_integral_value():
                problems = tuple(
                    Problem(p.type, {**p.params, "number": str(int(number))})
                    for p in parsed.problems
                )
            else:
                problems = parsed.problems
            return _whole(number, value, problems)
        return _whole(parsed, value)
    if kind is Decimal:
        if not value.is_finite():
            return _fail(NOT_A_WHOLE_NUMBER, shown=shown(value), suggest="10")
        return _whole(value, value)
    return _fail(NOT_A_NUMBER, shown=shown(value), example="10")


# --- dates -----------------------------------------------------------------------------------

_ISO_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]00:?00)?)?",
    re.ASCII,
)
_DATE_LIKE = re.compile(
    r"\d{1,4}\s*[./\-]\s*\d{1,2}\s*[./\-]\s*\d{1,4}(?:\s.*)?|\d{8}|\d{4}/\d{1,2}/\d{1,2}.*",
    re.ASCII,
)
_MONTH_WORDS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|"
    r"june|july|august|september|october|november|december|janv|févr|fevr|mars|avr|mai|juin|"
    r"juil|août|aout|sept|déc|januar|februar|märz|maerz|juni|juli|oktober|dezember|ene|abr|"
    r"ago|dic|gen|mag|giu|lug|ott)\.?\b",
    re.IGNORECASE,
)


def _convert_date(value: Any) -> Any:
    """Days → ``date``: Excel date cells, datetimes at midnight, ``YYYY-MM-DD`` text."""
    kind = type(value)
    if kind is date:
        return value
    if kind is datetime:
        if value.hour or value.minute or value.second or value.microsecond:
            return _fail(DATE_WITH_TIME, shown=shown(value))
        return value.date()
    if kind is str:
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass  # not a real day (2026-02-30): the slow path says so
        text = value.strip(_SPACES)
        if not text:
            return BLANK
        match = _ISO_DATE.fullmatch(text)
        if match:
            year, month, day, hour, minute, second = match.groups()
            try:
                day_value = date(int(year), int(month), int(day))
            except ValueError:
                return _fail(NOT_A_DATE, shown=shown(value))
            if (hour and int(hour)) or (minute and int(minute)) or (second and int(second)):
                return _fail(DATE_WITH_TIME, shown=shown(value))
            return day_value
        error = _excel_error(text)
        if error is not None:
            return error
        if _DATE_LIKE.fullmatch(text) or (_MONTH_WORDS.search(text) and re.search(r"\d", text)):
            return _fail(DATE_AS_TEXT, shown=shown(value))
        return _fail(NOT_A_DATE, shown=shown(value))
    return _fail(NOT_A_DATE, shown=shown(value))


# --- text, SKU, enums, marketplaces, booleans ------------------------------------------------

def _number_as_text(value: int | float) -> str:
    if type(value) is float and value.is_integer():
        return str(int(value))
    return repr(value) if type(value) is float else int_text(int(value))


def _convert_string(value: Any) -> Any:
    """Plain text: trimmed silently; numbers written without a spurious ``.0``."""
    kind = type(value)
    if kind is str:
        text = value.strip(_SPACES)
        if text[:1] == "#":
            error = _excel_error(text)
            if error is not None:
                return error
        return text if text else BLANK
    if kind is float or kind is int:
        return _number_as_text(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is datetime or kind is date:
        return shown(value)
    return str(value)


def _convert_sku(value: Any) -> Any:
    """SKUs: text kept as typed (trimmed with a warning); numbers without ``.0``, with a warning."""
    kind = type(value)
    if kind is str:
        text = value.strip(_SPACES)
        if text == value and value[:1] != "#":
            return value
        if not text:
            return BLANK
        error = _excel_error(text)
        if error is not None:
            return error
        if text == value:
            return value
        return _warn(text, Problem(SKU_TRIMMED, {"shown": shown(value), "sku": text}))
    if (kind is float and math.isfinite(value)) or kind is int:
        sku = _number_as_text(value)
        return _warn(sku, Problem(SKU_TYPED_AS_NUMBER, {"shown": sku}))
    if kind is date or kind is datetime:
        return _fail(SKU_TYPED_AS_DATE, shown=shown(value))
    if kind is bool:
        return _fail(NOT_ALLOWED_VALUE, shown=shown(value), allowed="the SKU as text")
    return str(value)


def _convert_currency(value: Any) -> Any:
    converted = _convert_string(value)
    if isinstance(converted, str):
        return converted.upper()
    return converted


def _enum_key(text: str) -> str:
    return " ".join(re.sub(r"[\s_\-]+", " ", text).lower().split())


_PARENTHESES = re.compile(r"\s*\([^)]*\)")

#: Words sellers and Amazon's own templates use for an enum's canonical values (per field).
ENUM_SYNONYMS: Final[dict[str, dict[str, str]]] = {
    "fulfillment_channel": {
        "default": "DEFAULT",
        "mfn": "DEFAULT",
        "fbm": "DEFAULT",
        "merchant": "DEFAULT",
        "merchant fulfilled": "DEFAULT",
        "merchant fulfillment": "DEFAULT",
        "seller": "DEFAULT",
        "seller fulfilled": "DEFAULT",
        "fulfilled by merchant": "DEFAULT",
        "fulfillment by merchant": "DEFAULT",
        "fulfilment by merchant": "DEFAULT",
        "amazon": "AMAZON",
        "fba": "AMAZON",
        "afn": "AMAZON",
        "fulfilled by amazon": "AMAZON",
        "fulfillment by amazon": "AMAZON",
        "fulfilment by amazon": "AMAZON",
    },
}
#: Prefixes that mean a value (``AMAZON_NA``, ``AMAZON_EU_VCS``, ... are Amazon's AFN codes).
ENUM_PREFIXES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "fulfillment_channel": (("amazon ", "AMAZON"),),
}


def _enum_converter(field: str, spec: Mapping[str, Any]) -> Converter:
    allowed = [str(v) for v in spec.get("enum", [])]
    table: dict[str, str] = {}
    for value in allowed:
        table[_enum_key(value)] = value
    # The schema's own spellings (Amazon's templates: "PartialUpdate", "Create or Replace (Full
    # Update)"), exact first, then as any case and spacing.
    aliases = {
        str(word): str(value)
        for word, value in (spec.get("x-enum-aliases") or {}).items()
        if str(value) in allowed
    }
    for word, value in aliases.items():
        table.setdefault(_enum_key(word), value)
    for value, label in zip(allowed, spec.get("x-enum-labels", []), strict=False):
        table.setdefault(_enum_key(str(label)), value)
    for word, value in ENUM_SYNONYMS.get(field, {}).items():
        if value in allowed:
            table.setdefault(_enum_key(word), value)
    prefixes = tuple(
        (p, v) for p, v in ENUM_PREFIXES.get(field, ()) if v in allowed
    )
    exact = {**aliases, **{v: v for v in allowed}}
    allowed_text = ", ".join(allowed)

    def convert(value: Any) -> Any:
        if type(value) is str:
            hit = exact.get(value)
            if hit is not None:
                return hit
            text = value.strip(_SPACES)
            if not text:
                return BLANK
        elif value is None:
            return BLANK
        else:
            text = _number_as_text(value) if type(value) in (int, float) else str(value)
        key = _enum_key(text)
        hit = table.get(key)
        if hit is None:
            bare = _enum_key(_PARENTHESES.sub("", text))
            hit = table.get(bare)
            if hit is None:
                for prefix, target in prefixes:
                    if (key + " ").startswith(prefix) or (bare + " ").startswith(prefix):
                        hit = target
                        break
        if hit is None:
            return _excel_error(text) or _fail(
                NOT_ALLOWED_VALUE, shown=shown(value), allowed=allowed_text
            )
        return hit

    return _memoized(convert)


_MARKETPLACE_CODES = ", ".join(m.code for m in MARKETPLACES)


def _convert_marketplace(value: Any) -> Any:
    if type(value) is not str:
        return _fail(UNKNOWN_MARKETPLACE, shown=shown(value), codes=_MARKETPLACE_CODES)
    text = value.strip(_SPACES)
    if not text:
        return BLANK
    # Amazon's own templates write marketplaces as amzn1.mp.o.<MarketplaceId>.
    key = text[len("amzn1.mp.o."):] if text.startswith("amzn1.mp.o.") else text
    found = find_marketplace(key)
    if found is None:
        return _excel_error(text) or _fail(
            UNKNOWN_MARKETPLACE, shown=shown(value), codes=_MARKETPLACE_CODES
        )
    return found.id


_TRUE = frozenset({"true", "yes", "y", "1", "x", "enabled", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "disabled", "off"})


def _convert_boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    if type(value) in (int, float) and value in (0, 1):
        return bool(value)
    if type(value) is str:
        key = value.strip(_SPACES).lower()
        if not key:
            return BLANK
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        error = _excel_error(value)
        if error is not None:
            return error
    return _fail(NOT_A_BOOLEAN, shown=shown(value))


# --- converter factory -----------------------------------------------------------------------

def _schema_type(spec: Mapping[str, Any]) -> str | None:
    kind = spec.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else None
    return kind


#: How many distinct text values (marketplaces, currencies, dates, channels) a column remembers.
TEXT_MEMO: Final = 4096
#: How many distinct numbers (prices, quantities) a column remembers.
NUMBER_MEMO: Final = 8192


def base_converter(field: str, spec: Mapping[str, Any]) -> tuple[Converter, int]:
    """The plain converter of one field and how many of its answers are worth remembering
    (0: none, e.g. SKUs, which never repeat). :func:`converter_for` and
    :func:`column_converter_for` add the memory."""
    kind = _schema_type(spec)
    # Every converter treats Excel error text (#N/A in a CSV) as an error on the cell; fields
    # whose values repeat from row to row (marketplace, currency, dates, enums) are memoized.
    if field == "sku":
        return _convert_sku, 0
    if "enum" in spec:
        return _enum_converter(field, spec), TEXT_MEMO
    if spec.get("x-format") == "marketplace":
        return _convert_marketplace, TEXT_MEMO
    if spec.get("x-format") == "money" or kind == "number":
        return _convert_number, NUMBER_MEMO
    if kind == "integer":
        return _convert_integer, NUMBER_MEMO
    if spec.get("format") == "date":
        return _convert_date, TEXT_MEMO
    if kind == "boolean":
        return _convert_boolean, TEXT_MEMO
    if field == "currency" or spec.get("x-format") == "currency":
        return _convert_currency, TEXT_MEMO
    return _convert_string, 0


def converter_for(field: str, spec: Mapping[str, Any]) -> Converter:
    """The converter for one field, chosen once per column from its row-schema entry.

    The SKU (field ``sku``) has its own rules; otherwise ``enum`` wins, then
    ``x-format`` (``money``, ``marketplace``), ``format: date`` and the JSON type.
    """
    convert, memo = base_converter(field, spec)
    if not memo:
        return convert
    if convert is _convert_number or convert is _convert_integer:
        return _memoized_numbers(convert, memo)
    return _memoized(convert, memo)


#: A column converter's answer for an empty cell (``None`` or ``""``): the field stays absent.
#: Unlike :data:`BLANK` (a cell of spaces) it is no :class:`Finding`, so the reader's batch
#: loop can tell "nothing to say" from "a word needed" by one type test.
ABSENT: Final = _ABSENT

#: Converts a column of cells at once: the results in order, and the positions of those that
#: are :class:`Finding` objects (warnings, errors and cells of spaces).
ColumnConverter = Callable[[Sequence[Any]], tuple[list[Any], list[int]]]


def _numbers_in_bulk(values: list[Any]) -> list[Any] | None:
    """:func:`_convert_number` of a list in a few C-level passes, when every value takes its
    plain path (finite floats in range, plain decimal text not too long); else ``None``."""
    kinds = set(map(type, values))
    if kinds == {float}:
        if not all(map(math.isfinite, values)) or max(map(abs, values)) >= _FLOAT_LIMIT:
            return None
        out = list(map(Decimal, map(repr, values)))
        whole = list(map(float.is_integer, values))
        if any(whole):
            for i in itertools.compress(itertools.count(), whole):
                out[i] = Decimal(int(values[i]))
        return out
    if kinds == {str}:
        if max(map(len, values)) > MAX_WHOLE_DIGITS or not all(
            map(_PLAIN_NUMBER.fullmatch, values)
        ):
            return None
        return list(map(Decimal, values))
    return None


def _skus_in_bulk(values: list[Any]) -> list[Any] | None:
    """:func:`_convert_sku` of a list when every SKU is text kept as typed, else ``None``."""
    if set(map(type, values)) != {str}:
        return None
    if list(map(str.strip, values, itertools.repeat(_SPACES))) != values or any(
        map(operator.methodcaller("startswith", "#"), values)
    ):
        return None
    return values


#: A column cache learns every new answer until it holds this many, then only while the
#: column's values mostly repeat.
_TEACH_ALWAYS: Final = 4096

#: Below this many values a list is not worth halving again: each value is converted alone.
_BULK_LEAST: Final = 32

#: Converters with a bulk form: a list of values in, the same answers out (or ``None``: the
#: list needs the converter value by value).
_BULK: Final[dict[Converter, Callable[[list[Any]], list[Any] | None]]] = {
    _convert_number: _numbers_in_bulk,
    _convert_sku: _skus_in_bulk,
}


def column_converter(convert: Converter, memo: int = 0) -> ColumnConverter:
    """Wrap a cell converter to convert a whole column (a batch of rows) per call.

    Empty cells and, for a ``memo`` > 0, values seen before are answered by one C-level
    dictionary pass (``map(cache.get, cells)``); the new values are converted together, in
    bulk where the converter has a bulk form, else one call each. Findings are never
    remembered (they are rare and carry the cell's own wording). Keys that equal 0 or 1 are
    not remembered either: ``True == 1 == 1.0`` share a dictionary slot, and a boolean cell
    must not get a number's answer. Other numbers may share a slot (``2`` and ``2.0``): every
    converter gives them the same answer.
    """
    cache: dict[Any, Any] = {None: ABSENT, "": ABSENT}
    limit = memo + len(cache)
    get = cache.get
    finding = Finding
    bulk = _BULK.get(convert)

    def convert_all(values: list[Any]) -> list[Any]:
        if bulk is not None:
            done = bulk(values)
            if done is not None:
                return done
            if len(values) > _BULK_LEAST:
                # A few values need the converter's own path (a text price among floats):
                # halve the list until the rest go in bulk again.
                half = len(values) // 2
                return convert_all(values[:half]) + convert_all(values[half:])
        return list(map(convert, values))

    def run(cells: Sequence[Any]) -> tuple[list[Any], list[int]]:
        out = list(map(get, cells))
        if None not in out:
            return out, []
        where = list(itertools.compress(itertools.count(), map(
            operator.is_, out, itertools.repeat(None))))
        values = list(map(cells.__getitem__, where))
        results = convert_all(values)
        for k, result in zip(where, results, strict=True):
            out[k] = result
        bad: list[int] = []
        if finding in set(map(type, results)):
            bad = [k for k, result in zip(where, results, strict=True) if type(result) is finding]
        # Teach the cache while it is small or the column repeats itself (a column of prices
        # that all differ would only fill it, at a cost per value).
        if len(cache) < limit and (len(cache) < _TEACH_ALWAYS or 2 * len(where) < len(out)):
            for value, result in zip(values, results, strict=True):
                if type(result) is not finding and (
                    type(value) is str or not (value == 0 or value == 1)
                ):
                    cache[value] = result
        return out, bad

    def run_plain(cells: Sequence[Any]) -> tuple[list[Any], list[int]]:
        # Nothing repeats (SKUs): no dictionary to fill.
        if None not in cells and "" not in cells:
            out = convert_all(list(cells))
        else:
            where = [k for k, value in enumerate(cells) if value is not None and value != ""]
            out = [ABSENT] * len(cells)
            for k, result in zip(where, convert_all(list(map(cells.__getitem__, where))),
                                 strict=True):
                out[k] = result
        if finding in set(map(type, out)):
            return out, [i for i, result in enumerate(out) if type(result) is finding]
        return out, []

    return run if memo else run_plain


def column_converter_for(field: str, spec: Mapping[str, Any]) -> ColumnConverter:
    """:func:`column_converter` of the field's converter (see :func:`converter_for`)."""
    convert, memo = base_converter(field, spec)
    return column_converter(convert, memo)


def normalize(field: str, spec: Mapping[str, Any], value: Any) -> CellResult:
    """Normalise one cell outside the reader's loop (for tests, templates and tools).

    ``value`` is ``None`` for a blank cell, else the normalised value; ``problems`` lists the
    findings (an error leaves ``value`` as ``None``).
    """
    if is_blank(value):
        return CellResult(None)
    result = converter_for(field, spec)(value)
    if result is BLANK:
        return CellResult(None)
    if isinstance(result, Finding):
        return CellResult(None if result.value is MISSING else result.value, result.problems)
    return CellResult(result)


def problem_issue(problem: Problem, where: Location, value: Any) -> _Issue:
    """The :class:`~feeds_kit.issues.Issue` for a cell problem at ``where``."""
    return problem.type.at(where, value=canonical(value), **problem.params)


def formula_problem(formula: str | None) -> Problem:
    """The error for a formula cell stored without its computed value."""
    text = f"the formula ={formula}" if formula else "a formula"
    return Problem(FORMULA_WITHOUT_VALUE, {"formula": text, "shown": text})


def error_value_problem(text: str) -> Problem:
    """The error for a cell holding an Excel error value such as ``#N/A``."""
    return Problem(EXCEL_ERROR_VALUE, {"shown": text})

