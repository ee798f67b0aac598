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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from astropy.io import fits

from observatory.calibration.sections import Section
from observatory.errors import FrameMismatch

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
    plane: np.ndarray, amp: Amplifier, method: OverscanMethod, order: int
) -> np.ndarray:
    """The level to subtract from the amplifier's data section, shaped to broadcast
    against it (a column for per-row levels, a row for per-column levels) [adu].

    Raises FrameMismatch when the overscan does not cover the data's rows (or columns)
    and no polynomial is fitted to reach them."""
    assert amp.overscan is not None
    scan = amp.overscan
    strip = np.asarray(plane[scan.rows[0] : scan.rows[1], scan.cols[0] : scan.cols[1]], np.float64)
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
        level = np.polynomial.polynomial.polyval(wanted, coefficients)
    else:
        if wanted.min() < 0 or wanted.max() >= values.size:
            raise FrameMismatch(f"overscan {scan.fits()} does not cover the data {amp.data.fits()}")
        level = values[wanted]
    return level[:, None] if per_row else level[None, :]


def prepare_image(planes: Mapping[int, np.ndarray], readout: Readout) -> np.ndarray:
    """Subtract each amplifier's overscan and assemble the data sections: a new float32
    image of ``readout.shape``. Raises FrameMismatch when a section lies outside its
    plane or amplifiers do not tile the output."""
    out = np.empty(readout.shape, np.float32)
    covered = 0
    for amp in readout.amplifiers:
        plane = planes[amp.plane]
        for section in (amp.data, amp.overscan):
            if section is not None and not section.within(plane.shape):
                raise FrameMismatch(
                    f"section {section.fits()} lies outside the image {plane.shape}"
                )
        rows, cols = amp.data.shape
        r0, c0 = amp.placement
        target = out[r0 : r0 + rows, c0 : c0 + cols]
        if target.shape != (rows, cols):
            raise FrameMismatch(f"data {amp.data.fits()} does not fit the output {readout.shape}")
        data = plane[amp.data.slices]
        if amp.overscan is None:
            np.copyto(target, data, casting="unsafe")
        else:
            level = overscan_level(plane, amp, readout.method, readout.order)
            np.subtract(data, level, out=target, dtype=np.float64, casting="unsafe")
        covered += rows * cols
    if covered != out.size:
        raise FrameMismatch(f"amplifiers cover {covered} of the {out.size} output pixels")
    return out


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
