"""The chaos schedule is a function of its seed and night."""

from __future__ import annotations

from observatory.chaos.schedule import KINDS, night_faults


def test_the_same_seed_draws_the_same_faults() -> None:
    assert night_faults(3, 1, 150.0) == night_faults(3, 1, 150.0)
    assert night_faults(3, 1, 150.0) != night_faults(3, 2, 150.0)
    assert night_faults(3, 1, 150.0) != night_faults(4, 1, 150.0)


def test_faults_are_in_time_order_within_the_span_and_every_kind_is_met() -> None:
    faults = night_faults(11, 2, 120.0)
    times = [f.at_s for f in faults]
    assert times == sorted(times) and times[0] > 0 and times[-1] < 120.0
    assert {f.kind for f in faults} == set(KINDS)
    assert all(f.night == 2 for f in faults)
    assert all(f.duration_s > 0 for f in faults if f.kind in ("db_lock", "unsafe"))
