"""The one typed settings object.

Values come from, in increasing precedence: the defaults below, the TOML file
(``config/observatory.toml`` beside the project, or the file named by
``OBSERVATORY_CONFIG``), then ``OBSERVATORY_*`` environment variables. Nested values use a
double underscore: ``OBSERVATORY_DEVICES__DOME_ADDRESS=10.0.0.5:11111``. Nothing else in
the project reads the environment; call :func:`get_settings` once and pass values down.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from observatory.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "observatory.toml"
ENV_PREFIX = "OBSERVATORY_"
# The variable naming the TOML file (read by _config_path only).
CONFIG_VARIABLE = "OBSERVATORY_CONFIG"
# Variables with the prefix that are not settings themselves.
ENV_NOT_SETTINGS = frozenset({CONFIG_VARIABLE})


# A TCP port: a value out of range is refused when the settings load, naming the setting.
Port = Annotated[int, Field(ge=1, le=65535)]


class SettingsInvalid(ConfigurationError):
    """The settings (TOML file or ``OBSERVATORY_*`` variables) hold an unknown key or a
    value of the wrong type; the message names the key and its section."""


class Section(BaseModel):
    """A settings section: an unknown key is an error (a misspelt device address must not
    silently leave the default in place)."""

    model_config = ConfigDict(extra="forbid")


# The device roles a site may lack: an empty address ("" in TOML or in the variable)
# declares the device absent, and nothing is ever sent to it.
OPTIONAL_DEVICES = ("filterwheel", "covercalibrator", "focuser")
REQUIRED_DEVICES = ("dome", "telescope", "camera", "safetymonitor")


class DeviceSettings(Section):
    """Where each Alpaca device answers (``host:port``) and its device number.

    The filter wheel, the flat panel (CoverCalibrator) and the focuser are optional: an
    empty address (``filterwheel_address = ""``, ``OBSERVATORY_DEVICES__FILTERWHEEL_ADDRESS=``)
    is None, and no adapter for the device is made. The other roles need an address."""

    dome_address: str = "127.0.0.1:11111"
    dome_number: int = 0
    telescope_address: str = "127.0.0.1:11111"
    telescope_number: int = 0
    camera_address: str = "127.0.0.1:11111"
    camera_number: int = 0
    # Optional: None (an empty address) for an OSC camera without a wheel; then an order
    # naming a filter is refused, and frames carry no FILTER card.
    filterwheel_address: str | None = "127.0.0.1:11111"
    filterwheel_number: int = 0
    # Optional: None (an empty address) where no flat panel or dust cover is fitted; then
    # flats are refused, and observations open no cover.
    covercalibrator_address: str | None = "127.0.0.1:11111"
    covercalibrator_number: int = 0
    safetymonitor_address: str = "127.0.0.1:11111"
    safetymonitor_number: int = 0
    # Optional: without an address no focuser command is ever sent (autofocus refused).
    focuser_address: str | None = None
    focuser_number: int = 0
    focuser_move_timeout_s: float = 120.0
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

    @field_validator(*(f"{role}_address" for role in OPTIONAL_DEVICES), mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        # A variable cannot be set to None: the empty string is how "none here" is said.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(*(f"{role}_address" for role in REQUIRED_DEVICES))
    @classmethod
    def _required_is_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(
                "is empty, and this device is required (only the filterwheel,"
                " covercalibrator and focuser addresses may be empty: device absent)"
            )
        return value


class SmtpSettings(Section):
    host: str = "localhost"
    port: Port = 25
    sender: str = "observatory@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0
    # Failed sends are retried with this many attempts before the failure itself is logged
    # (the step's error stays recorded in SQL whatever happens to the email).
    attempts: int = 3


class TimeLimits(Section):
    """Celery time limits, in seconds, per queue."""

    dome_s: float = 600.0
    telescope_s: float = 4 * 3600.0
    processor_s: float = 2 * 3600.0

    @property
    def longest_s(self) -> float:
        return max(self.dome_s, self.telescope_s, self.processor_s)


class SimulatorSettings(Section):
    """The bundled Alpaca simulator, when ``observatory up`` should start it."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 11111
    config: Path = PROJECT_ROOT / "config" / "simulator.toml"
    # Simulated seconds per real second; None keeps the simulator config's own value.
    time_scale: float | None = None


