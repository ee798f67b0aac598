"""The camera's exposure state machine, rendering frames on a worker thread.

Exposing lasts the exposure time in simulated time; Reading lasts ``readout_time_s`` and
at least until the frame is rendered; then the camera is Idle with an image ready. A
render that fails leaves the camera in Error until the next exposure. The frame is
rendered from the scene sampled when the exposure starts.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from observatory.simulator.sky.frame import FrameSynthesizer, Scene
from observatory.simulator.sky.readout import Readout


class CameraState(IntEnum):
    IDLE = 0
    WAITING = 1
    EXPOSING = 2
    READING = 3
    DOWNLOAD = 4
    ERROR = 5


class RenderFailed(RuntimeError):
    """The frame of an exposure could not be produced (the camera is in Error)."""


@dataclass
class Exposure:
    """One exposure: when it started (simulated seconds and UTC), what it sees."""

    start_s: float
    start_utc: datetime
    duration_s: float
    scene: Scene
    readout: Readout
    frame: Future[NDArray[np.uint16]]

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


class ExposureRunner:
    """Starts, stops and aborts exposures; renders each on one worker thread.

    ``fail_next`` (a fault) makes the next render raise :class:`RenderFailed`.
    """

    def __init__(self, synthesizer: FrameSynthesizer, readout_time_s: float) -> None:
        self.synthesizer = synthesizer
        self.readout_time_s = readout_time_s
        self.fail_next = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camera-render")
        self.current: Exposure | None = None
        self.last: Exposure | None = None
        self.image: NDArray[np.uint16] | None = None
        self.error: str | None = None

    def warm_up(self) -> Future[None]:
        """Compile the kernels and build the fixed patterns in the background."""
        return self._executor.submit(self.synthesizer.warm_up)

    def state(self, now_s: float) -> CameraState:
        self._collect(now_s)
        exposure = self.current
        if exposure is None:
            return CameraState.ERROR if self.error else CameraState.IDLE
        return CameraState.EXPOSING if now_s < exposure.end_s else CameraState.READING

    def start(self, scene: Scene, readout: Readout, now_s: float, utc: datetime) -> Exposure:
        """Begin an exposure of ``scene.exposure_s``; the previous image is dropped."""
        exposure = Exposure(
            now_s, utc, scene.exposure_s, scene, readout, self._render(scene, readout)
        )
        self.current, self.last = exposure, exposure
        self.image, self.error = None, None
        return exposure

    def stop(self, now_s: float) -> None:
        """End the exposure now and read out what it collected (no-op unless exposing)."""
        exposure = self.current
        if exposure is None or now_s >= exposure.end_s:
            return
        exposure.frame.cancel()
        elapsed_s = max(0.0, now_s - exposure.start_s)
        scene = replace(exposure.scene, exposure_s=elapsed_s)
        exposure.duration_s = elapsed_s
        exposure.scene = scene
        exposure.frame = self._render(scene, exposure.readout)

    def abort(self) -> None:
        """Discard the exposure in progress, if any; the camera is Idle with no image
        (AbortExposure "returns the camera to Idle state", from Error too)."""
        if self.current is not None:
            self.current.frame.cancel()
            self.current = None
        self.error = None

    def _render(self, scene: Scene, readout: Readout) -> Future[NDArray[np.uint16]]:
        fail, self.fail_next = self.fail_next, False
        if fail:
            return self._executor.submit(_fail, "injected readout failure")
        return self._executor.submit(self.synthesizer.render, scene, readout)

    def _collect(self, now_s: float) -> None:
        """Move a finished exposure's frame into ``image`` (or its failure into ``error``)."""
        exposure = self.current
        if exposure is None or now_s < exposure.end_s + self.readout_time_s:
            return
        if not exposure.frame.done():
            return
        self.current = None
        error = exposure.frame.exception()
        if error is None:
            self.image = exposure.frame.result()
        else:
            self.error = f"readout failed: {error}"

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _fail(message: str) -> NDArray[np.uint16]:
    raise RenderFailed(message)
