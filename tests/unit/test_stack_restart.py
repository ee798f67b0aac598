"""A child that keeps dying is restarted with a growing delay, never given up on."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.settings import DeviceSettings, load_settings
from observatory.stack import MAX_RESTART_DELAY_S, Stack, restart_delay_s
from tests.helpers import clean_observatory_env


def test_the_first_death_restarts_at_once_then_the_delay_doubles_up_to_a_bound() -> None:
    delays = [restart_delay_s(deaths) for deaths in range(1, 10)]
    assert delays[:5] == [0.0, 1.0, 2.0, 4.0, 8.0]
    assert delays == sorted(delays) and delays[-1] == MAX_RESTART_DELAY_S


def test_children_read_the_settings_the_stack_was_given_in_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_observatory_env(monkeypatch)
    given = load_settings(data_dir=tmp_path).model_copy(
        update={
            "visibility_timeout_s": 120.0,
            "routine_plan": tmp_path / "plan.toml",
            "devices": DeviceSettings(shutter_timeout_s=30.0, dome_address="10.0.0.5:1"),
        }
    )
    for key, value in Stack(given).child_env().items():
        monkeypatch.setenv(key, value)
    seen = load_settings()
    assert seen.devices == given.devices
    assert seen.visibility_timeout_s == 120.0 and seen.routine_plan == given.routine_plan
    assert seen.data_dir == tmp_path
