"""Amazon's processing reports: decode, parse, and map each issue back onto the user's rows.

Three report shapes are read into one :class:`ProcessingReport`:

* ``json`` — the ``JSON_LISTINGS_FEED`` report (``header``/``issues``/``summary``/``items``),
  checked against Amazon's schema (``listings-feed-processing-report-schema-v2.json``).
  A report that strays from the schema is still read when its parts make sense; the deviations
  are kept in :attr:`ProcessingReport.notes` and surface as one warning, so a new field on
  Amazon's side never hides the verdict.
* ``xml`` — the legacy ``AmazonEnvelope``/``ProcessingReport`` (and Easy Ship's variant), parsed
  with lxml with entity resolution, DTD loading and network access off.
* ``tsv`` — the flat-file report (``Feed Processing Summary`` block, then
  ``original-record-number``/``sku``/``error-code``/``error-type``/``error-message`` rows).

:func:`map_issues` turns Amazon's findings into :class:`~feeds_kit.issues.Issue` records through
the manifest (STYLE.md): ``messageId`` → row and SKU; ``attributeName`` (or an attribute named in
the message text, e.g. ``'[batteries_required]'``) → the column that produced it, trying the exact
attribute path, then its parents; no column → a row-level issue; no ``messageId`` → file level.
``items[].issues`` (Listings Items API issues) map by SKU.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import jsonschema_rs
import orjson
from lxml import etree  # type: ignore[import-untyped]

from feeds_kit.errors import FeedsKitError
from feeds_kit.issues import Issue, IssueType, Location, Report, Severity, Source
from feeds_kit.manifest import CellRef, Manifest, MessageEntry
from feeds_kit.resources import load_schema

ReportFormat = Literal["json", "xml", "tsv"]

REPORT_SCHEMA = ("amazon", "listings-feed-processing-report-schema-v2.json")

#: Feed types Amazon stopped accepting on 2025-07-31; they now end FATAL (facts §3.1).
RETIRED_FEED_TYPES = frozenset(
    {
        "POST_PRODUCT_DATA",
        "POST_INVENTORY_AVAILABILITY_DATA",
        "POST_PRODUCT_OVERRIDES_DATA",
        "POST_PRODUCT_PRICING_DATA",
        "POST_PRODUCT_IMAGE_DATA",
        "POST_PRODUCT_RELATIONSHIP_DATA",
        "POST_FLAT_FILE_INVLOADER_DATA",
        "POST_FLAT_FILE_BOOKLOADER_DATA",
        "POST_FLAT_FILE_CONVERGENCE_LISTINGS_DATA",
        "POST_FLAT_FILE_LISTINGS_DATA",
        "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
        "POST_UIEE_BOOKLOADER_DATA",
    }
)


class ReportFormatError(FeedsKitError):
    """A processing report cannot be read (empty, truncated, corrupt, or not a report at all).

    Context: ``format`` when known, ``feed_id`` and ``path`` when the caller adds them.
    """


# -- issue catalogue -------------------------------------------------------------------------

AMAZON_ISSUE = IssueType(
    code="amazon-issue",
    title="Amazon's finding",
    message="{message}",
    description=(
        "An issue from Amazon's processing report. It keeps Amazon's own code (e.g. 90220, "
        "99022, 18448) when Amazon gives one; this code is used only when it does not. It is "
        "placed on the row of its messageId and on the column of its attributeName, on the row "
        "alone when no column produced that attribute, and on the file when it names no message."
    ),
    source=Source.AMAZON,
)

REPORT_UNEXPECTED_SHAPE = IssueType(
    code="amazon-report-unexpected-shape",
    title="Processing report differs from Amazon's schema",
    message="the processing report of feed {feed_id} differs from Amazon's schema: {reason}",
    hint="the verdict was read anyway; check the saved report if counts look wrong",
    description=(
        "Amazon's report did not validate against listings-feed-processing-report-schema-v2 "
        "but its summary and issues could still be read. Usually a field Amazon added or "
        "changed; the verdict shown is what could be read."
    ),
    severity=Severity.WARNING,
    source=Source.AMAZON,
)

REPORT_UNREADABLE = IssueType(
    code="amazon-report-unreadable",
    title="Processing report cannot be read",
    message="the processing report of feed {feed_id} cannot be read: {reason}",
    hint="fetch it again with feeds-kit report; Amazon keeps result documents for 28 days",
    description=(
        "The result document was empty, truncated, corrupt or not a processing report. The "
        "rows of that feed have no verdict until the report is fetched again."
    ),
    source=Source.AMAZON,
)


# -- data ------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReportSummary:
    """Counts from a report: messages processed/accepted/invalid, errors and warnings."""

    processed: int = 0
    accepted: int = 0
    invalid: int = 0
    errors: int = 0
    warnings: int = 0

    def __add__(self, other: ReportSummary) -> ReportSummary:
        return ReportSummary(
            self.processed + other.processed,
            self.accepted + other.accepted,
            self.invalid + other.invalid,
            self.errors + other.errors,
            self.warnings + other.warnings,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "processed": self.processed,
            "accepted": self.accepted,
            "invalid": self.invalid,
            "errors": self.errors,
            "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportSummary:
        return cls(**{k: int(data.get(k, 0) or 0) for k in
                      ("processed", "accepted", "invalid", "errors", "warnings")})


@dataclass(slots=True)
class AmazonIssue:
    """One issue as Amazon wrote it; ``severity`` is Amazon's word (ERROR/WARNING/INFO).

    Item-level issues (``items[].issues``) carry ``attribute_names`` and ``categories`` from the
    Listings Items API ``Issue``; their ``attribute_name`` is the first attribute name.
    """

    message_id: int | None
    sku: str | None
    code: str | None
    severity: str
    message: str
    attribute_name: str | None = None
    attribute_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    marketplace_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class ProcessingReport:
    """A parsed processing report of any of the three shapes."""

    format: ReportFormat
    summary: ReportSummary
    issues: list[AmazonIssue]
    items: list[dict[str, Any]] = field(default_factory=list)
    feed_id: str | None = None
    #: Issues found inside ``items[]`` (Listings Items API issues, mapped by SKU).
    item_issues: list[AmazonIssue] = field(default_factory=list)
    #: Where the report strays from Amazon's schema (read anyway).
    notes: list[str] = field(default_factory=list)
    seller_id: str | None = None


class DownloadedLike(Protocol):
    """What :func:`decode` needs from the client's ``DownloadedDocument``."""

    @property
    def data(self) -> bytes: ...

    @property
    def charset(self) -> str | None: ...

    @property
    def content_type(self) -> str | None: ...


