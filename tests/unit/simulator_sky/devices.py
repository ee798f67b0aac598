"""Build the simulated mount and camera in one observatory on a manual clock."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime
from typing import Any

from observatory.simulator.clock import ManualClock
from observatory.simulator.config import parse_config
from observatory.simulator.devices.base import Device
from observatory.simulator.errors import AscomError
from observatory.simulator.members import member_for
from observatory.simulator.observatory import Observatory
from observatory.simulator.protocol import RequestContext

START_UTC = datetime(2025, 1, 15, 21, 0, tzinfo=UTC)
SMALL_CAMERA = {
    "width_px": 256,
    "height_px": 256,
    "warm_up": False,
    "readout_time_s": 1.0,
    "connect_delay_s": 0,
}


def observatory(**sections: dict[str, Any]) -> Observatory:
    """An observatory with a mount and a small camera (plus any ``sections``), all
    connected, on a manual clock that starts at ``START_UTC``."""
    document: dict[str, Any] = {
        "seed": 11,
        "site": {"latitude_deg": 37.2, "longitude_deg": -2.5, "elevation_m": 2168.0},
        "telescope": {"connect_delay_s": 0},
        "camera": dict(SMALL_CAMERA),
    }
    for name, section in sections.items():
        document[name] = {**document.get(name, {}), **section}
    built = Observatory(parse_config(document), clock=ManualClock(start_utc=START_UTC))
    for device in built.devices.values():
        call(device, "PUT", "connected", connected=True)
    return built


def call(device: Device, verb: str, name: str, imagebytes: bool = False, **arguments: Any) -> Any:
    """Invoke a member as the HTTP layer does; runs async handlers to completion."""
    member = member_for(device.device_type, verb, name)
    assert member is not None, f"{verb} {name} is not a {device.device_type} member"
    context = RequestContext(3, 4, 5, accepts_imagebytes=imagebytes)
    result = device.call(member, arguments, context)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def error_number(device: Device, verb: str, name: str, **arguments: Any) -> int:
    """The ASCOM error number a call answers (0 when it succeeds)."""
    try:
        call(device, verb, name, **arguments)
    except AscomError as error:
        return error.error_number
    return 0
