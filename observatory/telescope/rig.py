"""The telescope's devices as one bundle, and the dome slit kept on the mount."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from observatory.devices.angles import angular_distance_deg
from observatory.devices.camera import CameraAdapter
from observatory.devices.covercalibrator import CoverCalibratorAdapter
from observatory.devices.dome import DomeAdapter, DomeState
from observatory.devices.filterwheel import FilterWheelAdapter
from observatory.devices.focuser import FocuserAdapter
from observatory.devices.inventory import device_lines
from observatory.devices.mount import MountAdapter, MountState
from observatory.devices.safety import SafetyMonitorAdapter
from observatory.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class TelescopeRig:
    """One adapter per device role, made from the settings (connections open on first
    use). Not thread-safe: use a rig from one thread."""

    dome: DomeAdapter
    mount: MountAdapter
    camera: CameraAdapter
    # None when the settings name no filter wheel: frames are then taken without filter.
    filterwheel: FilterWheelAdapter | None
    # None when the settings name no flat panel: no cover is opened, no flats taken.
    panel: CoverCalibratorAdapter | None
    safety: SafetyMonitorAdapter
    # None when the settings name no focuser. An absent device is sent nothing.
    focuser: FocuserAdapter | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TelescopeRig:
        devices, telescope = settings.devices, settings.telescope
        log.info("telescope devices: %s", "; ".join(device_lines(devices)))
        return cls(
            dome=DomeAdapter(devices),
            mount=MountAdapter(devices, telescope),
            camera=CameraAdapter(devices, telescope),
            filterwheel=(
                FilterWheelAdapter(devices, telescope) if devices.filterwheel_address else None
            ),
            panel=(
                CoverCalibratorAdapter(devices, telescope)
                if devices.covercalibrator_address
                else None
            ),
            safety=SafetyMonitorAdapter(devices),
            focuser=FocuserAdapter(devices) if devices.focuser_address else None,
        )


def slit_offset_deg(dome: DomeState, mount: MountState) -> float | None:
    """How far the dome's azimuth is from the mount's, degrees in [0, 180]; None when the
    dome does not report an azimuth (a roll-off roof), or the mount does not."""
    if dome.azimuth_deg is None or mount.azimuth_deg is None:
        return None
    return angular_distance_deg(dome.azimuth_deg, mount.azimuth_deg)


def slave_dome(dome: DomeAdapter, mount: MountState, tolerance_deg: float) -> DomeState | None:
    """Turn the dome to the mount's azimuth (and altitude, where the dome has one) when
    its slit is further than ``tolerance_deg`` away; returns the new dome state, or None
    when it did not need to move. A dome that cannot set its azimuth (a roll-off roof)
    is never turned: None, and nothing sent."""
    if not dome.capabilities.can_set_azimuth:
        return None
    offset_deg = slit_offset_deg(dome.status(), mount)
    if offset_deg is not None and offset_deg <= tolerance_deg:
        return None
    if mount.altitude_deg is None or mount.azimuth_deg is None:
        raise ValueError(f"the dome follows a mount state with altitude and azimuth: {mount}")
    altitude_deg = min(90.0, max(0.0, mount.altitude_deg))
    return dome.slew_to_alt_az(altitude_deg, mount.azimuth_deg % 360.0)
