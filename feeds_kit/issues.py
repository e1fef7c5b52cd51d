"""Findings as data: the :class:`Issue` record, the catalogue of issue types, the :class:`Report`.

One record serves local findings (sheet structure, cell values, row rules) and Amazon's
(processing report issues mapped back to rows), so one set of renderers shows both.

Every issue type is declared once, as data, by the module that finds it::

    PRICE_NOT_NUMBER = IssueType(
        code="price-not-a-number",
        title="Price is not a number",
        message="{value!r} is not a number",
        hint="write it with a dot as decimal separator, e.g. 12.99",
        description="...",
    )
    issue = PRICE_NOT_NUMBER.at(cell_location, value="12,99")

``IssueType`` instances register themselves in :data:`CATALOGUE`, which the docs are generated
from (``docs/issues.md``), so an issue type cannot exist without its documentation entry.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any


class Severity(enum.StrEnum):
    """How bad a finding is. ``error`` blocks the row; ``warning`` does not (unless --strict)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def from_amazon(cls, value: str) -> Severity:
        """Map Amazon's ``ERROR``/``WARNING``/``INFO`` (any case) onto ours."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            return cls.ERROR


class Source(enum.StrEnum):
    """Who found the issue: feeds-kit before sending, or Amazon's processing report."""

    LOCAL = "local"
    AMAZON = "amazon"


