"""Simulated time and lazily evaluated motion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from observatory.simulator.clock import Clock, ManualClock
from observatory.simulator.motion import Travel, shortest_delta_deg, wrap_deg


def test_time_scale_speeds_simulated_time() -> None:
    wall = [100.0]
    clock = Clock(60.0, datetime(2025, 1, 1, tzinfo=UTC), wall_s=lambda: wall[0])
    wall[0] += 1.0
    assert clock.now_s() == pytest.approx(60.0)
    assert clock.utc_now() == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    assert clock.wall_duration_s(60.0) == pytest.approx(1.0)


def test_clock_rejects_bad_scale_and_naive_start() -> None:
    with pytest.raises(ValueError):
        Clock(0.0)
    with pytest.raises(ValueError):
        Clock(1.0, datetime(2025, 1, 1))


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock(time_scale=10.0)
    assert clock.now_s() == 0.0
    clock.advance(5.0)
    assert clock.now_s() == pytest.approx(5.0)
    with pytest.raises(ValueError):
        clock.advance(-1.0)


@pytest.mark.parametrize(("angle", "wrapped"), [(360.0, 0.0), (-10.0, 350.0), (725.0, 5.0)])
def test_wrap(angle: float, wrapped: float) -> None:
    assert wrap_deg(angle) == pytest.approx(wrapped)


@pytest.mark.parametrize(("a", "b", "delta"), [(350, 10, 20), (10, 350, -20), (0, 180, 180)])
def test_shortest_delta(a: float, b: float, delta: float) -> None:
    assert shortest_delta_deg(a, b) == pytest.approx(delta)


def test_travel_moves_at_rate_and_arrives() -> None:
    travel = Travel(10.0, 40.0, 10.0, start_s=0.0)
    assert travel.position(1.0) == pytest.approx(20.0)
    assert travel.moving(2.9) and travel.arrived(3.0)
    assert travel.position(99.0) == 40.0


def test_circular_travel_takes_the_short_way_round() -> None:
    travel = Travel(350.0, 20.0, 10.0, start_s=0.0, circular=True)
    assert travel.position(1.0) == pytest.approx(0.0)
    assert travel.position(2.0) == pytest.approx(10.0)
    assert travel.duration_s() == pytest.approx(3.0)


def test_jammed_travel_stops_and_never_arrives() -> None:
    travel = Travel(0.0, 1.0, 0.5, start_s=0.0, stop_at=0.5)
    assert travel.position(100.0) == pytest.approx(0.5)
    assert travel.moving(100.0)


def test_halted_travel_rests_where_it_was() -> None:
    travel = Travel(0.0, 100.0, 10.0, start_s=0.0).halted(4.0)
    assert travel.position(50.0) == pytest.approx(40.0) and travel.arrived(4.0)
