"""Overscan subtraction and trimming: raw readout planes into one calibrated-size image.

A readout is one or more amplifiers, each with a data section and (optionally) an
overscan section in one image plane (an HDU). For each amplifier the overscan level is
taken per row when the overscan strip is taller than wide (columns beside the data) and
per column otherwise (rows below or above it), as ccdproc's ``subtract_overscan`` decides;
the level is the strip's median (or mean) along the other axis, optionally replaced by a
low-order polynomial fitted to it. The amplifier's data section, minus its level, is
placed at its position in the output image.

Arithmetic is float64 and the result float32, so the result equals ccdproc's
``subtract_overscan`` then ``trim_image`` to float32 precision.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from astropy.io import fits

from observatory.calibration.correction import correct_frame
from observatory.calibration.fitslayout import read_image_layout, scale_like_astropy
from observatory.calibration.kernels import PARALLEL_LOCK
from observatory.calibration.readout_kernel import calibrate_block
from observatory.calibration.sections import Section
from observatory.errors import FlatFieldInvalid, FrameMismatch

OverscanMethod = Literal["median", "mean", "fit"]


@dataclass(frozen=True)
class PreparedFrame:
    """A raw frame after overscan subtraction and trimming: float32 data [adu] and the
    raw header (CCDData-like, so every calibration function takes it)."""

    data: np.ndarray
    header: fits.Header


@dataclass(frozen=True)
class Amplifier:
    """One amplifier's pixels: where its data and overscan lie in plane ``plane``
    (an HDU index), and where its data goes in the output (row, column offsets)."""

    data: Section
    overscan: Section | None
    placement: tuple[int, int]
    plane: int = 0


@dataclass(frozen=True)
class Readout:
    """How the planes of a raw file become one image: amplifiers, output shape
    (rows, columns) and the overscan method (``fit``: a polynomial of ``order``
    fitted to the median level)."""

    amplifiers: tuple[Amplifier, ...]
    shape: tuple[int, int]
    method: OverscanMethod = "median"
    order: int = 1

    def describe(self) -> list[str]:
        """One line per amplifier, for HISTORY cards."""
        lines = []
        for amp in self.amplifiers:
            where = f"plane {amp.plane} " if len(self.amplifiers) > 1 else ""
            scan = "no overscan" if amp.overscan is None else f"overscan {amp.overscan.fits()}"
            lines.append(f"{where}data {amp.data.fits()}, {scan}")
        return lines


def overscan_level(
    strip: np.ndarray, amp: Amplifier, method: OverscanMethod, order: int
) -> tuple[np.ndarray, bool]:
    """The level to subtract from the amplifier's data section [adu], one value per data
    row (second item True) or per data column (False), in the data's own direction.

    ``strip`` holds the values of the amplifier's overscan section. Raises
    FrameMismatch when the overscan does not cover the data's rows (or columns) and no
    polynomial is fitted to reach them."""
    assert amp.overscan is not None
    scan = amp.overscan
    strip = np.asarray(strip, np.float64)
    per_row = strip.shape[0] >= strip.shape[1]
    axis = 1 if per_row else 0
    values = np.mean(strip, axis=axis) if method == "mean" else np.median(strip, axis=axis)
    span, data_span, reversed_ = (
        (scan.rows, amp.data.rows, amp.data.rows_reversed)
        if per_row
        else (scan.cols, amp.data.cols, amp.data.cols_reversed)
    )
    wanted = np.arange(data_span[0], data_span[1]) - span[0]
    if reversed_:
        wanted = wanted[::-1]
    if method == "fit":
        coefficients = np.polynomial.polynomial.polyfit(np.arange(values.size), values, order)
        return np.polynomial.polynomial.polyval(wanted, coefficients), per_row
    if wanted.min() < 0 or wanted.max() >= values.size:
        raise FrameMismatch(f"overscan {scan.fits()} does not cover the data {amp.data.fits()}")
    return values[wanted], per_row


def _strip(plane: np.ndarray, scan: Section) -> np.ndarray:
    return plane[scan.rows[0] : scan.rows[1], scan.cols[0] : scan.cols[1]]


def _check_sections(amp: Amplifier, shape: tuple[int, ...]) -> None:
    for section in (amp.data, amp.overscan):
        if section is not None and not section.within((shape[0], shape[1])):
            raise FrameMismatch(f"section {section.fits()} lies outside the image {shape}")


def prepare_image(planes: Mapping[int, np.ndarray], readout: Readout) -> np.ndarray:
    """Subtract each amplifier's overscan and assemble the data sections: a new float32
    image of ``readout.shape``. Raises FrameMismatch when a section lies outside its
    plane or amplifiers do not tile the output."""
    out = np.empty(readout.shape, np.float32)
    for amp in _tiling(readout):
        plane = planes[amp.plane]
        _check_sections(amp, plane.shape)
        rows, cols = amp.data.shape
        r0, c0 = amp.placement
        target = out[r0 : r0 + rows, c0 : c0 + cols]
        data = plane[amp.data.slices]
        if amp.overscan is None:
            np.copyto(target, data, casting="unsafe")
        else:
            level, per_row = overscan_level(_strip(plane, amp.overscan), amp, readout.method,
                                            readout.order)  # fmt: skip
            shaped = level[:, None] if per_row else level[None, :]
            np.subtract(data, shaped, out=target, dtype=np.float64, casting="unsafe")
    return out


def check_tiling(readout: Readout) -> None:
    """Raise FrameMismatch unless the amplifiers' data tile the output exactly once
    (no gap, no overlap): what an assembled readout must do."""
    _tiling(readout)


def _tiling(readout: Readout) -> tuple[Amplifier, ...]:
    """The amplifiers, checked to tile the output exactly once. Raises FrameMismatch."""
    boxes = []
    for amp in readout.amplifiers:
        (rows, cols), (r0, c0) = amp.data.shape, amp.placement
        if r0 + rows > readout.shape[0] or c0 + cols > readout.shape[1]:
            raise FrameMismatch(f"data {amp.data.fits()} does not fit the output {readout.shape}")
        boxes.append((r0, r0 + rows, c0, c0 + cols))
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                raise FrameMismatch("two amplifiers' data land on the same output pixels")
    covered = sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes)
    size = readout.shape[0] * readout.shape[1]
    if covered != size:
        raise FrameMismatch(f"amplifiers cover {covered} of the {size} output pixels")
    return readout.amplifiers


def read_plane_values(
    path: str | os.PathLike[str], indices: Iterable[int]
) -> dict[int, np.ndarray]:
    """The values (as astropy decodes them) of the image HDUs ``indices`` of a FITS file.

    A plain file's primary image is read straight from disk; anything else (extensions,
    tile compression, gzip) through astropy. Raises OSError for an unreadable file."""
    wanted = sorted(set(indices))
    if wanted == [0] and _plain_file(path):
        layout = read_image_layout(path)
        rows, cols = layout.shape
        raw = np.fromfile(path, layout.raw_dtype, rows * cols, offset=layout.data_offset)
        return {0: scale_like_astropy(raw.reshape(rows, cols), layout)}
    with fits.open(path, memmap=False) as hdus:
        # A cube of one plane (NAXIS3 = 1) is that plane.
        return {index: _plane(np.asarray(hdus[index].data)) for index in wanted}


def _plane(values: np.ndarray) -> np.ndarray:
    return values[0] if values.ndim == 3 and values.shape[0] == 1 else values


def _plain_file(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as handle:
        return handle.read(6) == b"SIMPLE"


def packed_placements(sections: Sequence[Section]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Output offsets of data sections of one plane, packed edge to edge in the order
    they lie (gaps such as overscan strips between them removed), and the output shape.

    Raises FrameMismatch when the sections do not form a full grid."""
    row_spans = sorted({s.rows for s in sections})
    col_spans = sorted({s.cols for s in sections})
    row_at = _offsets(row_spans)
    col_at = _offsets(col_spans)
    if len(row_spans) * len(col_spans) != len(sections):
        raise FrameMismatch("the data sections do not form a grid of amplifiers")
    shape = (sum(b - a for a, b in row_spans), sum(b - a for a, b in col_spans))
    return [(row_at[s.rows], col_at[s.cols]) for s in sections], shape


