"""How a calibrated light was taken, for its quality figures (see :mod:`observatory.quality`).

The saturation level on the calibrated frame's scale is the raw level (the exposure's
``saturation_adu``, else the 16-bit ceiling) less the bias level (the median of the
master bias used, else 0); the site is the header's SITELAT/SITELONG, else the settings'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from observatory.db.models import Exposure
from observatory.platesolve.hints import Hints
from observatory.quality.assess import Observing
from observatory.settings import Settings

SIXTEEN_BIT_MAX_ADU = 65535.0


def observing_for(
    settings: Settings, exposure: Exposure, bias_stats: Mapping[str, Any] | None, hints: Hints
) -> Observing:
    header = exposure.header or {}
    gain = exposure.gain_e_per_adu
    if gain is None and isinstance(header.get("GAIN"), int | float) and header["GAIN"] > 0:
        gain = float(header["GAIN"])
    bias_adu = (bias_stats or {}).get("median")
    raw_saturation_adu = exposure.saturation_adu or SIXTEEN_BIT_MAX_ADU
    latitude, longitude = header.get("SITELAT"), header.get("SITELONG")
    if not (isinstance(latitude, int | float) and isinstance(longitude, int | float)):
        latitude, longitude = settings.site.latitude_deg, settings.site.longitude_deg
    pointing = (
        (hints.ra_deg, hints.dec_deg)
        if hints.ra_deg is not None and hints.dec_deg is not None
        else None
    )
    return Observing(
        exposure_s=exposure.exptime_s,
        filter_name=exposure.filter,
        mid_exposure_utc=_utc(exposure.date_obs) + dt.timedelta(seconds=exposure.exptime_s / 2),
        gain_e_per_adu=gain,
        saturation_adu=raw_saturation_adu
        - (bias_adu if isinstance(bias_adu, int | float) else 0.0),
        scale_arcsec=hints.scale_arcsec,
        site_deg=(float(latitude), float(longitude)),
        pointing_deg=pointing,
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
