"""Who is on the other end of a socket, and the short-lived memory of agents' sign-ins that makes a
reconnect cost no database read.

A reconnect storm (a deploy, a Redis gap closing every socket with 4000, a flaky office network) used to
sign every socket in again: token, user, account and membership reads, plus the inbox list, all on the
connection pool that HTTP requests need too. `PeerCache` keeps what an agent socket was allowed to hear,
keyed by (credential digest, account), for `SIGN_IN_CACHE_SECONDS` or until the credential expires,
whichever comes first. Revocations are explicit, not left to the TTL: `nexa.auth.service.announce_revocation`
publishes on the internal revocations channel after commit, and every process's hub hands it to its cache,
which forgets that user's sign-ins at once. When the bus had a gap (Redis reconnect), a notice may have
been lost, so the whole cache is dropped. What is not announced (an inbox membership added, an account
suspended) is picked up within the TTL, as channels were always fixed at connect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from nexa.kit.crypto import sha256_hex
from nexa.realtime.events import Event, revocations_channel
from nexa.realtime.hub import Hub, get_hub
from nexa.runtime import Runtime

# Long enough to absorb a reconnect storm, short enough that what is not announced (an account suspended,
# a new inbox membership) still takes effect soon.
SIGN_IN_CACHE_SECONDS = 30.0
# About 10 MB: beyond it the oldest sign-ins are forgotten first.
MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class Peer:
    """Who is on the other end of a socket and what they may hear."""

    channels: frozenset[str]
    account_id: int
    user_id: int | None = None  # None for a widget visitor: no availability, a visitor's presence
    contact_id: int | None = None  # the widget visitor's contact


CacheKey = tuple[str, int]


class PeerCache:
    """Agent sign-ins of this process (see the module docstring). A hub `Listener` of the revocations channel."""

    def __init__(self, hub: Hub, *, ttl: float = SIGN_IN_CACHE_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.hub = hub
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[CacheKey, tuple[Peer, float]] = {}  # key -> (peer, monotonic deadline)
        self._keys_of_user: dict[int, set[CacheKey]] = {}
        # Bumped by every revocation: a sign-in read before one is never stored after it (see `put`).
        self.generation = 0

    @staticmethod
    def key(credential: str, account_id: int) -> CacheKey:
        return sha256_hex(credential), account_id

    def get(self, key: CacheKey) -> Peer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        peer, deadline = entry
        if time.monotonic() >= deadline:
            self._drop(key)
            return None
        return peer

    def put(self, key: CacheKey, peer: Peer, *, generation: int, expires_at: datetime | None) -> None:
        """Remember a sign-in read while `self.generation` was `generation`. If a revocation arrived since,
        the read may predate it: it is not stored (the next connect reads again)."""
        if generation != self.generation or peer.user_id is None:
            return
        ttl = self._ttl
        if expires_at is not None:  # never outlive the credential itself
            aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
            ttl = min(ttl, aware.timestamp() - time.time())
        if ttl <= 0:
            return
        self._drop(key)
        while len(self._entries) >= self._max_entries:
            self._drop(next(iter(self._entries)))
        self._entries[key] = (peer, time.monotonic() + ttl)
        self._keys_of_user.setdefault(peer.user_id, set()).add(key)

    def heard(self, event: Event) -> None:
        """A revocation notice (`nexa.auth.service.announce_revocation`): forget that user's sign-ins."""
        self.generation += 1
        user_id = event.data.get("user_id")
        for key in list(self._keys_of_user.get(user_id, ())) if isinstance(user_id, int) else []:
            self._drop(key)

    def gap(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._keys_of_user.clear()

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None or entry[0].user_id is None:
            return
        keys = self._keys_of_user.get(entry[0].user_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_of_user[entry[0].user_id]


def peer_cache(runtime: Runtime) -> PeerCache:
    """The process's cache, listening to the hub now running (a new hub, e.g. after a restart in tests,
    gets a new, empty cache)."""
    hub = get_hub()
    cache: PeerCache | None = runtime.extras.get("peer_cache")
    if cache is None or cache.hub is not hub:
        cache = PeerCache(hub)
        hub.listen(revocations_channel(), cache)
        runtime.extras["peer_cache"] = cache
    return cache
