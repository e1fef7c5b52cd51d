"""Processing reports: decoding, the three shapes, mapping onto rows and cells, failure causes."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from feeds_kit.issues import CATALOGUE, Severity, Source
from feeds_kit.manifest import CellRef, DocumentEntry, Manifest, MessageEntry
from feeds_kit.processing_report import (
    AMAZON_ISSUE,
    REPORT_UNEXPECTED_SHAPE,
    AmazonIssue,
    ChunkVerdict,
    ProcessingReport,
    ReportFormatError,
    ReportSummary,
    VerdictReport,
    column_for,
    decode,
    explain_failure,
    map_issues,
    mentioned_attributes,
    normalise_attribute,
    parse_report,
    rows_of,
)

DATA = Path(__file__).parent / "data" / "reports"


@dataclass
class Download:
    data: bytes
    charset: str | None = None
    content_type: str | None = None


def flat(issues: list[Any]) -> list[tuple[Any, ...]]:
    """Compact form for assertions: (row, column, sku, code, severity, message_id, attribute)."""
    return [
        (i.row, i.column, i.sku, i.code, i.severity.value, i.message_id, i.attribute)
        for i in issues
    ]


# -- every report shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "summary", "issues", "item_issues", "feed_id"),
    [
        ("json-listings-report.example.json", "json", (4, 2, 2, 3, 0), 3, 2, "1234567890"),
        ("json-listings-report.legacy-2021.json", "json", (4, 2, 2, 3, 0), 3, 0, "1234567890"),
        ("amazon-envelope-report.xml", "xml", (3, 1, 2, 2, 1), 3, 0, "64284018836"),
        ("easyship-report.xml", "xml", (1, 1, 0, 0, 0), 0, 0, "383186020424"),
        ("flat-file-report.tsv", "tsv", (3, 1, 2, 2, 1), 3, 0, None),
    ],
)
def test_every_fixture_parses(
    name: str, fmt: str, summary: tuple[int, ...], issues: int, item_issues: int,
    feed_id: str | None,
) -> None:
    report = parse_report((DATA / name).read_text(encoding="utf-8"))
    assert report.format == fmt
    s = report.summary
    assert (s.processed, s.accepted, s.invalid, s.errors, s.warnings) == summary
    assert len(report.issues) == issues
    assert len(report.item_issues) == item_issues
    assert report.feed_id == feed_id
    assert report.notes == []


def test_reference_folder_reports_parse() -> None:
    reference = Path("/work/shared/reference/spapi/examples")
    if not reference.is_dir():
        pytest.skip("reference folder not present")
    for path in reference.rglob("*processing-report*.json"):
        report = parse_report(path.read_text(encoding="utf-8"))
        assert report.notes == [], path


def test_json_issue_fields() -> None:
    report = parse_report((DATA / "json-listings-report.example.json").read_text())
    assert report.issues[2] == AmazonIssue(
        message_id=5,
        sku="My-SKU-C",
        code="99022",
        severity="ERROR",
        message=(
            "The field '\"prices\"' for the attribute 'purchasable_offer.our_price' does not "
            "have enough values. The required minimum is '1' value(s)."
        ),
        attribute_name="purchasable_offer.our_price",
    )
    first_item = report.item_issues[0]
    assert (first_item.sku, first_item.code, first_item.severity) == ("My-SKU-B", "18448",
                                                                      "WARNING")
    assert first_item.attribute_names == ("item_diameter", "item_dimensions", "item_weight",
                                          "theme")
    assert first_item.categories == ("MISSING_ATTRIBUTE",)
    assert [item["sku"] for item in report.items] == ["My-SKU-B", "My-SKU-C"]
    assert report.seller_id == "AXXXXXXXXXXXX"


def test_xml_results() -> None:
    report = parse_report((DATA / "amazon-envelope-report.xml").read_text())
    assert [(i.message_id, i.sku, i.code, i.severity) for i in report.issues] == [
        (None, None, "90215", "ERROR"),
        (1, "SU20210616N00005", "99001", "ERROR"),
        (3, "SU20210616N00007", "8560", "WARNING"),
    ]


def test_tsv_rows_keep_tabs_inside_the_message() -> None:
    report = parse_report((DATA / "flat-file-report.tsv").read_text())
    assert [(i.message_id, i.sku, i.code, i.severity) for i in report.issues] == [
        (None, None, "90111", "WARNING"),
        (1, "SKU-A", "8560", "ERROR"),
        (2, "SKU-B", "5001", "ERROR"),
    ]
    assert report.issues[2].message == (
        "XML Parsing Fatal Error at Line 1, Column 1:\tContent is not allowed in prolog."
    )


def test_tsv_table_without_summary_counts_invalid_records() -> None:
    text = ("original-record-number\tsku\terror-code\terror-type\terror-message\n"
            "4\tA\t1\tError\tbad\n4\tA\t2\tError\tworse\n5\tB\t3\tWarning\tmeh\n")
    report = parse_report(text)
    assert report.summary == ReportSummary(processed=0, accepted=0, invalid=1, errors=2,
                                           warnings=1)


def test_xml_with_namespace_and_several_messages() -> None:
    text = """<?xml version="1.0" encoding="ISO-8859-1"?>
    <AmazonEnvelope xmlns="urn:x">
      <Message><ProcessingReport><DocumentTransactionID>7</DocumentTransactionID>
        <ProcessingSummary><MessagesProcessed>2</MessagesProcessed>
          <MessagesSuccessful>2</MessagesSuccessful><MessagesWithError>0</MessagesWithError>
          <MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>
      </ProcessingReport></Message>
      <Message><ProcessingReport>
        <ProcessingSummary><MessagesProcessed>1</MessagesProcessed>
          <MessagesSuccessful>0</MessagesSuccessful><MessagesWithError>1</MessagesWithError>
          <MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>
      </ProcessingReport></Message>
    </AmazonEnvelope>"""
    report = parse_report(text)
    assert report.feed_id == "7"
    assert report.summary == ReportSummary(processed=3, accepted=2, invalid=1, errors=1,
                                           warnings=0)


# -- bad reports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the processing report is empty"),
        ("\ufeff  \n", "the processing report is empty"),
        ('{"header": {"feedId": "1"}, "issues": [', "the processing report is not valid JSON"),
        ("[1, 2]", "the JSON document is not a JSON_LISTINGS_FEED processing report"),
        ('{"hello": 1}', "the JSON document is not a JSON_LISTINGS_FEED processing report"),
        ('{"issues": 5, "summary": {}}', "the processing report's issues are not a list"),
        ("<AmazonEnvelope><Message>", "the processing report is not well-formed XML"),
        ("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
         "the download returned a storage error instead of the report "
         "(AccessDenied: Request has expired)"),
        ("<html><body>hi</body></html>",
         "the XML document is not a processing report (its root element is <html>)"),
        ("PK\x03\x04 binary", "the processing report is in no known format"),
        ("Feed Processing Summary:\n", "the flat-file report has neither a processing summary"),
    ],
)
def test_bad_reports_raise_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ReportFormatError) as caught:
        parse_report(text)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 3


def test_xml_with_a_doctype_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = f"""<?xml version="1.0"?>
    <!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>
    <AmazonEnvelope><Message><ProcessingReport>
      <Result><MessageID>1</MessageID><ResultCode>Error</ResultCode>
        <ResultMessageCode>1</ResultMessageCode><ResultDescription>a&x;b</ResultDescription>
      </Result></ProcessingReport></Message></AmazonEnvelope>"""
    with pytest.raises(ReportFormatError) as caught:
        parse_report(text)
    assert str(caught.value) == (
        "the XML report declares a DOCTYPE, which Amazon's reports never do; it is refused"
    )
    assert "TOP-SECRET" not in str(caught.value)


def test_undeclared_entity_is_not_expanded() -> None:
    text = ("<AmazonEnvelope><Message><ProcessingReport><Result><MessageID>1</MessageID>"
            "<ResultCode>Error</ResultCode><ResultDescription>a&amp;b</ResultDescription>"
            "</Result></ProcessingReport></Message></AmazonEnvelope>")
    assert parse_report(text).issues[0].message == "a&b"


def test_schema_deviation_is_kept_as_a_note_and_a_warning() -> None:
    data = json.loads((DATA / "json-listings-report.legacy-2021.json").read_text())
    data["header"]["version"] = "3.0"
    data["issues"][0]["severity"] = "FATAL"
    report = parse_report(json.dumps(data))
    assert report.notes == [
        'header/version: "2.0" was expected',
        'issues/0/severity: "FATAL" is not one of "ERROR", "WARNING" or "INFO"',
    ]
    assert report.issues[0].severity == "ERROR"
    issues = map_issues(report, _manifest(), 0)
    shape = issues[-1]
    assert shape.code == REPORT_UNEXPECTED_SHAPE.code
    assert shape.severity is Severity.WARNING
    assert shape.message.startswith(
        "the processing report of feed 1234567890 differs from Amazon's schema: header/version"
    )


def test_summary_missing_is_derived_from_issues() -> None:
    text = json.dumps({"header": {"feedId": "9"}, "issues": [
        {"messageId": 1, "severity": "ERROR", "message": "x"},
        {"messageId": 1, "severity": "ERROR", "message": "y"},
        {"messageId": 2, "severity": "WARNING", "message": "z"},
    ]})
    report = parse_report(text)
    assert report.summary == ReportSummary(processed=0, accepted=0, invalid=1, errors=2,
                                           warnings=1)
    assert any(n.startswith("(root): ") for n in report.notes)


# -- decoding --------------------------------------------------------------------------------

TEXT = '{"note": "Größe – ok"}'


@pytest.mark.parametrize(
    ("download", "expected"),
    [
        (Download(TEXT.encode("utf-8"), charset="UTF-8"), TEXT),
        (Download(TEXT.encode("utf-8")), TEXT),
        (Download(TEXT.encode("cp1252")), TEXT),
        (Download(TEXT.encode("latin-1", errors="replace"), charset="ISO-8859-1"),
         TEXT.replace("–", "?")),
        (Download(TEXT.encode("utf-8"), content_type="application/json; charset=utf-8"), TEXT),
        (Download(b"\xef\xbb\xbf" + TEXT.encode("utf-8"), charset="ISO-8859-1"), TEXT),
        (Download(b"\xff\xfe" + TEXT.encode("utf-16-le")), TEXT),
        (Download(b"\xfe\xff" + TEXT.encode("utf-16-be")), TEXT),
        (Download(TEXT.encode("utf-8"), charset="no-such-codec"), TEXT),
        (Download(TEXT.encode("cp1252"), charset="utf-8"), TEXT),
        (Download(gzip.compress(TEXT.encode("utf-8")), charset="utf-8"), TEXT),
        (Download(gzip.compress(gzip.compress(TEXT.encode("utf-8")))), TEXT),
    ],
    ids=["charset", "utf8-default", "cp1252-fallback", "latin1-declared", "content-type",
         "bom-beats-header", "utf16le-bom", "utf16be-bom", "unknown-codec", "lying-charset",
         "gzip", "gzip-twice"],
)
def test_decode(download: Download, expected: str) -> None:
    assert decode(download) == expected


def test_truncated_gzip_is_a_clear_error() -> None:
    data = gzip.compress(b'{"a": 1}' * 100)[:20]
    with pytest.raises(ReportFormatError, match="damaged or truncated gzip stream"):
        decode(Download(data))


# -- mapping ---------------------------------------------------------------------------------


def _manifest() -> Manifest:
    price = CellRef("C", "Price")
    qty = CellRef("D", "Quantity")
    messages = {
        4: MessageEntry(4, 14, "My-SKU-B", "ATVPDKIKX0DER", "PATCH",
                        {"purchasable_offer": price, "purchasable_offer.our_price": price,
                         "fulfillment_availability": qty,
                         "fulfillment_availability.quantity": qty}),
        5: MessageEntry(5, 15, "My-SKU-C", "ATVPDKIKX0DER", "PATCH",
                        {"purchasable_offer.our_price": price}),
        6: MessageEntry(6, 16, "My-SKU-D", "ATVPDKIKX0DER", "PATCH", {}),
        7: MessageEntry(7, 17, "My-SKU-D", "A2EUQ1WTGCTBG2", "PATCH", {}),
    }
    return Manifest(file="offers.xlsx", sheet="Offers", kind="offers",
                    documents=[DocumentEntry("feed.json", ["ATVPDKIKX0DER"], messages)])


def _report(issues: list[AmazonIssue], item_issues: list[AmazonIssue] | None = None,
            feed_id: str | None = "F1") -> ProcessingReport:
    return ProcessingReport("json", ReportSummary(), issues, feed_id=feed_id,
                            item_issues=item_issues or [])


def _issue(message_id: int | None, message: str, attribute: str | None = None,
           code: str | None = "90220", severity: str = "ERROR") -> AmazonIssue:
    return AmazonIssue(message_id, None, code, severity, message, attribute)


@pytest.mark.parametrize(
    ("issue", "expected"),
    [
        # messageId + attributeName with a column: the cell
        (_issue(5, "too few values", "purchasable_offer.our_price"),
         (15, "C", "My-SKU-C", "90220", "error", 5, "purchasable_offer.our_price")),
        # an attribute named only in the message, with no column: the row
        (_issue(4, "'[batteries_required]' is required but not supplied."),
         (14, None, "My-SKU-B", "90220", "error", 4, "batteries_required")),
        # an attribute named in the message that a column produced
        (_issue(4, "The value of 'fulfillment_availability.quantity' must be >= 0."),
         (14, "D", "My-SKU-B", "90220", "error", 4, "fulfillment_availability.quantity")),
        # a deeper attributeName walks up to the column that produced its parent
        (_issue(5, "bad", "purchasable_offer.our_price.schedule.value_with_tax"),
         (15, "C", "My-SKU-C", "90220", "error", 5,
          "purchasable_offer.our_price.schedule.value_with_tax")),
        # JSON-pointer style attribute path
        (_issue(4, "bad", "/attributes/fulfillment_availability/0/quantity"),
         (14, "D", "My-SKU-B", "90220", "error", 4, "fulfillment_availability.quantity")),
        # attributeName that no column produced: the row, attribute kept
        (_issue(5, "missing", "item_type_name", severity="WARNING"),
         (15, None, "My-SKU-C", "90220", "warning", 5, "item_type_name")),
        # neither attributeName nor a named attribute: the row
        (_issue(6, "The SKU is suppressed.", code=None),
         (16, None, "My-SKU-D", "amazon-issue", "error", 6, None)),
        # no messageId: the file
        (_issue(None, "attribute 'version' does not match the required value", code="4002006"),
         (None, None, None, "4002006", "error", None, None)),
    ],
)
def test_map_issue(issue: AmazonIssue, expected: tuple[Any, ...]) -> None:
    mapped = map_issues(_report([issue]), _manifest(), 0)
    assert flat(mapped) == [expected]
    only = mapped[0]
    assert only.source is Source.AMAZON
    assert only.feed_id == "F1"
    assert (only.file, only.sheet) == ("offers.xlsx", "Offers")
    assert only.message == issue.message


def test_row_level_issue_names_the_missing_column_in_its_hint() -> None:
    mapped = map_issues(_report([_issue(5, "missing", "item_type_name")]), _manifest(), 0)
    assert mapped[0].hint == ("the sheet has no column for item_type_name; add one, or fix the "
                              "listing in Seller Central")
    assert mapped[0].sentence() == (
        "Row 15: missing — the sheet has no column for item_type_name; add one, or fix the "
        "listing in Seller Central."
    )


def test_cell_issue_sentence() -> None:
    mapped = map_issues(_report([_issue(5, "Price too low.", "purchasable_offer.our_price")]),
                        _manifest(), 0)
    assert mapped[0].header == "Price"
    assert mapped[0].sentence() == 'Row 15, column C "Price": Price too low.'


def test_unknown_message_id_is_file_level_and_named() -> None:
    mapped = map_issues(_report([_issue(99, "Bad value.")]), _manifest(), 0)
    assert flat(mapped) == [(None, None, None, "90220", "error", 99, None)]
    assert mapped[0].message == "message 99, which this submission did not send: Bad value."


def test_wrong_document_index_maps_nothing_to_rows() -> None:
    mapped = map_issues(_report([_issue(5, "x", "purchasable_offer.our_price")]), _manifest(), 3)
    assert flat(mapped) == [(None, None, None, "90220", "error", 5,
                             "purchasable_offer.our_price")]


def test_item_issues_map_by_sku_and_marketplace() -> None:
    items = [
        AmazonIssue(None, "My-SKU-B", "18448", "WARNING", "Provide item_weight.", "item_weight",
                    ("item_weight", "fulfillment_availability"), ("MISSING_ATTRIBUTE",)),
        AmazonIssue(None, "My-SKU-D", "18027", "WARNING", "Main image has text.",
                    marketplace_ids=("A2EUQ1WTGCTBG2",)),
        AmazonIssue(None, "My-SKU-D", "18000", "INFO", "Both marketplaces."),
        AmazonIssue(None, "Other", "18001", "WARNING", "Not ours."),
    ]
    mapped = map_issues(_report([], items, feed_id=None), _manifest(), 0, feed_id="F9")
    assert flat(mapped) == [
        (14, "D", "My-SKU-B", "18448", "warning", None, "fulfillment_availability"),
        (17, None, "My-SKU-D", "18027", "warning", None, None),
        (16, None, "My-SKU-D", "18000", "info", None, None),
        (17, None, "My-SKU-D", "18000", "info", None, None),
        (None, None, "Other", "18001", "warning", None, None),
    ]
    assert mapped[-1].message == "SKU 'Other', which this submission did not send: Not ours."
    assert {i.feed_id for i in mapped} == {"F9"}


def test_official_example_maps_through_a_manifest() -> None:
    report = parse_report((DATA / "json-listings-report.example.json").read_text())
    mapped = map_issues(report, _manifest(), 0)
    assert flat(mapped) == [
        (14, None, "My-SKU-B", "90220", "error", 4, "batteries_required"),
        (14, None, "My-SKU-B", "90220", "error", 4, "supplier_declared_dg_hz_regulation"),
        (15, "C", "My-SKU-C", "99022", "error", 5, "purchasable_offer.our_price"),
        (14, None, "My-SKU-B", "18448", "warning", None, "item_diameter"),
        (14, None, "My-SKU-B", "18027", "warning", None, None),
    ]
    assert {i.feed_id for i in mapped} == {"1234567890"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("purchasable_offer.our_price", "purchasable_offer.our_price"),
        ("purchasable_offer[0].our_price[0]", "purchasable_offer.our_price"),
        ("/attributes/purchasable_offer/0/our_price", "purchasable_offer.our_price"),
        ("/attributes/item_name", "item_name"),
    ],
)
def test_normalise_attribute(name: str, expected: str) -> None:
    assert normalise_attribute(name) == expected


def test_mentioned_attributes_in_order() -> None:
    assert mentioned_attributes(
        "The field '\"prices\"' for the attribute 'purchasable_offer.our_price' and "
        "'[batteries_required]' (see `item_name`)"
    ) == ["prices", "purchasable_offer.our_price", "batteries_required", "item_name"]


def test_a_quoted_sku_is_not_taken_for_an_attribute() -> None:
    manifest = _manifest()
    manifest.documents[0].messages[6].sku = "blue_shirt"
    issue = _issue(6, "The SKU 'blue_shirt' does not exist; 'Title' is ignored.")
    assert flat(map_issues(_report([issue]), manifest, 0)) == [
        (16, None, "blue_shirt", "90220", "error", 6, None)]


def test_column_for_walks_up_the_path() -> None:
    entry = _manifest().entry(0, 4)
    assert entry is not None
    assert column_for(entry, "fulfillment_availability.restock_date") == (
        "fulfillment_availability", CellRef("D", "Quantity"))
    assert column_for(entry, "item_name") is None


# -- failures and the verdict ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "feed_type", "report", "cause"),
    [
        ("CANCELLED", "JSON_LISTINGS_FEED", None, "cancelled"),
        ("FATAL", "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA", None, "retired-feed-type"),
        ("FATAL", "JSON_LISTINGS_FEED", None, "unknown"),
        ("FATAL", "JSON_LISTINGS_FEED",
         ProcessingReport("xml", ReportSummary(), [_issue(None, "XML Parsing Fatal Error")]),
         "wrong-content-type"),
        ("FATAL", "JSON_LISTINGS_FEED",
         _report([_issue(None, "attribute 'version' does not match the required value")]),
         "malformed-document"),
        ("FATAL", "JSON_LISTINGS_FEED",
         _report([_issue(None, "The document's content type is not supported.")]),
         "wrong-content-type"),
        ("FATAL", "JSON_LISTINGS_FEED",
         _report([_issue(None, "Seller is not authorized for this feed type.")]),
         "missing-role"),
        ("FATAL", "JSON_LISTINGS_FEED", _report([_issue(None, "Something odd.")]), "unknown"),
    ],
)
def test_explain_failure(status: str, feed_type: str, report: ProcessingReport | None,
                         cause: str) -> None:
    explanation = explain_failure(status, feed_type=feed_type, report=report)
    assert explanation.cause == cause
    assert explanation.sentence


def test_verdict_totals_and_rows() -> None:
    verdict = VerdictReport(file="x.xlsx")
    verdict.chunks = [
        ChunkVerdict(0, "F1", "DONE", 2, ReportSummary(2, 1, 1, 1, 0)),
        ChunkVerdict(1, "F2", "DONE", 3, ReportSummary(3, 3, 0, 0, 2)),
        ChunkVerdict(2, "F3", "IN_PROGRESS", 1),
    ]
    assert verdict.totals == ReportSummary(5, 4, 1, 1, 2)
    assert not verdict.finished
    assert not verdict.failed
    assert rows_of(_manifest(), 0) == {14, 15, 16, 17}
    assert rows_of(_manifest(), 1) == set()


def test_issue_types_are_in_the_catalogue() -> None:
    assert CATALOGUE["amazon-issue"] is AMAZON_ISSUE
    assert CATALOGUE["amazon-report-unexpected-shape"].severity is Severity.WARNING
    assert CATALOGUE["amazon-report-unreadable"].source is Source.AMAZON
