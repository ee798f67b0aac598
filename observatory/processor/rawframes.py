"""Raw frames as the calibration maths read them: overscan subtracted and trimmed.

A plain image in the primary HDU with no sections is handed over as its path (the fast
path that reads rows straight from the file, bit-identical to before); any other file
(sections, amplifiers, extensions, fpack, gzip) is cut with the readout recorded at
ingest: overscan subtracted and trimmed to its data section.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from astropy.io import fits

from observatory.calibration.overscan import (
    PreparedFrame,
    Readout,
    prepare_image,
    read_plane_values,
)
from observatory.calibration.sources import FrameInput
from observatory.processor.headers import merged_header
from observatory.processor.normalised import refuse_normalised
from observatory.processor.readouts import readout_from_json

# Cards naming sections of the raw planes (any amplifier's): they do not describe the
# trimmed image, and HISTORY keeps what they said.
_SECTION_CARD = re.compile(r"^(BIASSEC|DATASEC|TRIMSEC|DETSEC|CCDSEC|AMPSEC|ORIGSEC)([A-Z]|\d+)?$")
# Cards giving a pixel position of the raw plane (any alternate WCS): shifted by the trim.
_PIXEL_ORIGIN = re.compile(r"^(CRPIX|LTV)([12])([A-Z]?)$")
# A colour sensor's 2x2 filter pattern (NINA, SharpCap, MaxIm, ASCOM drivers), counted
# from the image's first pixel as stored.
_BAYER_PATTERN = re.compile(r"^[RGB]{4}$")
# The WCS cards dropped when the trim is not one shift of the plane's pixels.
_WCS_CARD = re.compile(
    r"^(WCSAXES|(CRPIX|CRVAL|CTYPE|CUNIT|CDELT|CROTA|LTV)\d|(CD|PC|LTM)\d_\d|"
    r"(A|B|AP|BP)_(ORDER|\d+_\d+))[A-Z]?$"
)


def raw_header(path: Path, readout: Readout) -> fits.Header:
    """The raw file's header (primary, with its first image HDU's cards over it) and
    HISTORY saying how overscan subtraction and trimming cut it, made to describe the
    trimmed image (see ``trimmed_header``)."""
    first = min(a.plane for a in readout.amplifiers)
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
        header = merged_header(hdus, first)
    for line in readout.describe():
        header.add_history(f"overscan/trim: {line}, {readout.method} level")
    trimmed_header(header, readout, first)
    return header


def trimmed_header(header: fits.Header, readout: Readout, plane: int) -> None:
    """Make ``header`` of raw plane ``plane`` describe the trimmed image (in place): the
    section cards removed, and the pixel origins of the WCS and of IRAF's physical
    coordinates (CRPIXn, LTVn) moved by the trim (in the plane's own, binned, pixels, as
    the sections count them; CD, PC and SIP are relative to CRPIX and stay). When the
    plane's amplifiers do not all move by one shift (an axis read reversed, overscan
    between amplifiers) no shift describes it: the WCS is removed, and HISTORY says so."""
    for keyword in {k for k in header if _SECTION_CARD.match(k)}:
        header.remove(keyword, remove_all=True)
    amps = [a for a in readout.amplifiers if a.plane == plane]
    shifts = {(a.data.rows[0] - a.placement[0], a.data.cols[0] - a.placement[1]) for a in amps}
    reversed_ = any(a.data.rows_reversed or a.data.cols_reversed for a in amps)
    if len(shifts) == 1 and not reversed_:
        ((rows, cols),) = shifts
        for keyword in [k for k in header if _PIXEL_ORIGIN.match(k)]:
            match = _PIXEL_ORIGIN.match(keyword)
            assert match is not None
            shift = cols if match[2] == "1" else rows
            if isinstance(header[keyword], int | float) and shift:
                header[keyword] = header[keyword] - shift
        _shift_bayer_pattern(header, rows, cols)
        return
    if "BAYERPAT" in header:
        header.remove("BAYERPAT", remove_all=True)
        header.add_history("BAYERPAT removed: the trim moved the amplifiers' pixels unequally")
    dropped = [k for k in header if _WCS_CARD.match(k)]
    for keyword in set(dropped):
        header.remove(keyword, remove_all=True)
    if dropped:
        header.add_history("WCS removed: the trim moved the amplifiers' pixels unequally")


def _shift_bayer_pattern(header: fits.Header, rows: int, cols: int) -> None:
    """Make BAYERPAT name the pattern from the trimmed image's first pixel, which was
    the raw plane's pixel (``rows``, ``cols``): an odd trim starts on another colour,
    and debayering with the raw pattern would swap the colours. Offsets written beside
    it (XBAYROFF, YBAYROFF) are kept: they apply to the new pattern as to the old."""
    pattern = str(header.get("BAYERPAT", "")).strip().upper()
    if not _BAYER_PATTERN.match(pattern) or not (rows % 2 or cols % 2):
        return
    moved = "".join(pattern[2 * ((r + rows) % 2) + (c + cols) % 2] for r in (0, 1) for c in (0, 1))
    header["BAYERPAT"] = moved
    header.add_history(
        f"BAYERPAT {pattern} -> {moved}: the trim starts {rows} rows, {cols} columns in"
    )


def raw_frame(path: Path, readout: dict[str, Any] | None) -> FrameInput:
    """The frame the calibration functions read for a raw file and its stored readout:
    the path itself when there is none, else a PreparedFrame (overscan subtracted,
    trimmed, HISTORY saying how). A float frame normalised to [0, 1] is refused (see
    :mod:`observatory.processor.normalised`; the path's pixels are read once for it, the
    readout's planes checked as read). Raises OSError, FrameMismatch (NormalisedFrame)."""
    if readout is None:
        refuse_normalised(path)
        return path
    parsed = readout_from_json(readout)
    planes = read_plane_values(path, (a.plane for a in parsed.amplifiers))
    refuse_normalised(path, planes, planes.values())
    return PreparedFrame(prepare_image(planes, parsed), raw_header(path, parsed))
