"""How long a failed job waits before its next attempt."""

from __future__ import annotations

import random

_MAX_BACKOFF_SECONDS = 6 * 3600


def default_backoff(attempt: int) -> float:
    """15 s + 2^attempt s, capped at 6 h, with +-10 % jitter.

    The jitter spreads retries of jobs that failed together (a provider outage) so they do not
    all hit the provider again in the same second.
    """
    base = min(15 + 2 ** min(attempt, 20), _MAX_BACKOFF_SECONDS)
    return base * random.uniform(0.9, 1.1)
