"""API tokens' `last_used_at`, written at most once per token per `LAST_USED_PRECISION` from a process, and
the writes of concurrent requests in one statement.

Before this, the first use of each token opened its own write transaction after the request: a reconnect
storm of 5,000 agent sockets made 5,000 one-row UPDATEs compete with the sign-ins for the connection pool.
Now the request that finds no write in flight becomes the writer: it updates every token noted so far in one
statement and repeats while more arrived meanwhile; the others only note their token and go on. A token
is noted once per precision window in this process (concurrent first uses included), and the database's
own `last_used_at` still decides first (`service.should_touch`), so several processes write about once
each per window. A write that fails (database down) is not retried: the value is advisory.
"""

from __future__ import annotations

import math
import time

from nexa.auth import service
from nexa.db.engine import Database
from nexa.runtime import Runtime

_PRECISION_SECONDS = service.LAST_USED_PRECISION.total_seconds()
# Forget old notes beyond this many tokens, so the map stays the size of the recently used tokens.
_PRUNE_ABOVE = 10_000


class TokenTouches:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._noted: dict[int, float] = {}  # token id -> monotonic time it was last queued for a write
        self._pending: set[int] = set()
        self._writing = False
        self.statements = 0  # UPDATEs issued, for tests and debugging

    async def touch(self, token_id: int) -> None:
        """Record a use of the token; returns at once unless this call becomes the writer."""
        now = time.monotonic()
        if now - self._noted.get(token_id, -math.inf) < _PRECISION_SECONDS:
            return
        self._noted[token_id] = now
        if len(self._noted) > _PRUNE_ABOVE:
            self._noted = {t: at for t, at in self._noted.items() if now - at < _PRECISION_SECONDS}
        self._pending.add(token_id)
        if self._writing:
            return  # the writer in flight picks it up
        self._writing = True
        try:
            while self._pending:
                batch, self._pending = self._pending, set()
                self.statements += 1
                async with self._db.session() as session:
                    await service.touch_tokens(session, batch)
        finally:
            self._writing = False


def token_touches(runtime: Runtime) -> TokenTouches:
    touches: TokenTouches | None = runtime.extras.get("token_touches")
    if touches is None:
        touches = runtime.extras["token_touches"] = TokenTouches(runtime.db)
    return touches
