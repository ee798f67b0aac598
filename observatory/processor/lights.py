"""The ``light`` step's unit: one light frame calibrated with the best masters.

(raw - bias - dark x scale) / flat, written as ``products_dir/<batch>/calibrated/<name>``
with the masters cited in its header, and one ``calibrated_frames`` row per exposure
(upserted: a re-run replaces the file and resets the plate solution to pending).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from observatory import __version__, calibration
from observatory.db.models import CalibratedFrame, WcsStatus
from observatory.db.session import session_scope
from observatory.processor import library
from observatory.processor.products import load_master, product_file
from observatory.processor.stacks import UnitContext
from observatory.processor.upsert import upsert
from observatory.settings import Settings
from observatory.transfer.listing import frame_stem


def calibrated_relative(batch: str, raw_path: str) -> str:
    return f"{batch}/calibrated/{frame_stem(raw_path)}.fits"


def calibrate_light_unit(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """Calibrate one light; raises MasterFrameMissing naming the master no batch or
    library holds (the frame is then left uncalibrated, never passed through)."""
    context = UnitContext(settings, unit)
    (exposure,) = context.exposures
    wanted = context.wanted(exposure)
    with session_scope(settings.sqlalchemy_url) as session:
        rows = {
            "bias": library.choose_bias(session, wanted),
            "dark": library.choose_dark(session, wanted),
            "flat": library.choose_flat(session, wanted),
        }
    masters = {role: load_master(settings, row) for role, row in rows.items()}
    result = calibration.calibrate_light(
        context.raw(exposure), masters["bias"], masters["dark"], masters["flat"],
        exposure_s=exposure.exptime_s,
    )  # fmt: skip
    header = result.header
    header["RAWFILE"] = (exposure.path, "raw frame in the batch")
    header["PIPENAME"] = ("observatory", "software that made this product")
    header["PIPEVERS"] = (__version__, "version of that software")
    header["WCSSTAT"] = (WcsStatus.PENDING.value, "plate solution status")
    relative = calibrated_relative(context.batch.name, exposure.path)
    calibration.write_product(product_file(settings, relative), result.data, header, overwrite=True)
    statistics = calibration.frame_statistics(result.data, 1)
    values = {
        "exposure_pk": exposure.pk, "path": relative,
        "bias_pk": rows["bias"].pk, "dark_pk": rows["dark"].pk, "flat_pk": rows["flat"].pk,
        "stats": dict(vars(statistics)), "wcs_status": WcsStatus.PENDING,
        "ra_center_deg": None, "dec_center_deg": None, "pixel_scale_arcsec": None,
        "solve_time_s": None, "matched_stars": None, "plate_solver": None,
        "created_at": dt.datetime.now(dt.UTC),
        "origin_url": settings.fileserver.public_url,
    }  # fmt: skip
    with session_scope(settings.sqlalchemy_url) as session:
        upsert(session, CalibratedFrame, values, ["exposure_pk"])
    return {"exposure": exposure.path, "path": relative,
            "masters": {role: row.path for role, row in rows.items()},
            "dark_scale": header["DARKSCAL"]}  # fmt: skip
