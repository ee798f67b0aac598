"""Planning a batch's units: which frames make one unit of each step, read back from the
``exposures`` rows as ingest records them. Darks by exposure time (within a shutter's
jitter) and filter, flats by filter, every group by binning, size and
detector; one unit per light; plate solves only for calibrated lights; rejected frames
never planned."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.orm import Session

from observatory.db.models import CalibratedFrame, Exposure, ExposureState, ImageType
from observatory.errors import ObservatoryError
from observatory.processor.plan import exposures_of, file_batch, names, plan_units
from tests.unit.processor.conftest import new_batch

NIGHT = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)
URL = "file:///data/batches/b1"
BIAS, DARK, FLAT, LIGHT = ImageType.BIAS, ImageType.DARK, ImageType.FLAT, ImageType.LIGHT
CALIBRATION_STEPS = ("bias", "dark", "flat_dark", "flat")


def exposure(
    session: Session,
    batch_pk: int,
    imagetyp: ImageType | str,
    *,
    minutes: float,
    exptime_s: float = 0.0,
    filter: str | None = None,
    binning: int = 1,
    shape: tuple[int, int] = (64, 48),
    detector: str = "",
    camera_setup: str = "",
    state: ExposureState = ExposureState.OK,
) -> int:
    """An exposure row as ingest records it, taken ``minutes`` after 22:00 UTC."""
    row = Exposure(
        file_batch_pk=batch_pk,
        path=f"{imagetyp}-{minutes:g}-{detector or 'all'}.fits",
        detector=detector,
        camera_setup=camera_setup,
        imagetyp=str(imagetyp),
        exptime_s=exptime_s,
        filter=filter,
        date_obs=NIGHT + dt.timedelta(minutes=minutes),
        binning=binning,
        naxis1=shape[0],
        naxis2=shape[1],
        state=state,
    )
    session.add(row)
    session.flush()
    return row.pk


def calibrated(session: Session, exposure_pk: int) -> None:
    session.add(CalibratedFrame(exposure_pk=exposure_pk, path=f"calibrated-{exposure_pk}.fits"))
    session.flush()


def planned(session: Session, step: str, name: str = "b1") -> dict[str, list[int]]:
    """The step's units by label, each with the pks of its frames (``exposures_of``), in
    the order planned."""
    pk = file_batch(session, name).pk
    units = plan_units(session, name, URL, step)
    by_label = {unit["label"]: [e.pk for e in exposures_of(session, pk, step, unit["group"])]
                for unit in units}  # fmt: skip
    assert len(by_label) == len(units), "two units of one step share a label"
    return by_label


def test_darks_of_two_exposure_times_are_two_units_each_with_only_its_own_frames(
    session: Session,
) -> None:
    b1 = new_batch(session)
    # Interleaved in time, as a camera taking both exposure times in turn writes them.
    short = [exposure(session, b1, DARK, minutes=m, exptime_s=20.0) for m in (1, 3, 5)]
    long = [exposure(session, b1, DARK, minutes=m, exptime_s=60.0) for m in (2, 4)]
    assert planned(session, "dark") == {
        "20 s, binning 1, 64x48 px": short,
        "60 s, binning 1, 64x48 px": long,
    }


def test_a_dark_unit_is_json_naming_its_step_batch_url_group_and_label(session: Session) -> None:
    b1 = new_batch(session)
    exposure(session, b1, DARK, minutes=1, exptime_s=0.5, filter="R", binning=2, detector="CCD2",
             camera_setup="gain 100, offset 50")  # fmt: skip
    (unit,) = plan_units(session, "b1", URL, "dark")
    assert json.loads(json.dumps(unit)) == unit
    assert unit == {
        "step": "dark",
        "batch": "b1",
        "url": URL,
        "group": {"exptime_s": 0.5, "filter": "R", "binning": 2, "naxis1": 64, "naxis2": 48,
                  "detector": "CCD2", "camera_setup": "gain 100, offset 50",
                  "exptime_range_s": [0.5, 0.5]},
        "label": "0.5 s, filter R, binning 2, 64x48 px, detector CCD2, gain 100, offset 50",
    }  # fmt: skip


def test_darks_of_two_filters_are_two_units(session: Session) -> None:
    # "Group the Exposure by exposure time exptime and filter if any" (the design notes).
    b1 = new_batch(session)
    red = [exposure(session, b1, DARK, minutes=m, exptime_s=20.0, filter="R") for m in (1, 3)]
    blue = [exposure(session, b1, DARK, minutes=m, exptime_s=20.0, filter="B") for m in (2, 4)]
    none = [exposure(session, b1, DARK, minutes=5, exptime_s=20.0)]
    assert planned(session, "dark") == {
        "20 s, filter R, binning 1, 64x48 px": red,
        "20 s, filter B, binning 1, 64x48 px": blue,
        "20 s, binning 1, 64x48 px": none,
    }


def test_measured_dark_exposure_times_within_the_tolerance_are_one_unit(
    session: Session,
) -> None:
    b1 = new_batch(session)
    sixty = [exposure(session, b1, DARK, minutes=m, exptime_s=t)
             for m, t in ((1, 60.012), (2, 59.997), (3, 60.004))]  # fmt: skip
    # 0.1 % of 60 s is 60 ms: 60.1 s is another exposure time; at 1 s the 10 ms floor holds.
    longer = [exposure(session, b1, DARK, minutes=m, exptime_s=60.1) for m in (4, 5)]
    one = [exposure(session, b1, DARK, minutes=m, exptime_s=t)
           for m, t in ((6, 1.0), (7, 1.009))]  # fmt: skip
    other = [exposure(session, b1, DARK, minutes=8, exptime_s=1.02)]
    assert planned(session, "dark") == {
        "60.004 s (59.997-60.012 s), binning 1, 64x48 px": sixty,
        "60.1 s, binning 1, 64x48 px": longer,
        "1.0045 s (1-1.009 s), binning 1, 64x48 px": one,
        "1.02 s, binning 1, 64x48 px": other,
    }


@pytest.mark.parametrize("step", ["flat_dark", "flat"])
def test_flats_are_one_unit_per_filter_whatever_their_exposure_time(
    session: Session, step: str
) -> None:
    b1 = new_batch(session)
    red = [exposure(session, b1, FLAT, minutes=m, exptime_s=s, filter="R")
           for m, s in ((1, 1.0), (2, 1.5))]  # fmt: skip
    blue = [exposure(session, b1, FLAT, minutes=3, exptime_s=4.0, filter="B")]
    assert planned(session, step) == {
        "filter R, binning 1, 64x48 px": red,
        "filter B, binning 1, 64x48 px": blue,
    }


def test_bias_is_one_unit_whatever_the_exposure_time_recorded(session: Session) -> None:
    b1 = new_batch(session)
    frames = [exposure(session, b1, BIAS, minutes=m, exptime_s=m / 1000) for m in (1, 2, 3)]
    assert planned(session, "bias") == {"binning 1, 64x48 px": frames}


@pytest.mark.parametrize("step", CALIBRATION_STEPS)
def test_binning_size_and_detector_split_every_calibration_group(
    session: Session, step: str
) -> None:
    """Each unit is named apart from the others: a step's outputs are listed by label."""
    b1 = new_batch(session)
    imagetyp = {"bias": BIAS, "dark": DARK}.get(step, FLAT)
    same = {"exptime_s": 0.0 if step == "bias" else 20.0, "filter": "R"}
    base = exposure(session, b1, imagetyp, minutes=1, **same)
    binned = exposure(session, b1, imagetyp, minutes=2, binning=2, shape=(32, 24), **same)
    subframe = exposure(session, b1, imagetyp, minutes=3, shape=(32, 48), **same)
    shorter = exposure(session, b1, imagetyp, minutes=4, shape=(64, 24), **same)
    ccd2 = exposure(session, b1, imagetyp, minutes=5, detector="CCD2", **same)
    base_again = exposure(session, b1, imagetyp, minutes=6, **same)
    prefix = {"bias": "", "dark": "20 s, filter R, "}.get(step, "filter R, ")
    assert planned(session, step) == {
        f"{prefix}binning 1, 64x48 px": [base, base_again],
        f"{prefix}binning 2, 32x24 px": [binned],
        f"{prefix}binning 1, 32x48 px": [subframe],
        f"{prefix}binning 1, 64x24 px": [shorter],
        f"{prefix}binning 1, 64x48 px, detector CCD2": [ccd2],
    }


