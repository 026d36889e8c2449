from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.models import AuditEvent


@dataclass(frozen=True)
class RequestOrigin:
    """Who is on the other end, for the audit log and session records."""

    ip: str | None = None
    user_agent: str | None = None


async def record(
    session: AsyncSession,
    action: str,
    *,
    origin: RequestOrigin | None = None,
    account_id: int | None = None,
    actor_user_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    **details: Any,
) -> None:
    origin = origin or RequestOrigin()
    session.add(
        AuditEvent(
            action=action,
            account_id=account_id,
            actor_user_id=actor_user_id,
            target_type=target_type,
            target_id=target_id,
            ip=origin.ip,
            user_agent=(origin.user_agent or "")[:512] or None,
            details=details,
        )
    )
