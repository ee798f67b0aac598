"""The mount and camera over HTTP with alpyca: slews, exposures, ImageBytes, rules."""

from __future__ import annotations

import numpy as np
import pytest
import requests
from alpaca.exceptions import (
    InvalidOperationException,
    ParkedException,
)

from observatory.simulator.server import SimulatorProcess
from observatory.simulator.sky.imagebytes import decode_imagebytes
from observatory.simulator.sky.projection import offset_between
from tests.helpers import wait_for
from tests.integration.simulator_optics.conftest import Rig

pytestmark = pytest.mark.integration


def test_parked_and_tracking_rules(rig: Rig) -> None:
    telescope = rig.telescope
    telescope.Park()
    wait_for(lambda: telescope.AtPark, timeout=30, interval=0.02)
    with pytest.raises(ParkedException):
        telescope.SlewToCoordinatesAsync(1.0, 10.0)
    with pytest.raises(ParkedException):
        telescope.Tracking = True
    with pytest.raises(ParkedException):
        telescope.AbortSlew()
    telescope.Unpark()
    telescope.Tracking = False
    with pytest.raises(InvalidOperationException):
        telescope.SlewToCoordinatesAsync(telescope.SiderealTime, 30.0)
    # (Targets read before any was set: test_checklist_telescope.py, on a fresh simulator;
    # this module's simulator is shared, so another test may have set them.)
    assert telescope.UTCDate is not None
    reply = requests.get(f"{telescope.base_url}/utcdate", timeout=5).json()
    assert reply["Value"].endswith("Z")


def test_slew_then_expose_then_download_imagebytes(rig: Rig) -> None:
    rig.open_dome()
    ra_h = rig.point(hours_east_of_meridian=0.5, declination_deg=35.0)
    telescope, camera = rig.telescope, rig.camera
    assert telescope.RightAscension == pytest.approx(ra_h, abs=1e-6)
    camera.StartExposure(10.0, True)
    assert camera.CameraState == 2  # Exposing as soon as the PUT returns
    wait_for(lambda: camera.ImageReady, timeout=60, interval=0.02)
    pixels = np.frombuffer(camera.ImageArrayRaw, dtype=np.uint16)
    info = camera.ImageArrayInfo
    assert (info.Rank, info.Dimension1, info.Dimension2) == (
        2,
        camera.CameraXSize,
        camera.CameraYSize,
    )
    assert info.TransmissionElementType == 8  # UInt16
    image = pixels.reshape(info.Dimension1, info.Dimension2)
    truth = rig.camera_truth()
    exposure = truth["last_exposure"]
    assert exposure["sky_visible"] is True
    mount = rig.mount_truth()
    assert exposure["true_pointing_deg"] == pytest.approx(
        [mount["true_ra_deg"], mount["true_dec_deg"]]
    )
    error = offset_between(ra_h * 15.0, 35.0, *exposure["true_pointing_deg"])
    assert 1.0 < np.hypot(*error) < 600.0  # the configured pointing error, in arcseconds
    sky_adu = exposure["sky_e_per_s_per_px"] * 10.0 / truth["gain_e_per_adu"]
    assert np.median(image) == pytest.approx(truth["bias_level_adu"] + sky_adu, abs=25.0)
    assert image.max() > np.median(image) + 5000  # stars


def test_json_and_imagebytes_forms_agree(rig: Rig, simulator: SimulatorProcess) -> None:
    camera = rig.camera
    camera.StartX, camera.StartY, camera.NumX, camera.NumY = 100, 200, 64, 48
    try:
        rig.expose(1.0, light=False)
    finally:
        camera.StartX, camera.StartY = 0, 0
        camera.NumX, camera.NumY = camera.CameraXSize, camera.CameraYSize
    url = f"{simulator.base_url}/api/v1/camera/0/imagearray"
    as_json = requests.get(url, params={"ClientTransactionID": 5}, timeout=10)
    assert as_json.headers["content-type"].startswith("application/json")
    body = as_json.json()
    assert (body["Type"], body["Rank"], body["ErrorNumber"]) == (2, 2, 0)
    as_bytes = requests.get(
        url,
        params={"ClientTransactionID": 6},
        headers={"Accept": "application/imagebytes"},
        timeout=10,
    )
    assert as_bytes.headers["content-type"] == "application/imagebytes"
    header, pixels = decode_imagebytes(as_bytes.content)
    assert header["client_transaction_id"] == 6 and header["server_transaction_id"] > 0
    assert pixels.shape == (64, 48)
    np.testing.assert_array_equal(pixels, np.array(body["Value"]))


def test_state_machine_order(rig: Rig) -> None:
    camera = rig.camera
    # The simulator's first exposure builds its sky on the StartExposure call (0.6 s wall,
    # longer than the 20 s exposure at this time scale), so a first PUT returns with the
    # camera already Reading. Expose once first, whether or not an earlier test has.
    rig.expose(1.0, light=False)
    camera.StartExposure(20.0, False)
    states, percents = [], []
    while not camera.ImageReady:
        states.append(camera.CameraState)
        percents.append(camera.PercentCompleted)
    states.append(camera.CameraState)
    assert states[0] == 2 and states[-1] == 0
    order = [state for i, state in enumerate(states) if i == 0 or state != states[i - 1]]
    assert order == [2, 3, 0]  # Exposing, Reading, Idle: never back
    assert percents == sorted(percents)
    assert camera.LastExposureDuration == pytest.approx(20.0)


def test_image_errors_are_json_even_to_an_imagebytes_client(
    simulator: SimulatorProcess, rig: Rig
) -> None:
    camera = rig.camera
    camera.StartExposure(3600.0, False)
    try:
        response = requests.get(
            f"{simulator.base_url}/api/v1/camera/0/imagearray",
            headers={"Accept": "application/imagebytes"},
            timeout=10,
        )
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["ErrorNumber"] == 0x40B
        with pytest.raises(InvalidOperationException):
            _ = camera.ImageArray
    finally:
        camera.AbortExposure()
    assert camera.CameraState == 0
