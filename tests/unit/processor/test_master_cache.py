"""Masters are read once per process while their file stays the same."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.calibration import make_master_bias, write_product
from observatory.db import models
from observatory.processor.products import load_master
from observatory.settings import Settings
from tests.unit.calibration.conftest import write_frames


def write_master(settings: Settings, level_adu: float) -> models.MasterFrame:
    rng = np.random.default_rng(7)
    frames = [rng.normal(level_adu, 5, (10, 12)).astype(np.uint16) for _ in range(3)]
    folder = settings.data_dir / f"raw-{level_adu:g}"
    folder.mkdir()
    master = make_master_bias(write_frames(folder, frames))
    relative = "batch-1/master_bias.fits"
    target = settings.products_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    write_product(target, master.data, master.header, overwrite=True)
    return models.MasterFrame(path=relative, origin_url=None)


def test_a_master_is_read_once_and_shared_read_only(settings: Settings) -> None:
    row = write_master(settings, 300)
    first, second = load_master(settings, row), load_master(settings, row)
    assert first.data is second.data and first.name == "batch-1/master_bias.fits"
    with pytest.raises(ValueError, match="read-only"):
        first.data[0, 0] = 0.0
    first.header["EXTRA"] = 1  # each caller has its own header
    assert "EXTRA" not in second.header


def test_a_rewritten_master_is_read_again(settings: Settings) -> None:
    row = write_master(settings, 300)
    before = load_master(settings, row)
    write_master(settings, 500)
    after = load_master(settings, row)
    assert np.median(before.data) < 400 < np.median(after.data)
