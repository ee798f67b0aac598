"""Devices built on a manual clock, so mechanism tests step time instead of waiting."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.base import Device
from observatory.simulator.members import member_for
from observatory.simulator.protocol import RequestContext

D = TypeVar("D", bound=Device)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_device(clock: ManualClock) -> Callable[..., Any]:
    """``make_device(DomeClass, connected=True, **settings)`` on the manual clock."""

    def make(cls: type[D], connected: bool = True, **settings: Any) -> D:
        device = cls.build(0, cls.settings_model(**settings), clock, random.Random(1))
        if connected:
            call(device, "PUT", "connected", connected=True)
        assert isinstance(device, cls)
        return device

    return make


def call(device: Device, verb: str, name: str, **arguments: Any) -> Any:
    """Invoke a member the way the HTTP layer does (connection check, faults, handler)."""
    member = member_for(device.device_type, verb, name)
    assert member is not None, f"{verb} {name} is not a {device.device_type} member"
    context = RequestContext(0, 0, 1, accepts_imagebytes=False)
    return device.call(member, arguments, context)