@pytest.mark.parametrize("step", CALIBRATION_STEPS)
def test_each_camera_setup_is_its_own_calibration_group(session: Session, step: str) -> None:
    b1 = new_batch(session)
    imagetyp = {"bias": BIAS, "dark": DARK}.get(step, FLAT)
    same = {"exptime_s": 0.0 if step == "bias" else 20.0, "filter": "R"}
    low = exposure(session, b1, imagetyp, minutes=1, camera_setup="gain 0, offset 10", **same)
    high = exposure(session, b1, imagetyp, minutes=2, camera_setup="gain 100, offset 50", **same)
    corner = exposure(session, b1, imagetyp, minutes=3, camera_setup="origin 48,32", **same)
    none = exposure(session, b1, imagetyp, minutes=4, **same)
    prefix = {"bias": "", "dark": "20 s, filter R, "}.get(step, "filter R, ")
    assert planned(session, step) == {
        f"{prefix}binning 1, 64x48 px, gain 0, offset 10": [low],
        f"{prefix}binning 1, 64x48 px, gain 100, offset 50": [high],
        f"{prefix}binning 1, 64x48 px, origin 48,32": [corner],
        f"{prefix}binning 1, 64x48 px": [none],
    }


def test_rejected_frames_are_never_planned(session: Session) -> None:
    b1 = new_batch(session)
    rejected = ExposureState.REJECTED
    kept = exposure(session, b1, DARK, minutes=1, exptime_s=20.0)
    exposure(session, b1, DARK, minutes=2, exptime_s=20.0, state=rejected)
    # A rejected frame alone in its group makes no unit.
    exposure(session, b1, DARK, minutes=3, exptime_s=90.0, state=rejected)
    exposure(session, b1, LIGHT, minutes=4, exptime_s=10.0, filter="R", state=rejected)
    exposure(session, b1, "focus", minutes=5, exptime_s=1.0, state=rejected)
    assert planned(session, "dark") == {"20 s, binning 1, 64x48 px": [kept]}
    assert plan_units(session, "b1", URL, "light") == []


