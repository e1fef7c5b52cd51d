"""Blank template workbooks (``feeds-kit template KIND``).

Everything about the columns comes from the row schema of the kind (``schemas/rows/KIND.json``):
the header titles, the comment on each header (``description``, allowed values, example), the
drop-downs (``enum``, marketplaces, currencies) and the number, whole-number, date and text-length
checks Excel can enforce while typing. The texts of the Instructions sheet, the sheet names and
the column order come from ``templates/KIND.json``: data, not code.

The example row sits on the Instructions sheet under the same headers, never on the data sheet,
so it can never be sent by mistake.

A listings template for one product type (``write_template("listings", out,
product_type="SHIRT")``) adds, after the fixed columns, one column per value of the product
type's Amazon schema (cached by ``feeds-kit product-types fetch``, else a packaged fixture):
required attributes first, then conditionally required ones, then the rest; drop-downs from
``enum`` showing the ``enumNames`` labels (the reader maps a label back to its value); the
attribute's title, description and rules as the header comment.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from feeds_kit import resources
from feeds_kit.errors import OutputError, UsageError
from feeds_kit.files import save_atomic
from feeds_kit.marketplaces import MARKETPLACES, Marketplace, get_marketplace
from feeds_kit.product_types import (
    AttributeInfo,
    CachedProductType,
    LeafInfo,
    ProductTypeCache,
)
from feeds_kit.workbook import put_value

__all__ = [
    "PRODUCT_TYPE_PROPERTY",
    "TEMPLATE_PROPERTY",
    "AttributeColumnSpec",
    "TemplateSpec",
    "attribute_columns",
    "available_kinds",
    "find_product_type",
    "load_spec",
    "write_template",
]

#: Workbook custom property naming the kind a template was written for.
TEMPLATE_PROPERTY = "feeds-kit-template"
#: Workbook custom property naming the product type a listings template was written for.
PRODUCT_TYPE_PROPERTY = "feeds-kit-product-type"
#: At most this many numbered columns (``bullet_point#1`` .. ``#5``) for a repeatable value.
_MAX_REPEATS = 10

# Excel's limits: the last row, a list literal in a validation, prompt and title lengths.
_LAST_ROW = 1_048_576
_MAX_LIST_LITERAL = 255
_MAX_PROMPT = 255
_MAX_PROMPT_TITLE = 32
# Date checks accept 2000-01-01 .. 2099-12-31 (Excel serials): anything else is a typo.
_FIRST_DATE = dt.date(2000, 1, 1)
_LAST_DATE = dt.date(2099, 12, 31)
_EXCEL_EPOCH = dt.date(1899, 12, 30)

_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
_COMMENT_AUTHOR = "feeds-kit"


class TemplateSpec:
    """A kind's template: its row schema and its ``templates/KIND.json`` texts, checked."""

    def __init__(self, kind: str, schema: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        self.kind = kind
        self.schema = schema
        self.data = data
        properties: Mapping[str, Any] = schema.get("properties", {})
        # The schema is the truth: a field the template names but the schema dropped is left
        # out, and a schema field the template forgot still gets a column, at the end.
        order = [f for f in data.get("columns") or properties if f in properties]
        self.fields: list[str] = order + [f for f in properties if f not in order]
        self.properties = properties
        self.required: set[str] = set(schema.get("required", ()))
        self.data_sheet: str = str(data.get("dataSheet") or kind.capitalize())
        self.instructions_sheet: str = str(data.get("instructionsSheet") or "Instructions")
        #: Attribute columns after the fixed ones (listings templates for a product type).
        self.attributes: list[AttributeColumnSpec] = []
        self.product_type: CachedProductType | None = None

    def title(self, field: str) -> str:
        """The header of ``field``: the schema ``title`` (what the reader matches too)."""
        return str(self.properties[field].get("title") or field)


def available_kinds() -> tuple[str, ...]:
    """Kinds that have both a row schema and template texts."""
    rows = resources.schema_path("rows")
    kinds = []
    for path in sorted(rows.glob("*.json")):
        if resources.template_path(path.name).is_file():
            kinds.append(path.stem)
    return tuple(kinds)


def load_spec(kind: str) -> TemplateSpec:
    """The :class:`TemplateSpec` of ``kind``; :class:`UsageError` for an unknown kind."""
    name = str(kind).strip().lower()
    kinds = available_kinds()
    if name not in kinds:
        raise UsageError(f"Unknown kind {kind!r}: use {_either(kinds)}.")
    return TemplateSpec(
        name, resources.load_schema("rows", f"{name}.json"), resources.load_template_data(
            f"{name}.json")
    )


def _either(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def write_template(
    kind: str,
    output: Path,
    *,
    marketplace: Marketplace | str | None = None,
    product_type: str | CachedProductType | None = None,
    cache: ProductTypeCache | None = None,
) -> Path:
    """Write a blank template for ``kind`` to ``output`` and return the path written.

    ``.xlsx`` (the default; a name without suffix gets it): a data sheet with the header row,
    header comments, drop-downs and checks, text-formatted SKUs, ``yyyy-mm-dd`` dates, a frozen
    header; and an Instructions sheet with an example row. ``.csv``/``.tsv``/``.txt``: the
    header row only. ``marketplace`` is used in the example row and the instructions.

    ``product_type`` (listings only: a name such as ``SHIRT``, or a loaded schema) adds the
    attribute columns of that product type's schema for ``marketplace`` (any marketplace the
    schema is at hand for when not given), looked up in ``cache`` (default
    ``<FEEDS_KIT_HOME>/product-types``, then the packaged fixtures).
    Raises :class:`UsageError` for an unknown kind or product type, :class:`OutputError` for
    another suffix or a file that cannot be written.
    """
    spec = load_spec(kind)
    if isinstance(marketplace, str):
        marketplace = get_marketplace(marketplace)
    schema: CachedProductType | None = None
    if product_type is not None:
        if spec.kind != "listings":
            raise UsageError(
                f"--product-type makes a listings template; {spec.kind} templates have none."
            )
        schema = (
            product_type if isinstance(product_type, CachedProductType)
            else find_product_type(product_type, marketplace, cache=cache)
        )
        if marketplace is None:
            marketplace = get_marketplace(schema.marketplace_id)
        spec.attributes = attribute_columns(schema)
        spec.product_type = schema
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix == "":
        output = output.with_suffix(".xlsx")
        suffix = ".xlsx"
    if suffix in _TEXT_SUFFIXES:
        _write_text_template(spec, output, _TEXT_SUFFIXES[suffix])
        return output
    if suffix != ".xlsx":
        raise OutputError(
            f"Cannot write a template as {output.name}: use a .xlsx (or .csv) file name.",
            file=str(output),
        )
    wb = _build_workbook(spec, output, marketplace)
    save_atomic(output, wb.save)
    return output


def _write_text_template(spec: TemplateSpec, output: Path, delimiter: str) -> None:
    def save(path: str) -> None:
        # A BOM so Excel opens the UTF-8 file with the right characters.
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerow(
                [spec.title(f) for f in spec.fields] + [c.header for c in spec.attributes]
            )

    save_atomic(output, save)


# --------------------------------------------------------------------------- workbook


def _build_workbook(spec: TemplateSpec, output: Path, marketplace: Marketplace | None) -> Workbook:
    wb = Workbook()
    data = wb.active
    assert data is not None  # a new Workbook always has one sheet
    data.title = spec.data_sheet
    instructions = wb.create_sheet(spec.instructions_sheet)
    lists: Worksheet | None = None

    bold = Font(bold=True)
    for col, field in enumerate(spec.fields, start=1):
        letter = get_column_letter(col)
        prop = spec.properties[field]
        cell = data.cell(row=1, column=col)
        put_value(cell, spec.title(field))
        cell.font = bold
        cell.fill = _HEADER_FILL
        cell.comment = _header_comment(spec, field)
        dimension = data.column_dimensions[letter]
        widths: Mapping[str, Any] = spec.data.get("widths", {})
        dimension.width = max(int(widths.get(field, 0)), len(spec.title(field)) + 4, 12)
        # Column style: Excel applies it to every cell the user types into that column.
        dimension.number_format = _number_format(prop, field, marketplace)

        choices = _choices(field, prop)
        if choices is not None:
            values, strict = choices
            validation, lists = _list_validation(wb, lists, field, values, strict)
        else:
            validation = _rule_validation(prop)
        if validation is not None:
            rule = _rule_text(field, prop)
            validation.promptTitle = spec.title(field)[:_MAX_PROMPT_TITLE]
            validation.prompt = rule[:_MAX_PROMPT]
            validation.showInputMessage = True
            validation.errorTitle = spec.title(field)[:_MAX_PROMPT_TITLE]
            validation.error = rule[:_MAX_PROMPT]
            validation.showErrorMessage = True
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            data.add_data_validation(validation)

    lists = _write_attribute_columns(wb, data, spec, lists)
    if spec.product_type is not None:
        _prefill_product_type(data, spec)

    width = len(spec.fields) + len(spec.attributes)
    data.freeze_panes = "A2"
    data.auto_filter.ref = f"A1:{get_column_letter(width)}1"
    _fill_instructions(spec, instructions, output, marketplace)

    data.sheet_view.tabSelected = True
    wb.active = 0
    wb.properties.creator = "feeds-kit"
    wb.properties.title = str(spec.data.get("title") or f"{spec.kind} template")
    wb.custom_doc_props.append(StringProperty(name=TEMPLATE_PROPERTY, value=spec.kind))
    if spec.product_type is not None:
        wb.custom_doc_props.append(
            StringProperty(name=PRODUCT_TYPE_PROPERTY, value=spec.product_type.product_type)
        )
    return wb


# --------------------------------------------------------------------------- product types


class AttributeColumnSpec:
    """One attribute column of a product type template: its header (an attribute path the
    reader understands), the comment, and the drop-down or check Excel enforces."""

    __slots__ = ("attribute", "choices", "comment", "header", "leaf", "required")

    def __init__(self, header: str, attribute: AttributeInfo, leaf: LeafInfo,
                 choices: list[str] | None, comment: str, required: bool) -> None:
        self.header = header
        self.attribute = attribute
        self.leaf = leaf
        self.choices = choices
        self.comment = comment
        self.required = required

    def __repr__(self) -> str:
        return f"AttributeColumnSpec({self.header!r})"


def find_product_type(
    name: str, marketplace: Marketplace | None = None, *, cache: ProductTypeCache | None = None
) -> CachedProductType:
    """The ENFORCED LISTING schema of product type ``name`` for ``marketplace`` (any
    marketplace when ``None``), cached or packaged; :class:`UsageError` saying how to fetch it."""
    cache = cache if cache is not None else ProductTypeCache()
    wanted = name.strip().upper()
    if marketplace is not None:
        found = cache.find(wanted, marketplace.id)
        if found is not None:
            return found
    else:
        for entry in [*cache.entries(), *cache.packaged_entries()]:
            if (entry.product_type.upper() == wanted and entry.enforced
                    and entry.requirements == "LISTING"):
                return entry
    where = f" for {marketplace.code}" if marketplace else ""
    market = marketplace.code if marketplace else "US"
    raise UsageError(
        f"No schema of product type {wanted}{where} is at hand: fetch it first with "
        f"feeds-kit product-types fetch {wanted} --marketplace {market}."
    )


def attribute_columns(schema: CachedProductType) -> list[AttributeColumnSpec]:
    """The attribute columns of a template for ``schema``: required attributes first, then
    conditionally required ones, then the rest (hidden ones left out); one column per value,
    numbered ``#1``..``#N`` for a value that repeats (``bullet_point``)."""
    columns: list[AttributeColumnSpec] = []
    for info in schema.describe():
        if info.hidden:
            continue
        repeats = 1
        if info.simple and info.max_unique_items and info.max_unique_items > 1:
            repeats = min(info.max_unique_items, _MAX_REPEATS)
        for leaf in info.leaves:
            if leaf.hidden:
                continue
            for number in range(1, repeats + 1):
                header = leaf.path if number == 1 else leaf.path.replace("#1", f"#{number}", 1)
                required = leaf.required and number == 1
                columns.append(AttributeColumnSpec(
                    header=header,
                    attribute=info,
                    leaf=leaf,
                    choices=_leaf_choices(leaf),
                    comment=_attribute_comment(info, leaf, required, number),
                    required=required,
                ))
    return columns


def _leaf_choices(leaf: LeafInfo) -> list[str] | None:
    if leaf.enum:
        names = list(leaf.enum_names)
        if len(names) == len(leaf.enum):
            return [str(n) for n in names]
        return [str(v) for v in leaf.enum]
    if leaf.type == "boolean":
        return ["Yes", "No"]
    return None


def _attribute_comment(info: AttributeInfo, leaf: LeafInfo, required: bool, number: int
                       ) -> str:
    title = info.title if leaf.title in (info.title, leaf.path) else f"{info.title}: {leaf.title}"
    if number > 1:
        title += f" ({number})"
    parts = [title]
    description = leaf.description or info.description
    if description:
        parts.append(str(description).strip())
    if required:
        parts.append("Required for update (create or replace).")
    elif info.conditional and number == 1:
        parts.append("Required in some cases: feeds-kit validate says when.")
    rules: list[str] = []
    if leaf.max_bytes is not None:
        rules.append(f"at most {leaf.max_bytes} bytes (accented letters count 2)")
    if leaf.min_bytes is not None:
        rules.append(f"at least {leaf.min_bytes} bytes")
    if leaf.max_length is not None:
        rules.append(f"at most {leaf.max_length} characters")
    if leaf.minimum is not None:
        rules.append(f"from {leaf.minimum}")
    if leaf.maximum is not None:
        rules.append(f"up to {leaf.maximum}")
    if rules:
        parts.append("Rules: " + ", ".join(rules) + ".")
    choices = _leaf_choices(leaf)
    if choices:
        parts.append("Allowed values: " + ", ".join(choices[:20])
                     + (", ..." if len(choices) > 20 else "") + ".")
    if leaf.examples:
        parts.append(f"Example: {leaf.examples[0]}")
    parts.append(f"Column: {leaf.path}")
    return "\n\n".join(parts)


def _write_attribute_columns(
    wb: Workbook, data: Worksheet, spec: TemplateSpec, lists: Worksheet | None
) -> Worksheet | None:
    bold = Font(bold=True)
    required_font = Font(bold=True, color="FF9C0006")
    start = len(spec.fields) + 1
    for offset, column in enumerate(spec.attributes):
        col = start + offset
        letter = get_column_letter(col)
        cell = data.cell(row=1, column=col)
        put_value(cell, column.header)
        cell.font = required_font if column.required else bold
        cell.fill = _HEADER_FILL
        text = column.comment
        lines = sum(1 + len(line) // 45 for line in text.splitlines()) or 1
        cell.comment = Comment(text, _COMMENT_AUTHOR, height=min(400, 30 + 15 * lines),
                               width=300)
        data.column_dimensions[letter].width = min(60, max(14, len(column.header) // 2 + 4))
        leaf = column.leaf
        data.column_dimensions[letter].number_format = (
            "0" if leaf.type == "integer" else "General" if leaf.type == "number" else "@"
        )
        if column.choices:
            validation, lists = _list_validation(wb, lists, column.header, column.choices, True)
            validation.promptTitle = column.attribute.title[:_MAX_PROMPT_TITLE]
            validation.prompt = ("Choose one of: " + ", ".join(column.choices))[:_MAX_PROMPT]
            validation.showInputMessage = True
            validation.errorTitle = column.attribute.title[:_MAX_PROMPT_TITLE]
            validation.error = validation.prompt
            validation.showErrorMessage = True
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            data.add_data_validation(validation)
    return lists


def _prefill_product_type(data: Worksheet, spec: TemplateSpec) -> None:
    """Offer the template's product type in its column's drop-down (other types stay allowed:
    a sheet may mix them)."""
    assert spec.product_type is not None
    if "product_type" not in spec.fields:
        return
    col = spec.fields.index("product_type") + 1
    letter = get_column_letter(col)
    validation = DataValidation(type="list", formula1=f'"{spec.product_type.product_type}"',
                                allow_blank=True, errorStyle="warning")
    validation.add(f"{letter}2:{letter}{_LAST_ROW}")
    data.add_data_validation(validation)


def _header_comment(spec: TemplateSpec, field: str) -> Comment:
    prop = spec.properties[field]
    parts = [str(prop.get("description") or "").strip()]
    if field in spec.required:
        parts.append("Required on every row.")
    choices = _choices(field, prop)
    if "enum" in prop:
        labels = prop.get("x-enum-labels") or prop["enum"]
        parts.append("Allowed values: " + ", ".join(str(v) for v in labels) + ".")
    elif choices is not None:
        parts.append("Choose from: " + ", ".join(choices[0]) + ".")
    examples = prop.get("examples") or []
    if examples:
        parts.append(f"Example: {examples[0]}")
    text = "\n\n".join(p for p in parts if p)
    lines = sum(1 + len(line) // 45 for line in text.splitlines()) or 1
    return Comment(text, _COMMENT_AUTHOR, height=min(400, 30 + 15 * lines), width=300)


def _number_format(prop: Mapping[str, Any], field: str, marketplace: Marketplace | None) -> str:
    kind = prop.get("type")
    if prop.get("format") == "date":
        return "yyyy-mm-dd"
    if kind == "integer":
        return "0"
    if kind == "number":
        if prop.get("x-format") == "money" and marketplace and marketplace.currency_decimals == 0:
            return "0"
        # At least two decimals, and up to five more so a mistyped 19.999 is shown as typed.
        return "0.00###" if prop.get("x-format") == "money" else "General"
    return "@"


def _choices(field: str, prop: Mapping[str, Any]) -> tuple[list[str], bool] | None:
    """Drop-down values of a field and whether other values are refused (``True``)."""
    if "enum" in prop:
        return [str(v) for v in prop["enum"]], True
    if prop.get("x-format") == "marketplace":
        # Marketplace ids are valid too: warn on other text, do not refuse it.
        return [m.code for m in MARKETPLACES], False
    if field == "currency" or prop.get("x-format") == "currency":
        return sorted({m.currency for m in MARKETPLACES}), False
    return None


def _list_validation(
    wb: Workbook, lists: Worksheet | None, field: str, values: list[str], strict: bool
) -> tuple[DataValidation, Worksheet | None]:
    literal = '"' + ",".join(values) + '"'
    if len(literal) - 2 <= _MAX_LIST_LITERAL and not any("," in v for v in values):
        formula = literal
    else:
        # Excel caps a typed list at 255 characters: longer lists live on a hidden sheet.
        if lists is None:
            lists = wb.create_sheet("Lists")
            lists.sheet_state = "hidden"
        col = 1 if lists["A1"].value is None else lists.max_column + 1
        letter = get_column_letter(col)
        put_value(lists.cell(row=1, column=col), field)
        for row, value in enumerate(values, start=2):
            put_value(lists.cell(row=row, column=col), value)
        formula = f"{quote_sheetname(lists.title)}!${letter}$2:${letter}${len(values) + 1}"
    validation = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        errorStyle="stop" if strict else "warning",
    )
    return validation, lists


def _rule_validation(prop: Mapping[str, Any]) -> DataValidation | None:
    kind = prop.get("type")
    if prop.get("format") == "date":
        return DataValidation(
            type="date",
            operator="between",
            formula1=str(_serial(_FIRST_DATE)),
            formula2=str(_serial(_LAST_DATE)),
            allow_blank=True,
        )
    if kind in {"number", "integer"}:
        bounds = _bounds(prop)
        if bounds is None:
            return None
        operator, low, high = bounds
        return DataValidation(
            type="whole" if kind == "integer" else "decimal",
            operator=operator,
            formula1=low,
            formula2=high,
            allow_blank=True,
        )
    if kind == "string" and ("maxLength" in prop or "minLength" in prop):
        return DataValidation(
            type="textLength",
            operator="between",
            formula1=str(prop.get("minLength", 0)),
            formula2=str(prop.get("maxLength", 32_767)),
            allow_blank=True,
        )
    return None


def _bounds(prop: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    low = prop.get("minimum")
    high = prop.get("maximum")
    exclusive_low = prop.get("exclusiveMinimum")
    exclusive_high = prop.get("exclusiveMaximum")
    if low is not None and high is not None:
        return "between", _num(low), _num(high)
    if exclusive_low is not None:
        return "greaterThan", _num(exclusive_low), None
    if low is not None:
        return "greaterThanOrEqual", _num(low), None
    if exclusive_high is not None:
        return "lessThan", _num(exclusive_high), None
    if high is not None:
        return "lessThanOrEqual", _num(high), None
    return None


def _num(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _serial(day: dt.date) -> int:
    return (day - _EXCEL_EPOCH).days


def _rule_text(field: str, prop: Mapping[str, Any]) -> str:
    """One sentence for the typing prompt and the error box: what the column takes."""
    kind = prop.get("type")
    if "enum" in prop:
        return "Choose one of: " + ", ".join(str(v) for v in prop["enum"]) + "."
    if prop.get("x-format") == "marketplace":
        return "A marketplace code such as US, DE or UK, or a marketplace id."
    if field == "currency":
        return "The three-letter currency code of the marketplace, e.g. USD or EUR."
    if prop.get("format") == "date":
        return "A date, typed as YYYY-MM-DD (e.g. 2026-12-01)."
    if kind in {"number", "integer"}:
        what = "A whole number" if kind == "integer" else "A number"
        bounds = _bounds(prop)
        if prop.get("x-format") == "money":
            what += " without currency sign, with a dot for decimals,"
        if bounds is None:
            return what.rstrip(",") + "."
        operator, low, high = bounds
        phrase = {
            "between": f"from {low} to {high}",
            "greaterThan": f"greater than {low}",
            "greaterThanOrEqual": f"of {low} or more",
            "lessThan": f"less than {low}",
            "lessThanOrEqual": f"of {low} or less",
        }[operator]
        return f"{what} {phrase}."
    if kind == "string" and "maxLength" in prop:
        return f"Text of {prop.get('minLength', 0)} to {prop['maxLength']} characters."
    return "Text."


# --------------------------------------------------------------------------- instructions


def _fill_instructions(
    spec: TemplateSpec, ws: Worksheet, output: Path, marketplace: Marketplace | None
) -> None:
    market = marketplace.code if marketplace else "US"
    words = {"sheet": spec.data_sheet, "file": output.name, "kind": spec.kind,
             "marketplace": market}
    wrap = Alignment(wrap_text=True, vertical="top")
    row = 1
    title = ws.cell(row=row, column=1)
    put_value(title, str(spec.data.get("title") or spec.kind).format(**words))
    title.font = Font(bold=True, size=14)
    row += 1
    description = str(spec.schema.get("description") or "")
    if description:
        put_value(ws.cell(row=row, column=1), description)
        ws.cell(row=row, column=1).alignment = wrap
        row += 1
    sections = list(spec.data.get("sections", []))
    if spec.product_type is not None and spec.data.get("productTypeSection"):
        words["product_type"] = spec.product_type.product_type
        words["display_name"] = spec.product_type.display_name or spec.product_type.product_type
        words["required"] = ", ".join(c.header for c in spec.attributes if c.required) or "none"
        sections.insert(0, spec.data["productTypeSection"])
    for section in sections:
        row += 1
        heading = ws.cell(row=row, column=1)
        put_value(heading, str(section.get("heading", "")).format(**words))
        heading.font = Font(bold=True)
        for line in section.get("lines", []):
            row += 1
            cell = ws.cell(row=row, column=1)
            put_value(cell, str(line).format(**words))
            cell.alignment = wrap

    example = spec.data.get("example") or {}
    row += 2
    heading = ws.cell(row=row, column=1)
    put_value(heading, str(example.get("heading") or "Example row").format(**words))
    heading.font = Font(bold=True)
    if example.get("note"):
        row += 1
        put_value(ws.cell(row=row, column=1), str(example["note"]).format(**words))
    row += 1
    values = _example_values(spec, marketplace)
    extra = [c for c in example.get("columns", []) if isinstance(c, Mapping) and c.get("header")]
    for col, column in enumerate(extra, start=len(spec.fields) + 1):
        header = ws.cell(row=row, column=col)
        put_value(header, str(column["header"]))
        header.font = Font(bold=True)
        header.fill = _HEADER_FILL
        if column.get("value") is not None:
            put_value(ws.cell(row=row + 1, column=col), column["value"])
        ws.column_dimensions[get_column_letter(col)].width = min(
            60, max(12, len(str(column["header"])) + 2)
        )
    for col, field in enumerate(spec.fields, start=1):
        header = ws.cell(row=row, column=col)
        put_value(header, spec.title(field))
        header.font = Font(bold=True)
        header.fill = _HEADER_FILL
        cell = ws.cell(row=row + 1, column=col)
        value = values.get(field)
        if value is not None:
            put_value(cell, value)
        cell.number_format = _number_format(spec.properties[field], field, marketplace)
        if col > 1:
            ws.column_dimensions[get_column_letter(col)].width = max(
                12, len(spec.title(field)) + 4
            )
    ws.column_dimensions["A"].width = 110


def _example_values(spec: TemplateSpec, marketplace: Marketplace | None) -> dict[str, Any]:
    """The first schema example of each field, as Excel should hold it (numbers, dates)."""
    values: dict[str, Any] = {}
    for field in spec.fields:
        prop = spec.properties[field]
        examples = prop.get("examples") or []
        if not examples:
            continue
        value = examples[0]
        if prop.get("x-format") == "marketplace" and marketplace is not None:
            value = marketplace.code
        elif field == "currency" and marketplace is not None:
            value = marketplace.currency
        elif prop.get("format") == "date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        elif (
            prop.get("x-format") == "money"
            and marketplace is not None
            and marketplace.currency_decimals == 0
        ):
            # 19.99 means nothing in yen: keep the digits, drop the decimals.
            value = round(float(value) * 100)
        values[field] = value
    return values
