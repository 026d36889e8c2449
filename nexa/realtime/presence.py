"""Agent presence (Chatwoot's model): a live socket's heartbeat keeps an agent present for a short TTL.

What others see is `effective_availability`: the availability the agent chose while present (or with
auto-offline turned off), offline otherwise. Presence lives in a Redis sorted set per account when Redis
is configured, so every process agrees, and in this process's memory otherwise (one-process installs).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from nexa.auth import service as auth_service
from nexa.auth.models import AccountUser, Availability
from nexa.auth.repository import MembershipRepository
from nexa.auth.serializers import effective_availability
from nexa.realtime.events import Event, EventName, account_channel, account_members_channel, user_channel
from nexa.realtime.hub import Hub, installed_hub, publish_now
from nexa.runtime import Runtime

logger = logging.getLogger(__name__)


class PresenceStore(Protocol):
    async def touch(self, account_id: int, user_id: int) -> bool:
        """Record a heartbeat; True when the user was not present before it."""
        ...

    async def present(self, account_id: int) -> set[int]:
        """Users whose last heartbeat is younger than the TTL."""
        ...


class MemoryPresence:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._seen: dict[int, dict[int, float]] = {}  # account id -> user id -> monotonic time of last heartbeat

    async def touch(self, account_id: int, user_id: int) -> bool:
        now = time.monotonic()
        seen = self._seen.setdefault(account_id, {})
        self._forget_expired(seen, now)
        was_present = user_id in seen
        seen[user_id] = now
        return not was_present

    async def present(self, account_id: int) -> set[int]:
        seen = self._seen.get(account_id, {})
        self._forget_expired(seen, time.monotonic())
        return set(seen)

    def _forget_expired(self, seen: dict[int, float], now: float) -> None:
        for user_id in [u for u, at in seen.items() if now - at >= self._ttl]:
            del seen[user_id]


class RedisPresence:
    """One sorted set per account: member = user id, score = wall-clock time of the last heartbeat."""

    def __init__(self, redis: Redis, *, prefix: str, ttl: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl

    def _key(self, account_id: int) -> str:
        return f"{self._prefix}presence:{account_id}"

    async def touch(self, account_id: int, user_id: int) -> bool:
        key, now = self._key(account_id), time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zscore(key, user_id)
            pipe.zadd(key, {str(user_id): now})
            pipe.zremrangebyscore(key, "-inf", f"({now - self._ttl}")
            # The whole set disappears when nobody in the account has been seen for a while.
            pipe.expire(key, math.ceil(self._ttl) * 2 + 1)
            previous, *_ = await pipe.execute()
        return previous is None or now - float(previous) >= self._ttl

    async def present(self, account_id: int) -> set[int]:
        members = await self._redis.zrangebyscore(self._key(account_id), f"({time.time() - self._ttl}", "+inf")
        return {int(member) for member in members}


def presence_store(runtime: Runtime) -> PresenceStore:
    """The runtime's store, built on first use: shared by every socket of this process."""
    store = runtime.extras.get("presence")
    if store is None:
        ttl = runtime.settings.presence_ttl_seconds
        store = (
            RedisPresence(runtime.redis, prefix=runtime.settings.realtime_prefix, ttl=ttl)
            if runtime.redis is not None
            else MemoryPresence(ttl)
        )
        runtime.extras["presence"] = store
    return store


def visitor_presence_store(runtime: Runtime) -> PresenceStore:
    """Web widget visitors' presence, by contact id: the same store kind as agents', kept apart from it."""
    store = runtime.extras.get("visitor_presence")
    if store is None:
        ttl = runtime.settings.presence_ttl_seconds
        store = (
            RedisPresence(runtime.redis, prefix=f"{runtime.settings.realtime_prefix}visitor-", ttl=ttl)
            if runtime.redis is not None
            else MemoryPresence(ttl)
        )
        runtime.extras["visitor_presence"] = store
    return store


async def visitor_heartbeat(runtime: Runtime, account_id: int, contact_id: int) -> None:
    """A widget socket connected or pinged: the visitor counts as online (GET /contacts/active)."""
    await visitor_presence_store(runtime).touch(account_id, contact_id)


async def present_contact_ids(runtime: Runtime, account_id: int) -> set[int]:
    return await visitor_presence_store(runtime).present(account_id)


async def present_user_ids(runtime: Runtime, account_id: int) -> set[int]:
    """Users of the account with a live socket heartbeat (for `availability_status`)."""
    return await presence_store(runtime).present(account_id)


async def account_availability(runtime: Runtime, account_id: int) -> dict[int, Availability]:
    """Every member's effective availability, as others should see it."""
    present = await present_user_ids(runtime, account_id)
    async with runtime.db.session(write=False) as session:
        columns = AccountUser.user_id, AccountUser.availability, AccountUser.auto_offline
        statement = MembershipRepository(session, account_id).select().with_only_columns(*columns)
        rows = (await session.execute(statement)).all()
    return {
        user_id: effective_availability(availability, auto_offline=auto_offline, present=user_id in present)
        for user_id, availability, auto_offline in rows
    }