# -- decoding --------------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(data: bytes) -> bytes:
    # Amazon's GZIP reports may reach us still compressed, or compressed twice (a transfer
    # encoding on top); unwrap every layer, a bounded number of times.
    for _ in range(3):
        if not data.startswith(_GZIP_MAGIC):
            break
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReportFormatError(
                f"the processing report is a damaged or truncated gzip stream ({exc})"
            ) from exc
    return data


def decode(doc: DownloadedLike) -> str:
    """The text of a downloaded report.

    Order: a byte-order mark when present (it cannot lie, and WHATWG gives it precedence over
    a header), else the charset from the response, else UTF-8, else Windows-1252 (what Amazon's
    flat-file reports for European marketplaces have been seen in). Gzip layers still present
    are removed first.
    """
    data = _gunzip(bytes(doc.data))
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    charset = doc.charset
    if not charset and doc.content_type:
        match = _CHARSET.search(doc.content_type)
        charset = match.group(1) if match else None
    if charset:
        try:
            return data.decode(charset.strip().strip('"'))
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


# -- parsing ---------------------------------------------------------------------------------


def parse_report(text: str) -> ProcessingReport:
    """Parse a report of any supported shape (see the module docstring).

    Raises :class:`ReportFormatError` with one sentence when the text is empty, truncated,
    corrupt or not a processing report.
    """
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        raise ReportFormatError("the processing report is empty")
    if body[0] in "{[":
        return _parse_json(body)
    if body[0] == "<":
        return _parse_xml(body)
    head = body[:4096].lower()
    if "feed processing summary" in head or "original-record-number" in head:
        return _parse_tsv(body)
    raise ReportFormatError(
        f"the processing report is in no known format (it starts with {body[:30]!r}); "
        "expected JSON, XML or a tab-separated flat-file report"
    )


@cache
def _report_validator() -> Any:
    return jsonschema_rs.validator_for(load_schema(*REPORT_SCHEMA))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _severity_word(value: Any) -> str:
    word = str(value or "").strip().lower()
    if word in ("warning", "warn"):
        return "WARNING"
    if word in ("info", "information", "informational"):
        return "INFO"
    return "ERROR"


