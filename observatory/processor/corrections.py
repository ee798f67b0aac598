"""Which masters calibrate a frame, under the missing-calibrations rule of its camera.

``fail`` (the default): a master that no batch or library holds raises
MasterFrameMissing, and the frame is left uncalibrated. ``skip``: the frame is calibrated
with what exists and the missing master is recorded as missing, with why. A camera whose
profile says darks are not needed gets no dark under either rule, recorded as not needed.
A master dark made without a master bias holds the bias level: for a frame of its own
exposure it takes the bias too (the bias is then not needed, under either rule); it is
no matching dark for any other exposure, since it cannot be scaled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from observatory.calibration.dark import bias_included, dark_scale
from observatory.calibration.overscan import Readout
from observatory.db import models
from observatory.db.session import read_scope
from observatory.errors import ConfigurationError, MasterFrameMissing
from observatory.processor import library
from observatory.processor.products import load_master
from observatory.processor.profiles import InstrumentProfile, load_profiles
from observatory.processor.readouts import readout_from_json
from observatory.settings import Settings

_CHOOSERS: dict[str, Callable[[Session, library.Wanted], models.MasterFrame]] = {
    "bias": library.choose_bias,
    "dark": library.choose_dark,
    "flat": library.choose_flat,
}


@dataclass
class Chosen:
    """Master rows by role (absent when missing or not needed), and why the others are."""

    rows: dict[str, models.MasterFrame] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    not_needed: dict[str, str] = field(default_factory=dict)


def profile_of(settings: Settings, exposure: models.Exposure) -> InstrumentProfile:
    """The profile that read the exposure at ingest. Raises ConfigurationError when the
    instruments folder no longer has it."""
    profiles = load_profiles(settings.processor.instruments_dir)
    name = exposure.profile or profiles.default.name
    for profile in (profiles.default, *profiles.named):
        if profile.name == name:
            return profile
    raise ConfigurationError(
        f"instrument profile {name!r} that read {exposure.path} is no longer in "
        f"{settings.processor.instruments_dir}"
    )


def choose_masters(
    settings: Settings, exposure: models.Exposure, wanted: library.Wanted, roles: tuple[str, ...]
) -> Chosen:
    """The masters of ``roles`` for the exposure. Raises MasterFrameMissing under the
    ``fail`` rule when one is missing (the first of ``roles``), ConfigurationError for an
    unknown profile."""
    profile = profile_of(settings, exposure)
    policy = profile.missing_calibrations or settings.processor.missing_calibrations
    chosen = Chosen()
    errors: dict[str, MasterFrameMissing] = {}
    with read_scope(settings.sqlalchemy_url) as session:
        for role in roles:
            if role == "dark" and not profile.darks_needed:
                chosen.not_needed["dark"] = f"profile {profile.name}: darks are not needed"
                continue
            try:
                chosen.rows[role] = _CHOOSERS[role](session, wanted)
            except MasterFrameMissing as error:
                errors[role] = error
    errors |= _dark_with_bias(settings, chosen, exposure.exptime_s)
    for role in roles:
        if role in errors and role not in chosen.not_needed:
            if policy == "fail":
                raise errors[role]
            chosen.missing[role] = str(errors[role])
    return chosen


def _dark_with_bias(
    settings: Settings, chosen: Chosen, exposure_s: float
) -> dict[str, MasterFrameMissing]:
    """Settle a chosen master dark that holds the bias level: of the frame's exposure it
    makes the bias not needed (a master bias is then not subtracted); of another it is
    dropped, and the error saying why is returned as the dark's."""
    row = chosen.rows.get("dark")
    if row is None:
        return {}
    master = load_master(settings, row)
    if not bias_included(master):
        return {}
    try:
        dark_scale(master, exposure_s)
    except MasterFrameMissing as error:
        del chosen.rows["dark"]
        return {"dark": error}
    chosen.rows.pop("bias", None)
    chosen.not_needed["bias"] = f"the master dark {row.path} of this exposure holds the bias level"
    return {}


def geometry_corrections(readout: dict[str, Any] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Overscan and trim of a frame with this stored readout: (applied, not needed)."""
    if readout is None:
        return {}, {"overscan": "no overscan section in the headers or the profile",
                    "trim": "the whole image is data"}  # fmt: skip
    parsed: Readout = readout_from_json(readout)
    scans = [a.overscan.fits() for a in parsed.amplifiers if a.overscan is not None]
    data = ", ".join(a.data.fits() for a in parsed.amplifiers)
    applied = {"trim": f"data {data} ({parsed.shape[1]}x{parsed.shape[0]} px)"}
    if scans:
        applied["overscan"] = f"{parsed.method} of {', '.join(scans)}"
        return applied, {}
    return applied, {"overscan": "no overscan section in the headers or the profile"}
