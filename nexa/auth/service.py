"""Users, memberships, API tokens and login sessions. Never commits: the caller's boundary does."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth import audit
from nexa.auth.audit import RequestOrigin
from nexa.auth.models import (
    AccessToken,
    AccountUser,
    AuthSession,
    Availability,
    Role,
    SessionKind,
    TokenOwner,
    User,
)
from nexa.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from nexa.auth.repository import (
    AccessTokenRepository,
    AuthSessionRepository,
    MembershipRepository,
    UserRepository,
)
from nexa.auth.schemas import ProfileUpdate
from nexa.auth.scopes import validate_scopes
from nexa.auth.tokens import encode_access_token, new_api_token, parse_api_token
from nexa.config import Settings
from nexa.jobs.enqueue import enqueue
from nexa.kit.clock import utcnow
from nexa.kit.crypto import Cipher, constant_time_equals, random_token, sha256_hex
from nexa.kit.errors import AuthenticationFailed, Unauthorized, ValidationFailed
from nexa.kit.lazy_text import _, verbatim
from nexa.realtime.events import Event, EventName, revocations_channel
from nexa.realtime.hub import publish
from nexa.tenancy.models import Account

# Writing last_used_at on every request would turn reads into writes; 5-minute precision is plenty (GitHub
# and Stripe show "last used" with about that granularity). nexa/auth/touches.py batches the writes.
LAST_USED_PRECISION = timedelta(minutes=5)


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(_("Email is invalid: %(reason)s", reason=exc), ["email"]) from exc


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("Password is too short (minimum is %(minimum)s characters)", minimum=MIN_PASSWORD_LENGTH),
            ["password"],
        )


async def create_user(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    password: str | None = None,
    locale: str | None = None,
    cipher: Cipher,
) -> User:
    email = normalize_email(email)
    if not name.strip():
        raise ValidationFailed(_("Name can't be blank"), ["name"])
    if await UserRepository(session).get_by_email(email) is not None:
        raise ValidationFailed(_("Email has already been taken"), ["email"])
    if password is not None:
        check_password_strength(password)
    user = User(
        name=name.strip(),
        email=email,
        password_hash=hash_password(password) if password else None,
        locale=locale,
        pubsub_token=random_token(24),
    )
    await UserRepository(session).add(user)
    await issue_personal_token(session, user, cipher=cipher)
    return user


async def add_member(
    session: AsyncSession, account: Account, user: User, role: Role, *, inviter_id: int | None = None
) -> AccountUser:
    repository = MembershipRepository(session, account.id)
    existing = await repository.get_for_user(user.id)
    if existing is not None:
        existing.role = role
        await session.flush()
        return existing
    return await repository.add(AccountUser(user_id=user.id, role=role, inviter_id=inviter_id))


async def issue_personal_token(session: AsyncSession, user: User, *, cipher: Cipher) -> str:
    """The user's own token (Chatwoot's `access_token` in the profile): replaces any previous one."""
    previous = await AccessTokenRepository(session).personal_token(user.id)
    if previous is not None:
        previous.revoked_at = utcnow()
        announce_revocation(session, user.id)
    token, plaintext = _new_token_row(TokenOwner.user, user.id, name="personal", scopes=None)
    token.is_personal = True
    token.encrypted_token = cipher.encrypt(plaintext)
    await AccessTokenRepository(session).add(token)
    return plaintext


async def create_api_token(
    session: AsyncSession,
    *,
    owner_type: TokenOwner,
    owner_id: int,
    name: str,
    scopes: list[str] | None = None,
    account_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[AccessToken, str]:
    """A new token; the plaintext is returned once and never stored."""
    if scopes is not None:
        try:
            scopes = validate_scopes(scopes)
        except ValueError as exc:
            raise ValidationFailed(verbatim(str(exc)), ["scopes"]) from exc
    token, plaintext = _new_token_row(owner_type, owner_id, name=name, scopes=scopes)
    token.account_id = account_id
    token.expires_at = expires_at
    await AccessTokenRepository(session).add(token)
    return token, plaintext


def _new_token_row(
    owner_type: TokenOwner, owner_id: int, *, name: str, scopes: list[str] | None
) -> tuple[AccessToken, str]:
    new = new_api_token()
    row = AccessToken(
        owner_type=owner_type,
        owner_id=owner_id,
        name=name,
        lookup_id=new.lookup_id,
        token_hash=new.token_hash,
        scopes=scopes,
    )
    return row, new.plaintext


async def find_api_token(session: AsyncSession, plaintext: str) -> AccessToken | None:
    """The live token matching `plaintext`, or None (unknown, revoked or expired)."""
    lookup_id = parse_api_token(plaintext)
    if lookup_id is None:
        return None
    token = await AccessTokenRepository(session).get_by_lookup_id(lookup_id)
    if token is None or not constant_time_equals(token.token_hash, sha256_hex(plaintext)):
        return None
    now = utcnow()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    return token


def should_touch(token: AccessToken) -> bool:
    return token.last_used_at is None or utcnow() - token.last_used_at > LAST_USED_PRECISION


async def touch_tokens(session: AsyncSession, token_ids: Collection[int]) -> None:
    await session.execute(
        update(AccessToken).where(AccessToken.id.in_(token_ids)).values(last_used_at=utcnow())
    )


def announce_revocation(session: AsyncSession, user_id: int) -> None:
    """Once committed, every process forgets the user's cached socket sign-ins (nexa/realtime/peers.py), so
    a revoked credential cannot open a realtime socket even within the cache's lifetime."""
    publish(session, Event(EventName.CREDENTIALS_REVOKED, {"user_id": user_id}, account_id=0,
                           channels=[revocations_channel()]))


