"""The one typed settings object.

Values come from, in increasing precedence: the defaults below, the TOML file
(``config/observatory.toml`` beside the project, or the file named by
``OBSERVATORY_CONFIG``), then ``OBSERVATORY_*`` environment variables. Nested values use a
double underscore: ``OBSERVATORY_DEVICES__DOME_ADDRESS=10.0.0.5:11111``. Nothing else in
the project reads the environment; call :func:`get_settings` once and pass values down.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "observatory.toml"


class DeviceSettings(BaseModel):
    """Where each Alpaca device answers (``host:port``) and its device number."""

    dome_address: str = "127.0.0.1:11111"
    dome_number: int = 0
    telescope_address: str = "127.0.0.1:11111"
    telescope_number: int = 0
    camera_address: str = "127.0.0.1:11111"
    camera_number: int = 0
    filterwheel_address: str = "127.0.0.1:11111"
    filterwheel_number: int = 0
    covercalibrator_address: str = "127.0.0.1:11111"
    covercalibrator_number: int = 0
    safetymonitor_address: str = "127.0.0.1:11111"
    safetymonitor_number: int = 0
    # Seconds a device may take to reach a commanded state before DeviceTimeout.
    dome_move_timeout_s: float = 180.0
    shutter_timeout_s: float = 120.0
    connect_timeout_s: float = 30.0
    poll_interval_s: float = 0.2
    # A dome position within this many degrees of the target counts as arrived.
    dome_azimuth_tolerance_deg: float = 1.0
    dome_altitude_tolerance_deg: float = 1.0
    # Transient failures (refused connection, HTTP 5xx, timeouts) are retried this often.
    retries: int = 3
    retry_backoff_s: float = 0.5


class SmtpSettings(BaseModel):
    host: str = "localhost"
    port: int = 25
    sender: str = "observatory@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0
    # Failed sends are retried with this many attempts before the failure itself is logged
    # (the step's error stays recorded in SQL whatever happens to the email).
    attempts: int = 3


class TimeLimits(BaseModel):
    """Celery time limits, in seconds, per queue."""

    dome_s: float = 600.0
    telescope_s: float = 4 * 3600.0
    processor_s: float = 2 * 3600.0

    @property
    def longest_s(self) -> float:
        return max(self.dome_s, self.telescope_s, self.processor_s)


class SimulatorSettings(BaseModel):
    """The bundled Alpaca simulator, when ``observatory up`` should start it."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 11111
    config: Path = PROJECT_ROOT / "config" / "simulator.toml"
    # Simulated seconds per real second; None keeps the simulator config's own value.
    time_scale: float | None = None


class Settings(BaseSettings):
    """Every setting of the observatory, read once."""

    model_config = SettingsConfigDict(
        env_prefix="OBSERVATORY_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=None,
    )

    # None means "embedded": the project starts its own Redis server under data_dir.
    broker_url: str | None = None
    # Loopback port of the embedded Redis server (used only when broker_url is unset).
    embedded_redis_port: int = 6399
    # None means SQLite (WAL) at data_dir/observatory.db.
    database_url: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    site_name: str = "Simulated Observatory"
    # A list in TOML; a comma-separated string in OBSERVATORY_ADMIN_EMAILS.
    admin_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    sentry_dsn: str | None = None
    devices: DeviceSettings = Field(default_factory=DeviceSettings)
    time_limits: TimeLimits = Field(default_factory=TimeLimits)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    # Redis visibility timeout: an unacknowledged message is redelivered after this long,
    # so it must exceed the longest task (late acknowledgement).
    visibility_timeout_s: float | None = None
    # Orders still `received` (never published) this long after commit are republished.
    reconcile_after_s: float = 30.0
    log_level: str = "INFO"

    @field_validator("admin_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'observatory.db'}"

    @property
    def effective_visibility_timeout_s(self) -> float:
        if self.visibility_timeout_s is not None:
            return self.visibility_timeout_s
        return self.time_limits.longest_s + 600.0

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker_url is None

    @property
    def effective_broker_url(self) -> str:
        """The configured broker, or the embedded Redis server's address."""
        return self.broker_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_path = Path(os.environ.get("OBSERVATORY_CONFIG", DEFAULT_CONFIG))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings afresh (environment and TOML), applying ``overrides`` on top."""
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
