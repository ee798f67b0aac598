"""Paths in header cards: printable ASCII, percent-encoded as in a URL path."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from astropy.io import fits

from observatory.calibration import make_master_bias
from observatory.calibration.products import card_path


@pytest.mark.parametrize(
    ("path", "card"),
    [
        ("science/M31/light_001.fits", "science/M31/light_001.fits"),
        ("M31 Andromède/x.fits", "M31 Androm%C3%A8de/x.fits"),
        ("Kalibrace/Čtvrtek/bias.fits", "Kalibrace/%C4%8Ctvrtek/bias.fits"),
        ("50%/x.fits", "50%25/x.fits"),
        # A name that is not UTF-8 on disk (os.fsdecode): its own bytes.
        ("a\udce9.fits", "a%E9.fits"),
    ],
)
def test_card_path_is_ascii_and_gives_the_path_back(path: str, card: str) -> None:
    assert card_path(path) == card
    assert unquote(card, errors="surrogateescape") == path


def test_master_of_inputs_with_any_letters_names_them(tmp_path: Path) -> None:
    frames = [np.full((4, 6), 1000.0 + k, np.float32) for k in range(3)]
    names = [f"Kalibrace/Čtvrtek/bias_{k}.fits" for k in range(3)]
    master = make_master_bias(frames, method="median", names=names)
    assert master.header["IMCMB003"] == "Kalibrace/%C4%8Ctvrtek/bias_2.fits"
    fits.PrimaryHDU(master.data, master.header).writeto(tmp_path / "m.fits")
