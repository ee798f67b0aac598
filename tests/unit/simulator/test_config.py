"""The simulator config file and the observatory assembled from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.errors import ConfigurationError
from observatory.simulator.config import DEFAULT_CONFIG_PATH, load_config, parse_config
from observatory.simulator.devices.dome import Dome
from observatory.simulator.observatory import Observatory


def test_default_config_is_realistic_at_time_scale_one() -> None:
    config = load_config()
    assert config.time_scale == 1.0
    assert config.discovery.port == 32227
    dome = config.devices["dome"][0]
    assert 10.0 <= dome["azimuth_rate_deg_s"] <= 15.0
    assert dome["altitude_rate_deg_s"] == 30.0
    assert 3.0 <= dome["shutter_time_s"] <= 10.0
    assert dome["park_azimuth_deg"] == 180.0 and dome["home_azimuth_deg"] == 0.0
    assert set(config.devices) == {
        "camera",
        "covercalibrator",
        "dome",
        "filterwheel",
        "focuser",
        "safetymonitor",
        "telescope",
    }


def test_default_config_builds_every_device() -> None:
    observatory = Observatory(load_config())
    wheel, panel, monitor = (
        observatory.filterwheel,
        observatory.covercalibrator,
        observatory.safetymonitor,
    )
    assert isinstance(observatory.dome, Dome)
    assert wheel is not None and panel is not None and monitor is not None
    assert wheel.current_filter_name == "L"
    assert panel.flat_illumination == 0.0
    assert monitor.is_safe is True
    assert observatory.dome.azimuth_deg == 180.0 and observatory.dome.shutter_open is False
    types = [d["DeviceType"] for d in observatory.configured_devices()]
    assert types == [
        "Camera",
        "CoverCalibrator",
        "Dome",
        "FilterWheel",
        "Focuser",
        "SafetyMonitor",
        "Telescope",
    ]


def test_time_scale_override() -> None:
    assert load_config(DEFAULT_CONFIG_PATH, time_scale=50.0).time_scale == 50.0
    with pytest.raises(ConfigurationError):
        load_config(DEFAULT_CONFIG_PATH, time_scale=0.0)


def test_unique_ids_depend_only_on_the_config() -> None:
    first = Observatory(load_config()).configured_devices()
    second = Observatory(load_config(time_scale=3.0)).configured_devices()
    assert [d["UniqueID"] for d in first] == [d["UniqueID"] for d in second]
    assert len({d["UniqueID"] for d in first}) == len(first)
    renamed = parse_config({"server_name": "Other", "dome": {}})
    assert Observatory(renamed).configured_devices()[0]["UniqueID"] not in {
        d["UniqueID"] for d in first
    }


def test_array_of_tables_configures_several_devices() -> None:
    config = parse_config({"dome": [{"name": "East"}, {"name": "West"}]})
    observatory = Observatory(config)
    west = observatory.device("dome", 1)
    assert west is not None and west.display_name == "West"


def test_explicit_unique_id_is_kept() -> None:
    config = parse_config({"dome": {"unique_id": "2f1d5d7e-0000-4000-8000-000000000001"}})
    assert Observatory(config).configured_devices()[0]["UniqueID"].endswith("0001")


@pytest.mark.parametrize(
    "data",
    [
        {"unknown_key": 1},
        {"time_scale": -1},
        {"dome": {"azimuth_rate_deg_s": 0}},
        {"dome": {"no_such_setting": 1}},
        {"start_utc": "2025-01-01T00:00:00"},
    ],
)
def test_bad_configs_are_rejected_with_the_key(data: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Observatory(parse_config(data))


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_config(tmp_path / "absent.toml")


def test_same_seed_gives_the_same_random_streams() -> None:
    first = Observatory(parse_config({"seed": 7, "dome": {}})).dome
    second = Observatory(parse_config({"seed": 7, "dome": {}})).dome
    other = Observatory(parse_config({"seed": 8, "dome": {}})).dome
    assert first is not None and second is not None and other is not None
    assert first.rng.random() == second.rng.random() != other.rng.random()
