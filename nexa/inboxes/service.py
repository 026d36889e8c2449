from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.repository import MembershipRepository
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import AgentBotRepository, InboxMemberRepository
from nexa.inboxes.schemas import InboxCreate, InboxSettings, InboxUpdate
from nexa.kit.crypto import Cipher, random_token
from nexa.kit.errors import ValidationFailed
from nexa.teams.agents import require_members

PUBLIC_ID_LENGTH = 24


async def create_inbox(session: AsyncSession, account_id: int, params: InboxCreate, *, cipher: Cipher) -> Inbox:
    inbox = Inbox(
        account_id=account_id,
        name=params.name.strip(),
        channel_type=params.channel_type,
        channel_config={},
        encrypted_credentials={},
        working_hours=[],
        public_id=random_token(PUBLIC_ID_LENGTH),
    )
    await _apply(session, account_id, inbox, params, cipher)
    session.add(inbox)
    await session.flush()
    return inbox


async def update_inbox(
    session: AsyncSession, account_id: int, inbox: Inbox, params: InboxUpdate, *, cipher: Cipher
) -> Inbox:
    await _apply(session, account_id, inbox, params, cipher)
    await session.flush()
    return inbox


def read_credential(inbox: Inbox, name: str, *, cipher: Cipher) -> str | None:
    """A decrypted secret of the inbox's channel, for the channel adapters."""
    stored = inbox.encrypted_credentials.get(name)
    return cipher.decrypt(stored) if stored is not None else None


async def _apply(session: AsyncSession, account_id: int, inbox: Inbox, params: InboxSettings, cipher: Cipher) -> None:
    changes: dict[str, Any] = params.model_dump(exclude_unset=True, exclude={"channel_type"})
    if "name" in changes and changes["name"] is not None:
        changes["name"] = changes["name"].strip()
    if changes.get("agent_bot_id") is not None:
        if await AgentBotRepository(session, account_id).get(changes["agent_bot_id"]) is None:
            raise ValidationFailed("Agent bot does not exist", ["agent_bot_id"])
    if "channel_config" in changes:
        inbox.channel_config = {**inbox.channel_config, **(changes.pop("channel_config") or {})}
    if "credentials" in changes:
        inbox.encrypted_credentials = _merged_credentials(inbox.encrypted_credentials, changes.pop("credentials"), cipher)
    nullable = {"greeting_message", "out_of_office_message", "avatar_url", "max_assignment_limit", "agent_bot_id"}
    for field, value in changes.items():
        if value is not None or field in nullable:
            setattr(inbox, field, value)


def _merged_credentials(current: dict[str, str], changes: dict[str, str | None] | None, cipher: Cipher) -> dict[str, str]:
    merged = dict(current)
    for name, secret in (changes or {}).items():
        if secret is None or secret == "":
            merged.pop(name, None)
        else:
            merged[name] = cipher.encrypt(secret)
    return merged


async def add_members(session: AsyncSession, account_id: int, inbox: Inbox, user_ids: list[int]) -> list[int]:
    ids = await require_members(MembershipRepository(session, account_id), user_ids)
    await InboxMemberRepository(session, account_id).add_users(inbox.id, ids)
    return await InboxMemberRepository(session, account_id).user_ids(inbox.id)


async def replace_members(session: AsyncSession, account_id: int, inbox: Inbox, user_ids: list[int]) -> list[int]:
    ids = await require_members(MembershipRepository(session, account_id), user_ids)
    members = InboxMemberRepository(session, account_id)
    await members.remove_users(inbox.id, set(await members.user_ids(inbox.id)) - set(ids))
    await members.add_users(inbox.id, ids)
    return ids


async def remove_members(session: AsyncSession, account_id: int, inbox: Inbox, user_ids: list[int]) -> None:
    await InboxMemberRepository(session, account_id).remove_users(inbox.id, user_ids)

