"""FITS image sections (``[x1:x2,y1:y2]``) as numpy slices.

Sections are 1-based and inclusive, x (columns) first, as BIASSEC, DATASEC, TRIMSEC and
DETSEC write them; real headers put blanks inside (``[18:1382, 1:1370]``) and may count
an axis downwards (``[2048:1,1:4096]``, an amplifier read from the other side).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SECTION = re.compile(r"^\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]$")


@dataclass(frozen=True)
class Section:
    """A rectangle of pixels, 0-based half-open, plus whether each axis runs downwards.

    ``rows`` and ``cols`` are (start, stop) with start < stop whatever the direction."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    rows_reversed: bool = False
    cols_reversed: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows[1] - self.rows[0], self.cols[1] - self.cols[0]

    @property
    def slices(self) -> tuple[slice, slice]:
        """Slices that read the section in its own direction (x2 < x1: flipped)."""
        return _axis_slice(self.rows, self.rows_reversed), _axis_slice(
            self.cols, self.cols_reversed
        )

    def fits(self) -> str:
        """The section as FITS writes it (1-based, inclusive, in its own direction)."""
        x = _fits_axis(self.cols, self.cols_reversed)
        y = _fits_axis(self.rows, self.rows_reversed)
        return f"[{x},{y}]"

    def within(self, shape: tuple[int, int]) -> bool:
        return self.rows[1] <= shape[0] and self.cols[1] <= shape[1]


def _axis_slice(span: tuple[int, int], reversed_: bool) -> slice:
    if not reversed_:
        return slice(span[0], span[1])
    return slice(span[1] - 1, span[0] - 1 if span[0] > 0 else None, -1)


def _fits_axis(span: tuple[int, int], reversed_: bool) -> str:
    first, last = span[0] + 1, span[1]
    return f"{last}:{first}" if reversed_ else f"{first}:{last}"


def parse_section(text: object) -> Section:
    """The section a card's value names. Raises ValueError (saying what is expected)
    for anything but ``[x1:x2,y1:y2]`` with positive integers."""
    match = _SECTION.match(str(text).strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a FITS section [x1:x2,y1:y2]")
    x1, x2, y1, y2 = (int(group) for group in match.groups())
    if min(x1, x2, y1, y2) < 1:
        raise ValueError(f"{text!r}: FITS sections count from 1")
    return Section(
        rows=(min(y1, y2) - 1, max(y1, y2)),
        cols=(min(x1, x2) - 1, max(x1, x2)),
        rows_reversed=y2 < y1,
        cols_reversed=x2 < x1,
    )
