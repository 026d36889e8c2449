"""Process-wide memory settings for the long-running commands (`nexa serve`, `nexa worker`)."""

from __future__ import annotations

import gc

# Net new container objects (allocations minus frees) between young-generation collections; CPython's default
# is 700. Most of what a request or a job allocates is freed by reference counting within the same
# millisecond, so the count rarely climbs this high between handlers: in the full-loop bench the worker went
# from ~1,400 collections per 3,000 customer messages (0.65-1.07 s of CPU, 5-8 % of the worker, a tenth of
# it in full collections of 35-66k objects at ~45 ms each) to ~20 (0.16 s). Cyclic garbage waits a little
# longer: at most this many objects, a few megabytes.
YOUNG_GENERATION_THRESHOLD = 10_000


def tune_garbage_collection() -> None:
    """Keep what start-up created out of garbage collection, and collect the rest less often.

    A full collection walks every tracked object, and most of a server's are the libraries it imported:
    measured in the full-loop bench, each one took ~100-170 ms of CPU in `nexa serve` and the workers, a pause
    every ten seconds or so under load. Those objects live as long as the process, so moving them to the
    permanent generation (`gc.freeze`) loses nothing; collections then walk only what requests and jobs made,
    and, with `YOUNG_GENERATION_THRESHOLD`, far less often.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
