"""The simulated observatory: every configured device, one clock, and their links.

Devices reach each other through :class:`Observatory` (``self.observatory`` inside a
device): ``observatory.dome.azimuth_deg``, ``observatory.filterwheel.current_filter_name``,
``observatory.covercalibrator.flat_illumination``, ``observatory.safetymonitor.is_safe``.
Each attribute is device 0 of that type, or None when the type is not configured. A
slaved dome follows ``observatory.telescope.azimuth_deg`` (degrees, when the mount
simulator provides it; without it the dome reports CanSlave false).
"""

from __future__ import annotations

import random
import uuid
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from observatory.errors import ConfigurationError
from observatory.simulator.clock import Clock
from observatory.simulator.config import SimulatorConfig, SiteSettings, one_line
from observatory.simulator.devices import DEVICE_CLASSES
from observatory.simulator.devices.base import Device, not_simulated_class
from observatory.simulator.members import DEVICE_TYPE_NAMES

if TYPE_CHECKING:
    from observatory.simulator.devices.covercalibrator import CoverCalibrator
    from observatory.simulator.devices.dome import Dome
    from observatory.simulator.devices.filterwheel import FilterWheel
    from observatory.simulator.devices.focuser import Focuser
    from observatory.simulator.devices.safetymonitor import SafetyMonitor

# Namespace of the devices' UniqueIDs: uuid5(namespace, "server name/type/number").
UNIQUE_ID_NAMESPACE = uuid.UUID("5b0b8a3e-6d3c-4f0e-9a52-1f3c2a7d9e41")


class Observatory:
    """Builds and holds the devices of one :class:`SimulatorConfig`."""

    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or Clock(config.time_scale, config.start_utc)
        self.devices: dict[tuple[str, int], Device] = {}
        for device_type, sections in config.devices.items():
            for number, section in enumerate(sections):
                self.devices[(device_type, number)] = self._build(device_type, number, section)

    def _build(self, device_type: str, number: int, section: dict[str, Any]) -> Device:
        cls = DEVICE_CLASSES.get(device_type) or not_simulated_class(device_type)
        try:
            settings = cls.settings_model.model_validate(section)
        except ValidationError as error:
            raise ConfigurationError(f"[{device_type}] #{number}: {one_line(error)}") from error
        except ValueError as error:
            raise ConfigurationError(f"[{device_type}] #{number}: {error}") from error
        rng = random.Random(f"{self.config.seed}/{device_type}/{number}")
        return cls.build(number, settings, self.clock, rng, self)

    @property
    def site(self) -> SiteSettings:
        return self.config.site

    def device(self, device_type: str, number: int) -> Device | None:
        return self.devices.get((device_type, number))

    def unique_id(self, device: Device) -> str:
        """A UUID that depends only on the config, so it survives restarts."""
        if device.settings.unique_id:
            return device.settings.unique_id
        key = f"{self.config.server_name}/{device.device_type}/{device.number}"
        return str(uuid.uuid5(UNIQUE_ID_NAMESPACE, key))

    def configured_devices(self) -> list[dict[str, Any]]:
        """Management API ``configureddevices`` entries, in a stable order."""
        return [
            {
                "DeviceName": device.display_name,
                "DeviceType": DEVICE_TYPE_NAMES[device.device_type],
                "DeviceNumber": device.number,
                "UniqueID": self.unique_id(device),
            }
            for (_, _), device in sorted(self.devices.items())
        ]

    # Device 0 of each type, for the devices that read each other.

    @property
    def dome(self) -> Dome | None:
        return cast("Dome | None", self.device("dome", 0))

    @property
    def telescope(self) -> Device | None:
        return self.device("telescope", 0)

    @property
    def camera(self) -> Device | None:
        return self.device("camera", 0)

    @property
    def filterwheel(self) -> FilterWheel | None:
        return cast("FilterWheel | None", self.device("filterwheel", 0))

    @property
    def focuser(self) -> Focuser | None:
        return cast("Focuser | None", self.device("focuser", 0))

    @property
    def covercalibrator(self) -> CoverCalibrator | None:
        return cast("CoverCalibrator | None", self.device("covercalibrator", 0))

    @property
    def safetymonitor(self) -> SafetyMonitor | None:
        return cast("SafetyMonitor | None", self.device("safetymonitor", 0))
