"""Frames taken straight from the simulator over HTTP (alpyca), written as the telescope
writes batches: one FITS file per frame with the contract's headers and checksums, then
``manifest.json`` last.

For benchmarks and tests that need a real batch quickly, without the stack: the frames
carry the simulator's ground truth (``simulator:truth``) beside their pixels.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from alpaca.camera import Camera
from alpaca.covercalibrator import CoverCalibrator
from alpaca.dome import Dome
from alpaca.filterwheel import FilterWheel
from alpaca.telescope import Telescope

from observatory.db.models import ImageType
from observatory.hashing import sha256_of
from observatory.serving import ServerProcess
from observatory.telescope.fits import (
    FrameMetadata,
    frame_filename,
    frame_header,
    write_frame,
)

# 1024 x 1024 frames at 7 arcsec/pixel: small, yet sampled well enough to solve to 1".
BINNING = 2
PIXEL_SIZE_UM = 9.0
FOCAL_LENGTH_MM = 530.0


@dataclass
class Frame:
    """One frame taken: its pixels [y, x] and what its header will say."""

    imagetyp: ImageType
    data: np.ndarray
    exposure_s: float
    date_obs: dt.datetime
    filter: str | None = None
    ra_deg: float | None = None
    dec_deg: float | None = None
    truth: dict[str, Any] = field(default_factory=dict)


class SimulatedRig:
    """Camera, mount, dome, filter wheel and flat panel of one simulator, binned."""

    def __init__(self, simulator: ServerProcess) -> None:
        address = f"{simulator.host}:{simulator.port}"
        self.camera = Camera(address, 0)
        self.telescope = Telescope(address, 0)
        self.dome = Dome(address, 0)
        self.panel = CoverCalibrator(address, 0)
        self.wheel = FilterWheel(address, 0)
        devices = (self.camera, self.telescope, self.dome, self.panel, self.wheel)
        for device in devices:
            device.Connect()
        for device in devices:
            wait_for(partial(_connected, device), 10, 0.02)
        self.camera.BinX = self.camera.BinY = BINNING
        self.camera.NumX = self.camera.CameraXSize // BINNING
        self.camera.NumY = self.camera.CameraYSize // BINNING

    def camera_truth(self, **options: Any) -> dict[str, Any]:
        return dict(json.loads(self.camera.Action("simulator:truth", json.dumps(options))))

    def mount_truth(self) -> dict[str, Any]:
        return dict(json.loads(self.telescope.Action("simulator:truth", "")))

    def expose(self, imagetyp: ImageType, exposure_s: float, filter: str | None = None) -> Frame:
        light = imagetyp in (ImageType.LIGHT, ImageType.FLAT)
        start = dt.datetime.now(dt.UTC)
        self.camera.StartExposure(exposure_s, light)
        wait_for(lambda: self.camera.ImageReady, 60, 0.02, message="ImageReady")
        raw = np.frombuffer(self.camera.ImageArrayRaw, dtype=np.uint16)
        info = self.camera.ImageArrayInfo  # known once the image was read
        data = np.ascontiguousarray(raw.reshape(info.Dimension1, info.Dimension2).T)
        frame = Frame(imagetyp, data, exposure_s, start, filter, truth=self.camera_truth())
        if imagetyp == ImageType.LIGHT:
            frame.ra_deg = self.telescope.RightAscension * 15.0
            frame.dec_deg = self.telescope.Declination
            frame.truth["mount"] = self.mount_truth()
        return frame

    def set_filter(self, name: str) -> None:
        self.wheel.Position = list(self.wheel.Names).index(name)
        wait_for(lambda: self.wheel.Position != -1, 30, 0.02, message="filter wheel")

    def panel_on(self, fraction: float) -> None:
        self.panel.CloseCover()
        wait_for(lambda: self.panel.CoverState == 1, 30, 0.05, message="cover closed")
        self.panel.CalibratorOn(max(1, round(self.panel.MaxBrightness * fraction)))
        wait_for(lambda: self.panel.CalibratorState == 3, 30, 0.05, message="lamp ready")

    def panel_off(self) -> None:
        self.panel.CalibratorOff()
        self.panel.OpenCover()
        wait_for(lambda: self.panel.CoverState == 3, 30, 0.05, message="cover open")

    def point(self, hours_east: float, declination_deg: float) -> None:
        self.dome.OpenShutter()
        wait_for(lambda: self.dome.ShutterStatus == 0, 30, 0.02, message="shutter open")
        if self.telescope.AtPark:
            self.telescope.Unpark()
        self.telescope.Tracking = True
        ra_h = (self.telescope.SiderealTime + hours_east) % 24.0
        self.telescope.SlewToCoordinatesAsync(ra_h, declination_deg)
        wait_for(lambda: not self.telescope.Slewing, 30, 0.02, message="slew")


def write_batch(folder: Path, frames: list[Frame], extra: dict[str, bytes] | None = None) -> str:
    """Write ``frames`` (and ``extra`` raw files, listed too) into ``folder`` with a
    manifest; returns the folder as a file:// url."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for seq, frame in enumerate(frames, start=1):
        name = frame_filename(frame.imagetyp, frame.filter, frame.exposure_s, seq)
        meta = FrameMetadata(
            imagetyp=frame.imagetyp, exposure_s=frame.exposure_s, date_obs=frame.date_obs,
            binning=BINNING, object="test field" if frame.ra_deg is not None else "calibration",
            instrument="Simulated Camera", telescope="Simulated", site_latitude_deg=37.2,
            site_longitude_deg=-2.5, order_id="tests", order_pk=1, batch=folder.name,
            filter=frame.filter, ra_deg=frame.ra_deg, dec_deg=frame.dec_deg, ccd_temp_c=10.0,
            pixel_size_um=PIXEL_SIZE_UM, focal_length_mm=FOCAL_LENGTH_MM,
        )  # fmt: skip
        sha256 = write_frame(folder / name, frame.data, frame_header(meta))
        entries.append({"path": name, "size": (folder / name).stat().st_size, "sha256": sha256})
    for name, content in (extra or {}).items():
        (folder / name).write_bytes(content)
        entries.append({"path": name, "size": len(content), "sha256": sha256_of(folder / name)})
    manifest = {"batch": folder.name, "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "complete": True, "files": entries}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder.as_uri()


def _connected(device: Any) -> bool:
    return not device.Connecting


def wait_for(
    predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.1, message: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; TimeoutError after
    ``timeout_s`` naming ``message``."""
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the simulator: {message or 'condition'} not within {timeout_s} s")
        time.sleep(interval_s)
    return value
