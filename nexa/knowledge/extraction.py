"""Turning an uploaded file into structured blocks of text: headings, paragraphs and tables.

Formats are recognised by the file name's extension. `probe()` is the cheap check an upload gets before
it is accepted (empty, encrypted, corrupt); `extract_blocks()` is the full extraction the indexing job runs.
Both raise `ExtractionError` with a reason an admin can act on.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from nexa.kit.lazy_text import LazyText, _


class DocumentFormat(StrEnum):
    pdf = "pdf"
    docx = "docx"
    xlsx = "xlsx"
    csv = "csv"
    txt = "txt"
    markdown = "markdown"
    faq = "faq"
    # The account's product and service catalog, indexed item by item (nexa.catalog).
    catalog = "catalog"


EXTENSIONS: dict[str, DocumentFormat] = {
    ".pdf": DocumentFormat.pdf,
    ".docx": DocumentFormat.docx,
    ".xlsx": DocumentFormat.xlsx,
    ".csv": DocumentFormat.csv,
    ".txt": DocumentFormat.txt,
    ".md": DocumentFormat.markdown,
    ".markdown": DocumentFormat.markdown,
}


class ExtractionError(Exception):
    """The file cannot be read; `reason` says why in words an admin understands (English, as stored on the
    document), `text` the same words to translate for the one who uploads it (nexa/kit/lazy_text.py)."""

    def __init__(self, reason: LazyText) -> None:
        self.text = reason
        self.reason = str(reason)
        super().__init__(self.reason)


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "paragraph", "table"]
    text: str
    level: int = 0  # heading depth (1 = top)
    # A table's rows, each naming its columns, so a long table can be split between rows.
    rows: tuple[str, ...] = ()


def format_of(filename: str) -> DocumentFormat | None:
    lowered = filename.lower()
    return next((fmt for ext, fmt in EXTENSIONS.items() if lowered.endswith(ext)), None)


def probe(data: bytes, fmt: DocumentFormat) -> None:
    """Refuse at upload what can never be indexed: empty, encrypted, corrupt or undecodable files."""
    if not data.strip():
        raise ExtractionError(_("The file is empty"))
    if fmt is DocumentFormat.pdf:
        _pdf_reader(data)
    elif fmt in (DocumentFormat.docx, DocumentFormat.xlsx):
        _check_office_zip(data, fmt)
    else:
        decode_text(data)


def extract_blocks(data: bytes, fmt: DocumentFormat) -> list[Block]:
    """The document's blocks in reading order; ExtractionError when it holds no text at all."""
    extractor = {
        DocumentFormat.pdf: _pdf_blocks,
        DocumentFormat.docx: _docx_blocks,
        DocumentFormat.xlsx: _xlsx_blocks,
        DocumentFormat.csv: _csv_blocks,
        DocumentFormat.txt: lambda raw: _text_blocks(decode_text(raw), markdown=False),
        DocumentFormat.markdown: lambda raw: _text_blocks(decode_text(raw), markdown=True),
        DocumentFormat.faq: _faq_blocks,
    }[fmt]
    try:
        blocks = [block for block in extractor(data) if block.text.strip()]
    except ExtractionError:
        raise
    except Exception as exc:  # a parser choking on a malformed file: the file's problem, said plainly
        raise ExtractionError(
            _(
                "The file could not be read (%(error)s: %(detail)s)",
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )
        ) from exc
    if not blocks:
        raise ExtractionError(_("No text could be extracted from the file (a scanned PDF needs OCR first)"))
    return blocks


