"""Products and services: managed one by one or imported from CSV, searchable through the knowledge search.

Every change queues the re-indexing of the account's catalog document, where each item is one passage
naming its price, availability and duration in pt, es and en, so "quanto custa", "cuánto cuesta" and
"how much" all find it.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.catalog.models import Availability, CatalogItem, ItemKind
from nexa.catalog.repository import CatalogItemRepository
from nexa.catalog.schemas import CatalogImportResult, CatalogItemCreate, CatalogItemUpdate, ImportRowError
from nexa.kit.errors import UnprocessableEntity, ValidationFailed
from nexa.kit.lazy_text import _
from nexa.knowledge.extraction import ExtractionError, decode_text
from nexa.knowledge.repository import NewChunk
from nexa.knowledge.service import refresh_catalog
from nexa.knowledge.text import detect_language, fold

MAX_IMPORT_ROWS = 10_000

# CSV headers as people write them (folded: lowercase, no accents) -> field.
_HEADER_ALIASES: dict[str, str] = {
    "name": "name", "nome": "name", "nombre": "name", "produto": "name", "producto": "name", "product": "name",
    "description": "description", "descricao": "description", "descripcion": "description",
    "price": "price", "preco": "price", "precio": "price", "valor": "price",
    "currency": "currency", "moeda": "currency", "moneda": "currency",
    "sku": "sku", "codigo": "sku", "code": "sku",
    "availability": "availability", "disponibilidade": "availability", "disponibilidad": "availability",
    "stock": "availability", "estoque": "availability",
    "duration_minutes": "duration_minutes", "duration": "duration_minutes", "duracao": "duration_minutes",
    "duracion": "duration_minutes",
    "kind": "kind", "tipo": "kind", "type": "kind",
}
_AVAILABILITY_WORDS: dict[str, Availability] = {
    **{word: Availability.available for word in ("available", "disponivel", "disponible", "sim", "si", "yes", "in stock", "em estoque")},
    **{word: Availability.unavailable for word in ("unavailable", "indisponivel", "no disponible", "nao", "no", "out of stock", "esgotado", "agotado")},
    **{word: Availability.on_request for word in ("on_request", "on request", "sob consulta", "bajo pedido", "sob encomenda")},
}
_KIND_WORDS: dict[str, ItemKind] = {
    **{word: ItemKind.product for word in ("product", "produto", "producto")},
    **{word: ItemKind.service for word in ("service", "servico", "servicio")},
}
_AVAILABILITY_TEXT = {
    Availability.available: "disponível / disponible / available",
    Availability.unavailable: "indisponível, esgotado / agotado / unavailable, out of stock",
    Availability.on_request: "sob consulta / bajo pedido / on request",
}


async def create_item(session: AsyncSession, account_id: int, params: CatalogItemCreate) -> CatalogItem:
    items = CatalogItemRepository(session, account_id)
    await _check_sku_free(items, params.sku)
    item = await items.add(CatalogItem(**params.model_dump()))
    await refresh_catalog(session, account_id)
    return item


async def update_item(session: AsyncSession, item: CatalogItem, params: CatalogItemUpdate) -> CatalogItem:
    changes = params.model_dump(exclude_unset=True)
    if changes.get("sku") not in (None, item.sku):
        await _check_sku_free(CatalogItemRepository(session, item.account_id), changes["sku"])
    for name, value in changes.items():
        if value is None and name in ("kind", "name", "currency", "availability", "description"):
            continue  # required fields cannot be cleared
        setattr(item, name, value)
    await session.flush()
    await refresh_catalog(session, item.account_id)
    return item


async def delete_item(session: AsyncSession, item: CatalogItem) -> None:
    await CatalogItemRepository(session, item.account_id).delete(item)
    await refresh_catalog(session, item.account_id)


async def _check_sku_free(items: CatalogItemRepository, sku: str | None) -> None:
    if sku is not None and await items.by_sku(sku) is not None:
        raise ValidationFailed(_("Sku has already been taken"), ["sku"])


async def import_csv(session: AsyncSession, account_id: int, data: bytes) -> CatalogImportResult:
    """Create or update (matched by SKU) one item per row; rows with errors are reported, the rest kept."""
    try:
        text = decode_text(data)
    except ExtractionError as exc:
        raise UnprocessableEntity(exc.text) from exc
    rows = _csv_rows(text)
    if not rows:
        raise UnprocessableEntity(
            _("The CSV has no rows; the first line must name the columns (name, price, ...)")
        )
    if len(rows) > MAX_IMPORT_ROWS:
        raise UnprocessableEntity(_("The CSV has more than %(max_rows)s rows", max_rows=MAX_IMPORT_ROWS))
    items = CatalogItemRepository(session, account_id)
    created = updated = 0
    errors: list[ImportRowError] = []
    for line, raw in rows:
        try:
            params = CatalogItemCreate.model_validate(_normalized_row(raw))
        except (ValidationError, ValueError) as exc:
            errors.append(ImportRowError(row=line, error=_first_error(exc)))
            continue
        existing = await items.by_sku(params.sku) if params.sku else None
        if existing is None:
            await items.add(CatalogItem(**params.model_dump()))
            created += 1
        else:
            # Only the columns the file has: a price list must not wipe descriptions.
            for name, value in params.model_dump(exclude_unset=True).items():
                setattr(existing, name, value)
            updated += 1
    await session.flush()
    if created or updated:
        await refresh_catalog(session, account_id)
    return CatalogImportResult(created=created, updated=updated, errors=errors)


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        return []
    fields = [_HEADER_ALIASES.get(fold(name).strip().replace(" ", "_"), "") for name in header]
    if "name" not in fields:
        raise UnprocessableEntity(_("The CSV needs a name column (name, nome or nombre)"))
    rows = []
    for line, cells in enumerate(reader, start=2):
        if any(cell.strip() for cell in cells):
            rows.append((line, {field: cell.strip() for field, cell in zip(fields, cells) if field and cell.strip()}))
    return rows


def _normalized_row(raw: dict[str, str]) -> dict[str, object]:
    row: dict[str, object] = dict(raw)
    if "price" in raw:
        row["price"] = _price(raw["price"])
    if "availability" in raw:
        word = fold(raw["availability"]).strip()
        if word not in _AVAILABILITY_WORDS:
            raise ValueError(f"availability: unknown value {raw['availability']!r}")
        row["availability"] = _AVAILABILITY_WORDS[word]
    if "kind" in raw:
        word = fold(raw["kind"]).strip()
        if word not in _KIND_WORDS:
            raise ValueError(f"kind: unknown value {raw['kind']!r} (product or service)")
        row["kind"] = _KIND_WORDS[word]
    return row


def _price(text: str) -> Decimal:
    """ "R$ 1.234,56", "1,234.56", "49.9" -> Decimal; the last separator is the decimal one."""
    digits = "".join(ch for ch in text if ch.isdigit() or ch in ",.")
    last = max(digits.rfind(","), digits.rfind("."))
    if last != -1 and len(digits) - last - 1 in (1, 2):
        digits = digits[:last].replace(",", "").replace(".", "") + "." + digits[last + 1:]
    else:
        digits = digits.replace(",", "").replace(".", "")
    try:
        return Decimal(digits)
    except InvalidOperation as exc:
        raise ValueError(f"price: {text!r} is not a price") from exc


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
    return str(exc)


async def catalog_chunks(session: AsyncSession, account_id: int, title: str) -> list[NewChunk]:
    """One passage per item, for the catalog document's index."""
    return [
        NewChunk(_passage(item), detect_language(f"{item.name}. {item.description}"), context=title, catalog_item_id=item.id)
        for item in await CatalogItemRepository(session, account_id).by_name()
    ]


def _passage(item: CatalogItem) -> str:
    kind = "serviço / servicio / service" if item.kind is ItemKind.service else "produto / producto / product"
    lines = [f"{item.name} ({kind})"]
    if item.price is not None:
        lines.append(f"Preço / Precio / Price: {item.currency} {item.price:.2f}")
    if item.duration_minutes:
        lines.append(f"Duração / Duración / Duration: {item.duration_minutes} min")
    lines.append(f"Disponibilidade / Disponibilidad / Availability: {_AVAILABILITY_TEXT[item.availability]}")
    if item.sku:
        lines.append(f"SKU: {item.sku}")
    if item.description:
        lines.append(item.description)
    return "\n".join(lines)
