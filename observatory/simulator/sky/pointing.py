"""The mount's pointing error: where it truly points versus what it reports.

true = reported, offset in the tangent plane by (east, north) arcseconds, where the
offset is a fixed part (a mis-aligned model), a random part drawn at each slew (seeded),
and a correction learnt from syncs (a sync makes the reported position equal the given
coordinates without moving the telescope).
"""

from __future__ import annotations

import random

from observatory.simulator.sky.projection import offset_between, offset_sky


class PointingModel:
    """Pointing error state of one mount."""

    def __init__(
        self,
        fixed_east_arcsec: float,
        fixed_north_arcsec: float,
        random_sigma_arcsec: float,
        rng: random.Random,
    ) -> None:
        self.fixed = (fixed_east_arcsec, fixed_north_arcsec)
        self.random_sigma_arcsec = random_sigma_arcsec
        self._rng = rng
        self._random = (0.0, 0.0)
        self._sync = (0.0, 0.0)

    @property
    def error_arcsec(self) -> tuple[float, float]:
        """Present (east, north) offset of the true from the reported pointing."""
        return (
            self.fixed[0] + self._random[0] + self._sync[0],
            self.fixed[1] + self._random[1] + self._sync[1],
        )

    def new_slew(self) -> None:
        """Draw the random part for a slew that starts now."""
        sigma = self.random_sigma_arcsec
        self._random = (self._rng.gauss(0.0, sigma), self._rng.gauss(0.0, sigma))

    def true_from_reported(self, ra_deg: float, dec_deg: float) -> tuple[float, float]:
        east, north = self.error_arcsec
        return offset_sky(ra_deg, dec_deg, east, north)

    def sync(self, reported_deg: tuple[float, float], true_deg: tuple[float, float]) -> None:
        """After a sync the telescope still points at ``true_deg`` but reports
        ``reported_deg``: absorb the difference into the sync correction."""
        east, north = offset_between(*reported_deg, *true_deg)
        self._sync = (
            east - self.fixed[0] - self._random[0],
            north - self.fixed[1] - self._random[1],
        )
