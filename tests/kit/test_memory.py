from __future__ import annotations

import gc

from nexa.kit.memory import YOUNG_GENERATION_THRESHOLD, tune_garbage_collection


def test_startup_objects_leave_garbage_collection_and_the_rest_is_collected_less_often() -> None:
    threshold = gc.get_threshold()
    try:
        tune_garbage_collection()
        assert gc.get_freeze_count() > 1000  # the modules, classes and mappers imported so far
        assert gc.get_count()[0] < 100  # the young generation starts empty
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, threshold[1], threshold[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