async def revoke_api_token(session: AsyncSession, token: AccessToken, *, actor_user_id: int | None) -> None:
    token.revoked_at = utcnow()
    if token.owner_type == TokenOwner.user:
        announce_revocation(session, token.owner_id)
    await audit.record(
        session, "token.revoked", actor_user_id=actor_user_id, account_id=token.account_id,
        target_type="access_token", target_id=token.id,
    )


@dataclass(frozen=True)
class LoginResult:
    user: User
    session: AuthSession
    secret: str  # the refresh token (API) or the cookie value (web), shown once


async def login(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    kind: SessionKind,
    origin: RequestOrigin,
) -> LoginResult:
    user = await UserRepository(session).get_by_email(email)
    password_hash = user.password_hash if user is not None else None
    if not verify_password(password_hash, password) or user is None or not user.is_active:
        await audit.record(
            session, "login.failed", origin=origin, actor_user_id=user.id if user else None, email=email[:255]
        )
        raise AuthenticationFailed(_("Invalid login credentials. Please try again."))
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    auth_session, secret = await _start_session(session, settings, user, kind=kind, origin=origin)
    await audit.record(session, "login.succeeded", origin=origin, actor_user_id=user.id, kind=kind.value)
    return LoginResult(user=user, session=auth_session, secret=secret)


async def _start_session(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    kind: SessionKind,
    origin: RequestOrigin,
    family_id: str | None = None,
) -> tuple[AuthSession, str]:
    secret = random_token(48)
    auth_session = AuthSession(
        user_id=user.id,
        kind=kind,
        token_hash=sha256_hex(secret),
        family_id=family_id or random_token(24),
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:512] or None,
    )
    await AuthSessionRepository(session).add(auth_session)
    return auth_session, secret


def access_token_for(settings: Settings, result: LoginResult) -> str:
    return encode_access_token(settings, user_id=result.user.id, session_id=result.session.id)


