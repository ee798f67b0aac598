"""A cooled monochrome CCD camera (ICameraV4) that images the simulated sky.

``StartExposure`` returns at once with CameraState Exposing; ImageReady turns true only
after the exposure time (simulated) plus the readout time, once the frame is rendered
(on a worker thread, from the scene sampled at the start: dome shutter, telescope cover
and flat panel, filter, the mount's true pointing, the sensor temperature). Frames hold
bias structure, dark current and hot pixels, the filter's flat response, night sky,
Tycho-2 stars, cosmic rays and noise; see :mod:`observatory.simulator.sky.frame`.

``ImageArray`` answers ImageBytes (UInt16) to ``Accept: application/imagebytes`` and JSON
otherwise; its errors are always JSON. The ``simulator:truth`` Action (parameters: an
optional JSON object ``{"filter": "R", "block_px": 64}``) returns the ground truth: read
noise, gain, bias level, dark current, the last exposure's true pointing and the flat
response of a filter averaged in blocks. Device-specific faults:
``{"kind": "readout_error"}`` makes the next exposure end in CameraState Error;
``{"kind": "error_state"}`` puts the idle camera in CameraState Error now (AbortExposure
clears it).
"""

from __future__ import annotations

import json
import math
from dataclasses import fields, replace
from typing import Any

import anyio
from pydantic import Field

from observatory.simulator.devices.base import Device, DeviceSettings, action, get, put
from observatory.simulator.devices.covercalibrator import CoverStatus
from observatory.simulator.devices.focuser import defocus_blur_um
from observatory.simulator.devices.telescope import Telescope, TelescopeSettings
from observatory.simulator.errors import DriverError, InvalidOperation, InvalidValue, ValueNotSet
from observatory.simulator.protocol import RawBody, RequestContext, ValueWithFields
from observatory.simulator.sky.catalogue import open_catalogue
from observatory.simulator.sky.cooler import Cooler, CoolerSpec
from observatory.simulator.sky.exposure import CameraState, ExposureRunner
from observatory.simulator.sky.flat import FlatModel
from observatory.simulator.sky.frame import FrameSynthesizer, Optics, Scene
from observatory.simulator.sky.imagebytes import ElementType, encode_imagebytes, encode_json_value
from observatory.simulator.sky.photometry import FilterTable
from observatory.simulator.sky.projection import angular_separation_deg
from observatory.simulator.sky.readout import Readout
from observatory.simulator.sky.rng import stream_key
from observatory.simulator.sky.sensor import SensorModel, SensorSpec
from observatory.simulator.sky.settings import SkySettings
from observatory.simulator.sky.stars import SIGMA_PER_FWHM, Psf

ARCSEC_PER_RADIAN = 206264.806
SENSOR_MONOCHROME = 0
# Star trails (mount moving during an exposure) are drawn from at most this many positions.
MAX_TRAIL_SAMPLES = 400
# Focal length assumed for the sky background when no mount is configured, metres.


class CameraSettings(DeviceSettings):
    """Sensor geometry and electronics, exposure limits, cooler."""

    width_px: int = Field(default=2048, ge=16, le=16384)
    height_px: int = Field(default=2048, ge=16, le=16384)
    pixel_size_um: float = Field(default=9.0, gt=0)
    gain_e_per_adu: float = Field(default=1.5, gt=0)
    read_noise_e: float = Field(default=9.0, ge=0)
    full_well_e: float = Field(default=90000.0, gt=0)
    max_adu: int = Field(default=65535, ge=1, le=65535)
    bias_level_adu: float = Field(default=1000.0, ge=0)
    bias_column_sigma_adu: float = Field(default=2.0, ge=0)
    bias_row_gradient_adu: float = 6.0
    bias_pixel_sigma_adu: float = Field(default=0.7, ge=0)
    dark_current_e_per_s: float = Field(default=0.05, ge=0)
    dark_reference_temperature_c: float = -10.0
    dark_doubling_k: float = Field(default=6.0, gt=0)
    dark_nonuniformity: float = Field(default=0.1, ge=0, le=1)
    hot_pixel_fraction: float = Field(default=2e-4, ge=0, le=0.01)
    hot_pixel_factor_min: float = Field(default=100.0, ge=1)
    hot_pixel_factor_max: float = Field(default=3000.0, ge=1)
    cosmic_rays_per_cm2_per_min: float = Field(default=1.5, ge=0)
    # Position angle of the sensor's +y axis on the sky, degrees east of north.
    rotation_deg: float = 0.5
    sensor_name: str = "Simulated 9 um CCD"
    max_bin: int = Field(default=4, ge=1, le=16)
    exposure_min_s: float = Field(default=0.0, ge=0)
    exposure_max_s: float = Field(default=3600.0, gt=0)
    readout_time_s: float = Field(default=2.0, ge=0)
    ambient_temperature_c: float = 10.0
    cooler_rate_k_per_s: float = Field(default=0.1, gt=0)
    cooler_max_delta_k: float = Field(default=40.0, gt=0)
    # Compile kernels and build fixed patterns at start-up rather than at first exposure.
    warm_up: bool = True


