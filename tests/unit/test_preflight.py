"""Every configuration file the stack would read is validated before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.errors import ConfigurationError
from observatory.preflight import check_configuration
from observatory.routine.plan import RoutinePlanInvalid
from observatory.settings import PlannedExposures, Settings


def settings_with(tmp_path: Path, **changes: object) -> Settings:
    return Settings(data_dir=tmp_path).model_copy(update=changes)


def test_the_shipped_files_pass(tmp_path: Path) -> None:
    check_configuration(settings_with(tmp_path))


def test_a_routine_plan_with_an_unknown_key_names_it(tmp_path: Path) -> None:
    plan = tmp_path / "routine.toml"
    plan.write_text('[[entries]]\nname = "x"\nat = "sunset"\ncolour = "red"\n'
                    '[entries.order]\nrequest = "dome_status"\n')  # fmt: skip
    with pytest.raises(RoutinePlanInvalid, match="colour"):
        check_configuration(settings_with(tmp_path, routine_plan=plan))
    # Without beat nobody reads the plan.
    check_configuration(settings_with(tmp_path, routine_plan=plan), with_beat=False)


def test_a_simulator_device_section_with_an_unknown_key_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "simulator.toml"
    config.write_text("[dome]\nshutter_secconds = 8\n")
    simulator = Settings().simulator.model_copy(update={"config": config})
    with pytest.raises(ConfigurationError) as raised:
        check_configuration(settings_with(tmp_path, simulator=simulator))
    message = str(raised.value)
    assert "shutter_secconds" in message and str(config) in message and "\n" not in message


def test_a_simulator_set_for_another_site_than_the_settings_is_refused(tmp_path: Path) -> None:
    # The simulated mount reports its [site]: another than site.* failed every observation.
    config = tmp_path / "simulator.toml"
    config.write_text("[site]\nlatitude_deg = 52.0\nlongitude_deg = -2.5463\n")
    simulator = Settings().simulator.model_copy(update={"config": config})
    with pytest.raises(ConfigurationError) as raised:
        check_configuration(settings_with(tmp_path, simulator=simulator))
    message = str(raised.value)
    assert "latitude 52.0000 deg, site.latitude_deg is 37.2236 deg" in message
    assert str(config) in message and "longitude" not in message.split("):")[0]
    assert "\n" not in message


def test_a_default_plan_naming_a_filter_at_a_site_without_a_wheel_is_refused(
    tmp_path: Path,
) -> None:
    # Every observation that gives no exposures would be refused at receipt.
    telescope = Settings().telescope.model_copy(
        update={"default_exposures": [PlannedExposures(filter="L", exposure_s=20.0)]}
    )
    devices = Settings().devices.model_copy(update={"filterwheel_address": None})
    with pytest.raises(
        ConfigurationError,
        match=r"^telescope\.default_exposures\.0\.filter: 'L' named, but this site has no"
        r" filter wheel \(devices\.filterwheel_address is empty\)$",
    ):
        check_configuration(
            settings_with(tmp_path, telescope=telescope, devices=devices), with_beat=False
        )
    colour = telescope.model_copy(update={"default_exposures": [PlannedExposures(exposure_s=20.0)]})
    check_configuration(settings_with(tmp_path, telescope=colour, devices=devices), with_beat=False)
