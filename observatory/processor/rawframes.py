"""Raw frames as the calibration maths read them: overscan subtracted and trimmed.

A plain image in the primary HDU with no sections is handed over as its path (the fast
path that reads rows straight from the file, bit-identical to before); any other file
(sections, amplifiers, extensions, fpack, gzip) is read whole, its overscan subtracted
and trimmed to its data section with the readout recorded at ingest.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from observatory.calibration.fitslayout import read_image_layout, scale_like_astropy
from observatory.calibration.overscan import PreparedFrame, Readout, prepare_image
from observatory.calibration.sources import FrameInput
from observatory.processor.headers import merged_header
from observatory.processor.readouts import readout_from_json

_GZIP_MAGIC = b"\x1f\x8b"


def _plain_file(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(6) == b"SIMPLE"


def read_planes(path: Path, indices: Iterable[int]) -> tuple[dict[int, np.ndarray], fits.Header]:
    """The values (as astropy decodes them) of the image HDUs ``indices`` of a FITS file,
    and its header (primary, with the first wanted image's cards over it).

    A plain file's primary image is read straight from disk; anything else (extensions,
    tile compression, gzip) through astropy. Raises OSError for an unreadable file."""
    wanted = sorted(set(indices))
    if wanted == [0] and _plain_file(path):
        layout = read_image_layout(path)
        rows, cols = layout.shape
        raw = np.fromfile(path, layout.raw_dtype, rows * cols, offset=layout.data_offset)
        return {0: scale_like_astropy(raw.reshape(rows, cols), layout)}, fits.getheader(path)
    with fits.open(path, memmap=False) as hdus:
        planes = {index: np.asarray(hdus[index].data) for index in wanted}
        return planes, merged_header(hdus, wanted[0])


def describe(readout: Readout) -> list[str]:
    """What overscan subtraction and trimming did, one line per amplifier."""
    return [f"{line}, {readout.method} level" for line in readout.describe()]


def raw_frame(path: Path, readout: dict[str, Any] | None) -> FrameInput:
    """The frame the calibration functions read for a raw file and its stored readout:
    the path itself when there is none, else a PreparedFrame (overscan subtracted,
    trimmed, HISTORY saying how). Raises OSError, FrameMismatch."""
    if readout is None:
        return path
    parsed = readout_from_json(readout)
    planes, header = read_planes(path, (a.plane for a in parsed.amplifiers))
    data = prepare_image(planes, parsed)
    for line in describe(parsed):
        header.add_history(f"overscan/trim: {line}")
    return PreparedFrame(data, header)