def decode_text(data: bytes) -> str:
    """Text of a file in UTF-8 (with or without BOM) or Windows-1252; ExtractionError for binary data."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ExtractionError(_("The file is not text (expected UTF-8 or Windows-1252)"))


def _pdf_reader(data: bytes):  # type: ignore[no-untyped-def]
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError(_("The PDF is password-protected; upload an unprotected copy"))
        len(reader.pages)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ExtractionError(_("The PDF is corrupt or not a PDF (%(reason)s)", reason=exc)) from exc
    return reader


def _check_office_zip(data: bytes, fmt: DocumentFormat) -> None:
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        # Office wraps encrypted documents (and legacy .doc/.xls) in an OLE container instead of a zip.
        raise ExtractionError(
            _("The %(format)s file is password-protected or in a legacy format", format=fmt.value.upper())
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise ExtractionError(_("The %(format)s file is corrupt", format=fmt.value.upper())) from exc
    expected = "word/document.xml" if fmt is DocumentFormat.docx else "xl/workbook.xml"
    if expected not in names:
        raise ExtractionError(_("The file is not a %(format)s document", format=fmt.value.upper()))


def _pdf_blocks(data: bytes) -> list[Block]:
    blocks: list[Block] = []
    for page in _pdf_reader(data).pages:
        blocks.extend(_text_blocks(page.extract_text() or "", markdown=False))
    return blocks


def _docx_blocks(data: bytes) -> list[Block]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_office_zip(data, DocumentFormat.docx)
    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            style = (item.style.name if item.style is not None else "") or ""
            match = re.match(r"(?:Heading|Título|Title)\s*(\d*)", style)
            if match and text:
                blocks.append(Block("heading", text, level=int(match.group(1) or 1)))
            elif text:
                blocks.append(Block("paragraph", text))
        elif isinstance(item, Table):
            rows = [[cell.text.strip() for cell in row.cells] for row in item.rows]
            if rows:
                blocks.append(_table_block(rows))
    return blocks


def _xlsx_blocks(data: bytes) -> list[Block]:
    import openpyxl

    _check_office_zip(data, DocumentFormat.xlsx)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    blocks: list[Block] = []
    try:
        for sheet in workbook.worksheets:
            rows = [
                ["" if value is None else str(value).strip() for value in row]
                for row in sheet.iter_rows(values_only=True)
            ]
            rows = [row for row in rows if any(row)]
            if rows:
                if len(workbook.worksheets) > 1:
                    blocks.append(Block("heading", sheet.title, level=1))
                blocks.append(_table_block(rows))
    finally:
        workbook.close()
    return blocks


def _csv_blocks(data: bytes) -> list[Block]:
    text = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]
    rows = [row for row in rows if any(row)]
    return [_table_block(rows)] if rows else []


def _table_block(rows: list[list[str]]) -> Block:
    """A table whose rows read on their own: "Plano: Pro; Preço: R$ 99" (each row names its columns)."""
    header, body = rows[0], rows[1:]
    if not body:
        return Block("table", " | ".join(cell for cell in header if cell))
    lines = tuple(
        "; ".join(f"{name}: {value}" if name else value for name, value in zip(_padded(header, row), row) if value)
        for row in body
    )
    kept = tuple(line for line in lines if line)
    return Block("table", "\n".join(kept), rows=kept)


def _padded(header: list[str], row: list[str]) -> list[str]:
    return header + [""] * (len(row) - len(header))


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def _text_blocks(text: str, *, markdown: bool) -> list[Block]:
    """Paragraphs split on blank lines; with `markdown`, `#` headings and pipe tables are recognised."""
    blocks: list[Block] = []
    for raw in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [line.rstrip() for line in raw.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if markdown:
            while lines and (heading := _MD_HEADING.match(lines[0])):
                blocks.append(Block("heading", heading.group(2).strip(), level=len(heading.group(1))))
                lines = lines[1:]
            if lines and all(line.lstrip().startswith("|") for line in lines):
                cells = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
                cells = [row for row in cells if not all(re.fullmatch(r":?-{2,}:?", c) or not c for c in row)]
                blocks.append(_table_block(cells))
                continue
        if lines:
            blocks.append(Block("paragraph", "\n".join(lines)))
    return blocks


def _faq_blocks(data: bytes) -> list[Block]:
    # Each pair is its own heading + paragraph, so the chunker never splits an answer from its question.
    blocks: list[Block] = []
    for pair in json.loads(data):
        blocks.append(Block("heading", pair["question"].strip(), level=1))
        blocks.append(Block("paragraph", pair["answer"].strip()))
    return blocks
