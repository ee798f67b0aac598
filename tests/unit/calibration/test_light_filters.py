"""The light's filter against its flat's: a name as the wheel writes it is still that name."""

import numpy as np
import pytest

from observatory.calibration import calibrate_light, make_master_flat
from observatory.errors import FrameMismatch
from tests.unit.calibration.conftest import write_frames

SHAPE = (16, 24)


@pytest.mark.parametrize("written", [3, "  Ha"], ids=["wheel-slot-number", "padded-name"])
def test_a_filter_card_as_written_matches_the_flat_of_its_name(tmp_path, written):
    flat = make_master_flat([np.full(SHAPE, 2e4)] * 3, filter_name=str(written).strip())
    light = write_frames(tmp_path, [np.full(SHAPE, 900, np.uint16)], EXPTIME=1.0, FILTER=written)
    calibrated = calibrate_light(light[0], None, None, flat)
    assert np.allclose(calibrated.data, 900.0)


def test_another_filter_is_still_refused(tmp_path):
    flat = make_master_flat([np.full(SHAPE, 2e4)] * 3, filter_name="Ha")
    light = write_frames(tmp_path, [np.full(SHAPE, 900, np.uint16)], EXPTIME=1.0, FILTER=" OIII")
    with pytest.raises(FrameMismatch, match=r"light filter 'OIII' differs from .*'Ha'"):
        calibrate_light(light[0], None, None, flat)