class SiteSettings(Section):
    """Where the observatory stands (longitude east positive); the bundled simulator's
    site in config/simulator.toml is the same place."""

    latitude_deg: float = Field(default=37.2236, ge=-90.0, le=90.0)
    longitude_deg: float = Field(default=-2.5463, ge=-180.0, le=180.0)
    elevation_m: float = 2168.0


class ClockSettings(Section):
    """The civil time the observatory works in; see :mod:`observatory.clock`.

    Unset (the default and production), it is the system's UTC clock. For a simulated
    night, ``start_utc`` is the civil time at the wall instant ``epoch_unix_s`` and time
    runs ``time_scale`` times faster; the bundled simulator is given the same clock.
    """

    start_utc: dt.datetime | None = None
    epoch_unix_s: float | None = None
    time_scale: float = Field(default=1.0, gt=0.0)

    @field_validator("start_utc")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        # A naive time loaded fine and then failed every reading of the clock.
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-12-06T18:00:00Z")
        return value


class PlannedExposures(Section):
    """A run of identical exposures in the site's default exposure plan."""

    # None: no filter (a site without a filter wheel, devices.filterwheel_address empty).
    filter: str | None = Field(default=None, min_length=1, max_length=128)
    exposure_s: float = Field(gt=0.0, le=86400.0)
    count: int = Field(default=1, ge=1, le=1000)
    binning: int = Field(default=1, ge=1, le=8)


class TelescopeSettings(Section):
    """The imaging train and what the telescope queue may point at."""

    instrument: str = "Simulated CCD"
    telescope: str = "Simulated 0.4 m"
    # Batch folders of raw frames are written under this folder (default data_dir/batches).
    batches_dir: Path | None = None
    # Targets below this altitude, or a Sun above sun_altitude_limit_deg, are not observable.
    altitude_limit_deg: float = 25.0
    sun_altitude_limit_deg: float = -12.0
    # The dome slit is moved again when it is further than this from the mount's azimuth.
    dome_slit_tolerance_deg: float = 3.0
    # Flats: exposure times are adjusted into [flat_min_exposure_s, flat_max_exposure_s].
    flat_min_exposure_s: float = 0.1
    flat_max_exposure_s: float = 30.0
    # Seconds past an exposure's end before the camera counts as stuck.
    readout_timeout_s: float = 60.0
    slew_timeout_s: float = 300.0
    filter_timeout_s: float = 60.0
    # The flat panel's cover motion and lamp warm-up.
    cover_timeout_s: float = 60.0
    # How often a busy telescope worker writes its heartbeat (read by the supervisor).
    heartbeat_interval_s: float = 5.0
    # The exposures of an observation that gives none; empty: such an order is refused.
    default_exposures: list[PlannedExposures] = Field(default_factory=list)
    # The filter wheel's filter names and the camera's largest binning, checked at intake
    # (None: not checked there; the devices still refuse what they cannot do).
    filters: list[str] | None = None
    max_binning: int | None = Field(default=None, ge=1)


class FocusSettings(Section):
    """Autofocus defaults (an ``autofocus`` order may override each)."""

    exposure_s: float = Field(default=5.0, gt=0.0)
    # Focuser steps between frames, and frames in a sweep (centred on the start).
    step: int = Field(default=40, ge=1)
    points: int = Field(default=9, ge=5, le=31)
    binning: int = Field(default=1, ge=1, le=8)
    # Stars with a peak above this (ADU) are left out of the half-flux diameters.
    saturation_adu: float = Field(default=60000.0, gt=0.0)
    # On a change of filter, move the focuser by the difference of the wheel's FocusOffsets.
    apply_filter_offsets: bool = True


class SchedulingSettings(Section):
    """How a work order's priority is assigned on receipt (see observatory.orders.priority)."""

    # Added to the priority of every order from these users (negative lowers it).
    user_boosts: dict[str, float] = Field(default_factory=lambda: {"operator": 1.0})
    # Subtracted from an observation whose target is not observable when it could start.
    unobservable_penalty: float = Field(default=2.0, ge=0.0, le=10.0)