def _parse_json(body: str) -> ProcessingReport:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReportFormatError(
            f"the processing report is not valid JSON, perhaps truncated ({exc})", format="json"
        ) from exc
    if not isinstance(data, dict) or not ({"header", "issues", "summary"} & data.keys()):
        raise ReportFormatError(
            "the JSON document is not a JSON_LISTINGS_FEED processing report "
            "(it has no header, issues or summary)",
            format="json",
        )
    notes = [
        f"{'/'.join(str(p) for p in err.instance_path) or '(root)'}: {err.message}"
        for err in _report_validator().iter_errors(data)
    ]
    header: dict[str, Any] = data["header"] if isinstance(data.get("header"), dict) else {}
    raw_issues = data.get("issues")
    if raw_issues is None:
        raw_issues = []
    if not isinstance(raw_issues, list):
        raise ReportFormatError("the processing report's issues are not a list", format="json")
    issues = [i for i in (_json_issue(r) for r in raw_issues if isinstance(r, dict)) if i]
    items = [i for i in data.get("items") or [] if isinstance(i, dict)]
    item_issues = [issue for item in items for issue in _item_issues(item)]
    raw_summary: dict[str, Any] | None = (
        data["summary"] if isinstance(data.get("summary"), dict) else None
    )
    if raw_summary is None:
        # Counts missing: derive what the issues can tell rather than lose the verdict.
        summary = ReportSummary(
            errors=sum(1 for i in issues if i.severity == "ERROR"),
            warnings=sum(1 for i in issues if i.severity == "WARNING"),
            invalid=len({i.message_id for i in issues
                         if i.severity == "ERROR" and i.message_id is not None}),
        )
    else:
        summary = ReportSummary(
            processed=_int(raw_summary.get("messagesProcessed")) or 0,
            accepted=_int(raw_summary.get("messagesAccepted")) or 0,
            invalid=_int(raw_summary.get("messagesInvalid")) or 0,
            errors=_int(raw_summary.get("errors")) or 0,
            warnings=_int(raw_summary.get("warnings")) or 0,
        )
    return ProcessingReport(
        format="json",
        summary=summary,
        issues=issues,
        items=items,
        feed_id=_str(header.get("feedId")),
        item_issues=item_issues,
        notes=notes,
        seller_id=_str(header.get("sellerId")),
    )


