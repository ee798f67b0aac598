"""The simulated device classes, by lower-case Alpaca device type.

Add a type by writing ``devices/<type>.py`` (see the docstring of ``devices/base.py``) and
registering its class here.
"""

from __future__ import annotations

from observatory.simulator.devices.base import Device
from observatory.simulator.devices.camera import Camera
from observatory.simulator.devices.covercalibrator import CoverCalibrator
from observatory.simulator.devices.dome import Dome
from observatory.simulator.devices.filterwheel import FilterWheel
from observatory.simulator.devices.focuser import Focuser
from observatory.simulator.devices.safetymonitor import SafetyMonitor
from observatory.simulator.devices.telescope import Telescope

DEVICE_CLASSES: dict[str, type[Device]] = {
    "camera": Camera,
    "covercalibrator": CoverCalibrator,
    "dome": Dome,
    "filterwheel": FilterWheel,
    "focuser": Focuser,
    "safetymonitor": SafetyMonitor,
    "telescope": Telescope,
}