class ProcessorSettings(Section):
    """The calibration chain: where it works, how it combines, what it may fetch."""

    # Local copies of batches fetched from elsewhere (default data_dir/repository).
    repository_dir: Path | None = None
    # Master and calibrated frames (default data_dir/products).
    products_dir: Path | None = None
    combine_method: str = "median"
    sigma_clip_low: float = 3.0
    sigma_clip_high: float = 3.0
    min_bias_frames: int = 3
    min_dark_frames: int = 3
    min_flat_frames: int = 3
    # What a failed step means for the rest: "continue" (skip to the next) or "stop".
    on_step_failure: str = "continue"
    solve_field: str = "solve-field"
    solve_timeout_s: float = 120.0
    # Plate-solve hints: search radius around the header's RA/Dec, and the unbinned plate
    # scale used when a frame's header has no XPIXSZ/FOCALLEN (None: no scale hint).
    solve_radius_deg: float = 2.0
    pixel_scale_arcsec: float | None = None
    # astrometry.net index files for the in-process solver (solve-field, the fallback,
    # finds its own through its configuration, /etc/astrometry.cfg).
    index_glob: str = "/usr/share/astrometry/index-*.fits"
    # Transfers: schemes and hosts a batch url may name; private, loopback and link-local
    # addresses are refused unless allow_private_addresses is set.
    allowed_schemes: list[str] = Field(default_factory=lambda: ["file", "http", "https"])
    allowed_hosts: list[str] = Field(default_factory=list)
    allow_private_addresses: bool = False
    max_batch_bytes: int = 20 * 1024**3
    max_file_bytes: int = 2 * 1024**3
    transfer_timeout_s: float = 60.0
    # A light without one of its masters: "fail" (left uncalibrated) or "skip" (calibrated
    # with what exists, the missing corrections named in its header and row). A profile
    # may say otherwise for its instrument.
    missing_calibrations: Literal["fail", "skip"] = "fail"
    # Instrument profiles (*.toml), chosen by the frames' INSTRUME and TELESCOP.
    instruments_dir: Path = PROJECT_ROOT / "config" / "instruments"
    # Folders a local batch (a path or file:// url) may come from; None: the data folder,
    # the telescope's batch folder and the repository. A path elsewhere is refused at intake.
    local_roots: list[Path] | None = None
    # An archive (zip, tar, tar.gz) is refused above this many members, or when it
    # expands to more than this many times its own size (a zip bomb).
    max_archive_members: int = Field(default=20000, ge=1)
    max_archive_ratio: float = Field(default=200.0, gt=1.0)


class QualitySettings(Section):
    """Thresholds that flag a calibrated frame (the frame is kept; the flag says why).
    None (or a filter absent from ``min_zero_point_mag``) means no such check."""

    # Out of focus (or bad seeing): median FWHM of the stars above this [arcsec].
    max_fwhm_arcsec: float | None = None
    # Trailed: median ellipticity 1 - b/a above this.
    max_ellipticity: float | None = 0.3
    # Low transparency: zero point [mag for 1 ADU/s] below this, per filter name.
    min_zero_point_mag: dict[str, float] = Field(default_factory=dict)
    # Bright sky: sky surface brightness brighter than this [mag/arcsec^2].
    min_sky_mag_per_arcsec2: float | None = None
    # Calibration frames a master is not made from (observatory.calibration.screening):
    # a bias or dark whose level is further than this many times its group's median
    # noise from the group's median level,
    calibration_level_sigma: float | None = Field(default=10.0, gt=0.0)
    # or whose noise is more than this many times the group's median noise;
    calibration_noise_ratio: float | None = Field(default=1.5, gt=1.0)
    # a flat with more than this share of its raw pixels at the saturation level,
    flat_max_saturated_fraction: float | None = Field(default=0.001, ge=0.0, le=1.0)
    # or whose level (bias and dark taken off) is below this [ADU].
    flat_min_level_adu: float | None = Field(default=100.0, ge=0.0)


class FileServerSettings(Section):
    """The read-only HTTP server through which other hosts fetch this host's batches and
    products. ``public_url`` is how those hosts reach it (None: not served)."""

    host: str = "127.0.0.1"
    port: Port = 8021
    public_url: str | None = None