async def refresh(
    session: AsyncSession, settings: Settings, *, refresh_token: str, origin: RequestOrigin
) -> LoginResult:
    sessions = AuthSessionRepository(session)
    current = await sessions.get_by_token_hash(sha256_hex(refresh_token))
    if current is None or current.kind != SessionKind.api:
        raise Unauthorized(_("Invalid refresh token"))
    if current.rotated_at is not None:
        # A rotated token came back: someone kept a copy. End every session of that login.
        await session.execute(
            update(AuthSession)
            .where(AuthSession.family_id == current.family_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        announce_revocation(session, current.user_id)
        await audit.record(session, "refresh.reused", origin=origin, actor_user_id=current.user_id)
        raise AuthenticationFailed(_("Invalid refresh token"))
    if current.revoked_at is not None:
        raise Unauthorized(_("Invalid refresh token"))
    if current.expires_at <= utcnow():
        raise Unauthorized(_("Refresh token expired"))
    user = await UserRepository(session).get(current.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(_("Invalid refresh token"))
    current.rotated_at = utcnow()
    current.revoked_at = current.rotated_at
    announce_revocation(session, current.user_id)  # access tokens of the rotated session stop working
    new_session, secret = await _start_session(
        session, settings, user, kind=SessionKind.api, origin=origin, family_id=current.family_id
    )
    return LoginResult(user=user, session=new_session, secret=secret)


async def find_live_session(session: AsyncSession, session_id: int) -> AuthSession | None:
    found = await AuthSessionRepository(session).get(session_id)
    if found is None or found.revoked_at is not None or found.expires_at <= utcnow():
        return None
    return found


async def find_web_session(session: AsyncSession, cookie_value: str) -> AuthSession | None:
    found = await AuthSessionRepository(session).get_by_token_hash(sha256_hex(cookie_value))
    if found is None or found.kind != SessionKind.web:
        return None
    return await find_live_session(session, found.id)


async def logout(session: AsyncSession, auth_session: AuthSession, *, origin: RequestOrigin) -> None:
    auth_session.revoked_at = utcnow()
    announce_revocation(session, auth_session.user_id)
    await audit.record(session, "logout", origin=origin, actor_user_id=auth_session.user_id)


async def personal_token_plaintext(session: AsyncSession, user: User, *, cipher: Cipher) -> str | None:
    token = await AccessTokenRepository(session).personal_token(user.id)
    if token is None or token.encrypted_token is None:
        return None
    return cipher.decrypt(token.encrypted_token)


async def set_availability(
    session: AsyncSession, user_id: int, account_id: int, availability: Availability
) -> AccountUser:
    """The availability a member chose in one account (profile form or the realtime socket)."""
    membership = await MembershipRepository(session, account_id).get_for_user(user_id)
    if membership is None:
        raise ValidationFailed(_("You are not a member of that account"), ["account_id"])
    membership.availability = availability
    membership.active_at = utcnow()
    await session.flush()
    if availability == Availability.online:
        await enqueue_queue_assignment(session, account_id)
    return membership


# Waiting conversations go to agents as they come online (nexa/bot/assignment.py); by kind name, as auth
# sits below the bot.
ASSIGN_QUEUE_JOB = "bot.assign_queue"


async def enqueue_queue_assignment(session: AsyncSession, account_id: int) -> None:
    await enqueue(session, ASSIGN_QUEUE_JOB, {"account_id": account_id}, account_id=account_id,
                  dedupe_key=f"assign-queue:{account_id}")


async def update_profile(
    session: AsyncSession, user: User, changes: ProfileUpdate, *, origin: RequestOrigin
) -> None:
    if changes.password is not None:
        if not changes.current_password or not verify_password(user.password_hash, changes.current_password):
            raise ValidationFailed(_("Current password is incorrect"), ["current_password"])
        if changes.password_confirmation is not None and changes.password_confirmation != changes.password:
            raise ValidationFailed(
                _("Password confirmation doesn't match Password"), ["password_confirmation"]
            )
        check_password_strength(changes.password)
        user.password_hash = hash_password(changes.password)
        await audit.record(session, "password.changed", origin=origin, actor_user_id=user.id)
    if changes.availability is not None:
        if changes.account_id is None:
            raise ValidationFailed(_("account_id is required to change availability"), ["account_id"])
        await set_availability(session, user.id, changes.account_id, changes.availability)
    for field in ("name", "display_name", "locale", "message_signature", "ui_settings"):
        value = getattr(changes, field)
        if value is not None:
            setattr(user, field, value)
    await session.flush()
