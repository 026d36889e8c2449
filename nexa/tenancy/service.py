from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth import audit
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _
from nexa.tenancy.models import Account, AccountStatus
from nexa.tenancy.schemas import AccountUpdate


async def create_account(
    session: AsyncSession, *, name: str, locale: str = "pt-BR", timezone: str = "America/Sao_Paulo", plan: str = "free"
) -> Account:
    if not name.strip():
        raise ValidationFailed(_("Name can't be blank"), ["name"])
    account = Account(name=name.strip(), locale=locale, timezone=timezone, plan=plan)
    session.add(account)
    await session.flush()
    return account


async def update_account(session: AsyncSession, account: Account, changes: AccountUpdate, *, actor_user_id: int) -> Account:
    data = changes.model_dump(exclude_unset=True)
    if "domain" in data:
        domain = (data.pop("domain") or "").strip().lower() or None
        if domain and await session.scalar(
            select(Account.id).where(Account.custom_domain == domain, Account.id != account.id)
        ):
            raise ValidationFailed(_("Domain has already been taken"), ["domain"])
        account.custom_domain = domain
    if "branding" in data:
        branding = changes.branding.model_dump(exclude_unset=True) if changes.branding else {}
        account.branding = {**account.branding, **branding}
        data.pop("branding")
    if "custom_attributes" in data:
        account.custom_attributes = {**account.custom_attributes, **(data.pop("custom_attributes") or {})}
    for field, value in data.items():
        setattr(account, field, value)
    await session.flush()
    await audit.record(session, "account.updated", account_id=account.id, actor_user_id=actor_user_id,
                       fields=sorted(changes.model_fields_set))
    return account


async def set_status(session: AsyncSession, account: Account, status: AccountStatus, *, actor_user_id: int | None) -> None:
    account.status = status
    await audit.record(session, f"account.{status.value}", account_id=account.id, actor_user_id=actor_user_id)


async def take_conversation_display_ids(session: AsyncSession, account_id: int, count: int = 1) -> range:
    """Allocate the account's next `count` conversation numbers.

    The UPDATE takes the account row's write lock, so concurrent inserts queue here and never share a
    number (Chatwoot needs a sequence and a trigger per account for the same guarantee).
    """
    statement = (
        update(Account)
        .where(Account.id == account_id)
        .values(last_conversation_display_id=Account.last_conversation_display_id + count)
        .returning(Account.last_conversation_display_id)
    )
    last = int((await session.execute(statement)).scalar_one())
    return range(last - count + 1, last + 1)
