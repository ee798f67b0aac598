"""Headers of real cameras read into exposure rows, with the card each value came from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time, TimeDelta

from observatory.db.models import Exposure
from observatory.processor.headers import ExposureRejected, read_exposure
from observatory.processor.lights import light_header
from observatory.processor.profiles import InstrumentProfile, Profiles
from tests.unit.processor.rawframes import primary, write

IMAGE = np.zeros((8, 10), np.uint16)


def read(tmp_path: Path, profiles: Profiles | None = None, **cards: Any) -> dict[str, Any]:
    path = write(tmp_path / "frame.fits", [primary(IMAGE, **cards)])
    return read_exposure(path, profiles)


def test_nina_light_frame(tmp_path: Path) -> None:
    row = read(
        tmp_path, IMAGETYP="LIGHT", EXPOSURE=120.0, XBINNING=2, YBINNING=2, FILTER="Ha",
        DATE_OBS="2026-12-05T21:03:04.250", RA=150.25, DEC=-20.5, CCD_TEMP=-10.1,
        GAIN=100, INSTRUME="ZWO ASI2600MM Pro",
    )  # fmt: skip
    assert (row["imagetyp"], row["exptime_s"], row["binning"], row["filter"]) == (
        "light", 120.0, 2, "Ha",
    )  # fmt: skip
    assert row["date_obs"] == dt.datetime(2026, 12, 5, 21, 3, 4, 250000, tzinfo=dt.UTC)
    assert (row["ra_deg"], row["dec_deg"], row["ccd_temp_c"]) == (150.25, -20.5, -10.1)
    assert row["cards"] == {
        "imagetyp": "IMAGETYP", "exptime": "EXPOSURE", "binning": "XBINNING+YBINNING",
        "filter": "FILTER", "date_obs": "DATE-OBS", "ra": "RA", "dec": "DEC",
        "ccd_temp": "CCD-TEMP",
    }  # fmt: skip
    assert row["profile"] == "default" and row["readout"] is None
    # GAIN = 100 is the camera's gain setting (its camera setup), not 100 e-/ADU.
    assert row["gain_e_per_adu"] is None and row["camera_setup"] == "gain 100"


def test_nina_egain_is_the_electrons_per_adu_beside_the_gain_setting(tmp_path: Path) -> None:
    row = read(tmp_path, IMAGETYP="LIGHT", EXPOSURE=120.0, DATE_OBS="2026-12-05T21:03:04",
               GAIN=100, EGAIN=0.78, OFFSET=50)  # fmt: skip
    assert (row["gain_e_per_adu"], row["cards"]["gain"]) == (0.78, "EGAIN")
    ccd = read(tmp_path, IMAGETYP="LIGHT", EXPTIME=120.0, DATE_OBS="2026-12-05T21:03:04", GAIN=1.4)
    assert (ccd["gain_e_per_adu"], ccd["cards"]["gain"]) == (1.4, "GAIN")


@pytest.mark.parametrize(
    ("value", "kind"),
    [("Bias Frame", "bias"), ("Dark Frame", "dark"), ("Flat Field", "flat"),
     ("Light Frame", "light"), ("zero", "bias"), ("object", "light"), ("dome flat", "flat"),
     ("sky flat", "flat"), ("  FLAT   FIELD ", "flat"),
     # Dark flats with "Frame" as Ekos-era programs write them; "offset" is the bias in
     # French-speaking programs' words (Prism, AudeLA, Siril).
     ("Dark Flat Frame", "dark"), ("Flat Dark Frame", "dark"), ("Offset", "bias"),
     ("Offset Frame", "bias")],
)  # fmt: skip
def test_theskyx_and_iraf_image_types(tmp_path: Path, value: str, kind: str) -> None:
    row = read(tmp_path, IMAGETYP=value, EXPTIME=1.0, DATE_OBS="2026-12-05T21:00:00")
    assert row["imagetyp"] == kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [("EXPOSE", "light"), ("STANDARD", "light"), ("SKYFLAT", "flat"), ("LAMPFLAT", "flat"),
     ("BIAS", "bias"), ("DARK", "dark")],
)  # fmt: skip
def test_lco_obstypes(tmp_path: Path, value: str, kind: str) -> None:
    """LCO's OBSTYPE: a STANDARD is a science exposure of a standard star, reduced as
    an EXPOSE is."""
    row = read(tmp_path, OBSTYPE=value, EXPTIME=1.0, DATE_OBS="2026-12-05T21:00:00")
    assert (row["imagetyp"], row["cards"]["imagetyp"]) == (kind, "OBSTYPE")


def test_theskyx_sexagesimal_pointing_and_egain(tmp_path: Path) -> None:
    row = read(
        tmp_path, IMAGETYP="Light Frame", EXPTIME=60.0, DATE_OBS="2026-12-05T21:00:00",
        OBJCTRA="10 12 30.0", OBJCTDEC="-05 30 00", EGAIN=1.42,
    )  # fmt: skip
    assert row["ra_deg"] == pytest.approx(153.125)
    assert row["dec_deg"] == pytest.approx(-5.5)
    assert row["gain_e_per_adu"] == 1.42
    assert (row["cards"]["ra"], row["cards"]["dec"], row["cards"]["gain"]) == (
        "OBJCTRA", "OBJCTDEC", "EGAIN",
    )  # fmt: skip


def test_professional_ccd_vocabulary(tmp_path: Path) -> None:
    row = read(
        tmp_path, OBSTYPE="object", EXPTIME=300.0, CCDSUM="3 3", FILTNAME="V",
        DATE_OBS="2026-12-05", UT="03:12:44.5", RA="10:12:30.0", DEC="+20:30:00",
        CCDTEMP=-100.0, RDNOISE=4.5, SATURATE=60000,
    )  # fmt: skip
    assert (row["imagetyp"], row["binning"], row["filter"]) == ("light", 3, "V")
    assert row["date_obs"] == dt.datetime(2026, 12, 5, 3, 12, 44, 500000, tzinfo=dt.UTC)
    assert row["ra_deg"] == pytest.approx(153.125) and row["dec_deg"] == pytest.approx(20.5)
    assert (row["ccd_temp_c"], row["read_noise_e"], row["saturation_adu"]) == (-100, 4.5, 60000)
    assert row["cards"]["binning"] == "CCDSUM"
    assert row["cards"]["date_obs"] == "DATE-OBS+UT"
    assert row["cards"]["imagetyp"] == "OBSTYPE"


def test_other_vocabularies(tmp_path: Path) -> None:
    row = read(
        tmp_path, FRAME="Flat", ITIME=2.5, BINNING="2x2", FILTER1="B", FILTER2="open",
        MJD_OBS=61379.5, TELRA=10.0, TELDEC=5.0, DET_TEMP=173.15,
    )  # fmt: skip
    assert (row["imagetyp"], row["exptime_s"], row["binning"], row["filter"]) == (
        "flat", 2.5, 2, "B",
    )  # fmt: skip
    assert row["date_obs"] == dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
    assert row["ccd_temp_c"] == pytest.approx(-100.0)
    assert row["cards"]["filter"] == "FILTER1+FILTER2"
    assert (row["cards"]["ra"], row["cards"]["exptime"]) == ("TELRA", "ITIME")


@pytest.mark.filterwarnings("ignore:Keyword name .IMAGETYPE.")
def test_two_filters_and_insflnam(tmp_path: Path) -> None:
    both = read(tmp_path, IMAGETYP="object", EXPTIME=1.0, DATE_OBS="2026-12-05T01:00:00",
                FILTER1="V", FILTER2="ND1")  # fmt: skip
    assert both["filter"] == "V+ND1"
    ins = read(tmp_path, IMAGETYPE="light", EXPTIME=1.0, DATE_OBS="2026-12-05T01:00:00",
               INSFLNAM="Rc")  # fmt: skip
    assert (ins["filter"], ins["cards"]["imagetyp"]) == ("Rc", "IMAGETYPE")


@pytest.mark.parametrize(
    ("cards", "named"),
    [({"IMAGETYP": "light", "EXPTIME": "long", "DATE_OBS": "2026-12-05T01:00:00"}, "EXPTIME"),
     ({"IMAGETYP": "focus", "EXPTIME": 1.0, "DATE_OBS": "2026-12-05T01:00:00"}, "IMAGETYP"),
     ({"IMAGETYP": "light", "EXPTIME": 1.0, "DATE_OBS": "yesterday"}, "DATE-OBS"),
     ({"IMAGETYP": "light", "EXPTIME": 1.0, "DATE_OBS": "2026-12-05T01:00:00",
       "CCDSUM": "2 1"}, "CCDSUM"),
     ({"EXPTIME": 1.0, "DATE_OBS": "2026-12-05T01:00:00"}, "IMAGETYP, OBSTYPE"),
     ({"IMAGETYP": "light", "EXPTIME": 1.0, "DATE_OBS": "2026-12-05T01:00:00",
       "DATASEC": "[1:10 1:8]"}, "DATASEC")],
)  # fmt: skip
def test_a_value_that_cannot_be_read_names_its_card(
    tmp_path: Path, cards: dict[str, Any], named: str
) -> None:
    with pytest.raises(ExposureRejected, match=named):
        read(tmp_path, **cards)


def test_the_profile_of_the_camera_reads_its_cards(tmp_path: Path) -> None:
    profile = InstrumentProfile.model_validate(
        {"name": "pro", "instrume": ["ProCam"], "telescop": ["1.5 m"],
         "cards": {"filter": ["FILTNAME"]}, "imagetypes": {"twilight": "flat"},
         "gain_e_per_adu": 2.0}
    )  # fmt: skip
    profiles = Profiles(named=(profile,))
    cards = {"IMAGETYP": "twilight", "EXPTIME": 1.0, "DATE_OBS": "2026-12-05T01:00:00",
             "FILTER": "wheel-2", "FILTNAME": "R", "GAIN": 9.0}  # fmt: skip
    mine = read(tmp_path, profiles, INSTRUME="ProCam", TELESCOP="1.5 m", **cards)
    assert (mine["profile"], mine["filter"], mine["imagetyp"]) == ("pro", "R", "flat")
    assert (mine["gain_e_per_adu"], mine["cards"]["gain"]) == (2.0, "profile pro")
    with pytest.raises(ExposureRejected, match=r"twilight.*profile default") as caught:
        read(tmp_path, profiles, INSTRUME="ProCam", TELESCOP="other", **cards)
    assert caught.value.profile == "default"


def test_image_in_an_extension_reads_the_primary_cards(tmp_path: Path) -> None:
    head = primary(None, IMAGETYP="Light Frame", EXPTIME=5.0, DATE_OBS="2026-12-05T01:00:00")
    path = write(tmp_path / "ext.fits", [head, fits.ImageHDU(IMAGE, name="SCI")])
    row = read_exposure(path)
    assert (row["naxis1"], row["naxis2"], row["imagetyp"]) == (10, 8, "light")
    assert row["readout"]["amplifiers"][0]["plane"] == 1


def test_the_calibrated_frame_names_the_filter_ingest_read(tmp_path: Path) -> None:
    path = write(tmp_path / "f.fits", [primary(IMAGE, FILTER="slot 2", FILTNAME="V")])
    named = Exposure(filter="V", cards={"filter": "FILTNAME"})
    assert light_header(named, path, None)["FILTER"] == "V"
    open_slot = write(tmp_path / "o.fits", [primary(IMAGE, FILTER="open")])
    assert "FILTER" not in light_header(Exposure(filter=None, cards={}), open_slot, None)


def test_a_descriptive_card_that_cannot_be_read_is_noted_and_the_frame_kept(
    tmp_path: Path,
) -> None:
    row = read(tmp_path, IMAGETYP="light", EXPTIME=1.0, DATE_OBS="2026-12-05T01:00:00",
               RA="153:07:30", OBJCTDEC="north", GAIN="high", CCD_TEMP=-5.0)  # fmt: skip
    assert (row["ra_deg"], row["dec_deg"], row["gain_e_per_adu"]) == (None, None, None)
    assert row["ccd_temp_c"] == -5.0 and row["cards"]["ccd_temp"] == "CCD-TEMP"
    assert not {"ra", "dec", "gain"} & set(row["cards"])
    assert "RA '153:07:30' is not an angle: left unknown" in row["error"]
    assert "OBJCTDEC 'north' is not an angle" in row["error"]
    assert "GAIN 'high' is not a number" in row["error"]


# A plain file's image is not read at ingest; its length is checked against its cards.
CARDS = {"IMAGETYP": "LIGHT", "EXPTIME": 30.0, "DATE_OBS": "2026-12-05T21:03:04"}


def _plain_file(tmp_path: Path, image_in_extension: bool) -> tuple[Path, int]:
    """A frame of 300 x 301 16-bit pixels, without CHECKSUM (as most capture programs
    write it); returns the file and the byte where its image ends."""
    image = np.arange(300 * 301, dtype=np.uint16).reshape(300, 301)
    hdus = [primary(None, **CARDS), fits.ImageHDU(image)] if image_in_extension else [
        primary(image, **CARDS)]  # fmt: skip
    path = write(tmp_path / "frame.fits", hdus)
    with fits.open(path) as opened:
        start = opened[-1].fileinfo()["datLoc"]
    return path, start + image.nbytes


@pytest.mark.parametrize("image_in_extension", [False, True])
def test_a_plain_file_cut_inside_its_image_is_rejected_naming_the_hdu(
    tmp_path: Path, image_in_extension: bool
) -> None:
    path, end = _plain_file(tmp_path, image_in_extension)
    path.write_bytes(path.read_bytes()[: end - 2])
    with pytest.raises(ExposureRejected, match=rf"truncated: HDU {int(image_in_extension)}'s"):
        read_exposure(path)


def test_a_plain_file_without_its_last_padding_is_read_whole(tmp_path: Path) -> None:
    # Some programs stop writing at the last pixel instead of padding the 2880-byte block.
    path, end = _plain_file(tmp_path, image_in_extension=True)
    assert path.stat().st_size > end
    path.write_bytes(path.read_bytes()[:end])
    row = read_exposure(path)
    assert (row["naxis1"], row["naxis2"], row["imagetyp"]) == (301, 300, "light")


def test_a_date_without_a_time_of_day_takes_mjd_obs_or_is_rejected(tmp_path: Path) -> None:
    """DATE-OBS may hold only the date (FITS before 1999, IRAF, older MaxIm), the time
    in TIME-OBS or UT; without either, MJD-OBS tells the moment. Nothing else does:
    midnight would put the frame hours away from its night's masters."""
    light = {"IMAGETYP": "object", "EXPTIME": 1.0, "DATE_OBS": "2026-12-05"}
    row = read(tmp_path, **light, MJD_OBS=61379.75)
    assert row["date_obs"] == dt.datetime(2026, 12, 5, 18, tzinfo=dt.UTC)
    assert row["cards"]["date_obs"] == "MJD-OBS"
    with pytest.raises(
        ExposureRejected,
        match=r"DATE-OBS '2026-12-05' is a date without a time of day, and none of TIME-OBS, "
        r"UT, UTSTART, UT-START, MJD-OBS is set",
    ):
        read(tmp_path, **light)


