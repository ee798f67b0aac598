"""One exposure as a FITS file: the standard header and an atomic, checksummed write.

Files hold one primary HDU of the camera's uint16 pixels (stored as FITS does, int16
with BZERO 32768) and the cards the processor reads (IMAGETYP, EXPTIME, FILTER,
DATE-OBS, RA/DEC, CCD-TEMP, ...), plus CHECKSUM/DATASUM.

The rows are written as the camera sends them, first row first, and an Alpaca camera's
ImageArray has its origin in the top-left corner of the image (y down, ASCOM Camera
interface). So the first row of the file is the top of the image, not the bottom that
FITS readers assume without a word: every frame says ``ROWORDER = 'TOP-DOWN'``, the card
NINA, MaxIm DL, INDI and SharpCap write for the same data and that Siril, PixInsight and
the processor read (a Bayer pattern and a master's rows depend on it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from observatory.db.models import ImageType
from observatory.fitsfiles import write_atomically
from observatory.hashing import sha256_of

# IMAGETYP values as most capture programs write them.
IMAGETYP_CARDS = {
    ImageType.BIAS: "Bias Frame",
    ImageType.DARK: "Dark Frame",
    ImageType.FLAT: "Flat Field",
    ImageType.LIGHT: "Light Frame",
}
# The order of the rows as written: an Alpaca ImageArray starts at the image's top row.
ROWORDER = "TOP-DOWN"


@dataclass(frozen=True)
class FrameMetadata:
    """What the header says about one exposure besides its pixels.

    ``filter`` is None for biases and darks (no FILTER card); ``ra_deg``/``dec_deg`` are
    the mount's reported pointing for lights, None otherwise.
    """

    imagetyp: ImageType
    exposure_s: float
    date_obs: dt.datetime
    binning: int
    object: str
    instrument: str
    telescope: str
    site_latitude_deg: float
    site_longitude_deg: float
    order_id: str
    order_pk: int
    batch: str
    filter: str | None = None
    ra_deg: float | None = None
    dec_deg: float | None = None
    ccd_temp_c: float | None = None
    pixel_size_um: float | None = None
    focal_length_mm: float | None = None
    # A colour sensor's filter matrix from the first pixel as written (unbinned frames).
    bayer_pattern: str | None = None


def frame_filename(imagetyp: ImageType, filter: str | None, exposure_s: float, seq: int) -> str:
    """``light_R_30s_0003.fits``: type, filter (or ``none``), exposure time, sequence."""
    filter_part = "".join(c if c.isalnum() or c in "-+" else "-" for c in (filter or "none"))
    return f"{imagetyp.value}_{filter_part}_{exposure_s:g}s_{seq:04d}.fits"


def frame_header(meta: FrameMetadata) -> fits.Header:
    """The header cards of one exposure (without the data-structure cards)."""
    header = fits.Header()
    cards: list[tuple[str, Any, str]] = [
        ("IMAGETYP", IMAGETYP_CARDS[meta.imagetyp], "type of exposure"),
        ("EXPTIME", float(meta.exposure_s), "[s] exposure time"),
        ("EXPOSURE", float(meta.exposure_s), "[s] exposure time"),
        ("DATE-OBS", _iso_utc(meta.date_obs), "UTC start of exposure"),
        ("OBJECT", meta.object, "target"),
        ("INSTRUME", meta.instrument, "camera"),
        ("TELESCOP", meta.telescope, "telescope"),
        ("XBINNING", meta.binning, "binning in x"),
        ("YBINNING", meta.binning, "binning in y"),
        ("ROWORDER", ROWORDER, "first row is the top of the image (ASCOM)"),
        ("SITELAT", meta.site_latitude_deg, "[deg] site latitude"),
        ("SITELONG", meta.site_longitude_deg, "[deg] site longitude, east positive"),
        ("ORDERID", meta.order_id, "work order id"),
        ("ORDERPK", meta.order_pk, "work order primary key"),
        ("BATCH", meta.batch, "file batch"),
    ]
    optional: list[tuple[str, Any, str]] = [
        ("FILTER", meta.filter, "filter in the beam"),
        ("RA", meta.ra_deg, "[deg] J2000 RA reported by the mount"),
        ("DEC", meta.dec_deg, "[deg] J2000 Dec reported by the mount"),
        ("CCD-TEMP", meta.ccd_temp_c, "[C] sensor temperature at readout"),
        ("FOCALLEN", meta.focal_length_mm, "[mm] focal length"),
        ("BAYERPAT", meta.bayer_pattern, "colour filter matrix from the first pixel"),
    ]
    if meta.pixel_size_um is not None:
        binned_um = meta.pixel_size_um * meta.binning
        optional.append(("XPIXSZ", binned_um, "[um] pixel width, binned"))
        optional.append(("YPIXSZ", binned_um, "[um] pixel height, binned"))
    for keyword, value, comment in cards + [c for c in optional if c[1] is not None]:
        header[keyword] = (value, comment)
    return header


def write_frame(path: Path, data: NDArray[np.uint16], header: fits.Header) -> str:
    """Write ``data`` with ``header`` to ``path`` atomically (temporary file, then rename),
    with CHECKSUM/DATASUM; returns the file's sha256 (hex). Never overwrites an existing
    file (``FileExistsError``)."""
    if data.dtype != np.uint16 or data.ndim != 2:
        raise ValueError(f"a frame is 2-D uint16, got {data.ndim}-D {data.dtype}")
    if path.exists():
        raise FileExistsError(f"{path} exists; frames are never overwritten")
    write_atomically(path, fits.PrimaryHDU(data=data, header=header), overwrite=False)
    return sha256_of(path)


def _iso_utc(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("DATE-OBS needs an aware datetime")
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
