from __future__ import annotations

import gc

from nexa.kit.memory import freeze_startup_objects


def test_startup_objects_are_moved_out_of_garbage_collection() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 1000  # the modules, classes and mappers imported so far
        assert gc.get_count()[0] < 100  # the young generation starts empty
    finally:
        gc.unfreeze()
