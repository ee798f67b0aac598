"""Fixtures of the transfer tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from observatory.settings import Settings, load_settings
from tests.unit.transfer.faultserver import FaultServer, fault_server

MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """Settings under tmp_path; keyword arguments update the processor section."""

    def make(**processor: Any) -> Settings:
        return load_settings(
            data_dir=tmp_path / "var",
            telescope={"batches_dir": tmp_path / "batches"},
            processor={"repository_dir": tmp_path / "repository", **processor},
        )

    return make


@pytest.fixture
def loopback_settings(make_settings: MakeSettings) -> Settings:
    """Settings that allow fetching from 127.0.0.1 (refused by default)."""
    return make_settings(allowed_hosts=["127.0.0.1"], transfer_timeout_s=10.0)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running
