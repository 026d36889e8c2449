from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from nexa.auth.models import AccessToken, AccountUser, AuditEvent, AuthSession, TokenOwner, User
from nexa.tenancy.repository import AccountRepository, Repository


class UserRepository(Repository[User]):
    model = User

    async def get_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))

    async def memberships(self, user_id: int) -> Sequence[AccountUser]:
        statement = (
            select(AccountUser)
            .where(AccountUser.user_id == user_id)
            .options(selectinload(AccountUser.account))
            .order_by(AccountUser.account_id)
        )
        return (await self.session.scalars(statement)).all()


class MembershipRepository(AccountRepository[AccountUser]):
    model = AccountUser

    async def get_for_user(self, user_id: int) -> AccountUser | None:
        return await self.session.scalar(self.select().where(AccountUser.user_id == user_id))

    async def with_users(self) -> Sequence[AccountUser]:
        statement = self.select().options(selectinload(AccountUser.user)).order_by(AccountUser.id)
        return (await self.session.scalars(statement)).all()


class AccessTokenRepository(Repository[AccessToken]):
    model = AccessToken

    async def get_by_lookup_id(self, lookup_id: str) -> AccessToken | None:
        return await self.session.scalar(select(AccessToken).where(AccessToken.lookup_id == lookup_id))

    async def personal_token(self, user_id: int) -> AccessToken | None:
        return await self.session.scalar(
            select(AccessToken).where(
                AccessToken.owner_type == TokenOwner.user,
                AccessToken.owner_id == user_id,
                AccessToken.is_personal.is_(True),
                AccessToken.revoked_at.is_(None),
            )
        )


class AccountTokenRepository(AccountRepository[AccessToken]):
    """API tokens created for one account (settings page); personal and CLI tokens have no account."""

    model = AccessToken

    async def live_user_tokens(self) -> Sequence[AccessToken]:
        statement = (
            self.select()
            .where(AccessToken.owner_type == TokenOwner.user, AccessToken.revoked_at.is_(None))
            .order_by(AccessToken.id.desc())
        )
        return (await self.session.scalars(statement)).all()


class AuthSessionRepository(Repository[AuthSession]):
    model = AuthSession

    async def get_by_token_hash(self, token_hash: str) -> AuthSession | None:
        return await self.session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash))


class AuditEventRepository(AccountRepository[AuditEvent]):
    model = AuditEvent
