"""What a night produced, read back from SQL: steps, masters, solved frames and how far
the mount's reported pointing was from where the frames were solved."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from observatory.db.models import (
    CalibratedFrame,
    Exposure,
    FileBatch,
    MasterFrame,
    StepRun,
    WcsStatus,
)
from observatory.db.session import session_scope
from observatory.settings import Settings


@dataclass
class NightSummary:
    steps: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    masters: Counter[str] = field(default_factory=Counter)
    calibrated: int = 0
    solved: int = 0
    # Solved centre against the mount's reported RA/Dec, arcseconds, per solved frame.
    pointing_errors_arcsec: list[float] = field(default_factory=list)

    def lines(self) -> list[str]:
        steps = ", ".join(f"{count} {state}" for state, count in sorted(self.steps.items()))
        masters = ", ".join(f"{count} {kind}" for kind, count in sorted(self.masters.items()))
        result = [
            f"steps: {steps or 'none'}",
            f"master frames: {masters or 'none'}",
            f"calibrated frames: {self.calibrated}, plate-solved: {self.solved}",
        ]
        if self.pointing_errors_arcsec:
            errors = self.pointing_errors_arcsec
            result.append(
                f"pointing error (solved centre vs mount): median "
                f'{statistics.median(errors):.1f}", max {max(errors):.1f}"'
            )
        result += [f"skipped: {line}" for line in self.skipped]
        result += [f"FAILED: {line}" for line in self.failed]
        return result


def separation_arcsec(ra1_deg: float, dec1_deg: float, ra2_deg: float, dec2_deg: float) -> float:
    """Angular distance between two positions (haversine, stable at small angles)."""
    ra1, dec1, ra2, dec2 = map(math.radians, (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    term = (
        math.sin((dec2 - dec1) / 2) ** 2
        + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    )
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(term)))) * 3600.0


def summarise(settings: Settings, work_order_pks: list[int]) -> NightSummary:
    """The summary of the given orders (a night's orders and the ones they spawned)."""
    summary = NightSummary()
    in_batches = FileBatch.work_order_pk.in_(work_order_pks)
    with session_scope(settings.sqlalchemy_url) as session:
        runs = session.scalars(select(StepRun).where(StepRun.work_order_pk.in_(work_order_pks)))
        for run in runs:
            summary.steps[str(run.state)] += 1
            if run.state == "skipped":
                summary.skipped.append(f"{run.step}: {run.error or 'no reason recorded'}")
            elif run.state == "failed":
                summary.failed.append(f"{run.step} (attempt {run.attempt}): {run.error}")
        for kind in session.scalars(
            select(MasterFrame.kind).where(MasterFrame.file_batch.has(in_batches))
        ):
            summary.masters[str(kind)] += 1
        frames = session.execute(
            select(CalibratedFrame, Exposure)
            .join(Exposure, CalibratedFrame.exposure_pk == Exposure.pk)
            .where(Exposure.file_batch.has(in_batches))
        )
        for frame, exposure in frames:
            summary.calibrated += 1
            if frame.wcs_status != WcsStatus.SOLVED:
                continue
            summary.solved += 1
            ra, dec = exposure.ra_deg, exposure.dec_deg
            ra_solved, dec_solved = frame.ra_center_deg, frame.dec_center_deg
            if ra is None or dec is None or ra_solved is None or dec_solved is None:
                continue
            summary.pointing_errors_arcsec.append(separation_arcsec(ra, dec, ra_solved, dec_solved))
    return summary