@dataclass(slots=True)
class Issue:
    """One finding, addressed the way Excel shows it.

    ``row`` is the row number as the spreadsheet displays it (never 0-based); ``column`` is the
    column letter (``"C"``) and ``header`` the header text as written in the file. ``field`` is
    our canonical field name (``price``); ``attribute`` Amazon's attribute name when known
    (``purchasable_offer.our_price``). File-level issues have no row; row-level ones no column.
    """

    code: str
    severity: Severity
    message: str
    source: Source = Source.LOCAL
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    header: str | None = None
    field: str | None = None
    sku: str | None = None
    value: Any = None
    hint: str | None = None
    attribute: str | None = None
    message_id: int | None = None
    feed_id: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        """``Row 14, column C "Price"``, ``Row 14``, ``Sheet "Offers"`` or ``File`` as fits."""
        parts: list[str] = []
        if self.row is not None:
            parts.append(f"Row {self.row}")
        if self.column:
            col = f"column {self.column}"
            if self.header:
                col += f' "{self.header}"'
            parts.append(col)
        elif self.header:
            parts.append(f'column "{self.header}"')
        if not parts:
            return f'Sheet "{self.sheet}"' if self.sheet else "File"
        return ", ".join(parts)

    def sentence(self) -> str:
        """The whole finding as one sentence: location, message, and what would be right."""
        text = f"{self.location()}: {self.message}"
        if self.hint:
            text += f" — {self.hint}"
        if not text.endswith((".", "!", "?")):
            text += "."
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the ``issues[]`` items of ``--format json``)."""
        # Field by field, not dataclasses.asdict: asdict deep-copies every value and costs
        # ~0.1 ms an issue, a tenth of `validate --format json` on a sheet of 1,000 findings.
        data = {name: getattr(self, name) for name in _ISSUE_FIELDS}
        data["severity"] = self.severity.value
        data["source"] = self.source.value
        value = data.get("value")
        if value is not None and not isinstance(value, str | int | float | bool):
            data["value"] = str(value)
        return data


_ISSUE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Issue))


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding sits; pass it to :meth:`IssueType.at`."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    header: str | None = None
    field: str | None = None
    sku: str | None = None


@dataclass(frozen=True)
class IssueType:
    """An entry of the issue catalogue: a stable code, its wording, its fix, its documentation.

    ``message`` and ``hint`` are ``str.format`` templates filled with the keyword arguments of
    :meth:`at`; ``{value!r}`` shows the offending value as the user typed it.
    """

    code: str
    title: str
    message: str
    hint: str = ""
    description: str = ""
    severity: Severity = Severity.ERROR
    tags: tuple[str, ...] = ()
    source: Source = Source.LOCAL

    def __post_init__(self) -> None:
        existing = CATALOGUE.get(self.code)
        if existing is not None and existing != self:
            raise ValueError(f"issue code {self.code!r} is declared twice")
        CATALOGUE[self.code] = self

    def at(
        self,
        where: Location | None = None,
        *,
        severity: Severity | None = None,
        value: Any = None,
        **params: Any,
    ) -> Issue:
        """Make an :class:`Issue` of this type at ``where``, filling the templates."""
        where = where or Location()
        fill = {"value": value, **params}
        return Issue(
            code=self.code,
            severity=severity or self.severity,
            message=self.message.format(**fill),
            source=self.source,
            file=where.file,
            sheet=where.sheet,
            row=where.row,
            column=where.column,
            header=where.header,
            field=where.field,
            sku=where.sku,
            value=value,
            hint=self.hint.format(**fill) if self.hint else None,
        )


#: Every declared issue type by code (filled as modules declare theirs).
CATALOGUE: dict[str, IssueType] = {}


@dataclass
class Report:
    """The findings of one run over one file, plus what was counted on the way.

    ``limit`` caps how many issues are kept (``--limit-errors``); ``truncated`` says it was hit
    and ``dropped`` counts what was not kept, so the summary can say so.
    """

    file: str | None = None
    sheet: str | None = None
    kind: str | None = None
    rows: int = 0
    valid_rows: int = 0
    issues: list[Issue] = field(default_factory=list)
    limit: int | None = None
    dropped: int = 0
    dropped_errors: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    _kept_non_errors: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def add(self, issue: Issue) -> None:
        """Keep ``issue`` unless the limit is reached. At the limit an error still pushes out
        the latest warning or note, so thousands of warnings never hide an error (and the exit
        code); what is not kept is counted in ``dropped`` (errors also in ``dropped_errors``)."""
        is_error = issue.severity is Severity.ERROR
        if self.limit is not None and len(self.issues) >= self.limit:
            if is_error and self._kept_non_errors:
                for index in range(len(self.issues) - 1, -1, -1):
                    if self.issues[index].severity is not Severity.ERROR:
                        del self.issues[index]
                        self._kept_non_errors -= 1
                        break
                self.issues.append(issue)
            elif is_error:
                self.dropped_errors += 1
            self.dropped += 1
            return
        self.issues.append(issue)
        if not is_error:
            self._kept_non_errors += 1

    def extend(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            self.add(issue)

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    @property
    def has_errors(self) -> bool:
        return self.dropped_errors > 0 or any(i.severity is Severity.ERROR for i in self.issues)

    def exit_code(self, *, strict: bool = False) -> int:
        """0 clean (warnings allowed unless ``strict``), 1 data errors (PRODUCT.md)."""
        if self.has_errors or (strict and self.warnings):
            return 1
        return 0

    def by_code(self) -> Counter[tuple[str, Severity]]:
        return Counter((i.code, i.severity) for i in self.issues)

    def by_column(self) -> Counter[tuple[str | None, str | None, Severity]]:
        return Counter((i.column, i.header, i.severity) for i in self.issues)

    def code_titles(self) -> dict[str, str]:
        """A title per issue code in this report, for summaries by issue type.

        Catalogued codes have their title. Amazon's codes are not catalogued: their message
        stands in, and when the same code came with different messages (one per SKU, say) the
        title says how many, so one SKU's message is never passed off as the whole group's.
        """
        messages: dict[str, dict[str, None]] = {}
        for issue in self.issues:
            messages.setdefault(issue.code, {})[issue.message] = None
        titles: dict[str, str] = {}
        for code, seen in messages.items():
            entry = CATALOGUE.get(code)
            if entry is not None:
                titles[code] = entry.title
                continue
            first = next(iter(seen))
            titles[code] = first if len(seen) == 1 else f"{first} (and {len(seen) - 1} similar)"
        return titles

    def with_source(self, source: Source) -> list[Issue]:
        return [i for i in self.issues if i.source is source]

    def copy(self, **changes: Any) -> Report:
        return replace(self, issues=list(self.issues), meta=dict(self.meta), **changes)