def _json_issue(raw: dict[str, Any]) -> AmazonIssue | None:
    message = _str(raw.get("message"))
    code = _str(raw.get("code"))
    if message is None and code is None:
        return None
    return AmazonIssue(
        message_id=_int(raw.get("messageId")),
        sku=_str(raw.get("sku")),
        code=code,
        severity=_severity_word(raw.get("severity")),
        message=message or f"Amazon reported code {code}",
        attribute_name=_str(raw.get("attributeName")),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(s for s in (_str(v) for v in value) if s)


def _item_issues(item: dict[str, Any]) -> Iterable[AmazonIssue]:
    sku = _str(item.get("sku"))
    for raw in item.get("issues") or []:
        if not isinstance(raw, dict):
            continue
        names = _strings(raw.get("attributeNames"))
        message = _str(raw.get("message"))
        code = _str(raw.get("code"))
        if message is None and code is None:
            continue
        yield AmazonIssue(
            message_id=None,
            sku=sku,
            code=code,
            severity=_severity_word(raw.get("severity")),
            message=message or f"Amazon reported code {code}",
            attribute_name=names[0] if names else None,
            attribute_names=names,
            categories=_strings(raw.get("categories")),
            marketplace_ids=_strings(raw.get("marketplaceIds")),
        )


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_DOCTYPE = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return _str(child.text)
    return None


def _child(element: Any, name: str) -> Any | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _parse_xml(body: str) -> ProcessingReport:
    if _DOCTYPE.search(body[:65536]):
        # Amazon's reports never carry a DTD; one here can only be an entity trick.
        raise ReportFormatError(
            "the XML report declares a DOCTYPE, which Amazon's reports never do; it is refused",
            format="xml",
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )
    try:
        # lxml refuses str input that carries an encoding declaration; the text is decoded.
        root = etree.fromstring(_XML_DECL.sub("", body, count=1), parser)
    except etree.XMLSyntaxError as exc:
        raise ReportFormatError(
            f"the processing report is not well-formed XML, perhaps truncated ({exc})",
            format="xml",
        ) from exc
    name = _local(root.tag)
    if name == "Error":
        error_code = _child_text(root, "Code") or "unknown"
        error_text = _child_text(root, "Message") or ""
        raise ReportFormatError(
            "the download returned a storage error instead of the report "
            f"({error_code}: {error_text})",
            format="xml",
        )
    if name == "EasyShipProcessingReport":
        processed = _int(_child_text(root, "MessagesProcessed")) or 0
        return ProcessingReport(
            format="xml",
            summary=ReportSummary(
                processed=processed,
                accepted=_int(_child_text(root, "MessagesSuccessful")) or 0,
                invalid=_int(_child_text(root, "MessagesWithError")) or 0,
                errors=_int(_child_text(root, "MessagesWithError")) or 0,
            ),
            issues=[],
            feed_id=_child_text(root, "FeedSubmissionID"),
        )
    reports = [el for el in root.iter() if _local(el.tag) == "ProcessingReport"]
    if not reports:
        raise ReportFormatError(
            f"the XML document is not a processing report (its root element is <{name}>)",
            format="xml",
        )
    summary = ReportSummary()
    issues: list[AmazonIssue] = []
    feed_id: str | None = None
    counted_errors = counted_warnings = 0
    for report in reports:
        feed_id = feed_id or _child_text(report, "DocumentTransactionID")
        block = _child(report, "ProcessingSummary")
        if block is not None:
            summary.processed += _int(_child_text(block, "MessagesProcessed")) or 0
            summary.accepted += _int(_child_text(block, "MessagesSuccessful")) or 0
            summary.invalid += _int(_child_text(block, "MessagesWithError")) or 0
            counted_errors += _int(_child_text(block, "MessagesWithError")) or 0
            counted_warnings += _int(_child_text(block, "MessagesWithWarning")) or 0
        for result in report:
            if _local(result.tag) != "Result":
                continue
            info = _child(result, "AdditionalInfo")
            message_id = _int(_child_text(result, "MessageID"))
            code = _child_text(result, "ResultMessageCode")
            issues.append(
                AmazonIssue(
                    message_id=message_id or None,  # 0 means the whole file
                    sku=_child_text(info, "SKU") if info is not None else None,
                    code=code,
                    severity=_severity_word(_child_text(result, "ResultCode")),
                    message=_child_text(result, "ResultDescription")
                    or f"Amazon reported code {code}",
                )
            )
    if issues:
        summary.errors = sum(1 for i in issues if i.severity == "ERROR")
        summary.warnings = sum(1 for i in issues if i.severity == "WARNING")
    else:
        summary.errors, summary.warnings = counted_errors, counted_warnings
    return ProcessingReport(format="xml", summary=summary, issues=issues, feed_id=feed_id)


_TSV_PROCESSED = re.compile(r"number of records processed\s+(\d+)", re.IGNORECASE)
_TSV_SUCCESSFUL = re.compile(r"number of records successful\s+(\d+)", re.IGNORECASE)


def _parse_tsv(body: str) -> ProcessingReport:
    lines = body.splitlines()
    processed = successful = None
    header_at: int | None = None
    for number, line in enumerate(lines):
        if (match := _TSV_PROCESSED.search(line)) is not None:
            processed = int(match.group(1))
        elif (match := _TSV_SUCCESSFUL.search(line)) is not None:
            successful = int(match.group(1))
        elif "original-record-number" in line.lower():
            header_at = number
            break
    issues: list[AmazonIssue] = []
    if header_at is not None:
        columns = [c.strip().lower() for c in lines[header_at].split("\t")]
        width = len(columns)
        for line in lines[header_at + 1:]:
            if not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) > width:
                # A tab inside the last column (the message) must not shift anything.
                cells = [*cells[: width - 1], "\t".join(cells[width - 1:])]
            record = dict(zip(columns, (c.strip() for c in cells), strict=False))
            code = _str(record.get("error-code"))
            message = _str(record.get("error-message"))
            if code is None and message is None:
                continue
            issues.append(
                AmazonIssue(
                    message_id=_int(record.get("original-record-number")) or None,
                    sku=_str(record.get("sku")),
                    code=code,
                    severity=_severity_word(record.get("error-type")),
                    message=message or f"Amazon reported code {code}",
                )
            )
    elif processed is None:
        raise ReportFormatError(
            "the flat-file report has neither a processing summary nor an issue table",
            format="tsv",
        )
    errors = sum(1 for i in issues if i.severity == "ERROR")
    if processed is not None and successful is not None:
        invalid = max(0, processed - successful)
    else:
        invalid = len({i.message_id for i in issues if i.severity == "ERROR"})
    return ProcessingReport(
        format="tsv",
        summary=ReportSummary(
            processed=processed or 0,
            accepted=successful if successful is not None else max(0, (processed or 0) - invalid),
            invalid=invalid,
            errors=errors,
            warnings=sum(1 for i in issues if i.severity == "WARNING"),
        ),
        issues=issues,
    )


