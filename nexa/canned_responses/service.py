from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.canned_responses.models import CannedResponse
from nexa.canned_responses.repository import CannedResponseRepository
from nexa.canned_responses.schemas import CannedResponseCreate, CannedResponseUpdate
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _


async def create_canned_response(
    session: AsyncSession, account_id: int, params: CannedResponseCreate
) -> CannedResponse:
    repository = CannedResponseRepository(session, account_id)
    short_code = await _checked_short_code(repository, params.short_code)
    return await repository.add(CannedResponse(short_code=short_code, content=params.content))


async def update_canned_response(
    session: AsyncSession, account_id: int, canned: CannedResponse, params: CannedResponseUpdate
) -> CannedResponse:
    if params.short_code is not None:
        repository = CannedResponseRepository(session, account_id)
        canned.short_code = await _checked_short_code(repository, params.short_code, current=canned)
    if params.content is not None:
        canned.content = params.content
    await session.flush()
    return canned


async def _checked_short_code(
    repository: CannedResponseRepository, raw: str, current: CannedResponse | None = None
) -> str:
    short_code = raw.strip()
    if not short_code:
        raise ValidationFailed(_("Short code can't be blank"), ["short_code"])
    existing = await repository.get_by_short_code(short_code)
    if existing is not None and existing is not current:
        raise ValidationFailed(_("Short code has already been taken"), ["short_code"])
    return short_code
