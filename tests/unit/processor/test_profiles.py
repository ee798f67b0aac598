"""Instrument profiles: loaded from TOML, validated, chosen by INSTRUME and TELESCOP."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.errors import ConfigurationError
from observatory.preflight import check_configuration
from observatory.processor.profiles import load_profiles
from observatory.settings import PROJECT_ROOT, ProcessorSettings, Settings, SimulatorSettings


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(text)


def test_the_shipped_profiles_load() -> None:
    profiles = load_profiles(PROJECT_ROOT / "config" / "instruments")
    assert profiles.default.name == "default"
    assert profiles.for_camera("No Such Camera", None).name == "default"


def test_the_most_specific_profile_wins(tmp_path: Path) -> None:
    write(tmp_path, "default", 'name = "house"\nmissing_calibrations = "skip"\n')
    write(tmp_path, "cam", 'name = "cam"\ninstrume = ["SBIG STL-11000"]\n')
    write(tmp_path, "cam_big", 'name = "cam on 1m"\ninstrume = ["SBIG STL-11000"]\n'
                               'telescop = ["1m RC"]\n')  # fmt: skip
    profiles = load_profiles(tmp_path)
    assert profiles.for_camera("sbig  stl-11000", "1m rc").name == "cam on 1m"
    assert profiles.for_camera("SBIG STL-11000", "0.4m").name == "cam"
    assert profiles.for_camera(None, None).name == "house"
    assert profiles.default.missing_calibrations == "skip"


@pytest.mark.parametrize(
    ("text", "says"),
    [('name = "x"\ndarks_neded = false\n', "darks_neded: Extra inputs are not permitted"),
     ('name = "x"\nbiassec = "[1:10 2:3]"\n', "biassec: Value error, '[1:10 2:3]' is not a FITS"),
     ('name = "x"\nmissing_calibrations = "ignore"\n', "missing_calibrations: Input should be"),
     ('name = "x"\n[cards]\nfilter = "FILTNAME"\n', "cards.filter: Input should be a valid list"),
     ('name = "x"\n[cards]\ncolour = ["FILTNAME"]\n', "cards.colour"),
     ('name = \n', "instrument profile")],
)  # fmt: skip
def test_an_invalid_profile_is_refused_in_one_line(tmp_path: Path, text: str, says: str) -> None:
    write(tmp_path, "bad", text)
    with pytest.raises(ConfigurationError) as caught:
        load_profiles(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "bad.toml" in message and says in message


def test_the_stack_refuses_to_start_with_an_invalid_profile(tmp_path: Path) -> None:
    write(tmp_path, "cam", 'name = "cam"\noverscan_methd = "median"\n')
    settings = Settings(
        data_dir=tmp_path,
        simulator=SimulatorSettings(enabled=False),
        processor=ProcessorSettings(instruments_dir=tmp_path),
    )
    with pytest.raises(ConfigurationError, match=r"cam\.toml: overscan_methd: Extra inputs"):
        check_configuration(settings, with_beat=False)
