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


def test_on_postgresql_the_database_fault_stops_the_server_and_the_rest_stays() -> None:
    on_sqlite = night_faults(11, 2, 120.0)
    on_postgres = night_faults(11, 2, 120.0, database="postgres")
    stops = [f for f in on_postgres if f.kind == "db_stop"]
    assert len(stops) == 1 and stops[0].target == "postgres"
    assert 5.0 <= stops[0].duration_s <= 20.0 and stops[0].spec["mode"] in ("fast", "immediate")
    assert "db_lock" not in {f.kind for f in on_postgres}
    # Only the database fault differs: the seed's other faults are the SQLite run's.
    others = [(f.at_s, f.kind) for f in on_sqlite if f.kind != "db_lock"]
    assert [(f.at_s, f.kind) for f in on_postgres if f.kind != "db_stop"] == others


def test_a_database_the_run_cannot_stop_gets_no_database_fault() -> None:
    faults = night_faults(11, 2, 120.0, database=None)
    assert len(faults) == 6 and not {"db_lock", "db_stop"} & {f.kind for f in faults}
