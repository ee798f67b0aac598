"""The devices an operator is told the site has."""

from __future__ import annotations

from observatory.devices.inventory import device_lines
from observatory.settings import DeviceSettings


def test_absent_devices_are_named_as_none_at_this_site() -> None:
    devices = DeviceSettings(
        camera_address="10.0.0.5:11111",
        camera_number=2,
        filterwheel_address="",
        covercalibrator_address="",
    )
    assert device_lines(devices) == [
        "dome 0 at 127.0.0.1:11111",
        "mount 0 at 127.0.0.1:11111",
        "camera 2 at 10.0.0.5:11111",
        "safety monitor 0 at 127.0.0.1:11111",
        "filter wheel: none at this site",
        "flat panel: none at this site",
        "focuser: none at this site",
    ]


def test_the_default_site_has_a_filter_wheel_and_a_flat_panel() -> None:
    lines = device_lines(DeviceSettings())
    assert "filter wheel 0 at 127.0.0.1:11111" in lines
    assert "flat panel 0 at 127.0.0.1:11111" in lines
