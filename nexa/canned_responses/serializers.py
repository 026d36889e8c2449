from __future__ import annotations

from nexa.canned_responses.models import CannedResponse
from nexa.canned_responses.schemas import CannedResponseOut


def canned_response_out(canned: CannedResponse) -> CannedResponseOut:
    return CannedResponseOut(
        id=canned.id,
        account_id=canned.account_id,
        short_code=canned.short_code,
        content=canned.content,
        created_at=canned.created_at.isoformat(),
        updated_at=canned.updated_at.isoformat(),
    )