def _offsets(spans: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    offsets, at = {}, 0
    for span in spans:
        offsets[span] = at
        at += span[1] - span[0]
    return offsets


def _fast_words(path: str | os.PathLike[str], readout: Readout) -> tuple[np.ndarray, float] | None:
    """The primary image's stored words (native uint16 view of the big-endian data) and
    BZERO, when the compiled pass can read them: a plain file, 16-bit integers with an
    integral BZERO, every amplifier in the primary HDU and read in its own direction."""
    if any(a.plane != 0 or a.data.rows_reversed or a.data.cols_reversed
           for a in readout.amplifiers) or not _plain_file(path):  # fmt: skip
        return None
    layout = read_image_layout(path)
    if not layout.fast_int16:
        return None
    rows, cols = layout.shape
    words = np.fromfile(path, np.uint16, rows * cols, offset=layout.data_offset)
    if words.size != rows * cols:
        raise FrameMismatch(f"{path}: the file ends inside its image data")
    return words.reshape(rows, cols), float(layout.bzero)


def calibrate_readout(
    path: str | os.PathLike[str],
    readout: Readout,
    bias: np.ndarray,
    dark: np.ndarray,
    dark_scale: float,
    flat: np.ndarray | None,
) -> np.ndarray:
    """Overscan, trim, then ((value - bias) - dark * dark_scale) / flat, float32, of the
    raw file at ``path``: one compiled pass for the usual 16-bit camera file, else
    ``prepare_image`` then ``correct_frame`` (the same numbers). Masters are float32 of
    ``readout.shape``. Raises FrameMismatch, FlatFieldInvalid, OSError."""
    for role, master in {"bias": bias, "dark": dark, "flat": flat}.items():
        if master is not None and master.shape != readout.shape:
            raise FrameMismatch(f"{role} shape {master.shape} differs from frame {readout.shape}")
    fast = _fast_words(path, readout)
    if fast is None:
        planes = read_plane_values(path, (a.plane for a in readout.amplifiers))
        return correct_frame(prepare_image(planes, readout), bias, dark, dark_scale, flat)
    words, bzero = fast
    out = np.empty(readout.shape, np.float32)
    flat32 = np.ones((1, 1), np.float32) if flat is None else flat
    bad = 0
    for amp in _tiling(readout):
        _check_sections(amp, words.shape)
        rows, cols = amp.data.shape
        if amp.overscan is None:
            level, per_row = np.zeros(rows), True
        else:
            strip = _strip(words, amp.overscan).byteswap().view(np.int16).astype(np.float64)
            level, per_row = overscan_level(strip + bzero, amp, readout.method, readout.order)
        with PARALLEL_LOCK:
            bad += calibrate_block(
                words, bzero, amp.data.rows[0], amp.data.cols[0], rows, cols,
                np.ascontiguousarray(level, np.float64), per_row, bias, dark, float(dark_scale),
                flat32, flat is not None, amp.placement[0], amp.placement[1], out,
            )  # fmt: skip
    if bad:
        raise FlatFieldInvalid(f"flat has {bad} pixels that are zero, negative or not finite")
    return out
