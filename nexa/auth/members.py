"""Agents of an account (Chatwoot's /agents): invitations, role and availability changes, removal.

Owners are protected: only an owner changes or removes an owner, and an account always keeps one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth import audit
from nexa.auth import service as auth_service
from nexa.auth.audit import RequestOrigin
from nexa.auth.models import AccountUser, Availability, Invitation, Role, User
from nexa.auth.passwords import hash_password
from nexa.auth.repository import MembershipRepository, UserRepository
from nexa.conversations import service as conversations
from nexa.inboxes.models import InboxMember
from nexa.kit.clock import utcnow
from nexa.kit.crypto import Cipher, random_token, sha256_hex
from nexa.kit.errors import Forbidden, NotFound, UnprocessableEntity, ValidationFailed
from nexa.kit.lazy_text import _
from nexa.teams.models import TeamMember
from nexa.tenancy.models import Account

INVITATION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class Invited:
    membership: AccountUser
    invitation_token: str | None  # None when the user already had a password: nothing to accept


async def invite(
    session: AsyncSession,
    account: Account,
    *,
    name: str,
    email: str,
    role: Role,
    availability: Availability | None,
    auto_offline: bool | None,
    inviter: AccountUser | None,
    cipher: Cipher,
    origin: RequestOrigin,
) -> Invited:
    """Make `email` an agent of the account, creating the user when new; new users get an invitation."""
    _check_may_grant(inviter, role)
    users = UserRepository(session)
    user = await users.get_by_email(auth_service.normalize_email(email))
    if user is None:
        user = await auth_service.create_user(session, name=name or email.split("@")[0], email=email, cipher=cipher)
    elif await MembershipRepository(session, account.id).get_for_user(user.id) is not None:
        raise ValidationFailed(_("Email has already been taken"), ["email"])
    inviter_id = inviter.user_id if inviter else None
    membership = await auth_service.add_member(session, account, user, role, inviter_id=inviter_id)
    if availability is not None:
        membership.availability = availability
    if auto_offline is not None:
        membership.auto_offline = auto_offline
    token = await _new_invitation(session, account.id, user, inviter_id) if user.password_hash is None else None
    await audit.record(
        session, "agent.invited", origin=origin, account_id=account.id, actor_user_id=inviter_id,
        target_type="user", target_id=user.id, role=role.value,
    )
    await session.flush()
    return Invited(membership=membership, invitation_token=token)


async def is_member(session: AsyncSession, account_id: int, email: str) -> bool:
    user = await UserRepository(session).get_by_email(auth_service.normalize_email(email))
    return user is not None and await MembershipRepository(session, account_id).get_for_user(user.id) is not None


async def _new_invitation(session: AsyncSession, account_id: int, user: User, inviter_id: int | None) -> str:
    token = random_token(32)
    session.add(
        Invitation(
            account_id=account_id, user_id=user.id, inviter_id=inviter_id,
            token_hash=sha256_hex(token), expires_at=utcnow() + INVITATION_TTL,
        )
    )
    await session.flush()
    return token


async def open_invitation(session: AsyncSession, token: str) -> Invitation:
    """The unused, unexpired invitation of `token`; 404 otherwise (the web page and the API share it)."""
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == sha256_hex(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        raise NotFound(_("This invitation link is invalid or has expired"))
    return invitation


async def accept_invitation(session: AsyncSession, token: str, password: str, *, origin: RequestOrigin) -> User:
    """Set the invited user's password; the link works once and until it expires."""
    invitation = await open_invitation(session, token)
    user = await UserRepository(session).get_or_404(invitation.user_id)
    auth_service.check_password_strength(password)
    user.password_hash = hash_password(password)
    invitation.used_at = utcnow()
    await audit.record(
        session, "invitation.accepted", origin=origin, account_id=invitation.account_id, actor_user_id=user.id
    )
    await session.flush()
    return user


async def update_agent(
    session: AsyncSession,
    membership: AccountUser,
    *,
    actor: AccountUser | None,
    name: str | None,
    role: Role | None,
    availability: Availability | None,
    auto_offline: bool | None,
    origin: RequestOrigin,
) -> AccountUser:
    if role is not None and role != membership.role:
        _check_may_manage(actor, membership)
        _check_may_grant(actor, role)
        if membership.role == Role.owner:
            await _check_not_last_owner(session, membership)
        previous = membership.role
        membership.role = role
        auth_service.announce_revocation(session, membership.user_id)  # open sockets' channels follow the role
        await audit.record(
            session, "agent.role_changed", origin=origin, account_id=membership.account_id,
            actor_user_id=actor.user_id if actor else None, target_type="user", target_id=membership.user_id,
            previous=previous.value, current=role.value,
        )
    if name is not None:
        if not name.strip():
            raise ValidationFailed(_("Name can't be blank"), ["name"])
        membership.user.name = name.strip()
    if availability is not None:
        membership.availability = availability
    if auto_offline is not None:
        membership.auto_offline = auto_offline
    await session.flush()
    return membership


async def remove_agent(
    session: AsyncSession, membership: AccountUser, *, actor: AccountUser | None, origin: RequestOrigin
) -> None:
    """End the membership: inbox and team memberships go, unresolved conversations return to the queue."""
    _check_may_manage(actor, membership)
    if membership.role == Role.owner:
        await _check_not_last_owner(session, membership)
    account_id, user_id = membership.account_id, membership.user_id
    await conversations.unassign_member(session, account_id, user_id)
    for model in (InboxMember, TeamMember):
        await session.execute(delete(model).where(model.account_id == account_id, model.user_id == user_id))
    await MembershipRepository(session, account_id).delete(membership)
    auth_service.announce_revocation(session, user_id)
    await audit.record(
        session, "agent.removed", origin=origin, account_id=account_id,
        actor_user_id=actor.user_id if actor else None, target_type="user", target_id=user_id,
        role=membership.role.value,
    )


async def get_membership_or_404(session: AsyncSession, account_id: int, user_id: int) -> AccountUser:
    membership = await MembershipRepository(session, account_id).get_for_user(user_id)
    if membership is None:
        raise NotFound()
    await session.refresh(membership, ["user"])
    return membership


def _check_may_manage(actor: AccountUser | None, target: AccountUser) -> None:
    if target.role == Role.owner and (actor is None or actor.role != Role.owner):
        raise Forbidden(_("Only an owner can change or remove an owner"))


def _check_may_grant(actor: AccountUser | None, role: Role) -> None:
    if role == Role.owner and (actor is None or actor.role != Role.owner):
        raise Forbidden(_("Only an owner can make someone an owner"))


async def _check_not_last_owner(session: AsyncSession, membership: AccountUser) -> None:
    repository = MembershipRepository(session, membership.account_id)
    owners = await session.scalar(
        select(func.count()).select_from(repository.select().where(AccountUser.role == Role.owner).subquery())
    )
    if int(owners or 0) <= 1:
        raise UnprocessableEntity(_("An account must keep at least one owner"))