def test_each_step_plans_only_its_own_image_type(session: Session) -> None:
    b1 = new_batch(session)
    frames = {kind: exposure(session, b1, kind, minutes=n, exptime_s=20.0)
              for n, kind in enumerate((BIAS, DARK, FLAT, LIGHT))}  # fmt: skip
    light = f"exposure {frames[LIGHT]}"
    assert planned(session, "bias") == {"binning 1, 64x48 px": [frames[BIAS]]}
    assert planned(session, "dark") == {"20 s, binning 1, 64x48 px": [frames[DARK]]}
    assert planned(session, "flat_dark") == {"binning 1, 64x48 px": [frames[FLAT]]}
    assert planned(session, "flat") == {"binning 1, 64x48 px": [frames[FLAT]]}
    assert planned(session, "light") == {light: [frames[LIGHT]]}


def test_a_step_without_frames_has_no_units(session: Session) -> None:
    b1 = new_batch(session)
    exposure(session, b1, LIGHT, minutes=1, exptime_s=10.0)
    for step in CALIBRATION_STEPS:
        assert plan_units(session, "b1", URL, step) == []
    # Nothing calibrated yet: nothing to solve.
    assert plan_units(session, "b1", URL, "astrometry") == []


def test_frames_of_another_batch_are_neither_planned_nor_given_to_a_unit(
    session: Session,
) -> None:
    b1, b2 = new_batch(session), new_batch(session, "b2")
    ours = exposure(session, b1, DARK, minutes=2, exptime_s=20.0)
    exposure(session, b2, DARK, minutes=1, exptime_s=20.0)
    exposure(session, b2, DARK, minutes=3, exptime_s=60.0)
    other_light = exposure(session, b2, LIGHT, minutes=4, exptime_s=10.0)
    calibrated(session, other_light)
    assert planned(session, "dark") == {"20 s, binning 1, 64x48 px": [ours]}
    assert plan_units(session, "b1", URL, "light") == []
    assert plan_units(session, "b1", URL, "astrometry") == []


