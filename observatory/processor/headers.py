"""Reading one raw FITS file into the values of its ``exposures`` row.

A file is accepted only when astropy can read its headers, its CHECKSUM and DATASUM
(when present) verify, it holds at least one 2-D image (the primary HDU, image
extensions, or a tile-compressed image of an fpack file; gzip files are read through),
each image is whole (a plain file holds all of its bytes; a compressed one decompresses),
and its cards say what it is (see :mod:`observatory.processor.cards`). Anything else
raises :class:`ExposureRejected` naming the card or why.

The header read is the primary header with the (first) image extension's cards over it,
so a file whose primary HDU holds only the observation's cards reads like a plain one; a
multi-extension file calibrated extension by extension gives one row per extension, each
read with that extension's cards over the primary's.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

from astropy.io import fits

from observatory.calibration.checksums import spans_of, verify_file
from observatory.errors import ObservatoryError
from observatory.processor.cards import CardReader, CardUnreadable
from observatory.processor.detectors import detector_names, separate_detectors
from observatory.processor.profiles import Profiles
from observatory.processor.readouts import Plane, ReadoutUnreadable, readout_json, readout_of
from observatory.processor.setups import camera_setup

# Header cards kept in ``exposures.header`` for later steps (plate scale, provenance).
KEPT_CARDS = (
    "IMAGETYP", "EXPTIME", "EXPOSURE", "FILTER", "DATE-OBS", "RA", "DEC", "OBJECT",
    "CCD-TEMP", "INSTRUME", "TELESCOP", "XBINNING", "YBINNING", "XPIXSZ", "YPIXSZ",
    "FOCALLEN", "SITELAT", "SITELONG", "ORDERID", "ORDERPK", "BATCH",
    "OBSTYPE", "FRAME", "FILTNAME", "FILTER1", "FILTER2", "CCDSUM", "OBJCTRA", "OBJCTDEC",
    "MJD-OBS", "TIME-OBS", "PIXSCALE",
)  # fmt: skip
_STRUCTURAL = ("XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTEND", "SIMPLE",
               "EXTNAME", "EXTVER", "CHECKSUM", "DATASUM", "BZERO", "BSCALE", "BLANK")  # fmt: skip
_COMMENTARY = ("COMMENT", "HISTORY", "")
# Cards that say a cube's planes are colours (MaxIm: IMAGETYP 'Tricolor Image').
_COLOUR_CARDS = ("COLORTYP", "CTYPE3", "IMAGETYP", "BAYERPAT")


class ExposureRejected(ObservatoryError):
    """A raw file that cannot be calibrated: unreadable, corrupt, not FITS, bad checksum,
    or headers that do not say what it is. ``profile`` names the instrument profile that
    read it, when one was chosen."""

    def __init__(self, message: str, profile: str | None = None) -> None:
        super().__init__(message)
        self.profile = profile


def image_planes(hdus: fits.HDUList, file_bytes: int | None = None) -> list[Plane]:
    """The 2-D images of a file, in HDU order. Each image is read (decompressed) whole,
    except an uncompressed image of a plain file of ``file_bytes`` bytes: its shape is
    taken from its NAXISn cards, and the file must hold all of its bytes (the padding of
    the last block may be missing, as some programs write it). A cube of one plane
    (NAXIS3 = 1, as some drivers write) is that plane: its bytes are a 2-D image's.
    Raises ExposureRejected for an image cut short, and for a file whose images are all
    cubes of several planes (colour images), saying so."""
    planes = []
    cubes = []
    for index, hdu in enumerate(hdus):
        if isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU):
            if file_bytes is None or isinstance(hdu, fits.CompImageHDU):
                shape = None if hdu.data is None else hdu.data.shape
            else:
                shape = hdu.shape or None
                _require_bytes(index, hdu, file_bytes)
            if shape is not None and len(shape) == 3 and shape[0] == 1:
                shape = shape[1:]
            if shape is not None and len(shape) == 2:
                planes.append(Plane(index, hdu.header.copy(), (int(shape[0]), int(shape[1]))))
            elif shape is not None and len(shape) > 2:
                cubes.append(_cube(index, hdu.header, shape))
    if not planes and cubes:
        raise ExposureRejected(cubes[0])
    return planes


def _cube(index: int, header: fits.Header, shape: tuple[int, ...]) -> str:
    planes = math.prod(shape[:-2])
    named = " ".join(str(header.get(card, "")) for card in _COLOUR_CARDS).upper()
    colour = (len(shape) == 3 and shape[0] == 3) or "RGB" in named or "TRICOLOR" in named
    kind = " (colour image)" if colour else ""
    return f"HDU {index} is a {len(shape)}-D cube of {planes} planes{kind}: not supported"


def _cut_short(caught: list[warnings.WarningMessage]) -> str | None:
    """What astropy's warnings say of a file cut short, or None."""
    for warning in caught:
        text = " ".join(str(warning.message).split())
        if "File may have been truncated: " in text:
            return "truncated: " + text.split("File may have been truncated: ", 1)[1]
        block = re.search(r"HDU #(\d+) .*Header size is not multiple of 2880: (\d+)", text)
        if block:
            return f"truncated: HDU {block[1]}'s header ends after {block[2]} bytes of 2880"
    return None


def _require_bytes(index: int, hdu: fits.PrimaryHDU | fits.ImageHDU, file_bytes: int) -> None:
    start = int(hdu.fileinfo()["datLoc"])
    needed = start + abs(int(hdu.header["BITPIX"])) // 8 * math.prod(hdu.shape)
    if file_bytes < needed:
        raise ExposureRejected(
            f"truncated: HDU {index}'s image ends at byte {needed}, the file has {file_bytes}"
        )


