from __future__ import annotations

from collections.abc import Iterator

import pytest

from observatory.settings import DeviceSettings
from tests.unit.devices.alpaca_stub import AlpacaStub


def fast_settings(address: str, **overrides: object) -> DeviceSettings:
    """Device settings for a loopback dome, with short timeouts and backoff."""
    values: dict[str, object] = {
        "dome_address": address,
        "dome_number": 0,
        "poll_interval_s": 0.02,
        "retries": 2,
        "retry_backoff_s": 0.05,
        "shutter_timeout_s": 1.0,
        "dome_move_timeout_s": 1.0,
        "connect_timeout_s": 1.0,
    }
    values.update(overrides)
    return DeviceSettings.model_validate(values)


@pytest.fixture
def stub() -> Iterator[AlpacaStub]:
    server = AlpacaStub().start()
    yield server
    server.stop()
