"""Reading one raw FITS file into the values of its ``exposures`` row.

A file is accepted only when astropy can read its header and data, its CHECKSUM and
DATASUM (when present) verify, it holds a 2-D image, and its IMAGETYP, EXPTIME and
DATE-OBS say what it is. Anything else raises :class:`ExposureRejected` naming why.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

from astropy.coordinates import Angle
from astropy.io import fits
from astropy.time import Time

from observatory.errors import ObservatoryError
from observatory.processor.imagetypes import normalise_imagetyp

# Header cards kept in ``exposures.header`` for later steps (plate scale, provenance).
KEPT_CARDS = (
    "IMAGETYP", "EXPTIME", "EXPOSURE", "FILTER", "DATE-OBS", "RA", "DEC", "OBJECT",
    "CCD-TEMP", "INSTRUME", "TELESCOP", "XBINNING", "YBINNING", "XPIXSZ", "YPIXSZ",
    "FOCALLEN", "SITELAT", "SITELONG", "ORDERID", "ORDERPK", "BATCH",
)  # fmt: skip
_NO_FILTER = {"", "none", "n/a"}


class ExposureRejected(ObservatoryError):
    """A raw file that cannot be calibrated: unreadable, corrupt, not FITS, bad checksum,
    or headers that do not say what it is."""


def read_exposure(path: Path) -> dict[str, Any]:
    """Column values of the ``exposures`` row of the FITS file at ``path`` (all but
    ``file_batch_pk``, ``path`` and ``checksum``). Raises ExposureRejected."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, checksum=True, memmap=False) as hdus:
                header = hdus[0].header.copy()
                shape = None if hdus[0].data is None else hdus[0].data.shape
    except (OSError, ValueError, TypeError, IndexError) as error:
        raise ExposureRejected(f"not a readable FITS file: {error}") from error
    failed = [str(w.message).strip() for w in caught if "verification failed" in str(w.message)]
    if failed:
        raise ExposureRejected("; ".join(failed))
    if shape is None or len(shape) != 2:
        raise ExposureRejected(f"the primary HDU holds no 2-D image (shape {shape})")
    return _columns(header, shape)


def _columns(header: fits.Header, shape: tuple[int, ...]) -> dict[str, Any]:
    imagetyp = normalise_imagetyp(header.get("IMAGETYP"))
    if imagetyp is None:
        raise ExposureRejected(f"IMAGETYP {header.get('IMAGETYP')!r} is not a known image type")
    exptime = header.get("EXPTIME", header.get("EXPOSURE"))
    if not isinstance(exptime, int | float) or exptime < 0:
        raise ExposureRejected(f"EXPTIME {exptime!r} is not a non-negative number")
    binning = int(header.get("XBINNING", 1))
    if int(header.get("YBINNING", binning)) != binning:
        raise ExposureRejected(f"unequal binning {binning}x{header['YBINNING']} is not supported")
    filter_name = str(header.get("FILTER", "")).strip()
    return {
        "imagetyp": imagetyp.value,
        "exptime_s": float(exptime),
        "filter": None if filter_name.lower() in _NO_FILTER else filter_name,
        "date_obs": _date_obs(header),
        "ra_deg": _angle_deg(header.get("RA"), "hourangle"),
        "dec_deg": _angle_deg(header.get("DEC"), "deg"),
        "object": header.get("OBJECT"),
        "ccd_temp_c": _float_or_none(header.get("CCD-TEMP")),
        "binning": binning,
        "naxis1": int(shape[1]),
        "naxis2": int(shape[0]),
        "header": {key: _json_value(header[key]) for key in KEPT_CARDS if key in header},
    }


def _date_obs(header: fits.Header) -> dt.datetime:
    value = header.get("DATE-OBS")
    try:
        moment = Time(value, format="isot", scale="utc").to_datetime()
    except (ValueError, TypeError) as error:
        raise ExposureRejected(f"DATE-OBS {value!r} is not an ISO UTC time") from error
    return moment.replace(tzinfo=dt.UTC)


def _angle_deg(value: object, string_unit: str) -> float | None:
    """A float card is degrees already; a string is sexagesimal (RA in hours)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(Angle(str(value), unit=string_unit).deg)
    except ValueError as error:
        raise ExposureRejected(f"coordinate {value!r} cannot be read") from error


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _json_value(value: object) -> Any:
    return value if isinstance(value, bool | int | float | str) else str(value)
