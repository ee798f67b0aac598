"""The camera: cooled sensor, exposures, and the image download as ImageBytes.

:class:`CameraAdapter` drives an ASCOM Alpaca camera through alpyca. :meth:`expose` is
the whole cycle (binning, start, wait for ImageReady, download) and returns a
:class:`Frame` whose ``data`` is a ``uint16`` array shaped ``(rows, columns)`` as FITS
wants it (Alpaca sends ``[x][y]``). The image is fetched with ``Accept:
application/imagebytes`` under a timeout (alpyca's own image fetch has none).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import requests
from alpaca.camera import Camera, raise_alpaca_if
from numpy.typing import NDArray

from observatory.devices.alpaca_client import open_device
from observatory.errors import DeviceError, DeviceRefused, InvalidTarget
from observatory.settings import DeviceSettings, TelescopeSettings, get_settings

log = logging.getLogger(__name__)

# Camera interface version 4 is Platform 7 (asynchronous Connect).
CAMERA_PLATFORM7_VERSION = 4
IMAGEBYTES_HEADER_BYTES = 44
# ImageBytes transmission element types and their little-endian numpy dtypes.
IMAGEBYTES_DTYPES = {1: "<i2", 2: "<i4", 3: "<f8", 6: "<u1", 8: "<u2", 9: "<u4"}

# Asked while waiting for an image: a reason to stop waiting, or None to go on.
Stop = Callable[[], str | None]


class SensorType(enum.IntEnum):
    """ASCOM SensorType values. Color sends three planes per pixel; RGGB, CMYG, CMYG2
    and LRGB send one plane, a mosaic behind a colour filter matrix."""

    MONOCHROME = 0
    COLOR = 1
    RGGB = 2
    CMYG = 3
    CMYG2 = 4
    LRGB = 5


class CameraState(enum.Enum):
    """ASCOM CameraState values."""

    IDLE = 0
    WAITING = 1
    EXPOSING = 2
    READING = 3
    DOWNLOAD = 4
    ERROR = 5


@dataclass(frozen=True)
class CameraInfo:
    """The sensor, read once after connecting."""

    width_px: int
    height_px: int
    pixel_size_x_um: float
    pixel_size_y_um: float
    max_bin: int
    max_adu: int
    exposure_min_s: float
    exposure_max_s: float
    sensor_name: str
    can_set_ccd_temperature: bool
    # Either may be false (the camera then refuses the member with 0x400): see abort().
    can_abort_exposure: bool
    can_stop_exposure: bool
    # MONOCHROME from a camera without SensorType (Camera interface 1).
    sensor_type: SensorType = SensorType.MONOCHROME
    # An RGGB sensor's pattern from the image's first pixel (BayerOffsetX/Y applied).
    bayer_pattern: str | None = None


@dataclass(frozen=True)
class ExposureStatus:
    state: CameraState
    image_ready: bool

    def __str__(self) -> str:
        return f"camera state {self.state.name.lower()}, image ready {self.image_ready}"


@dataclass(frozen=True)
class Frame:
    """One downloaded exposure. ``data`` is ``(rows, columns)`` uint16; ``start_utc`` is
    the camera's start of exposure (its LastExposureStartTime when it reports one)."""

    data: NDArray[np.uint16]
    start_utc: dt.datetime
    exposure_s: float
    light: bool
    binning: int
    ccd_temp_c: float | None
    # The camera was found in CameraState Error and cleared before this exposure.
    error_cleared: bool = False


