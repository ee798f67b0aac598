"""Dome orders and a calibration_frames order against a third-party Alpaca server.

The server is the ``alpaca-simulators`` package (see :mod:`tests.proof.third_party_alpaca`),
offline with a generated star catalogue. Where it departs from the ASCOM spec, or from
what a real device does, the project copes where the spec allows; the departures this
test steps around, each checked below so that the list stays true:

1. A failed exposure leaves the camera in CameraState Error, and StartExposure is then
   refused (0x40C "not idle") until AbortExposure: the telescope clears an Error once,
   with AbortExposure, before the next exposure, and records that it did.
2. ImageArray answers ImageBytes whatever the Accept header asks for (the spec's JSON
   default is never served): the project asks for ImageBytes anyway.
3. It serves no Management API (``/management/apiversions`` is 404): nothing in the
   project needs it to drive a device whose address is configured.
4. Its camera does not see the panel's lamp, and a light frame's level does not grow with
   the exposure time: no flat level can be aimed at, so the calibration order here takes
   biases and darks only (flats are driven against the bundled simulator elsewhere).

Its template's panel has no lamp (CalibratorState NotPresent, MaxBrightness
NotImplemented, as the spec allows): ``lamp_on`` reads presence first and says so.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from sqlalchemy import select

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.devices.camera import CameraAdapter
from observatory.devices.covercalibrator import CoverCalibratorAdapter
from observatory.errors import DeviceRefused
from tests.helpers import wait_for
from tests.proof.faults_stack import FaultStack, order, running_stack
from tests.proof.third_party_alpaca import ThirdPartyServer, third_party_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The focuser too: a change of filter moves it by the wheel's focus offsets.
ROLES = (
    "DOME",
    "TELESCOPE",
    "CAMERA",
    "FILTERWHEEL",
    "COVERCALIBRATOR",
    "SAFETYMONITOR",
    "FOCUSER",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThirdPartyServer]:
    with third_party_server(tmp_path_factory.mktemp("alpaca-simulators")) as running:
        yield running


@pytest.fixture(scope="module")
def stack(
    server: ThirdPartyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    overrides = {f"OBSERVATORY_DEVICES__{role}_ADDRESS": server.address for role in ROLES}
    overrides |= {
        "OBSERVATORY_SIMULATOR__ENABLED": "false",
    }
    with running_stack(tmp_path_factory.mktemp("stack"), overrides) as running:
        yield running


def camera_url(server: ThirdPartyServer, member: str) -> str:
    return f"http://{server.address}/api/v1/camera/0/{member}"


def test_dome_orders(stack: FaultStack) -> None:
    for data in (
        order("dome_status"),
        order("dome_open"),
        order("dome_set_azimuth", azimuth_deg=120.0),
        order("dome_close"),
        order("dome_park"),
    ):
        pk = stack.submit(data).pk
        outcome = stack.outcome(pk, timeout_s=60)
        assert outcome.state == "succeeded", (data["request"], outcome)


def test_a_light_frame_level_does_not_follow_the_exposure_time(
    stack: FaultStack,
) -> None:
    # Departure 4.
    camera = CameraAdapter(stack.settings.devices, stack.settings.telescope)
    short, long = (float(np.median(camera.expose(s, True, 2).data)) for s in (0.2, 2.0))
    assert abs(long - short) < 0.1 * short, (short, long)


def test_lamp_on_without_a_lamp_says_so(stack: FaultStack) -> None:
    panel = CoverCalibratorAdapter(stack.settings.devices, stack.settings.telescope)
    with pytest.raises(DeviceRefused, match="has no calibrator lamp"):
        panel.lamp_on()


def test_the_server_has_no_management_api(server: ThirdPartyServer) -> None:
    # Departure 3.
    reply = requests.get(f"http://{server.address}/management/apiversions", timeout=10)
    assert reply.status_code == 404


def test_the_server_answers_imagebytes_to_a_json_request(server: ThirdPartyServer) -> None:
    # Departure 2: no JSON image, whatever the client accepts.
    requests.put(
        camera_url(server, "startexposure"), data={"Duration": 0.1, "Light": "false"}, timeout=10
    )
    wait_for(
        lambda: requests.get(camera_url(server, "imageready"), timeout=10).json()["Value"],
        30,
        message="the image",
    )
    reply = requests.get(
        camera_url(server, "imagearray"), headers={"Accept": "application/json"}, timeout=30
    )
    assert "imagebytes" in reply.headers["content-type"]


def test_calibration_frames_after_a_camera_error(
    stack: FaultStack, server: ThirdPartyServer
) -> None:
    # Departure 1: an exposure that fails inside the server (its catalogue unreadable)
    # leaves the camera in Error, and it refuses the next StartExposure.
    moved = server.catalogue.with_suffix(".away")
    shutil.move(server.catalogue, moved)
    try:
        server.catalogue.mkdir()  # sqlite cannot open a folder: the render fails
        requests.put(
            camera_url(server, "startexposure"),
            data={"Duration": 0.37, "Light": "true"},
            timeout=10,
        )

        def state() -> int:
            reply = requests.get(camera_url(server, "camerastate"), timeout=10).json()
            return int(reply["Value"])

        wait_for(lambda: state() == 5, 30, message="the camera to report Error")
        refused = requests.put(
            camera_url(server, "startexposure"),
            data={"Duration": 0.1, "Light": "false"},
            timeout=10,
        ).json()
        assert refused["ErrorNumber"] == 0x40C, refused
    finally:
        server.catalogue.rmdir()
        shutil.move(moved, server.catalogue)

    data = order(
        "calibration_frames",
        bias_count=2,
        darks=[{"exposure_s": 1.0, "count": 2}],
    )
    pk = stack.submit(data).pk
    outcome = stack.outcome(pk, timeout_s=240)
    assert outcome.state == "succeeded", (outcome, stack.steps(pk)[-1].error)
    with session_scope(stack.settings.sqlalchemy_url) as session:
        events = [
            (row.device, row.event)
            for row in session.scalars(
                select(DeviceEvent).where(DeviceEvent.work_order_pk == pk).order_by(DeviceEvent.pk)
            )
        ]
    assert events.count(("camera", "error_cleared")) == 1, events
    assert json.dumps(events)
