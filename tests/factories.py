"""Arrange helpers: real services, real database, no mocks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from nexa.auth import service as auth_service
from nexa.auth.models import Role, TokenOwner, User
from nexa.runtime import Runtime
from nexa.tenancy import service as tenancy_service
from nexa.tenancy.models import Account

_sequence = itertools.count(1)
PASSWORD = "correct horse battery"


@dataclass
class Member:
    account: Account
    user: User
    token: str  # personal API token: send as the api_access_token header

    @property
    def headers(self) -> dict[str, str]:
        return {"api_access_token": self.token}


@dataclass
class CreatedInbox:
    """An inbox as the API created it, with the member who created it."""

    member: Member
    json: dict[str, Any]

    @property
    def id(self) -> int:
        return self.json["id"]

    @property
    def account_url(self) -> str:
        return f"/api/v1/accounts/{self.member.account.id}"


async def make_account(runtime: Runtime, name: str | None = None) -> Account:
    async with runtime.db.session() as session:
        return await tenancy_service.create_account(session, name=name or f"Account {next(_sequence)}")


async def make_member(
    runtime: Runtime,
    account: Account | None = None,
    *,
    role: Role = Role.administrator,
    email: str | None = None,
    scopes: list[str] | None = None,
) -> Member:
    account = account or await make_account(runtime)
    async with runtime.db.session() as session:
        user = await auth_service.create_user(
            session,
            name=f"User {next(_sequence)}",
            email=email or f"user{next(_sequence)}@example.com",
            password=PASSWORD,
            cipher=runtime.cipher,
        )
        await auth_service.add_member(session, account, user, role)
        if scopes is None:
            token = await auth_service.personal_token_plaintext(session, user, cipher=runtime.cipher)
        else:
            _, token = await auth_service.create_api_token(
                session, owner_type=TokenOwner.user, owner_id=user.id, name="scoped", scopes=scopes
            )
    assert token is not None
    return Member(account=account, user=user, token=token)


async def make_agent_bot(runtime: Runtime, account: Account, name: str = "Bot") -> tuple[int, str]:
    """An agent bot of `account` and its API token: (bot id, token)."""
    from nexa.agent_bots.models import AgentBot

    async with runtime.db.session() as session:
        bot = AgentBot(account_id=account.id, name=name, outgoing_url="https://bot.example.com/hook")
        session.add(bot)
        await session.flush()
        _, token = await auth_service.create_api_token(
            session, owner_type=TokenOwner.agent_bot, owner_id=bot.id, name="bot", account_id=account.id
        )
        return bot.id, token


def whatsapp_channel(phone_number_id: str = "106540352242922", api_base_url: str | None = None) -> dict[str, object]:
    """Chatwoot's `channel` object for a WhatsApp Cloud inbox (POST /inboxes), with every required field."""
    provider_config = {
        "api_key": "EAAG-test-access-token",
        "phone_number_id": phone_number_id,
        "business_account_id": "102290129340398",
        "webhook_verify_token": "test-verify-token",
        "app_secret": "test-app-secret",
    }
    if api_base_url is not None:
        provider_config["api_base_url"] = api_base_url
    return {"type": "whatsapp", "phone_number": "+15550783881", "provider": "whatsapp_cloud",
            "provider_config": provider_config}