# -- mapping ---------------------------------------------------------------------------------

# Amazon attribute names are lower snake case, dotted for sub-attributes.
_NAME = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*"
_MENTIONS = re.compile(rf"\[({_NAME})\]|'({_NAME})'|\"({_NAME})\"|`({_NAME})`")
_INDEX = re.compile(r"\[\d+\]")


def normalise_attribute(name: str) -> str:
    """``/attributes/purchasable_offer/0/our_price`` or ``purchasable_offer[0].our_price`` →
    ``purchasable_offer.our_price`` (the manifest's key form)."""
    text = name.strip()
    if text.startswith("/"):
        parts = [p for p in text.split("/") if p and not p.isdigit()]
        if parts and parts[0] == "attributes":
            parts = parts[1:]
        text = ".".join(parts)
    text = _INDEX.sub("", text)
    return text.strip(".")


def mentioned_attributes(message: str) -> list[str]:
    """Attribute names quoted inside Amazon's message text, in order of appearance."""
    found: list[str] = []
    for match in _MENTIONS.finditer(message):
        name = next(g for g in match.groups() if g)
        if name not in found:
            found.append(name)
    return found


def column_for(entry: MessageEntry, attribute: str) -> tuple[str, CellRef] | None:
    """The manifest cell for ``attribute`` in ``entry``: exact path first, then its parents."""
    name = normalise_attribute(attribute)
    while name:
        cell = entry.attributes.get(name)
        if cell is not None:
            return name, cell
        name = name.rpartition(".")[0]
    return None


def _candidates(issue: AmazonIssue, sku: str | None) -> list[str]:
    names = [issue.attribute_name] if issue.attribute_name else []
    names += [n for n in issue.attribute_names if n not in names]
    # A quoted SKU ("SKU 'blue_shirt' ...") is not an attribute.
    skus = {issue.sku, sku}
    names += [n for n in mentioned_attributes(issue.message) if n not in names and n not in skus]
    return names


def _locate(issue: AmazonIssue, entry: MessageEntry) -> tuple[str | None, CellRef | None]:
    candidates = _candidates(issue, entry.sku)
    for name in candidates:
        found = column_for(entry, name)
        if found is not None:
            return normalise_attribute(name), found[1]
    explicit = issue.attribute_name or (issue.attribute_names[0] if issue.attribute_names
                                        else None)
    if explicit:
        return normalise_attribute(explicit), None
    # A name only seen in the text is trusted when it looks like an Amazon attribute.
    for name in candidates:
        if "_" in name or "." in name:
            return normalise_attribute(name), None
    return None, None


def _amazon_issue(
    issue: AmazonIssue,
    manifest: Manifest,
    feed_id: str | None,
    *,
    entry: MessageEntry | None,
    message: str | None = None,
    hint: str | None = None,
) -> Issue:
    attribute: str | None = None
    cell: CellRef | None = None
    if entry is not None:
        attribute, cell = _locate(issue, entry)
        if attribute and cell is None and hint is None:
            hint = (f"the sheet has no column for {attribute}; add one, or fix the listing "
                    "in Seller Central")
    elif issue.attribute_name:
        attribute = normalise_attribute(issue.attribute_name)
    return Issue(
        code=issue.code or AMAZON_ISSUE.code,
        severity=Severity.from_amazon(issue.severity),
        message=message or issue.message,
        source=Source.AMAZON,
        file=manifest.file,
        sheet=manifest.sheet,
        row=entry.row if entry else None,
        column=cell.column if cell else None,
        header=cell.header if cell else None,
        sku=entry.sku if entry else issue.sku,
        hint=hint,
        attribute=attribute,
        message_id=issue.message_id,
        feed_id=feed_id,
    )