def merged_header(hdus: fits.HDUList, image_index: int) -> fits.Header:
    """The primary header with the own cards of the image HDU ``image_index`` over it
    (for the primary HDU its header itself, not a copy: callers read it, or change it
    once the file is closed)."""
    if image_index == 0:
        return hdus[0].header
    header = hdus[0].header.copy()
    for card in hdus[image_index].header.cards:
        keyword = card.keyword
        if keyword and not keyword.startswith(_STRUCTURAL) and keyword not in _COMMENTARY:
            header[keyword] = (card.value, card.comment)
    return header


def read_exposures(path: Path, profiles: Profiles | None = None) -> list[dict[str, Any]]:
    """Column values of the ``exposures`` rows of the FITS file at ``path`` (all but
    ``file_batch_pk``, ``path`` and ``checksum``), read with the profile of its camera:
    one row (``detector`` empty) for a file that is one image, one per image extension
    for a multi-extension file calibrated extension by extension (see
    :mod:`observatory.processor.detectors`), each read from the primary header with its
    extension's cards over it. Raises ExposureRejected (naming the extension whose cards
    are wrong: the file is refused whole)."""
    plain = _plain_file(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # A plain file's checksums are verified on its bytes, at memory speed;
            # astropy verifies those of a file compressed whole as it reads it.
            with fits.open(path, checksum=not plain, memmap=False) as hdus:
                # A plain file's images are not read (checksums, when present, read
                # their bytes): a 60 MP frame's data read and converted costs about a
                # second, its headers little; its length is checked instead.
                planes = image_planes(hdus, path.stat().st_size if plain else None)
                headers = {plane.index: merged_header(hdus, plane.index) for plane in planes}
                header = headers[planes[0].index] if planes else hdus[0].header.copy()
                failed = verify_file(path, spans_of(hdus)) if plain else []
    except (OSError, ValueError, TypeError, IndexError, KeyError) as error:
        reason = _cut_short(caught) or f"not a readable FITS file: {error}"
        raise ExposureRejected(reason) from error
    failed += [str(w.message).strip() for w in caught if "verification failed" in str(w.message)]
    if failed:
        raise ExposureRejected("; ".join(failed))
    if not planes:
        raise ExposureRejected(_cut_short(caught) or "no HDU holds a 2-D image")
    profile = (profiles or Profiles()).for_camera(header.get("INSTRUME"), header.get("TELESCOP"))
    where = ""
    try:
        reader = CardReader(header, profile)
        if not separate_detectors(planes, profile, reader.binning()):
            columns = _columns(header, planes, reader, plain)
            return [{**columns, "profile": profile.name, "detector": ""}]
        rows = []
        for plane, name in zip(planes, detector_names(planes, profile), strict=True):
            where = f"HDU {plane.index} ({name}): "
            own = headers[plane.index]
            columns = _columns(own, [plane], CardReader(own, profile), plain_file=False)
            rows.append({**columns, "profile": profile.name, "detector": name})
        return rows
    except (CardUnreadable, ReadoutUnreadable) as error:
        raise ExposureRejected(f"{where}{error} (profile {profile.name})", profile.name) from None


def read_exposure(path: Path, profiles: Profiles | None = None) -> dict[str, Any]:
    """The one ``exposures`` row of a file that is one image (see :func:`read_exposures`).
    Raises ExposureRejected, and ValueError for a file of several detectors."""
    rows = read_exposures(path, profiles)
    if len(rows) != 1:
        raise ValueError(f"{path} holds {len(rows)} detectors: read it with read_exposures")
    return rows[0]


def _plain_file(path: Path) -> bool:
    """Whether the file is stored as plain FITS (not gzip-compressed as a whole)."""
    with open(path, "rb") as handle:
        return handle.read(6) == b"SIMPLE"


def _columns(
    header: fits.Header, planes: list[Plane], reader: CardReader, plain_file: bool
) -> dict[str, Any]:
    profile = reader.profile
    imagetyp = reader.imagetyp()
    binning = reader.binning()
    readout = readout_of(planes, profile, binning, header, plain_file)
    rows, cols = planes[0].shape if readout is None else readout.shape
    optional = reader.optional
    values = {
        "imagetyp": imagetyp.value,
        "exptime_s": reader.exptime_s(),
        "filter": reader.filter(),
        "date_obs": reader.date_obs(),
        "ra_deg": optional(reader.ra_deg),
        "dec_deg": optional(reader.dec_deg),
        "object": optional(reader.object),
        "ccd_temp_c": optional(reader.ccd_temp_c),
        "binning": binning,
        "camera_setup": camera_setup(header),
        "naxis1": int(cols),
        "naxis2": int(rows),
        "gain_e_per_adu": optional(lambda: reader.gain_e_per_adu(profile.gain_e_per_adu)),
        "read_noise_e": optional(lambda: reader.number("read_noise", profile.read_noise_e)),
        "saturation_adu": optional(lambda: reader.number("saturation", profile.saturation_adu)),
        "readout": readout_json(readout),
        "header": {key: _json_value(header[key]) for key in KEPT_CARDS if key in header},
    }
    return values | {"cards": dict(reader.used), "error": "; ".join(reader.problems) or None}


def _json_value(value: object) -> Any:
    return value if isinstance(value, bool | int | float | str) else str(value)
