"""Optional devices: a filter wheel, a flat panel or a focuser can be declared absent,
in TOML and in environment variables alike, with an empty address."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observatory.settings import DeviceSettings, load_settings
from tests.helpers import clean_observatory_env

OPTIONAL = ("filterwheel", "covercalibrator", "focuser")


def test_the_defaults_keep_the_simulator_s_filter_wheel_and_flat_panel() -> None:
    devices = DeviceSettings()
    assert devices.filterwheel_address == "127.0.0.1:11111"
    assert devices.covercalibrator_address == "127.0.0.1:11111"


@pytest.mark.parametrize("role", OPTIONAL)
def test_an_empty_variable_declares_the_device_absent(
    monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    # The embedded TOML names all three; the variable takes the device away.
    clean_observatory_env(monkeypatch, Path("config/observatory.toml").resolve())
    monkeypatch.setenv(f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS", "")
    assert getattr(load_settings().devices, f"{role}_address") is None


@pytest.mark.parametrize("role", OPTIONAL)
def test_an_empty_toml_address_declares_the_device_absent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, role: str
) -> None:
    config = tmp_path / "observatory.toml"
    config.write_text(f'[devices]\n{role}_address = "  "\n')
    clean_observatory_env(monkeypatch, config)
    assert getattr(load_settings().devices, f"{role}_address") is None


def test_a_required_device_keeps_refusing_an_empty_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clean_observatory_env(monkeypatch, Path(os.devnull))
    monkeypatch.setenv("OBSERVATORY_DEVICES__CAMERA_ADDRESS", "")
    with pytest.raises(Exception, match="camera_address"):
        load_settings()