def map_issues(
    report: ProcessingReport,
    manifest: Manifest,
    document_index: int,
    *,
    feed_id: str | None = None,
) -> list[Issue]:
    """Amazon's issues of document ``document_index`` (0-based) as :class:`Issue` records.

    ``feed_id`` defaults to the report's own. Report-level issues map by ``messageId``;
    ``items[].issues`` by SKU (and marketplace, when Amazon names it), one issue per matching
    row. An unknown ``messageId`` or SKU gives a file-level issue naming it.
    """
    feed_id = feed_id or report.feed_id
    document = (
        manifest.documents[document_index]
        if 0 <= document_index < len(manifest.documents)
        else None
    )
    mapped: list[Issue] = []
    for issue in report.issues:
        if issue.message_id is None:
            mapped.append(_amazon_issue(issue, manifest, feed_id, entry=None))
            continue
        entry = manifest.entry(document_index, issue.message_id)
        if entry is None:
            mapped.append(
                _amazon_issue(
                    issue, manifest, feed_id, entry=None,
                    message=(f"message {issue.message_id}, which this submission did not send: "
                             f"{issue.message}"),
                    hint="check that this report belongs to this submission",
                )
            )
        else:
            mapped.append(_amazon_issue(issue, manifest, feed_id, entry=entry))
    by_sku: dict[str, list[MessageEntry]] = {}
    if document is not None:
        for entry in document.messages.values():
            by_sku.setdefault(entry.sku, []).append(entry)
    for issue in report.item_issues:
        entries = by_sku.get(issue.sku or "", [])
        if issue.marketplace_ids:
            entries = [e for e in entries
                       if e.marketplace_id is None or e.marketplace_id in issue.marketplace_ids]
        if not entries:
            mapped.append(
                _amazon_issue(
                    issue, manifest, feed_id, entry=None,
                    message=f"SKU {issue.sku!r}, which this submission did not send: "
                            f"{issue.message}",
                    hint="check that this report belongs to this submission",
                )
            )
            continue
        mapped.extend(_amazon_issue(issue, manifest, feed_id, entry=e) for e in entries)
    if report.notes:
        shape = REPORT_UNEXPECTED_SHAPE.at(
            Location(file=manifest.file, sheet=manifest.sheet),
            feed_id=feed_id or "?",
            reason="; ".join(report.notes[:3]) + (
                f" (and {len(report.notes) - 3} more)" if len(report.notes) > 3 else ""),
        )
        shape.feed_id = feed_id
        mapped.append(shape)
    return mapped


# -- failures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureCause:
    """A likely reason a feed ended FATAL, recognised by words in Amazon's file-level issues."""

    code: str
    explanation: str
    keywords: tuple[str, ...]


FAILURE_CAUSES: tuple[FailureCause, ...] = (
    FailureCause(
        "wrong-content-type",
        "Amazon could not read the upload as declared: the PUT's Content-Type must be "
        "byte-identical to the contentType given to createFeedDocument "
        "(application/json; charset=UTF-8)",
        ("content type", "content-type", "contenttype", "charset", "encoding"),
    ),
    FailureCause(
        "missing-role",
        "the selling account or the application lacks the Product Listing role needed for "
        "JSON_LISTINGS_FEED; grant it in Seller Central / the developer profile and authorise "
        "the application again",
        ("role", "authoriz", "authoris", "permission", "access denied", "not allowed",
         "unauthori"),
    ),
    FailureCause(
        "malformed-document",
        "the document is not a valid JSON_LISTINGS_FEED document (broken JSON or a schema "
        "violation in the header); rebuild it with feeds-kit build and check it validates",
        ("json", "schema", "pars", "malformed", "format", "well-formed", "syntax",
         "does not match the required value"),
    ),
)


@dataclass(frozen=True, slots=True)
class FailureExplanation:
    """Why a feed most likely failed: a cause ``code`` and a sentence for a person."""

    cause: str
    sentence: str


