"""Choosing a master frame from the library: the batch's own first, never a bad one, then
the nearest in time; darks by exposure time (within a shutter's jitter; of the frame's
filter first, else of any), else the best one to scale."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from observatory.db.models import BIAS_INCLUDED_STAT, MasterFrame, MasterKind
from observatory.errors import MasterFrameMissing
from observatory.processor.library import Wanted, choose_bias, choose_dark, choose_flat
from tests.unit.processor.conftest import new_batch

NIGHT = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)


def master(
    session: Session,
    batch_pk: int,
    kind: MasterKind,
    *,
    hours: float,
    filter: str | None = None,
    exptime_s: float | None = None,
    binning: int = 1,
    shape: tuple[int, int] = (64, 48),
    bad: bool = False,
    detector: str = "",
    holds_bias: bool = False,
) -> int:
    if kind is MasterKind.BIAS and exptime_s is None:
        exptime_s = 0.0  # as the bias step stores its masters
    row = MasterFrame(
        kind=kind,
        file_batch_pk=batch_pk,
        filter=filter,
        exptime_s=exptime_s,
        binning=binning,
        detector=detector,
        naxis1=shape[0],
        naxis2=shape[1],
        path=f"/masters/{kind}-{batch_pk}-{hours}-{exptime_s}-{detector}.fits",
        n_inputs=5,
        inputs=[],
        method="median",
        date_obs=NIGHT + dt.timedelta(hours=hours),
        is_bad=bad,
        stats={BIAS_INCLUDED_STAT: True} if holds_bias else {},
    )
    session.add(row)
    session.flush()
    return row.pk


def wanted(batch_pk: int, **fields) -> Wanted:
    values = {"binning": 1, "naxis1": 64, "naxis2": 48, "date_obs": NIGHT, **fields}
    return Wanted(batch_pk=batch_pk, **values)


@pytest.fixture
def batches(session: Session) -> dict[str, int]:
    names = ("tonight", "yesterday", "last-week", "last-month")
    return {name: new_batch(session, name) for name in names}


BIAS, DARK, FLAT = MasterKind.BIAS, MasterKind.DARK, MasterKind.FLAT


def test_the_nearest_library_bias_in_time_wins(session: Session, batches) -> None:
    far = master(session, batches["last-month"], BIAS, hours=-700)
    near = master(session, batches["yesterday"], BIAS, hours=-23)
    later = master(session, batches["last-week"], BIAS, hours=+30)
    assert choose_bias(session, wanted(batches["tonight"])).pk == near
    # Distance counts both ways: a master made after the frame is as good as one before.
    assert choose_bias(session, wanted(batches["tonight"], date_obs=NIGHT.replace(day=8))).pk == (
        later
    )
    assert far not in {near, later}


def test_a_bad_master_nearer_in_time_loses_to_a_good_one_farther_away(
    session: Session, batches
) -> None:
    master(session, batches["yesterday"], BIAS, hours=-1, bad=True)
    good = master(session, batches["last-week"], BIAS, hours=-170)
    assert choose_bias(session, wanted(batches["tonight"])).pk == good
    master(session, batches["yesterday"], FLAT, filter="R", hours=-1, bad=True)
    good_flat = master(session, batches["last-week"], FLAT, filter="R", hours=-170)
    assert choose_flat(session, wanted(batches["tonight"], filter="R")).pk == good_flat
    master(session, batches["yesterday"], DARK, exptime_s=30.0, hours=-1, bad=True)
    good_dark = master(session, batches["last-week"], DARK, exptime_s=30.0, hours=-170)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=30.0)).pk == good_dark


def test_only_bad_masters_are_no_master_at_all(session: Session, batches) -> None:
    master(session, batches["tonight"], BIAS, hours=0, bad=True)
    master(session, batches["tonight"], DARK, exptime_s=30.0, hours=0, bad=True)
    with pytest.raises(MasterFrameMissing, match="no master bias"):
        choose_bias(session, wanted(batches["tonight"]))
    # Not even as a dark to scale.
    with pytest.raises(MasterFrameMissing, match="no master dark for 60 s"):
        choose_dark(session, wanted(batches["tonight"], exptime_s=60.0))


def test_the_batch_own_master_comes_before_a_nearer_one_of_another_batch(
    session: Session, batches
) -> None:
    own = master(session, batches["tonight"], BIAS, hours=+6)
    master(session, batches["yesterday"], BIAS, hours=-0.1)
    assert choose_bias(session, wanted(batches["tonight"])).pk == own


def test_binning_and_frame_size_must_match(session: Session, batches) -> None:
    master(session, batches["tonight"], BIAS, hours=0, binning=2)
    master(session, batches["tonight"], BIAS, hours=0.5, shape=(32, 24))
    with pytest.raises(MasterFrameMissing, match="binning 1, 64x48 px"):
        choose_bias(session, wanted(batches["tonight"]))
    right = master(session, batches["yesterday"], BIAS, hours=-100)
    assert choose_bias(session, wanted(batches["tonight"])).pk == right
    assert choose_bias(session, wanted(batches["tonight"], binning=2)).pk != right


def test_a_flat_is_of_the_wanted_filter(session: Session, batches) -> None:
    master(session, batches["tonight"], FLAT, filter="V", hours=0)
    red = master(session, batches["last-week"], FLAT, filter="R", hours=-170)
    assert choose_flat(session, wanted(batches["tonight"], filter="R")).pk == red
    with pytest.raises(MasterFrameMissing, match="no master flat for filter B"):
        choose_flat(session, wanted(batches["tonight"], filter="B"))


def test_the_nearest_library_flat_in_time_wins(session: Session, batches) -> None:
    master(session, batches["last-week"], FLAT, filter="R", hours=-170)
    near = master(session, batches["yesterday"], FLAT, filter="R", hours=-20)
    assert choose_flat(session, wanted(batches["tonight"], filter="R")).pk == near


def test_a_dark_of_the_exposure_time_comes_before_a_nearer_one_of_another(
    session: Session, batches
) -> None:
    master(session, batches["tonight"], DARK, exptime_s=60.0, hours=0)
    master(session, batches["last-week"], DARK, exptime_s=30.0, hours=-170)
    nearer = master(session, batches["yesterday"], DARK, exptime_s=30.0, hours=-20)
    # Not the batch's own 60 s dark: a dark of the right time is never scaled.
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=30.0)).pk == nearer


def test_a_dark_of_the_frame_s_filter_comes_first_then_of_none_then_of_any(
    session: Session, batches
) -> None:
    # Capture programs write the wheel's slot on darks: a dark of any filter serves.
    of_v = master(session, batches["last-week"], DARK, exptime_s=30.0, filter="V", hours=-2)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=30.0, filter="R")).pk == of_v
    of_none = master(session, batches["last-week"], DARK, exptime_s=30.0, hours=-150)
    assert (
        choose_dark(session, wanted(batches["tonight"], exptime_s=30.0, filter="R")).pk == of_none
    )
    of_r = master(session, batches["last-week"], DARK, exptime_s=30.0, filter="R", hours=-160)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=30.0, filter="R")).pk == of_r
    # A scaled dark too: the batch's own first, then of the frame's filter.
    own_v = master(session, batches["tonight"], DARK, exptime_s=300.0, filter="V", hours=1)
    own_r = master(session, batches["tonight"], DARK, exptime_s=100.0, filter="R", hours=1)
    chosen = choose_dark(session, wanted(batches["tonight"], exptime_s=45.0, filter="R")).pk
    assert chosen == own_r and own_v != own_r


def test_a_dark_within_the_shutter_jitter_is_the_light_s_own(session: Session, batches) -> None:
    master(session, batches["tonight"], DARK, exptime_s=300.0, hours=0)
    # 0.1 % of 60 s: 60.03 s is the same exposure as 60.004 s, 60.1 s another one.
    master(session, batches["yesterday"], DARK, exptime_s=60.1, hours=-1)
    jittered = master(session, batches["last-week"], DARK, exptime_s=60.004, hours=-170)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=60.003)).pk == jittered
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=60.03)).pk == jittered
    # At 1 s the tolerance is 10 ms.
    one = master(session, batches["yesterday"], DARK, exptime_s=1.009, hours=-1)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=1.0)).pk == one
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=0.998)).pk != one


def test_without_a_dark_of_the_exposure_time_the_batch_dark_is_scaled(
    session: Session, batches
) -> None:
    master(session, batches["yesterday"], DARK, exptime_s=300.0, hours=-1)
    own = master(session, batches["tonight"], DARK, exptime_s=20.0, hours=+3)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=45.0)).pk == own


def test_without_a_batch_dark_the_longest_library_dark_is_scaled(session: Session, batches) -> None:
    master(session, batches["yesterday"], DARK, exptime_s=20.0, hours=-1)
    # The farther one first: nearest in time decides between two of the same length.
    master(session, batches["last-month"], DARK, exptime_s=300.0, hours=-700)
    longest = master(session, batches["last-week"], DARK, exptime_s=300.0, hours=-170)
    master(session, batches["yesterday"], DARK, exptime_s=600.0, hours=-2, bad=True)
    master(session, batches["yesterday"], DARK, exptime_s=900.0, hours=-2, binning=2)
    master(session, batches["yesterday"], BIAS, exptime_s=1000.0, hours=-2)
    chosen = choose_dark(session, wanted(batches["tonight"], exptime_s=45.0, filter="R"))
    assert chosen.pk == longest


def test_a_dark_that_keeps_the_bias_level_is_not_scaled_while_another_can_be(
    session: Session, batches
) -> None:
    # A night without biases left a long dark that keeps the bias level; tonight's lights
    # of another exposure take the library's dark that can be scaled.
    master(session, batches["yesterday"], DARK, exptime_s=300.0, hours=-1, holds_bias=True)
    scalable = master(session, batches["last-week"], DARK, exptime_s=60.0, hours=-170)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=120.0)).pk == scalable
    # Of its own exposure it is still the dark to take.
    own = choose_dark(session, wanted(batches["tonight"], exptime_s=300.0))
    assert own.pk != scalable and own.exptime_s == 300.0


def test_a_zero_second_dark_is_never_scaled(session: Session, batches) -> None:
    master(session, batches["tonight"], DARK, exptime_s=0.0, hours=0)
    with pytest.raises(MasterFrameMissing, match="no master dark for 45 s exposures"):
        choose_dark(session, wanted(batches["tonight"], exptime_s=45.0))


@pytest.mark.parametrize("shape", [(64, 24), (32, 48)])
def test_a_master_differing_in_one_axis_is_not_used(session: Session, batches, shape) -> None:
    master(session, batches["tonight"], BIAS, hours=0, shape=shape)
    master(session, batches["tonight"], DARK, exptime_s=30.0, hours=0, shape=shape)
    with pytest.raises(MasterFrameMissing):
        choose_bias(session, wanted(batches["tonight"]))
    with pytest.raises(MasterFrameMissing):
        choose_dark(session, wanted(batches["tonight"], exptime_s=30.0))
    with pytest.raises(MasterFrameMissing):
        choose_dark(session, wanted(batches["tonight"], exptime_s=60.0))


def test_a_dark_of_the_wanted_filter_and_time_comes_before_scaling_the_batch_dark(
    session: Session, batches
) -> None:
    master(session, batches["tonight"], DARK, exptime_s=300.0, hours=0)
    of_r = master(session, batches["yesterday"], DARK, exptime_s=30.0, filter="R", hours=-20)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=30.0, filter="R")).pk == of_r


def test_a_short_dark_is_scaled_when_it_is_the_only_one(session: Session, batches) -> None:
    short = master(session, batches["tonight"], DARK, exptime_s=0.5, hours=0)
    assert choose_dark(session, wanted(batches["tonight"], exptime_s=45.0)).pk == short


def test_masters_are_matched_per_detector(session: Session, batches: dict[str, int]) -> None:
    tonight = batches["tonight"]
    kinds = ((BIAS, None, None), (DARK, None, 30.0), (FLAT, "R", None))
    im2 = {k: master(session, tonight, k, hours=0, detector="im2", filter=f, exptime_s=t)
           for k, f, t in kinds}  # fmt: skip
    # The library's masters of the same detector, a day older, beat tonight's of another.
    longer = ((BIAS, None, None), (DARK, None, 60.0), (FLAT, "R", None))
    im1 = {k: master(session, batches["yesterday"], k, hours=-24, detector="im1", filter=f,
                     exptime_s=t)
           for k, f, t in longer}  # fmt: skip
    want = wanted(tonight, detector="im1", filter="R", exptime_s=30.0)
    assert choose_bias(session, want).pk == im1[BIAS]
    assert choose_dark(session, want).pk == im1[DARK]  # scaled from 60 s, never im2's 30 s
    assert choose_flat(session, want).pk == im1[FLAT]
    assert choose_bias(session, wanted(tonight, detector="im2")).pk == im2[BIAS]
    with pytest.raises(MasterFrameMissing, match="detector im3"):
        choose_bias(session, wanted(tonight, detector="im3"))
    # A single-detector frame never takes a detector's master.
    with pytest.raises(MasterFrameMissing, match="no master flat"):
        choose_flat(session, wanted(tonight, filter="R"))
