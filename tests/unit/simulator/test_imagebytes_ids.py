"""ImageBytes carries the transaction ids as UInt32: every legal id (1..4294967295) is
echoed in the binary header, and the server's id wraps within uint32."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from observatory.simulator.protocol import UINT32_MAX, TransactionCounter
from observatory.simulator.server import start_simulator_process
from observatory.simulator.sky.imagebytes import decode_imagebytes, encode_imagebytes
from tests.helpers import wait_for

SMALL_CAMERA = """
[discovery]
enabled = false

[camera]
connect_delay_s = 0.0
width_px = 64
height_px = 48
warm_up = false
readout_time_s = 0.1
"""


@pytest.fixture(scope="module")
def camera_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulator camera, connected, holding one finished dark frame."""
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(SMALL_CAMERA)
    with start_simulator_process(config_path=config_path, time_scale=50.0) as simulator:
        url = f"{simulator.base_url}/api/v1/camera/0"
        put(url, "connected", Connected="true")
        put(url, "startexposure", Duration="0.1", Light="false")
        wait_for(
            lambda: requests.get(f"{url}/imageready", timeout=5).json()["Value"],
            timeout=10,
            interval=0.05,
            message="the exposure",
        )
        yield url


def put(url: str, member: str, **form: str) -> None:
    reply = requests.put(f"{url}/{member}", data=form, timeout=5)
    assert reply.status_code == 200 and reply.json()["ErrorNumber"] == 0, reply.text


@pytest.mark.parametrize("client_transaction_id", [1, 2**31 - 1, 2**31, UINT32_MAX])
def test_imagebytes_echoes_every_legal_client_transaction_id(
    camera_url: str, client_transaction_id: int
) -> None:
    response = requests.get(
        f"{camera_url}/imagearray",
        params={"ClientTransactionID": client_transaction_id, "ClientID": 1},
        headers={"Accept": "application/imagebytes"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/imagebytes"
    header, pixels = decode_imagebytes(response.content)
    assert header["client_transaction_id"] == client_transaction_id
    assert header["server_transaction_id"] >= 1
    assert pixels.shape == (64, 48)


def test_the_server_transaction_id_is_packed_unsigned_up_to_uint32_max() -> None:
    image = np.zeros((2, 3), np.uint16)
    body = encode_imagebytes(image, client_transaction_id=2**31, server_transaction_id=UINT32_MAX)
    assert body[8:16] == (2**31).to_bytes(4, "little") + UINT32_MAX.to_bytes(4, "little")
    header, _ = decode_imagebytes(body)
    assert header["server_transaction_id"] == UINT32_MAX


def test_the_server_transaction_id_wraps_to_one_after_uint32_max() -> None:
    counter = TransactionCounter(last=UINT32_MAX - 1)
    assert [counter.next(), counter.next(), counter.next()] == [UINT32_MAX, 1, 2]


def test_a_counter_cannot_start_outside_uint32() -> None:
    with pytest.raises(ValueError, match="transaction id"):
        TransactionCounter(last=UINT32_MAX + 1)
