"""Text read from frame headers fits its columns on every database (PostgreSQL enforces
VARCHAR widths, SQLite does not): a filter name as long as an order may give one is
stored, with its masters; a longer one refuses that file alone, naming the card."""

from __future__ import annotations

from pathlib import Path

from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import FILTER_LENGTH, Exposure, MasterFrame
from observatory.db.session import session_scope
from observatory.settings import ProcessorSettings, Settings
from tests.unit.processor.conftest import run_chain
from tests.unit.processor.rawframes import nina_fpack_night, write_night

# What a wheel of two slots writes into FILTER1 and FILTER2, joined by ingest: 100.
FILTER1 = "Astrodon Ha 3nm Gen2 E-Series 36mm unmounted, slot 5 of the FLI CL1-10"
FILTER2 = "Baader UV/IR cut 36mm"


def test_long_filter_names_are_stored_and_longer_ones_refused_alone(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url,
        processor=ProcessorSettings.model_validate({"solve_timeout_s": 60.0}),
    )  # fmt: skip
    night = nina_fpack_night()
    for hdus in night.values():
        hdus[0].header.remove("FILTER")
        hdus[0].header["FILTER1"], hdus[0].header["FILTER2"] = FILTER1, FILTER2
    too_long = fits.Header(night["LIGHT/light_2.fits.fz"][0].header, copy=True)
    too_long["FILTER1"] = "x" * FILTER_LENGTH  # a long string on CONTINUE cards
    night["LIGHT/light_2.fits.fz"][0].header = too_long
    url = write_night(tmp_path / "batches" / "long-filters", night)
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    assert [o["ok"] for o in outcomes["light"]] == [True, True], outcomes["light"]
    joined = f"{FILTER1}+{FILTER2}"
    with session_scope(database_url) as session:
        rows = {e.path: e for e in session.scalars(select(Exposure))}
        rejected = rows["LIGHT/light_2.fits.fz"]
        assert rejected.state == "rejected"
        assert rejected.error == (
            f"FILTER1+FILTER2 {'x' * 40!r}... is {FILTER_LENGTH + 1 + len(FILTER2)} characters"
            f" long, over the {FILTER_LENGTH} a filter name may have (profile default)"
        )
        assert rows["LIGHT/light_0.fits.fz"].filter == joined
        flat = session.scalars(select(MasterFrame).where(MasterFrame.kind == "flat")).one()
        assert flat.filter == joined and joined in flat.group_key
