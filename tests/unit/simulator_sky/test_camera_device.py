"""The simulated camera on a manual clock: exposure state machine, cooler, images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.camera import Camera
from observatory.simulator.devices.telescope import Telescope
from observatory.simulator.observatory import Observatory
from observatory.simulator.protocol import RawBody, ValueWithFields
from observatory.simulator.sky.exposure import CameraState
from observatory.simulator.sky.imagebytes import decode_imagebytes
from tests.helpers import wait_for
from tests.unit.simulator_sky.devices import call, error_number, observatory

INVALID_VALUE, NOT_SET, INVALID_OPERATION, NOT_IMPLEMENTED = 0x401, 0x402, 0x40B, 0x400


def camera(**settings: object) -> tuple[Camera, ManualClock]:
    built = observatory(camera=dict(settings))
    device = built.camera
    assert isinstance(device, Camera) and isinstance(built.clock, ManualClock)
    return device, built.clock


def finish(device: Camera, clock: ManualClock, exposure_s: float) -> None:
    """Advance past exposure and readout, then wait for the render thread."""
    clock.advance(exposure_s + device.settings.readout_time_s)
    wait_for(lambda: call(device, "GET", "imageready"), timeout=30, interval=0.01, message="image")


def state(device: Camera) -> CameraState:
    return CameraState(call(device, "GET", "camerastate"))


def tracking_at_dec_40(built: Observatory) -> tuple[Camera, Telescope, ManualClock]:
    """Unpark ``built``'s mount and leave it tracking half an hour east of the meridian
    at Dec +40, the slew finished."""
    device, mount, clock = built.camera, built.telescope, built.clock
    assert isinstance(device, Camera) and isinstance(mount, Telescope)
    assert isinstance(clock, ManualClock)
    call(mount, "PUT", "unpark")
    call(mount, "PUT", "tracking", tracking=True)
    ra_h = (call(mount, "GET", "siderealtime") + 0.5) % 24
    call(mount, "PUT", "slewtocoordinatesasync", right_ascension=ra_h, declination=40.0)
    clock.advance(60.0)
    return device, mount, clock


def test_nothing_to_read_before_the_first_exposure() -> None:
    device, _ = camera()
    assert error_number(device, "GET", "imagearray") == INVALID_OPERATION
    assert error_number(device, "GET", "lastexposureduration") == NOT_SET
    assert error_number(device, "GET", "lastexposurestarttime") == NOT_SET
    assert call(device, "GET", "imageready") is False
    assert state(device) is CameraState.IDLE


def test_exposure_state_machine() -> None:
    device, clock = camera()
    call(device, "PUT", "startexposure", duration=10.0, light=False)
    assert state(device) is CameraState.EXPOSING
    assert call(device, "GET", "imageready") is False
    assert (
        error_number(device, "PUT", "startexposure", duration=1.0, light=False) == INVALID_OPERATION
    )
    clock.advance(5.0)
    assert call(device, "GET", "percentcompleted") == 50
    clock.advance(5.0)
    assert state(device) is CameraState.READING
    assert call(device, "GET", "imageready") is False
    finish(device, clock, 0.0)
    assert state(device) is CameraState.IDLE
    assert call(device, "GET", "lastexposureduration") == 10.0
    assert call(device, "GET", "lastexposurestarttime") == "2025-01-15T21:00:00.000"
    reply = call(device, "GET", "imagearray")
    assert isinstance(reply, ValueWithFields) and reply.fields == {"Type": 2, "Rank": 2}
    pixels = np.array(json.loads(reply.value_json or b"null"))
    assert pixels.shape == (256, 256)


def test_imagebytes_carry_the_same_pixels() -> None:
    device, clock = camera()
    call(device, "PUT", "startexposure", duration=1.0, light=False)
    finish(device, clock, 1.0)
    raw = call(device, "GET", "imagearray", imagebytes=True)
    assert isinstance(raw, RawBody)
    header, pixels = decode_imagebytes(raw.body)
    assert header["client_transaction_id"] == 4 and header["server_transaction_id"] == 5
    assert header["transmission_element_type"] == 8
    as_json = call(device, "GET", "imagearray")
    np.testing.assert_array_equal(pixels, np.array(json.loads(as_json.value_json)))


@pytest.mark.parametrize(
    ("member", "value"),
    [("binx", 5), ("binx", 0), ("numx", 0), ("startx", -1)],
)
def test_bad_binning_and_subframe_values_are_refused(member: str, value: int) -> None:
    device, _ = camera()
    argument = {"binx": "bin_x", "numx": "num_x", "startx": "start_x"}[member]
    assert error_number(device, "PUT", member, **{argument: value}) == INVALID_VALUE


def test_subframe_off_the_sensor_and_negative_duration_are_refused() -> None:
    device, clock = camera()
    assert error_number(device, "PUT", "startexposure", duration=-1.0, light=True) == INVALID_VALUE
    call(device, "PUT", "binx", bin_x=2)
    call(device, "PUT", "biny", bin_y=2)
    assert error_number(device, "PUT", "startexposure", duration=1.0, light=True) == INVALID_VALUE
    call(device, "PUT", "numx", num_x=128)
    call(device, "PUT", "numy", num_y=100)
    call(device, "PUT", "starty", start_y=29)
    assert error_number(device, "PUT", "startexposure", duration=1.0, light=True) == INVALID_VALUE
    call(device, "PUT", "starty", start_y=20)
    call(device, "PUT", "startexposure", duration=1.0, light=True)
    finish(device, clock, 1.0)
    reply = call(device, "GET", "imagearray", imagebytes=True)
    assert decode_imagebytes(reply.body)[1].shape == (128, 100)


def test_abort_discards_and_stop_keeps_a_shorter_exposure() -> None:
    device, clock = camera()
    call(device, "PUT", "startexposure", duration=100.0, light=False)
    clock.advance(10.0)
    call(device, "PUT", "abortexposure")
    assert state(device) is CameraState.IDLE
    assert call(device, "GET", "imageready") is False
    call(device, "PUT", "startexposure", duration=100.0, light=False)
    clock.advance(30.0)
    call(device, "PUT", "stopexposure")
    assert state(device) is CameraState.READING
    finish(device, clock, 0.0)
    assert call(device, "GET", "lastexposureduration") == pytest.approx(30.0)
    call(device, "PUT", "abortexposure")  # idle: harmless
    assert call(device, "GET", "imageready") is True


def test_cooler_approaches_the_set_point_at_a_finite_rate() -> None:
    device, clock = camera(cooler_rate_k_per_s=0.1, ambient_temperature_c=10.0)
    call(device, "PUT", "setccdtemperature", set_ccd_temperature=-10.0)
    call(device, "PUT", "cooleron", cooler_on=True)
    assert call(device, "GET", "coolerpower") == 100.0
    clock.advance(100.0)
    assert call(device, "GET", "ccdtemperature") == pytest.approx(0.0)
    clock.advance(200.0)
    assert call(device, "GET", "ccdtemperature") == pytest.approx(-10.0)
    assert 0.0 < call(device, "GET", "coolerpower") < 100.0
    assert (
        error_number(device, "PUT", "setccdtemperature", set_ccd_temperature=-300.0)
        == INVALID_VALUE
    )


def test_gains_by_name_and_no_gain_range() -> None:
    device, _ = camera()
    assert call(device, "GET", "gains") == ["Default"]
    assert error_number(device, "GET", "gainmin") == NOT_IMPLEMENTED
    assert error_number(device, "GET", "gainmax") == NOT_IMPLEMENTED
    assert error_number(device, "PUT", "gain", gain=1) == INVALID_VALUE


def test_readout_fault_puts_the_camera_in_error() -> None:
    device, clock = camera()
    call(device, "PUT", "action", action="simulator:fault", parameters='{"kind": "readout_error"}')
    call(device, "PUT", "startexposure", duration=1.0, light=False)
    clock.advance(2.0)
    wait_for(lambda: state(device) is CameraState.ERROR, timeout=10, interval=0.01)
    assert error_number(device, "GET", "imagearray") == 0x500
    call(device, "PUT", "startexposure", duration=1.0, light=False)
    finish(device, clock, 1.0)
    assert state(device) is CameraState.IDLE


def test_light_frame_sees_stars_only_with_the_dome_open() -> None:
    built = observatory(dome={"connect_delay_s": 0, "start_shutter_open": False})
    device, mount, clock = tracking_at_dec_40(built)

    def expose() -> dict[str, object]:
        call(device, "PUT", "startexposure", duration=5.0, light=True)
        finish(device, clock, 5.0)
        truth = json.loads(call(device, "PUT", "action", action="simulator:truth", parameters=""))
        return dict(truth["last_exposure"])

    closed = expose()
    assert closed["sky_visible"] is False
    call(built.dome, "PUT", "openshutter")  # type: ignore[arg-type]
    clock.advance(30.0)
    opened = expose()
    assert opened["sky_visible"] is True
    assert opened["true_pointing_deg"] == pytest.approx(list(mount.true_pointing()))
    assert opened["sky_e_per_s_per_px"] > 100 * closed["sky_e_per_s_per_px"]  # type: ignore[operator]


def test_truth_reports_sensor_constants_and_a_flat() -> None:
    device, _ = camera(read_noise_e=6.0, gain_e_per_adu=1.2)
    truth = json.loads(
        call(
            device,
            "PUT",
            "action",
            action="simulator:truth",
            parameters='{"filter": "B", "block_px": 32}',
        )
    )
    assert truth["read_noise_e"] == 6.0 and truth["gain_e_per_adu"] == 1.2
    assert truth["pixel_scale_arcsec"] == pytest.approx(3.5026, abs=1e-3)
    assert np.array(truth["flat_response_blocks"]).shape == (8, 8)
    assert truth["dark_current_e_per_s"] == pytest.approx(0.05 * 2 ** (20 / 6))  # at +10 C
    assert (
        error_number(device, "PUT", "action", action="simulator:truth", parameters="[1]")
        == INVALID_VALUE
    )


def test_stars_trail_when_the_mount_does_not_track() -> None:
    built = observatory(dome={"connect_delay_s": 0, "start_shutter_open": True})
    device, mount, clock = tracking_at_dec_40(built)
    trails = []
    for tracking in (True, False):
        call(mount, "PUT", "tracking", tracking=tracking)
        call(device, "PUT", "startexposure", duration=30.0, light=True)
        finish(device, clock, 30.0)
        truth = json.loads(call(device, "PUT", "action", action="simulator:truth", parameters=""))
        trails.append(truth["last_exposure"]["trail_samples"])
    # 30 s of sidereal drift at Dec 40: 346 arcsec, 99 pixels, sampled every half pixel.
    assert trails[0] == 0
    assert 190 <= trails[1] <= 200
