"""Conformance checklist, Camera (ICameraV4), after ConformU's camera tests.

First-use refusals, exposure validation, the CameraState machine through an exposure,
abort and stop, LastExposure* formats, gain/offset/readout modes, cooling, and the image
array (JSON and ImageBytes) against NumX/NumY. One simulator of its own at a high time
scale; small subframes keep the renders quick. Tests run in file order.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from datetime import datetime

import pytest
from alpaca.camera import Camera, CameraStates

from tests.helpers import wait_for
from tests.integration.simulator.conftest import Api, open_checklist_simulator
from tests.integration.simulator.test_checklist_common import connect_all

pytestmark = pytest.mark.integration

CAMERA = "camera/0"
IDLE, EXPOSING, READING, ERROR = 0, 2, 3, 5
FITS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$")


@pytest.fixture(scope="module")
def camera_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_checklist_simulator(tmp_path_factory.mktemp("checklist_camera")) as simulator:
        client = Api(simulator)
        connect_all(client)
        yield client
        client.session.close()


@pytest.fixture
def api(camera_api: Api) -> Api:
    """Connected, idle, with a 64 x 48 subframe at 1 x 1 binning."""
    camera_api.ok(f"{CAMERA}/connected", Connected="true")
    camera_api.ok(f"{CAMERA}/abortexposure")
    subframe(camera_api, bin_xy=1, start=(10, 20), size=(64, 48))
    return camera_api


@pytest.fixture
def camera(api: Api) -> Camera:
    return Camera(api.base_url.removeprefix("http://"), 0)


def subframe(api: Api, bin_xy: int, start: tuple[int, int], size: tuple[int, int]) -> None:
    api.ok(f"{CAMERA}/binx", BinX=bin_xy)
    api.ok(f"{CAMERA}/biny", BinY=bin_xy)
    api.ok(f"{CAMERA}/startx", StartX=start[0])
    api.ok(f"{CAMERA}/starty", StartY=start[1])
    api.ok(f"{CAMERA}/numx", NumX=size[0])
    api.ok(f"{CAMERA}/numy", NumY=size[1])


def expose(api: Api, duration_s: float, light: bool = False) -> None:
    api.ok(f"{CAMERA}/startexposure", Duration=duration_s, Light=str(light).lower())


def wait_image(api: Api) -> None:
    wait_for(lambda: api.value(f"{CAMERA}/imageready"), 20, 0.02, "image ready")


def test_first_use_refusals(unused_api: Api) -> None:
    """Before any exposure: no image (0x40B) and no LastExposure* (0x402)."""
    api = unused_api
    assert api.value(f"{CAMERA}/imageready") is False
    assert api.value(f"{CAMERA}/camerastate") == IDLE
    assert api.get(f"{CAMERA}/imagearray")["ErrorNumber"] == 0x40B
    assert api.get(f"{CAMERA}/lastexposureduration")["ErrorNumber"] == 0x402
    assert api.get(f"{CAMERA}/lastexposurestarttime")["ErrorNumber"] == 0x402


def test_image_array_variant_is_not_implemented(api: Api) -> None:
    """The spec: deprecated, but the endpoint must answer NotImplemented (0x400)."""
    reply = api.get(f"{CAMERA}/imagearrayvariant")
    assert reply["ErrorNumber"] == 0x400 and reply["ErrorMessage"]


@pytest.mark.parametrize("duration", ["-1", "-0.001"])
def test_negative_duration_is_invalid(api: Api, duration: str) -> None:
    reply = api.put(f"{CAMERA}/startexposure", Duration=duration, Light="true")
    assert reply["ErrorNumber"] == 0x401
    assert api.value(f"{CAMERA}/camerastate") == IDLE


def test_duration_beyond_exposure_max_is_invalid(api: Api) -> None:
    maximum = api.value(f"{CAMERA}/exposuremax")
    minimum = api.value(f"{CAMERA}/exposuremin")
    assert 0 <= minimum <= maximum and api.value(f"{CAMERA}/exposureresolution") >= 0
    reply = api.put(f"{CAMERA}/startexposure", Duration=maximum + 1, Light="true")
    assert reply["ErrorNumber"] == 0x401


def test_binning_beyond_max_is_invalid(api: Api) -> None:
    for axis in ("x", "y"):
        maximum = api.value(f"{CAMERA}/maxbin{axis}")
        assert maximum >= 1
        field = f"Bin{axis.upper()}"
        for bad in (0, maximum + 1):
            assert api.put(f"{CAMERA}/bin{axis}", **{field: bad})["ErrorNumber"] == 0x401
        api.ok(f"{CAMERA}/bin{axis}", **{field: maximum})
        assert api.value(f"{CAMERA}/bin{axis}") == maximum


@pytest.mark.parametrize(
    ("bin_xy", "start", "size"),
    [
        (1, (0, 0), (2049, 10)),  # wider than the sensor
        (1, (2000, 0), (64, 10)),  # starts on it but runs off
        (2, (0, 0), (1025, 10)),  # fits unbinned, not binned 2 x 2
        (4, (0, 500), (10, 20)),  # StartY beyond 512 binned rows
    ],
)
def test_subframe_off_the_binned_sensor_is_refused_at_start(
    api: Api, bin_xy: int, start: tuple[int, int], size: tuple[int, int]
) -> None:
    assert api.value(f"{CAMERA}/cameraxsize") == 2048
    subframe(api, bin_xy, start, size)
    assert api.put(f"{CAMERA}/startexposure", Duration=0.1, Light="false")["ErrorNumber"] == 0x401
    assert api.value(f"{CAMERA}/camerastate") == IDLE


def test_camera_state_through_an_exposure(api: Api) -> None:
    # 60 simulated seconds, 3 wall seconds at the checklist time scale: long enough to
    # read Exposing back on a busy machine, where a simulator's first exposure (its scene
    # built after the start time is taken) has answered a second late.
    expose(api, 60.0)
    states = [api.value(f"{CAMERA}/camerastate")]
    assert states[0] == EXPOSING and api.value(f"{CAMERA}/imageready") is False
    percent = api.value(f"{CAMERA}/percentcompleted")
    assert 0 <= percent <= 100
    # A second StartExposure while exposing is an invalid operation.
    assert api.put(f"{CAMERA}/startexposure", Duration=1, Light="false")["ErrorNumber"] == 0x40B

    def idle_again() -> bool:
        states.append(api.value(f"{CAMERA}/camerastate"))
        return states[-1] == IDLE

    wait_for(idle_again, 20, 0.01, "camera idle")
    order = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert order in ([EXPOSING, IDLE], [EXPOSING, READING, IDLE]), states
    assert api.value(f"{CAMERA}/imageready") is True
    assert api.value(f"{CAMERA}/percentcompleted") == 100


def test_last_exposure_duration_and_start_time(api: Api) -> None:
    before = datetime.fromisoformat(api.value("telescope/0/utcdate")).replace(tzinfo=None)
    expose(api, 2.0)
    wait_image(api)
    assert api.value(f"{CAMERA}/lastexposureduration") == pytest.approx(2.0)
    start = api.value(f"{CAMERA}/lastexposurestarttime")
    assert FITS_TIME.match(start), start  # FITS form, UTC, no zone suffix
    started = datetime.fromisoformat(start)
    assert 0.0 <= (started - before).total_seconds() < 60.0


def test_image_array_matches_the_subframe(api: Api) -> None:
    subframe(api, bin_xy=2, start=(5, 7), size=(40, 30))
    expose(api, 1.0)
    wait_image(api)
    reply = api.get(f"{CAMERA}/imagearray")
    assert reply["ErrorNumber"] == 0 and reply["Type"] == 2 and reply["Rank"] == 2
    image = reply["Value"]
    assert len(image) == 40 and all(len(column) == 30 for column in image)
    max_adu = api.value(f"{CAMERA}/maxadu")
    assert all(0 <= pixel <= max_adu for column in image for pixel in column)
    response = api.session.get(
        api.url(f"{CAMERA}/imagearray"),
        headers={"Accept": "application/imagebytes"},
        params={"ClientTransactionID": "9"},
        timeout=10,
    )
    assert response.headers["content-type"].startswith("application/imagebytes")
    header = struct.unpack("<11i", response.content[:44])
    version, error, client_id, _, start, element, transmission, rank, x, y, planes = header
    assert (version, error, client_id, start) == (1, 0, 9, 44)
    assert (element, transmission, rank, x, y, planes) == (2, 8, 2, 40, 30, 0)
    assert len(response.content) == 44 + 40 * 30 * 2
    first_column = struct.unpack("<30H", response.content[44 : 44 + 60])
    assert list(first_column) == image[0]  # y varies fastest


def test_abort_exposure_discards_and_is_harmless_when_idle(api: Api) -> None:
    assert api.value(f"{CAMERA}/canabortexposure") is True
    api.ok(f"{CAMERA}/abortexposure")  # idle: nothing to abort
    expose(api, 60.0)
    assert api.value(f"{CAMERA}/camerastate") == EXPOSING
    api.ok(f"{CAMERA}/abortexposure")
    assert api.value(f"{CAMERA}/camerastate") == IDLE
    assert api.value(f"{CAMERA}/imageready") is False


def test_stop_exposure_keeps_a_shorter_image(api: Api) -> None:
    assert api.value(f"{CAMERA}/canstopexposure") is True
    expose(api, 60.0)
    wait_for(lambda: api.value(f"{CAMERA}/percentcompleted") > 0, 5, 0.01, "progress")
    api.ok(f"{CAMERA}/stopexposure")
    wait_image(api)
    assert api.value(f"{CAMERA}/lastexposureduration") < 60.0
    assert api.value(f"{CAMERA}/camerastate") == IDLE


def test_gain_offset_and_readout_modes_are_consistent(api: Api) -> None:
    gains = api.get(f"{CAMERA}/gains")
    gain_min = api.get(f"{CAMERA}/gainmin")
    gain_max = api.get(f"{CAMERA}/gainmax")
    if gains["ErrorNumber"] == 0:  # index mode: Gains lists names, no GainMin/GainMax
        assert gains["Value"] and gain_min["ErrorNumber"] == gain_max["ErrorNumber"] == 0x400
        assert 0 <= api.value(f"{CAMERA}/gain") < len(gains["Value"])
        assert api.put(f"{CAMERA}/gain", Gain=len(gains["Value"]))["ErrorNumber"] == 0x401
    else:
        assert gains["ErrorNumber"] == 0x400
        assert gain_min["ErrorNumber"] == gain_max["ErrorNumber"] == 0
    offsets = {m: api.get(f"{CAMERA}/{m}")["ErrorNumber"] for m in ("offset", "offsets")}
    limits = {m: api.get(f"{CAMERA}/{m}")["ErrorNumber"] for m in ("offsetmin", "offsetmax")}
    assert not (offsets["offsets"] == 0 and set(limits.values()) == {0})
    modes = api.value(f"{CAMERA}/readoutmodes")
    assert modes and all(isinstance(m, str) for m in modes)
    assert 0 <= api.value(f"{CAMERA}/readoutmode") < len(modes)
    assert api.put(f"{CAMERA}/readoutmode", ReadoutMode=len(modes))["ErrorNumber"] == 0x401
    assert api.get(f"{CAMERA}/fastreadout")["ErrorNumber"] == 0x400  # CanFastReadout false


def test_sensor_type_and_bayer_offsets(api: Api) -> None:
    sensor_type = api.value(f"{CAMERA}/sensortype")
    assert sensor_type in range(6)
    bayer = [api.get(f"{CAMERA}/bayeroffset{a}")["ErrorNumber"] for a in ("x", "y")]
    if sensor_type == 0:  # monochrome: no Bayer matrix
        assert bayer == [0x400, 0x400]
    assert api.value(f"{CAMERA}/sensorname")


def test_cooling(api: Api) -> None:
    assert api.value(f"{CAMERA}/cansetccdtemperature") is True
    for bad in (-300.0, 100.0):
        reply = api.put(f"{CAMERA}/setccdtemperature", SetCCDTemperature=bad)
        assert reply["ErrorNumber"] == 0x401
    api.ok(f"{CAMERA}/setccdtemperature", SetCCDTemperature=-5.0)
    assert api.value(f"{CAMERA}/setccdtemperature") == -5.0
    api.ok(f"{CAMERA}/cooleron", CoolerOn="true")
    assert api.value(f"{CAMERA}/cooleron") is True
    assert 0.0 <= api.value(f"{CAMERA}/coolerpower") <= 100.0
    assert -273.15 < api.value(f"{CAMERA}/ccdtemperature") < 100.0
    assert isinstance(api.value(f"{CAMERA}/heatsinktemperature"), float)
    api.ok(f"{CAMERA}/cooleron", CoolerOn="false")
    assert api.value(f"{CAMERA}/cooleron") is False


def test_sub_exposure_duration_and_pulse_guide_follow_capabilities(api: Api) -> None:
    reply = api.get(f"{CAMERA}/subexposureduration")
    assert reply["ErrorNumber"] in (0, 0x400)
    if api.value(f"{CAMERA}/canpulseguide") is False:
        assert api.put(f"{CAMERA}/pulseguide", Direction=0, Duration=10)["ErrorNumber"] == 0x400


def test_alpyca_drives_an_exposure(api: Api, camera: Camera) -> None:
    camera.StartExposure(1.0, False)
    assert camera.CameraState in (CameraStates.cameraExposing, CameraStates.cameraReading)
    wait_for(lambda: camera.ImageReady, 20, 0.02, "image ready")
    assert camera.CameraState == CameraStates.cameraIdle
    image = camera.ImageArray
    assert len(image) == camera.NumX and len(image[0]) == camera.NumY
    info = camera.ImageArrayInfo
    assert info.Rank == 2 and (info.Dimension1, info.Dimension2) == (camera.NumX, camera.NumY)
