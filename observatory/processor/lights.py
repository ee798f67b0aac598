"""The ``light`` step's unit: one light frame calibrated with the best masters.

Overscan subtracted and trimmed (when the frame has a readout), then
(raw - bias - dark x scale) / flat, written as ``products_dir/<batch>/calibrated/<name>``
with the masters cited in its header, and one ``calibrated_frames`` row per exposure
(upserted: a re-run replaces the file and resets the plate solution to pending). One
detector of a multi-extension file calibrated extension by extension is its own
exposure: ``<name>.<detector>.fits``, with that detector's masters. Under the ``skip``
rule a missing master leaves its correction out; the header (HISTORY, CALSTAT, the
CALMISS flag) and the row's ``corrections`` and ``incomplete`` say so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from astropy.io import fits

from observatory import __version__, calibration
from observatory.calibration.overscan import Readout
from observatory.calibration.products import card_path, text_card
from observatory.db import models
from observatory.db.models import CalibratedFrame, WcsStatus
from observatory.db.session import session_scope
from observatory.processor.corrections import choose_masters, geometry_corrections
from observatory.processor.normalised import refuse_normalised
from observatory.processor.products import exposure_stem, load_master, write_product
from observatory.processor.rawframes import raw_header
from observatory.processor.readouts import readout_from_json
from observatory.processor.stacks import UnitContext
from observatory.processor.upsert import upsert
from observatory.settings import Settings

ROLES = ("bias", "dark", "flat")


def calibrated_relative(batch: str, exposure: models.Exposure) -> str:
    """``<batch>/calibrated/<stem>.fits``, one file per detector of a multi-extension
    file (``<stem>.<detector>.fits``, see ``exposure_stem``)."""
    return f"{batch}/calibrated/{exposure_stem(exposure)}.fits"


def calibrate_light_unit(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """Calibrate one light; under ``fail`` raises MasterFrameMissing naming the master
    no batch or library holds (the frame is then left uncalibrated, never passed
    through). A light normalised to [0, 1] fails its unit with NormalisedFrame (see
    :mod:`observatory.processor.normalised`), checked before any master is loaded."""
    context = UnitContext(settings, unit)
    (exposure,) = context.exposures
    chosen = choose_masters(settings, exposure, context.wanted(exposure), ROLES)
    masters = {role: load_master(settings, row) for role, row in chosen.rows.items()}
    path = context.raw(exposure)
    readout = None if exposure.readout is None else readout_from_json(exposure.readout)
    refuse_normalised(path, [0] if readout is None else [a.plane for a in readout.amplifiers])
    result = calibration.calibrate_light(
        path, masters.get("bias"), masters.get("dark"), masters.get("flat"),
        exposure_s=exposure.exptime_s, readout=readout,
        header=light_header(exposure, path, readout),
    )  # fmt: skip
    applied, not_needed = geometry_corrections(exposure.readout)
    applied |= {role: row.path for role, row in chosen.rows.items()}
    corrections = calibration.Corrections(
        applied, dict(chosen.missing), not_needed | chosen.not_needed
    )
    header = result.header
    corrections.write(header)
    header["RAWFILE"] = text_card("RAWFILE", card_path(exposure.path), "raw frame (URL-encoded)")
    header["PIPENAME"] = ("observatory", "software that made this product")
    header["PIPEVERS"] = (__version__, "version of that software")
    header["WCSSTAT"] = (WcsStatus.PENDING.value, "plate solution status")
    relative = calibrated_relative(context.batch.name, exposure)
    write_product(settings, relative, result.data, header)
    statistics = calibration.frame_statistics(result.data, 1)
    rows = chosen.rows
    values = {
        "exposure_pk": exposure.pk, "path": relative,
        "bias_pk": _pk(rows, "bias"), "dark_pk": _pk(rows, "dark"), "flat_pk": _pk(rows, "flat"),
        "stats": dict(vars(statistics)), "wcs_status": WcsStatus.PENDING,
        "ra_center_deg": None, "dec_center_deg": None, "pixel_scale_arcsec": None,
        "solve_time_s": None, "matched_stars": None, "plate_solver": None,
        "quality": None, "quality_flags": [],
        "created_at": dt.datetime.now(dt.UTC),
        "origin_url": settings.fileserver.public_url,
        "corrections": corrections.as_json(), "incomplete": corrections.incomplete,
    }  # fmt: skip
    with session_scope(settings.sqlalchemy_url) as session:
        upsert(session, CalibratedFrame, values, ["exposure_pk"])
    return {"exposure": exposure.path, "detector": exposure.detector, "path": relative,
            "masters": {role: row.path for role, row in rows.items()},
            "missing": dict(chosen.missing), "not_needed": corrections.not_needed,
            "dark_scale": header.get("DARKSCAL")}  # fmt: skip


def light_header(exposure: models.Exposure, path: Path, readout: Readout | None) -> fits.Header:
    """The raw header the calibrated frame carries, its FILTER set to the filter ingest
    read (from whichever card the profile names, blanks stripped, a number as text), so
    that the flat check and later readers see one name for it. One detector of a
    multi-extension file: the primary header with its extension's cards over it, and
    DETNAME and RAWHDU naming it."""
    header = fits.getheader(path) if readout is None else raw_header(path, readout)
    if exposure.detector and readout is not None:
        header["DETNAME"] = (exposure.detector, "detector (extension) of the raw file")
        header["RAWHDU"] = (readout.amplifiers[0].plane, "HDU of the raw file it comes from")
    card = (exposure.cards or {}).get("filter")
    if exposure.filter is None:
        header.remove("FILTER", ignore_missing=True)
    elif header.get("FILTER") != exposure.filter:
        # Another card, or FILTER as written (3, '  Ha') rather than as ingest read it.
        header["FILTER"] = (exposure.filter, f"filter, read from {card}")
    return header


def _pk(rows: dict[str, Any], role: str) -> int | None:
    row = rows.get(role)
    return None if row is None else int(row.pk)
