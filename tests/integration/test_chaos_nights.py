"""Two simulated nights with chaos (``observatory run --nights 2 --chaos SEED``), read
through their ledger as a new user would: nothing lost, nothing done twice, no duplicate
rows, the dome never open unsafe beyond the bound, no process left behind, every
injected fault recovered from, and a report of each night of its own."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.integration.chaos_run import observatory_run, run_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3000)]

SEED = 7


def test_two_chaos_nights_lose_nothing_and_leave_nothing(tmp_path: Path) -> None:
    env = run_env(tmp_path)
    ledger_path = tmp_path / "ledger.json"
    done = observatory_run(
        env, "--nights", "2", "--chaos", str(SEED), "--ledger", str(ledger_path), timeout_s=2700
    )
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert ledger_path.exists(), tail
    ledger = json.loads(ledger_path.read_text())
    assert ledger["problems"] == [], ledger["problems"]
    assert done.returncode == 0, tail
    assert ledger["lost"] == [] and ledger["run_twice"] == []
    assert sum(ledger["duplicate_rows"].values()) == 0
    assert all(seconds == 0 for seconds in ledger["dome_open_beyond_bound_s"].values())
    assert ledger["processes_left"] == []
    # A night whose observations are refused (unsafe, hold-off) ends early and drops its
    # late faults, so not every kind is met in every run of two nights.
    applied = [fault for fault in ledger["faults"] if fault["applied"]]
    kinds = {fault["kind"] for fault in applied}
    assert len(applied) >= 5 and len(kinds) >= 3, applied
    assert all(fault["recovery_s"] is not None for fault in applied)
    assert [night["night"] for night in ledger["per_night"]] == [1, 2]
    # Each night's batches carry that night's date (20261206-..., 20261207-...).
    names = sorted({p.name[:8] for p in (tmp_path / "var" / "batches").iterdir()})
    dates = [dt.datetime.strptime(name, "%Y%m%d").date() for name in names]
    assert len(dates) == 2 and dates[1] - dates[0] == dt.timedelta(days=1), names
    # ... and its own report, filed under that date, showing its own batches only.
    reports = tmp_path / "var" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [f"{d:%Y-%m-%d}" for d in dates]
    for night, other in ((names[0], names[1]), (names[1], names[0])):
        page = reports / f"{dt.datetime.strptime(night, '%Y%m%d'):%Y-%m-%d}" / "index.html"
        assert f"{night}-" in page.read_text() and f"{other}-" not in page.read_text()
    assert ledger["orders"]["submitted"] >= 2 * 6
    assert "ledger:" in done.stdout and "problems: none" in done.stdout
