"""First start: the first account and its owner, so a fresh install can be used at once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from nexa.auth import service as auth_service
from nexa.auth.models import Role
from nexa.kit.crypto import random_token
from nexa.runtime import Runtime
from nexa.tenancy import service as tenancy_service
from nexa.tenancy.models import Account


@dataclass(frozen=True)
class FirstLogin:
    account_id: int
    email: str
    password: str | None  # None when it came from NEXA_ADMIN_PASSWORD: never echo a secret the operator chose


async def ensure_first_account(runtime: Runtime) -> FirstLogin | None:
    """Create the first account and owner when there is no account yet; None when there was one."""
    settings = runtime.settings
    async with runtime.db.session() as session:
        if await session.scalar(select(func.count()).select_from(Account)):
            return None
        account = await tenancy_service.create_account(
            session, name=settings.account_name, locale=settings.default_locale, timezone=settings.default_timezone
        )
        email = settings.admin_email or "admin@example.com"
        generated = None if settings.admin_password else random_token(16)
        user = await auth_service.create_user(
            session,
            name="Administrator",
            email=email,
            password=settings.admin_password or generated,
            cipher=runtime.cipher,
        )
        await auth_service.add_member(session, account, user, Role.owner)
    return FirstLogin(account_id=account.id, email=user.email, password=generated)
