"""A handler's raw body (ImageBytes) goes out unchanged and fast; JSON otherwise."""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Iterator

import anyio.to_thread
import numpy as np
import pytest
import requests
import uvicorn

from observatory.simulator.app import create_app
from observatory.simulator.config import parse_config
from observatory.simulator.devices.base import Device, get
from observatory.simulator.errors import InvalidOperation
from observatory.simulator.observatory import Observatory
from observatory.simulator.protocol import RawBody, RequestContext, ValueWithFields

pytestmark = pytest.mark.integration

FRAME_BYTES = 4096 * 4096 * 2  # a 4096 x 4096 uint16 frame


class FrameCamera(Device):
    """Serves one fixed frame: raw bytes when asked for ImageBytes, else a tiny JSON image."""

    device_type = "camera"
    ready = True

    @get("imagearray", context=True)
    def image_array(self, context: RequestContext) -> object:
        if not self.ready:
            raise InvalidOperation("no image taken yet")
        if context.accepts_imagebytes:
            return RawBody(frame_body(context.server_transaction_id))
        return ValueWithFields(fields={"Type": 2, "Rank": 2}, value_json=b"[[1,2],[3,4]]")

    @get("imagearrayvariant")
    async def image_array_variant(self) -> object:
        await anyio.to_thread.run_sync(time.sleep, 0.01)  # heavy work off the event loop
        return ValueWithFields([[5]], {"Type": 2, "Rank": 2})


@functools.cache
def blank_pixels() -> bytes:
    return bytes(FRAME_BYTES)


def frame_body(server_transaction_id: int) -> bytes:
    header = np.array([1, 0, 0, server_transaction_id, 44, 8, 8, 2, 4096, 4096, 0], "<i4")
    return header.tobytes() + blank_pixels()


@pytest.fixture(scope="module")
def server_url() -> Iterator[tuple[str, FrameCamera]]:
    observatory = Observatory(parse_config({"camera": {}}))
    camera = FrameCamera.build(
        0, FrameCamera.settings_model(), observatory.clock, random.Random(0), observatory
    )
    observatory.devices[("camera", 0)] = camera
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(observatory), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    assert isinstance(camera, FrameCamera)
    requests.put(
        f"http://127.0.0.1:{port}/api/v1/camera/0/connected", data={"Connected": "true"}, timeout=5
    ).raise_for_status()
    yield f"http://127.0.0.1:{port}/api/v1/camera/0", camera
    server.should_exit = True
    thread.join(10)


def test_imagebytes_body_is_sent_raw_and_quickly(server_url: tuple[str, FrameCamera]) -> None:
    url, _ = server_url
    blank_pixels()  # rendering is the camera's business; time the transfer only
    with requests.Session() as session:
        started = time.perf_counter()
        response = session.get(
            f"{url}/imagearray", headers={"Accept": "application/imagebytes"}, timeout=10
        )
        elapsed_s = time.perf_counter() - started
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/imagebytes"
    assert len(response.content) == 44 + FRAME_BYTES
    header = np.frombuffer(response.content[:44], "<i4")
    assert header[0] == 1 and header[4] == 44 and header[3] >= 1
    print(f"32 MB ImageBytes frame in {elapsed_s:.3f} s")
    assert elapsed_s < 1.0, f"32 MB frame took {elapsed_s:.2f} s"


def test_json_image_reply_carries_type_and_rank(server_url: tuple[str, FrameCamera]) -> None:
    url, _ = server_url
    reply = requests.get(f"{url}/imagearray", params={"ClientTransactionID": 9}, timeout=5).json()
    assert reply == {
        "Value": [[1, 2], [3, 4]],
        "ClientTransactionID": 9,
        "ServerTransactionID": reply["ServerTransactionID"],
        "ErrorNumber": 0,
        "ErrorMessage": "",
        "Type": 2,
        "Rank": 2,
    }


def test_image_errors_are_json_even_when_imagebytes_is_asked(
    server_url: tuple[str, FrameCamera],
) -> None:
    url, camera = server_url
    camera.ready = False
    try:
        response = requests.get(
            f"{url}/imagearray", headers={"Accept": "application/imagebytes"}, timeout=5
        )
    finally:
        camera.ready = True
    assert response.headers["content-type"] == "application/json"
    reply = response.json()
    assert reply["ErrorNumber"] == 0x40B and reply["Type"] == 2 and reply["Rank"] == 2


def test_async_handlers_are_awaited(server_url: tuple[str, FrameCamera]) -> None:
    url, _ = server_url
    reply = requests.get(f"{url}/imagearrayvariant", timeout=5).json()
    assert reply["Value"] == [[5]] and reply["ErrorNumber"] == 0 and reply["Rank"] == 2