class CameraAdapter:
    """An Alpaca camera at ``devices.camera_address``, device ``camera_number``.

    Waiting for an image is bounded by the exposure time plus
    ``telescope.readout_timeout_s``. Errors: :class:`DeviceTimeout` when the image is not
    ready in time, :class:`DeviceError` when the camera reports CameraState Error or
    sends an image that cannot be decoded, :class:`DeviceRefused` for refused values,
    :class:`InvalidTarget` for an exposure time or binning outside the camera's range
    (before anything is sent). Not thread-safe: one adapter per thread.
    """

    def __init__(
        self, devices: DeviceSettings | None = None, telescope: TelescopeSettings | None = None
    ) -> None:
        self.devices = devices if devices is not None else get_settings().devices
        self.telescope = telescope if telescope is not None else get_settings().telescope
        self._camera, self._client = open_device(
            self.devices, "camera", Camera, "camera", CAMERA_PLATFORM7_VERSION
        )
        # When the last exposure started here ends (time.monotonic()), for abort().
        self._exposure_ends_s = -math.inf

    @property
    def label(self) -> str:
        return self._client.label

    @cached_property
    def info(self) -> CameraInfo:
        """The sensor's geometry and limits (connects on first use)."""
        call, cam = self._client.call, self._camera
        return CameraInfo(
            width_px=int(call("cameraxsize", lambda: cam.CameraXSize)),
            height_px=int(call("cameraysize", lambda: cam.CameraYSize)),
            pixel_size_x_um=float(call("pixelsizex", lambda: cam.PixelSizeX)),
            pixel_size_y_um=float(call("pixelsizey", lambda: cam.PixelSizeY)),
            max_bin=min(
                int(call("maxbinx", lambda: cam.MaxBinX)), int(call("maxbiny", lambda: cam.MaxBinY))
            ),
            max_adu=int(call("maxadu", lambda: cam.MaxADU)),
            exposure_min_s=float(call("exposuremin", lambda: cam.ExposureMin)),
            exposure_max_s=float(call("exposuremax", lambda: cam.ExposureMax)),
            sensor_name=str(call("sensorname", lambda: cam.SensorName)),
            can_set_ccd_temperature=bool(
                call("cansetccdtemperature", lambda: cam.CanSetCCDTemperature)
            ),
            can_abort_exposure=bool(call("canabortexposure", lambda: cam.CanAbortExposure)),
            can_stop_exposure=bool(call("canstopexposure", lambda: cam.CanStopExposure)),
            **self._colour(),
        )

    def _colour(self) -> dict[str, Any]:
        """SensorType, and an RGGB sensor's Bayer pattern at the image's first pixel."""
        call = self._client.call_optional
        value = call("sensortype", lambda: self._camera.SensorType)
        sensor = SensorType.MONOCHROME if value is None else SensorType(int(value))
        if sensor is not SensorType.RGGB:
            return {"sensor_type": sensor}
        offsets = (
            call("bayeroffsetx", lambda: self._camera.BayerOffsetX),
            call("bayeroffsety", lambda: self._camera.BayerOffsetY),
        )
        x, y = (0 if offset is None else int(offset) for offset in offsets)
        return {"sensor_type": sensor, "bayer_pattern": rggb_pattern(x, y)}

    def ccd_temperature_c(self) -> float | None:
        """The sensor's temperature now, degrees Celsius; None when the camera refuses
        (CCDTemperature is optional in ASCOM, for a sensor without a thermometer)."""
        try:
            temperature = self._client.call("ccdtemperature", lambda: self._camera.CCDTemperature)
        except DeviceRefused as refused:
            log.debug("no sensor temperature: %s", refused)
            return None
        return float(temperature)

    def set_cooler(self, on: bool, set_point_c: float | None = None) -> None:
        """Switch the cooler; with ``set_point_c``, also set the target temperature (does
        not wait for the sensor to reach it)."""
        if set_point_c is not None:
            if not self.info.can_set_ccd_temperature:
                raise DeviceRefused(f"{self.label} cannot set its CCD temperature")
            self._client.call(
                "setccdtemperature",
                lambda: setattr(self._camera, "SetCCDTemperature", set_point_c),
            )
        self._client.call("cooleron", lambda: setattr(self._camera, "CoolerOn", on))

    def exposure_status(self) -> ExposureStatus:
        call, cam = self._client.call, self._camera
        return ExposureStatus(
            state=CameraState(int(call("camerastate", lambda: cam.CameraState))),
            image_ready=bool(call("imageready", lambda: cam.ImageReady)),
        )

    def set_binning(self, binning: int) -> None:
        """Bin ``binning`` x ``binning`` over the whole sensor (subframe reset to full)."""
        info = self.info
        if isinstance(binning, bool) or not isinstance(binning, int):
            raise InvalidTarget(f"binning must be an integer, got {binning!r}")
        if not 1 <= binning <= info.max_bin:
            raise InvalidTarget(f"binning {binning} is outside 1..{info.max_bin} of {self.label}")
        call, cam = self._client.call, self._camera
        call("binx", lambda: setattr(cam, "BinX", binning))
        call("biny", lambda: setattr(cam, "BinY", binning))
        call("startx", lambda: setattr(cam, "StartX", 0))
        call("starty", lambda: setattr(cam, "StartY", 0))
        call("numx", lambda: setattr(cam, "NumX", info.width_px // binning))
        call("numy", lambda: setattr(cam, "NumY", info.height_px // binning))

    def start_exposure(self, exposure_s: float, light: bool) -> dt.datetime:
        """Start an exposure (``light=False``: a dark, shutter closed); returns the UTC
        time at which it was started by this host's clock."""
        info = self.info
        if not info.exposure_min_s <= exposure_s <= info.exposure_max_s:
            raise InvalidTarget(
                f"exposure {exposure_s} s is outside [{info.exposure_min_s},"
                f" {info.exposure_max_s}] s of {self.label}"
            )
        started = dt.datetime.now(dt.UTC)
        self._client.call(
            "startexposure", lambda: self._camera.StartExposure(float(exposure_s), light)
        )
        self._exposure_ends_s = time.monotonic() + exposure_s
        return started

    def wait_image_ready(self, exposure_s: float, stop: Stop | None = None) -> ExposureStatus:
        """Wait for ImageReady, at most ``exposure_s`` plus the readout timeout.

        ``stop()``, asked on every poll, returns a reason to give up waiting (e.g. a cancel
        request): that is raised as :class:`DeviceError` at once; the exposure is left to
        the caller to abort.
        """

        def failed(status: ExposureStatus) -> str | None:
            return _camera_failure(status) or (stop() if stop is not None else None)

        return self._client.wait_until(
            command="exposure",
            target="image ready",
            read_state=self.exposure_status,
            reached=lambda s: s.image_ready,
            failed=failed,
            timeout_s=exposure_s + self.telescope.readout_timeout_s,
        )

    def download_image(self) -> NDArray[np.uint16]:
        """The ready image as ``(rows, columns)`` uint16 (values outside 0..65535 raise
        :class:`DeviceError`)."""
        return self._client.call("imagearray", self._fetch_image)

    def last_exposure_start_utc(self) -> dt.datetime | None:
        """The camera's start of its last exposure, or None when it does not report one."""
        try:
            text = self._client.call(
                "lastexposurestarttime", lambda: self._camera.LastExposureStartTime
            )
        except DeviceRefused:
            return None  # optional member: the caller falls back to its own clock
        start = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return start if start.tzinfo else start.replace(tzinfo=dt.UTC)

    def expose(
        self, exposure_s: float, light: bool, binning: int = 1, stop: Stop | None = None
    ) -> Frame:
        """Take one exposure and download it (clear a left-over Error, binning, start,
        wait, download). The frame says whether an Error had to be cleared first.
        ``stop`` as in :meth:`wait_image_ready`."""
        cleared = self.clear_error()
        self.set_binning(binning)
        started = self.start_exposure(exposure_s, light)
        self.wait_image_ready(exposure_s, stop)
        data = self.download_image()
        start_utc = self.last_exposure_start_utc() or started
        temperature_c = self.ccd_temperature_c()
        return Frame(data, start_utc, exposure_s, light, binning, temperature_c, cleared)

    def clear_error(self) -> bool:
        """When the camera reports CameraState Error (a failed earlier exposure leaves some
        cameras there until told otherwise), send AbortExposure once and read the state
        again; returns whether an Error was cleared. Raises DeviceError when the camera
        is still in Error after the abort. A camera that cannot abort (CanAbortExposure
        false, AbortExposure then 0x400) is sent nothing: the next StartExposure is what
        leaves Error on such a camera, or is refused saying why."""
        if self.exposure_status().state is not CameraState.ERROR:
            return False
        if not self.info.can_abort_exposure:
            log.warning(
                "%s reports CameraState Error and cannot abort; starting the next exposure",
                self.label,
            )
            return False
        log.warning("%s reports CameraState Error; sending AbortExposure", self.label)
        self._client.call("abortexposure", self._camera.AbortExposure)
        state = self.exposure_status().state
        if state is CameraState.ERROR:
            raise DeviceError(f"{self.label} stays in CameraState Error after AbortExposure")
        return True

    def abort(self) -> ExposureStatus:
        """End an exposure under way and wait until the camera is not exposing (harmless
        when idle). AbortExposure where the camera can; else StopExposure (the image is
        left unread); a camera that can do neither (both optional in ASCOM) is sent
        nothing, and this waits for the exposure started here to end."""
        info = self.info
        wait_s = self.telescope.readout_timeout_s
        if info.can_abort_exposure:
            self._client.call("abortexposure", self._camera.AbortExposure)
        elif info.can_stop_exposure:
            self._client.call("stopexposure", self._camera.StopExposure)
        else:
            wait_s += max(0.0, self._exposure_ends_s - time.monotonic())
            log.warning(
                "%s can neither abort nor stop an exposure: waiting up to %.0f s for it to end",
                self.label,
                wait_s,
            )
        return self._client.wait_until(
            command="abortexposure",
            target="not exposing",
            read_state=self.exposure_status,
            reached=lambda s: s.state not in (CameraState.EXPOSING, CameraState.READING),
            timeout_s=wait_s,
        )

    def _fetch_image(self) -> NDArray[np.uint16]:
        cam = self._camera
        response = requests.get(
            f"{cam.base_url}/imagearray",
            params={"ClientID": "1", "ClientTransactionID": "1"},
            headers={"Accept": "application/imagebytes"},
            timeout=self.telescope.readout_timeout_s,
        )
        response.raise_for_status()
        if "application/imagebytes" in response.headers.get("content-type", ""):
            return decode_imagebytes(response.content, self.label)
        reply = json.loads(response.text)
        raise_alpaca_if(int(reply["ErrorNumber"]), str(reply["ErrorMessage"]))
        return as_uint16(np.asarray(reply["Value"]).T, self.label)


def rggb_pattern(offset_x: int, offset_y: int) -> str:
    """The BAYERPAT of an RGGB sensor read from column ``offset_x``, row ``offset_y`` of
    its matrix (ASCOM BayerOffsetX/Y): ``rggb_pattern(1, 0) == "GRBG"``."""
    rows = ["RG", "GB"]
    if offset_y % 2:
        rows.reverse()
    return "".join(row[::-1] if offset_x % 2 else row for row in rows)


def _camera_failure(status: ExposureStatus) -> str | None:
    return "the camera reports an error" if status.state is CameraState.ERROR else None


def decode_imagebytes(body: bytes, label: str) -> NDArray[np.uint16]:
    """An ImageBytes body as ``(rows, columns)`` uint16; :class:`DeviceError` for an error
    reply, a rank other than 2, an unknown element type or a short body."""
    if len(body) < IMAGEBYTES_HEADER_BYTES:
        raise DeviceError(f"{label} sent {len(body)} bytes, less than an ImageBytes header")
    header = np.frombuffer(body[:IMAGEBYTES_HEADER_BYTES], "<i4")
    error_number, data_start, transmission, rank, size_x, size_y = (
        int(header[i]) for i in (1, 4, 6, 7, 8, 9)
    )
    if error_number:
        message = body[IMAGEBYTES_HEADER_BYTES:].decode("utf-8", "replace")
        raise_alpaca_if(error_number, message)
    dtype = IMAGEBYTES_DTYPES.get(transmission)
    if rank != 2 or dtype is None:
        raise DeviceError(f"{label} sent rank {rank}, element type {transmission}: unsupported")
    pixels = np.frombuffer(body, dtype, offset=data_start)
    if pixels.size != size_x * size_y:
        raise DeviceError(f"{label} sent {pixels.size} pixels for {size_x} x {size_y}")
    # Alpaca's [x][y] has y varying fastest; FITS (numpy) rows are y.
    return as_uint16(pixels.reshape(size_x, size_y).T, label)


def as_uint16(pixels: NDArray[np.generic], label: str) -> NDArray[np.uint16]:
    """``pixels`` as a C-contiguous uint16 array; :class:`DeviceError` if any value does
    not fit."""
    if pixels.dtype == np.uint16:
        return np.ascontiguousarray(pixels)
    if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
        raise DeviceError(f"{label} sent pixel values outside 0..65535")
    return np.ascontiguousarray(pixels, dtype=np.uint16)
