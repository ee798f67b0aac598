"""Solve one frame: astrometry.net's engine in process first, ``solve-field`` when the
engine finds no solution or cannot run here (package or index files absent).

A frame that neither solves is an outcome (``solution`` None), not an error.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from numpy.typing import NDArray

from observatory.platesolve import engine, solvefield
from observatory.platesolve.engine import EngineSolution
from observatory.platesolve.hints import Hints
from observatory.platesolve.sources import Sources, extract_sources
from observatory.settings import Settings

ENGINE = "engine"
SOLVE_FIELD = "solve-field"


@dataclass(frozen=True)
class PlateSolution:
    """The WCS header cards (SIP when it helped), the centre [deg], the scale
    [arcsec/px], the catalogue stars matched, the fit's rms [arcsec] (None from
    solve-field) and which solver found it."""

    wcs_header: fits.Header
    ra_center_deg: float
    dec_center_deg: float
    pixel_scale_arcsec: float
    matched_stars: int
    rms_arcsec: float | None
    solver: str


@dataclass(frozen=True)
class SolveOutcome:
    """A solution or None, the wall time [s] from the array to the answer (extraction
    included), the sources found, and the engine's matches (None when it did not solve)."""

    solution: PlateSolution | None
    seconds: float
    sources: Sources
    matches: EngineSolution | None


def engine_usable(settings: Settings) -> bool:
    return engine.available() and bool(engine.index_files(settings.processor.index_glob))


def solve_field_usable(settings: Settings) -> bool:
    return shutil.which(settings.processor.solve_field) is not None


def solve_frame(
    settings: Settings, data: NDArray[np.generic], hints: Hints, path: Path | None
) -> SolveOutcome:
    """Plate-solve the frame ``data[y, x]``; ``path`` is the same frame on disk, for the
    fallback (None: no fallback). Raises as ``solvefield.run_solver`` when solve-field
    crashes, and ValueError for an array that is not 2-D."""
    started = time.perf_counter()
    sources = extract_sources(data)
    files = engine.index_files(settings.processor.index_glob) if engine.available() else ()
    found = engine.solve_sources(sources, hints, files) if files else None
    if found is not None:
        wcs = found.fit.wcs
        solution = _solution(wcs, sources.shape, found.fit.rms_px, len(found.fit.pairs), ENGINE)
        return SolveOutcome(solution, time.perf_counter() - started, sources, found)
    fallback = None
    if path is not None and solve_field_usable(settings):
        fallback = solvefield.solve_field(settings, path, hints)
    elapsed_s = time.perf_counter() - started
    if fallback is None:
        return SolveOutcome(None, elapsed_s, sources, None)
    solved = _solution(fallback.wcs, sources.shape, None, fallback.matched_stars, SOLVE_FIELD)
    return SolveOutcome(solved, elapsed_s, sources, None)


def _solution(
    wcs: WCS, shape: tuple[int, int], rms_px: float | None, matched: int, solver: str
) -> PlateSolution:
    height, width = shape
    centre = wcs.all_pix2world([[(width + 1) / 2.0, (height + 1) / 2.0]], 1)[0]
    scale_arcsec = float(np.mean(proj_plane_pixel_scales(wcs.celestial)) * 3600.0)
    return PlateSolution(
        wcs_header=wcs.to_header(relax=True),
        ra_center_deg=float(centre[0]),
        dec_center_deg=float(centre[1]),
        pixel_scale_arcsec=scale_arcsec,
        matched_stars=matched,
        rms_arcsec=None if rms_px is None else rms_px * scale_arcsec,
        solver=solver,
    )
