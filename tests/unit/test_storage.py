"""Free space in the data folders, on file systems that really fill (a small tmpfs)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from observatory.errors import StorageFull
from observatory.notify import NotificationFailed
from observatory.settings import Settings
from observatory.storage import (
    FreeSpaceWatch,
    data_folders,
    frame_bytes,
    free_bytes,
    require_free,
)
from observatory.telescope.fits import frame_header, write_frame
from tests.helpers import small_disk
from tests.unit.telescope.test_batch import metadata

KIB = 1024


def test_free_bytes_of_a_folder_not_made_yet_is_its_parents(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 512) as disk:
        assert free_bytes(disk / "batches" / "tonight") == free_bytes(disk) == 512 * KIB
        (disk / "frame").write_bytes(b"\0" * 64 * KIB)
        assert free_bytes(disk) == 448 * KIB


def test_a_write_that_would_cut_into_the_reserve_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, min_free_mib=0.25)  # 256 KiB of 512 kept free
    with small_disk(tmp_path / "disk", 512) as disk:
        require_free(settings, disk, 256 * KIB, "a product")
        with pytest.raises(StorageFull) as refused:
            require_free(settings, disk, 256 * KIB + 1, "product b1/master_bias.fits")
        assert str(refused.value) == (
            f"product b1/master_bias.fits needs 0.25 MiB and {disk} has 0.50 MiB free: less"
            " than min_free_mib (0.25 MiB) would be left"
        )
        (disk / "frame").write_bytes(b"\0" * 300 * KIB)
        with pytest.raises(StorageFull, match=r"^observation: .* has 0\.21 MiB free, less than"):
            require_free(settings, disk, 0, "observation")


@pytest.mark.parametrize(("shape", "binning"), [((256, 256), 1), ((4096, 4096), 1),
                                                  ((3000, 2001), 2), ((1023, 767), 3)])  # fmt: skip
def test_frame_bytes_is_at_least_the_size_of_the_frame_written(
    tmp_path: Path, shape: tuple[int, int], binning: int
) -> None:
    width, height = shape
    rows, columns = -(-height // binning), -(-width // binning)
    data = np.zeros((rows, columns), dtype=np.uint16)
    path = tmp_path / "light.fits"
    write_frame(path, data, frame_header(metadata(binning=binning)))
    written = path.stat().st_size
    assert written <= frame_bytes(width, height, binning) <= written + 2880  # a header block spare


def test_the_watch_tells_once_per_fall_below_the_reserve(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, min_free_mib=0.25)
    told: list[tuple[str, str]] = []
    with small_disk(tmp_path / "disk", 512) as disk:
        watch = FreeSpaceWatch(settings, lambda subject, body: told.append((subject, body)))
        assert watch.check([disk]) == [] and told == []
        (disk / "frames").write_bytes(b"\0" * 300 * KIB)
        assert watch.check([disk]) == [disk]
        assert watch.check([disk]) == [disk]
        assert len(told) == 1
        subject, body = told[0]
        assert subject == f"low disk space: {disk} has 0.21 MiB free, below min_free_mib (0.25 MiB)"
        assert "No camera frame is taken" in body
        (disk / "frames").unlink()
        assert watch.check([disk]) == []
        (disk / "frames").write_bytes(b"\0" * 300 * KIB)
        watch.check([disk])
        assert len(told) == 2


def test_a_watch_that_cannot_tell_says_so_and_tells_at_its_next_look(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = True
    told: list[str] = []

    def alert(subject: str, body: str) -> None:
        if failing:
            raise NotificationFailed("could not email the admins: connection refused")
        told.append(subject)

    settings = Settings(data_dir=tmp_path, min_free_mib=1.0)
    with small_disk(tmp_path / "disk", 512) as disk:
        settings = settings.model_copy(update={"data_dir": disk})
        watch = FreeSpaceWatch(settings, alert, every_s=0.0)
        with caplog.at_level(logging.ERROR, "observatory.storage"):
            assert watch.poll() is None
        assert "could not be told of low disk space" in caplog.text
        failing = False
        assert watch.poll() == [disk]
        assert told == [f"low disk space: {disk} has 0.50 MiB free, below min_free_mib (1 MiB)"]
        slow = FreeSpaceWatch(settings, alert, every_s=3600.0)
        assert slow.poll() == [disk] and slow.poll() is None


def test_the_data_folders_are_named_once_per_file_system(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 512) as disk:
        settings = Settings(data_dir=tmp_path, processor={"products_dir": disk / "products"})
        assert data_folders(settings) == [tmp_path, disk / "products"]
