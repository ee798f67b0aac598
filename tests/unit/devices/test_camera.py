"""ImageBytes decoding: axes, element types and error replies."""

from __future__ import annotations

import numpy as np
import pytest
from alpaca.exceptions import InvalidOperationException

from observatory.devices.camera import (
    CameraAdapter,
    CameraState,
    SensorType,
    as_uint16,
    decode_imagebytes,
    rggb_pattern,
)
from observatory.errors import DeviceError
from observatory.settings import TelescopeSettings
from tests.unit.devices.alpaca_stub import AlpacaStub
from tests.unit.devices.conftest import fast_settings


def imagebytes(pixels_xy: np.ndarray, transmission: int, error: int = 0) -> bytes:
    header = np.array(
        [1, error, 0, 0, 44, 2, transmission, 2, pixels_xy.shape[0], pixels_xy.shape[1], 0],
        dtype="<i4",
    )
    return header.tobytes() + pixels_xy.tobytes()


def test_x_y_order_becomes_rows_and_columns() -> None:
    image_xy = np.arange(12, dtype="<u2").reshape(4, 3)  # 4 columns (x), 3 rows (y)
    decoded = decode_imagebytes(imagebytes(image_xy, 8), "camera")
    assert decoded.shape == (3, 4) and decoded.dtype == np.uint16
    assert decoded[2, 1] == image_xy[1, 2]


def test_int32_pixels_are_narrowed_and_out_of_range_refused() -> None:
    image_xy = np.array([[0, 65535], [7, 8]], dtype="<i4")
    assert decode_imagebytes(imagebytes(image_xy, 2), "camera").tolist() == [[0, 7], [65535, 8]]
    with pytest.raises(DeviceError, match=r"outside 0\.\.65535"):
        as_uint16(np.array([[70000]]), "camera")


def test_error_reply_raises_the_alpaca_error_and_bad_bodies_are_device_errors() -> None:
    body = np.array([1, 0x40B, 0, 0, 44, 0, 0, 0, 0, 0, 0], "<i4").tobytes() + b"no image"
    with pytest.raises(InvalidOperationException, match="no image"):
        decode_imagebytes(body, "camera")
    with pytest.raises(DeviceError, match="less than"):
        decode_imagebytes(b"\0" * 10, "camera")
    with pytest.raises(DeviceError, match="pixels for"):
        decode_imagebytes(imagebytes(np.zeros((4, 4), "<u2"), 8)[:-2], "camera")


# A connected Camera interface 3, 8 x 6 pixels, that can neither abort nor stop.
CAMERA_VALUES = {
    "interfaceversion": 3,
    "cameraxsize": 8,
    "cameraysize": 6,
    "pixelsizex": 9.0,
    "pixelsizey": 9.0,
    "maxbinx": 2,
    "maxbiny": 2,
    "maxadu": 65535,
    "exposuremin": 0.001,
    "exposuremax": 3600.0,
    "sensorname": "stub",
    "sensortype": 0,
    "cansetccdtemperature": False,
    "canabortexposure": False,
    "canstopexposure": False,
    "camerastate": 2,
    "imageready": False,
}


def exposing_camera(stub: AlpacaStub, **values: object) -> CameraAdapter:
    stub.values.update(CAMERA_VALUES | values)
    for member in ("abortexposure", "stopexposure"):
        if not values.get(f"can{member}"):
            stub.not_implemented.add(member)
    # The exposure ends after five more readings of the state.
    readings: list[int] = []

    def one_more_reading() -> None:
        readings.append(1)
        if len(readings) >= 5:
            stub.values["camerastate"] = 0

    stub.after_get["camerastate"] = one_more_reading
    telescope = TelescopeSettings(readout_timeout_s=5.0)
    return CameraAdapter(fast_settings(stub.address, camera_address=stub.address), telescope)


def test_a_camera_that_can_neither_abort_nor_stop_is_waited_for(stub: AlpacaStub) -> None:
    # Both are optional in ASCOM (0x400): a cancel during an exposure sent AbortExposure
    # anyway, and the order failed on the refusal instead of ending cancelled.
    camera = exposing_camera(stub)
    assert camera.abort().state is CameraState.IDLE
    assert stub.count("PUT", "abortexposure") == stub.count("PUT", "stopexposure") == 0


@pytest.mark.parametrize("can_abort", [True, False])
def test_an_error_left_by_an_earlier_exposure_is_aborted_only_where_the_camera_can(
    stub: AlpacaStub, can_abort: bool
) -> None:
    # A camera without AbortExposure answered 0x400 and the order failed on that, before
    # the StartExposure that takes such a camera out of Error.
    camera = exposing_camera(stub, canabortexposure=can_abort, camerastate=5)  # Error
    if can_abort:
        stub.on_put["abortexposure"] = lambda params: stub.values.update(camerastate=0)
    assert camera.clear_error() is can_abort
    assert stub.count("PUT", "abortexposure") == int(can_abort)


@pytest.mark.parametrize(
    ("can", "sent"), [("canstopexposure", "stopexposure"), ("canabortexposure", "abortexposure")]
)
def test_abort_sends_what_the_camera_can(stub: AlpacaStub, can: str, sent: str) -> None:
    camera = exposing_camera(stub, **{can: True})
    assert camera.abort().state is CameraState.IDLE
    assert [m for method, m in stub.requests if method == "PUT" and "exposure" in m] == [sent]


@pytest.mark.parametrize(
    ("x", "y", "pattern"), [(0, 0, "RGGB"), (1, 0, "GRBG"), (0, 1, "GBRG"), (1, 1, "BGGR")]
)
def test_an_rggb_matrix_read_from_its_offsets(x: int, y: int, pattern: str) -> None:
    assert rggb_pattern(x, y) == pattern


def test_a_mosaic_sensor_says_its_pattern_and_an_old_camera_is_monochrome(
    stub: AlpacaStub,
) -> None:
    # The frames of a one-shot-colour camera carried no BAYERPAT: nobody could debayer them.
    stub.values.update(CAMERA_VALUES | {"sensortype": 2, "bayeroffsetx": 1, "bayeroffsety": 0})
    camera = CameraAdapter(fast_settings(stub.address, camera_address=stub.address))
    assert (camera.info.sensor_type, camera.info.bayer_pattern) == (SensorType.RGGB, "GRBG")
    stub.values["sensortype"] = 0
    camera = CameraAdapter(fast_settings(stub.address, camera_address=stub.address))
    assert (camera.info.sensor_type, camera.info.bayer_pattern) == (SensorType.MONOCHROME, None)
    stub.not_implemented.add("sensortype")  # Camera interface 1
    camera = CameraAdapter(fast_settings(stub.address, camera_address=stub.address))
    assert camera.info.sensor_type is SensorType.MONOCHROME