class SupervisorSettings(Section):
    """The safety supervisor that keeps the dome closed unless it is known to be safe."""

    enabled: bool = True
    poll_interval_s: float = 2.0
    # A safety reading older than this counts as unknown (unsafe).
    stale_after_s: float = 30.0
    # After conditions turn safe, opening stays refused this long.
    hold_off_s: float = 300.0
    # A live worker's beat older than this, with the dome open, closes it: the dome is
    # closed within this plus poll_interval_s plus the shutter's time after a worker dies.
    heartbeat_timeout_s: float = 15.0
    # The queues whose worker processes must be alive while the dome is open; each
    # beats every liveness_interval_s, idle or busy (observatory.supervisor.liveness).
    live_workers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["dome", "telescope"]
    )
    liveness_interval_s: float = Field(default=3.0, gt=0)
    # Close an open dome that no dome or telescope order has used for this long (None: never).
    idle_close_after_s: float | None = Field(default=None, gt=0)

    close_attempts: int = 3
    # The Sun above this altitude counts as dawn: the dome is closed.
    dawn_sun_altitude_deg: float = -6.0

    @field_validator("live_workers", mode="before")
    @classmethod
    def _split_workers(cls, value: Any) -> Any:
        return _split_commas(value)


class LogSettings(Section):
    """The log files of the stack's children, ``data_dir/logs/NAME.log`` (and the embedded
    Redis's): each is rotated by the stack when it reaches ``max_mib``, keeping ``keep``
    older generations (``NAME.log.1`` the newest); see :mod:`observatory.logfiles`."""

    # An outside logrotate, if used as well, must copy and truncate (copytruncate): the
    # children keep their descriptors.
    max_mib: float = Field(default=64.0, gt=0.0)
    keep: int = Field(default=4, ge=1, le=100)


class RetentionSettings(Section):
    """How long rows that grow without an order behind them are kept
    (:mod:`observatory.orders.retention`, pruned by the reconciler)."""

    # The safety supervisor's device_events: a few a night, one every poll while it cannot
    # close or reach the dome.
    supervisor_events_days: float = Field(default=90.0, gt=0.0)


class ApiSettings(Section):
    """``observatory api``: the HTTP intake for other systems."""

    host: str = "127.0.0.1"
    port: Port = 8022
    # Bearer tokens accepted on POST; empty refuses every submission.
    tokens: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        return _split_commas(value)


