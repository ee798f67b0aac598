"""Calibration products (master frames, calibrated frames), their provenance headers and
their FITS files.

Products are float32 images with a header saying how they were made: the inputs' names,
the combine method and counts, the masters applied, the software version. Files are
written with checksums (DATASUM/CHECKSUM) and atomically: a temporary file in the same
folder is fully written and synced, then renamed, so a crash never leaves a partial
product under the final name.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote_from_bytes

import numpy as np
from astropy.io import fits

from observatory import __version__
from observatory.calibration.clipping import SigmaClip
from observatory.calibration.statistics import FrameStatistics, frame_statistics
from observatory.fitsfiles import write_atomically

MasterKind = Literal["bias", "dark", "flat"]
IMAGE_TYPES: dict[MasterKind, str] = {
    "bias": "MASTER BIAS",
    "dark": "MASTER DARK",
    "flat": "MASTER FLAT",
}
# Keywords describing how stored numbers map to values: never carried over from an
# input header onto float32 data.
_STRUCTURAL = ("BZERO", "BSCALE", "BLANK", "BITPIX", "CHECKSUM", "DATASUM")
_MAX_INPUT_CARDS = 999
# Characters in one header card.
_CARD_LENGTH = 80


@dataclass(frozen=True)
class MasterFrame:
    """A master calibration frame: float32 data, provenance header, statistics.

    ``exposure_s`` is the exposure the data represent (darks: counts accumulated in
    that time; bias 0; flats None). ``name`` identifies the product in other products'
    provenance (its file name or database id), set by whoever stores it.
    """

    kind: MasterKind
    data: np.ndarray
    header: fits.Header
    statistics: FrameStatistics
    exposure_s: float | None = None
    filter_name: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """How provenance headers refer to this master."""
        return self.name or f"unnamed {self.kind}"


@dataclass(frozen=True)
class CalibratedFrame:
    """One calibrated (or flat-dark corrected) frame: float32 data and its header."""

    data: np.ndarray
    header: fits.Header


def provenance_header(
    image_type: str,
    input_names: Sequence[str],
    method: str | None = None,
    clip: SigmaClip | None = None,
) -> fits.Header:
    """Header cards common to every product: type, software, inputs and combine method."""
    header = fits.Header()
    header["IMAGETYP"] = (image_type, "type of image")
    header["PIPENAME"] = ("observatory", "software that made this product")
    header["PIPEVERS"] = (__version__, "version of that software")
    header["NCOMBINE"] = (len(input_names), "number of input frames")
    if method is not None:
        header["COMBMETH"] = (method, "how the inputs were combined per pixel")
    if method == "sigma_clip" and clip is not None:
        header["CLIPLOW"] = (clip.sigma_low, "lower clipping threshold [sigma]")
        header["CLIPHIGH"] = (clip.sigma_high, "upper clipping threshold [sigma]")
        header["CLIPITER"] = (clip.max_iterations or 0, "clipping rounds at most (0: until done)")
        header["CLIPCENT"] = (clip.centre, "clipping centre")
    for index, name in enumerate(input_names[:_MAX_INPUT_CARDS], start=1):
        keyword = f"IMCMB{index:03d}"
        header[keyword] = text_card(keyword, card_path(name), "input frame (URL-encoded)")
    return header


def card_path(path: str) -> str:
    """``path`` as a header card can hold it: printable ASCII kept, every other
    character and ``%`` percent-encoded as its UTF-8 bytes, as in a URL path
    (``M31 Andromède/x.fits`` -> ``M31 Androm%C3%A8de/x.fits``), so that
    ``urllib.parse.unquote`` gives the path back. FITS cards hold printable ASCII only
    (astropy refuses anything else), and folder names hold any letter; the SQL rows keep
    the path as it is."""
    return "".join(
        char if " " <= char <= "~" and char != "%"
        else quote_from_bytes(char.encode("utf-8", "surrogateescape"), safe="")
        for char in path
    )  # fmt: skip


# The cards add_statistics writes, in FrameStatistics.header_cards() order.
_STATISTICS_CARDS = FrameStatistics(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, 0).header_cards()


def add_statistics(header: fits.Header, statistics: FrameStatistics) -> None:
    """Record ``statistics`` in ``header`` (in place)."""
    for keyword, value, comment in statistics.header_cards():
        header[keyword] = (value, comment)


def recorded_statistics(header: fits.Header) -> FrameStatistics | None:
    """The statistics ``add_statistics`` recorded in ``header``, or None when a card is
    missing."""
    keywords = [keyword for keyword, _, _ in _STATISTICS_CARDS]
    if not all(keyword in header for keyword in keywords):
        return None
    values = [header[keyword] for keyword in keywords]
    mean, median, std, robust_std, minimum, maximum, nonfinite = values
    return FrameStatistics(
        float(mean), float(median), float(std), float(robust_std), float(minimum),
        float(maximum), int(header.get("NCOMBINE", 1)), int(nonfinite),
    )  # fmt: skip


def text_card(keyword: str, text: str, comment: str) -> tuple[str, str]:
    """A header card's (value, comment): ``text`` with ``comment``, or without it when
    both do not fit on one card. astropy would cut the comment, with a warning that its
    logger takes 10-20 ms to write, for every frame. A text long enough to continue on
    more cards keeps the comment."""
    image = fits.Card(keyword, text).image
    if len(image) == _CARD_LENGTH and len(image.rstrip()) + 3 + len(comment) > _CARD_LENGTH:
        return text, ""
    return text, comment


def carried_header(source: fits.Header | None) -> fits.Header:
    """A copy of an input frame's header without the cards that describe its storage."""
    header = fits.Header() if source is None else source.copy(strip=True)
    for keyword in _STRUCTURAL:
        header.remove(keyword, ignore_missing=True, remove_all=True)
    return header


