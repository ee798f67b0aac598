"""The simulator's configuration file (``config/simulator.toml``), validated.

Top-level keys: ``seed``, ``time_scale``, ``start_utc`` (optional, ISO 8601), ``server_name``,
``manufacturer``, ``location``, and the tables ``[site]``, ``[discovery]``, ``[sky]``. Any
other table is a device section named by its lower-case Alpaca type: ``[dome]`` configures
device 0, ``[[dome]]`` (an array of tables) configures devices 0, 1, ... in order. The
keys of a device section are its class's ``settings_model``.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from observatory.errors import ConfigurationError
from observatory.simulator.members import INTERFACE_VERSIONS
from observatory.simulator.sky.settings import SkySettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "simulator.toml"
DEFAULT_DISCOVERY_PORT = 32227


class SiteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Simulated Observatory"
    latitude_deg: float = Field(default=0.0, ge=-90, le=90)
    longitude_deg: float = Field(default=0.0, ge=-180, le=180)  # east positive
    elevation_m: float = 0.0


class DiscoverySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    port: int = Field(default=DEFAULT_DISCOVERY_PORT, ge=0, le=65535)


class SimulatorConfig(BaseModel):
    """The whole simulator: global settings plus raw device sections per type."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    time_scale: float = Field(default=1.0, gt=0)
    start_utc: datetime | None = None
    server_name: str = "Observatory Alpaca Simulator"
    manufacturer: str = "Observatory project"
    location: str = "Simulated Observatory"
    site: SiteSettings = Field(default_factory=SiteSettings)
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)
    # What the camera sees: catalogue, seeing, filters (observatory.simulator.sky.settings).
    sky: SkySettings = Field(default_factory=SkySettings)
    # device type -> one raw section per device number
    devices: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


def one_line(error: ValidationError) -> str:
    """A pydantic error as one line: each wrong key with its dotted path and the reason."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(section)'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def parse_config(data: dict[str, Any], source: str = "<config>") -> SimulatorConfig:
    """Validate a parsed TOML document; ConfigurationError names the offending key."""
    data = dict(data)
    devices: dict[str, list[dict[str, Any]]] = {}
    for device_type in INTERFACE_VERSIONS:
        section = data.pop(device_type, None)
        if section is None:
            continue
        devices[device_type] = [section] if isinstance(section, dict) else list(section)
    try:
        config = SimulatorConfig.model_validate({**data, "devices": devices})
    except ValidationError as error:
        raise ConfigurationError(f"{source}: {one_line(error)}") from error
    if config.start_utc is not None and config.start_utc.tzinfo is None:
        raise ConfigurationError(f"{source}: start_utc needs a time zone (e.g. ...Z)")
    return config


def load_config(path: Path | None = None, time_scale: float | None = None) -> SimulatorConfig:
    """Read ``path`` (default ``config/simulator.toml``); ``time_scale`` overrides the file's."""
    path = path or DEFAULT_CONFIG_PATH
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError as error:
        raise ConfigurationError(f"simulator config {path} does not exist") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path}: {error}") from error
    config = parse_config(data, str(path))
    if time_scale is not None:
        if not time_scale > 0:
            raise ConfigurationError(f"time_scale must be > 0, got {time_scale}")
        config = config.model_copy(update={"time_scale": time_scale})
    return config