class FlowerSettings(Section):
    """Flower, the Celery monitor; ``basic_auth`` holds ``user:password`` pairs."""

    host: str = "127.0.0.1"
    port: Port = 5555
    basic_auth: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("basic_auth", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        return _split_commas(value)


def _split_commas(value: Any) -> Any:
    """A comma-separated environment string as a list; lists pass through."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


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
    embedded_redis_port: Port = 6399
    # None means SQLite (WAL) at data_dir/observatory.db.
    database_url: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    # No camera frame is taken, batch fetched or product written when it would leave its
    # folder with less free than this (MiB); the reconciler emails the admins below it.
    min_free_mib: float = Field(default=1024.0, ge=0.0)
    site_name: str = "Simulated Observatory"
    site: SiteSettings = Field(default_factory=SiteSettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)
    # A list in TOML; a comma-separated string in OBSERVATORY_ADMIN_EMAILS.
    admin_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    sentry_dsn: str | None = None
    devices: DeviceSettings = Field(default_factory=DeviceSettings)
    time_limits: TimeLimits = Field(default_factory=TimeLimits)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    telescope: TelescopeSettings = Field(default_factory=TelescopeSettings)
    focus: FocusSettings = Field(default_factory=FocusSettings)
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)
    processor: ProcessorSettings = Field(default_factory=ProcessorSettings)
    fileserver: FileServerSettings = Field(default_factory=FileServerSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    flower: FlowerSettings = Field(default_factory=FlowerSettings)
    # The routine imaging plan that beat turns into work orders.
    routine_plan: Path = PROJECT_ROOT / "config" / "routine.toml"
    # Redis visibility timeout: an unacknowledged message is redelivered after this long,
    # so it must exceed the longest task (late acknowledgement).
    visibility_timeout_s: float | None = None
    # Orders still `received` (never published) this long after commit are republished.
    reconcile_after_s: float = 30.0
    log_level: str = "INFO"
    logs: LogSettings = Field(default_factory=LogSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @field_validator("admin_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: Any) -> Any:
        return _split_commas(value)

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
    def unacked_restore_interval_s(self) -> int:
        """Seconds between the broker's sweeps for messages of dead workers: often enough
        for short visibility timeouts."""
        return max(1, min(10, int(self.effective_visibility_timeout_s / 3)))

    @property
    def batches_dir(self) -> Path:
        return self.telescope.batches_dir or self.data_dir / "batches"

    @property
    def repository_dir(self) -> Path:
        return self.processor.repository_dir or self.data_dir / "repository"

    @property
    def local_roots(self) -> list[Path]:
        """Folders a local batch may come from (see ProcessorSettings.local_roots)."""
        if self.processor.local_roots is not None:
            return list(self.processor.local_roots)
        return [self.data_dir, self.batches_dir, self.repository_dir]

    @property
    def products_dir(self) -> Path:
        return self.processor.products_dir or self.data_dir / "products"

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
        config_path = _config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if CONFIG_VARIABLE in os.environ or config_path.exists():
            sources.append(_toml_source(settings_cls, config_path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings afresh (environment and TOML), applying ``overrides`` on top.
    Raises SettingsInvalid naming the first unknown key or bad value and its section."""
    unknown = sorted(
        name
        for name in map(str.upper, os.environ)
        if name.startswith(ENV_PREFIX)
        and name not in ENV_NOT_SETTINGS
        and name.removeprefix(ENV_PREFIX).split("__")[0].lower() not in Settings.model_fields
    )
    if unknown:
        raise SettingsInvalid(f"settings: unknown key {unknown[0]} (no such setting)")
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsInvalid(describe_settings_error(error)) from error
    _require_database_url(settings.sqlalchemy_url)
    return settings


def _require_database_url(url: str) -> None:
    """Raise SettingsInvalid when ``url`` is not an SQLAlchemy URL whose dialect and
    driver are installed here, naming it without its password. Connects to nothing."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as error:
        shown = url if "@" not in url else "(a URL with credentials)"
        raise SettingsInvalid(f"settings: database_url {shown} is not a URL: {error}") from error
    shown = parsed.render_as_string(hide_password=True)
    try:
        parsed.get_dialect().import_dbapi()
    except ArgumentError as error:  # NoSuchModuleError: an unknown dialect
        raise SettingsInvalid(
            f"settings: database_url {shown}: no SQLAlchemy dialect {parsed.drivername!r}"
            f" installed ({error})"
        ) from error
    except ImportError as error:
        raise SettingsInvalid(
            f"settings: database_url {shown} needs the driver {error.name}, not installed here"
        ) from error


def describe_settings_error(error: ValidationError) -> str:
    """One line naming the first wrong key, its section and where such a key comes from."""
    item = error.errors(include_url=False)[0]
    path = [str(part) for part in item["loc"]]
    key = path[-1] if path else "?"
    section = ".".join(path[:-1])
    where = f"section [{section}]" if section else "the top level"
    variable = ENV_PREFIX + "__".join(path).upper()
    source = f"from {variable} or {_config_path()}"
    if item["type"] == "extra_forbidden":
        return f"settings: unknown key {key!r} in {where} ({source})"
    return f"settings: {key!r} in {where}: {item['msg']} ({source})"


def _config_path() -> Path:
    """The TOML file: the one ``OBSERVATORY_CONFIG`` names, or the embedded default."""
    return Path(os.environ.get(CONFIG_VARIABLE, DEFAULT_CONFIG)).expanduser()


def _toml_source(settings_cls: type[BaseSettings], path: Path) -> TomlConfigSettingsSource:
    """The values of the TOML file at ``path``. A file that cannot be read (a name with
    no file behind it, a folder, no permission) or is not TOML raises SettingsInvalid,
    naming the file (and the line): the stack must not start on other settings than the
    ones asked for. ``/dev/null`` reads as no values (the code's defaults)."""
    named = f"{path} (named by {CONFIG_VARIABLE})" if CONFIG_VARIABLE in os.environ else str(path)
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise SettingsInvalid(
            f"settings: the config file {named} cannot be read: {error.strerror}"
        ) from error
    try:
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    except tomllib.TOMLDecodeError as error:
        raise SettingsInvalid(f"settings: the config file {named} is not TOML: {error}") from error


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use (see :func:`load_settings`)."""
    return load_settings()
