"""A model run tunes Python's garbage collector for itself and puts it back as it was."""

from __future__ import annotations

import gc

import pytest

from simulation import load_scenario_dict
from simulation.model import Model
from tests.builders import mmc_scenario


def small_model() -> Model:
    return Model(load_scenario_dict(mmc_scenario(horizon_years=0.5, warmup_days=30)), 0)


def test_a_run_leaves_the_collector_as_it_found_it() -> None:
    before = gc.get_threshold()
    model = small_model()
    seen: list[tuple[tuple[int, int, int], int]] = []

    def look() -> None:  # called from inside the run, as a SimPy callback
        seen.append((gc.get_threshold(), gc.get_freeze_count()))

    model.env.timeout(1).callbacks.append(lambda _: look())
    model.run()
    (during, frozen_during), *_ = seen
    assert during[0] > before[0] and frozen_during > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_failed_run_puts_the_collector_back_too() -> None:
    before = gc.get_threshold()
    model = small_model()

    def fail(_: object) -> None:
        raise RuntimeError("stop")

    model.env.timeout(1).callbacks.append(fail)
    with pytest.raises(RuntimeError, match="stop"):
        model.run()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_objects_a_caller_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        small_model().run()
        # A few frozen objects may be freed by reference counting meanwhile; an
        # unfreeze would have left none.
        assert gc.get_freeze_count() > 0.9 * frozen
    finally:
        gc.unfreeze()
