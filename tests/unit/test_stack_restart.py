"""A child that keeps dying is restarted with a growing delay, never given up on."""

from __future__ import annotations

from observatory.stack import MAX_RESTART_DELAY_S, restart_delay_s


def test_the_first_death_restarts_at_once_then_the_delay_doubles_up_to_a_bound() -> None:
    delays = [restart_delay_s(deaths) for deaths in range(1, 10)]
    assert delays[:5] == [0.0, 1.0, 2.0, 4.0, 8.0]
    assert delays == sorted(delays) and delays[-1] == MAX_RESTART_DELAY_S
