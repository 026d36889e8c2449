"""Chatwoot's agent JSON, the shape used wherever a member user appears (teams, inboxes, assignments)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel
from sqlalchemy.orm import selectinload

from nexa.auth.models import AccountUser
from nexa.auth.repository import MembershipRepository
from nexa.auth.serializers import availability_status
from nexa.kit.errors import NotFound


class AgentOut(BaseModel):
    id: int
    account_id: int
    availability_status: str
    auto_offline: bool
    confirmed: bool
    email: str
    provider: str
    available_name: str
    name: str
    role: str
    thumbnail: str
    type: str = "user"


def agent_out(membership: AccountUser) -> AgentOut:
    user = membership.user
    return AgentOut(
        id=user.id,
        account_id=membership.account_id,
        availability_status=availability_status(membership),
        auto_offline=membership.auto_offline,
        confirmed=True,
        email=user.email,
        provider="email",
        available_name=user.available_name,
        name=user.name,
        role="agent" if membership.role.value == "agent" else "administrator",
        thumbnail="",
    )


async def memberships_of(repository: MembershipRepository, user_ids: Iterable[int]) -> Sequence[AccountUser]:
    """The account's memberships of `user_ids`, users loaded, ordered by user id."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    statement = (
        repository.select()
        .where(AccountUser.user_id.in_(ids))
        .options(selectinload(AccountUser.user))
        .order_by(AccountUser.user_id)
    )
    return await repository.list(statement)


async def require_members(repository: MembershipRepository, user_ids: Iterable[int]) -> list[int]:
    """`user_ids` when every one belongs to the account; otherwise 404, as for any other account's id."""
    ids = sorted(set(user_ids))
    found = {m.user_id for m in await memberships_of(repository, ids)}
    strangers = [i for i in ids if i not in found]
    if strangers:
        raise NotFound()
    return ids
