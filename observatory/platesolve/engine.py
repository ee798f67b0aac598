"""astrometry.net's engine in process, through the ``astrometry`` package.

The index files are opened once per process and kept (a worker solves many frames).
The engine runs without its SIP tune-up, which costs ~0.06 s a frame: the TAN solution
of its quad is refitted on every matched star instead (``wcsfit``), and the SIP tune-up
runs only for a frame whose TAN fit leaves residuals a SIP polynomial is for.
"""

from __future__ import annotations

import functools
import glob
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from numpy.typing import NDArray

from observatory.platesolve.hints import Hints
from observatory.platesolve.sources import Sources
from observatory.platesolve.wcsfit import MIN_PAIRS, TanFit, cross_match, refit_tan, tan_wcs

try:
    import astrometry
except ImportError:  # the fallback (solve-field) serves where the package is absent
    astrometry = None

# The brightest sources handed to the engine: enough for quads on any field, few enough
# that a field of thousands of stars costs no more than one of a hundred.
MAX_STARS = 100
# How far a catalogue star may land from its source under the quad's WCS [px].
MATCH_RADIUS_PX = 3.0
# TAN residuals [px] above which a SIP polynomial (order 2, solve-field's default) is tried.
SIP_WHEN_RMS_PX = 0.3
SIP_ORDER = 2


@dataclass(frozen=True)
class EngineSolution:
    """The refitted WCS and the catalogue stars (with their index tag-along columns,
    e.g. ``MAG_VT``) matched with sources (``pairs.source_index`` into the Sources)."""

    fit: TanFit
    star_metadata: tuple[dict[str, Any], ...]


def available() -> bool:
    return astrometry is not None


def index_files(index_glob: str) -> tuple[str, ...]:
    return tuple(sorted(glob.glob(index_glob)))


@functools.cache
def _solver(files: tuple[str, ...]) -> Any:
    """One engine per set of index files, kept for the life of the process."""
    return astrometry.Solver([Path(name) for name in files])


def solve_sources(sources: Sources, hints: Hints, files: tuple[str, ...]) -> EngineSolution | None:
    """The plate solution of ``sources`` (None when the engine finds none).

    Raises RuntimeError when the ``astrometry`` package is absent or ``files`` is empty
    (callers check ``available()`` and ``index_files`` first)."""
    if astrometry is None or not files:
        raise RuntimeError("the astrometry package and index files are needed")
    if len(sources) < 4:
        return None
    match = _match(sources, hints, files, sip_order=0)
    if match is None:
        return None
    fit = _refit(match, sources)
    if fit is None:
        return None
    if fit.rms_px > SIP_WHEN_RMS_PX:
        sip = _sip_solution(sources, hints, files, fit)
        if sip is not None:
            return sip
    return EngineSolution(fit, _metadata(match, fit))


def _match(sources: Sources, hints: Hints, files: tuple[str, ...], sip_order: int) -> Any:
    # The engine numbers pixels from 1 (FITS); sources are 0-based.
    stars = np.column_stack([sources.x_px[:MAX_STARS] + 1.0, sources.y_px[:MAX_STARS] + 1.0])
    scale = hints.scale_range_arcsec()
    size_hint = None if scale is None else astrometry.SizeHint(*scale)
    position_hint = None
    if hints.ra_deg is not None and hints.dec_deg is not None:
        position_hint = astrometry.PositionHint(
            hints.ra_deg % 360.0, float(np.clip(hints.dec_deg, -90.0, 90.0)), hints.radius_deg
        )
    parameters = astrometry.SolutionParameters(
        sip_order=sip_order,
        tune_up_logodds_threshold=14.0 if sip_order else None,
        # The engine keeps searching for better matches unless told to stop; the first
        # verified match (log-odds >= 21, i.e. ~1e9 to 1 against chance) is the answer.
        logodds_callback=lambda _logodds: astrometry.Action.STOP,
    )
    solution = _solver(files).solve(stars, size_hint, position_hint, parameters)
    return solution.best_match() if solution.has_match() else None


def _wcs_of(match: Any) -> WCS:
    fields = {key: value for key, (value, _comment) in match.wcs_fields.items()}
    if "A_ORDER" not in fields:
        cd = np.array([[fields["CD1_1"], fields["CD1_2"]], [fields["CD2_1"], fields["CD2_2"]]])
        crval = (fields["CRVAL1"], fields["CRVAL2"])
        return tan_wcs(crval, (fields["CRPIX1"], fields["CRPIX2"]), cd)
    header = fits.Header()
    for key, (value, comment) in match.wcs_fields.items():
        header[key] = (value, comment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header)


def _catalogue(match: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ra = np.array([star.ra_deg for star in match.stars], dtype=np.float64)
    dec = np.array([star.dec_deg for star in match.stars], dtype=np.float64)
    return ra, dec


def _refit(match: Any, sources: Sources) -> TanFit | None:
    ra, dec = _catalogue(match)
    pairs = cross_match(
        _wcs_of(match), ra, dec, sources.x_px + 1.0, sources.y_px + 1.0, MATCH_RADIUS_PX
    )
    if len(pairs) < MIN_PAIRS:
        return None
    height, width = sources.shape
    crpix = ((width + 1) / 2.0, (height + 1) / 2.0)
    return refit_tan(pairs, crpix, (match.center_ra_deg, match.center_dec_deg))


def _sip_solution(
    sources: Sources, hints: Hints, files: tuple[str, ...], tan: TanFit
) -> EngineSolution | None:
    """The engine's SIP solution when its residuals beat the TAN fit's, else None."""
    match = _match(sources, hints, files, sip_order=SIP_ORDER)
    if match is None:
        return None
    wcs = _wcs_of(match)
    ra, dec = _catalogue(match)
    pairs = cross_match(wcs, ra, dec, sources.x_px + 1.0, sources.y_px + 1.0, MATCH_RADIUS_PX)
    if len(pairs) < MIN_PAIRS:
        return None
    star_x, star_y = wcs.all_world2pix(pairs.ra_deg, pairs.dec_deg, 1)
    rms_px = float(np.sqrt(np.mean((star_x - pairs.x_px) ** 2 + (star_y - pairs.y_px) ** 2)))
    if rms_px >= tan.rms_px:
        return None
    fit = TanFit(wcs, pairs, rms_px)
    return EngineSolution(fit, _metadata(match, fit))


def _metadata(match: Any, fit: TanFit) -> tuple[dict[str, Any], ...]:
    return tuple(dict(match.stars[i].metadata) for i in fit.pairs.star_index)
