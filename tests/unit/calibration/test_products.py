"""Products: provenance headers, checksummed float32 files, atomic writes."""

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from observatory import __version__
from observatory.calibration import (
    frame_statistics,
    make_master_bias,
    read_master_frame,
    write_product,
)
from observatory.calibration.products import carried_header
from tests.unit.calibration.conftest import write_frames


def test_master_written_with_provenance_and_checksums_reads_back(tmp_path, rng):
    frames = [rng.normal(300, 5, (10, 12)).astype(np.uint16) for _ in range(3)]
    paths = write_frames(tmp_path, frames)
    master = make_master_bias(paths, names=["id-1", "id-2", "id-3"])
    out = write_product(tmp_path / "bias.fits", master.data, master.header)
    with fits.open(out, checksum=True) as hdus:
        header, data = hdus[0].header, hdus[0].data
        assert hdus[0].verify_checksum() == 1 and hdus[0].verify_datasum() == 1
        assert data.dtype == np.dtype(">f4")
        np.testing.assert_array_equal(data, master.data)
    assert header["PIPEVERS"] == __version__ and header["IMAGETYP"] == "MASTER BIAS"
    assert [header[f"IMCMB00{k}"] for k in (1, 2, 3)] == ["id-1", "id-2", "id-3"]
    assert header["STATMED"] == master.statistics.median and "DATE" in header
    loaded = read_master_frame(out)
    assert loaded.kind == "bias" and loaded.name == "bias.fits" and loaded.exposure_s == 0.0
    assert loaded.statistics == master.statistics
    assert sorted(os.listdir(tmp_path)) == sorted([p.name for p in paths] + ["bias.fits"])


def test_existing_product_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "product.fits"
    write_product(target, np.zeros((2, 3)), fits.Header())
    with pytest.raises(FileExistsError):
        write_product(target, np.ones((2, 3)), fits.Header())
    assert fits.getdata(target).sum() == 0
    write_product(target, np.ones((2, 3)), fits.Header(), overwrite=True)
    assert fits.getdata(target).sum() == 6
    assert os.listdir(tmp_path) == ["product.fits"]


def test_a_product_is_synced_to_disk_and_a_scratch_copy_is_not(tmp_path, monkeypatch):
    """What is synced under ``tmp_path``, by name: the first write of a process also has
    astropy sync a probe file of its own (in the system's temporary folder), to learn
    whether memory maps work."""
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path == tmp_path or path.parent == tmp_path:
            synced.append(path)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    write_product(tmp_path / "master.fits", np.ones((2, 3)), fits.Header())
    # The file (under its temporary name), then the folder holding its new name.
    assert len(synced) == 2 and synced[0].name.startswith(".master.fits.")
    assert synced[1] == tmp_path
    write_product(tmp_path / "scratch.fits", np.ones((2, 3)), fits.Header(), durable=False)
    assert len(synced) == 2
    with fits.open(tmp_path / "scratch.fits", checksum=True) as hdus:
        assert hdus[0].verify_checksum() == 1 and hdus[0].data.sum() == 6
    assert sorted(os.listdir(tmp_path)) == ["master.fits", "scratch.fits"]


def test_a_failed_write_leaves_neither_product_nor_temporary(tmp_path, monkeypatch):
    target = tmp_path / "product.fits"
    write_product(target, np.zeros((2, 3)), fits.Header())

    def crash(descriptor):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)  # fails after the data went to the file
    with pytest.raises(OSError, match="disk gone"):
        write_product(target, np.ones((2, 3)), fits.Header(), overwrite=True)
    with pytest.raises(OSError, match="disk gone"):
        write_product(tmp_path / "new.fits", np.ones((2, 3)), fits.Header())
    assert os.listdir(tmp_path) == ["product.fits"]
    assert fits.getdata(target).sum() == 0  # the old product is intact


def test_storage_cards_of_an_input_header_are_not_carried():
    header = fits.Header({"BZERO": 32768, "BSCALE": 1, "OBJECT": "M31", "BLANK": 0})
    carried = carried_header(header)
    assert "BZERO" not in carried and "BSCALE" not in carried and "BLANK" not in carried
    assert carried["OBJECT"] == "M31"


def test_read_master_frame_refuses_other_images(tmp_path):
    path = tmp_path / "light.fits"
    fits.PrimaryHDU(
        np.zeros((2, 2), np.float32), header=fits.Header({"IMAGETYP": "LIGHT"})
    ).writeto(path)
    with pytest.raises(ValueError, match="not a master frame"):
        read_master_frame(path)


def test_statistics():
    data = np.array([[1.0, 2.0, 3.0], [4.0, 100.0, np.nan]], np.float32)
    stats = frame_statistics(data, 7)
    assert stats.median == 3.0 and stats.minimum == 1.0 and stats.maximum == 100.0
    assert stats.mean == pytest.approx(22.0) and stats.nonfinite_pixels == 1
    assert stats.robust_std == pytest.approx(1.482602218505602 * 1.0)
    assert stats.std == pytest.approx(np.std([1, 2, 3, 4, 100]))
    assert stats.frame_count == 7
    with pytest.raises(ValueError, match="no finite pixel"):
        frame_statistics(np.full((2, 2), np.nan), 1)
