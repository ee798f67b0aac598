"""Plate-solve FITS files by hand (``observatory solve``): the same code as the processor,
with the hints from each file's header.

The result of a file is a plain dict: ``file``, ``solved``, ``ra_deg``, ``dec_deg``
(the frame's centre), ``scale_arcsec`` [arcsec/px], ``seconds`` (read, extraction and
solve), ``solver``, ``matched_stars`` and, for a file that could not be read or hinted,
``error`` naming why (nothing is written to any file).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from observatory.errors import ObservatoryError
from observatory.platesolve.frame import solve_frame
from observatory.platesolve.hints import hints_from_header
from observatory.settings import Settings


class FrameUnreadable(ObservatoryError):
    """A file that is not a FITS file holding a 2-D image."""


def read_frame(path: Path) -> tuple[NDArray[np.generic], fits.Header]:
    """The first 2-D image of a FITS file and its header; raises FrameUnreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdus:
                for hdu in hdus:
                    if hdu.data is not None and hdu.data.ndim == 2:
                        return hdu.data, hdu.header.copy()
    except (OSError, ValueError, TypeError, IndexError) as error:
        raise FrameUnreadable(f"not a readable FITS file: {error}") from error
    raise FrameUnreadable("no 2-D image in the file")


def solve_file(settings: Settings, path: Path) -> dict[str, Any]:
    """Solve one file; see the module docstring for the result. Raises only for a solver
    that crashed (solve-field exiting with an error)."""
    started = time.perf_counter()
    result: dict[str, Any] = {
        "file": str(path), "solved": False, "ra_deg": None, "dec_deg": None,
        "scale_arcsec": None, "seconds": None, "solver": None, "matched_stars": None,
    }  # fmt: skip
    try:
        data, header = read_frame(path)
        hints = hints_from_header(header, settings)
    except ObservatoryError as error:
        return {**result, "error": str(error)}
    solution = solve_frame(settings, data, hints, path).solution
    result["seconds"] = round(time.perf_counter() - started, 4)
    if solution is None:
        return result
    return {
        **result, "solved": True,
        "ra_deg": round(solution.ra_center_deg, 7), "dec_deg": round(solution.dec_center_deg, 7),
        "scale_arcsec": round(solution.pixel_scale_arcsec, 5),
        "solver": solution.solver, "matched_stars": solution.matched_stars,
    }  # fmt: skip