async def online_agent_ids(runtime: Runtime, account_id: int) -> set[int]:
    """Members who chose online and are present (or never auto-offline): who auto-assignment may pick."""
    statuses = await account_availability(runtime, account_id)
    return {user_id for user_id, status in statuses.items() if status == Availability.online}


# A reconnect storm announces once per this interval per account, not once per socket.
ANNOUNCE_INTERVAL_SECONDS = 0.25


async def agent_connected(runtime: Runtime, account_id: int, user_id: int) -> None:
    """A new socket counts as a heartbeat; it is sent the current presence map either way: with the whole
    account when it makes the agent present, else on the agent's own channel (a second tab)."""
    newly_present = await presence_store(runtime).touch(account_id, user_id)
    if newly_present:
        await _announcer(runtime).announce(account_id, arrived=user_id)
    else:
        await _announcer(runtime).announce(account_id, own=user_id)


async def heartbeat(runtime: Runtime, account_id: int, user_id: int) -> None:
    """A socket's sign of life. Others only hear about it when it makes the agent present again."""
    if await presence_store(runtime).touch(account_id, user_id):
        await _announcer(runtime).announce(account_id, arrived=user_id)


async def change_availability(
    runtime: Runtime, account_id: int, user_id: int, availability: Availability
) -> None:
    """The agent chose a new availability on their socket: store it, count it as a heartbeat, tell everyone.
    (`set_availability` enqueues auto-assignment when it is online.)"""
    async with runtime.db.session() as session:
        await auth_service.set_availability(session, user_id, account_id, availability)
    await presence_store(runtime).touch(account_id, user_id)
    await _announcer(runtime).announce(account_id)


@dataclass
class _Changes:
    """What one presence.update of an account must cover."""

    account_wide: bool = False  # someone arrived or changed availability: every member hears it
    own: set[int] = field(default_factory=set)  # users whose new socket (second tab) only needs the map
    arrived: set[int] = field(default_factory=set)  # users who became present: auto-assignment may pick them

    def merge(self, other: _Changes) -> None:
        self.account_wide |= other.account_wide
        self.own |= other.own
        self.arrived |= other.arrived

    def __bool__(self) -> bool:
        return self.account_wide or bool(self.own)


class _Announcer:
    """presence.update and queue assignment, coalesced per account (leading and trailing edge).

    The first change in an account is announced at once by its caller. Changes during the next
    ANNOUNCE_INTERVAL_SECONDS gather in a window that one background step sends as a single broadcast (one
    availability read, at most one queue-assignment job), then opens the next window while changes keep
    coming. N agents connecting together cost about N frames per interval, not N broadcasts to N sockets.
    Per process: with several processes each coalesces its own sockets' changes.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._windows: dict[int, _Changes] = {}  # account id -> changes waiting for the window's end
        self._tasks: set[asyncio.Task[None]] = set()

    async def announce(self, account_id: int, *, arrived: int | None = None, own: int | None = None) -> None:
        changes = _Changes(account_wide=own is None, own={own} if own is not None else set(),
                           arrived={arrived} if arrived is not None else set())
        window = self._windows.get(account_id)
        if window is not None:  # an announcement went out less than an interval ago: ride on the next one
            window.merge(changes)
            return
        hub = installed_hub()
        if hub is None:  # no realtime here (a script, a unit test): nobody to coalesce for
            await _announce(self._runtime, account_id, changes)
            return
        self._windows[account_id] = _Changes()
        try:
            await _announce(self._runtime, account_id, changes)
        finally:
            task = asyncio.create_task(self._close_windows(account_id, hub))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _close_windows(self, account_id: int, hub: Hub) -> None:
        try:
            while True:
                await asyncio.sleep(ANNOUNCE_INTERVAL_SECONDS)
                gathered = self._windows.get(account_id)
                # Nothing new, or the hub this was for stopped (a restart): the next change starts afresh.
                if not gathered or installed_hub() is not hub:
                    return
                self._windows[account_id] = _Changes()
                try:
                    await _announce(self._runtime, account_id, gathered)
                except Exception:  # the database went away: these changes are lost, later ones are not
                    logger.warning("presence announcement failed", exc_info=True)
        finally:
            self._windows.pop(account_id, None)


def _announcer(runtime: Runtime) -> _Announcer:
    announcer: _Announcer | None = runtime.extras.get("presence_announcer")
    if announcer is None:
        announcer = runtime.extras["presence_announcer"] = _Announcer(runtime)
    return announcer


async def _announce(runtime: Runtime, account_id: int, changes: _Changes) -> None:
    statuses = await account_availability(runtime, account_id)
    if any(statuses.get(user_id) == Availability.online for user_id in changes.arrived):
        # Conversations waiting in the queue may go to the agents who just came online.
        async with runtime.db.session() as session:
            await auth_service.enqueue_queue_assignment(session, account_id)
    users = {str(uid): status.value for uid, status in statuses.items() if status != Availability.offline}
    channels = (
        # The account channel too: integrations and admin tools following the whole account see it there.
        [account_channel(account_id), account_members_channel(account_id)]
        if changes.account_wide
        else [user_channel(user_id) for user_id in changes.own]
    )
    await publish_now(Event(EventName.PRESENCE_UPDATE, {"users": users}, account_id=account_id, channels=channels))