@pytest.mark.parametrize(
    ("value", "utc"),
    [("2026-12-05T21:03:04Z", "21:03:04"),
     ("2026-12-05T21:03:04.5+02:00", "19:03:04.5"),
     ("2026-12-05T00:30:00-0500", "05:30:00"),
     ("2026-12-05 21:03:04", "21:03:04")],
)  # fmt: skip
def test_an_iso_time_with_a_zone_or_a_blank_is_read_in_utc(
    tmp_path: Path, value: str, utc: str
) -> None:
    row = read(tmp_path, IMAGETYP="light", EXPTIME=1.0, DATE_OBS=value)
    expected = dt.datetime.fromisoformat(f"2026-12-05T{utc}").replace(tzinfo=dt.UTC)
    assert row["date_obs"] == expected


@pytest.mark.parametrize(
    "value",
    ["2026-12-05T21:03:04", "2026-12-05T21:03:04.1", "2026-12-05T23:59:59.999999",
     "2026-12-05T21:03:04.12345+02:00", "2026-12-31T23:59:59.5Z", "2024-02-29T00:00:00.000",
     "2026-12-05T21:03:04.1234567", "2026-12-05T21:3:4"],
)  # fmt: skip
def test_an_iso_time_is_read_to_the_microsecond_as_astropy_reads_it(
    tmp_path: Path, value: str
) -> None:
    """The common form is read by the standard library, the rest (more
    than six decimals, unpadded fields) by astropy: the same moment either way."""
    row = read(tmp_path, IMAGETYP="light", EXPTIME=1.0, DATE_OBS=value)
    local = value.removesuffix("Z").removesuffix("+02:00")
    moment = Time(local, format="isot", scale="utc")
    if value.endswith("+02:00"):
        moment -= TimeDelta(7200, format="sec")
    assert row["date_obs"] == moment.to_datetime().replace(tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["2026-02-30T01:00:00", "2026-12-05T24:00:01"])