def write_product(
    path: str | os.PathLike[str],
    data: np.ndarray,
    header: fits.Header,
    *,
    overwrite: bool = False,
    durable: bool = True,
) -> Path:
    """Write ``data`` as float32 with ``header`` (plus DATE and checksums) atomically.

    ``durable`` (the default) syncs the file and its folder to disk before returning;
    False leaves that to the system, for a scratch copy that its writer reads back at
    once and nothing keeps (a host crash then loses only what is made again).
    Returns the path. Raises FileExistsError when the file exists and ``overwrite`` is
    False; OSError when the folder is not writable or the disk fills. On any failure the
    temporary file is removed and the final name is untouched
    (:func:`observatory.fitsfiles.write_atomically`).
    """
    path = Path(path)
    # Big-endian, as FITS stores it: astropy would otherwise swap the bytes of a native
    # array four times (checksum and writing), a third of the time it takes to write.
    hdu = fits.PrimaryHDU(np.asarray(data, dtype=">f4"), header=carried_header(header))
    hdu.header["DATE"] = (datetime.now(UTC).isoformat(timespec="seconds"), "file written (UTC)")
    return write_atomically(path, hdu, overwrite=overwrite, durable=durable)


def read_master_frame(path: str | os.PathLike[str]) -> MasterFrame:
    """Load a master written by ``write_product``; its file name becomes its ``name``.

    Raises ValueError when IMAGETYP is not a master type, OSError when unreadable.
    Statistics are the ones ``add_statistics`` recorded with the data (the checksums
    vouch for both); recomputed from the data when a card is missing.
    """
    path = Path(path)
    with fits.open(path, memmap=False) as hdus:
        header = hdus[0].header.copy()
        data = np.asarray(hdus[0].data, dtype=np.float32)
    kinds = {image_type: kind for kind, image_type in IMAGE_TYPES.items()}
    kind = kinds.get(str(header.get("IMAGETYP", "")).strip().upper())
    if kind is None:
        raise ValueError(f"{path}: IMAGETYP {header.get('IMAGETYP')!r} is not a master frame")
    exposure = header.get("EXPTIME")
    frame_count = int(header.get("NCOMBINE", 1))
    return MasterFrame(
        kind=kind,
        data=data,
        header=header,
        statistics=recorded_statistics(header) or frame_statistics(data, frame_count),
        exposure_s=float(exposure) if exposure is not None else None,
        filter_name=header.get("FILTER"),
        name=path.name,
    )