class Camera(Device):
    device_type = "camera"
    default_name = "Simulated Camera"
    default_description = "Cooled monochrome CCD imaging the simulated sky"
    settings_model = CameraSettings
    device_state_members = (
        ("CameraState", "camerastate"),
        ("CCDTemperature", "ccdtemperature"),
        ("CoolerPower", "coolerpower"),
        ("HeatSinkTemperature", "heatsinktemperature"),
        ("ImageReady", "imageready"),
        ("PercentCompleted", "percentcompleted"),
    )
    settings: CameraSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.settings
        config = self._observatory.config if self._observatory is not None else None
        self.sky_settings = config.sky if config is not None else SkySettings()
        seed = stream_key(config.seed if config is not None else 0, "camera", self.number)
        spec_fields = {f.name for f in fields(SensorSpec)}
        spec = SensorSpec(**{name: getattr(cfg, name) for name in spec_fields})
        focal_length_m = self._mount_settings().focal_length_m
        self.pixel_scale_arcsec = ARCSEC_PER_RADIAN * cfg.pixel_size_um * 1e-6 / focal_length_m
        sky = self.sky_settings
        psf = Psf(sky.psf_fwhm_arcsec / self.pixel_scale_arcsec, sky.psf_model, sky.moffat_beta)
        filters = FilterTable().with_overrides(
            {name: f.overrides() for name, f in sky.filters.items()}
        )
        self.synthesizer = FrameSynthesizer(
            SensorModel(spec, seed),
            Optics(self.pixel_scale_arcsec, psf, cfg.rotation_deg),
            filters,
            FlatModel(sky.sensor_prnu, sky.sensor_dust_count),
            open_catalogue(sky.catalogue_index_glob),
        )
        self.runner = ExposureRunner(self.synthesizer, cfg.readout_time_s)
        if cfg.warm_up:
            self.runner.warm_up()
        self.cooler = Cooler(
            CoolerSpec(cfg.ambient_temperature_c, cfg.cooler_rate_k_per_s, cfg.cooler_max_delta_k),
            self.clock.now_s(),
        )
        self._readout = Readout(0, 0, cfg.width_px, cfg.height_px)
        self._exposure_count = 0

    def _mount_settings(self) -> TelescopeSettings:
        """The mount's config section (the mount may be built after the camera); the
        default mount's when no mount is configured."""
        config = self._observatory.config if self._observatory is not None else None
        sections = config.devices.get("telescope", []) if config is not None else []
        return TelescopeSettings.model_validate(sections[0] if sections else {})

    def _f_ratio(self) -> float:
        mount = self._mount_settings()
        return mount.focal_length_m / mount.aperture_diameter_m

    # -- capabilities and sensor constants ------------------------------------------------

    @get("canabortexposure")
    @get("canasymmetricbin")
    @get("cangetcoolerpower")
    @get("cansetccdtemperature")
    @get("canstopexposure")
    @get("hasshutter")
    def get_can(self) -> bool:
        return True

    @get("canfastreadout")
    @get("canpulseguide")
    def get_cannot(self) -> bool:
        return False

    @get("cameraxsize")
    def get_camera_x_size(self) -> int:
        return self.settings.width_px

    @get("cameraysize")
    def get_camera_y_size(self) -> int:
        return self.settings.height_px

    @get("pixelsizex")
    @get("pixelsizey")
    def get_pixel_size(self) -> float:
        return self.settings.pixel_size_um

    @get("maxadu")
    def get_max_adu(self) -> int:
        return self.settings.max_adu

    @get("electronsperadu")
    def get_electrons_per_adu(self) -> float:
        return self.settings.gain_e_per_adu

    @get("fullwellcapacity")
    def get_full_well(self) -> float:
        return self.settings.full_well_e

    @get("maxbinx")
    @get("maxbiny")
    def get_max_bin(self) -> int:
        return self.settings.max_bin

    @get("exposuremin")
    def get_exposure_min(self) -> float:
        return self.settings.exposure_min_s

    @get("exposuremax")
    def get_exposure_max(self) -> float:
        return self.settings.exposure_max_s

    @get("exposureresolution")
    def get_exposure_resolution(self) -> float:
        return 0.001

    @get("sensortype")
    def get_sensor_type(self) -> int:
        return SENSOR_MONOCHROME

    @get("sensorname")
    def get_sensor_name(self) -> str:
        return self.settings.sensor_name

    @get("readoutmodes")
    def get_readout_modes(self) -> list[str]:
        return ["Normal"]

    @get("readoutmode")
    def get_readout_mode(self) -> int:
        return 0

    @put("readoutmode")
    def set_readout_mode(self, readout_mode: int) -> None:
        if readout_mode != 0:
            raise InvalidValue(f"readout mode {readout_mode} does not exist (only 0)")

    # Gain is one fixed mode listed by name (Gains), so GainMin/GainMax do not exist.
    @get("gains")
    def get_gains(self) -> list[str]:
        return ["Default"]

    @get("gain")
    def get_gain(self) -> int:
        return 0

    @put("gain")
    def set_gain(self, gain: int) -> None:
        if gain != 0:
            raise InvalidValue(f"gain index {gain} does not exist (only 0)")

    # -- binning and subframe -------------------------------------------------------------

    @get("binx")
    def get_bin_x(self) -> int:
        return self._readout.bin_x

    @put("binx")
    def set_bin_x(self, bin_x: int) -> None:
        self._check_bin(bin_x)
        self._readout = replace(self._readout, bin_x=bin_x)

    @get("biny")
    def get_bin_y(self) -> int:
        return self._readout.bin_y

    @put("biny")
    def set_bin_y(self, bin_y: int) -> None:
        self._check_bin(bin_y)
        self._readout = replace(self._readout, bin_y=bin_y)

    @get("numx")
    def get_num_x(self) -> int:
        return self._readout.num_x

    @put("numx")
    def set_num_x(self, num_x: int) -> None:
        self._set_subframe("num_x", num_x, minimum=1)

    @get("numy")
    def get_num_y(self) -> int:
        return self._readout.num_y

    @put("numy")
    def set_num_y(self, num_y: int) -> None:
        self._set_subframe("num_y", num_y, minimum=1)

    @get("startx")
    def get_start_x(self) -> int:
        return self._readout.start_x

    @put("startx")
    def set_start_x(self, start_x: int) -> None:
        self._set_subframe("start_x", start_x, minimum=0)

    @get("starty")
    def get_start_y(self) -> int:
        return self._readout.start_y

    @put("starty")
    def set_start_y(self, start_y: int) -> None:
        self._set_subframe("start_y", start_y, minimum=0)

    def _check_bin(self, binning: int) -> None:
        if not 1 <= binning <= self.settings.max_bin:
            raise InvalidValue(f"binning {binning} is outside 1..{self.settings.max_bin}")

    def _set_subframe(self, name: str, value: int, minimum: int) -> None:
        """Values are checked against the sensor and binning when an exposure starts."""
        if value < minimum:
            raise InvalidValue(f"{name} must be >= {minimum}, got {value}")
        self._readout = replace(self._readout, **{name: value})

    # -- cooler ---------------------------------------------------------------------------

    @get("ccdtemperature")
    def get_ccd_temperature(self) -> float:
        return self.cooler.temperature_c(self.clock.now_s())

    @get("heatsinktemperature")
    def get_heat_sink_temperature(self) -> float:
        return self.settings.ambient_temperature_c

    @get("cooleron")
    def get_cooler_on(self) -> bool:
        return self.cooler.on

    @put("cooleron")
    def set_cooler_on(self, cooler_on: bool) -> None:
        self.cooler.switch(cooler_on, self.clock.now_s())

    @get("coolerpower")
    def get_cooler_power(self) -> float:
        return self.cooler.power_percent(self.clock.now_s())

    @get("setccdtemperature")
    def get_set_ccd_temperature(self) -> float:
        return self.cooler.set_point_c

    @put("setccdtemperature")
    def set_set_ccd_temperature(self, set_ccd_temperature: float) -> None:
        if not -100.0 <= set_ccd_temperature <= 40.0:
            raise InvalidValue(f"set point {set_ccd_temperature} C is outside [-100, 40]")
        self.cooler.set_point(set_ccd_temperature, self.clock.now_s())

    # -- exposures ------------------------------------------------------------------------

    @put("startexposure")
    def start_exposure(self, duration: float, light: bool) -> None:
        cfg = self.settings
        if not cfg.exposure_min_s <= duration <= cfg.exposure_max_s:
            raise InvalidValue(
                f"duration {duration} s is outside [{cfg.exposure_min_s}, {cfg.exposure_max_s}]"
            )
        now_s = self.clock.now_s()
        if self.runner.state(now_s) in (CameraState.EXPOSING, CameraState.READING):
            raise InvalidOperation("an exposure is already in progress")
        if self._readout.bin_x > cfg.max_bin or self._readout.bin_y > cfg.max_bin:
            raise InvalidValue("binning exceeds MaxBinX/MaxBinY")
        try:
            self._readout.check_fits((cfg.width_px, cfg.height_px))
        except ValueError as error:
            raise InvalidValue(f"bad subframe: {error}") from error
        self._exposure_count += 1
        scene = self._scene(duration, light, now_s)
        self.runner.start(scene, self._readout, now_s, self.clock.utc_now())

    @put("abortexposure")
    def abort_exposure(self) -> None:
        self.runner.abort()

    @put("stopexposure")
    def stop_exposure(self) -> None:
        self.runner.stop(self.clock.now_s())

    @get("camerastate")
    def get_camera_state(self) -> int:
        return int(self.runner.state(self.clock.now_s()))

    @get("imageready")
    def get_image_ready(self) -> bool:
        self.runner.state(self.clock.now_s())
        return self.runner.image is not None

    @get("percentcompleted")
    def get_percent_completed(self) -> int:
        now_s = self.clock.now_s()
        state = self.runner.state(now_s)
        exposure = self.runner.current
        if state is CameraState.EXPOSING and exposure is not None and exposure.duration_s > 0:
            return int(100.0 * (now_s - exposure.start_s) / exposure.duration_s)
        if state is CameraState.READING or self.runner.image is not None:
            return 100
        return 0

    @get("lastexposureduration")
    def get_last_exposure_duration(self) -> float:
        if self.runner.last is None:
            raise ValueNotSet("no exposure has been taken yet")
        return self.runner.last.duration_s

    @get("lastexposurestarttime")
    def get_last_exposure_start_time(self) -> str:
        if self.runner.last is None:
            raise ValueNotSet("no exposure has been taken yet")
        start = self.runner.last.start_utc.replace(tzinfo=None)
        return start.isoformat(timespec="milliseconds")

    # ImageArrayVariant is deprecated; the spec requires it to answer NotImplemented.
    @get("imagearray", context=True)
    async def get_image_array(self, context: RequestContext) -> RawBody | ValueWithFields:
        self.runner.state(self.clock.now_s())
        if self.runner.error is not None:
            raise DriverError(self.runner.error)
        image = self.runner.image
        if image is None:
            raise InvalidOperation("no image is ready: start an exposure and wait for ImageReady")
        if context.accepts_imagebytes:
            body = await anyio.to_thread.run_sync(
                encode_imagebytes,
                image,
                context.client_transaction_id,
                context.server_transaction_id,
            )
            return RawBody(body)
        value_json = await anyio.to_thread.run_sync(encode_json_value, image)
        fields = {"Type": int(ElementType.INT32), "Rank": 2}
        return ValueWithFields(fields=fields, value_json=value_json)

    def _scene(self, duration_s: float, light: bool, now_s: float) -> Scene:
        """What reaches the sensor, sampled now from the other devices."""
        observatory = self._observatory
        dome = observatory.dome if observatory else None
        cover = observatory.covercalibrator if observatory else None
        wheel = observatory.filterwheel if observatory else None
        mount = observatory.telescope if observatory else None
        mount = mount if isinstance(mount, Telescope) else None
        filter_name = wheel.current_filter_name if wheel is not None else None
        wheel_turning = wheel is not None and filter_name is None
        dome_open = dome.shutter_open if dome is not None else True
        cover_open = cover.cover_status is CoverStatus.OPEN if cover is not None else True
        panel = cover.flat_illumination if cover is not None else 0.0
        return Scene(
            exposure_s=duration_s,
            light=light,
            exposure_number=self._exposure_count,
            sensor_temperature_c=self.cooler.temperature_c(now_s),
            filter_name=filter_name,
            sky_visible=mount is not None and dome_open and cover_open and not wheel_turning,
            sky_leak=0.0 if wheel_turning else self.sky_settings.closed_dome_light_fraction,
            flat_panel_e_per_s=0.0
            if wheel_turning
            else panel * self.sky_settings.flat_panel_e_per_s,
            pointing_deg=mount.true_pointing() if mount is not None else None,
            pointing_path_deg=self._pointing_path(mount, duration_s, now_s) if mount else (),
            defocus_fwhm_px=self._defocus_fwhm_px(),
        )

    def _defocus_fwhm_px(self) -> float:
        """FWHM (unbinned pixels) of the focuser's defocus blur; 0 without a focuser.

        The defocused image of a star is a disc; its Gaussian equivalent has the disc's
        second moment (sigma = diameter / 4)."""
        focuser = self._observatory.focuser if self._observatory is not None else None
        if focuser is None:
            return 0.0
        blur_um = defocus_blur_um(
            focuser.defocus_steps(), focuser.settings.step_size_um, self._f_ratio()
        )
        return blur_um / self.settings.pixel_size_um / 4.0 / SIGMA_PER_FWHM

    def _pointing_path(
        self, mount: Telescope, duration_s: float, now_s: float
    ) -> tuple[tuple[float, float], ...]:
        """The mount's true pointing sampled every half pixel of motion during the
        exposure (at most ``MAX_TRAIL_SAMPLES``); empty when it holds still."""
        if duration_s <= 0:
            return ()
        ends = [mount.true_pointing_at(now_s + f * duration_s) for f in (0.0, 0.5, 1.0)]
        moved_deg = angular_separation_deg(*ends[0], *ends[1])
        moved_deg += angular_separation_deg(*ends[1], *ends[2])
        moved_px = moved_deg * 3600.0 / self.pixel_scale_arcsec
        if moved_px < 0.1:
            return ()
        count = min(MAX_TRAIL_SAMPLES, math.ceil(moved_px / 0.5) + 1)
        step_s = duration_s / count
        return tuple(mount.true_pointing_at(now_s + (i + 0.5) * step_s) for i in range(count))

    # -- faults and ground truth ----------------------------------------------------------

    def apply_fault(self, spec: dict[str, Any]) -> None:
        kind = spec.get("kind")
        if kind == "readout_error":
            if set(spec) != {"kind"}:
                raise InvalidValue(f"readout_error takes no parameters: {spec!r}")
            self.runner.fail_next = True
            return
        if kind == "error_state":
            # CameraState Error now, as a failure a client did not see would leave it.
            if set(spec) != {"kind"}:
                raise InvalidValue(f"error_state takes no parameters: {spec!r}")
            if self.runner.current is not None:
                raise InvalidOperation("error_state: an exposure is in progress")
            self.runner.error = "injected error state"
            return
        if kind == "clear":
            self.runner.fail_next = False
        super().apply_fault(spec)

    def describe_faults(self) -> list[dict[str, Any]]:
        pending = [{"kind": "readout_error"}] if self.runner.fail_next else []
        return super().describe_faults() + pending

    @action("simulator:truth")
    def action_truth(self, parameters: str) -> str:
        try:
            options = json.loads(parameters) if parameters.strip() else {}
        except json.JSONDecodeError as error:
            raise InvalidValue(f"simulator:truth expects a JSON object: {error}") from error
        if not isinstance(options, dict):
            raise InvalidValue("simulator:truth expects a JSON object")
        last = self.runner.last
        filter_name = options.get("filter", last.scene.filter_name if last else None)
        block_px = int(options.get("block_px", 64))
        if not 1 <= block_px <= min(self.settings.width_px, self.settings.height_px):
            raise InvalidValue(f"block_px {block_px} does not fit the sensor")
        now_s = self.clock.now_s()
        truth = self.synthesizer.truth(last.scene if last else None, filter_name, block_px)
        temperature_c = self.cooler.temperature_c(now_s)
        truth["sensor_temperature_c"] = temperature_c
        truth["dark_current_e_per_s"] = self.synthesizer.sensor.spec.dark_current_at(temperature_c)
        return json.dumps(truth)

    def ground_truth(self) -> dict[str, Any]:
        now_s = self.clock.now_s()
        return {
            **super().ground_truth(),
            "camera_state": self.runner.state(now_s).name.lower(),
            "image_ready": self.runner.image is not None,
            "ccd_temperature_c": self.cooler.temperature_c(now_s),
            "exposures_started": self._exposure_count,
            "pixel_scale_arcsec": self.pixel_scale_arcsec,
            "faults": self.describe_faults(),
        }