def test_an_impossible_iso_time_is_rejected(tmp_path: Path, value: str) -> None:
    with pytest.raises(ExposureRejected, match=f"DATE-OBS '{value}' is not a UTC time"):
        read(tmp_path, IMAGETYP="light", EXPTIME=1.0, DATE_OBS=value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_an_exposure_that_is_not_finite_is_rejected(tmp_path: Path, value: str) -> None:
    with pytest.raises(ExposureRejected, match=f"EXPTIME '{value}' is not a non-negative number"):
        read(tmp_path, IMAGETYP="light", EXPTIME=value, DATE_OBS="2026-12-05T01:00:00")


@pytest.mark.parametrize(
    ("card", "comment", "seconds"),
    [(("EXPTIME", 2500), "[ms] exposure time", 2.5),
     (("EXPOSURE", 1500000), "[us]", 1.5),
     (("EXPTIME", 2), "[min] Exposure", 120.0),
     (("EXPTIME", 30.0), "[s] Exposure time in seconds", 30.0),
     (("EXPTIME", 30.0), "[Exposure time] as the driver says", 30.0)],
)  # fmt: skip
def test_an_exposure_in_another_unit_says_so_in_its_comment(
    tmp_path: Path, card: tuple[str, float], comment: str, seconds: float
) -> None:
    """FITS writes a value's unit in brackets at the start of its comment: an exposure
    in milliseconds read as seconds would put the frame in a group 1000 times longer."""
    hdu = primary(IMAGE, IMAGETYP="light", DATE_OBS="2026-12-05T01:00:00")
    hdu.header[card[0]] = (card[1], comment)
    row = read_exposure(write(tmp_path / "frame.fits", [hdu]))
    assert row["exptime_s"] == pytest.approx(seconds)
    unit = comment.split("]")[0] + "]"
    assert row["cards"]["exptime"] == (card[0] if seconds == 30.0 else f"{card[0]} {unit}")


@pytest.mark.parametrize(
    ("gain", "comment", "e_per_adu"),
    [(100.0, "Gain", None),  # INDI (Ekos): the gain setting, written with 3 decimals
     (0.0, "Gain", None),  # no sensor has 0 e-/ADU
     (1.4, "", 1.4),  # a CCD's e-/ADU
     (2.0, "[e-/ADU] electronic gain", 2.0),
     (12.0, "electrons per ADU", 12.0)],
)  # fmt: skip
def test_a_real_number_gain_is_a_setting_when_no_sensor_has_that_many_e_per_adu(
    tmp_path: Path, gain: float, comment: str, e_per_adu: float | None
) -> None:
    hdu = primary(IMAGE, IMAGETYP="Light", EXPTIME=1.0, DATE_OBS="2026-12-05T01:00:00")
    hdu.header["GAIN"] = (gain, comment)
    row = read_exposure(write(tmp_path / "frame.fits", [hdu]))
    assert row["gain_e_per_adu"] == e_per_adu
    assert row["camera_setup"] == ("" if e_per_adu else f"gain {gain:g}")
