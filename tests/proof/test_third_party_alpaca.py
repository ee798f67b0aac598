"""Dome, observation and calibration_frames orders against a third-party Alpaca server.

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
5. Its dome runs one slew at a time: SlewToAzimuth drops a SlewToAltitude under way (the
   spec does not say it may not): the dome adapter moves the altitude first and waits,
   then the azimuth.
6. AbortExposure does not stop the exposure: it runs on and later sets ImageReady with its
   image, also while the next exposure runs (whose ImageReady then comes early, with the
   aborted image). Not coped with: no reply tells the two images apart, and the spec
   gives no wait after an abort. The telescope aborts only for a cancel; the next
   exposure within the aborted one's remaining time may carry its pixels.

Its template's mount is set for a site at 48 N, 8 E: the stack is given that site (the
mount's site is compared with the settings' before each observation). Its template's
panel has no lamp (CalibratorState NotPresent, MaxBrightness NotImplemented, as the spec
allows): ``lamp_on`` reads presence first and says so. Its
mount reports EquatorialSystem Other (its template means J2000): taken as J2000, as the
mount adapter takes Other. The stack is told the wheel's filter names and a default plan
in them, as a site's configuration would; the seed's example order (no exposures) takes it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.devices.camera import CameraAdapter
from observatory.devices.covercalibrator import CoverCalibratorAdapter
from observatory.devices.mount import altitude_deg
from observatory.errors import DeviceRefused, InvalidTarget
from observatory.orders.models import ExposureSpec
from observatory.telescope.observation import check_plan
from observatory.telescope.rig import TelescopeRig
from tests.helpers import wait_for
from tests.proof.faults_stack import FaultStack, order, running_stack, zenith
from tests.proof.third_party_alpaca import (
    CAMERA_HEIGHT_PX,
    CAMERA_WIDTH_PX,
    ThirdPartyServer,
    server_config,
    third_party_server,
)
from tests.unit import seed_orders

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


# The template's filter wheel, and a site's default plan in its names.
WHEEL_FILTERS = ["Red", "Green", "Blue", "Clear", "Luminance"]
DEFAULT_PLAN = [{"filter": "Luminance", "exposure_s": 1.0, "count": 2, "binning": 1}]
# The design's example telescope order (seed notes), as written there.
SEED_ORDER = seed_orders.observation()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThirdPartyServer]:
    with third_party_server(tmp_path_factory.mktemp("alpaca-simulators")) as running:
        yield running


@pytest.fixture(scope="module")
def stack(
    server: ThirdPartyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    overrides = {f"OBSERVATORY_DEVICES__{role}_ADDRESS": server.address for role in ROLES}
    overrides |= {f"OBSERVATORY_SITE__{name.upper()}": str(value)
                  for name, value in mount_site(server).items()}  # fmt: skip
    overrides |= {
        "OBSERVATORY_SIMULATOR__ENABLED": "false",
        "OBSERVATORY_TELESCOPE__FILTERS": json.dumps(WHEEL_FILTERS),
        "OBSERVATORY_TELESCOPE__DEFAULT_EXPOSURES": json.dumps(DEFAULT_PLAN),
        "OBSERVATORY_PROCESSOR__MISSING_CALIBRATIONS": "fail",
    }
    with running_stack(tmp_path_factory.mktemp("stack"), overrides) as running:
        yield running


def mount_site(server: ThirdPartyServer) -> dict[str, float]:
    """The site the template's mount is set for (48 N, 8 E): the stack is told the same,
    as a site's settings would be; another site fails every observation."""
    mount = server_config(server.catalogue)["devices"]["telescope"][0]
    return {"latitude_deg": float(mount["sitelatitude"]),
            "longitude_deg": float(mount["sitelongitude"]),
            "elevation_m": float(mount["siteelevation"])}  # fmt: skip


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


def dome_url(server: ThirdPartyServer, member: str) -> str:
    return f"http://{server.address}/api/v1/dome/0/{member}"


