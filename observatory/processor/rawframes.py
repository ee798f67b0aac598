"""Raw frames as the calibration maths read them: overscan subtracted and trimmed.

A plain image in the primary HDU with no sections is handed over as its path (the fast
path that reads rows straight from the file, bit-identical to before); any other file
(sections, amplifiers, extensions, fpack, gzip) is cut with the readout recorded at
ingest: overscan subtracted and trimmed to its data section.
"""

from __future__ import annotations

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
from observatory.processor.readouts import readout_from_json


def raw_header(path: Path, readout: Readout) -> fits.Header:
    """The raw file's header (primary, with its first image HDU's cards over it) and
    HISTORY saying how overscan subtraction and trimming cut it."""
    first = min(a.plane for a in readout.amplifiers)
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
        header = merged_header(hdus, first)
    for line in readout.describe():
        header.add_history(f"overscan/trim: {line}, {readout.method} level")
    return header


def raw_frame(path: Path, readout: dict[str, Any] | None) -> FrameInput:
    """The frame the calibration functions read for a raw file and its stored readout:
    the path itself when there is none, else a PreparedFrame (overscan subtracted,
    trimmed, HISTORY saying how). Raises OSError, FrameMismatch."""
    if readout is None:
        return path
    parsed = readout_from_json(readout)
    planes = read_plane_values(path, (a.plane for a in parsed.amplifiers))
    return PreparedFrame(prepare_image(planes, parsed), raw_header(path, parsed))