def explain_failure(
    status: str,
    *,
    feed_type: str | None = None,
    report: ProcessingReport | None = None,
) -> FailureExplanation:
    """The likely cause of a FATAL or CANCELLED feed, from its type and whatever report exists."""
    if status == "CANCELLED":
        return FailureExplanation(
            "cancelled",
            "the feed was cancelled before Amazon processed it (cancelFeed, from this or "
            "another tool), so none of its messages were applied",
        )
    if feed_type in RETIRED_FEED_TYPES:
        return FailureExplanation(
            "retired-feed-type",
            f"{feed_type} was retired on 2025-07-31 and now always ends FATAL; send the rows "
            "as JSON_LISTINGS_FEED (feeds-kit does this)",
        )
    if report is None:
        return FailureExplanation(
            "unknown",
            "Amazon gave no processing report; the usual causes are an upload whose "
            "Content-Type differs from createFeedDocument's, a malformed document, or an "
            "account without the Product Listing role",
        )
    if feed_type == "JSON_LISTINGS_FEED" and report.format != "json":
        return FailureExplanation(
            "wrong-content-type",
            f"Amazon answered with a {report.format.upper()} report, as it does when it could "
            "not read the upload as JSON: check the upload's Content-Type matches "
            "createFeedDocument's",
        )
    text = " ".join(
        f"{i.code or ''} {i.message}" for i in report.issues if i.message_id is None
    ).lower() or " ".join(f"{i.code or ''} {i.message}" for i in report.issues).lower()
    for cause in FAILURE_CAUSES:
        if any(word in text for word in cause.keywords):
            return FailureExplanation(cause.code, cause.explanation)
    first = next((i.message for i in report.issues), None)
    return FailureExplanation(
        "unknown",
        f"Amazon aborted the feed ({first})" if first else
        "Amazon aborted the feed without saying why; the usual causes are a wrong "
        "Content-Type, a malformed document or a missing Product Listing role",
    )


# -- the verdict of a whole submission -------------------------------------------------------


@dataclass(slots=True)
class ChunkVerdict:
    """What happened to one chunk (feed document) of a submission."""

    index: int
    feed_id: str | None
    processing_status: str | None
    message_count: int
    summary: ReportSummary | None = None
    report_format: str | None = None
    report_path: Path | None = None
    explanation: str | None = None


@dataclass
class VerdictReport(Report):
    """A :class:`Report` with local and Amazon issues, per-chunk summaries and processed rows.

    ``processed_rows`` holds the spreadsheet rows Amazon processed (every message of a chunk
    whose feed finished DONE with a readable report): the annotated workbook marks such a row
    ACCEPTED unless an issue says otherwise.
    """

    submission_id: str | None = None
    chunks: list[ChunkVerdict] = field(default_factory=list)
    processed_rows: set[int] = field(default_factory=set)

    @property
    def totals(self) -> ReportSummary:
        """The summaries of all chunks added up."""
        total = ReportSummary()
        for chunk in self.chunks:
            if chunk.summary is not None:
                total = total + chunk.summary
        return total

    @property
    def finished(self) -> bool:
        """True when every chunk's feed reached a terminal status."""
        return all(c.processing_status in ("DONE", "FATAL", "CANCELLED") for c in self.chunks)

    @property
    def failed(self) -> bool:
        """True when some feed ended FATAL or CANCELLED (exit code 3)."""
        return any(c.processing_status in ("FATAL", "CANCELLED") for c in self.chunks)

    def rows_with_errors(self) -> set[int]:
        """Rows with at least one error (local or Amazon's)."""
        return {i.row for i in self.issues if i.row is not None and i.is_error}


def rows_of(manifest: Manifest, document_index: int) -> set[int]:
    """The spreadsheet rows of document ``document_index``'s messages."""
    if not 0 <= document_index < len(manifest.documents):
        return set()
    return {m.row for m in manifest.documents[document_index].messages.values()}


__all__: Sequence[str] = (
    "AMAZON_ISSUE",
    "FAILURE_CAUSES",
    "REPORT_UNEXPECTED_SHAPE",
    "REPORT_UNREADABLE",
    "RETIRED_FEED_TYPES",
    "AmazonIssue",
    "ChunkVerdict",
    "DownloadedLike",
    "FailureCause",
    "FailureExplanation",
    "ProcessingReport",
    "ReportFormatError",
    "ReportSummary",
    "VerdictReport",
    "column_for",
    "decode",
    "explain_failure",
    "map_issues",
    "mentioned_attributes",
    "normalise_attribute",
    "parse_report",
    "rows_of",
)