def test_lights_are_one_unit_each_in_the_order_they_were_taken(session: Session) -> None:
    b1 = new_batch(session)
    # Recorded out of time order (ingest reads the files in name order).
    late, early, middle = (exposure(session, b1, LIGHT, minutes=m, exptime_s=10.0, filter="R")
                           for m in (30, 10, 20))  # fmt: skip
    units = plan_units(session, "b1", URL, "light")
    assert [unit["label"] for unit in units] == [f"exposure {pk}" for pk in (early, middle, late)]
    assert planned(session, "light") == {f"exposure {pk}": [pk] for pk in (early, middle, late)}
    assert [unit["step"] for unit in units] == ["light"] * 3


def test_a_unit_s_frames_come_in_the_order_they_were_taken(session: Session) -> None:
    b1 = new_batch(session)
    late, early = (exposure(session, b1, BIAS, minutes=m) for m in (9, 1))
    (unit,) = plan_units(session, "b1", URL, "bias")
    frames = exposures_of(session, b1, "bias", unit["group"])
    assert [e.pk for e in frames] == [early, late]
    assert names(frames) == ["bias-1-all.fits", "bias-9-all.fits"]


def test_plate_solves_are_planned_only_for_calibrated_lights_in_time_order(
    session: Session,
) -> None:
    b1 = new_batch(session)
    late, uncalibrated, early = (exposure(session, b1, LIGHT, minutes=m, exptime_s=10.0)
                                 for m in (30, 20, 10))  # fmt: skip
    calibrated(session, late)
    calibrated(session, early)
    units = plan_units(session, "b1", URL, "astrometry")
    assert [unit["label"] for unit in units] == [f"exposure {early}", f"exposure {late}"]
    assert {unit["step"] for unit in units} == {"astrometry"}
    assert planned(session, "astrometry") == {f"exposure {early}": [early],
                                              f"exposure {late}": [late]}  # fmt: skip
    # The light step still calibrates all three.
    assert len(plan_units(session, "b1", URL, "light")) == 3 and uncalibrated


def test_a_batch_never_ingested_is_refused_by_name(session: Session) -> None:
    new_batch(session)
    with pytest.raises(ObservatoryError, match=r"^batch 'b9' has not been ingested$"):
        plan_units(session, "b9", URL, "dark")
    with pytest.raises(ObservatoryError, match="'b9'"):
        file_batch(session, "b9")


def test_the_batch_is_found_by_its_own_name_among_others(session: Session) -> None:
    new_batch(session, "b0")
    b1 = new_batch(session)
    new_batch(session, "b2")
    assert file_batch(session, "b1").pk == b1
    exposure(session, b1, BIAS, minutes=1)
    assert [unit["batch"] for unit in plan_units(session, "b1", URL, "bias")] == ["b1"]


def test_planning_again_gives_the_same_units(session: Session) -> None:
    b1 = new_batch(session)
    for minutes, exptime_s in ((1, 60.0), (2, 20.0), (3, 60.0), (4, 20.0)):
        exposure(session, b1, DARK, minutes=minutes, exptime_s=exptime_s, filter="R")
    first = plan_units(session, "b1", URL, "dark")
    assert [unit["label"] for unit in first] == ["60 s, filter R, binning 1, 64x48 px",
                                                 "20 s, filter R, binning 1, 64x48 px"]  # fmt: skip
    assert plan_units(session, "b1", URL, "dark") == first


def test_frames_taken_at_the_same_instant_come_in_the_order_they_were_recorded(
    session: Session,
) -> None:
    """As the detectors of one multi-extension exposure: one DATE-OBS, one file, recorded
    extension by extension."""
    b1 = new_batch(session)
    recorded = [exposure(session, b1, LIGHT, minutes=1, exptime_s=10.0, detector=name)
                for name in ("im2", "im10", "im1")]  # fmt: skip
    units = plan_units(session, "b1", URL, "light")
    assert [unit["label"] for unit in units] == [f"exposure {pk}" for pk in recorded]
