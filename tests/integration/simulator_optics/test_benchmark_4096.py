"""Measured: synthesis and transfer of a 4096 x 4096 frame (run with ``-s`` to see them).

The bounds are loose (a shared, loaded machine must pass); the printed numbers are the
measurement.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import orjson
import pytest
import requests

from observatory.simulator.config import load_config
from observatory.simulator.devices.camera import Camera
from observatory.simulator.observatory import Observatory
from observatory.simulator.server import start_simulator_process
from observatory.simulator.sky.frame import Scene
from observatory.simulator.sky.imagebytes import decode_imagebytes
from tests.integration.simulator_optics.conftest import TIME_SCALE, Rig, config_with

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIG = {"width_px = 2048": "width_px = 4096", "height_px = 2048": "height_px = 4096"}


def best_of(runs: int, action: object) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return min(timings)


def test_synthesis_of_a_4096_frame(tmp_path: Path) -> None:
    observatory = Observatory(load_config(config_with(tmp_path, BIG)))
    camera = observatory.camera
    assert isinstance(camera, Camera)
    synthesizer = camera.synthesizer
    scene = Scene(
        exposure_s=30.0,
        light=True,
        exposure_number=1,
        sensor_temperature_c=-10.0,
        filter_name="L",
        sky_visible=True,
        pointing_deg=(83.8, -5.4),
    )
    readout = camera._readout
    synthesizer.warm_up()
    seconds = best_of(3, lambda: synthesizer.render(scene, readout))
    print(f"\nsynthesis of a 4096 x 4096 light frame: {seconds:.3f} s (best of 3)")
    camera.runner.shutdown()
    assert seconds < 5.0


def test_transfer_of_a_4096_frame(tmp_path: Path) -> None:
    path = config_with(tmp_path, BIG)
    with start_simulator_process(config_path=path, time_scale=TIME_SCALE, discovery_port=0) as sim:
        rig = Rig(sim)
        rig.expose(1.0, light=False)
        url = f"{sim.base_url}/api/v1/camera/0/imagearray"
        imagebytes = {"Accept": "application/imagebytes"}

        def raw_imagebytes() -> None:
            response = requests.get(url, headers=imagebytes, timeout=30)
            assert decode_imagebytes(response.content)[1].shape == (4096, 4096)

        json_bodies: list[bytes] = []

        def raw_json() -> None:
            json_bodies.append(requests.get(url, timeout=60).content)

        def parse_json() -> None:
            assert len(orjson.loads(json_bodies[-1])["Value"]) == 4096

        measured = {
            "ImageBytes, requests": best_of(3, raw_imagebytes),
            "ImageBytes, alpyca ImageArrayRaw": best_of(
                3, lambda: np.frombuffer(rig.camera.ImageArrayRaw, dtype=np.uint16)
            ),
            "ImageBytes, alpyca ImageArray (nested)": best_of(1, lambda: rig.camera.ImageArray),
            "JSON, requests (download only)": best_of(2, raw_json),
            "JSON, orjson parse on the client": best_of(1, parse_json),
        }
    print()
    for name, seconds in measured.items():
        print(f"transfer of a 4096 x 4096 frame, {name}: {seconds:.3f} s")
    assert measured["ImageBytes, requests"] < 3.0
    assert measured["ImageBytes, alpyca ImageArrayRaw"] < 3.0
