from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.repository import MembershipRepository
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import AgentBotRepository, InboxMemberRepository, InboxRepository
from nexa.inboxes.schemas import InboxCreate, InboxSettings, InboxUpdate
from nexa.inboxes.templates import enqueue_template_sync, has_message_templates, template_source
from nexa.kit.crypto import Cipher, random_token
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.teams.agents import require_members
from nexa.webhooks.outbox import record_event as record_webhook_event

PUBLIC_ID_LENGTH = 24

# Chatwoot's names for secrets that Nexa's channel adapters know by another name.
_CREDENTIAL_ALIASES = {ChannelType.whatsapp_cloud: {"api_key": "access_token"}}


@dataclass(frozen=True)
class _Required:
    name: str  # as the API takes it (Chatwoot's provider_config key)
    stored_as: str
    secret: bool


# What a channel cannot work without, checked on every create and update (a secret cannot be removed).
_REQUIRED = {
    ChannelType.whatsapp_cloud: (
        _Required("phone_number_id", "phone_number_id", secret=False),
        _Required("api_key", "access_token", secret=True),
        _Required("app_secret", "app_secret", secret=True),
        _Required("webhook_verify_token", "webhook_verify_token", secret=True),
    ),
    ChannelType.evolution: (
        _Required("base_url", "base_url", secret=False),
        _Required("instance", "instance", secret=False),
        _Required("apikey", "apikey", secret=True),
    ),
    ChannelType.telegram: (_Required("bot_token", "bot_token", secret=True),),
}
# channel_config keys that identify the provider's account: one inbox each within an account, since
# webhooks are routed by them.
_UNIQUE_KEYS = {ChannelType.whatsapp_cloud: "phone_number_id", ChannelType.evolution: "instance"}
# Channels whose provider sends back a secret Nexa chose (Telegram's secret_token, the header Evolution is
# given), and API inboxes, whose webhook_url deliveries Nexa signs with it: generated with the inbox unless
# the admin brings one. 48 characters of A-Z a-z 0-9 suit all.
_GENERATED_WEBHOOK_SECRET = frozenset({ChannelType.evolution, ChannelType.telegram, ChannelType.api})
WEBHOOK_SECRET_LENGTH = 48


async def create_inbox(session: AsyncSession, account_id: int, params: InboxCreate, *, cipher: Cipher) -> Inbox:
    inbox = Inbox(
        account_id=account_id,
        name=params.name.strip(),
        channel_type=params.channel_type,
        channel_config={},
        encrypted_credentials={},
        working_hours=[],
        public_id=random_token(PUBLIC_ID_LENGTH),
        message_templates=None,  # set, not left unloaded: the deferred column would raise when shown
    )
    await _apply(session, account_id, inbox, params, cipher)
    if inbox.channel_type in _GENERATED_WEBHOOK_SECRET and "webhook_secret" not in inbox.encrypted_credentials:
        secret = cipher.encrypt(random_token(WEBHOOK_SECRET_LENGTH))
        inbox.encrypted_credentials = {**inbox.encrypted_credentials, "webhook_secret": secret}
    session.add(inbox)
    await session.flush()
    record_webhook_event(session, "inbox_created", account_id, inbox_id=inbox.id)
    if has_message_templates(inbox):
        await enqueue_template_sync(session, inbox.id, account_id)
    return inbox


async def update_inbox(
    session: AsyncSession, account_id: int, inbox: Inbox, params: InboxUpdate, *, cipher: Cipher
) -> Inbox:
    templates_from = template_source(inbox)
    await _apply(session, account_id, inbox, params, cipher)
    await session.flush()
    record_webhook_event(session, "inbox_updated", account_id, inbox_id=inbox.id)
    if has_message_templates(inbox) and template_source(inbox) != templates_from:
        await enqueue_template_sync(session, inbox.id, account_id)
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
            raise ValidationFailed(_("Agent bot does not exist"), ["agent_bot_id"])
    if "channel_config" in changes:
        inbox.channel_config = {**inbox.channel_config, **(changes.pop("channel_config") or {})}
        await _require_unique_number(session, account_id, inbox)
    if "credentials" in changes:
        aliases = _CREDENTIAL_ALIASES.get(inbox.channel_type, {})
        named = {aliases.get(name, name): secret for name, secret in (changes.pop("credentials") or {}).items()}
        inbox.encrypted_credentials = _merged_credentials(inbox.encrypted_credentials, named, cipher)
    nullable = {"greeting_message", "out_of_office_message", "avatar_url", "max_assignment_limit", "agent_bot_id"}
    for field, value in changes.items():
        if value is not None or field in nullable:
            setattr(inbox, field, value)
    _require_settings(inbox)


def _require_settings(inbox: Inbox) -> None:
    missing = [
        required.name
        for required in _REQUIRED.get(inbox.channel_type, ())
        if not (inbox.encrypted_credentials if required.secret else inbox.channel_config).get(required.stored_as)
    ]
    if missing:
        raise ValidationFailed(
            _(
                "A %(channel_type)s inbox needs %(fields)s",
                channel_type=inbox.channel_type,
                fields=", ".join(missing),
            ),
            missing,
        )


async def _require_unique_number(session: AsyncSession, account_id: int, inbox: Inbox) -> None:
    key = _UNIQUE_KEYS.get(inbox.channel_type)
    value = inbox.channel_config.get(key) if key else None
    if not key or not value:
        return
    repository = InboxRepository(session, account_id)
    same_channel = await repository.list(repository.select().where(Inbox.channel_type == inbox.channel_type))
    if any(other.id != inbox.id and str(other.channel_config.get(key)) == str(value) for other in same_channel):
        raise ValidationFailed(_("Another inbox already uses %(key)s %(value)s", key=key, value=value), [key])


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
    return await InboxMemberRepository(session, account_id).replace_users(inbox.id, ids)


async def remove_members(session: AsyncSession, account_id: int, inbox: Inbox, user_ids: list[int]) -> None:
    await InboxMemberRepository(session, account_id).remove_users(inbox.id, user_ids)