def test_the_dome_runs_one_slew_at_a_time(server: ThirdPartyServer) -> None:
    # Departure 5: SlewToAzimuth drops the SlewToAltitude under way.
    def value(member: str) -> float:
        return float(requests.get(dome_url(server, member), timeout=10).json()["Value"])

    altitude, azimuth = value("altitude"), value("azimuth")
    new_altitude, new_azimuth = (altitude + 20.0) % 90.0, (azimuth + 90.0) % 360.0
    for member, field, target in (
        ("slewtoaltitude", "Altitude", new_altitude),
        ("slewtoazimuth", "Azimuth", new_azimuth),
    ):
        reply = requests.put(dome_url(server, member), data={field: target}, timeout=10).json()
        assert reply["ErrorNumber"] == 0, reply
    wait_for(lambda: not value("slewing"), 30, message="the dome to stop")
    assert value("azimuth") == pytest.approx(new_azimuth)
    assert value("altitude") == pytest.approx(altitude)


def events_of(stack: FaultStack, pk: int) -> list[tuple[dt.datetime, str, str]]:
    with session_scope(stack.settings.sqlalchemy_url) as session:
        query = select(DeviceEvent).where(DeviceEvent.work_order_pk == pk)
        return [
            (_utc(row.at), row.device, row.event)
            for row in session.scalars(query.order_by(DeviceEvent.pk))
        ]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def test_an_observation_with_filters_and_binning_end_to_end(
    stack: FaultStack, server: ThirdPartyServer
) -> None:
    target = zenith(stack)
    plan = [
        {"filter": "Red", "exposure_s": 1.0, "count": 2},
        {"filter": "Blue", "exposure_s": 2.0, "count": 1, "binning": 2},
    ]
    pk = stack.submit(order("observation", exposures=plan, **target)).pk
    outcome = stack.outcome(pk, timeout_s=240)
    assert outcome.state == "succeeded", (outcome, stack.steps(pk)[-1].error)
    outputs = stack.steps(pk)[-1].outputs
    assert outputs is not None and outputs["files"] == 3

    timeline = events_of(stack, pk)
    names = [(device, event) for _, device, event in timeline]
    assert names.index(("dome", "shutter_opened")) < names.index(("mount", "slew_ended"))
    assert names.index(("mount", "slew_ended")) < names.index(("camera", "exposure_started"))
    assert names.count(("filterwheel", "filter_selected")) >= 1  # Red may be in the beam
    assert names[-2:] == [("dome", "shutter_closed"), ("mount", "parked")]
    starts = [at for at, device, event in timeline if event == "exposure_started"]
    ends = [at for at, device, event in timeline if event == "exposure_ended"]

    temperature = requests.get(camera_url(server, "ccdtemperature"), timeout=10).json()["Value"]
    folder = Path(outputs["folder"])
    files = sorted(folder.glob("*.fits"), key=lambda path: path.name[-9:])
    expected = [("Red", 1.0, 1), ("Red", 1.0, 1), ("Blue", 2.0, 2)]
    assert len(files) == len(expected)
    for path, (filter_name, exposure_s, binning), start, end in zip(
        files, expected, starts, ends, strict=True
    ):
        with fits.open(path, checksum=True) as hdul:
            header, data = hdul[0].header, hdul[0].data
        # (rows, columns): a transposed image would be (width, height).
        assert data.shape == (CAMERA_HEIGHT_PX // binning, CAMERA_WIDTH_PX // binning), path
        assert data.dtype == np.uint16 and 0 < np.median(data) < 65535, path
        assert (header["FILTER"], header["EXPTIME"]) == (filter_name, exposure_s)
        assert header["XBINNING"] == header["YBINNING"] == binning
        assert header["RA"] == pytest.approx(target["ra"], abs=1e-4)
        assert header["DEC"] == pytest.approx(target["dec"], abs=1e-4)
        assert header["CCD-TEMP"] == pytest.approx(temperature)
        date_obs = dt.datetime.fromisoformat(header["DATE-OBS"]).replace(tzinfo=dt.UTC)
        # The camera's LastExposureStartTime: after the command was sent, before the end.
        latest = end - dt.timedelta(seconds=exposure_s)
        assert start <= date_obs <= latest, (path.name, start, date_obs, end)

    # No calibration frames in the batch: each light names the master it lacks.
    child = outputs["calibration_order_pk"]
    processed = stack.outcome(child, timeout_s=240)
    light = next(run for run in stack.steps(child) if run.step == "light")
    assert processed.state == "partial", processed  # missing_calibrations = "fail"
    assert light.error is not None and light.error.count("no master bias") == 3, light.error


def test_the_seed_example_order_as_written(stack: FaultStack) -> None:
    # Without exposures it takes the site's default plan. Whether its target is up
    # depends on the hour: either way the outcome says so.
    from alpaca.telescope import Telescope

    mount = Telescope(stack.settings.devices.telescope_address, 0)
    lst_hours = float(mount.SiderealTime)
    up_deg = altitude_deg(SEED_ORDER["ra"], SEED_ORDER["dec"], lst_hours,
                          stack.settings.site.latitude_deg)  # fmt: skip
    pk = stack.submit(dict(SEED_ORDER)).pk
    outcome = stack.outcome(pk, timeout_s=240)
    limit_deg = stack.settings.telescope.altitude_limit_deg
    if abs(up_deg - limit_deg) < 1.0:  # at the limit: it may rise or set meanwhile
        assert outcome.state in ("succeeded", "cancelled"), outcome
    elif up_deg > limit_deg:
        assert outcome.state == "succeeded", (outcome, stack.steps(pk)[-1].error)
        outputs = stack.steps(pk)[-1].outputs
        assert outputs is not None and outputs["files"] == DEFAULT_PLAN[0]["count"]
    else:
        assert outcome.state == "cancelled", outcome
        assert outcome.reason is not None and "below the limit" in outcome.reason


def test_a_mount_set_for_another_site_fails_the_observation_naming_both(
    stack: FaultStack, server: ThirdPartyServer
) -> None:
    url = f"http://{server.address}/api/v1/telescope/0/sitelatitude"
    requests.put(url, data={"SiteLatitude": 40.0}, timeout=10).raise_for_status()
    try:
        pk = stack.submit(order("observation", **zenith(stack))).pk
        outcome = stack.outcome(pk, timeout_s=120)
    finally:
        restored = {"SiteLatitude": mount_site(server)["latitude_deg"]}
        requests.put(url, data=restored, timeout=10).raise_for_status()
    error = stack.steps(pk)[-1].error
    assert outcome.state == "failed", (outcome, error)
    assert error is not None and "latitude 40.0000 deg, site.latitude_deg is 48.0000 deg" in error
    assert ("dome", "open_requested") not in [(d, e) for _, d, e in events_of(stack, pk)]


def test_a_filter_the_wheel_lacks_is_refused_before_anything_moves(stack: FaultStack) -> None:
    # A site whose settings name filters this wheel does not hold (the intake checks only
    # the settings): the observation names the wheel's filters before opening the dome.
    rig = TelescopeRig.from_settings(stack.settings)
    plan = [ExposureSpec(filter="L", exposure_s=1.0)]
    with pytest.raises(InvalidTarget, match=r"exposures\.0\.filter: .*it holds \['Red'"):
        check_plan(rig, plan)


def test_an_aborted_exposure_still_delivers_its_image(server: ThirdPartyServer) -> None:
    # Departure 6.
    def get(member: str) -> object:
        return requests.get(camera_url(server, member), timeout=10).json()["Value"]

    wait_for(lambda: get("camerastate") == 0, 30, message="the camera to be idle")
    started = requests.put(
        camera_url(server, "startexposure"), data={"Duration": 1.5, "Light": "false"}, timeout=10
    ).json()
    assert started["ErrorNumber"] == 0, started
    wait_for(lambda: get("camerastate") == 2, 10, 0.05, message="the camera to expose")
    aborted = requests.put(camera_url(server, "abortexposure"), timeout=10).json()
    assert aborted["ErrorNumber"] == 0, aborted
    assert (get("camerastate"), get("imageready")) == (0, False)
    wait_for(lambda: get("imageready") is True, 30, message="the aborted exposure's image")
    # Taken, so that the next exposure of the module starts from no image.
    assert requests.get(camera_url(server, "imagearray"), timeout=30).status_code == 200
    assert get("imageready") is False
