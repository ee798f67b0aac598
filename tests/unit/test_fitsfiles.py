"""FITS files written whole or not at all, on a disk that really fills (a small tmpfs)."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from observatory.calibration import write_product
from observatory.telescope.fits import frame_header, write_frame
from tests.helpers import small_disk
from tests.unit.telescope.test_batch import metadata


def test_a_frame_that_fills_the_disk_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 192) as disk:
        (disk / "earlier.fits").write_bytes(b"\0" * 100 * 1024)
        data = np.zeros((256, 256), dtype=np.uint16)  # 128 KiB: more than is left
        with pytest.raises(OSError) as failed:
            write_frame(disk / "light.fits", data, frame_header(metadata()))
        assert failed.value.errno == errno.ENOSPC
        assert str(failed.value).startswith(f"[Errno {errno.ENOSPC}] writing {disk}/light.fits")
        assert "stopped short" in str(failed.value) and "bytes free" in str(failed.value)
        assert sorted(p.name for p in disk.iterdir()) == ["earlier.fits"]


def test_a_product_that_fills_the_disk_says_so_and_leaves_the_earlier_one(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk", 384) as disk:
        earlier = write_product(disk / "master_bias.fits", np.ones((128, 128)), fits.Header())
        with pytest.raises(OSError, match="stopped short") as failed:
            write_product(earlier, np.zeros((512, 512)), fits.Header(), overwrite=True)
        assert failed.value.errno == errno.ENOSPC
        assert sorted(p.name for p in disk.iterdir()) == ["master_bias.fits"]
        with fits.open(earlier, checksum=True) as hdul:
            assert hdul[0].data.shape == (128, 128)
